"""Traces through the proxy: W3C trace context taken or started, propagated upstream with a
span per attempt, and spans exported with OTLP/HTTP JSON to a collector (a small one here that
decodes what it receives)."""
import json
import os
import signal
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from test_proxy import backends, config, proxy  # noqa: F401 (fixtures)
from test_security import certs  # noqa: F401 (fixture)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class Collector:
    """An OTLP/HTTP receiver: POST /v1/traces with the JSON encoding; keeps every span."""

    def __init__(self, tls=None):
        """`tls`: (certificate, key) to serve HTTPS with."""
        self.spans, self.posts = [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append((self.path, self.headers["Content-Type"]))
                for rs in json.loads(body)["resourceSpans"]:
                    service = {a["key"]: a["value"]["stringValue"]
                               for a in rs["resource"]["attributes"]}["service.name"]
                    for ss in rs["scopeSpans"]:
                        for span in ss["spans"]:
                            span["service"] = service
                            outer.spans.append(span)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*map(str, tls))
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.server.shutdown()


def attrs(span):
    out = {}
    for a in span["attributes"]:
        v = a["value"]
        out[a["key"]] = v["stringValue"] if "stringValue" in v else int(v["intValue"])
    return out


def test_spans_form_one_trace_with_an_attempt_per_retry(backends, proxy):  # noqa: F811
    bad, good = backends("bad", "good")
    bad.control(status=503)
    collector = Collector()
    try:
        s = proxy(config(bad.addr, good.addr, route_extra="        retries: {max: 1, on: [503]}\n"),
                  "--otlp-endpoint", collector.url)
        url = f"http://{s.ports['web']}"
        seen = []
        for _ in range(2):  # round robin: one of the two goes to the failing host first
            r = requests.get(url + "/traced", headers={
                "traceparent": f"00-{TRACE}-{PARENT}-01", "tracestate": "vendor=x"})
            assert r.status_code == 200
            seen.append(r.json()["headers"])
        fresh = requests.get(url + "/untraced").json()["headers"]
        unsampled = f"00-{TRACE}-{PARENT}-00"
        quiet = requests.get(url + "/quiet", headers={"traceparent": unsampled}).json()["headers"]
        s.stop()  # the exporter sends what it holds before the process ends
    finally:
        collector.close()
    assert collector.posts and all(p == ("/v1/traces", "application/json")
                                   for p in collector.posts)
    spans = collector.spans
    assert {sp["service"] for sp in spans} == {"pier-proxy"}
    servers = [sp for sp in spans if sp["kind"] == 2]
    clients = [sp for sp in spans if sp["kind"] == 3]
    traced = [sp for sp in servers if sp["traceId"] == TRACE]
    assert len(traced) == 2 and len(servers) == 3  # the unsampled request made no span
    for server, headers in zip(traced, seen):
        assert server["parentSpanId"] == PARENT
        assert attrs(server)["http.status_code"] == 200
        attempts = sorted((c for c in clients if c["parentSpanId"] == server["spanId"]),
                          key=lambda c: attrs(c)["pier.retry"])
        assert attempts and all(c["traceId"] == TRACE for c in attempts)
        # The upstream saw pier's last attempt as its parent, the trace and flags unchanged.
        assert headers["traceparent"] == f"00-{TRACE}-{attempts[-1]['spanId']}-01"
        assert headers["tracestate"] == "vendor=x"
        assert attrs(attempts[-1])["net.peer.name"] == good.addr
        assert attrs(server)["pier.retries"] == len(attempts) - 1
        if len(attempts) == 2:  # the retried one: the failed attempt is an error span
            assert attrs(attempts[0])["http.status_code"] == 503
            assert attempts[0]["status"]["code"] == 2
            assert attrs(attempts[0])["net.peer.name"] == bad.addr
    assert any(len([c for c in clients if c["parentSpanId"] == sv["spanId"]]) == 2
               for sv in traced)
    # No context: pier starts a trace, its server span is the root.
    root = [sp for sp in servers if sp["traceId"] != TRACE]
    assert len(root) == 1 and "parentSpanId" not in root[0]
    version, trace, parent, flags = fresh["traceparent"].split("-")
    assert (version, trace, flags) == ("00", root[0]["traceId"], "01") and len(parent) == 16
    # Not sampled upstream of pier: the context passes through untouched.
    assert quiet["traceparent"] == unsampled
    for sp in spans:
        assert int(sp["endTimeUnixNano"]) >= int(sp["startTimeUnixNano"]) > 1.7e18


