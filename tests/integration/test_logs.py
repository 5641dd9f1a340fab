"""Logs an operator reads with jq, Loki or journald: --log-format json on every server."""
import json
import re
import socket
import time

import redis
import requests

from conftest import Server, run_pier


def test_every_line_of_a_json_log_is_one_object():
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--threads", "2",
                "--log-level", "debug", "--log-format", "json"])
    try:
        for i in range(50):
            c = redis.Redis(*s.addr("resp"))
            c.set(f"k{i}", "é\x01\"quoted\"")
            c.close()
        redis.Redis(*s.addr("resp")).eval("redis.log(redis.LOG_WARNING, 'from a script')", 0)
        # A browser's cross-protocol request: logged as a warning, with the client's address.
        with socket.create_connection(s.addr("resp")) as raw:
            raw.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert raw.recv(100) == b""  # closed without an answer
    finally:
        assert s.stop() == 0
    lines = s.stderr().splitlines()
    assert len(lines) >= 3, lines
    for line in lines:
        entry = json.loads(line)  # raises on a line that is not one JSON object
        assert list(entry)[:5] == ["time", "level", "module", "thread", "message"], entry
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"]), entry
        assert entry["level"] in ("trace", "debug", "info", "warning", "error", "critical")
        assert entry["module"] == "cache"
    entries = [json.loads(line) for line in lines]
    messages = [e["message"] for e in entries]
    ready = next(e for e in entries if e["message"] == "pier cache ready")
    assert ready["resp"] == s.ports["resp"] and ready["http"] == s.ports["http"], ready
    assert ready["threads"] == 2 and ready["policy"] == "noeviction", ready
    attack = next(e for e in entries if "Cross Protocol Scripting" in e["message"])
    assert attack["level"] == "warning" and attack["client"].startswith("127.0.0.1:"), attack
    script = next(e for e in entries if e["message"] == "script log")
    assert script["level"] == "warning" and script["text"] == "from a script", script
    assert messages[-1] == "stopped"


def test_slow_http_requests_are_logged_with_their_fields_and_long_polls_are_not_slow():
    s = Server(["registry", "--http", "127.0.0.1:0", "--log-format", "json",
                "--slow-request-ms", "0.001"])
    try:
        first = requests.get(s.url("/v1/health/service/web"), timeout=5)
        index = first.headers["X-Consul-Index"]
        started = time.monotonic()
        # A blocking query: it waits 300 ms for a change that does not come.
        blocked = requests.get(s.url(f"/v1/health/service/web?index={index}&wait=300ms"),
                               timeout=5)
        assert blocked.status_code == 200 and time.monotonic() - started >= 0.3
    finally:
        assert s.stop() == 0
    slow = [e for e in map(json.loads, s.stderr().splitlines())
            if e["message"] == "slow HTTP request"]
    assert [e["path"] for e in slow] == [
        "/v1/health/service/web", f"/v1/health/service/web?index={index}&wait=300ms"], slow
    for e in slow:
        assert e["level"] == "warning" and e["method"] == "GET" and e["status"] == 200
        assert e["client"].startswith("127.0.0.1:") and e["listener"] == s.ports["http"]
        assert 0 < e["ms"] < 300, e  # the blocking query's wait is not counted


def test_an_unknown_log_format_is_refused():
    r = run_pier("cache", "--listen", "127.0.0.1:0", "--log-format", "xml")
    assert r.returncode == 1
    assert "--log-format: unknown format 'xml' (use text or json)" in r.stderr
