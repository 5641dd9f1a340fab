"""`pier up` with the process driver: the demo system comes up in dependency order, serves
through the proxy from the registry's healthy instances, restarts a killed instance (restart:
on-failure), and stops its services on Ctrl-C."""
import os
import signal
import time

import requests

from conftest import pier_up, run_pier

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "demo", "pier.yaml")


def up(tmp_path, text):
    s = pier_up(tmp_path, text)
    return s, s.lines


def get(url):
    try:
        return requests.get(url, timeout=5)
    except requests.RequestException:
        return None


def until(pred, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)  # polling health checks running in another process
    raise AssertionError(f"timed out waiting for {what}")


def test_demo_comes_up_in_order_serves_and_stops(tmp_path):
    demo = open(DEMO).read()
    s, lines = up(tmp_path, "platform: {proxy: {listen: 127.0.0.1:0}}\n" + demo)
    try:
        text = "".join(lines)
        assert text.index("waiting for catalog to be healthy") < text.index("started frontend-v1-1")
        assert "up: 3 instances of 2 services" in text
        pids = [int(l.split()[4]) for l in lines if l.split()[:1] in (["catalog"], ["frontend"])]
        assert len(pids) == 3
        proxy = f"http://{s.ports['proxy']}"
        until(lambda: (r := get(proxy + "/")) is not None and r.status_code == 200,
              "the frontend through the proxy")
        assert get(proxy + "/").json()["service"] == "frontend"
        until(lambda: len({get(proxy + "/catalog/x").json()["address"] for _ in range(4)}) == 2,
              "both catalog instances healthy and balanced")
        # Kill one catalog instance: retries hide it, and the driver restarts it (on-failure).
        victim = pids[0]
        os.kill(victim, signal.SIGKILL)
        for _ in range(10):
            r = get(proxy + "/catalog/x")
            assert r is not None and r.status_code == 200

        def restarted():
            st = requests.get(s.url("/v1/status"), timeout=5).json()
            inst = st["services"][0]["versions"][0]["instances"][0]
            return inst["restarts"] == 1 and inst["running"] and inst["health"] == "passing"
        until(restarted, "the killed instance restarted and passing again")
        st = requests.get(s.url("/v1/status"), timeout=5).json()
        new_pid = int(st["services"][0]["versions"][0]["instances"][0]["handle"])
        assert new_pid != victim
        pids.append(new_pid)
    finally:
        s.stop(signal.SIGINT)
    for pid in pids[1:]:  # stopped and reaped by pier up
        assert not os.path.exists(f"/proc/{pid}")


def test_a_spec_with_problems_is_refused(tmp_path):
    spec = tmp_path / "pier.yaml"
    spec.write_text("services:\n  a: {command: [x], depends_on: {b: {}}}\n")
    r = run_pier("up", str(spec), "--http", "127.0.0.1:0")
    assert r.returncode == 1
    assert "services.a.depends_on.b: 'b' is not a service" in r.stderr


def test_a_missing_program_is_named(tmp_path):
    spec = tmp_path / "pier.yaml"
    spec.write_text("platform: {proxy: {listen: 127.0.0.1:0}}\n"
                    "services:\n  a: {command: [no-such-program-pier]}\n")
    r = run_pier("up", str(spec), "--http", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"))
    assert r.returncode != 0
    assert "services.a: cannot start 'no-such-program-pier'" in r.stderr


def test_the_readme_tour_of_the_demo_deploys(tmp_path):
    from test_deploy import Load
    examples = os.path.dirname(DEMO)
    s, _ = up(tmp_path, "platform: {proxy: {listen: 127.0.0.1:0}}\n" + open(DEMO).read())
    try:
        proxy = f"http://{s.ports['proxy']}"
        until(lambda: len(requests.get(s.url("/v1/health/service/catalog?passing=1"),
                                       timeout=5).json()) == 2, "both catalog instances")
        load = Load(proxy + "/catalog/x")
        r = run_pier("deploy", os.path.join(examples, "v2-bad-canary.yaml"),
                     "--http", s.ports["http"])
        assert r.returncode == 1, r.stdout + r.stderr
        assert "rolling back services.catalog to v1: at 10%: error rate" in r.stdout
        r = run_pier("deploy", os.path.join(examples, "v2-blue-green.yaml"),
                     "--http", s.ports["http"])
        assert r.returncode == 0, r.stdout + r.stderr
        assert get(proxy + "/catalog/x").json()["version"] == "v2"
        r = run_pier("rollback", "--http", s.ports["http"])
        assert r.returncode == 0 and "switching back" in r.stdout, r.stdout + r.stderr
        assert get(proxy + "/catalog/x").json()["version"] == "v1"
        codes = load.stop()
        assert codes.get(200, 0) > 20
        assert set(codes) <= {200, 500}, codes  # 500s: the bad canary's, while it had traffic
        st = run_pier("status", "--http", s.ports["http"])
        assert "catalog   v2       standby  0%" in st.stdout, st.stdout
    finally:
        s.stop(signal.SIGINT)


def test_platform_cache_and_queue_run_beside_the_services(tmp_path):
    import redis
    s, lines = up(tmp_path, """name: plat
platform:
  proxy: {listen: 127.0.0.1:0}
  resp: 127.0.0.1:0
  cache: {policy: allkeys-s3fifo, memory: 16mb}
  queue: {topics: [orders]}
services:
  worker:
    command: [sh, -c, 'echo "cache=$PIER_CACHE queue=$PIER_QUEUE registry=$PIER_REGISTRY"; sleep 60']
""")
    try:
        resp = s.ports["resp"]
        host, port = resp.rsplit(":", 1)
        r = redis.Redis(host=host, port=int(port), decode_responses=True)
        assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-s3fifo"}
        assert r.config_get("maxmemory") == {"maxmemory": str(16 << 20)}
        assert r.set("k", "v") and r.get("k") == "v"
        topics = requests.get(s.url("/v1/queue/stats"), timeout=5).json()
        assert "orders" in str(topics)
        assert "cache=" + resp in lines[-1] and "queue=" + resp in lines[-1]
        names = requests.get(s.url("/v1/catalog/services"), timeout=5).json()
        assert {"pier-cache", "pier-queue", "worker"} <= set(names)
        log = tmp_path / "data" / "logs" / "worker-v1-1.log"
        until(lambda: log.exists() and log.read_text().strip(), "the worker's output")
        assert log.read_text().strip() == f"cache={resp} queue={resp} registry={s.ports['http']}"
    finally:
        s.stop(signal.SIGINT)
