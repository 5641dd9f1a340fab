"""`pier export`: the Compose file passes `docker-compose config -q` (Debian's docker-compose) and
the Kubernetes manifests pass the Kubernetes schemas (npm's kubernetes-models, with ajv)."""
import os
import subprocess

import yaml

from conftest import PIER, need

K8S = os.path.join(os.path.dirname(__file__), "k8s")

SPEC = """name: shop
services:
  api:
    image: local/api:2
    version: v2
    replicas: 3
    ports: ["8080"]
    env: {LOG: debug}
    resources: {cpu: 0.5, memory: 256mb, pids: 100}
    health: {http: /health, port: 8080, interval: 5s, timeout: 1s, retries: 3, start_period: 2s}
    depends_on: {db: {condition: healthy}}
    calls: [{service: db, timeout: 1s, retries: 1}]
  db:
    command: [postgres]
    ports: ["15432:5432"]
    health: {tcp: 5432}
routes:
  - {host: shop.local, path_prefix: /, service: api, timeout: 5s}
"""


def export(tmp_path, target, *extra):
    spec = tmp_path / "pier.yaml"
    spec.write_text(SPEC)
    r = subprocess.run([PIER, "export", target, str(spec), *extra], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return r


def test_compose_export_passes_docker_compose_config(tmp_path):
    need("docker-compose")
    r = export(tmp_path, "compose")
    out = tmp_path / "compose.yml"
    out.write_text(r.stdout)
    check = subprocess.run(["docker-compose", "-f", str(out), "config", "-q"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    doc = yaml.safe_load(r.stdout)
    assert doc["services"]["api"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert doc["services"]["api"]["deploy"]["resources"]["limits"]["cpus"] == "0.5"
    assert "not expressed: routes: Compose has no HTTP routing" in r.stderr
    assert "services.db: runs a command, not an image" in r.stderr


def test_kubernetes_export_passes_the_schemas(tmp_path):
    need("npm")
    if not os.path.isdir(os.path.join(K8S, "node_modules", "kubernetes-models")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=K8S,
                       check=True, timeout=600)
    r = export(tmp_path, "k8s", "--max-surge", "1", "--max-unavailable", "0")
    check = subprocess.run(["node", os.path.join(K8S, "validate.js")], input=r.stdout,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "valid apps/v1/Deployment api" in check.stdout
    assert "valid v1/Service db" in check.stdout
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(r.stdout) if d}
    strategy = docs[("Deployment", "api")]["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}  # IntOrString
    assert "host port 15432 is not published" in r.stderr
    # A broken manifest fails the same check: the validation is real.
    broken = r.stdout.replace("replicas: 3", "replicas: three")
    bad = subprocess.run(["node", os.path.join(K8S, "validate.js")], input=broken,
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "replicas must be integer" in bad.stderr
