// `pier services` and `pier instances NAME`: the registry's state as a table (or CSV, JSON).
#include <iostream>

#include "app/api_client.h"
#include "app/commands.h"
#include "app/table.h"
#include "pier/registry/client.h"

namespace pier::app {

namespace {

struct ListFlags {
  ApiFlags api;
  std::string service;
  bool csv = false;
  bool json = false;
};

Result<std::unique_ptr<registry::Client>> Connect(const ListFlags& f) {
  auto token = f.api.Token();
  if (!token.ok()) return token.status();
  return std::make_unique<registry::Client>(
      registry::ClientOptions{.address = f.api.http, .token = *token, .tls = f.api.Tls()});
}

int RunServices(const ListFlags& f) {
  auto client = Connect(f);
  if (!client.ok()) return Fail("services", client.status());
  registry::Client& c = **client;
  auto services = c.Services();
  if (!services.ok()) return Fail("services", services.status());
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, tags] : *services) {
    auto all = c.All(name);
    if (!all.ok()) return Fail("services", all.status());
    size_t passing = 0;
    for (const auto& i : *all) passing += i.status == registry::HealthStatus::kPassing;
    rows.push_back({name, std::to_string(all->size()), std::to_string(passing), Join(tags, " ")});
  }
  PrintTable({.csv = f.csv, .json = f.json}, {"service", "instances", "passing", "tags"}, rows);
  return 0;
}

int RunInstances(const ListFlags& f) {
  auto client = Connect(f);
  if (!client.ok()) return Fail("instances", client.status());
  registry::Client& c = **client;
  auto all = c.All(f.service);
  if (!all.ok()) return Fail("instances", all.status());
  std::vector<std::vector<std::string>> rows;
  for (const auto& i : *all) {
    if (f.csv || f.json) {
      rows.push_back({i.id, i.service, i.address, std::to_string(i.port),
                      registry::HealthStatusName(i.status), Join(i.tags, " ")});
    } else {
      rows.push_back({i.id, i.address + ":" + std::to_string(i.port),
                      registry::HealthStatusName(i.status), Join(i.tags, " ")});
    }
  }
  if (f.csv || f.json) {
    PrintTable({.csv = f.csv, .json = f.json},
               {"id", "service", "address", "port", "status", "tags"}, rows);
  } else {
    PrintTable({.csv = f.csv, .json = f.json}, {"id", "address", "status", "tags"}, rows);
  }
  return 0;
}

void CommonFlags(CLI::App* sub, ListFlags& f) {
  f.api.AddTo(sub, "The registry", "--registry");
  sub->add_flag("--csv", f.csv, "Print CSV with a header row");
  sub->add_flag("--json", f.json, "Print JSON");
}

}  // namespace

void AddRegistryListCommands(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<ListFlags>();
  CLI::App* services = app.add_subcommand("services", "List the registry's services");
  CommonFlags(services, *f);
  services->callback([f, set_action] { set_action([f] { return RunServices(*f); }); });

  auto g = std::make_shared<ListFlags>();
  CLI::App* instances =
      app.add_subcommand("instances", "List a service's instances and their health");
  instances->add_option("service", g->service, "Service name")->required();
  CommonFlags(instances, *g);
  instances->callback([g, set_action] { set_action([g] { return RunInstances(*g); }); });
}

}  // namespace pier::app
