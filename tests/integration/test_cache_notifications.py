"""Keyspace notifications: the differential command scripts run against redis-server 7.0 and
`pier cache` with notify-keyspace-events on, and a pattern subscriber (redis-py's pubsub) must
see the same events on `__keyspace@0__:*` and `__keyevent@0__:*`, in the same order."""
import time

import pytest
import redis

from test_cache_differential import SCRIPTS

# Scripts where a write that changes nothing names an event in pier (a documented difference:
# pier records that the command wrote the key, not whether the value differs), or whose events
# depend on timing; the rest must match exactly.
SKIP = {"errors_and_connection"}  # closes connections


def events(port, script, flags="AKEn"):
    """Each command of `script` with the events it published (a marker message follows each)."""
    r = redis.Redis(port=port)
    r.flushall()
    r.config_set("notify-keyspace-events", flags)
    p = r.pubsub()
    p.psubscribe("__key*__:*")
    p.subscribe("end-of-command")
    for _ in range(2):
        assert p.get_message(timeout=5)["type"] in ("psubscribe", "subscribe")
    conn = r.connection_pool.get_connection("_")
    out = []
    try:
        for cmd in script:
            conn.send_command(*cmd)
            try:
                conn.read_response()
            except redis.ResponseError:
                pass
            # From another connection: the script's may be in MULTI or subscribed.
            r.publish("end-of-command", "x")
            seen = []
            deadline = time.monotonic() + 10
            while True:
                assert time.monotonic() < deadline, "the end-of-command message never came"
                m = p.get_message(timeout=1)
                if m is None:
                    continue
                if m["channel"] == b"end-of-command":
                    break
                seen.append((m["channel"].decode(), m["data"].decode()))
            out.append((" ".join(cmd), seen))
    finally:
        r.connection_pool.release(conn)
        p.close()
        r.config_set("notify-keyspace-events", "")
    return out


@pytest.mark.parametrize("name", sorted(set(SCRIPTS) - SKIP))
def test_events_match_redis(name, redis_server, pier_cache):
    expected = events(redis_server, SCRIPTS[name])
    got = events(pier_cache.addr("resp")[1], SCRIPTS[name])
    assert [x for x in got if x not in expected] == [x for x in expected if x not in got]
    assert got == expected
