"""The HTTP admin listener every server has: /health, /metrics (checked by promtool), shutdown."""
import signal
import socket
import subprocess

import requests

from conftest import need, run_pier


def test_health_and_metrics_pass_promtool(start_pier):
    need("promtool")
    s = start_pier("cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
    r = requests.get(s.url("/health"), timeout=5)
    assert r.status_code == 200 and r.json()["status"] == "ok"
    m = requests.get(s.url("/metrics"), timeout=5)
    assert m.status_code == 200
    assert m.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "process_resident_memory_bytes" in m.text
    check = subprocess.run(["promtool", "check", "metrics"], input=m.text, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_unknown_endpoint_is_404_json(start_pier):
    s = start_pier("cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
    r = requests.get(s.url("/nope"), timeout=5)
    assert r.status_code == 404
    assert "no such endpoint" in r.json()["error"]
    r = requests.post(s.url("/health"), timeout=5)
    assert r.status_code == 405


def test_sigterm_shuts_down_cleanly(start_pier):
    s = start_pier("cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
    assert s.stop(signal.SIGTERM) == 0
    s2 = start_pier("cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
    assert s2.stop(signal.SIGINT) == 0


def test_port_in_use_is_an_environment_error():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    r = run_pier("cache", "--listen", "127.0.0.1:0", "--http", f"127.0.0.1:{port}", timeout=20)
    assert r.returncode == 2
    assert f"127.0.0.1:{port}" in r.stderr and "in use" in r.stderr
    taken.close()


def test_bad_listen_address_is_an_input_error():
    r = run_pier("cache", "--http", "localhost:notaport", timeout=20)
    assert r.returncode == 1
    assert "--http" in r.stderr


def test_protected_mode_refuses_open_bind_without_password():
    # Refused before binding: no traffic leaves loopback.
    r = run_pier("cache", "--listen", "0.0.0.0:0", "--http", "127.0.0.1:0", timeout=20)
    assert r.returncode == 1
    assert "protected mode" in r.stderr and "--requirepass" in r.stderr


def test_config_file_flags_win_and_unknown_keys_are_errors(tmp_path, start_pier):
    import redis
    cfg = tmp_path / "pier.yaml"
    cfg.write_text("log-level: warn\ncache:\n  maxmemory: 10mb\n  maxmemory-policy: allkeys-sieve\n"
                   "  listen: 127.0.0.1:1\n")
    s = start_pier("cache", "--config", str(cfg), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
    r = redis.Redis(*s.addr("resp"))
    assert r.config_get("maxmemory")["maxmemory"] == str(10 * 1024 * 1024)
    assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-sieve"
    bad = tmp_path / "bad.yaml"
    bad.write_text("cache:\n  maxmemory: 10mb\n  maxmemry-policy: allkeys-lru\n")
    out = run_pier("cache", "--config", str(bad), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                   timeout=20)
    assert out.returncode == 1
    assert f"{bad}:3:3: unknown key 'cache.maxmemry-policy'" in out.stderr
    worse = tmp_path / "worse.yaml"
    worse.write_text("cache:\n  maxmemory: lots\n")
    out = run_pier("cache", "--config", str(worse), timeout=20)
    assert out.returncode == 1 and f"{worse}:2:14: cache.maxmemory" in out.stderr
