// File: listener_options.h
// ListenerOptions: where a TCP listener binds and the limits it enforces.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace pier::net {

class TlsServerContext;

struct ListenerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port
  size_t max_connections = 10000;
  // Connections one client address may hold at once (0: no cap); beyond, new ones are closed.
  size_t max_connections_per_client = 0;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};  // 0: none
  // When set, every connection starts with a TLS handshake, bounded by handshake_timeout.
  std::shared_ptr<TlsServerContext> tls;
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
};

}  // namespace pier::net
