#include "app/api_client.h"

#include "pier/net/auth_token.h"
#include "pier/net/tcp_listener.h"

namespace pier::app {

void ApiFlags::AddTo(CLI::App* sub, const std::string& server, const std::string& address_flag) {
  sub->add_option(address_flag, http, server + "'s HTTP API, HOST:PORT")->capture_default_str();
  sub->add_option("--token", token,
                  "The API token (default: PIER_TOKEN, else DATA_DIR/token as the server wrote "
                  "it)");
  sub->add_option("--data-dir", data_dir, server + "'s data directory (for its token)")
      ->capture_default_str();
  sub->add_option("--cacert", cacert, "Speak HTTPS, trusting this CA certificate");
}

Result<std::string> ApiFlags::Token() const {
  return net::ResolveToken({.flag = token, .data_dir = data_dir, .create = false});
}

net::TlsClientOptions ApiFlags::Tls() const {
  return {.enabled = !cacert.empty(), .ca_cert_file = cacert, .what = "--cacert"};
}

Result<net::HttpFetchReply> ApiFlags::Call(
    const std::string& method, const std::string& target, const std::string& body,
    std::vector<std::pair<std::string, std::string>> headers) const {
  auto hp = net::ParseHostPort(http, "--http");
  if (!hp.ok()) return hp.status();
  auto t = Token();
  if (!t.ok()) return t.status();
  if (!t->empty()) headers.emplace_back("Authorization", "Bearer " + *t);
  auto r = net::HttpFetch({.host = hp->first,
                           .port = hp->second,
                           .method = method,
                           .target = target,
                           .body = body,
                           .headers = std::move(headers),
                           .tls = Tls()});
  if (!r.ok()) {
    return Status::Unavailable(r.status().message() + " (is the server's HTTP API at " + http +
                               "?)");
  }
  if (r->status == 401) {
    return Status::InvalidArgument(
        target +
        ": the server wants its token: give --token, set PIER_TOKEN, or --data-dir "
        "where the server keeps DIR/token");
  }
  return r;
}

}  // namespace pier::app
