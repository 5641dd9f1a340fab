// File: security_flags.h
// The flags every server takes for the one security layer (net): the API token, the browser
// defences, protected mode and TLS (redis-server's flag names), read from the command line or
// the server's config section; and what its HTTP listener reports (slow requests, spans).
//   SecurityFlags sec;  sec.AddTo(settings, /*resp=*/true);  ...  rt.ConfigureSecurity(sec, ...);
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "app/settings.h"
#include "pier/net/resp_server.h"
#include "pier/net/tls_options.h"

namespace pier::app {

struct SecurityFlags {
  std::string token;       // --token (else PIER_TOKEN, token-file, DATA_DIR/token)
  std::string token_file;  // --token-file
  std::string allowed_origins;
  std::string allowed_hosts;
  std::string metrics_auth = "no";
  std::string protected_mode = "yes";
  std::string http_tls = "no";
  int64_t tls_port = -1;          // RESP servers: a TLS listener beside --listen
  double slow_request_ms = 1000;  // the HTTP listener logs handlers slower than this (0: never)
  std::string otlp_endpoint;      // spans go there (else $OTEL_EXPORTER_OTLP_ENDPOINT)
  net::TlsServerOptions tls;

  // `resp`: the server has a RESP listener (--tls-port; tls-auth-clients defaults to yes, as
  // Redis); otherwise only HTTP ones (tls-auth-clients defaults to no).
  // The settings (flags and keys of the server's config section).
  void AddTo(Settings& settings, bool resp);
  // TLS flags that need each other.
  Status Check() const;
  std::vector<std::string> Origins() const;
  std::vector<std::string> Hosts() const;
  // A RESP listener on `listen` with these flags (--protected-mode, --tls-port), `requirepass`
  // the runtime's certificate (ServerRuntime::tls()) and where spans go (ServerRuntime::tracer()).
  net::RespServerOptions RespListener(const std::pair<std::string, uint16_t>& listen,
                                      const std::string& requirepass,
                                      std::shared_ptr<net::TlsServerContext> tls,
                                      net::Tracer* tracer = nullptr) const;
};

}  // namespace pier::app
