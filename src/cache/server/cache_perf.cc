// The cache's analyzer source (cache_perf.h) and CacheServer::AttachTo, which registers it
// and the tuning knobs (cache.policy, cache.maxmemory).
#include "cache/server/cache_perf.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "cache/server/cache_metric_names.h"
#include "cache/server/database.h"
#include "cache/server/keyspace.h"
#include "pier/cache/cache_server.h"
#include "pier/perf/analyzer.h"
#include "pier/perf/trend.h"
#include "pier/perf/tuner.h"

namespace pier::cache {
namespace server {

namespace {

namespace names = metric_names;
using perf::EvidenceOf;
using perf::Fmt;
using perf::Mean;

class Source : public perf::Source {
 public:
  explicit Source(std::function<Curve()> read) : read_(std::move(read)) {
    inputs = {{names::kCommandsTotal, "cache.ops"},
              {names::kKeyspaceHitsTotal, "cache.hits"},
              {names::kKeyspaceMissesTotal, "cache.misses"},
              {names::kEvictedKeysTotal, "cache.evicted"},
              {names::kUsedMemoryBytes, "cache.used_bytes", perf::Input::kGauge},
              {names::kCommandDurationSeconds, "cache.latency", perf::Input::kHistogram}};
  }

  void Refresh() override {
    Curve c = read_();
    std::lock_guard l(mu_);
    curve_ = std::move(c);
  }

  void Derive(perf::Sampling& s) const override {
    if (!s.Has("cache.ops")) return;
    s.Record("cache.ops_per_s", s.Rate("cache.ops"));
    s.Record("cache.evictions_per_s", s.Rate("cache.evicted"));
    const double h = s.Delta("cache.hits"), m = s.Delta("cache.misses");
    if (h + m > 0) s.Record("cache.hit_ratio", h / (h + m));
    s.RecordLatency("cache.latency", "cache");
  }

  void Suggest(const perf::Analyzer& a, std::vector<perf::Suggestion>* out) const override {
    if (auto s = perf::LatencyRule(a, "cache", "cache.p99_ms", "cache.ops_per_s")) {
      out->push_back(*s);
    }
    const Curve c = curve();
    const Curve::Point* current = c.Find(c.policy, 1);
    const Curve::Point* best = c.Best();
    if (!current || !best || current->lookups < 1000) return;
    const Curve::Point* bigger = c.Find(c.policy, 2);
    const Curve::Point* smaller = c.Find(c.policy, 0.5);
    const int64_t iv = a.options().interval_ms;
    const auto actual = a.Recent("cache.hit_ratio", a.options().window);
    const auto lately = a.Recent("cache.hit_ratio", 10);  // past the warm-up of a fresh cache
    // Confidence: enough sampled lookups, and the shadow agreeing with the real hit ratio.
    const double calibration =
        lately.empty() ? 0.5 : std::max(0.0, 1 - 10 * std::abs(current->hit_ratio - Mean(lately)));
    // Full volume at 5,000 sampled lookups: a hit ratio's standard error under one point.
    const double volume = std::min(1.0, static_cast<double>(current->lookups) / 5000);
    const double confidence = std::clamp(0.3 + 0.7 * volume * calibration, 0.0, 1.0);
    if (best->policy != c.policy && best->hit_ratio - current->hit_ratio >= 0.02) {
      perf::Suggestion s;
      s.area = "cache";
      s.title = "switch maxmemory-policy to " + best->policy;
      s.why = Fmt("hit ratio %.1f%% with ", Mean(lately) * 100) + c.policy +
              "; the shadow simulation of the live key stream predicts " +
              Fmt("%.1f%% for ", current->hit_ratio * 100) + c.policy + " and " +
              Fmt("%.1f%% for ", best->hit_ratio * 100) + best->policy + " at the same size";
      s.effect = Fmt("hit ratio +%.1f points", (best->hit_ratio - current->hit_ratio) * 100);
      s.confidence = confidence;
      s.evidence.push_back(EvidenceOf("cache.hit_ratio", actual, iv,
                                      std::to_string(current->lookups) + " sampled lookups"));
      s.knob = "cache.policy";
      s.value = best->policy;
      out->push_back(s);
    }
    if (bigger && bigger->hit_ratio - current->hit_ratio >= 0.05) {
      perf::Suggestion s;
      s.area = "memory";
      s.title = "raise maxmemory to " + std::to_string(bigger->bytes) + " bytes";
      s.why = Fmt("the shadow predicts %.1f%% hits at twice the size, against %.1f%% now",
                  bigger->hit_ratio * 100, current->hit_ratio * 100);
      s.effect = Fmt("hit ratio +%.1f points", (bigger->hit_ratio - current->hit_ratio) * 100);
      s.confidence = confidence;
      s.evidence.push_back(EvidenceOf("cache.hit_ratio", actual, iv));
      s.knob = "cache.maxmemory";
      s.value = std::to_string(bigger->bytes);
      out->push_back(s);
    } else if (smaller && current->hit_ratio - smaller->hit_ratio < 0.005) {
      perf::Suggestion s;
      s.area = "memory";
      s.title = "maxmemory could be halved to " + std::to_string(smaller->bytes) + " bytes";
      s.why = Fmt("the shadow predicts %.1f%% hits at half the size, %.1f%% now",
                  smaller->hit_ratio * 100, current->hit_ratio * 100);
      s.effect = "half the cache memory for under half a point of hit ratio";
      s.confidence = confidence * 0.8;
      out->push_back(s);
    }
  }

