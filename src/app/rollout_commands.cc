// `pier deploy FILE`, `pier rollback` and `pier status`: clients of a running `pier up`'s deploy
// API (POST /v1/deploy, POST /v1/deploy/rollback, GET /v1/deploy, GET /v1/status). deploy and
// rollback print the rollout's progress as it happens and exit 0 when it succeeded, 1 when it
// rolled back or failed.
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/api_client.h"
#include "app/commands.h"
#include "app/spec_check.h"
#include "app/table.h"

namespace pier::app {

namespace {

struct ClientFlags {
  ApiFlags api;
  std::string file = "pier.yaml";
  bool json = false;
};

std::string ErrorText(const net::HttpFetchReply& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error")) return j["error"];
  return "HTTP " + std::to_string(r.status) + ": " + r.body;
}

// Prints the rollout's log as it grows until it ends; 0 when it succeeded.
int Follow(const std::string& command, const ApiFlags& api) {
  size_t from = 0;
  for (;;) {
    auto r = api.Call("GET", "/v1/deploy?from=" + std::to_string(from));
    if (!r.ok()) return Fail(command, r.status());
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_object()) return Fail(command, Status::Unavailable("a reply that is not JSON"));
    for (const auto& line : j["log"]) std::cout << line.get<std::string>() << std::endl;
    from = j["next"];
    const std::string state = j["state"];
    if (state != "running") return state == "succeeded" ? 0 : 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the rollout's log
  }
}

int RunDeploy(const ClientFlags& f) {
  std::string report;
  auto spec = CheckedSpec(deploy::LoadArchitecture(f.file), &report);
  if (!spec.ok()) return Fail("deploy", spec.status());
  std::ifstream in(f.file, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = f.api.Call("POST", "/v1/deploy", text,
                      {{"X-Pier-File", f.file}, {"Content-Type", "application/yaml"}});
  if (!r.ok()) return Fail("deploy", r.status());
  if (r->status != 202) return Fail("deploy", Status::InvalidArgument(ErrorText(*r)));
  return Follow("deploy", f.api);
}

int RunRollback(const ClientFlags& f) {
  auto r = f.api.Call("POST", "/v1/deploy/rollback");
  if (!r.ok()) return Fail("rollback", r.status());
  if (r->status != 202) return Fail("rollback", Status::FailedPrecondition(ErrorText(*r)));
  return Follow("rollback", f.api);
}

int RunStatus(const ClientFlags& f) {
  auto r = f.api.Call("GET", "/v1/status");
  if (!r.ok()) return Fail("status", r.status());
  auto d = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200 || !d.is_object()) return Fail("status", Status::Unavailable(ErrorText(*r)));
  if (f.json) {
    std::cout << d.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : d["services"]) {
    uint64_t total = 0;
    for (const auto& v : s["versions"]) total += v["weight"].get<uint64_t>();
    for (const auto& v : s["versions"]) {
      const uint64_t w = v["weight"];
      const std::string role = v["version"] == s["stable"]    ? "stable"
                               : v["version"] == s["standby"] ? "standby"
                                                              : "new";
      const std::string traffic = std::to_string(total == 0 ? 0 : w * 100 / total) + "%";
      for (const auto& i : v["instances"]) {
        rows.push_back({s["name"], v["version"], role, traffic, i["id"], i["address"], i["health"],
                        i.value("running", false) ? "running" : "exited",
                        std::to_string(i.value("restarts", 0))});
      }
      if (v["instances"].empty()) {
        rows.push_back({s["name"], v["version"], role, traffic, "-", "-", "-", "-", "-"});
      }
    }
  }
  PrintTable({},
             {"service", "version", "role", "traffic", "instance", "address", "health", "state",
              "restarts"},
             rows);
  const std::string platform = d.value("platform", "");
  std::cout << d["system"].get<std::string>() << " (" << d["driver"].get<std::string>() << " driver"
            << (platform.empty() ? "" : "; " + platform)
            << "); last deploy: " << d["deploy"].get<std::string>() << "\n";
  return 0;
}

}  // namespace

void AddRolloutCommands(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<ClientFlags>();
  CLI::App* deploy =
      app.add_subcommand("deploy",
                         "Roll a new version of services out to a running pier up (rolling, "
                         "blue-green or canary, per service)");
  deploy->add_option("file", f->file, "The spec with the new versions")->capture_default_str();
  f->api.AddTo(deploy, "pier up");
  deploy->callback([f, set_action] { set_action([f] { return RunDeploy(*f); }); });

  CLI::App* rollback = app.add_subcommand(
      "rollback", "Roll back: abort a running rollout, or return to the spec before the last");
  f->api.AddTo(rollback, "pier up");
  rollback->callback([f, set_action] { set_action([f] { return RunRollback(*f); }); });

  CLI::App* status = app.add_subcommand(
      "status", "Services, versions, traffic weights and instances of a running pier up");
  f->api.AddTo(status, "pier up");
  status->add_flag("--json", f->json, "The whole state as JSON");
  status->callback([f, set_action] { set_action([f] { return RunStatus(*f); }); });
}

}  // namespace pier::app
