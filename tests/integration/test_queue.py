"""`pier queue` end to end: redis-py and curl drive the RESP commands and the HTTP API; the
server is killed with SIGKILL while a producer publishes with confirms."""
import json
import os
import random
import signal
import subprocess
import threading

import pytest
import redis
import requests

from conftest import PIER, TOKEN, Server, free_port, need, run_pier


def start_queue(tmp_path, *extra, port=0, http=0):
    return Server(["queue", "--listen", f"127.0.0.1:{port}", "--http", f"127.0.0.1:{http}",
                   "--data-dir", str(tmp_path / "data"), *extra])


def as_dict(flat):
    """A RESP2 map (a flat list) as a dict with str keys."""
    it = iter(flat)
    out = {}
    for k, v in zip(it, it):
        k = k.decode() if isinstance(k, bytes) else k
        out[k] = as_dict(v) if k == "headers" else v
    return out


@pytest.fixture
def queue(tmp_path):
    s = start_queue(tmp_path, "--fsync", "always")
    yield s
    s.stop()


def client(s):
    host, port = s.addr("resp")
    return redis.Redis(host=host, port=port)


def test_priorities_acks_nacks_dead_letters_and_redrive_with_redis_py(queue):
    r = client(queue)
    low = r.execute_command("QPUBLISH", "jobs", "low", "PRIORITY", 1)
    high = r.execute_command("QPUBLISH", "jobs", "high", "PRIORITY", 7, "HEADER", "trace", "t-1")
    ids = r.execute_command("QMPUBLISH", "jobs", "m1", "m2")
    assert high > low and len(ids) == 2
    got = [as_dict(m) for m in r.execute_command("QCONSUME", "jobs", "COUNT", 10)]
    assert [m["payload"] for m in got] == [b"high", b"low", b"m1", b"m2"]
    assert got[0]["headers"] == {"trace": b"t-1"} and got[0]["deliveries"] == 1
    assert r.execute_command("QACK", "jobs", "default", high, low) == 2
    assert r.execute_command("QACK", "jobs", "default", high) == 0  # already acked
    assert r.execute_command("QNACK", "jobs", "default", ids[0], "DEAD", "ERROR", "bad input") == 1
    assert r.execute_command("QNACK", "jobs", "default", ids[1], "DELAY", 0) == 1
    again = [as_dict(m) for m in r.execute_command("QCONSUME", "jobs")]
    assert again[0]["payload"] == b"m2" and again[0]["deliveries"] == 2

    dead = [as_dict(m) for m in r.execute_command("QDEAD", "jobs", "default", "LIST")]
    assert [d["payload"] for d in dead] == [b"m1"]
    assert dead[0]["headers"]["x-dead-last-error"] == b"bad input"
    one = as_dict(r.execute_command("QDEAD", "jobs", "default", "GET", dead[0]["id"]))
    assert one["payload"] == b"m1"
    stats = as_dict(r.execute_command("QSTATS", "jobs")[0])
    assert stats["dead"] == 1 and stats["in_flight"] == 1 and stats["acked"] == 2
    assert r.execute_command("QREDRIVE", "jobs", "default") == 1
    back = [as_dict(m) for m in r.execute_command("QCONSUME", "jobs")]
    assert back[0]["payload"] == b"m1" and back[0]["deliveries"] == 1
    assert r.execute_command("QDEAD", "jobs", "default", "PURGE") == 0


def test_errors_name_the_command_and_the_argument(queue):
    r = client(queue)
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'qpublish'"):
        r.execute_command("QPUBLISH", "jobs")
    with pytest.raises(redis.ResponseError, match=r"priority 12 out of range for topic 'jobs'"):
        r.execute_command("QPUBLISH", "jobs", "x", "PRIORITY", 12)
    with pytest.raises(redis.ResponseError, match="QCONSUME: COUNT must be an integer"):
        r.execute_command("QCONSUME", "jobs", "COUNT", "many")
    with pytest.raises(redis.ResponseError, match="no such subscription 'jobs/nobody'"):
        r.execute_command("QACK", "jobs", "nobody", 1)
    with pytest.raises(redis.ResponseError, match="unknown command 'GET'"):
        r.get("k")  # the queue alone serves no keys
    assert r.ping()


