// File: session.h
// One client connection on a proxy listener: HTTP/1.1 (requests routed, balanced, retried and
// streamed to upstream hosts over pooled keep-alive connections) or TCP (a tunnel to one
// balanced upstream host).
#pragma once

// clang-format off
#include <utility>
// clang-format on
#include <array>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "pier/metrics/metrics.h"
#include "pier/net/tcp_listener.h"
#include "pier/net/tracer.h"
#include "proxy/runtime.h"
#include "proxy/worker.h"

namespace pier::proxy {

using net::Span;
using net::Tracer;

// Where an HTTP request's time goes (pier_proxy_stage_seconds{listener, stage}): a new upstream
// connection's connect (and TLS handshake); from the request head read to the upstream's
// response head (first byte), and to the response's last byte.
enum class Stage { kConnect, kFirstByte, kLastByte };
inline constexpr const char* kStageNames[] = {"connect", "first_byte", "last_byte"};

// What a session needs from its server: the current routing table and its thread's worker.
struct SessionEnv {
  std::string listener;  // the listener's name in the runtime
  std::function<std::shared_ptr<const Runtime>()> runtime;
  const std::atomic<uint64_t>* version;  // changes when the runtime does
  int64_t tunnel_idle_ms = 60000;        // a half-closed tunnel's silence limit
  std::function<Worker&(boost::asio::io_context&)> worker;
  Tracer* tracer = nullptr;                     // spans exported (OTLP) when set
  double trace_sample = 1.0;                    // of requests without a trace context
  std::array<metrics::Histogram*, 3> stages{};  // by Stage, microseconds
  void Record(Stage s, int64_t us) const {
    stages[static_cast<size_t>(s)]->Record(static_cast<uint64_t>(us < 0 ? 0 : us));
  }
};

boost::asio::awaitable<void> ServeHttp(net::Connection& conn, const SessionEnv& env);
boost::asio::awaitable<void> ServeTcp(net::Connection& conn, const SessionEnv& env);

}  // namespace pier::proxy
