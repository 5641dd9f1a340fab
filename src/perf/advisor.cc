// The analyzer's suggestions and score (analyzer.h): the loops over the registered sources,
// and the helpers their rules share (source.h). Each rule reads the last `options.window`
// points of its series and says what it saw (evidence), what to do, what it should change,
// and how sure it is. docs/perf.md lists the rules and how the score is made.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "pier/perf/analyzer.h"
#include "pier/perf/trend.h"

namespace pier::perf {

std::string Fmt(const char* fmt, double a, double b, double c, double d) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d);
  return buf;
}

Evidence EvidenceOf(const std::string& series, const std::vector<double>& v, int64_t interval_ms,
                    std::string note) {
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

void Sampling::RecordLatency(const std::string& key, const std::string& series) {
  if (double p = QuantileMs(key, 0.99); !std::isnan(p)) {
    Record(series + ".p99_ms", p);
    Record(series + ".p50_ms", QuantileMs(key, 0.5));
  }
}

void AddStageInputs(Source& source, const std::string& metric, const std::string& prefix,
                    const std::vector<Stage>& stages) {
  for (const Stage& st : stages) {
    source.inputs.push_back(
        {metric, prefix + ".stage." + st.name, Input::kHistogram, "stage", st.name});
  }
}

void RecordStages(Sampling& s, const std::string& prefix, const std::vector<Stage>& stages) {
  for (const Stage& st : stages) {
    const double p99 = s.QuantileMs(prefix + ".stage." + st.name, 0.99);
    if (!std::isnan(p99)) s.Record(prefix + "." + st.name + "_p99_ms", p99);
  }
}

std::optional<Suggestion> StageRule(const Analyzer& a, const std::string& prefix,
                                    const std::vector<Stage>& stages) {
  const Stage* worst = nullptr;
  std::string worst_series;
  double worst_ratio = 0, base = 0, now = 0;
  for (const Stage& st : stages) {
    std::string series = prefix + "." + st.name + "_p99_ms";
    const auto history = a.Recent(series, a.options().history);
    if (history.size() < 10) continue;
    const double low = *std::min_element(history.begin(), history.end());
    const double recent = Mean(a.Recent(series, 5));
    const double ratio = recent / std::max(low, 0.001);
    if (ratio >= 2 && recent - low >= 1 && ratio > worst_ratio) {
      worst = &st, worst_series = std::move(series), worst_ratio = ratio, base = low, now = recent;
    }
  }
  if (worst == nullptr) return std::nullopt;
  Suggestion s;
  s.area = prefix;
  s.title = prefix + " latency grew in the '" + worst->name + "' stage: " + worst->hint;
  s.why = "p99 " + worst->name + " (" + worst->what + ") is " +
          Fmt("%.1f ms, %.1fx its lowest (%.1f ms)", now, worst_ratio, base);
  s.effect = "the stage back to its usual latency";
  s.confidence = 0.6;
  s.evidence = {EvidenceOf(worst_series, a.Recent(worst_series, a.options().window),
                           a.options().interval_ms)};
  return s;
}

std::optional<Suggestion> LatencyRule(const Analyzer& a, const std::string& area,
                                      const std::string& lat, const std::string& thr) {
  const size_t w = a.options().window;
  const int64_t iv = a.options().interval_ms;
  const auto l = a.Recent(lat, w), t = a.Recent(thr, w);
  if (LatencyRisingThroughputFlat(l, t)) {
    Suggestion s;
    s.area = "concurrency";
    s.title = area + ": requests are queueing (latency rises, throughput does not)";
    s.why = Fmt("p99 %.1f -> %.1f ms while throughput stayed near %.0f/s", l.front(), l.back(),
                Mean(t));
    s.effect = "add instances or I/O threads, or limit concurrency so latency stays bounded";
    s.confidence = 0.6;
    s.evidence = {EvidenceOf(lat, l, iv), EvidenceOf(thr, t, iv)};
    return s;
  }
  if (auto cp = DetectChangePoint(l); cp.found && cp.after > cp.before) {
    Suggestion s;
    s.area = area;
    s.title = area + ": p99 stepped up";
    s.why = Fmt("p99 went from %.1f to %.1f ms ", cp.before, cp.after) +
            std::to_string((l.size() - cp.index) * iv / 1000) + " s ago";
    s.effect = "find what changed then (a deploy, a slow dependency, a smaller cache)";
    s.confidence = std::min(1.0, cp.score / 10);
    s.evidence.push_back(EvidenceOf(lat, l, iv, Fmt("change point score %.1f", cp.score)));
    return s;
  }
  return std::nullopt;
}

std::vector<Suggestion> Analyzer::Suggestions() const {
  const std::vector<std::shared_ptr<Source>> sources = Sources();
  std::vector<Suggestion> out;
  for (const auto& s : sources) s->Suggest(*this, &out);
  std::stable_sort(out.begin(), out.end(), [](const Suggestion& a, const Suggestion& b) {
    return a.confidence > b.confidence;
  });
  return out;
}

Score Analyzer::ComputeScore() const {
  const std::vector<std::shared_ptr<Source>> sources = Sources();
  ScoreCard card;
  for (const auto& s : sources) s->Score(*this, &card);
  auto share_within = [](const std::vector<double>& v, double limit) {
    double ok = 0;
    for (double x : v) ok += x <= limit;
    return ok / static_cast<double>(v.size());
  };
  Score s;
  if (!card.p99_ms.empty()) {
    card.areas["latency"] = {share_within(card.p99_ms, options_.latency_slo_ms), 30};
    s.notes.push_back(
        Fmt("latency: share of samples with p99 <= %.0f ms", options_.latency_slo_ms));
  }
  if (!card.error_ratios.empty()) {
    card.areas["errors"] = {share_within(card.error_ratios, options_.error_slo), 30};
    s.notes.push_back(
        Fmt("errors: share of samples with 5xx ratio <= %.2f%%", options_.error_slo * 100));
  }
  s.notes.insert(s.notes.end(), card.notes.begin(), card.notes.end());
  double sum = 0, weights = 0;
  for (const auto& [area, p] : card.areas) {
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
