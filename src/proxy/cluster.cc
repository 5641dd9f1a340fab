#include "proxy/cluster.h"

#include <nlohmann/json.hpp>

#include "proxy/proxy_metric_names.h"

namespace pier::proxy {

namespace {

metrics::Labels HostLabels(const std::string& cluster, const std::string& host) {
  return {{"cluster", cluster}, {"host", host}};
}

}  // namespace

HostStats::HostStats(const ClusterConfig& c, const std::string& address, metrics::Registry& m) {
  const auto labels = HostLabels(c.name, address);
  requests =
      &m.GetCounter(metric_names::kUpstreamRequestsTotal,
                    "Requests (HTTP) or connections (TCP) sent to an upstream host.", labels);
  static constexpr const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int i = 0; i < 5; ++i) {
    auto l = labels;
    l.emplace_back("code", kClasses[i]);
    by_class[i] = &m.GetCounter(metric_names::kUpstreamResponsesTotal,
                                "Upstream responses by status class.", l);
  }
  gateway_failures = &m.GetCounter(
      metric_names::kUpstreamGatewayFailuresTotal,
      "Calls to an upstream host that failed to connect, were reset or timed out.", labels);
  latency = &m.GetHistogram(metric_names::kUpstreamLatencySeconds,
                            "Time from sending a request to an upstream to its response head.",
                            labels, 1e-6, 4, 26);
  if (!c.breaker_enabled) return;
  breaker = std::make_unique<resilience::CircuitBreaker>(c.breaker);
  auto* state = &m.GetGauge(metric_names::kBreakerState,
                            "Circuit breaker state per host: 0 closed, 1 open, 2 half-open, 3 "
                            "forced open, 4 disabled.",
                            labels);
  breaker->OnStateChange([&m, labels, state](resilience::BreakerState,
                                             resilience::BreakerState to) {
    state->Set(static_cast<double>(to));
    auto l = labels;
    l.emplace_back("to", resilience::BreakerStateName(to));
    m.GetCounter(metric_names::kBreakerTransitionsTotal, "Circuit breaker state changes.", l).Inc();
  });
}

Cluster::Cluster(ClusterConfig config, metrics::Registry& metrics)
    : config_(std::move(config)), metrics_(metrics) {
  balance::BalancerOptions bo;
  bo.panic_threshold = config_.panic_threshold;
  bo.slow_start_ms = config_.slow_start_ms;
  bo.attach = [this](const std::string& address) -> std::shared_ptr<void> {
    return std::make_shared<HostStats>(config_, address, metrics_);
  };
  auto lb = balance::LoadBalancer::Create(config_.policy, std::move(bo));
  lb_ = lb.ok() ? std::move(*lb) : *balance::LoadBalancer::Create("round_robin", {});
  if (config_.outlier_enabled) {
    outlier_ = std::make_unique<resilience::OutlierDetector>(
        config_.outlier, [this](const std::string& host, bool ejected) {
          lb_->SetEjected(host, ejected);
          metrics_
              .GetGauge(metric_names::kHostEjected, "1 while outlier detection ejects the host.",
                        HostLabels(config_.name, host))
              .Set(ejected ? 1 : 0);
        });
  }
  const metrics::Labels labels = {{"cluster", config_.name}};
  rejected_ =
      &metrics_.GetCounter(metric_names::kConcurrencyRejectedTotal,
                           "Requests refused (503) at the cluster's concurrency limit.", labels);
  limit_gauge_ = &metrics_.GetGauge(metric_names::kConcurrencyLimit,
                                    "The cluster's concurrency limit now (0: none).", labels);
  in_flight_gauge_ = &metrics_.GetGauge(metric_names::kClusterRequestsInFlight,
                                        "Requests outstanding to the cluster.", labels);
  OverrideConcurrencyLimit(std::nullopt);
  SetEndpoints(config_.endpoints);
}

Cluster::~Cluster() = default;

