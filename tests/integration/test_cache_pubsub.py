"""Pub/sub on `pier cache` through redis-py's own PubSub (pattern subscriptions, a listener
thread), run against redis-server 7.0 first so each expectation is Redis's behaviour; and a
subscriber that stops reading is disconnected at client-output-buffer-limit pubsub."""
import socket
import time

import redis


def drain(p, n, timeout=10):
    got, deadline = [], time.time() + timeout
    while len(got) < n and time.time() < deadline:
        m = p.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if m:
            got.append((m["type"], m.get("pattern"), m["channel"], m["data"]))
    return got


def test_channels_and_patterns_deliver_in_order(port):
    r = redis.Redis(port=port)
    p = r.pubsub()
    p.subscribe("orders")
    p.psubscribe("events.*")
    assert drain(p, 0) == []
    for _ in range(200):  # subscriptions land before the first publish counts them
        if r.pubsub_numsub("orders") == [(b"orders", 1)] and r.pubsub_numpat() == 1:
            break
        time.sleep(0.005)
    assert r.publish("orders", "o1") == 1
    assert r.publish("events.login", "e1") == 1
    assert r.publish("other", "x") == 0
    for i in range(100):
        r.publish("orders", f"n{i}")
    got = drain(p, 102)
    assert got[:2] == [("message", None, b"orders", b"o1"),
                       ("pmessage", b"events.*", b"events.login", b"e1")]
    assert [g[3] for g in got[2:]] == [f"n{i}".encode() for i in range(100)]
    assert r.pubsub_channels() == [b"orders"]
    p.close()


def test_listener_thread_receives(port):
    r = redis.Redis(port=port)
    seen = []
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe(**{"jobs": lambda m: seen.append(m["data"])})
    worker = p.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        for _ in range(200):
            if r.publish("jobs", "j") == 1:
                break
            time.sleep(0.005)
        for _ in range(200):
            if seen:
                break
            time.sleep(0.005)
        assert seen[:1] == [b"j"]
    finally:
        worker.stop()
        worker.join(5)


def test_slow_subscriber_is_disconnected(port):
    r = redis.Redis(port=port)
    old = r.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    r.config_set("client-output-buffer-limit", "pubsub 2mb 1mb 60")
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nslow\r\n")
        for _ in range(200):
            if r.pubsub_numsub("slow") == [(b"slow", 1)]:
                break
            time.sleep(0.005)
        big = "x" * (64 * 1024)
        for _ in range(400):  # 25 MB it never reads
            r.publish("slow", big)
            if r.pubsub_numsub("slow") == [(b"slow", 0)]:
                break
        assert r.pubsub_numsub("slow") == [(b"slow", 0)]
        s.close()
    finally:
        r.config_set("client-output-buffer-limit", old)
