// File: cluster.h
// A cluster at run time: its balancer over the current endpoints, a circuit breaker and
// counters per host (riding on the balancer's hosts, so the request path does no lookup), and
// outlier detection feeding ejections back into the balancer.
//   Cluster c(config, metrics);  c.SetEndpoints({{"127.0.0.1:8081", 1}});
//   std::string why;  auto host = c.Pick(ctx, &why);   ...   c.Report(*host, 200, 3);
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pier/balance/load_balancer.h"
#include "pier/metrics/metrics.h"
#include "pier/proxy/config.h"
#include "pier/resilience/circuit_breaker.h"
#include "pier/resilience/concurrency_limiter.h"
#include "pier/resilience/outlier_detector.h"

namespace pier::proxy {

// Per host: its breaker and metrics.
struct HostStats {
  HostStats(const ClusterConfig& c, const std::string& address, metrics::Registry& m);
  std::unique_ptr<resilience::CircuitBreaker> breaker;  // null when the cluster has none
  metrics::Counter* requests;
  metrics::Counter* by_class[5];  // 1xx..5xx
  metrics::Counter* gateway_failures;
  metrics::Histogram* latency;  // microseconds
};

class Cluster {
 public:
  Cluster(ClusterConfig config, metrics::Registry& metrics);
  ~Cluster();
  const ClusterConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  // Replaces the endpoints (static or from the registry); hosts that stay keep their state.
  void SetEndpoints(const std::vector<balance::HostSpec>& hosts);
  size_t endpoint_count() const;

  // An available host whose breaker lets a call through, not in `exclude`; or nullptr and *why
  // (no hosts, none healthy, breakers open). A returned host has Begin() called on it.
  std::shared_ptr<balance::Host> Pick(const balance::PickContext& ctx, std::string* why);
  // The outcome of a call to `host` picked above: an HTTP status, or 0 for a gateway failure
  // (connect error, reset, timeout). Calls End() on the host.
  void Report(balance::Host& host, int status, int64_t duration_us);
  static HostStats& StatsOf(const balance::Host& host) {
    return *static_cast<HostStats*>(host.attachment());
  }

  // Admission under the cluster's concurrency limit: false when the request must be refused.
  // Every true is paired with Finish (its latency, and whether it succeeded).
  bool Admit(int64_t now_us);
  void Finish(int64_t latency_us, bool ok, int64_t now_us);
  // Replaces the limit from the config (nullopt: back to the config's); a cluster already
  // running that limit keeps its state.
  void OverrideConcurrencyLimit(const std::optional<resilience::ConcurrencyLimitOptions>& o);
  resilience::ConcurrencyLimiter::State concurrency() const { return limiter_.state(); }

  // The TLS context for connections to this cluster's hosts (null: plain TCP). A reload sets
  // it anew, so certificates are re-read.
  std::shared_ptr<boost::asio::ssl::context> tls_context() const;
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> ctx);

  // Expires ejections and evaluates success rates (a timer calls it).
  void Tick();
  nlohmann::json Describe() const;
  // Calls fn(stats) for each host it has now.
  void ForEachHost(const std::function<void(const HostStats&)>& fn) const;
  // Equal for configs that build the same cluster (a reload keeps such a cluster and its state).
  static std::string Fingerprint(const ClusterConfig& c);

 private:
  ClusterConfig config_;
  metrics::Registry& metrics_;
  std::unique_ptr<balance::LoadBalancer> lb_;
  std::unique_ptr<resilience::OutlierDetector> outlier_;
  resilience::ConcurrencyLimiter limiter_;
  std::mutex limit_mu_;
  std::string limit_text_;  // the limit running now, as ConcurrencyLimitText
  metrics::Counter* rejected_;
  metrics::Gauge* limit_gauge_;
  metrics::Gauge* in_flight_gauge_;
  mutable std::mutex endpoints_mu_;
  std::vector<balance::HostSpec> endpoints_;
  mutable std::mutex tls_mu_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace pier::proxy
