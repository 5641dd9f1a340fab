"""Two `pier registry` processes sharing one catalog in a real etcd (Debian's etcd-server)."""
import signal
import subprocess
import time

import consul
import pytest
import requests

from conftest import Server, free_port, need


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
    for _ in range(400):
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.025)  # waiting for etcd to listen
    yield f"etcd://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def registry(store):
    return Server(["registry", "--http", "127.0.0.1:0", "--store", store])


def client(server):
    host, port = server.addr("http")
    return consul.Consul(host=host, port=port)


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
