"""The proxy's access log: one line per request (retried and failed ones included), JSON or
Apache's combined format, reopened on SIGUSR1 after a rotation without losing a line."""
import json
import re
import signal

import requests

from test_proxy import backends, proxy, until  # noqa: F401 (fixtures)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_json_access_log_has_a_line_per_request_with_upstream_and_retries(
        backends, proxy, tmp_path):  # noqa: F811
    bad, good = backends("bad", "good")
    bad.control(status=503)
    log = tmp_path / "access.log"
    s = proxy(f"""listeners:
  - name: web
    listen: 127.0.0.1:0
    access_log: {{path: {log}, format: json}}
    routes:
      - match: {{path_prefix: /app/}}
        cluster: app
        retries: {{max: 1, on: [503]}}
clusters:
  app:
    endpoints: ["{bad.addr}", "{good.addr}"]
""")
    url = f"http://{s.ports['web']}"
    with requests.Session() as c:
        for i in range(4):
            r = c.get(f"{url}/app/{i}?q=1", headers={
                "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01", "User-Agent": "test/1"})
            assert r.status_code == 200
        # A POST is not retried: whichever host it reached answered it.
        posted = c.post(f"{url}/app/post", data=b"x" * 1000).status_code
        assert c.get(f"{url}/nowhere").status_code == 404
    s.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 6
    gets, post, missing = lines[:4], lines[4], lines[5]
    for i, e in enumerate(gets):
        assert e["method"] == "GET" and e["path"] == f"/app/{i}?q=1"
        assert e["status"] == 200 and e["upstream"] == good.addr
        assert e["listener"] == "web" and e["cluster"] == "app" and e["route"] == "/app/"
        assert e["trace_id"] == TRACE and e["user_agent"] == "test/1"
        assert e["client"].startswith("127.0.0.1:") and e["authority"] == s.ports["web"]
        assert e["bytes_out"] > 0 and e["duration_ms"] >= e["upstream_response_ms"] >= 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["time"])
    # Round robin sends requests to the failing host first: each of those retried on the other.
    assert 1 in [e["retries"] for e in gets] and {e["retries"] for e in gets} <= {0, 1}
    assert post["bytes_in"] > 1000 and post["status"] == posted and post["retries"] == 0
    assert post["upstream"] == (good.addr if posted == 200 else bad.addr)
    assert missing["status"] == 404 and missing["upstream"] == "" and missing["cluster"] == ""
    assert missing["error"] == "no route for host '127.0.0.1' and path '/nowhere'"
    assert missing["upstream_connect_ms"] is None


def test_combined_log_reopens_on_sigusr1_without_losing_a_line(backends, proxy, tmp_path):  # noqa: F811
    (a,) = backends("a")
    log = tmp_path / "access.log"
    s = proxy(f"""listeners:
  - name: web
    listen: 127.0.0.1:0
    access_log: {{path: {log}, format: combined}}
    routes: [{{cluster: app}}]
clusters:
  app: {{endpoints: ["{a.addr}"]}}
""")
    url = f"http://{s.ports['web']}"
    with requests.Session() as c:
        for i in range(25):
            assert c.get(f"{url}/before/{i}", headers={"Referer": "http://r/"}).ok
        log.rename(tmp_path / "access.log.1")  # as logrotate does
        s.proc.send_signal(signal.SIGUSR1)
        until(log.exists, what="the access log reopened")
        for i in range(25):
            assert c.get(f"{url}/after/{i}").ok
    s.stop()
    old = (tmp_path / "access.log.1").read_text().splitlines()
    new = log.read_text().splitlines()
    assert len(old) + len(new) == 50
    assert all("/after/" in line for line in new) and len(new) >= 1
    pattern = (r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
               r'"GET /(before|after)/\d+ HTTP/1\.1" 200 \d+ "(http://r/|-)" "python-requests/[^"]+"')
    for line in old + new:
        assert re.fullmatch(pattern, line), line


def test_a_template_log_of_errors_only(backends, proxy, tmp_path):  # noqa: F811
    ok, failing = backends("ok", "failing")
    failing.control(status=500)
    log = tmp_path / "errors.log"
    s = proxy(f"""listeners:
  - name: web
    listen: 127.0.0.1:0
    access_log:
      path: {log}
      format: '$status $method $path upstream=$upstream retries=$retries error="$error"'
      errors_only: true
    routes:
      - {{match: {{path_prefix: /ok/}}, cluster: ok}}
      - {{match: {{path_prefix: /bad/}}, cluster: failing}}
clusters:
  ok: {{endpoints: ["{ok.addr}"]}}
  failing: {{endpoints: ["{failing.addr}"]}}
""")
    url = f"http://{s.ports['web']}"
    with requests.Session() as c:
        for i in range(5):
            assert c.get(f"{url}/ok/{i}").status_code == 200
        assert c.get(f"{url}/bad/1").status_code == 500
        assert c.get(f"{url}/nowhere").status_code == 404  # pier's own answer: an error
        assert c.get(f"{url}/ok/last").status_code == 200
    s.stop()
    assert log.read_text().splitlines() == [
        f'500 GET /bad/1 upstream={failing.addr} retries=0 error="-"',
        "404 GET /nowhere upstream=- retries=0 "
        "error=\"no route for host '127.0.0.1' and path '/nowhere'\""]
