#include "proxy/runtime.h"

#include "proxy/proxy_metric_names.h"

namespace pier::proxy {

std::string_view HostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {  // [::1]:80
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool Route::Matches(const HttpHead& head, std::string_view host, std::string_view path) const {
  const std::string& want = config.host;
  if (!want.empty()) {
    if (want.size() > 2 && want[0] == '*' && want[1] == '.') {
      const std::string_view suffix = std::string_view(want).substr(1);  // ".example.com"
      if (host.size() <= suffix.size() ||
          !EqualsIgnoreCase(host.substr(host.size() - suffix.size()), suffix)) {
        return false;
      }
    } else if (!EqualsIgnoreCase(host, want)) {
      return false;
    }
  }
  if (path.substr(0, config.path_prefix.size()) != config.path_prefix) return false;
  for (const auto& [name, value] : config.headers) {
    if (head.Find(name) != value) return false;
  }
  return true;
}

void Route::Count(int status, int64_t duration_us) const {
  requests->Inc();
  if (status >= 100 && status < 600) by_class[status / 100 - 1]->Inc();
  latency->Record(static_cast<uint64_t>(duration_us < 0 ? 0 : duration_us));
}

Cluster& Route::PickCluster(uint64_t random) const {
  if (split.empty()) return *cluster;
  const uint64_t r = random % split_upto.back();
  size_t i = 0;
  while (split_upto[i] <= r) ++i;
  return *split[i];
}

const Route* ListenerRuntime::Match(const HttpHead& head, std::string_view host,
                                    std::string_view path) const {
  for (const auto& r : routes) {
    if (r.Matches(head, host, path)) return &r;
  }
  return nullptr;
}

std::shared_ptr<const Runtime> BuildRuntime(
    const ProxyConfig& config, const Runtime* previous, metrics::Registry& metrics,
    const std::map<std::string, std::shared_ptr<AccessLog>>& access_logs) {
  auto rt = std::make_shared<Runtime>();
  for (const auto& c : config.clusters) {
    std::shared_ptr<Cluster> keep;
    if (previous != nullptr) {
      auto it = previous->clusters.find(c.name);
      if (it != previous->clusters.end() &&
          Cluster::Fingerprint(it->second->config()) == Cluster::Fingerprint(c)) {
        keep = it->second;
      }
    }
    rt->clusters[c.name] = keep ? keep : std::make_shared<Cluster>(c, metrics);
  }
  for (const auto& lc : config.listeners) {
    ListenerRuntime l;
    l.config = lc;
    if (lc.mode == ListenerConfig::Mode::kTcp) l.tcp_cluster = rt->clusters.at(lc.cluster);
    if (auto log = access_logs.find(lc.access_log_path); log != access_logs.end()) {
      l.access_log = log->second;
      l.access_filter = {.errors_only = lc.access_log_errors_only,
                         .slower_than_us = lc.access_log_slower_than_ms * 1000,
                         .sample = lc.access_log_sample};
    }
    for (const auto& rc : lc.routes) {
      Route r;
      r.config = rc;
      r.name = rc.name.empty() ? rc.host + rc.path_prefix : rc.name;
      if (rc.split.empty()) {
        r.cluster = rt->clusters.at(rc.cluster);
      } else {
        uint64_t upto = 0;
        for (const auto& w : rc.split) {
          r.split.push_back(rt->clusters.at(w.cluster));
          r.split_upto.push_back(upto += w.weight);
        }
      }
      r.retry = resilience::RetryPolicy(rc.retries);
      r.budget = std::make_shared<resilience::RetryBudget>(rc.retry_budget_percent);
      const metrics::Labels labels = {{"listener", lc.name}, {"route", r.name}};
      r.requests =
          &metrics.GetCounter(metric_names::kRequestsTotal, "Requests answered per route.", labels);
      static constexpr const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
      for (int i = 0; i < 5; ++i) {
        auto lab = labels;
        lab.emplace_back("code", kClasses[i]);
        r.by_class[i] = &metrics.GetCounter(metric_names::kResponsesTotal,
                                            "Responses per route by status class.", lab);
      }
      r.retries = &metrics.GetCounter(metric_names::kRetriesTotal, "Retries per route.", labels);
      r.latency = &metrics.GetHistogram(metric_names::kRequestDurationSeconds,
                                        "Time from a request's head to its response's head.",
                                        labels, 1e-6, 4, 26);
      l.routes.push_back(std::move(r));
    }
    rt->listeners[lc.name] = std::move(l);
  }
  return rt;
}

}  // namespace pier::proxy
