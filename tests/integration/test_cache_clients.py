"""`pier cache` driven by clients nobody here wrote: redis-py and redis-cli."""
import subprocess
import threading

import pytest
import redis

from conftest import need


@pytest.fixture
def r(pier_cache):
    client = redis.Redis(*pier_cache.addr("resp"))
    client.flushall()
    return client


def test_redis_py_strings_and_ttl(r):
    assert r.set("user:1", "alice")
    assert r.get("user:1") == b"alice"
    assert r.set("user:1", "bob", nx=True) is None
    assert r.set("session", "x", ex=100)
    assert 99 <= r.ttl("session") <= 100
    assert r.incr("hits") == 1 and r.incrby("hits", 41) == 42
    assert r.mset({"a": "1", "b": "2"}) and r.mget("a", "b", "zz") == [b"1", b"2", None]
    assert r.delete("a", "b", "zz") == 2
    assert r.exists("user:1", "session") == 2
    assert r.type("user:1") == b"string"
    assert r.getrange("user:1", 0, 1) == b"al"  # NX did not overwrite
    assert r.incrbyfloat("f", 1.5) == 1.5


def test_redis_py_hashes_like_a_session_store(r):
    r.hset("sess:42", mapping={"user": "alice", "cart": "3"})
    r.expire("sess:42", 1800)
    assert r.hgetall("sess:42") == {b"user": b"alice", b"cart": b"3"}
    assert r.hincrby("sess:42", "cart", 2) == 5
    assert r.hmget("sess:42", "user", "nope") == [b"alice", None]
    assert sorted(r.hkeys("sess:42")) == [b"cart", b"user"]
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.get("sess:42")


def test_redis_py_pipeline_and_big_values(r):
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set(f"k{i}", i)
    p.get("k999")
    out = p.execute()
    assert out[-1] == b"999"
    big = b"x" * (8 * 1024 * 1024)
    assert r.set("big", big) and r.get("big") == big
    assert r.strlen("big") == len(big)


def test_scan_iter_sees_every_key(r):
    for i in range(2000):
        r.set(f"scan:{i}", 1)
    r.set("other", 1)
    keys = set(r.scan_iter(match="scan:*", count=100))
    assert len(keys) == 2000


def test_resp3_hello_and_replies(pier_cache):
    # Debian's redis-py speaks RESP2 only, so RESP3 is checked on the wire.
    import socket
    s = socket.create_connection(pier_cache.addr("resp"))
    s.sendall(b"HELLO 3\r\n")
    data = b""
    while b"modules" not in data:
        data += s.recv(4096)
    assert data.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
    assert b"$5\r\nproto\r\n:3\r\n" in data
    s.sendall(b"GET resp3:missing\r\n")
    assert s.recv(1024) == b"_\r\n"
    s.close()


def test_concurrent_clients_increment_atomically(r, pier_cache):
    host, port = pier_cache.addr("resp")

    def work():
        c = redis.Redis(host=host, port=port)
        for _ in range(500):
            c.incr("counter")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(r.get("counter")) == 4000


def test_client_kill_and_list(r, pier_cache):
    host, port = pier_cache.addr("resp")
    victim = redis.Redis(host=host, port=port, client_name="victim")
    victim.ping()
    listed = r.client_list()
    names = {c["name"] for c in listed}
    assert "victim" in names
    vid = next(c["id"] for c in listed if c["name"] == "victim")
    assert r.client_kill_filter(_id=vid) == 1
    # The kill closes the victim's socket on its own I/O thread; wait for that event.
    import time
    deadline = time.monotonic() + 5
    while any(c["id"] == vid for c in r.client_list()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(c["id"] != vid for c in r.client_list())


def test_maxmemory_lru_keeps_memory_bounded(r):
    r.config_set("maxmemory-policy", "allkeys-lru")
    r.config_set("maxmemory", "4mb")
    try:
        value = "v" * 1000
        p = r.pipeline(transaction=False)
        for i in range(20000):
            p.set(f"mem:{i}", value)
        p.execute()
        info = r.info()
        assert info["used_memory"] <= 4 * 1024 * 1024 * 1.05
        assert info["evicted_keys"] > 10000
        assert r.get("mem:19999") == value.encode()  # the newest survive
    finally:
        r.config_set("maxmemory", "0")


def test_noeviction_gives_redis_oom_error(r):
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory", "1mb")
    try:
        with pytest.raises(redis.ResponseError) as e:
            for i in range(5000):
                r.set(f"oom:{i}", "x" * 1000)
        assert str(e.value) == "OOM command not allowed when used memory > 'maxmemory'."
    finally:
        r.config_set("maxmemory", "0")


def test_redis_cli_inline_and_info(pier_cache):
    need("redis-cli")
    host, port = pier_cache.addr("resp")
    cli = ["redis-cli", "-h", host, "-p", str(port)]
    assert subprocess.run(cli + ["set", "cli", "hello world"], capture_output=True, text=True).stdout == "OK\n"
    assert subprocess.run(cli + ["get", "cli"], capture_output=True, text=True).stdout == "hello world\n"
    # Inline commands, as typed into telnet.
    out = subprocess.run(cli, input="PING\nECHO hi\n", capture_output=True, text=True).stdout
    assert out.split() == ["PONG", "hi"]
    info = subprocess.run(cli + ["info", "memory"], capture_output=True, text=True).stdout
    assert "used_memory:" in info and "maxmemory_policy:" in info


def test_protocol_error_closes_only_that_connection(pier_cache):
    import socket
    host, port = pier_cache.addr("resp")
    good = redis.Redis(host=host, port=port)
    good.set("alive", "1")
    s = socket.create_connection((host, port))
    s.sendall(b"*1\r\n$-5\r\n")
    reply = s.recv(1024)
    assert reply == b"-ERR Protocol error: invalid bulk length\r\n"
    assert s.recv(1024) == b""  # closed
    assert good.get("alive") == b"1"


def test_rss_stays_near_maxmemory_under_sustained_overflow(start_pier):
    # The bound: RSS within 10% of maxmemory plus a small constant (the process's own
    # baseline), while writing four times maxmemory.
    s = start_pier("cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                   "--maxmemory", "32mb", "--maxmemory-policy", "allkeys-lru")
    r = redis.Redis(*s.addr("resp"))

    def rss():
        with open(f"/proc/{s.proc.pid}/statm") as f:
            import os
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    baseline = rss()
    value = b"x" * 1024
    p = r.pipeline(transaction=False)
    for i in range(4 * 32 * 1024):
        p.set(f"ov:{i}", value)
        if i % 2000 == 1999:
            p.execute()
    p.execute()
    limit = 32 * 2**20
    # Eviction runs before each write, as in Redis: a shard may hold one entry over its share.
    assert r.info("memory")["used_memory"] <= limit * 1.01
    assert rss() <= 1.10 * limit + baseline + 4 * 2**20, (rss(), baseline)
    assert r.dbsize() > 20000
