// File: http_security.h
// What an HTTP listener's protection is configured with (HttpGuard applies it), and the access
// every route declares.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace pier::net {

// What a route does, which decides who may call it. Every route has one (HttpServer::Route
// defaults it from the method: GET and HEAD read, others mutate).
enum class Access {
  kDefault,  // from the method
  kOpen,     // anyone who can reach the port (/health; /metrics unless --metrics-auth yes)
  kRead,     // the token is needed only on a non-loopback bind
  kMutate,   // the token is always needed
};

const char* AccessName(Access a);

struct HttpSecurityOptions {
  // The token mutating routes need (and, on a non-loopback bind, reading ones). Empty: nobody
  // can call a mutating route (the 401 says how to configure one).
  std::string token;
  // Set by the server from its bind address: beyond loopback, reading routes need the token.
  bool public_bind = false;
  // Beyond loopback: refuse to start without a token, and ask it for reading routes too. Off
  // (--protected-mode no): reading routes are open to every host; mutating ones still need it.
  bool protected_mode = true;
  // Origins allowed besides loopback ones and the request's own ("https://ops.example.com").
  std::vector<std::string> allowed_origins;
  // Host names allowed besides IP literals and localhost (DNS names clients use for this server).
  std::vector<std::string> allowed_hosts;
  // A request head must arrive within this; a body at this rate at least (after the head's time).
  std::chrono::milliseconds request_header_timeout{std::chrono::seconds(10)};
  size_t min_body_bytes_per_second = 1024;
  // Body limit before the token is checked (reading routes on loopback), and after.
  size_t unauthenticated_max_body_bytes = 16 * 1024;
  // Connections one client address may hold (0: no cap).
  size_t max_connections_per_client = 256;
};

}  // namespace pier::net
