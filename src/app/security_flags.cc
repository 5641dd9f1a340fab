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

void SecurityFlags::AddTo(CLI::App* sub, bool resp) {
  tls.auth_clients = resp ? "yes" : "no";
  tls.what = "--tls-cert-file/--tls-key-file";
  sub->add_option("--token", token,
                  "API token: needed for every mutating HTTP route, and beyond loopback for every "
                  "route but /health (default: PIER_TOKEN, --token-file, else DATA_DIR/token, "
                  "created on the first start on loopback)");
  sub->add_option("--token-file", token_file, "File holding the API token");
  sub->add_option("--allowed-origins", allowed_origins,
                  "Browser origins allowed to call the HTTP API besides loopback ones "
                  "(https://ops.example.com,...)");
  sub->add_option("--allowed-hosts", allowed_hosts,
                  "Host names the HTTP API answers to besides IP addresses and localhost");
  sub->add_option("--metrics-auth", metrics_auth, "yes: /metrics needs the token too")
      ->capture_default_str();
  sub->add_option("--protected-mode", protected_mode,
                  resp ? "yes: refuse a non-loopback address without --requirepass (RESP) or a "
                         "token (HTTP)"
                       : "yes: refuse a non-loopback --http without a token")
      ->capture_default_str();
  sub->add_option("--http-tls", http_tls,
                  "yes: the HTTP listener speaks HTTPS with --tls-cert-file")
      ->capture_default_str();
  if (resp) {
    sub->add_option("--tls-port", tls_port,
                    "A TLS RESP listener on this port beside --listen (0 picks a free one)");
  }
  sub->add_option("--tls-cert-file", tls.cert_file, "TLS certificate chain (PEM)");
  sub->add_option("--tls-key-file", tls.key_file, "TLS private key (PEM)");
  sub->add_option("--tls-ca-cert-file", tls.ca_cert_file,
                  "CA that client certificates must chain to");
  sub->add_option("--tls-auth-clients", tls.auth_clients,
                  "yes: clients need a certificate; optional; no")
      ->capture_default_str();
  sub->add_option("--tls-protocols", tls.protocols, "e.g. \"TLSv1.2 TLSv1.3\" (the default)");
  sub->add_option("--tls-ciphers", tls.ciphers, "TLSv1.2 cipher list (OpenSSL syntax)");
  sub->add_option("--tls-ciphersuites", tls.ciphersuites, "TLSv1.3 cipher suites");
}

void SecurityFlags::ReadConfig(ConfigSection& s, const ConfigFlags& take, bool resp) {
  take(s, "token-file", "--token-file", &token_file);
  take(s, "allowed-origins", "--allowed-origins", &allowed_origins);
  take(s, "allowed-hosts", "--allowed-hosts", &allowed_hosts);
  take.YesNo(s, "metrics-auth", "--metrics-auth", &metrics_auth);
  take.YesNo(s, "protected-mode", "--protected-mode", &protected_mode);
  take.YesNo(s, "http-tls", "--http-tls", &http_tls);
  if (resp) {
    int64_t port = tls_port;
    take(s, "tls-port", "--tls-port", &port, int64_t{-1}, int64_t{65535});
    tls_port = static_cast<int>(port);
  }
  take(s, "tls-cert-file", "--tls-cert-file", &tls.cert_file);
  take(s, "tls-key-file", "--tls-key-file", &tls.key_file);
  take(s, "tls-ca-cert-file", "--tls-ca-cert-file", &tls.ca_cert_file);
  take(s, "tls-auth-clients", "--tls-auth-clients", &tls.auth_clients);
  take(s, "tls-protocols", "--tls-protocols", &tls.protocols);
  take(s, "tls-ciphers", "--tls-ciphers", &tls.ciphers);
  take(s, "tls-ciphersuites", "--tls-ciphersuites", &tls.ciphersuites);
}

Status SecurityFlags::Check() const {
  for (auto [flag, value] : {std::pair{"--metrics-auth", &metrics_auth},
                             {"--protected-mode", &protected_mode},
                             {"--http-tls", &http_tls}}) {
    if (Status s = ConfigFlags::CheckYesNo(flag, *value); !s.ok()) return s;
  }
  if (tls.auth_clients != "yes" && tls.auth_clients != "no" && tls.auth_clients != "optional") {
    return Status::InvalidArgument("--tls-auth-clients: use yes, no or optional, got '" +
                                   tls.auth_clients + "'");
  }
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

net::RespServerOptions SecurityFlags::RespListener(
    const std::pair<std::string, uint16_t>& listen, const std::string& requirepass,
    std::shared_ptr<net::TlsServerContext> tls) const {
  net::RespServerOptions o;
  o.host = listen.first;
  o.port = listen.second;
  o.requirepass = requirepass;
  o.protected_mode = protected_mode == "yes";
  o.tls_port = tls_port;
  o.tls = std::move(tls);
  return o;
}

}  // namespace pier::app
