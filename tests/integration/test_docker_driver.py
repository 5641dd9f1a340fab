"""`pier up --driver docker`: containers through the Docker Engine API with their limits (checked
with `docker inspect`), health-checked by pier and routed through its proxy; then a rolling
update, a blue-green switch and back, and a canary that rolls back. Needs a running dockerd
(scripts/test starts one); the image is imported from a rootfs of busybox-static and pier."""
import json
import os
import shutil
import signal
import subprocess
import tempfile

import pytest
import requests

from conftest import PIER, pier_up, run_pier
from test_deploy import Load, deploy, until

IMAGE = "local/pier-demo:test"
SOCKET = "/var/run/docker.sock"


def docker(*args):
    r = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def image():
    if shutil.which("docker") is None or not os.path.exists(SOCKET):
        pytest.fail("dockerd is not running (scripts/test starts it; see docs/deploy.md)")
    root = tempfile.mkdtemp()
    for d in ("bin", "tmp"):
        os.makedirs(os.path.join(root, d))
    shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
    for tool in ("sh", "wget", "sleep", "cat"):
        os.symlink("busybox", os.path.join(root, "bin", tool))
    subprocess.run(["strip", "-o", os.path.join(root, "bin", "pier"), PIER], check=True)
    libs = subprocess.run(["ldd", PIER], capture_output=True, text=True, check=True).stdout
    for path in (w for w in libs.split() if w.startswith("/")):
        dest = root + path
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(os.path.realpath(path), dest)
    tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "import", "-c", 'CMD ["/bin/sh"]', "-", IMAGE], stdin=tar.stdout,
                   check=True, capture_output=True)
    tar.wait()
    shutil.rmtree(root)
    return IMAGE


def spec(version, strategy="rolling", extra="", error_rate=0.0):
    return f"""name: piertest
platform: {{proxy: {{listen: 127.0.0.1:0}}}}
services:
  api:
    version: {version}
    image: {IMAGE}
    # Inside its container the service listens on every address (Docker publishes the port on
    # loopback); a public bind needs a token or, as here, protected mode off.
    command: [/bin/pier, demo-service, --listen, "0.0.0.0:${{PORT}}", --protected-mode, "no",
              --name, api, --version, {version}, --error-rate, "{error_rate}"]
    ports: ["8080"]
    replicas: 2
    restart: on-failure
    resources: {{cpu: 0.5, memory: 64mb, pids: 64}}
    health: {{http: /health, interval: 300ms, timeout: 1s, retries: 1}}
    update: {{strategy: {strategy}, progress_deadline: 20s{extra}}}
routes:
  - {{path_prefix: /, service: api, timeout: 5s}}
"""


@pytest.fixture
def system(image, tmp_path):
    s = pier_up(tmp_path, spec("v1"), "--driver", "docker")
    until(lambda: len(requests.get(s.url("/v1/health/service/api?passing=1"), timeout=5)
                      .json()) == 2, "both containers healthy")
    yield s
    s.stop(signal.SIGINT, timeout=60)
    assert containers() == []  # Ctrl-C removed them


def containers():
    out = docker("ps", "-a", "--filter", "label=pier.project=piertest", "--format",
                 '{{.Label "pier.version"}}')
    return sorted(out.split())


def test_containers_have_their_limits_labels_and_serve_through_the_proxy(system):
    names = docker("ps", "--filter", "label=pier.project=piertest", "--format",
                   "{{.Names}}").split()
    assert sorted(names) == ["pier-piertest-api-v1-1", "pier-piertest-api-v1-2"]
    info = json.loads(docker("inspect", names[0]))[0]
    host = info["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == 64 << 20
    assert host["PidsLimit"] == 64
    assert host["RestartPolicy"]["Name"] == "on-failure"
    assert host["PortBindings"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"
    assert info["Config"]["Labels"]["pier.service"] == "api"
    r = requests.get(f"http://{system.ports['proxy']}/", timeout=5)
    assert r.status_code == 200 and r.json()["version"] == "v1"
    assert "v1" in requests.get(f"http://{system.ports['proxy']}/", timeout=5).text
    # pier status shows a snapshot at most ~0.5 s old.
    until(lambda: run_pier("status", "--http", system.ports["http"]).stdout.count("passing") == 2,
          "pier status to show both containers passing")
    assert "docker driver" in run_pier("status", "--http", system.ports["http"]).stdout


def test_rolling_then_blue_green_and_back_answer_every_request(system):
    load = Load(f"http://{system.ports['proxy']}/")
    r = deploy(system, "v2.yaml", spec("v2"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert containers() == ["v2", "v2"]
    r = deploy(system, "v3.yaml", spec("v3", "blue-green"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert containers() == ["v2", "v2", "v3", "v3"]  # blue kept as the standby
    r = run_pier("rollback", "--http", system.ports["http"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "switching back" in r.stdout
    codes = load.stop()
    assert set(codes) == {200}, codes
    assert requests.get(f"http://{system.ports['proxy']}/", timeout=5).json()["version"] == "v2"


def test_a_failing_canary_container_rolls_back(system):
    load = Load(f"http://{system.ports['proxy']}/")
    r = deploy(system, "v2.yaml", spec("v2", "canary", ", steps: [20, 100], step_time: 1s",
                                       error_rate=0.5))
    load.stop()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "rolling back services.api to v1: at 20%: error rate" in r.stdout
    assert containers() == ["v1", "v1"]
