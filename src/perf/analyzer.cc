// Analyzer's sampling and history (analyzer.h); the suggestions and the score are in advisor.cc.
#include "pier/perf/analyzer.h"

#include <time.h>
#include <unistd.h>

#include <cmath>
#include <limits>

#include "pier/base/clock.h"

namespace pier::perf {

namespace {

std::string Label(const metrics::Labels& labels, const std::string& key) {
  for (const auto& [k, v] : labels) {
    if (k == key) return v;
  }
  return "";
}

double ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// What one Sample() reads, before differences with the previous one.
struct Reading {
  std::map<std::string, double> counters;  // cumulative
  std::map<std::string, double> gauges;
  std::map<std::string, std::pair<metrics::Histogram::Counts, double>> histograms;  // counts, scale

  void Add(const std::string& key, const metrics::Histogram& h) {
    auto& [counts, scale] = histograms[key];
    const auto b = h.Buckets();
    for (size_t i = 0; i < b.size(); ++i) counts[i] += b[i];
    scale = h.scale();
  }
};

Reading Read(metrics::Registry& metrics) {
  Reading r;
  metrics.Visit([&r](const metrics::Registry::Sample& m) {
    const std::string& n = m.name;
    const std::string host = Label(m.labels, "cluster") + "/" + Label(m.labels, "host");
    if (n == "process_cpu_seconds_total") {
      r.counters["process.cpu"] = m.value;
    } else if (n == "process_resident_memory_bytes") {
      r.gauges["process.rss_bytes"] = m.value;
    } else if (n == "process_threads") {
      r.gauges["process.threads"] = m.value;
    } else if (n == "process_open_fds") {
      r.gauges["process.fds"] = m.value;
    } else if (n == "pier_cache_commands_total") {
      r.counters["cache.ops"] += m.value;
    } else if (n == "pier_cache_keyspace_hits_total") {
      r.counters["cache.hits"] += m.value;
    } else if (n == "pier_cache_keyspace_misses_total") {
      r.counters["cache.misses"] += m.value;
    } else if (n == "pier_cache_evicted_keys_total") {
      r.counters["cache.evicted"] += m.value;
    } else if (n == "pier_cache_used_memory_bytes") {
      r.gauges["cache.used_bytes"] += m.value;
    } else if (n == "pier_cache_command_duration_seconds" && m.histogram) {
      r.Add("cache.latency", *m.histogram);
    } else if (n == "pier_proxy_requests_total") {
      r.counters["proxy.requests"] += m.value;
    } else if (n == "pier_proxy_responses_total" && Label(m.labels, "code") == "5xx") {
      r.counters["proxy.5xx"] += m.value;
    } else if (n == "pier_proxy_request_duration_seconds" && m.histogram) {
      r.Add("proxy.latency", *m.histogram);
    } else if (n == "pier_proxy_upstream_latency_seconds" && m.histogram) {
      r.Add("host:" + host, *m.histogram);
    } else if (n == "pier_proxy_upstream_requests_total") {
      r.counters["host.requests:" + host] += m.value;
    } else if (n == "pier_proxy_breaker_transitions_total") {
      r.counters["host.transitions:" + host] += m.value;
    } else if (n == "pier_proxy_cluster_requests_in_flight") {
      r.gauges["proxy.in_flight"] += m.value;
    } else if (n == "pier_proxy_concurrency_rejected_total") {
      r.counters["proxy.rejected"] += m.value;
    } else if (n == "pier_queue_consume_calls_total") {
      r.counters["queue.consume_calls"] += m.value;
    } else if (n == "pier_queue_consumed_messages_total") {
      r.counters["queue.consumed"] += m.value;
    } else if (n == "pier_queue_consume_batch") {
      r.gauges["queue.consume_batch"] = m.value;
    } else if (n == "pier_proxy_host_ejected") {
      r.gauges["proxy.ejected_hosts"] += m.value;
    } else if (n == "pier_queue_published_total") {
      r.counters["queue.published"] += m.value;
    } else if (n == "pier_queue_log_fsyncs_total") {
      r.counters["queue.fsyncs"] += m.value;
    } else if (n == "pier_queue_acked_total") {
      r.counters["queue.acked"] += m.value;
    } else if (n == "pier_queue_ready_messages") {
      r.gauges["queue.ready"] += m.value;
    } else if (n == "pier_queue_oldest_ready_age_seconds") {
      r.gauges["queue.oldest_age_s"] = std::max(r.gauges["queue.oldest_age_s"], m.value);
    } else if (n == "pier_queue_dead_messages") {
      r.gauges["queue.dead"] += m.value;
    } else if (n == "pier_registry_instances") {
      r.gauges["registry.instances"] += m.value;
    } else if (n == "pier_registry_probe_lag_seconds" && m.histogram) {
      r.Add("registry.lag", *m.histogram);
    }
  });
  return r;
}

}  // namespace

Analyzer::Analyzer(metrics::Registry& metrics, AnalyzerOptions options, Clock clock)
    : metrics_(metrics), options_(options), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return SteadyNowMs(); };
  if (options_.cores <= 0) options_.cores = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
}