  void Score(const perf::Analyzer& a, perf::ScoreCard* card) const override {
    const auto p99 = a.Recent("cache.p99_ms", a.options().window);
    card->p99_ms.insert(card->p99_ms.end(), p99.begin(), p99.end());
    const Curve c = curve();
    const Curve::Point* best = c.Best();
    const Curve::Point* current = c.Find(c.policy, 1);
    if (!best || best->hit_ratio <= 0) return;
    const double now = current ? current->hit_ratio : 0;
    card->areas["cache"] = {std::clamp(now / best->hit_ratio, 0.0, 1.0), 10};
    card->notes.push_back("cache: hit ratio against the best policy's predicted at this size");
  }

  void Describe(nlohmann::json* snapshot) const override {
    const Curve c = curve();
    nlohmann::json points = nlohmann::json::array();
    for (const auto& p : c.points) {
      points.push_back({{"policy", p.policy},
                        {"size_factor", p.size_factor},
                        {"bytes", p.bytes},
                        {"hit_ratio", p.hit_ratio},
                        {"lookups", p.lookups}});
    }
    (*snapshot)["cache"] = {{"policy", c.policy}, {"maxmemory", c.maxmemory}, {"curve", points}};
  }

 private:
  Curve curve() const {
    std::lock_guard l(mu_);
    return curve_;
  }

  std::function<Curve()> read_;
  mutable std::mutex mu_;
  Curve curve_;
};

}  // namespace

std::shared_ptr<perf::Source> PerfSource(std::function<Curve()> read) {
  return std::make_shared<Source>(std::move(read));
}

}  // namespace server

void CacheServer::AttachTo(perf::Analyzer& analyzer, perf::Tuner& tuner) {
  server::Database& db = this->db();
  analyzer.AddSource(server::PerfSource([&db] {
    server::Curve c;
    c.policy = db.policy_name();
    c.maxmemory = db.maxmemory();
    for (const auto& p : db.shadow().Curve(db.ShadowLookups())) {
      c.points.push_back(
          {"allkeys-" + p.policy, p.size_factor, p.capacity, p.hit_ratio, p.lookups});
    }
    return c;
  }));
  tuner.AddKnob({.name = "cache.policy",
                 .get = [&db] { return db.policy_name(); },
                 .set = [&db](const std::string& v) { return db.SetPolicy(v); },
                 .objective = "cache.hit_ratio",
                 .guards = {"cache.p99_ms"}});
  tuner.AddKnob({.name = "cache.maxmemory",
                 .get = [&db] { return std::to_string(db.maxmemory()); },
                 .set =
                     [&db](const std::string& v) {
                       auto bytes = perf::ParseCount("cache.maxmemory", v);
                       return bytes.ok() ? db.SetMaxMemory(*bytes) : bytes.status();
                     },
                 .objective = "cache.hit_ratio",
                 .guards = {"cache.p99_ms"}});
}

Status CacheServer::CheckPolicyName(const std::string& name) {
  auto policy = server::ParseEvictionPolicy(name);
  return policy.ok() ? Status::Ok() : policy.status();
}

}  // namespace pier::cache