def test_a_sample_rate_applies_to_requests_without_a_context(backends, proxy):  # noqa: F811
    (a,) = backends("a")
    collector = Collector()
    try:
        s = proxy(config(a.addr), "--otlp-endpoint", collector.url, "--trace-sample", "0")
        url = f"http://{s.ports['web']}"
        for i in range(20):
            assert requests.get(f"{url}/fresh/{i}").json()["headers"].get("traceparent") is None
        headers = requests.get(url + "/traced", headers={
            "traceparent": f"00-{TRACE}-{PARENT}-01"}).json()["headers"]
        assert headers["traceparent"].startswith(f"00-{TRACE}-")
        s.stop()
    finally:
        collector.close()
    # Only the request whose own context was sampled was traced.
    assert {sp["traceId"] for sp in collector.spans} == {TRACE}
    assert len([sp for sp in collector.spans if sp["kind"] == 2]) == 1


def test_pier_up_traces_its_proxy_and_hands_the_endpoint_to_services(tmp_path):
    from conftest import pier_up
    from test_up import DEMO, get, until
    collector = Collector()
    try:
        s = pier_up(tmp_path, "platform: {proxy: {listen: 127.0.0.1:0}}\n" + open(DEMO).read(),
                    "--otlp-endpoint", collector.url)
        try:
            pids = [int(line.split()[4]) for line in s.lines
                    if line.split()[:1] in (["catalog"], ["frontend"])]
            proxy_url = f"http://{s.ports['proxy']}"
            until(lambda: (r := get(proxy_url + "/")) is not None and r.status_code == 200,
                  "the frontend through the proxy")
            calls = get(proxy_url + "/").json()["calls"]
            assert calls[0]["status"] == 200 and calls[0]["body"]["service"] == "catalog"
            for pid in pids:  # each service is told where spans go, and its own name
                env = dict(kv.split("=", 1) for kv in
                           open(f"/proc/{pid}/environ").read().split("\0") if "=" in kv)
                assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == collector.url
                assert env["OTEL_SERVICE_NAME"] in ("catalog", "frontend")
        finally:
            s.stop(signal.SIGINT)
    finally:
        collector.close()
    served = [sp for sp in collector.spans if sp["kind"] == 2
              and attrs(sp).get("http.status_code") == 200 and attrs(sp)["http.target"] == "/"]
    assert {sp["service"] for sp in served} == {"pier-proxy", "frontend"}
    # The demo frontend joined the proxy's trace: its server span's parent is the proxy's
    # attempt, whose parent is the proxy's server span.
    by_id = {sp["spanId"]: sp for sp in collector.spans}
    frontend = next(sp for sp in served if sp["service"] == "frontend")
    attempt = by_id[frontend["parentSpanId"]]
    assert attempt["service"] == "pier-proxy" and attempt["kind"] == 3
    root = by_id[attempt["parentSpanId"]]
    assert root["service"] == "pier-proxy" and root["kind"] == 2 and "parentSpanId" not in root
    assert frontend["traceId"] == attempt["traceId"] == root["traceId"]
    assert frontend["name"] == "GET /"
    # ...and the catalog, which the frontend called through the proxy, is in it too: its span
    # under the proxy's attempt under the proxy's server span under the frontend's client span
    # for that call, under the frontend's server span.
    catalog = [sp for sp in collector.spans if sp["service"] == "catalog"
               and sp["traceId"] == frontend["traceId"]]
    assert len(catalog) == 1 and catalog[0]["name"] == "GET /catalog/items"
    hop = by_id[by_id[catalog[0]["parentSpanId"]]["parentSpanId"]]
    assert hop["service"] == "pier-proxy" and hop["kind"] == 2
    call = by_id[hop["parentSpanId"]]
    assert call["service"] == "frontend" and call["kind"] == 3
    assert call["parentSpanId"] == frontend["spanId"] and call["traceId"] == frontend["traceId"]
    assert attrs(call)["http.status_code"] == 200
    assert attrs(call)["http.url"].endswith("/catalog/items")
    start, end = int(call["startTimeUnixNano"]), int(call["endTimeUnixNano"])
    assert int(frontend["startTimeUnixNano"]) <= start <= end <= int(frontend["endTimeUnixNano"])


def test_every_http_listener_records_spans_of_traced_requests():
    from conftest import Server
    collector = Collector()
    try:
        s = Server(["registry", "--http", "127.0.0.1:0", "--otlp-endpoint", collector.url])
        try:
            assert requests.get(s.url("/v1/agent/services?x=1"), headers={
                "traceparent": f"00-{TRACE}-{PARENT}-01"}).status_code == 200
            requests.get(s.url("/v1/agent/services"))  # no context: no span
            requests.get(s.url("/v1/agent/services"), headers={  # not sampled: no span
                "traceparent": f"00-{TRACE}-{PARENT}-00"})
        finally:
            assert s.stop() == 0
    finally:
        collector.close()
    (span,) = collector.spans
    assert span["service"] == "pier-registry" and span["kind"] == 2
    assert span["traceId"] == TRACE and span["parentSpanId"] == PARENT
    assert span["name"] == "GET /v1/agent/services"
    assert attrs(span)["http.target"] == "/v1/agent/services?x=1"
    assert attrs(span)["http.status_code"] == 200


