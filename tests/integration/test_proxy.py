"""`pier proxy` end to end: real backends (tests/integration/backend.py processes), curl,
requests, a WebSocket client, and the faults the proxy exists for."""
import concurrent.futures
import json
import os
import signal
import subprocess
import time

import pytest
import requests
import websocket

from conftest import AUTH, Server, consul_client, free_port, need, run_pier

BACKEND = os.path.join(os.path.dirname(__file__), "backend.py")


class Backend:
    def __init__(self, name, port=None):
        self.name, self.port = name, port or free_port()
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", BACKEND, str(self.port), self.name],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def control(self, **state):
        requests.post(f"http://127.0.0.1:{self.port}/control", json=state, timeout=5)

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def backends():
    made = []

    def make(*names):
        out = [Backend(n) for n in names]
        made.extend(out)
        return out

    yield make
    for b in made:
        if b.proc.poll() is None:
            b.kill()


@pytest.fixture
def proxy(tmp_path):
    started = []

    def start(config, *extra):
        path = tmp_path / "proxy.yaml"
        path.write_text(config)
        s = Server(["proxy", "--config", str(path), "--http", "127.0.0.1:0", "--log-level",
                    "warn", *extra])
        s.config_path = path
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def until(pred, timeout=20, what="condition"):
    """Polls pred() (state another process reaches) until true or the deadline passes."""
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)  # polling another process's state, not waiting out a timer
    raise AssertionError(f"timed out waiting for {what}")


def hosts(s, cluster="app"):
    cs = requests.get(s.url("/v1/proxy/clusters"), timeout=5).json()
    return {h["address"]: h for c in cs if c["name"] == cluster for h in c["hosts"]}


def config(*addrs, extra_cluster="", route_extra="", listener_extra=""):
    eps = ", ".join(f'"{a}"' for a in addrs)
    return f"""listeners:
  - name: web
    listen: 127.0.0.1:0
{listener_extra}    routes:
      - cluster: app
{route_extra}clusters:
  app:
    endpoints: [{eps}]
{extra_cluster}"""


def test_one_liner_balances_and_rewrites_headers(backends, start_pier):
    a, b = backends("a", "b")
    s = start_pier("proxy", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--to",
                   f"{a.addr},{b.addr}")
    url = f"http://{s.ports['proxy']}"
    seen = []
    for _ in range(6):
        out = subprocess.run(["curl", "-sf", "-H", "Connection: keep-alive, X-Private",
                              "-H", "X-Private: secret", "-H", "X-Forwarded-For: 10.1.1.1",
                              f"{url}/hello?x=1"], capture_output=True, text=True, check=True)
        j = json.loads(out.stdout)
        seen.append(j["backend"])
        assert j["path"] == "/hello?x=1"
        assert j["headers"]["x-forwarded-for"] == "10.1.1.1, 127.0.0.1"
        assert j["headers"]["x-forwarded-proto"] == "http"
        assert "x-private" not in j["headers"]  # named by Connection: hop-by-hop
        assert j["headers"]["host"] == s.ports["proxy"]
    assert seen.count("a") == 3 and seen.count("b") == 3  # round robin


def test_bodies_stream_both_ways_chunked_and_sized(backends, proxy, tmp_path):
    (a,) = backends("a")
    s = proxy(config(a.addr))
    url = f"http://{s.ports['web']}"
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(3 << 20))
    import hashlib
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    for extra in ([], ["-H", "Transfer-Encoding: chunked"]):
        out = subprocess.run(["curl", "-sf", "-T", str(blob), *extra, f"{url}/upload"],
                             capture_output=True, text=True, check=True)
        j = json.loads(out.stdout)
        assert j["body_length"] == 3 << 20 and j["body_sha256"] == digest
    r = requests.get(f"{url}/big?bytes={20 << 20}", timeout=30)
    assert r.status_code == 200 and len(r.content) == 20 << 20
    assert r.content[:512] == bytes(range(256)) * 2
    # HTTP/1.0 client: the chunked response is de-chunked and the connection closes.
    out = subprocess.run(["curl", "-s0", "-D", "-", f"{url}/big?bytes=1000"], capture_output=True,
                         check=True).stdout
    head, body = out.split(b"\r\n\r\n", 1)
    assert b"chunked" not in head.lower() and len(body) == 1000


def test_limits_answer_431_413_and_400(backends, proxy):
    (a,) = backends("a")
    s = proxy(config(a.addr, listener_extra="""    max_header_bytes: 4096
    max_body_bytes: 1000
"""))
    url = f"http://{s.ports['web']}"
    r = requests.get(url + "/", headers={"X-Big": "v" * 5000}, timeout=5)
    assert r.status_code == 431 and "exceeds 4096 bytes" in r.text
    r = requests.post(url + "/", data=b"x" * 2000, timeout=5)
    assert r.status_code == 413 and "2000 bytes exceeds the limit of 1000" in r.text
    r = requests.get(url + "/", headers={"Transfer-Encoding": "chunked", "Content-Length": "1"},
                     timeout=5)
    assert r.status_code == 400 and "Transfer-Encoding and Content-Length" in r.text
    assert requests.get(url + "/", timeout=5).json()["backend"] == "a"  # unaffected


