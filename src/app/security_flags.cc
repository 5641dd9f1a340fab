#include "app/security_flags.h"

#include <sstream>

namespace pier::app {

namespace {

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

void SecurityFlags::AddTo(Settings& s, bool resp) {
  tls.auth_clients = resp ? "yes" : "no";
  tls.what = "--tls-cert-file/--tls-key-file";
  s.Text("token", &token,
         "API token: needed for every mutating HTTP route, and beyond loopback for every route "
         "but /health (default: PIER_TOKEN, --token-file, else DATA_DIR/token, created on the "
         "first start on loopback)")
      .Text("token-file", &token_file, "File holding the API token")
      .Text("allowed-origins", &allowed_origins,
            "Browser origins allowed to call the HTTP API besides loopback ones "
            "(https://ops.example.com,...)")
      .Text("allowed-hosts", &allowed_hosts,
            "Host names the HTTP API answers to besides IP addresses and localhost")
      .YesNo("metrics-auth", &metrics_auth, "yes: /metrics needs the token too")
      .YesNo("protected-mode", &protected_mode,
             resp ? "yes: refuse a non-loopback address without --requirepass (RESP) or a token "
                    "(HTTP)"
                  : "yes: refuse a non-loopback --http without a token")
      .YesNo("http-tls", &http_tls, "yes: the HTTP listener speaks HTTPS with --tls-cert-file")
      .Number("slow-request-ms", &slow_request_ms,
              "Log an HTTP request whose handler takes this long or longer, as a warning with "
              "its method, path, status and time (blocking queries' waits excluded; 0: never)",
              0, 86400000)
      .Text("otlp-endpoint", &otlp_endpoint,
            "Export spans with OTLP/HTTP JSON to http://HOST:PORT: the HTTP listener's spans of "
            "requests that carry a sampled traceparent, and the proxy's (default: "
            "$OTEL_EXPORTER_OTLP_ENDPOINT)");
  if (resp) {
    s.Integer("tls-port", &tls_port,
              "A TLS RESP listener on this port beside --listen (0 picks a free one; -1: none)", -1,
              65535);
  }
  s.Text("tls-cert-file", &tls.cert_file, "TLS certificate chain (PEM)")
      .Text("tls-key-file", &tls.key_file, "TLS private key (PEM)")
      .Text("tls-ca-cert-file", &tls.ca_cert_file, "CA that client certificates must chain to")
      .Choice("tls-auth-clients", &tls.auth_clients,
              "yes: clients need a certificate; optional; no", {"yes", "no", "optional"})
      .Text("tls-protocols", &tls.protocols, "e.g. \"TLSv1.2 TLSv1.3\" (the default)")
      .Text("tls-ciphers", &tls.ciphers, "TLSv1.2 cipher list (OpenSSL syntax)")
      .Text("tls-ciphersuites", &tls.ciphersuites, "TLSv1.3 cipher suites");
}

Status SecurityFlags::Check() const {
  if ((tls_port >= 0 || http_tls == "yes") && !tls.enabled()) {
    return Status::InvalidArgument(std::string(tls_port >= 0 ? "--tls-port" : "--http-tls yes") +
                                   " needs --tls-cert-file and --tls-key-file");
  }
  if (tls.enabled() && tls_port < 0 && http_tls != "yes") {
    return Status::InvalidArgument(
        "--tls-cert-file is given but no listener uses it: add --http-tls yes (or --tls-port, "
        "on a RESP server)");
  }
  return Status::Ok();
}

std::vector<std::string> SecurityFlags::Origins() const { return SplitList(allowed_origins); }
std::vector<std::string> SecurityFlags::Hosts() const { return SplitList(allowed_hosts); }

net::RespServerOptions SecurityFlags::RespListener(const std::pair<std::string, uint16_t>& listen,
                                                   const std::string& requirepass,
                                                   std::shared_ptr<net::TlsServerContext> tls,
                                                   net::Tracer* tracer) const {
  net::RespServerOptions o;
  o.tracer = tracer;
  o.host = listen.first;
  o.port = listen.second;
  o.requirepass = requirepass;
  o.protected_mode = protected_mode == "yes";
  o.tls_port = static_cast<int>(tls_port);
  o.tls = std::move(tls);
  return o;
}

}  // namespace pier::app