void Cluster::SetEndpoints(const std::vector<balance::HostSpec>& hosts) {
  std::lock_guard l(endpoints_mu_);
  endpoints_ = hosts;
  lb_->Update(hosts);
  if (outlier_) {
    std::vector<std::string> addresses;
    for (const auto& h : hosts) addresses.push_back(h.address);
    outlier_->SetHosts(addresses);
    for (const auto& a : addresses) lb_->SetEjected(a, outlier_->ejected(a));
  }
}

size_t Cluster::endpoint_count() const {
  std::lock_guard l(endpoints_mu_);
  return endpoints_.size();
}

std::shared_ptr<balance::Host> Cluster::Pick(const balance::PickContext& in, std::string* why) {
  balance::PickContext ctx = in;
  std::vector<const balance::Host*> refused;  // hosts whose breaker said no
  for (int tries = 0; tries < 8; ++tries) {
    std::shared_ptr<balance::Host> h = lb_->Pick(ctx);
    if (h == nullptr) break;
    HostStats& st = StatsOf(*h);
    if (st.breaker == nullptr || st.breaker->TryAcquire()) {
      h->Begin();
      return h;
    }
    if (refused.empty() && in.exclude != nullptr) refused = *in.exclude;
    refused.push_back(h.get());
    ctx.exclude = &refused;
  }
  if (!refused.empty()) {
    *why = "the circuit breaker is open on every upstream host tried";
  } else if (endpoint_count() == 0) {
    *why = config_.service.empty() ? "no upstream hosts"
                                   : "no healthy instances of service '" + config_.service + "'";
  } else {
    *why = "no healthy upstream host";
  }
  return nullptr;
}

void Cluster::Report(balance::Host& host, int status, int64_t duration_us) {
  HostStats& st = StatsOf(host);
  st.requests->Inc();
  if (status >= 100 && status < 600) st.by_class[status / 100 - 1]->Inc();
  if (status == 0) st.gateway_failures->Inc();
  if (status != 0) st.latency->Record(static_cast<uint64_t>(duration_us < 0 ? 0 : duration_us));
  const bool ok = status != 0 && status < 500;
  if (st.breaker) st.breaker->OnResult(ok, duration_us / 1000);
  if (outlier_) {
    outlier_->Report(host.address(), status == 0     ? resilience::Outcome::kGatewayFailure
                                     : status >= 500 ? resilience::Outcome::k5xx
                                                     : resilience::Outcome::kSuccess);
  }
  host.End();
}

bool Cluster::Admit(int64_t now_us) {
  if (limiter_.TryAcquire(now_us)) return true;
  rejected_->Inc();
  return false;
}

void Cluster::Finish(int64_t latency_us, bool ok, int64_t now_us) {
  limiter_.Release(latency_us, ok, now_us);
}

void Cluster::OverrideConcurrencyLimit(
    const std::optional<resilience::ConcurrencyLimitOptions>& o) {
  const resilience::ConcurrencyLimitOptions& want = o ? *o : config_.concurrency;
  std::lock_guard l(limit_mu_);
  const std::string text = resilience::ConcurrencyLimitText(want);
  if (text == limit_text_) return;
  limit_text_ = text;
  limiter_.Reset(want);
  limit_gauge_->Set(limiter_.state().limit);
}

void Cluster::Tick() {
  if (outlier_) outlier_->Tick();
  const auto c = limiter_.state();
  limit_gauge_->Set(c.limit);
  in_flight_gauge_->Set(c.in_flight);
}

void Cluster::ForEachHost(const std::function<void(const HostStats&)>& fn) const {
  for (const auto& h : lb_->hosts()) fn(StatsOf(*h));
}

