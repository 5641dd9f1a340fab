"""The dashboard at /ui in headless Chromium (Debian's, driven by npm's playwright-core): it loads
without console errors and shows each panel with live data from a running `pier up` with every
module (services, proxy, cache, queue), whose /metrics promtool accepts, and stays usable
with 1,000 instances. Screenshots go to
build/artifacts/ (CI keeps them)."""
import json
import os
import shutil
import subprocess

import pytest
import redis
import requests

from conftest import AUTH, Server, pier_up
from test_deploy import Load, until

UI = os.path.join(os.path.dirname(__file__), "ui")
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "..", "build", "artifacts")


def browse(url, name, *extra):
    if shutil.which("node") is None or not os.path.exists("/usr/bin/chromium"):
        pytest.fail("needs node and chromium (scripts/install-deps test installs them)")
    if not os.path.isdir(os.path.join(UI, "node_modules", "playwright-core")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=UI,
                       check=True, timeout=600)
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, name)
    r = subprocess.run(["node", os.path.join(UI, "check.js"), url, shot, *extra],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert os.path.getsize(shot) > 10000
    return json.loads(r.stdout)


SPEC = """name: dash
platform:
  proxy: {listen: 127.0.0.1:0}
  resp: 127.0.0.1:0
  cache: {policy: allkeys-lru, memory: 1mb}
  queue: {topics: [orders]}
services:
  api:
    command: [pier, demo-service, --listen, "127.0.0.1:${PORT}", --name, api]
    replicas: 3
    health: {http: /health, interval: 500ms, timeout: 1s, retries: 1}
routes:
  - {path_prefix: /, service: api}
"""


def test_dashboard_shows_every_panel_live_from_pier_up(tmp_path):
    s = pier_up(tmp_path, SPEC)
    try:
        until(lambda: len(requests.get(s.url("/v1/health/service/api?passing=1"),
                                       timeout=5).json()) == 3, "three healthy instances")
        load = Load(f"http://{s.ports['proxy']}/")
        host, port = s.ports["resp"].rsplit(":", 1)
        r = redis.Redis(host=host, port=int(port))
        for i in range(3000):
            r.set(f"k{i}", "x" * 100)
            r.get(f"k{i // 2}")
        requests.post(s.url("/v1/queue/topics/orders/publish"), json={"messages": [{"payload": "a"}]},
                      headers=AUTH, timeout=5)
        until(lambda: "proxy.p99_ms" in requests.get(s.url("/perf/snapshot"), timeout=5)
              .json()["series"], "the analyzer's first proxy window")
        rep = browse(s.url("/ui"), "dashboard.png")
        load.stop()
        # promtool accepts /metrics with every module running in one process.
        metrics = requests.get(s.url("/metrics"), timeout=5).text
        for family in ("pier_proxy_requests_total", "pier_cache_commands_total",
                       "pier_queue_published_total", "pier_registry_instances"):
            assert family in metrics
        check = subprocess.run(["promtool", "check", "metrics"], input=metrics,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        s.stop()
    assert rep["errors"] == [], rep["errors"]
    p = rep["panels"]
    for panel in ("p-charts", "p-suggestions", "p-topology", "p-proxy", "p-cache", "p-queue"):
        assert p[panel]["shown"], panel
    assert "api" in p["p-topology"]["text"] and "3/3 passing" in p["p-topology"]["text"]
    assert "api@v1" in p["p-proxy"]["text"]
    assert "hit ratio" in p["p-cache"]["text"] and "allkeys-lru" in p["p-cache"]["text"]
    assert "orders" in p["p-queue"]["text"]
    assert "proxy.rps" in rep["legend"] and "proxy.p99_ms" in rep["legend"]
    assert rep["dots"] == 3
    assert rep["score"].isdigit()


def test_dashboard_stays_usable_at_a_thousand_instances(tmp_path):
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
    try:
        rep = browse(s.url("/ui"), "dashboard-1000.png", "--instances", "1000")
    finally:
        s.stop()
    assert rep["errors"] == [], rep["errors"]
    assert rep["dots"] == 1000
    assert "900/900 passing" not in rep["panels"]["p-topology"]["text"]  # 10 are critical
    assert "v2 · weight 10" in rep["panels"]["p-topology"]["text"]
