"""Two `pier registry` processes sharing one catalog in a real etcd (Debian's etcd-server)."""
import base64
import signal
import subprocess
import time

import consul
import pytest
import requests

from conftest import Server, consul_client, free_port, need


@pytest.fixture
def etcd(tmp_path):
    need("etcd")
    port, peer = free_port(), free_port()
    proc = subprocess.Popen(
        ["etcd", "--data-dir", str(tmp_path / "etcd"),
         "--listen-client-urls", f"http://127.0.0.1:{port}",
         "--advertise-client-urls", f"http://127.0.0.1:{port}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"default=http://127.0.0.1:{peer}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # etcd listens before it has elected itself leader, and /health answers only once
    # it has (a slow machine can take seconds), so both a refused connection and a
    # read timeout mean "not yet".
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=5).ok:
                break
        except requests.RequestException:
            pass
        assert proc.poll() is None, "etcd exited while starting"
        assert time.monotonic() < deadline, "etcd never became healthy"
        time.sleep(0.025)  # waiting for etcd to listen and elect itself
    yield f"etcd://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def registry(store):
    return Server(["registry", "--http", "127.0.0.1:0", "--store", store])


def client(server):
    host, port = server.addr("http")
    return consul_client(host, port)


def wait_catalog(c, name, pred, timeout=20):
    """Follows /v1/catalog/service/NAME with blocking queries until pred(ids)."""
    deadline = time.monotonic() + timeout
    index, ids = None, None
    while time.monotonic() < deadline:
        index, entries = c.catalog.service(name, index=index, wait="2s")
        ids = sorted(e["ServiceID"] for e in entries)
        if pred(ids):
            return ids
    raise AssertionError(f"{name}: not reached in {timeout}s; last {ids}")


def test_two_registries_agree_through_etcd(etcd):
    a, b = registry(etcd), registry(etcd)
    try:
        ca, cb = client(a), client(b)
        assert ca.agent.service.register("web", service_id="web-1", port=8001, tags=["v1"])
        assert cb.agent.service.register("web", service_id="web-2", port=8002, tags=["v2"])
        # Each sees the other's registration, woken by a blocking query.
        assert wait_catalog(cb, "web", lambda ids: ids == ["web-1", "web-2"])
        assert wait_catalog(ca, "web", lambda ids: ids == ["web-1", "web-2"])
        assert ca.catalog.services()[1] == cb.catalog.services()[1] == {"web": ["v1", "v2"]}
        # A deregistration on b reaches a; maintenance on a reaches b.
        assert cb.agent.service.deregister("web-1")
        assert wait_catalog(ca, "web", lambda ids: ids == ["web-2"])
        assert ca.agent.service.maintenance("web-2", True, "drain")
        deadline = time.monotonic() + 20
        while "_service_maintenance:web-2" not in cb.agent.checks():
            assert time.monotonic() < deadline, "maintenance did not reach b"
            cb.health.service("web", index=cb.health.service("web")[0], wait="1s")
        # A registry started later (or restarted after kill -9) loads the catalog from etcd.
        a.stop(sig=signal.SIGKILL)
        c = registry(etcd)
        try:
            assert sorted(client(c).agent.services()) == ["web-2"]
        finally:
            c.stop()
    finally:
        a.stop()
        b.stop()


def test_unreachable_etcd_is_an_environment_error():
    port = free_port()
    from conftest import run_pier
    r = run_pier("registry", "--http", "127.0.0.1:0", "--store", f"etcd://127.0.0.1:{port}")
    assert r.returncode == 2
    assert f"127.0.0.1:{port}" in r.stderr
    r = run_pier("registry", "--http", "127.0.0.1:0", "--store", "redis://x")
    assert r.returncode == 1 and "etcd://HOST:PORT" in r.stderr


def wait_passing(c, name, want, timeout=20):
    deadline = time.monotonic() + timeout
    index, entries = None, []
    while time.monotonic() < deadline:
        index, entries = c.health.service(name, index=index, wait="2s", passing=True)
        if len(entries) == want:
            return
    raise AssertionError(f"{name}: {len(entries)} passing, wanted {want}")


def test_ttl_heartbeats_reach_every_registry_under_a_lease(etcd):
    a, b = registry(etcd), registry(etcd)
    try:
        ca, cb = client(a), client(b)
        assert ca.agent.service.register("api", service_id="api-1", check=consul.Check.ttl("30s"))
        assert ca.agent.service.register("job", service_id="job-1", check=consul.Check.ttl("1s"))
        wait_catalog(cb, "api", lambda ids: ids == ["api-1"])
        # A heartbeat sent to a makes the check pass on b too.
        assert ca.agent.check.ttl_pass("service:api-1", "alive")
        wait_passing(cb, "api", 1)
        checks = cb.agent.checks()
        assert checks["service:api-1"]["Output"] == "alive"
        # A registry started now loads the heartbeat from etcd while its lease lives.
        c = registry(etcd)
        try:
            assert len(client(c).health.service("api", passing=True)[1]) == 1
        finally:
            c.stop()
        # job's 1 s lease runs out with no further heartbeat: etcd drops the key, and a registry
        # started afterwards starts the check critical.
        assert ca.agent.check.ttl_pass("service:job-1")
        etcd_url = "http://" + etcd[len("etcd://"):]
        key = base64.b64encode(b"/pier/registry/health/service:job-1").decode()
        def stored():
            return bool(requests.post(etcd_url + "/v3/kv/range", json={"key": key}).json()
                        .get("kvs"))

        deadline = time.monotonic() + 20
        for want in (True, False):  # published, then expired
            while stored() != want:
                assert time.monotonic() < deadline, f"the heartbeat key never became {want}"
                time.sleep(0.1)  # etcd's lease timer, which no fake clock can drive
        d = registry(etcd)
        try:
            assert client(d).health.service("job", passing=True)[1] == []
        finally:
            d.stop()
    finally:
        a.stop()
        b.stop()
