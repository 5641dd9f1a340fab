"""`pier validate`: an architecture spec with problems exits 1 and names each one with a fix."""
import json

from conftest import run_pier

GOOD = """name: shop
services:
  api:
    command: [pier, demo-service]
    replicas: 2
    ports: ["80"]
    resources: {cpu: 0.25, memory: 64mb}
    health: {http: /health, port: 80}
    depends_on: {db: {condition: healthy}}
    calls: [{service: db, timeout: 1s, retries: 1}]
  db:
    image: local/db:1
    health: {tcp: 5432}
routes:
  - {host: shop.local, path_prefix: /, service: api, timeout: 5s, retries: 1}
"""


def test_a_good_spec_exits_0(tmp_path):
    f = tmp_path / "pier.yaml"
    f.write_text(GOOD)
    r = run_pier("validate", str(f))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 services, 1 routes, 0 problems" in r.stdout


def test_problems_exit_1_with_where_and_fix(tmp_path):
    f = tmp_path / "pier.yaml"
    f.write_text(GOOD.replace("depends_on: {db:", "depends_on: {dbx:")
                 .replace("cpu: 0.25", "cpu: 1000"))
    r = run_pier("validate", str(f), "--json")
    assert r.returncode == 1
    problems = json.loads(r.stdout)
    fields = {p["field"] for p in problems}
    assert "services.api.depends_on.dbx" in fields
    assert "services.api.resources.cpu" in fields
    assert all(p["fix"] and p["where"].startswith(str(f)) for p in problems)


def test_schema_error_names_line_and_field(tmp_path):
    f = tmp_path / "pier.yaml"
    f.write_text(GOOD.replace("replicas: 2", "replicas: two"))
    r = run_pier("validate", str(f))
    assert r.returncode == 1
    assert f"{f}:5:15: services.api.replicas" in r.stderr
