"""SLOWLOG and LATENCY through redis-py, each test against redis-server 7.0 and pier."""
import pytest
import redis

DEFAULTS = {"slowlog-log-slower-than": 10000, "slowlog-max-len": 128,
            "latency-monitor-threshold": 0}


@pytest.fixture
def r(port):
    client = redis.Redis(port=port)
    yield client
    # The servers are shared by the module: put the defaults back.
    for name, value in DEFAULTS.items():
        client.config_set(name, value)
    client.slowlog_reset()
    client.execute_command("LATENCY", "RESET")


def test_slowlog_records_shortens_and_redacts_as_redis(r):
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.client_setname("slowpoke")
    r.set("slowlog:k", "v" * 200)
    with pytest.raises(redis.ResponseError):
        r.execute_command("AUTH", "not-the-password")
    r.config_set("requirepass", "")
    r.delete(*[f"slowlog:{i}" for i in range(40)])
    entries = r.slowlog_get(-1)
    commands = [e["command"] for e in entries]
    assert commands == [
        b"DEL " + b" ".join(b"slowlog:%d" % i for i in range(30)) + b" ... (10 more arguments)",
        b"CONFIG SET requirepass (redacted)",
        b"AUTH (redacted)",
        b"SET slowlog:k " + b"v" * 128 + b"... (72 more bytes)",
        b"CLIENT SETNAME slowpoke",
        b"SLOWLOG RESET",
    ]
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    assert all(e["duration"] >= 0 and e["start_time"] > 1.7e9 for e in entries)
    # The raw entries: id, time, microseconds, arguments, client address, client name.
    raw = r.execute_command("SLOWLOG", "GET", "6")
    assert [len(e) for e in raw] == [6] * 6
    assert [e[5] for e in raw] == [b"slowpoke"] * 6  # the newest is the GET above
    assert all(e[4].startswith(b"127.0.0.1:") for e in raw)
    assert len(r.slowlog_get(2)) == 2
    assert r.slowlog_len() == len(entries) + 3  # the three GETs since
    r.config_set("slowlog-max-len", 3)
    assert r.slowlog_len() == 3
    r.config_set("slowlog-log-slower-than", -1)
    r.slowlog_reset()
    r.set("slowlog:k", "v")
    assert r.slowlog_len() == 0  # -1: nothing is logged


def test_slowlog_and_latency_errors_as_redis(r):
    for args, error in [
        (("SLOWLOG", "GET", "-2"), "count should be greater than or equal to -1"),
        (("SLOWLOG", "GET", "x"), "count should be greater than or equal to -1"),
        (("SLOWLOG", "LEN", "1"), "wrong number of arguments for 'slowlog|len' command"),
        (("SLOWLOG", "NOPE"), "unknown subcommand 'NOPE'. Try SLOWLOG HELP."),
        (("LATENCY", "HISTORY"), "wrong number of arguments for 'latency|history' command"),
        (("CONFIG", "SET", "slowlog-max-len", "-1"),
         "argument must be between 0 and 9223372036854775807 inclusive"),
        (("CONFIG", "SET", "latency-monitor-threshold", "x"),
         "argument couldn't be parsed into an integer"),
    ]:
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(*args)
        assert error in str(e.value), args
    assert r.execute_command("LATENCY", "HISTORY", "no-such-event") == []
    assert r.execute_command("SLOWLOG", "HELP")[0].startswith(b"SLOWLOG <subcommand>")


def test_latency_monitor_records_a_slow_script(r):
    r.execute_command("LATENCY", "RESET")
    r.config_set("latency-monitor-threshold", 5)
    # A script that keeps the server busy for 30 ms of its own clock.
    busy = """local t = redis.call('TIME') local start = t[1] * 1000000 + t[2]
              repeat local n = redis.call('TIME') until n[1] * 1000000 + n[2] - start >= 30000
              return 1"""
    assert r.eval(busy, 0) == 1
    latest = r.execute_command("LATENCY", "LATEST")
    assert len(latest) == 1
    event, when, ms, worst = latest[0]
    assert event == b"command" and ms >= 30 and worst >= ms and when > 1.7e9
    history = r.execute_command("LATENCY", "HISTORY", "command")
    assert history == [[when, ms]]
    assert r.execute_command("LATENCY", "RESET", "command", "no-such-event") == 1
    assert r.execute_command("LATENCY", "LATEST") == []
