// The analyzer's suggestion rules and score (analyzer.h). Each rule reads the last
// `options.window` points of its series and says what it saw (evidence), what to do, what it
// should change, and how sure it is. docs/perf.md lists the rules and how the score is made.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "pier/perf/analyzer.h"
#include "pier/perf/trend.h"

namespace pier::perf {

namespace {

std::string Fmt(const char* fmt, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d);
  return buf;
}

Evidence Of(const std::string& series, const std::vector<double>& v, int64_t interval_ms,
            std::string note = "") {
  Evidence e;
  e.series = series;
  e.window_s = static_cast<int64_t>(v.size()) * interval_ms / 1000;
  if (!v.empty()) {
    e.first = v.front();
    e.last = v.back();
    e.mean = Mean(v);
  }
  e.note = std::move(note);
  return e;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The value inside "name{...}".
std::string Inside(const std::string& s) {
  const size_t a = s.find('{'), b = s.rfind('}');
  return a == std::string::npos || b == std::string::npos ? "" : s.substr(a + 1, b - a - 1);
}

}  // namespace

std::vector<Suggestion> Analyzer::Suggestions() const {
  std::vector<Suggestion> out;
  const size_t w = options_.window;
  const int64_t iv = options_.interval_ms;

  // Cache: a policy or size the shadow simulation predicts a better hit ratio for.
  const CacheView c = cache();
  if (c.present && !c.curve.empty()) {
    const CacheView::Point* current = nullptr;
    const CacheView::Point* best = nullptr;
    const CacheView::Point* bigger = nullptr;
    const CacheView::Point* smaller = nullptr;
    for (const auto& p : c.curve) {
      if (p.size_factor == 1 && p.policy == c.policy) current = &p;
      if (p.size_factor == 1 && (!best || p.hit_ratio > best->hit_ratio)) best = &p;
    }
    for (const auto& p : c.curve) {
      if (current && p.policy == c.policy && p.size_factor == 2) bigger = &p;
      if (current && p.policy == c.policy && p.size_factor == 0.5) smaller = &p;
    }
    const auto actual = Recent("cache.hit_ratio", w);
    const auto lately = Recent("cache.hit_ratio", 10);  // past the warm-up of a fresh cache
    if (current && best && current->lookups >= 1000) {
      // Confidence: enough sampled lookups, and the shadow agreeing with the real hit ratio.
      const double calibration =
          lately.empty() ? 0.5
                         : std::max(0.0, 1 - 10 * std::abs(current->hit_ratio - Mean(lately)));
      // Full volume at 5,000 sampled lookups: a hit ratio's standard error under one point.
      const double volume = std::min(1.0, static_cast<double>(current->lookups) / 5000);
      const double confidence = std::clamp(0.3 + 0.7 * volume * calibration, 0.0, 1.0);
      if (best->policy != c.policy && best->hit_ratio - current->hit_ratio >= 0.02) {
        Suggestion s;
        s.area = "cache";
        s.title = "switch maxmemory-policy to " + best->policy;
        s.why = Fmt("hit ratio %.1f%% with ", Mean(lately) * 100) + c.policy +
                "; the shadow simulation of the live key stream predicts " +
                Fmt("%.1f%% for ", current->hit_ratio * 100) + c.policy + " and " +
                Fmt("%.1f%% for ", best->hit_ratio * 100) + best->policy + " at the same size";
        s.effect = Fmt("hit ratio +%.1f points", (best->hit_ratio - current->hit_ratio) * 100);
        s.confidence = confidence;
        s.evidence.push_back(Of("cache.hit_ratio", actual, iv,
                                std::to_string(current->lookups) + " sampled lookups"));
        s.knob = "cache.policy";
        s.value = best->policy;
        out.push_back(s);
      }
      if (bigger && bigger->hit_ratio - current->hit_ratio >= 0.05) {
        Suggestion s;
        s.area = "memory";
        s.title = "raise maxmemory to " + std::to_string(bigger->bytes) + " bytes";
        s.why = Fmt("the shadow predicts %.1f%% hits at twice the size, against %.1f%% now",
                    bigger->hit_ratio * 100, current->hit_ratio * 100);
        s.effect = Fmt("hit ratio +%.1f points", (bigger->hit_ratio - current->hit_ratio) * 100);
        s.confidence = confidence;
        s.evidence.push_back(Of("cache.hit_ratio", actual, iv));
        s.knob = "cache.maxmemory";
        s.value = std::to_string(bigger->bytes);
        out.push_back(s);
      } else if (smaller && current->hit_ratio - smaller->hit_ratio < 0.005) {
        Suggestion s;
        s.area = "memory";
        s.title = "maxmemory could be halved to " + std::to_string(smaller->bytes) + " bytes";
        s.why = Fmt("the shadow predicts %.1f%% hits at half the size, %.1f%% now",
                    smaller->hit_ratio * 100, current->hit_ratio * 100);
        s.effect = "half the cache memory for under half a point of hit ratio";
        s.confidence = confidence * 0.8;
        out.push_back(s);
      }
    }
  }

  // Queue: a backlog growing because consumers drain slower than producers publish.
  const auto ready = Recent("queue.ready", w);
  const auto pub = Recent("queue.publish_per_s", w), ack = Recent("queue.ack_per_s", w);
  if (ready.size() >= 10 && Slope(ready) > 0 && Mean(pub) > 1.05 * Mean(ack) && Mean(pub) > 0) {
    Suggestion s;
    s.area = "queue";
    const double factor = Mean(ack) > 0 ? Mean(pub) / Mean(ack) : 0;
    s.title = factor > 0
                  ? Fmt("add consumers: about %.1fx the ones running", std::ceil(factor * 10) / 10)
                  : "start consumers: nothing acknowledges";
    s.why =
        Fmt("the backlog grows by %.1f messages/s (%.0f -> %.0f); publish %.1f/s",
            Slope(ready) * 1000 / static_cast<double>(iv), ready.front(), ready.back(), Mean(pub)) +
        Fmt(", acknowledge %.1f/s", Mean(ack));
    s.effect = "the backlog stops growing and drains";
    s.confidence = std::min(1.0, static_cast<double>(ready.size()) / static_cast<double>(w));
    s.evidence = {Of("queue.ready", ready, iv), Of("queue.publish_per_s", pub, iv),
                  Of("queue.ack_per_s", ack, iv)};
    out.push_back(s);
  }

  // Queue: consumers that drain one full batch per call while the backlog grows; bigger
  // batches cut the round trips per message.
  const auto per_call = Recent("queue.messages_per_consume", w);
  const auto batch = Recent("queue.consume_batch", 1);
  if (ready.size() >= 10 && Slope(ready) > 0 && per_call.size() >= 5 && !batch.empty() &&
      batch.back() < 1000 && Mean(per_call) >= 0.9 * batch.back()) {
    Suggestion s;
    s.area = "queue";
    const double next = std::min(1000.0, batch.back() * 4);
    s.title = Fmt("raise the consume batch from %.0f to %.0f messages", batch.back(), next);
    s.why = Fmt("consume calls return full batches (%.1f messages per call, the batch is %.0f)",
                Mean(per_call), batch.back()) +
            Fmt(" while the backlog grows (%.0f -> %.0f)", ready.front(), ready.back());
    s.effect = "fewer round trips per message: more acknowledgements per second";
    s.confidence = 0.6;
    s.evidence = {Of("queue.messages_per_consume", per_call, iv), Of("queue.ready", ready, iv),
                  Of("queue.ack_per_s", ack, iv)};
    s.knob = "queue.consume_batch";
    s.value = Fmt("%.0f", next);
    out.push_back(s);
  }

  // I/O: the queue's log syncs nearly once per message (no group commit).
  const auto fsyncs = Recent("queue.fsyncs_per_s", w);
  if (pub.size() >= 5 && Mean(pub) >= 100 && Mean(fsyncs) >= 0.5 * Mean(pub)) {
    Suggestion s;
    s.area = "io";
    s.title = "queue: let publishes share fsyncs (raise --batch-delay-us, or --fsync batch)";
    s.why = Fmt("%.0f fsyncs/s for %.0f messages/s: %.2f syncs per message", Mean(fsyncs),
                Mean(pub), Mean(fsyncs) / Mean(pub));
    s.effect = "fewer syncs per message: more throughput at the same durability";
    s.confidence = 0.7;
    s.evidence = {Of("queue.fsyncs_per_s", fsyncs, iv), Of("queue.publish_per_s", pub, iv)};
    out.push_back(s);
  }

  // Proxy: flapping breakers and a host much slower than its peers.
  std::map<std::string, std::map<std::string, double>> p99_by_cluster;  // cluster -> host -> ms
  for (const auto& name : SeriesNames()) {
    if (name.rfind("proxy.breaker_transitions{", 0) == 0) {
      const auto v = Recent(name, w);
      double n = 0;
      for (double x : v) n += x;
      if (n >= 4) {
        Suggestion s;
        s.area = "proxy";
        s.title = "the breaker of " + Inside(name) + " is flapping";
        s.why = Fmt("%.0f state changes in ", n) + std::to_string(v.size() * iv / 1000) + " s";
        s.effect =
            "fewer failed calls while the host is unhealthy: fix the host, or raise the "
            "breaker's wait_in_open so it stays open";
        s.confidence = std::min(1.0, n / 8);
        s.evidence.push_back(Of(name, v, iv));
        out.push_back(s);
      }
    } else if (name.rfind("proxy.host.p99_ms{", 0) == 0) {
      const std::string key = Inside(name);  // cluster/host
      const auto v = Recent(name, w);
      const auto rps = Recent("proxy.host.rps{" + key + "}", w);
      if (v.size() >= 5 && Mean(rps) >= 1) {
        p99_by_cluster[key.substr(0, key.find('/'))][key] = Mean(v);
      }
    }
  }
  for (const auto& [cluster, hosts] : p99_by_cluster) {
    if (hosts.size() < 2) continue;
    for (const auto& [host, p99] : hosts) {
      std::vector<double> peers;
      for (const auto& [h, v] : hosts) {
        if (h != host) peers.push_back(v);
      }
      const double median = Median(peers);
      if (median > 0 && p99 >= 3 * median && p99 - median >= 5) {
        Suggestion s;
        s.area = "proxy";
        s.title = "upstream " + host + " is slow: check it, or lower its weight";
        s.why = Fmt("its p99 is %.1f ms, %.1fx its peers' median of %.1f ms", p99, p99 / median,
                    median);
        s.effect = Fmt("route p99 toward %.1f ms", median);
        s.confidence = std::min(1.0, 0.5 + 0.1 * (p99 / median - 3));
        s.evidence.push_back(Of("proxy.host.p99_ms{" + host + "}",
                                Recent("proxy.host.p99_ms{" + host + "}", w), iv));
        out.push_back(s);
      }
    }
  }

  // CPU and latency.
  const auto cpu = Recent("process.cpu_cores", w);
  if (cpu.size() >= 10 && CpuSaturated(cpu, options_.cores)) {
    Suggestion s;
    s.area = "cpu";
    s.title = "pier is CPU-bound: give it more cores or move load off this machine";
    s.why = Fmt("it used %.2f of %.0f cores on average", Mean(cpu), options_.cores);
    s.effect = "latency stops rising with load";
    s.confidence = 0.8;
    s.evidence.push_back(Of("process.cpu_cores", cpu, iv));
    out.push_back(s);
  }
  for (const auto& [lat, thr, area] : {std::tuple{"proxy.p99_ms", "proxy.rps", "proxy"},
                                       {"cache.p99_ms", "cache.ops_per_s", "cache"}}) {
    const auto l = Recent(lat, w), t = Recent(thr, w);
    if (LatencyRisingThroughputFlat(l, t)) {
      Suggestion s;
      s.area = "concurrency";
      s.title = std::string(area) + ": requests are queueing (latency rises, throughput does not)";
      s.why = Fmt("p99 %.1f -> %.1f ms while throughput stayed near %.0f/s", l.front(), l.back(),
                  Mean(t));
      s.effect = "add instances or I/O threads, or limit concurrency so latency stays bounded";
      s.confidence = 0.6;
      s.evidence = {Of(lat, l, iv), Of(thr, t, iv)};
      // The proxy can limit it: the gradient of the latency against its no-load baseline (the
      // lowest p50 in the history) says how far the requests in flight exceed what the
      // upstreams serve without queueing (Little's law).
      const auto p50 = Recent("proxy.p50_ms", options_.history);
      const auto inflight = Recent("proxy.in_flight", w);
      if (std::string(area) == "proxy" && !p50.empty() && !inflight.empty()) {
        const double baseline = *std::min_element(p50.begin(), p50.end());
        const double now = Mean(Recent("proxy.p50_ms", 5));
        const double gradient = now > 0 ? std::min(1.0, baseline * 1.25 / now) : 1;
        if (gradient < 0.8) {
          s.title = "proxy: requests are queueing; limit concurrency adaptively";
          s.why += Fmt("; p50 is %.1f ms against a %.1f ms baseline (gradient %.2f): about %.0f",
                       now, baseline, gradient, Mean(inflight) * gradient) +
                   Fmt(" of the %.0f requests in flight would be served without queueing",
                       Mean(inflight));
          s.effect = "the proxy answers the excess 503 at once; p99 back toward the baseline";
          s.evidence.push_back(
              Of("proxy.p50_ms", Recent("proxy.p50_ms", w), iv, Fmt("baseline %.1f ms", baseline)));
          s.evidence.push_back(Of("proxy.in_flight", inflight, iv));
          s.knob = "proxy.concurrency_limit";
          s.value = "adaptive";
        }
      }
      out.push_back(s);
    } else if (auto cp = DetectChangePoint(l); cp.found && cp.after > cp.before) {
      Suggestion s;
      s.area = std::string(area);
      s.title = std::string(area) + ": p99 stepped up";
      s.why = Fmt("p99 went from %.1f to %.1f ms ", cp.before, cp.after) +
              std::to_string((l.size() - cp.index) * iv / 1000) + " s ago";
      s.effect = "find what changed then (a deploy, a slow dependency, a smaller cache)";
      s.confidence = std::min(1.0, cp.score / 10);
      s.evidence.push_back(Of(lat, l, iv, Fmt("change point score %.1f", cp.score)));
      out.push_back(s);
    }
  }
  const auto errors = Recent("proxy.error_ratio", w);
  if (errors.size() >= 5 && Mean(errors) > options_.error_slo) {
    Suggestion s;
    s.area = "proxy";
    s.title = "errors above the target: see GET /v1/proxy/clusters for the failing hosts";
    s.why = Fmt("%.2f%% of responses were 5xx, the target is %.2f%%", Mean(errors) * 100,
                options_.error_slo * 100);
    s.effect = "error rate back under the target";
    s.confidence = 0.7;
    s.evidence.push_back(Of("proxy.error_ratio", errors, iv));
    out.push_back(s);
  }
  std::stable_sort(out.begin(), out.end(), [](const Suggestion& a, const Suggestion& b) {
    return a.confidence > b.confidence;
  });
  return out;
}

Score Analyzer::ComputeScore() const {
  Score s;
  const size_t w = options_.window;
  auto share_within = [](const std::vector<double>& v, double limit) {
    if (v.empty()) return 1.0;
    double ok = 0;
    for (double x : v) ok += x <= limit;
    return ok / static_cast<double>(v.size());
  };
  std::map<std::string, std::pair<double, double>> parts;  // area -> (score 0..1, weight)
  std::vector<double> lat;
  for (const char* name : {"proxy.p99_ms", "cache.p99_ms"}) {
    const auto v = Recent(name, w);
    lat.insert(lat.end(), v.begin(), v.end());
  }
  if (!lat.empty()) {
    parts["latency"] = {share_within(lat, options_.latency_slo_ms), 30};
    s.notes.push_back(
        Fmt("latency: share of samples with p99 <= %.0f ms", options_.latency_slo_ms));
  }
  if (const auto e = Recent("proxy.error_ratio", w); !e.empty()) {
    parts["errors"] = {share_within(e, options_.error_slo), 30};
    s.notes.push_back(
        Fmt("errors: share of samples with 5xx ratio <= %.2f%%", options_.error_slo * 100));
  }
  if (const auto cpu = Recent("process.cpu_cores", w); !cpu.empty()) {
    const double headroom = 1 - Mean(cpu) / options_.cores;
    parts["resources"] = {std::clamp(headroom / 0.3, 0.0, 1.0), 20};
    s.notes.push_back("resources: CPU headroom, full marks at 30% of the cores free");
  }
  const CacheView c = cache();
  if (c.present) {
    double best = 0, current = 0;
    for (const auto& p : c.curve) {
      if (p.size_factor != 1) continue;
      best = std::max(best, p.hit_ratio);
      if (p.policy == c.policy) current = p.hit_ratio;
    }
    if (best > 0) {
      parts["cache"] = {std::clamp(current / best, 0.0, 1.0), 10};
      s.notes.push_back("cache: hit ratio against the best policy's predicted at this size");
    }
  }
  if (const auto ready = Recent("queue.ready", w); ready.size() >= 2) {
    const double growth =
        Slope(ready) * static_cast<double>(ready.size()) / std::max(1.0, Mean(ready));
    parts["queue"] = {std::clamp(1 - growth, 0.0, 1.0), 10};
    s.notes.push_back("queue: full marks while the backlog does not grow over the window");
  }
  double sum = 0, weights = 0;
  for (const auto& [area, p] : parts) {
    s.areas[area] = static_cast<int>(std::lround(p.first * 100));
    sum += p.first * p.second;
    weights += p.second;
  }
  s.total = weights == 0 ? 100 : static_cast<int>(std::lround(sum / weights * 100));
  return s;
}

nlohmann::json Analyzer::ToJson(const Suggestion& s) {
  nlohmann::json ev = nlohmann::json::array();
  for (const auto& e : s.evidence) {
    ev.push_back({{"series", e.series},
                  {"window_s", e.window_s},
                  {"first", e.first},
                  {"last", e.last},
                  {"mean", e.mean},
                  {"note", e.note}});
  }
  nlohmann::json j = {{"area", s.area},     {"title", s.title},           {"why", s.why},
                      {"effect", s.effect}, {"confidence", s.confidence}, {"evidence", ev}};
  if (!s.knob.empty()) j["action"] = {{"knob", s.knob}, {"value", s.value}};
  return j;
}

nlohmann::json Analyzer::ToJson(const Score& s) {
  return {{"score", s.total}, {"areas", s.areas}, {"how", s.notes}};
}

}  // namespace pier::perf
