"""The command line: help, version, bad flags, exit codes, and `pier cache-sim`."""
import csv
import http.server
import io
import pathlib
import subprocess
import threading

from conftest import Server, run_pier


def test_version_and_help():
    r = run_pier("--version")
    assert r.returncode == 0 and r.stdout.startswith("pier ")
    # The build's git revision, when it was built from a git checkout (as CI's clone).
    root = pathlib.Path(__file__).resolve().parents[2]
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                          capture_output=True, text=True)
    expected = head.stdout.strip() if head.returncode == 0 else "unknown"
    assert r.stdout.strip().endswith(f"(git {expected})"), r.stdout
    for cmd in ([], ["cache"], ["cache-sim"]):
        r = run_pier(*cmd, "--help")
        assert r.returncode == 0, r.stderr
        assert "--help" in r.stdout


def test_health_exits_0_only_when_the_server_answers_200():
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
    r = run_pier("health", "--http", s.ports["http"])
    assert r.returncode == 0 and '"status":"ok"' in r.stdout, r.stderr
    assert s.stop() == 0
    r = run_pier("health", "--http", s.ports["http"], "--timeout", "2")
    assert r.returncode == 2 and r.stderr.startswith(f"pier health: {s.ports['http']}"), r.stderr

    class Sick(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"draining\n")

        def log_message(self, *args):
            pass

    sick = http.server.HTTPServer(("127.0.0.1", 0), Sick)
    threading.Thread(target=sick.serve_forever, daemon=True).start()
    try:
        where = f"127.0.0.1:{sick.server_address[1]}"
        r = run_pier("health", "--http", where)
        assert r.returncode == 2 and r.stdout == "draining\n", r.stdout
        assert f"{where}/health answered HTTP 503" in r.stderr, r.stderr
    finally:
        sick.shutdown()


def test_unknown_flag_is_rejected_with_exit_code_1():
    r = run_pier("cache-sim", "--polcies", "lru")
    assert r.returncode == 1
    assert "--polcies" in r.stderr


def test_no_subcommand_is_an_error():
    r = run_pier()
    assert r.returncode == 1
    assert "subcommand" in r.stderr.lower()


def test_cache_sim_csv_table():
    r = run_pier("cache-sim", "--trace", "zipf:1.0", "--trace", "loop", "--objects", "2000",
                 "--requests", "50000", "--sizes", "1%,10%", "--policies", "lru,s3fifo,wtinylfu",
                 "--csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0].keys()) == ["trace", "policy", "size", "cache_size", "requests", "misses",
                                    "miss_ratio"]
    assert len(rows) == 2 * 3 * 2
    by = {(x["trace"], x["policy"], x["size"]): float(x["miss_ratio"]) for x in rows}
    assert all(0 <= v <= 1 for v in by.values())
    # A loop larger than the cache defeats LRU completely; Zipf is skewed enough to hit often.
    assert by[("loop", "lru", "10%")] == 1.0
    assert by[("zipf:1.0", "lru", "10%")] < 0.6
    # A bigger cache never misses more (for these policies on this trace).
    for p in ("lru", "s3fifo", "wtinylfu"):
        assert by[("zipf:1.0", p, "10%")] <= by[("zipf:1.0", p, "1%")]


def test_cache_sim_json_and_trace_file(tmp_path):
    trace = tmp_path / "keys.txt"
    trace.write_text("a 10\nb 10\na 10\nc 10\na 10\n")
    r = run_pier("cache-sim", "--trace", f"file:{trace}", "--sizes", "2", "--policies", "lru",
                 "--json")
    assert r.returncode == 0, r.stderr
    import json
    rows = json.loads(r.stdout)
    assert rows[0]["misses"] == 3 and rows[0]["requests"] == 5


def test_cache_sim_bad_input_names_the_place(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1\nb notanumber\n")
    r = run_pier("cache-sim", "--trace", f"file:{bad}")
    assert r.returncode == 1
    assert f"{bad}:2: size" in r.stderr
    r = run_pier("cache-sim", "--trace", "zipf:-1")
    assert r.returncode == 1 and "zipf:-1" in r.stderr
    r = run_pier("cache-sim", "--policies", "lru,bogus")
    assert r.returncode == 1 and "unknown eviction policy 'bogus'" in r.stderr
    r = run_pier("cache-sim", "--sizes", "150%")
    assert r.returncode == 1 and "--sizes" in r.stderr


def test_every_server_command_checks_its_security_settings(tmp_path):
    # The security flags come from each command's settings table: a bad value is refused
    # before anything listens, on the command line and in a config file (with file:line).
    for cmd in ("cache", "queue", "registry", "proxy", "up", "demo-service"):
        r = run_pier(cmd, "--protected-mode", "maybe")
        assert r.returncode == 1, (cmd, r.stdout, r.stderr)
        assert "--protected-mode: use yes or no, got 'maybe'" in r.stderr, (cmd, r.stderr)
    for cmd in ("cache", "queue"):
        r = run_pier(cmd, "--tls-auth-clients", "sometimes")
        assert r.returncode == 1 and "--tls-auth-clients: use yes, no or optional" in r.stderr
    conf = tmp_path / "pier.yaml"
    conf.write_text("cache:\n  listen: 127.0.0.1:0\n  metrics-auth: maybe\n")
    r = run_pier("cache", "--config", str(conf))
    assert r.returncode == 1
    assert f"{conf}:3:" in r.stderr and "metrics-auth" in r.stderr, r.stderr
