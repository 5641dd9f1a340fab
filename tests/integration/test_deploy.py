"""`pier deploy`, `pier rollback` and `pier status` against a running `pier up` (process driver),
with traffic flowing through the proxy the whole time: a canary that fails rolls back by itself,
a good canary is promoted, blue-green switches and switches back, rolling keeps every request
answered and rolls back a version that never becomes healthy, and cgroup limits are applied."""
import signal
import threading
import time

import pytest
import requests

from conftest import pier_up, run_pier


def spec(version="v1", strategy="rolling", extra_update="", error_rate=0.0, command=None,
         resources=""):
    command = command or (f'[pier, demo-service, --listen, "127.0.0.1:${{PORT}}", --name, api, '
                          f'--version, {version}, --error-rate, "{error_rate}"]')
    return f"""name: deploytest
platform: {{proxy: {{listen: 127.0.0.1:0}}}}
services:
  api:
    version: {version}
    command: {command}
    replicas: 2
    health: {{http: /health, interval: 200ms, timeout: 1s, retries: 1}}
    update: {{strategy: {strategy}, progress_deadline: 5s{extra_update}}}
{resources}routes:
  - {{path_prefix: /, service: api, timeout: 5s, retries: 1}}
"""


class Load:
    """Requests through the proxy from a background thread; counts status codes."""

    def __init__(self, url):
        self.url, self.codes, self.stop_flag = url, {}, False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        session = requests.Session()
        while not self.stop_flag:
            try:
                code = session.get(self.url, timeout=5).status_code
            except requests.RequestException:
                code = "error"
            self.codes[code] = self.codes.get(code, 0) + 1

    def stop(self):
        self.stop_flag = True
        self.thread.join()
        return self.codes


@pytest.fixture
def system(tmp_path):
    s = pier_up(tmp_path, spec())
    until(lambda: healthy_count(s) == 2, "both v1 instances healthy")
    yield s
    s.stop(signal.SIGINT)


def until(pred, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)  # polling health checks in other processes
    raise AssertionError(f"timed out waiting for {what}")


def healthy_count(s):
    return len(requests.get(s.url("/v1/health/service/api?passing=1"), timeout=5).json())


def deploy(s, name, text):
    path = s.tmp / name
    path.write_text(text)
    return run_pier("deploy", str(path), "--http", s.ports["http"])


def status(s):
    return requests.get(s.url("/v1/status"), timeout=5).json()["services"][0]


def versions(s):
    return {v["version"]: v["weight"] for v in status(s)["versions"]}


def served_versions(s, n=20):
    return {requests.get(f"http://{s.ports['proxy']}/", timeout=5).json()["version"]
            for _ in range(n)}


def test_a_failing_canary_rolls_back_by_itself(system):
    load = Load(f"http://{system.ports['proxy']}/")
    r = deploy(system, "v2.yaml", spec("v2", "canary", ", steps: [20, 100], step_time: 1s",
                                       error_rate=0.5))
    load.stop()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "canary v2 at 20% of traffic" in r.stdout
    assert "rolling back services.api to v1: at 20%: error rate" in r.stdout
    assert "deploy rolled back: services.api stays on v1" in r.stdout
    assert versions(system) == {"v1": 100}
    assert served_versions(system) == {"v1"}
    st = run_pier("status", "--http", system.ports["http"])
    assert "last deploy: rolled_back" in st.stdout


