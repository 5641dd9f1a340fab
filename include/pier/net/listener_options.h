// File: listener_options.h
// ListenerOptions: where a TCP listener binds and the limits it enforces.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pier::net {

struct ListenerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port
  size_t max_connections = 10000;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};  // 0: none
};

}  // namespace pier::net
