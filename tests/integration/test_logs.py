"""Logs an operator reads with jq, Loki or journald: --log-format json on every server."""
import json
import re
import socket

import redis

from conftest import Server, run_pier


def test_every_line_of_a_json_log_is_one_object():
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--threads", "2",
                "--log-level", "debug", "--log-format", "json"])
    try:
        for i in range(50):
            c = redis.Redis(*s.addr("resp"))
            c.set(f"k{i}", "é\x01\"quoted\"")
            c.close()
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
        assert list(entry) == ["time", "level", "module", "thread", "message"], entry
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"]), entry
        assert entry["level"] in ("trace", "debug", "info", "warning", "error", "critical")
        assert entry["module"] == "cache"
    messages = [json.loads(line)["message"] for line in lines]
    assert any(m.startswith("pier cache ready: resp=") for m in messages), messages
    assert any("Cross Protocol Scripting" in m for m in messages), messages
    assert messages[-1] == "stopped"


def test_an_unknown_log_format_is_refused():
    r = run_pier("cache", "--listen", "127.0.0.1:0", "--log-format", "xml")
    assert r.returncode == 1
    assert "--log-format: unknown format 'xml' (use text or json)" in r.stderr
