"""Lua scripting on `pier cache` through redis-py's own users of it (Lock, register_script's
EVALSHA with its EVAL fallback), run against redis-server 7.0 first so each expectation is
Redis's behaviour."""
import threading

import pytest
import redis


def test_redis_py_lock_excludes_and_releases(port):
    r = redis.Redis(port=port)
    counter = {"n": 0, "inside": 0, "overlap": 0}

    def work():
        c = redis.Redis(port=port)
        for _ in range(30):
            with c.lock("res", timeout=10, blocking_timeout=30):
                counter["inside"] += 1
                counter["overlap"] += counter["inside"] > 1
                counter["n"] += 1
                counter["inside"] -= 1

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert counter["n"] == 90 and counter["overlap"] == 0
    lock = r.lock("res", timeout=5)
    assert lock.acquire(blocking=False)
    assert lock.extend(5)  # a Lua script: only the owner's token extends
    other = r.lock("res", timeout=5)
    assert not other.acquire(blocking=False)
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        other.do_release(b"not-the-owner")  # the release script checks the token
    lock.release()
    assert r.exists("res") == 0


def test_registered_script_falls_back_to_eval(port):
    r = redis.Redis(port=port)
    r.script_flush()
    incr_by = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    r.delete("cnt")
    assert incr_by(keys=["cnt"], args=[5]) == 5  # NOSCRIPT, then EVAL loads it
    assert r.script_exists(incr_by.sha) == [True]
    assert incr_by(keys=["cnt"], args=[2]) == 7
