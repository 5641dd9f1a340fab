// File: health_checker.h
// HealthChecker: runs the registry's HTTP and TCP checks on the I/O threads, one coroutine and
// one timer per check (no thread per check), and reports each result to the registry.
#pragma once

// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "pier/metrics/metrics.h"
#include "pier/net/io_pool.h"
#include "pier/registry/registry.h"

namespace pier::registry {

struct ProbeResult {
  HealthStatus status;
  std::string output;
};

// One probe of `def` with its timeout (Consul's outputs: "HTTP GET <url>: 200 OK Output: ...",
// "TCP connect <addr>: Success").
boost::asio::awaitable<ProbeResult> Probe(const CheckDefinition& def);

class HealthChecker {
 public:
  HealthChecker(net::IoPool& pool, ServiceRegistry& registry);
  ~HealthChecker();

  // Starts the probe loop of a check; it ends when the registry no longer has this generation.
  void Start(const std::string& check_id, uint64_t generation);
  // Ends every loop (their timers are cancelled; probes in flight finish within their timeout).
  void Stop();
  size_t running() const;

 private:
  struct Loop;
  boost::asio::awaitable<void> Run(std::shared_ptr<Loop> loop);

  net::IoPool& pool_;
  ServiceRegistry& registry_;
  mutable std::mutex mu_;
  std::set<std::shared_ptr<Loop>> loops_;
  bool stopped_ = false;
  metrics::Histogram* probe_seconds_;
  metrics::Histogram* lag_seconds_;
};

}  // namespace pier::registry