def test_topics_fan_out_to_subscriptions_and_consumers_compete(queue):
    r = client(queue)
    assert r.execute_command("QTOPIC", "CREATE", "orders", "NODEFAULT") == b"OK"
    for sub in ("billing", "email"):
        assert r.execute_command("QSUB", "CREATE", "orders", sub, "VISIBILITY", 60000) == b"OK"
    assert sorted(r.execute_command("QSUB", "LIST", "orders")) == [b"billing", b"email"]
    r.execute_command("QMPUBLISH", "orders", *[f"o{i}" for i in range(6)])
    a, b = client(queue), client(queue)
    first = a.execute_command("QCONSUME", "orders", "SUB", "billing", "COUNT", 3)
    second = b.execute_command("QCONSUME", "orders", "SUB", "billing", "COUNT", 10)
    seen = {as_dict(m)["payload"] for m in first + second}
    assert len(first) == 3 and len(second) == 3 and len(seen) == 6
    assert len(r.execute_command("QCONSUME", "orders", "SUB", "email", "COUNT", 10)) == 6


def test_a_blocked_consumer_wakes_when_a_message_arrives(queue):
    r = client(queue)
    result = {}

    def consume():
        result["got"] = client(queue).execute_command("QCONSUME", "wakeup", "BLOCK", 20000)

    t = threading.Thread(target=consume)
    t.start()
    # Publish only once the consumer is blocked (it shows as a connected client).
    while b"cmd=" not in r.execute_command("CLIENT", "LIST") or \
            len(r.execute_command("CLIENT", "LIST").splitlines()) < 2:
        pass
    r.execute_command("QPUBLISH", "wakeup", "ping")
    t.join(timeout=15)
    assert not t.is_alive(), "the blocked consumer was not woken"
    assert as_dict(result["got"][0])["payload"] == b"ping"
    assert r.execute_command("QCONSUME", "wakeup", "BLOCK", 10) == []  # timeout: empty


def test_pipelined_publishes_share_fsyncs(queue):
    r = client(queue)
    before = requests.get(queue.url("/v1/queue/stats")).json()["log"]["fsyncs"]
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.execute_command("QPUBLISH", "bulk", f"m{i}")
    ids = p.execute()
    assert len(set(ids)) == 500
    fsyncs = requests.get(queue.url("/v1/queue/stats")).json()["log"]["fsyncs"] - before
    assert 1 <= fsyncs < 100, fsyncs