def test_good_canary_then_blue_green_and_an_instant_rollback_drop_nothing(system):
    load = Load(f"http://{system.ports['proxy']}/")
    r = deploy(system, "v2.yaml", spec("v2", "canary", ", steps: [20, 100], step_time: 1s"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "step 20% passed" in r.stdout and "promoting canary v2; stopping v1" in r.stdout
    assert versions(system) == {"v2": 100}

    r = deploy(system, "v3.yaml", spec("v3", "blue-green"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "switched all traffic to v3; v2 is drained and kept as the standby" in r.stdout
    assert versions(system) == {"v2": 0, "v3": 100}
    assert served_versions(system) == {"v3"}

    r = run_pier("rollback", "--http", system.ports["http"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the blue-green standby: switching back" in r.stdout
    assert "started" not in r.stdout  # nothing new had to start
    assert served_versions(system) == {"v2"}
    codes = load.stop()
    assert set(codes) == {200}, codes
    assert codes[200] > 50


def test_rolling_update_answers_every_request(system):
    load = Load(f"http://{system.ports['proxy']}/")
    r = deploy(system, "v2.yaml", spec("v2", "rolling", ", max_surge: 1, max_unavailable: 0"))
    codes = load.stop()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "api: 2/2 of v2 ready" in r.stdout
    assert versions(system) == {"v2": 100}
    assert set(codes) == {200}, codes
    pier_status = run_pier("status", "--http", system.ports["http"])
    assert pier_status.stdout.count(" v2 ") == 2 and " v1 " not in pier_status.stdout


def test_rolling_to_a_version_that_never_gets_healthy_rolls_back(system):
    broken = '[sh, -c, "echo cannot open the database; sleep 60"]'
    r = deploy(system, "v2.yaml", spec("v2", "rolling", command=broken))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "was not ready within 5 s (its last log line: cannot open the database)" in r.stdout
    assert "deploy rolled back: services.api stays on v1" in r.stdout
    until(lambda: healthy_count(system) == 2, "v1 back at two instances")
    assert versions(system) == {"v1": 100}
    assert served_versions(system) == {"v1"}


def test_deploys_that_cannot_run_are_refused(system):
    r = deploy(system, "same.yaml", spec("v1", error_rate=0.1))
    assert r.returncode == 1
    assert "services.api: changed, but its version is still v1; give it a new version" in r.stdout
    r = deploy(system, "bad.yaml", spec("v2", "sideways"))
    assert r.returncode == 1
    assert "services.api.update.strategy: use rolling, blue-green or canary" in r.stderr
    r = run_pier("rollback", "--http", system.ports["http"])
    assert r.returncode == 1
    assert "nothing to roll back: no deploy yet" in r.stderr


def with_service(text, name, command=None, depends=""):
    """`text` (a spec()) with one more service `name` served under /NAME."""
    command = command or (f'[pier, demo-service, --listen, "127.0.0.1:${{PORT}}", --name, {name}, '
                          f'--version, v1]')
    service = f"""  {name}:
    version: v1
    command: {command}
    replicas: 1
{depends}    health: {{http: /health, interval: 200ms, timeout: 1s, retries: 1}}
    update: {{progress_deadline: 5s}}
"""
    route = f"  - {{path_prefix: /{name}, service: {name}, timeout: 5s}}\n"
    text = text.replace("routes:\n", service + "routes:\n" + route)
    return text


def service_names(s):
    return [x["name"] for x in requests.get(s.url("/v1/status"), timeout=5).json()["services"]]


def test_a_deploy_adds_and_removes_services_without_a_restart(system):
    load = Load(f"http://{system.ports['proxy']}/")
    two = with_service(spec(), "worker", depends="    depends_on: {api: {condition: healthy}}\n")
    r = deploy(system, "add.yaml", two)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "services.worker: new, 1 instances of v1" in r.stdout
    assert "waiting for api to be healthy" in r.stdout
    assert sorted(service_names(system)) == ["api", "worker"]
    worker = requests.get(f"http://{system.ports['proxy']}/worker", timeout=5).json()
    assert worker["service"] == "worker"

    # A new service that never gets healthy is removed again and the rest stays; the same deploy
    # sent again fails the same way (it once killed pier up).
    broken = with_service(two, "broken", command='[sh, -c, "echo no config; sleep 60"]')
    for _ in range(2):
        r = deploy(system, "broken.yaml", broken)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "deploy rolled back: services.broken was not added: broken-v1-" in r.stdout
        assert "(its last log line: no config)" in r.stdout
        assert sorted(service_names(system)) == ["api", "worker"]
    assert system.proc.poll() is None

    r = deploy(system, "remove.yaml", spec())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stopping services.worker" in r.stdout
    assert service_names(system) == ["api"]
    assert requests.get(f"http://{system.ports['proxy']}/worker", timeout=5).json()["service"] == "api"

    r = run_pier("rollback", "--http", system.ports["http"])  # the removed service comes back
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(service_names(system)) == ["api", "worker"]
    codes = load.stop()
    assert set(codes) == {200}, codes


def alive(pid):
    """True while `pid` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_services_die_with_a_killed_pier_up(tmp_path):
    s = pier_up(tmp_path, spec())
    until(lambda: healthy_count(s) == 2, "both v1 instances healthy")
    pids = [int(i["handle"]) for i in status(s)["versions"][0]["instances"]]
    assert len(pids) == 2 and all(alive(p) for p in pids)
    s.proc.kill()  # kill -9: pier cannot stop them itself
    s.proc.wait()
    until(lambda: not any(alive(p) for p in pids), "the instances to die with pier up", 10)


def test_process_limits_go_into_a_cgroup(tmp_path):
    s = pier_up(tmp_path, spec(resources="    resources: {cpu: 0.5, memory: 64mb, pids: 50}\n")
                .replace("    replicas: 2\n", "    replicas: 1\n"))
    try:
        started = next(l for l in s.lines if l.startswith("started api-v1-1"))
        inst = status(s)["versions"][0]["instances"][0]
        if "not applied" in inst["limits"] or not inst["limits"].startswith("cgroup"):
            pytest.skip(f"this machine does not allow cgroup limits: {inst['limits']}")
        assert "limits cgroup v" in started
        pid = int(inst["handle"])
        cgroups = dict(l.strip().split(":", 2)[1:] for l in open(f"/proc/{pid}/cgroup"))
        if inst["limits"].startswith("cgroup v1"):
            mem = f"/sys/fs/cgroup/memory{cgroups['memory']}/memory.limit_in_bytes"
            assert cgroups["memory"].endswith("/pier/api-v1-1")
            assert open(mem).read().strip() == str(64 << 20)
            assert open(f"/sys/fs/cgroup/pids{cgroups['pids']}/pids.max").read().strip() == "50"
            cpu = f"/sys/fs/cgroup/cpu{cgroups['cpu']}/cpu.cfs_quota_us"
            assert open(cpu).read().strip() == "50000"
        else:
            base = f"/sys/fs/cgroup{cgroups['']}"
            assert open(f"{base}/memory.max").read().strip() == str(64 << 20)
    finally:
        s.stop(signal.SIGINT)