def test_502_503_504_name_the_upstream(backends, proxy):
    (slow,) = backends("slow")
    dead = free_port()
    s = proxy(f"""listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - match: {{path_prefix: /dead/}}
        cluster: dead
        retries: {{max: 0}}
      - match: {{path_prefix: /slow/}}
        cluster: slow
        timeout: 300ms
        retries: {{max: 0}}
clusters:
  dead:
    endpoints: ["127.0.0.1:{dead}"]
    outlier: {{consecutive_gateway_failures: 0}}
  slow:
    endpoints: ["{slow.addr}"]
""")
    url = f"http://{s.ports['web']}"
    r = requests.get(url + "/dead/x", timeout=5)
    assert r.status_code == 502
    assert f"upstream 127.0.0.1:{dead} (cluster 'dead') failed: connect:" in r.text
    assert "refused" in r.text
    slow.control(delay_ms=2000)
    r = requests.get(url + "/slow/x", timeout=5)
    assert r.status_code == 504 and f"upstream {slow.addr} (cluster 'slow') timed out" in r.text
    r = requests.get(url + "/other", timeout=5)
    assert r.status_code == 404 and "no route for host '127.0.0.1' and path '/other'" in r.text
    slow.kill()
    s2 = proxy(f"""listeners:
  - name: web
    listen: 127.0.0.1:0
    routes: [{{cluster: svc}}]
registry: 127.0.0.1:{free_port()}
clusters:
  svc: {{service: nothing}}
""")
    r = requests.get(f"http://{s2.ports['web']}/", timeout=5)
    assert r.status_code == 503 and "no healthy instances of service 'nothing'" in r.text


def test_websocket_upgrade_is_tunnelled(backends, proxy):
    (a,) = backends("a")
    s = proxy(config(a.addr))
    ws = websocket.create_connection(f"ws://{s.ports['web']}/ws", timeout=5)
    for msg in ("hello", "x" * 300):
        ws.send(msg)
        assert ws.recv() == f"a:{msg}"
    ws.close()


