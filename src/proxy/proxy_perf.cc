// The proxy's analyzer source (proxy_perf.h) and ProxyServer::AttachTo, which registers it and
// the tuning knob proxy.concurrency_limit.
#include "proxy/proxy_perf.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "pier/perf/analyzer.h"
#include "pier/perf/trend.h"
#include "pier/perf/tuner.h"
#include "pier/proxy/proxy_server.h"
#include "proxy/proxy_metric_names.h"

namespace pier::proxy {

namespace {

namespace names = metric_names;
using perf::EvidenceOf;
using perf::Fmt;
using perf::Input;
using perf::Mean;

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

// The stages of pier_proxy_stage_seconds, with what each measures and what grows it.
const std::vector<perf::Stage> kStages = {
    {"connect", "a new upstream connection's connect and TLS handshake",
     "new upstream connections are slower: the network or the upstream's accept queue"},
    {"first_byte", "request head in to the upstream's response head",
     "the upstreams answer later: see GET /v1/proxy/clusters for the slow hosts"},
    {"last_byte", "request head in to the response's end",
     "responses take longer to transfer: bigger bodies or slow clients"},
};

class Source : public perf::Source {
 public:
  Source() {
    inputs = {{names::kRequestsTotal, "proxy.requests"},
              {names::kResponsesTotal, "proxy.5xx", Input::kCounter, "code", "5xx"},
              {names::kRequestDurationSeconds, "proxy.latency", Input::kHistogram},
              {names::kConcurrencyRejectedTotal, "proxy.rejected"},
              {names::kClusterRequestsInFlight, "proxy.in_flight", Input::kGauge},
              {names::kHostEjected, "proxy.ejected_hosts", Input::kGauge},
              {names::kUpstreamLatencySeconds, "host", Input::kHistogram, "", "", true},
              {names::kUpstreamRequestsTotal, "host.requests", Input::kCounter, "", "", true},
              {names::kBreakerTransitionsTotal, "host.transitions", Input::kCounter, "", "", true}};
    perf::AddStageInputs(*this, names::kStageSeconds, "proxy", kStages);
  }

  void Derive(perf::Sampling& s) const override {
    if (s.Has("proxy.requests")) {
      const double req = s.Delta("proxy.requests");
      s.Record("proxy.rps", req / s.seconds());
      s.Record("proxy.error_ratio", req > 0 ? s.Delta("proxy.5xx") / req : 0);
      s.Record("proxy.rejected_per_s", s.Rate("proxy.rejected"));
      s.RecordLatency("proxy.latency", "proxy");
    }
    perf::RecordStages(s, "proxy", kStages);
    for (const std::string& k : s.Keys("host.requests:")) {
      const std::string host = k.substr(14);
      s.Record("proxy.host.rps{" + host + "}", s.Rate(k));
      if (double p = s.QuantileMs("host:" + host, 0.99); !std::isnan(p)) {
        s.Record("proxy.host.p99_ms{" + host + "}", p);
      }
    }
    for (const std::string& k : s.Keys("host.transitions:")) {
      s.Record("proxy.breaker_transitions{" + k.substr(17) + "}", s.Delta(k));
    }
  }

  void Suggest(const perf::Analyzer& a, std::vector<perf::Suggestion>* out) const override {
    Queueing(a, out);
    Hosts(a, out);
    if (auto s = perf::StageRule(a, "proxy", kStages)) out->push_back(*s);
    const size_t w = a.options().window;
    const auto errors = a.Recent("proxy.error_ratio", w);
    if (errors.size() >= 5 && Mean(errors) > a.options().error_slo) {
      perf::Suggestion s;
      s.area = "proxy";
      s.title = "errors above the target: see GET /v1/proxy/clusters for the failing hosts";
      s.why = Fmt("%.2f%% of responses were 5xx, the target is %.2f%%", Mean(errors) * 100,
                  a.options().error_slo * 100);
      s.effect = "error rate back under the target";
      s.confidence = 0.7;
      s.evidence.push_back(EvidenceOf("proxy.error_ratio", errors, a.options().interval_ms));
      out->push_back(s);
    }
  }

  void Score(const perf::Analyzer& a, perf::ScoreCard* card) const override {
    const auto p99 = a.Recent("proxy.p99_ms", a.options().window);
    card->p99_ms.insert(card->p99_ms.end(), p99.begin(), p99.end());
    const auto e = a.Recent("proxy.error_ratio", a.options().window);
    card->error_ratios.insert(card->error_ratios.end(), e.begin(), e.end());
  }