Analyzer::~Analyzer() { Stop(); }

void Analyzer::SetCacheSource(std::function<CacheView()> source) {
  std::lock_guard l(mu_);
  cache_source_ = std::move(source);
}

void Analyzer::OnSample(std::function<void()> fn) {
  std::lock_guard l(mu_);
  on_sample_.push_back(std::move(fn));
}

void Analyzer::Start() {
  std::lock_guard l(run_mu_);
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] {
    std::unique_lock l(run_mu_);
    while (running_) {
      l.unlock();
      Sample();
      l.lock();
      run_cv_.wait_for(l, std::chrono::milliseconds(options_.interval_ms),
                       [this] { return !running_; });
    }
  });
}

void Analyzer::Stop() {
  {
    std::lock_guard l(run_mu_);
    running_ = false;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Analyzer::Record(const std::string& name, int64_t t_ms, double value) {
  std::lock_guard l(mu_);
  RecordLocked(name, t_ms, value);
}

Analyzer::Series* Analyzer::SeriesLocked(const std::string& name) {
  auto it = series_.find(name);
  if (it == series_.end()) {
    if (series_.size() >= options_.max_series) {
      ++dropped_series_;
      return nullptr;
    }
    it = series_.emplace(name, Series{}).first;
  }
  return &it->second;
}

void Analyzer::RecordLocked(const std::string& name, int64_t t_ms, double value) {
  Series* s = SeriesLocked(name);
  if (s == nullptr) return;
  auto& pts = s->points;
  pts.emplace_back(t_ms, value);
  while (pts.size() > options_.history) pts.pop_front();
}

void Analyzer::Sample() {
  const double cpu0 = ThreadCpuUs();
  const int64_t t = clock_();
  Reading now = Read(metrics_);
  std::function<CacheView()> source;
  {
    std::lock_guard l(mu_);
    source = cache_source_;
  }
  CacheView cache = source ? source() : CacheView{};

  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard l(mu_);
    cache_ = std::move(cache);
    for (const auto& [k, v] : now.gauges) RecordLocked(k, t, v);
    const bool first = prev_.t_ms == 0;
    const double dt = first ? 0 : static_cast<double>(t - prev_.t_ms) / 1000;
    auto delta = [&](const std::string& k) {
      auto it = prev_.counters.find(k);
      const double before = it == prev_.counters.end() ? 0 : it->second;
      const double v = now.counters.count(k) ? now.counters.at(k) : before;
      return std::max(0.0, v - before);
    };
    // A quantile in ms of a histogram's samples since the previous reading; NaN without any.
    auto quantile_ms = [&](const std::string& k, double q) {
      auto it = now.histograms.find(k);
      if (it == now.histograms.end()) return std::numeric_limits<double>::quiet_NaN();
      metrics::Histogram::Counts diff = it->second.first;
      if (auto p = prev_.histograms.find(k); p != prev_.histograms.end()) {
        for (size_t i = 0; i < diff.size(); ++i) {
          diff[i] = diff[i] >= p->second[i] ? diff[i] - p->second[i] : 0;
        }
      }
      uint64_t n = 0;
      for (uint64_t c : diff) n += c;
      if (n == 0) return std::numeric_limits<double>::quiet_NaN();
      return static_cast<double>(metrics::Histogram::QuantileOf(diff, q)) * it->second.second *
             1000;
    };
    auto p99_ms = [&](const std::string& k) { return quantile_ms(k, 0.99); };
    // p50 and p99 of a module's latency histogram, as SERIES.p50_ms and SERIES.p99_ms.
    auto latency = [&](const std::string& k, const std::string& series) {
      if (double p = quantile_ms(k, 0.99); !std::isnan(p)) {
        RecordLocked(series + ".p99_ms", t, p);
        RecordLocked(series + ".p50_ms", t, quantile_ms(k, 0.5));
      }
    };
    if (!first && dt > 0) {
      auto rate = [&](const std::string& k) { return delta(k) / dt; };
      if (now.counters.count("process.cpu"))
        RecordLocked("process.cpu_cores", t, rate("process.cpu"));
      if (now.counters.count("cache.ops")) {
        RecordLocked("cache.ops_per_s", t, rate("cache.ops"));
        RecordLocked("cache.evictions_per_s", t, rate("cache.evicted"));
        const double h = delta("cache.hits"), m = delta("cache.misses");
        if (h + m > 0) RecordLocked("cache.hit_ratio", t, h / (h + m));
        latency("cache.latency", "cache");
      }
      if (now.counters.count("proxy.requests")) {
        const double req = delta("proxy.requests");
        RecordLocked("proxy.rps", t, req / dt);
        RecordLocked("proxy.error_ratio", t, req > 0 ? delta("proxy.5xx") / req : 0);
        RecordLocked("proxy.rejected_per_s", t, rate("proxy.rejected"));
        latency("proxy.latency", "proxy");
      }
      for (const auto& [k, v] : now.counters) {
        if (k.rfind("host.requests:", 0) == 0) {
          const std::string host = k.substr(14);
          RecordLocked("proxy.host.rps{" + host + "}", t, rate(k));
          if (double p = p99_ms("host:" + host); !std::isnan(p)) {
            RecordLocked("proxy.host.p99_ms{" + host + "}", t, p);
          }
        } else if (k.rfind("host.transitions:", 0) == 0) {
          RecordLocked("proxy.breaker_transitions{" + k.substr(17) + "}", t, delta(k));
        }
      }
      if (now.counters.count("queue.published")) {
        RecordLocked("queue.publish_per_s", t, rate("queue.published"));
        RecordLocked("queue.ack_per_s", t, rate("queue.acked"));
        RecordLocked("queue.fsyncs_per_s", t, rate("queue.fsyncs"));
        const double calls = delta("queue.consume_calls");
        if (calls > 0)
          RecordLocked("queue.messages_per_consume", t, delta("queue.consumed") / calls);
      }
      if (double p = p99_ms("registry.lag"); !std::isnan(p)) {
        RecordLocked("registry.probe_lag_p99_ms", t, p);
      }
    }
    prev_.counters = std::move(now.counters);
    prev_.histograms.clear();
    for (auto& [k, v] : now.histograms) prev_.histograms[k] = v.first;
    prev_.t_ms = t;
    sample_cost_us_ = ThreadCpuUs() - cpu0;
    RecordLocked("analyzer.sample_cpu_us", t, sample_cost_us_);
    hooks = on_sample_;
  }
  for (const auto& fn : hooks) fn();
}

std::vector<double> Analyzer::Recent(const std::string& name, size_t n) const {
  std::lock_guard l(mu_);
  std::vector<double> out;
  auto it = series_.find(name);
  if (it == series_.end()) return out;
  const auto& pts = it->second.points;
  const size_t from = pts.size() > n ? pts.size() - n : 0;
  for (size_t i = from; i < pts.size(); ++i) out.push_back(pts[i].second);
  return out;
}

double Analyzer::MeanBetween(const std::string& name, int64_t from_ms, int64_t to_ms) const {
  std::lock_guard l(mu_);
  auto it = series_.find(name);
  double sum = 0;
  size_t n = 0;
  if (it != series_.end()) {
    for (const auto& [t, v] : it->second.points) {
      if (t >= from_ms && t <= to_ms) {
        sum += v;
        ++n;
      }
    }
  }
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(n);
}

std::vector<std::string> Analyzer::SeriesNames() const {
  std::lock_guard l(mu_);
  std::vector<std::string> out;
  for (const auto& [k, _] : series_) out.push_back(k);
  return out;
}

CacheView Analyzer::cache() const {
  std::lock_guard l(mu_);
  return cache_;
}

nlohmann::json Analyzer::History(const std::string& name) const {
  std::lock_guard l(mu_);
  nlohmann::json out = nlohmann::json::array();
  auto it = series_.find(name);
  if (it == series_.end()) return out;
  for (const auto& [t, v] : it->second.points) out.push_back({t, v});
  return out;
}

nlohmann::json Analyzer::Snapshot() const {
  std::lock_guard l(mu_);
  nlohmann::json series = nlohmann::json::object();
  for (const auto& [k, s] : series_) {
    if (!s.points.empty()) series[k] = s.points.back().second;
  }
  nlohmann::json out = {
      {"t_ms", prev_.t_ms},
      {"interval_ms", options_.interval_ms},
      {"cores", options_.cores},
      {"series", series},
      {"series_dropped", dropped_series_},
      {"analyzer",
       {{"sample_cpu_us", sample_cost_us_},
        {"cpu_share", sample_cost_us_ / (static_cast<double>(options_.interval_ms) * 1000)}}}};
  if (cache_.present) {
    nlohmann::json curve = nlohmann::json::array();
    for (const auto& p : cache_.curve) {
      curve.push_back({{"policy", p.policy},
                       {"size_factor", p.size_factor},
                       {"bytes", p.bytes},
                       {"hit_ratio", p.hit_ratio},
                       {"lookups", p.lookups}});
    }
    out["cache"] = {{"policy", cache_.policy}, {"maxmemory", cache_.maxmemory}, {"curve", curve}};
  }
  return out;
}

}  // namespace pier::perf