def test_spans_go_to_an_https_collector_that_the_configured_ca_vouches_for(certs):
    from conftest import Server
    collector = Collector(tls=(certs / "server.crt", certs / "server.key"))
    traced = {"traceparent": f"00-{TRACE}-{PARENT}-01"}
    try:
        env = dict(os.environ, OTEL_EXPORTER_OTLP_CERTIFICATE=str(certs / "ca.crt"))
        s = Server(["registry", "--http", "127.0.0.1:0", "--otlp-endpoint", collector.url],
                   env=env)
        try:
            assert requests.get(s.url("/v1/agent/services"), headers=traced).status_code == 200
        finally:
            assert s.stop() == 0
        # Without the CA the collector's certificate is not trusted: the spans are dropped,
        # and the log says where they were going and why.
        s = Server(["registry", "--http", "127.0.0.1:0", "--otlp-endpoint", collector.url])
        try:
            assert requests.get(s.url("/v1/agent/services"), headers=traced).status_code == 200
        finally:
            assert s.stop() == 0
        err = s.stderr()
    finally:
        collector.close()
    (span,) = collector.spans
    assert span["service"] == "pier-registry" and span["traceId"] == TRACE
    assert "OTLP export failed: spans dropped" in err and "certificate verify failed" in err, err


def test_a_queue_message_carries_its_trace_from_publish_to_consume(tmp_path):
    from conftest import TOKEN, Server
    collector = Collector()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        s = Server(["queue", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir",
                    str(tmp_path / "data"), "--otlp-endpoint", collector.url])
        try:
            assert requests.put(s.url("/v1/queue/topics/jobs/subscriptions/workers"), json={},
                                headers=auth).status_code == 201
            r = requests.post(s.url("/v1/queue/topics/jobs/publish"), json={"payload": "job"},
                              headers={**auth, "traceparent": f"00-{TRACE}-{PARENT}-01"})
            assert r.status_code == 200
            # A RESP client's documented way: a traceparent header of its own.
            own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            requests.post(s.url("/v1/queue/topics/jobs/publish"),
                          json={"payload": "own", "headers": {"traceparent": own}}, headers=auth)
            got = requests.post(
                s.url("/v1/queue/topics/jobs/subscriptions/workers/consume?max=10&wait_ms=100"),
                headers=auth).json()["messages"]
        finally:
            assert s.stop() == 0
    finally:
        collector.close()
    # The message carries the publish request's context, pier's publish span as the parent.
    publish = next(sp for sp in collector.spans if sp["kind"] == 2 and "publish" in sp["name"])
    assert publish["service"] == "pier-queue" and publish["traceId"] == TRACE
    assert got[0]["headers"]["traceparent"] == f"00-{TRACE}-{publish['spanId']}-01"
    assert got[1]["headers"]["traceparent"] == own  # a message's own context is kept
    consumed = sorted((sp for sp in collector.spans if sp["kind"] == 5),
                      key=lambda sp: attrs(sp)["messaging.message.id"])
    assert [sp["traceId"] for sp in consumed] == [TRACE, own.split("-")[1]]
    assert consumed[0]["parentSpanId"] == publish["spanId"] and consumed[0]["name"] == "jobs receive"
    assert attrs(consumed[0])["pier.subscription"] == "workers"


def test_resp_commands_under_client_traceparent_get_spans():
    import redis
    from conftest import Server
    collector = Collector()
    try:
        s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                    "--otlp-endpoint", collector.url])
        try:
            r = redis.Redis(*s.addr("resp"))
            p = r.pipeline(transaction=False)  # one connection for the context and its commands
            p.execute_command("CLIENT", "TRACEPARENT", f"00-{TRACE}-{PARENT}-01")
            p.set("k", "v")
            p.get("k")
            p.execute_command("CLIENT", "TRACEPARENT", "")  # cleared: no span after this
            p.get("k")
            assert p.execute() == [b"OK", True, b"v", b"OK", b"v"]
            with pytest.raises(redis.ResponseError, match="invalid traceparent 'nope'"):
                r.execute_command("CLIENT", "TRACEPARENT", "nope")
        finally:
            assert s.stop() == 0
    finally:
        collector.close()
    commands = [sp for sp in collector.spans if attrs(sp).get("db.system") == "redis"]
    assert [sp["name"] for sp in commands] == ["SET", "GET"]
    for sp in commands:
        assert sp["service"] == "pier-cache" and sp["traceId"] == TRACE
        assert sp["parentSpanId"] == PARENT and sp["kind"] == 2