def test_http_api_with_curl(queue):
    need("curl")

    def curl(method, path, body=None):
        cmd = ["curl", "-s", "-w", "\n%{http_code}", "-X", method,
               "-H", f"Authorization: Bearer {TOKEN}", queue.url(path)]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        text, code = out.rsplit("\n", 1)
        return int(code), json.loads(text) if text else None

    code, _ = curl("PUT", "/v1/queue/topics/web/subscriptions/workers",
                   {"visibility_timeout_ms": 5000, "max_deliveries": 2})
    assert code == 201
    code, r = curl("POST", "/v1/queue/topics/web/publish",
                   {"messages": [{"payload": "a", "priority": 5, "headers": {"k": "v"}},
                                 {"payload_base64": "/w=="}]})
    assert code == 200 and len(r["ids"]) == 2
    code, r = curl("POST", "/v1/queue/topics/web/subscriptions/workers/consume?max=10&wait_ms=100")
    assert code == 200
    msgs = r["messages"]
    assert msgs[0]["payload"] == "a" and msgs[0]["headers"] == {"k": "v"}
    assert msgs[1]["payload_base64"] == "/w=="  # 0xFF is not UTF-8: base64
    code, r = curl("POST", "/v1/queue/topics/web/subscriptions/workers/ack", {"ids": [msgs[0]["id"]]})
    assert (code, r) == (200, {"acked": 1})
    code, r = curl("POST", "/v1/queue/topics/web/subscriptions/workers/nack",
                   {"ids": [msgs[1]["id"]], "outcome": "dead", "error": "poison"})
    assert (code, r) == (200, {"nacked": 1})
    code, r = curl("GET", "/v1/queue/topics/web/subscriptions/workers/dead")
    assert r["messages"][0]["headers"]["x-dead-last-error"] == "poison"
    code, r = curl("DELETE", "/v1/queue/topics/web/subscriptions/workers/dead")
    assert (code, r) == (200, {"purged": 1})
    code, r = curl("POST", "/v1/queue/topics/web/publish", {"payload": "x", "priority": 300})
    assert code == 400 and "messages[0]: field 'priority'" in r["error"]
    code, r = curl("POST", "/v1/queue/topics/web/publish", {"nothing": 1})
    assert code == 400 and "payload" in r["error"]
    code, r = curl("POST", "/v1/queue/topics/web/subscriptions/nobody/consume")
    assert code == 404 and "no such subscription 'web/nobody'" in r["error"]
    code, r = curl("GET", "/v1/queue/topics/web")
    assert code == 200 and r["subscriptions"][0]["subscription"] in ("default", "workers")

    out = run_pier("queue", "stats", "--http", queue.ports["http"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("TOPIC") and "workers" in out.stdout
    metrics = requests.get(queue.url("/metrics")).text
    assert 'pier_queue_log_fsyncs_total' in metrics


def test_kill_9_while_publishing_loses_no_confirmed_message(tmp_path):
    """SIGKILL at random moments while a producer publishes with confirms; then drain."""
    port, http = free_port(), free_port()
    rng = random.Random(int(os.environ.get("PIER_CRASH_SEED", "7")))
    confirmed, attempted = set(), set()
    acked_before_crash = set()
    s = start_queue(tmp_path, "--fsync", "batch", port=port, http=http)
    # Messages acknowledged by a consumer before a crash must not come back.
    r = redis.Redis(port=port)
    r.execute_command("QMPUBLISH", "crash", *[f"pre-{i}" for i in range(100)])
    for m in r.execute_command("QCONSUME", "crash", "COUNT", 50):
        m = as_dict(m)
        assert r.execute_command("QACK", "crash", "default", m["id"]) == 1
        acked_before_crash.add(m["payload"].decode())

    for round_ in range(5):
        stop = threading.Event()

        def produce():
            p = redis.Redis(port=port, socket_timeout=5)
            n = 0
            while not stop.is_set():
                batch = [f"r{round_}-{n + i}" for i in range(rng.randint(1, 20))]
                n += len(batch)
                attempted.update(batch)
                try:
                    pipe = p.pipeline(transaction=False)
                    for b in batch:
                        pipe.execute_command("QPUBLISH", "crash", b)
                    pipe.execute()
                    confirmed.update(batch)
                except (redis.ConnectionError, redis.TimeoutError, ConnectionResetError):
                    return

        t = threading.Thread(target=produce)
        t.start()
        # Kill once the producer has made progress, at a random point in its stream.
        target = len(confirmed) + rng.randint(50, 400)
        while len(confirmed) < target and t.is_alive():
            pass
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
        stop.set()
        t.join(timeout=10)
        s = start_queue(tmp_path, "--fsync", "batch", port=port, http=http)

    r = redis.Redis(port=port)
    received = []
    while True:
        batch = r.execute_command("QCONSUME", "crash", "COUNT", 1000)
        if not batch:
            break
        ids = []
        for m in batch:
            m = as_dict(m)
            received.append(m["payload"].decode())
            ids.append(m["id"])
        r.execute_command("QACK", "crash", "default", *ids)
    s.stop()
    got = set(received)
    assert len(confirmed) > 250
    assert confirmed - got == set(), f"{len(confirmed - got)} confirmed messages lost"
    assert got - attempted - {f"pre-{i}" for i in range(100)} == set(), "unknown messages appeared"
    assert got & acked_before_crash == set(), "acked messages were delivered again"
    assert {f"pre-{i}" for i in range(100)} - acked_before_crash <= got


def test_a_corrupt_tail_is_reported_and_dropped(tmp_path):
    s = start_queue(tmp_path, "--fsync", "always")
    r = client(s)
    r.execute_command("QPUBLISH", "t", "kept")
    r.execute_command("QPUBLISH", "t", "lost-tail")
    s.stop(signal.SIGKILL)
    seg_dir = tmp_path / "data" / "queue"
    last = sorted(seg_dir.glob("*.seg"))[-1]
    data = bytearray(last.read_bytes())
    end = len(data.rstrip(b"\0"))  # segments may be filled with zeros ahead of use
    data[end - 3] ^= 0xFF  # flip a byte of the last frame
    last.write_bytes(bytes(data))
    s = Server(["queue", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                "--data-dir", str(tmp_path / "data")])
    try:
        r = client(s)
        got = [as_dict(m)["payload"] for m in r.execute_command("QCONSUME", "t", "COUNT", 10)]
        assert got == [b"kept"]
    finally:
        s.stop()
    err = s.stderr()
    assert "queue recovery" in err and "checksum mismatch" in err, err


def test_cache_and_queue_share_one_resp_listener(tmp_path):
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--queue", "yes",
                "--data-dir", str(tmp_path / "data")])
    try:
        r = client(s)
        assert r.set("k", "v") and r.get("k") == b"v"
        p = r.pipeline(transaction=False)
        p.set("n", 1).execute_command("QPUBLISH", "jobs", "x").incr("n")
        assert p.execute()[1:] == [1, 2]
        got = r.execute_command("QCONSUME", "jobs")
        assert as_dict(got[0])["payload"] == b"x"
        assert requests.get(s.url("/v1/queue/stats")).json()["topics"][0]["name"] == "jobs"
    finally:
        s.stop()


