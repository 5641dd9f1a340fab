// Analyzer's sampling and history (analyzer.h); the suggestions and the score are in advisor.cc.
#include "pier/perf/analyzer.h"

#include <time.h>
#include <unistd.h>

#include <cmath>
#include <limits>

#include "perf/process_source.h"
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

// Reads every source's inputs from the registry in one pass.
Reading Read(metrics::Registry& metrics, const std::vector<std::shared_ptr<Source>>& sources) {
  std::map<std::string, std::vector<const Input*>> by_metric;
  for (const auto& s : sources) {
    for (const Input& in : s->inputs) by_metric[in.metric].push_back(&in);
  }
  Reading r;
  metrics.Visit([&](const metrics::Registry::Sample& m) {
    auto it = by_metric.find(m.name);
    if (it == by_metric.end()) return;
    for (const Input* in : it->second) {
      if (!in->label.empty() && Label(m.labels, in->label) != in->label_value) continue;
      const std::string key =
          in->per_host ? in->key + ":" + Label(m.labels, "cluster") + "/" + Label(m.labels, "host")
                       : in->key;
      switch (in->kind) {
        case Input::kCounter:
          r.counters[key] += m.value;
          break;
        case Input::kGauge:
          r.gauges[key] += m.value;
          break;
        case Input::kMax:
          r.gauges[key] = r.gauges.count(key) ? std::max(r.gauges[key], m.value) : m.value;
          break;
        case Input::kHistogram:
          if (m.histogram) r.Add(key, *m.histogram);
          break;
      }
    }
  });
  return r;
}

// A sample's differences with the previous one, for the sources' Derive (under the lock).
class SamplingOf : public Sampling {
 public:
  SamplingOf(const Reading& now, const std::map<std::string, double>& prev_counters,
             const std::map<std::string, metrics::Histogram::Counts>& prev_histograms,
             double seconds, std::function<void(const std::string&, double)> record)
      : now_(now),
        prev_counters_(prev_counters),
        prev_histograms_(prev_histograms),
        seconds_(seconds),
        record_(std::move(record)) {}

  bool Has(const std::string& key) const override { return now_.counters.count(key) > 0; }
  double Delta(const std::string& key) const override {
    auto it = prev_counters_.find(key);
    const double before = it == prev_counters_.end() ? 0 : it->second;
    auto n = now_.counters.find(key);
    const double v = n == now_.counters.end() ? before : n->second;
    return std::max(0.0, v - before);
  }
  double seconds() const override { return seconds_; }
  double QuantileMs(const std::string& key, double q) const override {
    auto it = now_.histograms.find(key);
    if (it == now_.histograms.end()) return std::numeric_limits<double>::quiet_NaN();
    metrics::Histogram::Counts diff = it->second.first;
    if (auto p = prev_histograms_.find(key); p != prev_histograms_.end()) {
      for (size_t i = 0; i < diff.size(); ++i) {
        diff[i] = diff[i] >= p->second[i] ? diff[i] - p->second[i] : 0;
      }
    }
    uint64_t n = 0;
    for (uint64_t c : diff) n += c;
    if (n == 0) return std::numeric_limits<double>::quiet_NaN();
    return static_cast<double>(metrics::Histogram::QuantileOf(diff, q)) * it->second.second * 1000;
  }
  std::vector<std::string> Keys(const std::string& prefix) const override {
    std::vector<std::string> out;
    for (auto it = now_.counters.lower_bound(prefix);
         it != now_.counters.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      out.push_back(it->first);
    }
    return out;
  }
  void Record(const std::string& series, double value) override { record_(series, value); }

 private:
  const Reading& now_;
  const std::map<std::string, double>& prev_counters_;
  const std::map<std::string, metrics::Histogram::Counts>& prev_histograms_;
  double seconds_;
  std::function<void(const std::string&, double)> record_;
};

}  // namespace

Analyzer::Analyzer(metrics::Registry& metrics, AnalyzerOptions options, Clock clock)
    : metrics_(metrics), options_(options), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return SteadyNowMs(); };
  if (options_.cores <= 0) options_.cores = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  sources_.push_back(ProcessSource());
}

Analyzer::~Analyzer() { Stop(); }

void Analyzer::AddSource(std::shared_ptr<Source> source) {
  std::lock_guard l(mu_);
  sources_.push_back(std::move(source));
}

std::vector<std::shared_ptr<Source>> Analyzer::Sources() const {
  std::lock_guard l(mu_);
  return sources_;
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
  const std::vector<std::shared_ptr<Source>> sources = Sources();
  for (const auto& s : sources) s->Refresh();
  Reading now = Read(metrics_, sources);

  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard l(mu_);
    for (const auto& [k, v] : now.gauges) RecordLocked(k, t, v);
    const bool first = prev_.t_ms == 0;
    const double dt = first ? 0 : static_cast<double>(t - prev_.t_ms) / 1000;
    if (!first && dt > 0) {
      SamplingOf sampling(now, prev_.counters, prev_.histograms, dt,
                          [&](const std::string& series, double v) { RecordLocked(series, t, v); });
      for (const auto& s : sources) s->Derive(sampling);
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

nlohmann::json Analyzer::History(const std::string& name) const {
  std::lock_guard l(mu_);
  nlohmann::json out = nlohmann::json::array();
  auto it = series_.find(name);
  if (it == series_.end()) return out;
  for (const auto& [t, v] : it->second.points) out.push_back({t, v});
  return out;
}

nlohmann::json Analyzer::Snapshot() const {
  const std::vector<std::shared_ptr<Source>> sources = Sources();
  nlohmann::json out;
  for (const auto& s : sources) s->Describe(&out);
  std::lock_guard l(mu_);
  nlohmann::json series = nlohmann::json::object();
  for (const auto& [k, s] : series_) {
    if (!s.points.empty()) series[k] = s.points.back().second;
  }
  out.update(
      {{"t_ms", prev_.t_ms},
       {"interval_ms", options_.interval_ms},
       {"cores", options_.cores},
       {"series", series},
       {"series_dropped", dropped_series_},
       {"analyzer",
        {{"sample_cpu_us", sample_cost_us_},
         {"cpu_share", sample_cost_us_ / (static_cast<double>(options_.interval_ms) * 1000)}}}});
  return out;
}

}  // namespace pier::perf
