// Persisting the analyzer's history (analyzer.h): one JSON document,
//   {"format": "pier-perf-history", "version": 1, "series": {"NAME": [[WALL_MS, VALUE], ...]}}
// Times are wall-clock milliseconds on disk and the analyzer's clock in memory.
#include <chrono>
#include <cmath>

#include "pier/base/clock.h"
#include "pier/perf/analyzer.h"

namespace pier::perf {

namespace {
constexpr const char* kFormat = "pier-perf-history";
}  // namespace

std::string Analyzer::SaveHistory() const {
  const int64_t to_wall = UnixNowMs() - Now();
  nlohmann::json series = nlohmann::json::object();
  {
    std::lock_guard l(mu_);
    for (const auto& [name, s] : series_) {
      nlohmann::json points = nlohmann::json::array();
      for (const auto& [t, v] : s.points) points.push_back({t + to_wall, v});
      series[name] = std::move(points);
    }
  }
  return nlohmann::json{{"format", kFormat}, {"version", 1}, {"series", std::move(series)}}.dump();
}

Status Analyzer::LoadHistory(std::string_view text) {
  if (text.size() > kMaxHistoryBytes) {
    return Status::InvalidArgument("the history is " + std::to_string(text.size()) +
                                   " bytes, more than the " + std::to_string(kMaxHistoryBytes) +
                                   " allowed");
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument("not JSON: at byte " + std::to_string(e.byte));
  } catch (const nlohmann::json::exception&) {  // e.g. a number too large for a double
    return Status::InvalidArgument("not JSON that can be read: a number out of range");
  }
  const bool ours = doc.is_object() && doc.contains("format") && doc["format"] == kFormat &&
                    doc.contains("version") && doc["version"] == 1;
  if (!ours) {
    return Status::InvalidArgument(std::string("not a history: expected {\"format\": \"") +
                                   kFormat + "\", \"version\": 1, \"series\": {...}}");
  }
  auto series = doc.find("series");
  if (series == doc.end() || !series->is_object()) {
    return Status::InvalidArgument("\"series\" must be an object of NAME: [[t_ms, value], ...]");
  }
  if (series->size() > options_.max_series) {
    return Status::InvalidArgument(std::to_string(series->size()) + " series, more than the " +
                                   std::to_string(options_.max_series) + " tracked");
  }
  const int64_t from_wall = Now() - UnixNowMs();
  std::map<std::string, std::deque<std::pair<int64_t, double>>> loaded;
  for (const auto& [name, points] : series->items()) {
    const std::string where = "series '" + name.substr(0, 64) + "'";
    if (name.empty() || name.size() > kMaxSeriesName) {
      return Status::InvalidArgument(where + ": a name is 1 to " + std::to_string(kMaxSeriesName) +
                                     " characters");
    }
    if (!points.is_array()) return Status::InvalidArgument(where + ": not an array of points");
    auto& out = loaded[name];
    for (size_t i = 0; i < points.size(); ++i) {
      const auto& p = points[i];
      if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number() ||
          !std::isfinite(p[1].get<double>())) {
        return Status::InvalidArgument(where + ": point " + std::to_string(i) +
                                       " is not [t_ms, value]");
      }
      const int64_t t = p[0].get<int64_t>();
      if (t < 0 || t > (int64_t{1} << 52)) {
        return Status::InvalidArgument(where + ": point " + std::to_string(i) +
                                       " has a time out of range");
      }
      if (!out.empty() && t + from_wall < out.back().first) {
        return Status::InvalidArgument(where + ": point " + std::to_string(i) +
                                       " goes back in time");
      }
      out.emplace_back(t + from_wall, p[1].get<double>());
      if (out.size() > options_.history) out.pop_front();
    }
  }
  std::lock_guard l(mu_);
  for (auto& [name, points] : loaded) {
    Series* s = SeriesLocked(name);
    if (s == nullptr) continue;
    auto& now = s->points;
    // Only what is older than the first point sampled since start goes before it.
    while (!now.empty() && !points.empty() && points.back().first >= now.front().first) {
      points.pop_back();
    }
    now.insert(now.begin(), points.begin(), points.end());
    while (now.size() > options_.history) now.pop_front();
  }
  return Status::Ok();
}

}  // namespace pier::perf