def test_metrics_pass_promtool(queue):
    need("promtool")
    r = client(queue)
    r.execute_command("QPUBLISH", "jobs", "x")
    m = as_dict(r.execute_command("QCONSUME", "jobs")[0])
    r.execute_command("QACK", "jobs", "default", m["id"])
    # The per-subscription series appear once the queue's ticker has taken a snapshot.
    import time
    deadline, text = time.monotonic() + 20, ""
    series = 'pier_queue_acked_total{topic="jobs",subscription="default"} 1'
    while series not in text and time.monotonic() < deadline:
        text = requests.get(queue.url("/metrics")).text
    assert series in text
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'pier_queue_deliveries_per_message_bucket' in text
    # One message went through every stage, each recorded once, in the order of its life.
    stage = {}
    for name in ("written", "durable", "delivered", "acked"):
        assert f'pier_queue_stage_seconds_count{{stage="{name}"}} 1' in text, name
        line = next(l for l in text.splitlines()
                    if l.startswith(f'pier_queue_stage_seconds_sum{{stage="{name}"}}'))
        stage[name] = float(line.split()[-1])
    assert 0 < stage["written"] <= stage["durable"]


def test_the_queue_listener_keeps_a_slow_log_as_redis(queue):
    r = client(queue)
    r.config_set("slowlog-log-slower-than", 0)  # every command: the queue's Q* included
    r.execute_command("QPUBLISH", "slow", "x" * 300)
    r.execute_command("QCONSUME", "slow")
    commands = [e["command"] for e in r.slowlog_get(3)]
    assert commands[:2] == [b"QCONSUME slow", b"QPUBLISH slow " + b"x" * 128 + b"... (172 more bytes)"]
    r.config_set("slowlog-log-slower-than", -1)
    r.slowlog_reset()
    r.execute_command("QPUBLISH", "slow", "y")
    assert r.slowlog_len() == 0
