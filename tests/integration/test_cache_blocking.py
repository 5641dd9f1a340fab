"""Blocking list and sorted-set commands on `pier cache`, driven by redis-py clients on their own
connections (so on several of the server's I/O threads)."""
import socket
import threading
import time

import pytest
import redis
from conftest import Server



@pytest.fixture(scope="module")
def cache():
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--threads", "2"])
    yield s
    s.stop()


def client(cache):
    return redis.Redis(port=cache.addr("resp")[1], socket_timeout=20)


def blocked_clients(r):
    return r.info("clients")["blocked_clients"]


def wait_blocked(r, n):
    """Until n clients are parked (a server state, polled; no timer is waited for)."""
    for _ in range(2000):
        if blocked_clients(r) == n:
            return
        time.sleep(0.005)
    raise AssertionError(f"blocked_clients never reached {n}: {blocked_clients(r)}")


class Waiter(threading.Thread):
    def __init__(self, cache, *cmd):
        super().__init__(daemon=True)
        self.r = client(cache)
        self.id = self.r.client_id()
        self.cmd = cmd
        self.reply = None
        self.error = None

    def run(self):
        try:
            self.reply = self.r.execute_command(*self.cmd)
        except redis.RedisError as e:
            self.error = e


def test_waiters_are_served_in_arrival_order(cache):
    r = client(cache)
    r.delete("q")
    waiters = []
    for i in range(8):
        w = Waiter(cache, "BLPOP", "q", "0")
        w.start()
        wait_blocked(r, i + 1)  # each parks before the next arrives
        waiters.append(w)
    assert r.rpush("q", *[f"v{i}" for i in range(8)]) == 8
    for i, w in enumerate(waiters):
        w.join(10)
        assert w.reply == (b"q", f"v{i}".encode())
    assert r.exists("q") == 0
    assert blocked_clients(r) == 0


def test_a_push_serves_as_many_waiters_as_it_has_elements(cache):
    r = client(cache)
    r.delete("q2")
    waiters = [Waiter(cache, "BRPOP", "q2", "0") for _ in range(3)]
    for i, w in enumerate(waiters):
        w.start()
        wait_blocked(r, i + 1)
    r.lpush("q2", "a", "b")  # two elements: the first two waiters, in order
    waiters[0].join(10)
    waiters[1].join(10)
    assert waiters[0].reply == (b"q2", b"a")
    assert waiters[1].reply == (b"q2", b"b")
    assert waiters[2].is_alive() and blocked_clients(r) == 1
    r.rpush("q2", "c")
    waiters[2].join(10)
    assert waiters[2].reply == (b"q2", b"c")


def test_timeout_replies_nil(cache):
    r = client(cache)
    assert r.execute_command("BLPOP", "none", "0.05") is None
    assert r.execute_command("BLMOVE", "none", "x", "LEFT", "LEFT", "0.05") is None
    assert r.execute_command("BZPOPMIN", "none", "0.05") is None
    assert r.execute_command("BLMPOP", "0.05", "1", "none", "LEFT") is None


def test_client_unblock(cache):
    r = client(cache)
    w = Waiter(cache, "BLPOP", "ub", "0")
    w.start()
    wait_blocked(r, 1)
    assert r.execute_command("CLIENT", "UNBLOCK", w.id) == 1
    w.join(10)
    assert w.reply is None and w.error is None
    w = Waiter(cache, "BZPOPMAX", "ub", "0")
    w.start()
    wait_blocked(r, 1)
    assert r.execute_command("CLIENT", "UNBLOCK", w.id, "ERROR") == 1
    w.join(10)
    assert "UNBLOCKED client unblocked via CLIENT UNBLOCK" in str(w.error)
    assert r.execute_command("CLIENT", "UNBLOCK", w.id) == 0


@pytest.mark.parametrize("how", ["kill", "hangup"])
def test_a_client_gone_while_blocked_takes_nothing(cache, how):
    r = client(cache)
    r.delete("gone")
    if how == "kill":
        w = Waiter(cache, "BLPOP", "gone", "0")
        w.start()
        wait_blocked(r, 1)
        assert r.execute_command("CLIENT", "KILL", "ID", w.id) == 1
    else:
        # A raw socket, closed from here: redis-py's connection is not safe to close from
        # another thread while one of its own reads it.
        s = socket.create_connection(("127.0.0.1", cache.addr("resp")[1]))
        s.sendall(b"*3\r\n$5\r\nBLPOP\r\n$4\r\ngone\r\n$1\r\n0\r\n")
        wait_blocked(r, 1)
        s.close()
    wait_blocked(r, 0)
    r.rpush("gone", "kept")
    assert r.lrange("gone", 0, -1) == [b"kept"]  # nobody took it


def test_blmove_chains_to_a_waiter_on_its_destination(cache):
    r = client(cache)
    r.delete("src", "dst")
    mover = Waiter(cache, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
    mover.start()
    wait_blocked(r, 1)
    popper = Waiter(cache, "BLPOP", "dst", "0")
    popper.start()
    wait_blocked(r, 2)
    r.rpush("src", "x")
    mover.join(10)
    popper.join(10)
    assert mover.reply == b"x"
    assert popper.reply == (b"dst", b"x")
    assert r.exists("src", "dst") == 0


def test_sorted_set_waiters_and_a_blocked_pipeline(cache):
    r = client(cache)
    r.delete("zq")
    w = Waiter(cache, "BZPOPMIN", "zq", "0")
    w.start()
    wait_blocked(r, 1)
    r.zadd("zq", {"b": 2, "a": 1})
    w.join(10)
    assert w.reply == (b"zq", b"a", 1.0)
    # A blocked command holds the commands behind it in its pipeline, as Redis does.
    p = client(cache).pipeline(transaction=False)
    p.execute_command("BLMPOP", "0", "1", "zl", "LEFT", "COUNT", "2")
    p.lrange("zl", 0, -1)
    done = []
    t = threading.Thread(target=lambda: done.append(p.execute()), daemon=True)
    t.start()
    wait_blocked(r, 1)
    r.rpush("zl", "1", "2", "3")
    t.join(10)
    assert done[0] == [[b"zl", [b"1", b"2"]], [b"3"]]


def test_wrong_type_and_bad_timeouts(cache):
    r = client(cache)
    r.set("s", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.execute_command("BLPOP", "s", "0")
    with pytest.raises(redis.ResponseError, match="timeout is negative"):
        r.execute_command("BLPOP", "x", "-1")
    with pytest.raises(redis.ResponseError, match="timeout is not a float"):
        r.execute_command("BLPOP", "x", "soon")
