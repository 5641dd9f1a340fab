"""Safe on a network, end to end: TLS with real clients (redis-cli --tls, redis-py ssl=True,
python-consul over https, curl with --cacert and a client certificate, nginx behind and in
front of pier's proxy), the token on every route (a walk over every route each server
registers), browser defences, limits before AUTH, and protected mode. Certificates are made by
the openssl CLI for each run; no private key is committed."""
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import consul
import pytest
import redis
import requests

from conftest import (AUTH, TOKEN, Server, consul_client, env_without_token, free_port, need,
                      pier_up, run_pier)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def issue(d, ca, name, cn, *, serial):
    """A certificate for `cn` (and localhost, 127.0.0.1) signed by the test CA."""
    key, csr, crt = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.crt"
    if not key.exists():
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", str(key))
    openssl("req", "-new", "-key", str(key), "-out", str(csr), "-subj", f"/CN={cn}")
    ext = d / f"{name}.ext"
    ext.write_text(f"subjectAltName=DNS:{cn},DNS:localhost,IP:127.0.0.1\n"
                   "extendedKeyUsage=serverAuth,clientAuth\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca / "ca.crt"), "-CAkey",
            str(ca / "ca.key"), "-set_serial", str(serial), "-out", str(crt), "-days", "2",
            "-extfile", str(ext))
    return crt, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    need("openssl")
    d = tmp_path_factory.mktemp("certs")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"), "-days", "2",
            "-subj", "/CN=pier test CA")
    issue(d, d, "server", "pier.test", serial=1)
    issue(d, d, "client", "pier-client", serial=2)
    issue(d, d, "other", "other.test", serial=3)
    return d


def rss_bytes(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def loopback(addr):
    """A server bound to 0.0.0.0 is reached on 127.0.0.1 (no traffic leaves loopback)."""
    return "127.0.0.1:" + addr.rsplit(":", 1)[1]


# --- TLS with real clients ----------------------------------------------------------------

@pytest.fixture
def tls_cache(certs):
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--tls-port", "0",
                "--tls-cert-file", str(certs / "server.crt"),
                "--tls-key-file", str(certs / "server.key"),
                "--tls-ca-cert-file", str(certs / "ca.crt")])
    yield s
    s.stop()


def test_redis_cli_and_redis_py_over_tls_with_client_certificates(tls_cache, certs):
    need("redis-cli")
    host, port = tls_cache.addr("tls")
    base = ["redis-cli", "-h", host, "-p", str(port), "--tls", "--cacert", str(certs / "ca.crt")]
    mtls = ["--cert", str(certs / "client.crt"), "--key", str(certs / "client.key")]
    out = subprocess.run(base + mtls + ["set", "greeting", "over tls"], capture_output=True,
                         text=True, timeout=20)
    assert out.stdout.strip() == "OK", out.stderr
    # tls-auth-clients yes (Redis's default): no client certificate, no connection.
    out = subprocess.run(base + ["ping"], capture_output=True, text=True, timeout=20)
    assert "PONG" not in out.stdout
    r = redis.Redis(host=host, port=port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                    ssl_certfile=str(certs / "client.crt"), ssl_keyfile=str(certs / "client.key"))
    assert r.get("greeting") == b"over tls"
    assert r.config_get("tls-port") == {"tls-port": str(port)}
    # The plain port serves the same keyspace.
    plain = redis.Redis(*tls_cache.addr("resp"))
    assert plain.get("greeting") == b"over tls"


def test_https_api_with_curl_and_a_client_certificate(certs):
    need("curl")
    s = Server(["registry", "--http", "127.0.0.1:0", "--data-dir", "",
                "--http-tls", "yes", "--tls-cert-file", str(certs / "server.crt"),
                "--tls-key-file", str(certs / "server.key"),
                "--tls-ca-cert-file", str(certs / "ca.crt"), "--tls-auth-clients", "optional"])
    try:
        url = f"https://localhost:{s.addr('http')[1]}"
        out = subprocess.run(["curl", "-sS", "--cacert", str(certs / "ca.crt"), url + "/health"],
                             capture_output=True, text=True, timeout=20)
        assert json.loads(out.stdout) == {"status": "ok"}, out.stderr
        out = subprocess.run(["curl", "-sS", "--cacert", str(certs / "ca.crt"),
                              "--cert", str(certs / "client.crt"), "--key",
                              str(certs / "client.key"), url + "/v1/catalog/services"],
                             capture_output=True, text=True, timeout=20)
        assert json.loads(out.stdout) == {}, out.stderr
        # Plain HTTP on the TLS port gets nothing useful.
        with pytest.raises(requests.RequestException):
            requests.get(f"http://127.0.0.1:{s.addr('http')[1]}/health", timeout=5)
    finally:
        s.stop()