nlohmann::json Cluster::Describe() const {
  nlohmann::json hosts = nlohmann::json::array();
  std::map<std::string, resilience::HostOutlierStats> outliers;
  if (outlier_) {
    for (auto& s : outlier_->stats()) outliers[s.host] = s;
  }
  for (const auto& h : lb_->hosts()) {
    const HostStats& st = StatsOf(*h);
    nlohmann::json j = {{"address", h->address()},
                        {"weight", h->weight()},
                        {"healthy", h->healthy()},
                        {"ejected", h->ejected()},
                        {"draining", h->draining()},
                        {"active_requests", h->active()},
                        {"requests", st.requests->Value()},
                        {"gateway_failures", st.gateway_failures->Value()},
                        {"latency_p50_us", st.latency->Quantile(0.5)},
                        {"latency_p99_us", st.latency->Quantile(0.99)}};
    nlohmann::json codes = nlohmann::json::object();
    for (int i = 0; i < 5; ++i) codes[std::to_string(i + 1) + "xx"] = st.by_class[i]->Value();
    j["responses"] = codes;
    if (st.breaker) {
      auto b = st.breaker->stats();
      j["breaker"] = {{"state", resilience::BreakerStateName(b.state)},
                      {"calls", b.calls},
                      {"failure_rate", b.failure_rate},
                      {"slow_call_rate", b.slow_rate},
                      {"not_permitted", b.not_permitted},
                      {"transitions", b.transitions}};
    }
    if (auto it = outliers.find(h->address()); it != outliers.end()) {
      j["outlier"] = {{"times_ejected", it->second.times_ejected},
                      {"ejections", it->second.ejections},
                      {"last_reason", it->second.last_reason}};
    }
    hosts.push_back(std::move(j));
  }
  nlohmann::json out = {{"name", config_.name},
                        {"policy", lb_->policy()},
                        {"panic", lb_->panic()},
                        {"hosts", std::move(hosts)}};
  if (!config_.service.empty()) out["service"] = config_.service;
  const auto c = limiter_.state();
  out["concurrency"] = {
      {"mode", c.mode}, {"limit", c.limit}, {"in_flight", c.in_flight}, {"rejected", c.rejected}};
  if (c.mode == "adaptive") {
    out["concurrency"]["min_rtt_ms"] = c.min_rtt_ms;
    out["concurrency"]["sample_rtt_ms"] = c.sample_rtt_ms;
    out["concurrency"]["gradient"] = c.gradient;
    out["concurrency"]["measuring_min_rtt"] = c.measuring_min_rtt;
  }
  return out;
}

std::shared_ptr<boost::asio::ssl::context> Cluster::tls_context() const {
  if (!config_.tls.enabled) return nullptr;  // no lock on a plain cluster's request path
  std::lock_guard l(tls_mu_);
  return tls_;
}

void Cluster::set_tls_context(std::shared_ptr<boost::asio::ssl::context> ctx) {
  std::lock_guard l(tls_mu_);
  tls_ = std::move(ctx);
}

std::string Cluster::Fingerprint(const ClusterConfig& c) {
  nlohmann::json j;
  nlohmann::json eps = nlohmann::json::array();
  for (const auto& e : c.endpoints) eps.push_back({e.address, e.weight});
  const auto& b = c.breaker;
  const auto& o = c.outlier;
  j = {{"endpoints", eps},
       {"service", c.service},
       {"tags", c.tags},
       {"policy", c.policy},
       {"hash", {static_cast<int>(c.hash_key.kind), c.hash_key.name}},
       {"timeouts", {c.connect_timeout_ms, c.idle_timeout_ms, c.max_idle_per_host}},
       {"breaker",
        {c.breaker_enabled, static_cast<int>(b.window), b.window_size, b.minimum_calls,
         b.failure_rate_threshold, b.slow_call_rate_threshold, b.slow_call_ms, b.wait_in_open_ms,
         b.open_backoff, b.max_wait_in_open_ms, b.permitted_calls_in_half_open,
         b.max_wait_in_half_open_ms}},
       {"outlier",
        {c.outlier_enabled, o.consecutive_5xx, o.consecutive_gateway_failures, o.interval_ms,
         o.base_ejection_ms, o.max_ejection_ms, o.max_ejection_percent,
         o.success_rate_minimum_hosts, o.success_rate_request_volume, o.success_rate_stdev_factor}},
       {"panic", c.panic_threshold},
       {"slow_start", c.slow_start_ms},
       {"concurrency", resilience::ConcurrencyLimitText(c.concurrency)},
       {"tls",
        {c.tls.enabled, c.tls.ca_cert_file, c.tls.cert_file, c.tls.key_file, c.tls.server_name,
         c.tls.verify}}};
  return j.dump();
}

}  // namespace pier::proxy
