"""MULTI/EXEC/WATCH on `pier cache` through redis-py's own transaction API (pipelines and
`Redis.transaction`), with clients on several of the server's I/O threads; the same checks run
against redis-server 7.0 first, so each expectation is Redis's behaviour."""
import threading

import pytest
import redis
from test_cache_blocking import Waiter, wait_blocked


def test_pipeline_transaction_replies_and_errors(port):
    r = redis.Redis(port=port)
    r.delete("t:k", "t:l")
    p = r.pipeline(transaction=True)
    p.set("t:k", 1).incr("t:k").lpush("t:k", "x").get("t:k")
    res = p.execute(raise_on_error=False)
    assert res[:2] == [True, 2]
    assert isinstance(res[2], redis.ResponseError) and "WRONGTYPE" in str(res[2])
    assert res[3] == b"2"
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.pipeline(transaction=True).set("t:k", 5).execute_command("GET").execute()
    assert r.get("t:k") == b"2"  # EXECABORT: nothing ran


def test_watch_retries_lose_no_increment(port):
    r = redis.Redis(port=port)
    r.set("t:n", 0)

    def increment(p):
        value = int(p.get("t:n"))  # immediate: the pipeline is watching, not yet in MULTI
        p.multi()
        p.set("t:n", value + 1)

    def bump(times):
        c = redis.Redis(port=port)
        for _ in range(times):
            c.transaction(increment, "t:n")

    threads = [threading.Thread(target=bump, args=(150,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert int(r.get("t:n")) == 450


def test_watched_key_touched_by_another_client_aborts(port):
    r, other = redis.Redis(port=port), redis.Redis(port=port)
    r.set("t:w", "a")
    with r.pipeline() as p:
        p.watch("t:w")
        other.set("t:w", "b")
        p.multi()
        p.set("t:w", "c")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("t:w") == b"b"


def test_blocked_client_is_served_after_exec(port):
    r = redis.Redis(port=port, socket_timeout=20)
    r.delete("t:q")
    w = Waiter(type("S", (), {"addr": lambda self, _: ("127.0.0.1", port)})(), "BLPOP", "t:q", "0")
    w.start()
    wait_blocked(r, 1)
    p = r.pipeline(transaction=True)
    p.rpush("t:q", "a", "b").llen("t:q")
    assert p.execute() == [2, 2]  # the waiter was not served inside the transaction
    w.join(10)
    assert w.reply == (b"t:q", b"a")
    assert r.lrange("t:q", 0, -1) == [b"b"]