def test_python_consul_over_https(certs):
    s = Server(["registry", "--http", "127.0.0.1:0", "--data-dir", "",
                "--http-tls", "yes", "--tls-cert-file", str(certs / "server.crt"),
                "--tls-key-file", str(certs / "server.key")])
    try:
        c = consul_client("localhost", s.addr("http")[1], scheme="https",
                          verify=str(certs / "ca.crt"))
        assert c.agent.service.register("api", service_id="api-1", port=9001,
                                        check=consul.Check.ttl("10s"))
        c.agent.check.ttl_pass("service:api-1")
        _, healthy = c.health.service("api", passing=True)
        assert [e["Service"]["ID"] for e in healthy] == ["api-1"]
    finally:
        s.stop()


def test_sighup_reloads_the_certificate_and_keeps_connections(tls_cache, certs):
    host, port = tls_cache.addr("tls")
    r = redis.Redis(host=host, port=port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                    ssl_certfile=str(certs / "client.crt"), ssl_keyfile=str(certs / "client.key"))
    assert r.ping()

    def serial():
        ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        ctx.load_cert_chain(str(certs / "client.crt"), str(certs / "client.key"))
        with socket.create_connection((host, port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                return int(t.getpeercert()["serialNumber"], 16)

    assert serial() == 1
    issue(certs, certs, "server", "pier.test", serial=41)  # same key, a new certificate
    tls_cache.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while serial() != 41:
        assert time.monotonic() < deadline, "the new certificate was not served"
        time.sleep(0.05)  # waiting for the server to take the signal, not for a timer
    assert r.ping()  # the connection made before the reload still works


# --- the proxy: TLS termination in front of nginx, TLS origination to nginx ----------------

@pytest.fixture(scope="module")
def nginx(tmp_path_factory, certs):
    need("nginx")
    d = tmp_path_factory.mktemp("nginx")
    plain, secure, mtls = free_port(), free_port(), free_port()
    temps = " ".join(f"{k}_temp_path {d}/{k};" for k in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (d / "nginx.conf").write_text(f"""
daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off; {temps}
  server {{ listen 127.0.0.1:{plain}; location / {{ return 200 "plain nginx\\n"; }} }}
  server {{ listen 127.0.0.1:{secure} ssl;
           ssl_certificate {certs}/server.crt; ssl_certificate_key {certs}/server.key;
           location / {{ return 200 "tls nginx $ssl_protocol\\n"; }} }}
  server {{ listen 127.0.0.1:{mtls} ssl;
           ssl_certificate {certs}/server.crt; ssl_certificate_key {certs}/server.key;
           ssl_client_certificate {certs}/ca.crt; ssl_verify_client on;
           location / {{ return 200 "client $ssl_client_s_dn\\n"; }} }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(d / "nginx.conf"), "-p", str(d)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for port in (plain, secure, mtls):
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)  # waiting for nginx to listen, not for a timer
    yield {"plain": plain, "secure": secure, "mtls": mtls}
    proc.terminate()
    proc.wait(timeout=10)


def test_proxy_terminates_tls_in_front_of_nginx_and_originates_tls_to_it(tmp_path, certs, nginx):
    need("curl")
    cfg = tmp_path / "proxy.yaml"
    cfg.write_text(f"""
listeners:
  - name: edge
    listen: 127.0.0.1:0
    tls:
      cert: {certs}/server.crt
      key: {certs}/server.key
      sni: [{{names: [other.test], cert: {certs}/other.crt, key: {certs}/other.key}}]
    routes:
      - {{match: {{path_prefix: /plain}}, cluster: plain}}
      - {{match: {{path_prefix: /mtls}}, cluster: mtls}}
      - {{match: {{path_prefix: /untrusted}}, cluster: untrusted}}
      - {{cluster: secure}}
clusters:
  plain: {{endpoints: ["127.0.0.1:{nginx['plain']}"]}}
  secure:
    endpoints: ["127.0.0.1:{nginx['secure']}"]
    tls: {{ca: {certs}/ca.crt, server_name: localhost}}
  mtls:
    endpoints: ["127.0.0.1:{nginx['mtls']}"]
    tls: {{ca: {certs}/ca.crt, cert: {certs}/client.crt, key: {certs}/client.key}}
  untrusted:
    endpoints: ["127.0.0.1:{nginx['secure']}"]
    tls: {{ca: {certs}/client.crt}}
    outlier: {{enabled: false}}
""")
    s = Server(["proxy", "--config", str(cfg), "--http", "127.0.0.1:0",
                "--data-dir", str(tmp_path / "data")])
    try:
        port = s.addr("edge")[1]

        def curl(path, host="localhost"):
            out = subprocess.run(["curl", "-sS", "--cacert", str(certs / "ca.crt"), "--resolve",
                                  f"{host}:{port}:127.0.0.1", f"https://{host}:{port}{path}"],
                                 capture_output=True, text=True, timeout=20)
            return out.stdout + out.stderr

        assert curl("/plain") == "plain nginx\n"
        assert curl("/x").startswith("tls nginx TLSv1.")
        assert curl("/mtls") == "client CN=pier-client\n"
        bad = curl("/untrusted")
        assert "certificate verify failed" in bad, bad
        # SNI picks the certificate.
        ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="other.test") as t:
                assert dict(x[0] for x in t.getpeercert()["subject"])["commonName"] == "other.test"
        assert curl("/plain", host="other.test") == "plain nginx\n"
    finally:
        s.stop()


def test_proxy_closes_slow_heads_and_caps_connections_per_client(tmp_path):
    backend = free_port()
    cfg = tmp_path / "proxy.yaml"
    cfg.write_text(f"""
listeners:
  - name: web
    listen: 127.0.0.1:0
    request_header_timeout: 300ms
    max_connections_per_client: 3
    routes: [{{cluster: app}}]
clusters:
  app: {{endpoints: ["127.0.0.1:{backend}"]}}
""")
    s = Server(["proxy", "--config", str(cfg), "--http", "127.0.0.1:0",
                "--data-dir", str(tmp_path / "data")])
    try:
        addr = s.addr("web")
        slow = socket.create_connection(addr, timeout=10)
        slow.sendall(b"GET / HTTP/1.1\r\nX-Trickle: 1\r\n")  # and never the rest
        assert slow.recv(100) == b""  # closed by the proxy once the head's time ran out
        held = [socket.create_connection(addr, timeout=10) for _ in range(3)]
        extra = socket.create_connection(addr, timeout=10)
        assert extra.recv(100) == b""  # the fourth from this address is closed at once
        for c in held + [extra, slow]:
            c.close()
    finally:
        s.stop()


# --- the token on every route, and the browser defences --------------------------------------

SPEC = """name: sec
platform:
  proxy: {listen: 127.0.0.1:0}
services:
  api:
    command: [pier, demo-service, --listen, "127.0.0.1:${PORT}", --name, api]
    health: {http: /health, interval: 300ms, timeout: 1s, retries: 1}
routes:
  - {path_prefix: /, service: api}
"""


def every_server(tmp_path, http, extra=()):
    """One of each server kind on `http`, with its HTTP API's name."""
    return [
        ("cache", Server(["cache", "--listen", "127.0.0.1:0", "--http", http, "--queue", "yes",
                          "--data-dir", str(tmp_path / "cache"), *extra])),
        ("queue", Server(["queue", "--listen", "127.0.0.1:0", "--http", http,
                          "--data-dir", str(tmp_path / "queue"), *extra])),
        ("registry", Server(["registry", "--http", http, "--data-dir", str(tmp_path / "reg"),
                             *extra])),
        ("proxy", Server(["proxy", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1",
                          "--http", http, "--data-dir", str(tmp_path / "proxy"), *extra])),
    ]


def walk(base, routes, headers=None):
    """Calls every route once; yields (route, status)."""
    for r in routes:
        path = r["path"] + ("x" if r["prefix"] else "")
        res = requests.request(r["method"], base + path, data="{}", timeout=10,
                               headers={"Content-Type": "application/json", **(headers or {})})
        yield r, res.status_code


def test_every_mutating_route_needs_the_token(tmp_path):
    servers = every_server(tmp_path, "127.0.0.1:0")
    up = pier_up(tmp_path, SPEC)
    try:
        for name, s in servers + [("up", up)]:
            base = f"http://{s.ports['http']}"
            routes = requests.get(base + "/routes", timeout=5).json()
            mutating = [r for r in routes if r["access"] == "mutate"]
            assert mutating, name
            for r, status in walk(base, mutating):
                assert status == 401, (name, r, status)
            for r, status in walk(base, [r for r in routes if r["access"] != "mutate"]):
                assert status != 401, (name, r, status)  # reading on loopback needs none
    finally:
        up.stop()
        for _, s in servers:
            s.stop()


def test_beyond_loopback_every_route_but_health_and_metrics_needs_the_token(tmp_path):
    servers = every_server(tmp_path, "0.0.0.0:0", ("--token", "public-token"))
    try:
        for name, s in servers:
            base = f"http://{loopback(s.ports['http'])}"
            routes = requests.get(base + "/routes?token=public-token", timeout=5).json()
            for r, status in walk(base, routes):
                if r["access"] == "open":
                    assert status != 401, (name, r)
                else:
                    assert status == 401, (name, r, status)
            assert {r["path"] for r in routes if r["access"] == "open"} == {"/health", "/metrics"}
            assert requests.get(base + "/routes", headers={"Authorization": "Bearer public-token"},
                                timeout=5).status_code == 200
    finally:
        for _, s in servers:
            s.stop()


def test_a_cross_site_deploy_is_refused_and_runs_nothing(tmp_path):
    up = pier_up(tmp_path, SPEC)
    mark = tmp_path / "pwned"
    evil = SPEC.replace("command: [pier, demo-service",
                        f"command: [sh, -c, 'touch {mark}; exec pier demo-service'")
    evil = evil.replace("name: sec", "name: sec\n# a page's payload")
    try:
        url = up.url("/v1/deploy")
        # What a web page can send: a simple cross-site POST (no preflight), even with a token it
        # guessed.
        r = requests.post(url, data=evil, timeout=10, headers={
            "Origin": "https://attacker.example", "Content-Type": "text/plain", **AUTH})
        assert r.status_code == 403
        r = requests.post(url, data=evil, timeout=10, headers={"Content-Type": "text/plain"})
        assert r.status_code == 401
        r = requests.post(url, data=evil, timeout=10, headers={"Content-Type": "text/plain",
                                                               **AUTH})
        assert r.status_code == 415
        # DNS rebinding: the page's own name in Host.
        r = requests.post(url, data=evil, timeout=10, headers={
            "Host": "attacker.example:7900", "Content-Type": "application/yaml", **AUTH})
        assert r.status_code == 421
        status = requests.get(up.url("/v1/deploy"), timeout=10).json()
        assert status["state"] == "idle"
        assert not mark.exists()
    finally:
        up.stop()


def test_pier_up_writes_a_token_and_the_cli_reads_it(tmp_path):
    data = tmp_path / "data"
    spec = tmp_path / "pier.yaml"
    spec.write_text(SPEC)
    s = Server(["up", str(spec), "--http", "127.0.0.1:0", "--data-dir", str(data)],
               env=env_without_token())
    try:
        while not s.proc.stdout.readline().startswith("up: "):
            pass
        token = (data / "token").read_text().strip()
        assert len(token) == 64 and oct((data / "token").stat().st_mode & 0o777) == "0o600"
        env = env_without_token()
        ok = run_pier("status", "--http", s.ports["http"], "--data-dir", str(data), env=env)
        assert ok.returncode == 0 and "api" in ok.stdout, ok.stderr
        bad = run_pier("rollback", "--http", s.ports["http"], "--data-dir", str(tmp_path / "no"),
                       env=env)
        assert bad.returncode == 1 and "token" in bad.stderr
        assert requests.post(s.url("/v1/deploy/rollback"), timeout=5).status_code == 401
    finally:
        s.stop()


# --- RESP: limits before AUTH, HTTP on the RESP port, protected mode -------------------------

def declare_huge_bulks(addr, n):
    conns = []
    for _ in range(n):
        c = socket.create_connection(addr, timeout=20)
        c.sendall(b"*1\r\n$536870000\r\n")  # 20 bytes declaring 512 MB
        conns.append(c)
    return conns


def test_unauthenticated_clients_cannot_make_the_server_allocate(tmp_path):
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                "--requirepass", "pw"])
    try:
        idle = rss_bytes(s.proc.pid)
        conns = declare_huge_bulks(s.addr("resp"), 200)
        for c in conns:  # each is answered with Redis's error and closed
            data = b""
            while chunk := c.recv(4096):
                data += chunk
            assert data == b"-ERR Protocol error: unauthenticated bulk length\r\n"
            c.close()
        assert rss_bytes(s.proc.pid) - idle < 64 << 20
        r = redis.Redis(*s.addr("resp"), password="pw")
        assert r.ping()
    finally:
        s.stop()


def test_a_declared_length_reserves_nothing_without_a_password(tmp_path):
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
    try:
        idle = rss_bytes(s.proc.pid)
        conns = declare_huge_bulks(s.addr("resp"), 200)
        r = redis.Redis(*s.addr("resp"))
        assert r.ping()  # every declaration was read (the server answers after them)
        assert r.info("clients")["connected_clients"] >= 201
        assert rss_bytes(s.proc.pid) - idle < 64 << 20
        for c in conns:
            c.close()
    finally:
        s.stop()


def test_an_http_request_to_the_resp_port_is_dropped(pier_cache):
    c = socket.create_connection(pier_cache.addr("resp"), timeout=10)
    c.sendall(b"POST /v1/deploy HTTP/1.1\r\nHost: 127.0.0.1:7379\r\n"
              b"Content-Type: text/plain\r\nContent-Length: 8\r\n\r\nflushall")
    assert c.recv(4096) == b""  # closed without an answer, as Redis does
    assert redis.Redis(*pier_cache.addr("resp")).ping()
    assert "SECURITY ATTACK" in pier_cache.stderr()


def resp_command(name, nargs):
    parts = [name.encode()] + [b"x"] * nargs
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


@pytest.mark.parametrize("args", [
    ["cache", "--queue", "yes"],
    ["queue"],
])
def test_every_command_of_every_service_needs_auth(tmp_path, args):
    """The RESP server's AUTH check covers every command a service registers (no per-command
    code): each command in COMMAND, called without AUTH, is answered NOAUTH unless Redis
    allows it before AUTH."""
    s = Server([*args, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                "--data-dir", str(tmp_path), "--requirepass", "pw"])
    try:
        table = redis.Redis(*s.addr("resp"), password="pw", decode_responses=True).command()
        names = [n for n, spec in table.items()
                 if "no_auth" not in [str(f) for f in spec["flags"]]]
        assert ("set" in names) == (args[0] == "cache")  # `pier queue` has no keyspace
        assert "qpublish" in names and "config" in names and "client" in names
        if args[0] == "cache":  # lists, sets, sorted sets and blocking pops came in one table
            assert {"lpush", "blpop", "blmove", "sadd", "zadd", "bzpopmin", "sort"} <= set(names)
        assert {"multi", "exec", "discard", "unwatch"} <= set(names)  # the server's own
        assert {"subscribe", "publish", "pubsub"} <= set(names)
        assert ("watch" in names) == (args[0] == "cache")
        if args[0] == "cache":
            assert {"eval", "evalsha", "script", "xadd", "xrange"} <= set(names)
        c = socket.create_connection(s.addr("resp"), timeout=10)
        c.sendall(b"".join(resp_command(n, max(abs(table[n]["arity"]) - 1, 0)) for n in names))
        want = b"-NOAUTH Authentication required.\r\n" * len(names)
        got = b""
        while len(got) < len(want) and (chunk := c.recv(65536)):
            got += chunk
        assert got == want
        c.close()
    finally:
        s.stop()


@pytest.mark.parametrize("args,flag", [
    (["cache", "--listen", "0.0.0.0:0", "--http", "127.0.0.1:0"], "--requirepass"),
    (["queue", "--listen", "0.0.0.0:0", "--http", "127.0.0.1:0"], "--requirepass"),
    (["cache", "--listen", "127.0.0.1:0", "--http", "0.0.0.0:0"], "--token"),
    (["registry", "--http", "0.0.0.0:0"], "--token"),
    (["proxy", "--to", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--http", "0.0.0.0:0"],
     "--token"),
    (["up", "--http", "0.0.0.0:0"], "--token"),
])
def test_protected_mode_refuses_public_binds_without_credentials(tmp_path, args, flag):
    r = run_pier(*args, "--data-dir", str(tmp_path), env=env_without_token(), timeout=30)
    assert r.returncode == 1, r.stderr
    assert "protected mode" in r.stderr and flag in r.stderr, r.stderr


def test_the_password_of_a_public_listener_cannot_be_removed(tmp_path):
    s = Server(["cache", "--listen", "0.0.0.0:0", "--http", "127.0.0.1:0", "--requirepass", "pw"])
    try:
        host, port = loopback(s.ports["resp"]).rsplit(":", 1)
        r = redis.Redis(host=host, port=int(port), password="pw")
        with pytest.raises(redis.ResponseError, match="protected mode"):
            r.config_set("requirepass", "")
        assert r.config_get("requirepass") == {"requirepass": "pw"}
        assert r.config_set("requirepass", "new")  # changing it is fine
    finally:
        s.stop()
