// `pier health [--http HOST:PORT] [--cacert CA] [--timeout S]`: asks a running pier server's
// GET /health and exits 0 when it answers 200, so a container HEALTHCHECK, a Kubernetes exec
// probe or a shell script can use it without curl.
#include <chrono>
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "pier/net/http_fetch.h"
#include "pier/net/tcp_listener.h"

namespace pier::app {

namespace {

struct HealthFlags {
  std::string http = "127.0.0.1:7900";
  std::string cacert;
  double timeout_s = 3;
};

int RunHealth(const HealthFlags& f) {
  auto hp = net::ParseHostPort(f.http, "--http");
  if (!hp.ok()) return Fail("health", hp.status());
  auto r = net::HttpFetch(
      {.host = hp->first,
       .port = hp->second,
       .target = "/health",
       .timeout = std::chrono::milliseconds(static_cast<int64_t>(f.timeout_s * 1000)),
       .max_body_bytes = 64 << 10,
       .tls = {.enabled = !f.cacert.empty(), .ca_cert_file = f.cacert, .what = "--cacert"}});
  if (!r.ok()) return Fail("health", r.status());
  std::cout << r->body;
  if (!r->body.empty() && r->body.back() != '\n') std::cout << "\n";
  if (r->status != 200) {
    return Fail("health",
                Status::Unavailable(f.http + "/health answered HTTP " + std::to_string(r->status)));
  }
  return 0;
}

}  // namespace

void AddHealthCommand(CLI::App& app, SetAction set_action) {
  auto flags = std::make_shared<HealthFlags>();
  CLI::App* health = app.add_subcommand(
      "health", "Ask a running pier server's /health: exit 0 when it answers 200 (for probes)");
  health->add_option("--http", flags->http, "The server's HTTP listener, HOST:PORT")
      ->capture_default_str();
  health->add_option("--cacert", flags->cacert, "Speak HTTPS, trusting this CA certificate");
  health->add_option("--timeout", flags->timeout_s, "Seconds to wait for the answer")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  health->callback([flags, set_action] { set_action([flags] { return RunHealth(*flags); }); });
}

}  // namespace pier::app