def load(url, n, workers=4):
    """n GETs from `workers` keep-alive sessions; returns (backend names, error count)."""
    def run(k):
        names, errors = [], 0
        with requests.Session() as sess:
            for _ in range(k):
                try:
                    r = sess.get(url, timeout=5)
                    if r.status_code == 200:
                        names.append(r.json()["backend"])
                    else:
                        errors += 1
                except requests.RequestException:
                    errors += 1
        return names, errors
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        results = list(ex.map(run, [n // workers] * workers))
    return [x for r in results for x in r[0]], sum(r[1] for r in results)


def test_killed_backend_is_ejected_and_returns_after_restart(backends, proxy):
    a, b = backends("a", "b")
    s = proxy(config(a.addr, b.addr, extra_cluster="""    outlier: {consecutive_gateway_failures: 2, base_ejection: 1s, max_ejection_percent: 50}
"""))
    url = f"http://{s.ports['web']}/x"
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(load, url, 400)
        until(lambda: hosts(s)[b.addr]["requests"] > 20, what="load on b")
        b.kill()
        names, errors = fut.result()
    # GETs that hit the dead host are retried on the other one: the killed backend costs at
    # most the requests that were inside it when it died.
    assert errors <= 4, errors
    h = hosts(s)
    assert h[b.addr]["gateway_failures"] >= 2
    assert h[b.addr]["outlier"]["ejections"] >= 1
    names, errors = load(url, 40)
    assert errors == 0 and set(names) == {"a"}
    b.start()  # same port
    until(lambda: "b" in load(url, 8)[0], what="traffic back on the restarted backend")


def test_slow_backend_trips_breaker_and_half_open_recovers(backends, proxy):
    a, b = backends("a", "b")
    s = proxy(config(a.addr, b.addr, extra_cluster="""    breaker: {slow_call: 150ms, slow_call_rate: 50, minimum_calls: 4, window_size: 8, wait_in_open: 1s, half_open_calls: 2}
    outlier: {consecutive_5xx: 0, consecutive_gateway_failures: 0}
"""))
    url = f"http://{s.ports['web']}/x"
    b.control(delay_ms=300)

    def state_under_load():
        load(url, 8)
        return hosts(s)[b.addr]["breaker"]["state"]

    until(lambda: state_under_load() == "open", what="b's breaker to open")
    names, errors = load(url, 40)
    assert errors == 0 and set(names) == {"a"}  # b is skipped while open
    b.control(delay_ms=0)
    until(lambda: state_under_load() == "closed", what="half-open probes to close b's breaker")
    assert "b" in load(url, 8)[0]
    metrics = requests.get(s.url("/metrics"), timeout=5).text
    assert 'pier_proxy_breaker_transitions_total{cluster="app",host="%s",to="open"}' % b.addr \
        in metrics


def test_registry_membership_changes_apply_without_restart(backends, proxy, start_pier, tmp_path):
    import consul
    a, b, c = backends("a", "b", "c")
    reg = start_pier("registry", "--http", "127.0.0.1:0", "--data-dir", str(tmp_path / "reg"))
    host, port = reg.addr("http")
    cl = consul_client(host, port)
    for bk in (a, b):
        cl.agent.service.register("web", service_id=f"web-{bk.name}", address="127.0.0.1",
                                  port=bk.port)
    s = proxy(f"""listeners:
  - name: web
    listen: 127.0.0.1:0
    routes: [{{cluster: app}}]
registry: {host}:{port}
clusters:
  app: {{service: web}}
""")
    url = f"http://{s.ports['web']}/x"
    until(lambda: set(load(url, 8, 2)[0]) == {"a", "b"}, what="both registered backends")
    cl.agent.service.deregister("web-a")
    cl.agent.service.register("web", service_id="web-c", address="127.0.0.1", port=c.port)
    until(lambda: set(load(url, 12, 2)[0]) == {"b", "c"}, what="membership change")


def test_reload_keeps_connections_and_rejects_a_bad_file(backends, proxy):
    a, b = backends("a", "b")
    s = proxy(config(a.addr))
    url = f"http://{s.ports['web']}"
    sess = requests.Session()  # one keep-alive connection throughout
    assert sess.get(url + "/x", timeout=5).json()["backend"] == "a"
    s.config_path.write_text(f"""listeners:
  - name: web
    listen: 127.0.0.1:0   # unchanged: the bound listener is kept
    routes:
      - match: {{path_prefix: /b/}}
        cluster: bee
      - cluster: app
clusters:
  app: {{endpoints: ["{a.addr}"]}}
  bee: {{endpoints: ["{b.addr}"]}}
""")
    s.proc.send_signal(signal.SIGHUP)
    until(lambda: "bee" in requests.get(s.url("/v1/proxy/config"), timeout=5).text,
          what="the reload")
    assert sess.get(url + "/b/1", timeout=5).json()["backend"] == "b"
    assert sess.get(url + "/x", timeout=5).json()["backend"] == "a"
    s.config_path.write_text("listeners:\n  - name: web\n    routes: []\n")
    r = requests.post(s.url("/v1/proxy/reload"), headers=AUTH, timeout=5)
    assert r.status_code == 400 and "proxy.yaml:3" in r.json()["error"]
    assert sess.get(url + "/b/1", timeout=5).json()["backend"] == "b"  # the old config runs


def test_tcp_mode_tunnels_and_skips_a_dead_host(backends, start_pier):
    a, b = backends("a", "b")
    dead = free_port()
    s = start_pier("proxy", "--mode", "tcp", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                   "--to", f"127.0.0.1:{dead},{a.addr},{b.addr}")
    url = f"http://{s.ports['proxy']}/x"
    names = set()
    for _ in range(6):
        r = requests.get(url, timeout=5, headers={"Connection": "close"})
        names.add(r.json()["backend"])
    assert names == {"a", "b"}


def test_half_closed_tunnel_to_a_silent_upstream_closes_after_the_idle_timeout(start_pier):
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    s = start_pier("proxy", "--mode", "tcp", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                   "--to", "127.0.0.1:%d" % silent.getsockname()[1], "--idle-timeout", "0.5")
    host, port = s.addr("proxy")
    c = socket.create_connection((host, port), timeout=10)
    c.sendall(b"hello")
    upstream, _ = silent.accept()
    assert upstream.recv(5) == b"hello"
    c.shutdown(socket.SHUT_WR)  # the client is done; the upstream never answers or closes
    assert upstream.recv(1) == b""  # the half-close reached it
    t0 = time.time()
    assert c.recv(1) == b""  # the proxy closed the tunnel rather than hold it forever
    assert time.time() - t0 < 8
    c.close()
    upstream.close()
    silent.close()


def test_proxy_metrics_pass_promtool(backends, proxy):
    need("promtool")
    (a,) = backends("a")
    s = proxy(config(a.addr))
    requests.get(f"http://{s.ports['web']}/x", timeout=5)
    text = requests.get(s.url("/metrics"), timeout=5).text
    assert 'pier_proxy_requests_total{listener="web",route="/"} 1' in text
    assert 'pier_proxy_upstream_responses_total{cluster="app",host="%s",code="2xx"} 1' % a.addr \
        in text
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stderr


def test_bad_config_is_an_error_with_file_and_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("listeners:\n  - name: web\n    routes:\n      - cluster: nope\n")
    r = run_pier("proxy", "--config", str(path))
    assert r.returncode == 1
    assert f"{path}:4" in r.stderr and "unknown cluster 'nope'" in r.stderr
    r = run_pier("proxy", "--to", "nohost")
    assert r.returncode == 1 and "--to" in r.stderr
