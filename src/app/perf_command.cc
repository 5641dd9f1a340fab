// `pier perf report [--http HOST:PORT]`: a running pier server's score, suggestions (with their
// evidence) and latest series, readable in a terminal, from its /perf/* API.
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/api_client.h"
#include "app/commands.h"
#include "app/table.h"

namespace pier::app {

namespace {

Result<nlohmann::json> GetJson(const ApiFlags& api, const std::string& path) {
  auto r = api.Call("GET", path);
  if (!r.ok()) return r.status();
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200 || j.is_discarded()) {
    return Status::Unavailable(path + ": HTTP " + std::to_string(r->status) + " " + r->body);
  }
  return j;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, std::abs(v) >= 100 ? "%.0f" : "%.3g", v);
  return buf;
}

int RunReport(const ApiFlags& address) {
  auto score = GetJson(address, "/perf/score");
  if (!score.ok()) return Fail("perf report", score.status());
  auto sugg = GetJson(address, "/perf/suggestions");
  auto snap = GetJson(address, "/perf/snapshot");
  if (!sugg.ok() || !snap.ok())
    return Fail("perf report", sugg.ok() ? snap.status() : sugg.status());
  std::cout << "score " << (*score)["score"].get<int>() << "/100";
  for (const auto& [area, v] : (*score)["areas"].items())
    std::cout << "  " << area << " " << v.get<int>();
  std::cout << "\n\n";
  if (sugg->empty()) std::cout << "no suggestions\n";
  for (const auto& s : *sugg) {
    std::cout << "* [" << s["area"].get<std::string>() << ", confidence "
              << static_cast<int>(s["confidence"].get<double>() * 100) << "%] "
              << s["title"].get<std::string>() << "\n    seen: " << s["why"].get<std::string>()
              << "\n    expected: " << s["effect"].get<std::string>() << "\n";
    for (const auto& e : s["evidence"]) {
      std::cout << "    evidence: " << e["series"].get<std::string>() << " over "
                << e["window_s"].get<int64_t>() << " s: " << Num(e["first"]) << " -> "
                << Num(e["last"]) << " (mean " << Num(e["mean"]) << ")"
                << (e["note"].get<std::string>().empty() ? "" : "; " + e["note"].get<std::string>())
                << "\n";
    }
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, v] : (*snap)["series"].items()) rows.push_back({name, Num(v)});
  std::cout << "\n";
  PrintTable({}, {"series", "latest"}, rows);
  if (snap->contains("cache")) {
    const auto& c = (*snap)["cache"];
    std::vector<std::vector<std::string>> curve;
    for (const auto& p : c["curve"]) {
      curve.push_back({p["policy"], Num(p["size_factor"]) + "x",
                       Num(p["hit_ratio"].get<double>() * 100) + "%"});
    }
    if (!curve.empty()) {
      std::cout << "\ncache " << c["policy"].get<std::string>()
                << ": predicted hit ratios (shadow simulation)\n";
      PrintTable({}, {"policy", "size", "hit ratio"}, curve);
    }
  }
  std::cout << "\nanalyzer: " << Num((*snap)["analyzer"]["sample_cpu_us"]) << " us of CPU per "
            << (*snap)["interval_ms"].get<int64_t>() << " ms sample\n";
  return 0;
}

}  // namespace

void AddPerfCommand(CLI::App& app, SetAction set_action) {
  auto address = std::make_shared<ApiFlags>();
  CLI::App* perf = app.add_subcommand("perf", "The performance analyzer of a running pier server");
  perf->require_subcommand(1);
  CLI::App* report = perf->add_subcommand(
      "report", "Score, suggestions with their evidence, and the latest series");
  address->AddTo(report, "The server");
  report->callback(
      [address, set_action] { set_action([address] { return RunReport(*address); }); });
}

}  // namespace pier::app
