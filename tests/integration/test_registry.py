"""`pier registry` end to end: Debian's python-consul client, curl, and real HTTP/TCP backends
that the tests start, kill and restart."""
import json
import signal
import subprocess
import sys
import threading
import time

import consul
import pytest
import requests

from conftest import AUTH, PIER, TOKEN, Server, consul_client, env_without_token, free_port, need, run_pier


def start_registry(tmp_path, *extra):
    return Server(["registry", "--http", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"),
                   *extra])


@pytest.fixture
def registry(tmp_path):
    s = start_registry(tmp_path)
    yield s
    s.stop()


def client(server, **kw):
    host, port = server.addr("http")
    return consul_client(host, port, **kw)


class Backend:
    """A real HTTP server (python's http.server) the tests kill and restart on one port."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                requests.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)  # waiting for a process to listen, not for a timer
        raise RuntimeError("backend did not start")

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def wait_health(c, name, pred, timeout=20):
    """Follows /v1/health/service/NAME with blocking queries until pred(entries) holds."""
    deadline = time.monotonic() + timeout
    index = None
    while time.monotonic() < deadline:
        index, entries = c.health.service(name, index=index, wait="2s")
        if pred(entries):
            return entries
    raise AssertionError(f"{name}: condition not reached in {timeout}s; last: {entries}")


def statuses(entries):
    return sorted(ch["Status"] for e in entries for ch in e["Checks"]
                  if ch["CheckID"] != "serfHealth")


def test_consul_client_registers_heartbeats_and_discovers(registry):
    c = client(registry)
    assert c.agent.service.register("api", service_id="api-1", address="127.0.0.1", port=9001,
                                    tags=["v1"], check=consul.Check.ttl("10s"))
    assert c.agent.service.register("api", service_id="api-2", address="127.0.0.1", port=9002,
                                    tags=["v2"], check=consul.Check.ttl("10s"))
    index, healthy = c.health.service("api", passing=True)
    assert healthy == []  # checks start critical, as Consul's
    assert c.agent.check.ttl_pass("service:api-1", "all good")
    index, healthy = c.health.service("api", passing=True)
    assert [e["Service"]["ID"] for e in healthy] == ["api-1"]
    assert healthy[0]["Service"]["Port"] == 9001
    out = [ch["Output"] for ch in healthy[0]["Checks"] if ch["CheckID"] == "service:api-1"]
    assert out == ["all good"]
    assert int(index) > 0
    _, services = c.catalog.services()
    assert services == {"api": ["v1", "v2"]}
    _, by_tag = c.catalog.service("api", tag="v2")
    assert [s["ServiceID"] for s in by_tag] == ["api-2"]
    assert set(c.agent.services()) == {"api-1", "api-2"}
    assert c.agent.checks()["service:api-1"]["Status"] == "passing"
    assert c.agent.service.deregister("api-2")
    assert set(c.agent.services()) == {"api-1"}
    _, nodes = c.catalog.nodes()
    assert nodes[0]["Node"] == "pier"
    assert c.status.leader()


def test_blocking_query_wakes_on_its_service_only(registry):
    c = client(registry)
    c.agent.service.register("web", service_id="web-1", check=consul.Check.ttl("30s"))
    index, _ = c.health.service("web")
    result = {}

    def watch():
        t0 = time.monotonic()
        result["index"], result["entries"] = c.health.service("web", index=index, wait="20s")
        result["woke_after"] = time.monotonic() - t0

    t = threading.Thread(target=watch)
    t.start()
    # An unrelated service changes: the watcher keeps waiting.
    c.agent.service.register("other", service_id="other-1", check=consul.Check.ttl("30s"))
    c.agent.check.ttl_pass("service:other-1")
    t.join(timeout=0.5)
    assert t.is_alive(), "a change to another service woke the watcher"
    changed_at = time.monotonic()
    c.agent.check.ttl_pass("service:web-1")
    t.join(timeout=10)
    assert not t.is_alive()
    assert int(result["index"]) > int(index)
    assert statuses(result["entries"]) == ["passing"]
    print(f"watcher woke {1000 * (time.monotonic() - changed_at):.1f} ms after the change")


def test_killed_backend_goes_critical_and_recovers(registry):
    backend = Backend().start()
    c = client(registry)
    interval, failures, timeout = 0.2, 2, 0.5
    body = {"Name": "web", "ID": "web-1", "Address": "127.0.0.1", "Port": backend.port,
            "Checks": [
                {"HTTP": f"http://127.0.0.1:{backend.port}/", "Interval": "200ms",
                 "Timeout": "500ms", "FailuresBeforeCritical": failures},
                {"TCP": f"127.0.0.1:{backend.port}", "Interval": "200ms", "Timeout": "500ms"}]}
    r = requests.put(registry.url("/v1/agent/service/register"), data=json.dumps(body),
                     headers=AUTH)
    assert r.status_code == 200, r.text
    wait_health(c, "web", lambda es: statuses(es) == ["passing", "passing"])
    backend.kill()
    killed = time.monotonic()
    entries = wait_health(c, "web", lambda es: statuses(es) == ["critical", "critical"])
    took = time.monotonic() - killed
    bound = interval * failures + timeout
    print(f"critical {took:.3f}s after the kill (bound {bound:.1f}s)")
    assert took < bound + 1.0  # slack for a loaded CI machine
    outputs = [ch["Output"] for ch in entries[0]["Checks"]]
    assert any("Connection refused" in o for o in outputs), outputs
    backend.start()
    wait_health(c, "web", lambda es: statuses(es) == ["passing", "passing"])
    backend.kill()


def test_registrations_survive_kill_9(tmp_path):
    s = start_registry(tmp_path)
    c = client(s)
    for i in range(3):
        assert c.agent.service.register("db", service_id=f"db-{i}", port=5432 + i,
                                        check=consul.Check.ttl("10s"))
    c.agent.check.ttl_pass("service:db-0")
    c.agent.service.maintenance("db-2", True, "upgrading")
    s.stop(sig=signal.SIGKILL)
    s2 = start_registry(tmp_path)
    try:
        c2 = client(s2)
        assert sorted(c2.agent.services()) == ["db-0", "db-1", "db-2"]
        _, entries = c2.health.service("db")
        assert [e["Service"]["Port"] for e in entries] == [5432, 5433, 5434]
        # Health is re-probed after a restart: TTL checks start critical again.
        assert c2.agent.checks()["service:db-0"]["Status"] == "critical"
        maint = c2.agent.checks()["_service_maintenance:db-2"]
        assert maint["Notes"] == "upgrading" and maint["Status"] == "critical"
    finally:
        s2.stop()


def test_maintenance_mode_drains(registry):
    c = client(registry)
    c.agent.service.register("web", service_id="web-1", check=consul.Check.ttl("30s"))
    c.agent.check.ttl_pass("service:web-1")
    assert len(c.health.service("web", passing=True)[1]) == 1
    assert c.agent.service.maintenance("web-1", True)
    assert c.health.service("web", passing=True)[1] == []
    _, critical = c.health.state("critical")
    assert [ch["CheckID"] for ch in critical] == ["_service_maintenance:web-1"]
    assert "no reason was provided" in critical[0]["Notes"]
    assert c.agent.service.maintenance("web-1", False)
    assert len(c.health.service("web", passing=True)[1]) == 1


def test_bad_input_names_the_field(registry):
    def put(path, body):
        return requests.put(registry.url(path), data=body, headers=AUTH)

    r = put("/v1/agent/service/register", '{"Name": "x", "Check": {"TTL": "1s", "Interval": 5}')
    assert r.status_code == 400 and r.text.startswith("Request decode failed")
    r = put("/v1/agent/service/register", '{"Name": "x", "Port": "eighty"}')
    assert (r.status_code, r.text) == (
        400, "Request decode failed: Port: expected an integer, got string")
    r = put("/v1/agent/service/register", '{"Port": 80}')
    assert (r.status_code, r.text) == (400, "Missing service name")
    r = put("/v1/agent/service/register", '{"Name": "x", "Check": {"HTTP": "http://h/"}}')
    assert r.status_code == 400 and "Interval must be > 0" in r.text
    r = put("/v1/agent/service/register", "[" * 100000)
    assert r.status_code == 400 and "nested deeper" in r.text
    r = put("/v1/agent/service/register", "x" * (2 << 20))
    assert r.status_code == 413
    r = put("/v1/agent/check/pass/nope", "")
    assert r.status_code == 404 and r.text.startswith('Unknown check ID "nope"')
    r = put("/v1/agent/service/maintenance/nope", "")
    assert (r.status_code, r.text) == (400, "Missing value for enable")
    r = put("/v1/agent/check/update/x", '{"Status": "sleepy"}')
    assert (r.status_code, r.text) == (400, 'Invalid check status: "sleepy"')
    r = requests.get(registry.url("/v1/health/state/sleepy"))
    assert r.status_code == 400
    r = requests.get(registry.url("/v1/catalog/services?index=abc"))
    assert (r.status_code, r.text) == (400, "Invalid index")
    # The server is still fine.
    assert requests.get(registry.url("/v1/catalog/services")).json() == {}


def test_token_is_required_when_configured(tmp_path):
    s = start_registry(tmp_path, "--token", "s3cret")
    try:
        # On loopback reading needs no token; writing does, and a wrong one is refused.
        assert requests.get(s.url("/v1/agent/services")).status_code == 200
        body = json.dumps({"Name": "x"})
        r = requests.put(s.url("/v1/agent/service/register"), data=body)
        assert r.status_code == 401 and "token" in r.json()["error"]
        r = requests.get(s.url("/v1/agent/services"), headers={"X-Consul-Token": "wrong"})
        assert r.status_code == 403 and "ACL not found" in r.text
        with pytest.raises(consul.ACLPermissionDenied):
            client(s, token="wrong").agent.service.register("api")
        c = client(s, token="s3cret")
        assert c.agent.service.register("api", check=consul.Check.ttl("10s"))
        r = requests.get(s.url("/v1/agent/services"),
                         headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 200 and list(r.json()) == ["api"]
        assert requests.get(s.url("/v1/agent/services?token=s3cret")).status_code == 200
        assert requests.get(s.url("/health")).status_code == 200  # admin stays open
    finally:
        s.stop()


def test_protected_mode_refuses_open_non_loopback(tmp_path):
    r = run_pier("registry", "--http", "0.0.0.0:0", "--data-dir", str(tmp_path),
                 env=env_without_token())
    assert r.returncode == 1
    assert "without a token" in r.stderr


def test_deregister_critical_service_after(registry):
    c = client(registry)
    body = {"Name": "batch", "ID": "batch-1",
            "Check": {"TTL": "1s", "DeregisterCriticalServiceAfter": "1s"}}
    assert requests.put(registry.url("/v1/agent/service/register"), headers=AUTH,
                        data=json.dumps(body)).status_code == 200
    # Never heartbeats: critical at once, reaped a second later.
    index, entries = c.catalog.service("batch")
    assert len(entries) == 1
    deadline = time.monotonic() + 20
    while entries and time.monotonic() < deadline:
        index, entries = c.catalog.service("batch", index=index, wait="5s")
    assert entries == []


def test_cli_lists_services_and_instances(registry):
    c = client(registry)
    c.agent.service.register("web", service_id="web-1", address="127.0.0.1", port=8080,
                             tags=["v1"], check=consul.Check.ttl("30s"))
    c.agent.check.ttl_pass("service:web-1")
    addr = registry.ports["http"]
    r = run_pier("services", "--registry", addr)
    assert r.returncode == 0, r.stderr
    assert "web" in r.stdout and "v1" in r.stdout
    r = run_pier("instances", "web", "--registry", addr)
    assert r.returncode == 0, r.stderr
    assert "web-1" in r.stdout and "127.0.0.1:8080" in r.stdout and "passing" in r.stdout
    r = run_pier("instances", "web", "--registry", addr, "--csv")
    assert r.stdout.splitlines()[0] == "id,service,address,port,status,tags"
    r = run_pier("instances", "web", "--registry", "127.0.0.1:1")
    assert r.returncode == 2 and "127.0.0.1:1" in r.stderr


def test_curl_registers_and_blocks(registry):
    need("curl")
    addr = registry.ports["http"]
    body = '{"Name": "cache", "ID": "cache-1", "Port": 7379, "Check": {"TTL": "30s"}}'
    r = subprocess.run(["curl", "-sS", "-X", "PUT", "-H", f"X-Consul-Token: {TOKEN}",
                        "-H", "Content-Type: application/json", "--data", body,
                        "-w", "%{http_code}", f"http://{addr}/v1/agent/service/register"],
                       capture_output=True, text=True)
    assert r.stdout == "200", r.stdout + r.stderr
    r = subprocess.run(["curl", "-sS", "-i", f"http://{addr}/v1/health/service/cache"],
                       capture_output=True, text=True)
    index = int(next(line.split(":")[1] for line in r.stdout.splitlines()
                     if line.lower().startswith("x-consul-index")))
    watcher = subprocess.Popen(
        ["curl", "-sS", f"http://{addr}/v1/health/service/cache?passing&index={index}&wait=20s"],
        stdout=subprocess.PIPE, text=True)
    r = subprocess.run(["curl", "-sS", "-X", "PUT", "-H", f"X-Consul-Token: {TOKEN}",
                        "-w", "%{http_code}",
                        f"http://{addr}/v1/agent/check/pass/service:cache-1?note=warm"],
                       capture_output=True, text=True)
    assert r.stdout == "200"
    out, _ = watcher.communicate(timeout=15)
    entries = json.loads(out)
    assert [e["Service"]["ID"] for e in entries] == ["cache-1"]
