"""CLIENT TRACKING (server-assisted client-side caching), each test against redis-server 7.0 and
`pier cache`: RESP3 `invalidate` pushes on the tracking connection, the RESP2 REDIRECT mode
through redis-py's pubsub on `__redis__:invalidate`, OPTIN, BCAST prefixes, NOLOOP, FLUSHALL's
null invalidation, and Redis's errors. A FLUSHALL after each step is the sentinel: its null
invalidation is the next push, so "nothing else was sent" is checked without waiting."""
import socket

import pytest
import redis


class Conn:
    """RESP3 over a socket, keeping pushes (they may come before or after a reply) apart."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(10)
        self.buf = b""
        self.pushes = []

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _value(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return (t.decode(), rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if t == b"_":
            return None
        if t in (b"*", b"~", b"%", b">"):
            n = int(rest) * (2 if t == b"%" else 1)
            items = [self._value() for _ in range(n)]
            return ("push", items) if t == b">" else items
        raise AssertionError(f"unexpected {line!r}")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.reply()

    def reply(self):
        while True:
            v = self._value()
            if isinstance(v, tuple) and v[0] == "push":
                self.pushes.append(v[1])
            else:
                return v

    def next_push(self):
        while not self.pushes:
            v = self._value()
            assert isinstance(v, tuple) and v[0] == "push", f"a reply where a push was due: {v}"
            self.pushes.append(v[1])
        return self.pushes.pop(0)


def resp3(port, *tracking):
    c = Conn(port)
    c.call("HELLO", "3")
    assert c.call("CLIENT", "TRACKING", "on", *tracking) == ("+", "OK")
    return c


def flush_and_expect_null(writer, c):
    writer.flushall()
    assert c.next_push() == ["invalidate", None]


def test_default_mode_invalidates_each_read_key_once(port):
    w = redis.Redis(port=port)
    w.flushall()
    c = resp3(port)
    assert c.call("CLIENT", "GETREDIR") == 0
    assert c.call("GET", "k1") is None  # a missing key is tracked too
    assert c.call("MGET", "k2", "k3") == [None, None]
    w.set("k1", "v")
    w.mset({"k2": "1", "k3": "2"})
    assert [c.next_push() for _ in range(3)] == [
        ["invalidate", ["k1"]], ["invalidate", ["k2"]], ["invalidate", ["k3"]]]
    w.set("k1", "again")  # no longer tracked: nothing until the next read
    w.delete("unrelated")
    flush_and_expect_null(w, c)
    w.set("k1", "v")
    c.call("GET", "k1")
    w.expire("k1", 100)  # a TTL is a change too
    assert c.next_push() == ["invalidate", ["k1"]]


def test_redirect_to_a_resp2_subscriber(port):
    w = redis.Redis(port=port)
    w.flushall()
    receiver = redis.Connection(port=port, socket_timeout=10)
    receiver.send_command("CLIENT", "ID")
    receiver_id = receiver.read_response()
    receiver.send_command("SUBSCRIBE", "__redis__:invalidate")
    assert receiver.read_response() == [b"subscribe", b"__redis__:invalidate", 1]
    tracker = redis.Redis(port=port, single_connection_client=True)
    assert tracker.client_tracking_on(clientid=receiver_id)
    assert tracker.execute_command("CLIENT", "GETREDIR") == receiver_id
    tracker.get("z")
    w.set("z", "1")
    assert receiver.read_response() == [b"message", b"__redis__:invalidate", [b"z"]]
    w.flushall()
    assert receiver.read_response() == [b"message", b"__redis__:invalidate", None]
    receiver.disconnect()


def test_optin_bcast_and_noloop(port):
    w = redis.Redis(port=port)
    w.flushall()
    optin = resp3(port, "OPTIN")
    optin.call("GET", "o1")
    assert optin.call("CLIENT", "CACHING", "yes") == ("+", "OK")
    optin.call("GET", "o2")
    bcast = resp3(port, "BCAST", "PREFIX", "user:")
    noloop = resp3(port, "NOLOOP")
    noloop.call("GET", "n1")
    assert noloop.call("SET", "n1", "mine") == ("+", "OK")  # its own write: no push
    w.mset({"o1": "1", "o2": "2", "user:1": "x", "other": "y"})
    assert optin.next_push() == ["invalidate", ["o2"]]
    assert bcast.next_push() == ["invalidate", ["user:1"]]
    for c in (optin, bcast, noloop):
        flush_and_expect_null(w, c)
    info = bcast.call("CLIENT", "TRACKINGINFO")
    assert info == ["flags", ["on", "bcast"], "redirect", 0, "prefixes", ["user:"]]


def test_a_scripts_reads_are_tracked_for_its_caller(port):
    w = redis.Redis(port=port)
    w.flushall()
    c = resp3(port, "NOLOOP")
    assert c.call("EVAL", "return redis.call('get', KEYS[1])", 1, "s1") is None
    w.set("s1", "v")
    assert c.next_push() == ["invalidate", ["s1"]]
    assert c.call("EVAL", "return redis.call('get', KEYS[1])", 1, "s1") == "v"
    # The script's write is the caller's own (NOLOOP): no push; the null one is next.
    assert c.call("EVAL", "return redis.call('set', KEYS[1], 'x')", 1, "s1") == ("+", "OK")
    flush_and_expect_null(w, c)


@pytest.mark.parametrize("args,error", [
    (["on", "OPTIN", "OPTOUT"], "ERR You can't specify both OPTIN mode and OPTOUT mode"),
    (["on", "PREFIX", "x"], "ERR PREFIX option requires BCAST mode to be enabled"),
    (["on", "REDIRECT", "999999"], "ERR The client ID you want redirect to does not exist"),
    (["maybe"], "ERR syntax error"),
    (["on", "BCAST", "PREFIX", "a", "PREFIX", "ab"],
     "ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client "
     "must not overlap."),
    (["on", "BCAST", "OPTIN"], "ERR OPTIN and OPTOUT are not compatible with BCAST"),
])
def test_errors_as_redis(port, args, error):
    c = Conn(port)
    assert c.call("CLIENT", "TRACKING", *args) == ("-", error)
    assert c.call("CLIENT", "CACHING", "yes") == (
        "-", "ERR CLIENT CACHING can be called only when the client is in tracking mode with "
        "OPTIN or OPTOUT mode enabled")
    assert c.call("CLIENT", "GETREDIR") == -1
    c.call("CLIENT", "TRACKING", "on")
    assert c.call("CLIENT", "CACHING", "yes") == (
        "-", "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
    assert c.call("CLIENT", "CACHING", "no") == (
        "-", "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
