#include "app/perf_routes.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace pier::app {

namespace {

// The value of `key` in a target's query string, %-decoded ("" when absent).
std::string Query(const net::HttpRequest& req, const std::string& key) {
  const std::string target(req.target());
  const size_t q = target.find('?');
  if (q == std::string::npos) return "";
  size_t pos = q + 1;
  while (pos <= target.size()) {
    size_t end = target.find('&', pos);
    if (end == std::string::npos) end = target.size();
    const std::string pair = target.substr(pos, end - pos);
    if (pair.rfind(key + "=", 0) == 0) {
      std::string raw = pair.substr(key.size() + 1), out;
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '%' && i + 2 < raw.size() &&
            std::isxdigit(static_cast<unsigned char>(raw[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
          out += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
          i += 2;
        } else {
          out += raw[i] == '+' ? ' ' : raw[i];
        }
      }
      return out;
    }
    pos = end + 1;
  }
  return "";
}

}  // namespace

extern const char* const kDashboardHtml;

void AddPerfRoutes(net::HttpServer& http, perf::Analyzer& analyzer, perf::Tuner& tuner) {
  http.Route("GET", "/perf/snapshot", [&analyzer](const net::HttpRequest&) {
    return net::HttpResponse::Json(200, analyzer.Snapshot().dump());
  });
  http.Route("GET", "/perf/history", [&analyzer](const net::HttpRequest& req) {
    const std::string series = Query(req, "series");
    if (series.empty()) {
      return net::HttpResponse::Json(200, nlohmann::json(analyzer.SeriesNames()).dump());
    }
    auto points = analyzer.History(series);
    if (points.empty()) {
      return net::HttpResponse::Error(404,
                                      "no series '" + series + "' (GET /perf/history lists them)");
    }
    return net::HttpResponse::Json(200,
                                   nlohmann::json{{"series", series}, {"points", points}}.dump());
  });
  http.Route("GET", "/perf/suggestions", [&analyzer](const net::HttpRequest&) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : analyzer.Suggestions()) out.push_back(perf::Analyzer::ToJson(s));
    return net::HttpResponse::Json(200, out.dump());
  });
  http.Route("GET", "/perf/score", [&analyzer](const net::HttpRequest&) {
    return net::HttpResponse::Json(200, perf::Analyzer::ToJson(analyzer.ComputeScore()).dump());
  });
  http.Route("GET", "/perf/tuner", [&tuner](const net::HttpRequest&) {
    return net::HttpResponse::Json(200, tuner.State().dump());
  });
  http.Route("POST", "/perf/tuner", [&tuner](const net::HttpRequest& req) {
    auto j = nlohmann::json::parse(req.body(), nullptr, false);
    if (!j.is_object() || !j.contains("knob") || !j["knob"].is_string()) {
      return net::HttpResponse::Error(400,
                                      "body: {\"knob\": NAME, \"auto\": BOOL} or {\"knob\": "
                                      "NAME, \"value\": VALUE}");
    }
    const std::string knob = j["knob"];
    Status s;
    if (j.contains("auto") && j["auto"].is_boolean()) {
      s = tuner.SetAuto(knob, j["auto"].get<bool>());
    } else if (j.contains("value") && j["value"].is_string()) {
      s = tuner.Try(knob, j["value"].get<std::string>(), "asked through POST /perf/tuner");
    } else {
      return net::HttpResponse::Error(400,
                                      "body: give \"auto\" (a boolean) or \"value\" (a string)");
    }
    if (!s.ok()) {
      const int status = s.code() == StatusCode::kNotFound          ? 404
                         : s.code() == StatusCode::kInvalidArgument ? 400
                                                                    : 409;
      return net::HttpResponse::Error(status, s.message());
    }
    return net::HttpResponse::Json(200, tuner.State().dump());
  });
  http.Route("POST", "/perf/baselines", [&tuner](const net::HttpRequest& req) {
    Status s = tuner.SaveBaseline(Query(req, "name"));
    if (!s.ok()) return net::HttpResponse::Error(400, s.message() + " (?name=SCENARIO)");
    return net::HttpResponse::Json(200, tuner.State()["baselines"].dump());
  });
  http.Route("GET", "/ui", [](const net::HttpRequest&) {
    net::HttpResponse r = net::HttpResponse::Text(200, kDashboardHtml);
    r.content_type = "text/html; charset=utf-8";
    return r;
  });
}

}  // namespace pier::app
