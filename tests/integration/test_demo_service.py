"""`pier demo-service` behind `pier proxy`: a bad version (every answer 500) is retried away and
ejected, so clients see only the good one."""
import requests



def test_demo_service_answers_with_version_errors_and_health(start_pier):
    s = start_pier("demo-service", "--listen", "127.0.0.1:0", "--version", "v7", "--name", "cart")
    j = requests.get(s.url("/anything"), timeout=5).json()
    assert j == {"service": "cart", "version": "v7", "address": s.ports["http"]}
    assert requests.get(s.url("/health"), timeout=5).status_code == 200
    bad = start_pier("demo-service", "--listen", "127.0.0.1:0", "--error-rate", "1")
    r = requests.get(bad.url("/"), timeout=5)
    assert r.status_code == 500 and "injected failure" in r.json()["error"]


def test_a_failing_version_is_retried_away_and_ejected(start_pier, tmp_path):
    good = start_pier("demo-service", "--listen", "127.0.0.1:0", "--version", "v1")
    bad = start_pier("demo-service", "--listen", "127.0.0.1:0", "--version", "v2",
                     "--error-rate", "1")
    cfg = tmp_path / "proxy.yaml"
    cfg.write_text(f"""listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - cluster: app
        retries: {{max: 2, on: [500], base_backoff: 1ms}}
clusters:
  app:
    endpoints: ["{good.ports['http']}", "{bad.ports['http']}"]
    outlier: {{consecutive_5xx: 3, base_ejection: 1m, max_ejection_percent: 50}}
""")
    proxy = start_pier("proxy", "--config", str(cfg), "--http", "127.0.0.1:0")
    url = f"http://{proxy.ports['web']}/"
    with requests.Session() as sess:
        versions = [sess.get(url, timeout=5).json()["version"] for _ in range(30)]
    assert versions == ["v1"] * 30  # every 500 from v2 was retried on v1
    hosts = {h["address"]: h for c in requests.get(proxy.url("/v1/proxy/clusters"),
                                                   timeout=5).json() for h in c["hosts"]}
    assert hosts[bad.ports["http"]]["ejected"] is True
    assert hosts[bad.ports["http"]]["responses"]["5xx"] == 3  # ejected after three


def test_a_bad_call_url_is_refused_at_start():
    from conftest import run_pier
    r = run_pier("demo-service", "--listen", "127.0.0.1:0", "--call", "ftp://catalog/items")
    assert r.returncode == 1
    assert "--call: give http[s]://HOST:PORT[/PATH], got 'ftp://catalog/items'" in r.stderr
