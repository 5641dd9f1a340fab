// File: proxy_server.h
// ProxyServer: the proxy's data plane. Binds each configured listener (HTTP/1.1 or TCP) on the
// I/O pool, routes requests to clusters balanced by pier::balance with per-host circuit
// breakers and outlier detection from pier::resilience, keeps registry-backed clusters in step
// with the registry, and reloads its configuration without dropping connections.
//   ProxyServer proxy(pool);
//   proxy.Start(*LoadProxyConfig("proxy.yaml"));  ...  proxy.Reload(*LoadProxyConfig(...));
//   proxy.AddAdminRoutes(http, [&] { return proxy.Reload(*LoadProxyConfig("proxy.yaml")); });
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "pier/base/status.h"
#include "pier/metrics/metrics.h"
#include "pier/net/http_server.h"
#include "pier/net/io_pool.h"
#include "pier/perf/tuner.h"
#include "pier/proxy/config.h"

namespace pier::net {
class Tracer;
}  // namespace pier::net

namespace pier::proxy {

struct ProxyServerOptions {
  metrics::Registry* metrics = nullptr;  // default: the global registry
  // A client connection with no traffic for this long is closed (HAProxy's `timeout client`).
  std::chrono::milliseconds client_idle_timeout{std::chrono::seconds(60)};
  size_t max_connections = 10000;  // per listener
  // Where the spans of every request and upstream attempt go (the server runtime's, from
  // --otlp-endpoint; not owned, outlives the server); null: none.
  net::Tracer* tracer = nullptr;
  // The share of requests that arrive without a trace context that start a trace (sampled
  // ones with a context are always traced, unsampled ones never: parent-based sampling).
  double trace_sample = 1.0;
};

// Thread-safe: Reload, Describe and the admin routes may run from any thread.
class ProxyServer {
 public:
  ProxyServer(net::IoPool& pool, ProxyServerOptions options = {});
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Binds every listener; an error names the listener and address.
  Status Start(const ProxyConfig& config);
  // Applies a new configuration: new listeners are bound first (on failure nothing changes),
  // requests from then on use the new routes and clusters (an unchanged cluster keeps its
  // hosts' state), removed listeners stop accepting. Open connections are not dropped.
  Status Reload(const ProxyConfig& config);

  // Listener name -> bound address ("127.0.0.1:41234").
  std::vector<std::pair<std::string, std::string>> addresses() const;
  // Listeners, routes and clusters with their hosts, weights, breakers and ejections.
  nlohmann::json Describe() const;
  // A cluster's traffic so far, summed over the hosts it has now: what `pier deploy` compares
  // between a canary and its stable version (differences of two readings give a window).
  struct Totals {
    size_t hosts = 0;
    uint64_t requests = 0;
    uint64_t errors = 0;  // 5xx answers and gateway failures (connect errors, resets, timeouts)
    metrics::Histogram::Counts latency_us{};
  };
  Result<Totals> ClusterTotals(const std::string& cluster) const;
  // The concurrency limit of every cluster from now on, reloads included (the tuner's knob
  // proxy.concurrency_limit): "off", "adaptive", a number, or "config" for each cluster's own.
  Status SetConcurrencyLimit(const std::string& limit);
  std::string concurrency_limit() const;
  // Gives the analyzer the proxy's source (proxy_perf.h: series and rules) and the tuner the
  // knob proxy.concurrency_limit for every cluster (objective: p99; guard: the error ratio,
  // which its 503s count in).
  void AttachTo(perf::Analyzer& analyzer, perf::Tuner& tuner);
  // GET /v1/proxy/clusters, GET /v1/proxy/config and POST /v1/proxy/reload (which calls
  // `reload`: the app re-reads its file).
  void AddAdminRoutes(net::HttpServer& http, std::function<Status()> reload);

  // Stops accepting; open connections finish their requests.
  // Reopens every access log file by its path (SIGUSR1, after logrotate moved the files).
  void ReopenAccessLogs();
  void Shutdown();
  void CloseAll();
  size_t active_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pier::proxy