 private:
  // Requests queueing, and then the proxy can limit it: the gradient of the latency against
  // its no-load baseline (the lowest p50 in the history) says how far the requests in flight
  // exceed what the upstreams serve without queueing (Little's law).
  static void Queueing(const perf::Analyzer& a, std::vector<perf::Suggestion>* out) {
    auto s = perf::LatencyRule(a, "proxy", "proxy.p99_ms", "proxy.rps");
    if (!s) return;
    const size_t w = a.options().window;
    const auto p50 = a.Recent("proxy.p50_ms", a.options().history);
    const auto inflight = a.Recent("proxy.in_flight", w);
    if (s->area == "concurrency" && !p50.empty() && !inflight.empty()) {
      const double baseline = *std::min_element(p50.begin(), p50.end());
      const double now = Mean(a.Recent("proxy.p50_ms", 5));
      const double gradient = now > 0 ? std::min(1.0, baseline * 1.25 / now) : 1;
      if (gradient < 0.8) {
        s->title = "proxy: requests are queueing; limit concurrency adaptively";
        s->why +=
            Fmt("; p50 is %.1f ms against a %.1f ms baseline (gradient %.2f): about %.0f", now,
                baseline, gradient, Mean(inflight) * gradient) +
            Fmt(" of the %.0f requests in flight would be served without queueing", Mean(inflight));
        s->effect = "the proxy answers the excess 503 at once; p99 back toward the baseline";
        s->evidence.push_back(EvidenceOf("proxy.p50_ms", a.Recent("proxy.p50_ms", w),
                                         a.options().interval_ms,
                                         Fmt("baseline %.1f ms", baseline)));
        s->evidence.push_back(EvidenceOf("proxy.in_flight", inflight, a.options().interval_ms));
        s->knob = "proxy.concurrency_limit";
        s->value = "adaptive";
      }
    }
    out->push_back(*s);
  }

  // Flapping breakers and a host much slower than its peers.
  static void Hosts(const perf::Analyzer& a, std::vector<perf::Suggestion>* out) {
    const size_t w = a.options().window;
    const int64_t iv = a.options().interval_ms;
    std::map<std::string, std::map<std::string, double>> p99_by_cluster;  // cluster -> host -> ms
    for (const auto& name : a.SeriesNames()) {
      if (name.rfind("proxy.breaker_transitions{", 0) == 0) {
        const auto v = a.Recent(name, w);
        double n = 0;
        for (double x : v) n += x;
        if (n >= 4) {
          perf::Suggestion s;
          s.area = "proxy";
          s.title = "the breaker of " + Inside(name) + " is flapping";
          s.why = Fmt("%.0f state changes in ", n) + std::to_string(v.size() * iv / 1000) + " s";
          s.effect =
              "fewer failed calls while the host is unhealthy: fix the host, or raise the "
              "breaker's wait_in_open so it stays open";
          s.confidence = std::min(1.0, n / 8);
          s.evidence.push_back(EvidenceOf(name, v, iv));
          out->push_back(s);
        }
      } else if (name.rfind("proxy.host.p99_ms{", 0) == 0) {
        const std::string key = Inside(name);  // cluster/host
        const auto v = a.Recent(name, w);
        const auto rps = a.Recent("proxy.host.rps{" + key + "}", w);
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
          perf::Suggestion s;
          s.area = "proxy";
          s.title = "upstream " + host + " is slow: check it, or lower its weight";
          s.why = Fmt("its p99 is %.1f ms, %.1fx its peers' median of %.1f ms", p99, p99 / median,
                      median);
          s.effect = Fmt("route p99 toward %.1f ms", median);
          s.confidence = std::min(1.0, 0.5 + 0.1 * (p99 / median - 3));
          const std::string series = "proxy.host.p99_ms{" + host + "}";
          s.evidence.push_back(EvidenceOf(series, a.Recent(series, w), iv));
          out->push_back(s);
        }
      }
    }
  }
};

}  // namespace

std::shared_ptr<perf::Source> PerfSource() { return std::make_shared<Source>(); }

void ProxyServer::AttachTo(perf::Analyzer& analyzer, perf::Tuner& tuner) {
  analyzer.AddSource(PerfSource());
  tuner.AddKnob({.name = "proxy.concurrency_limit",
                 .get = [this] { return concurrency_limit(); },
                 .set = [this](const std::string& v) { return SetConcurrencyLimit(v); },
                 .objective = "proxy.p99_ms",
                 .higher_is_better = false,
                 .guards = {"proxy.error_ratio"},
                 .guard_slack = 0.01,
                 .min_gain_ratio = 0.1});
}

}  // namespace pier::proxy
