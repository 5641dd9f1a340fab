// `pier services` and `pier instances NAME`: the registry's state as a table (or CSV, JSON).
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "pier/registry/client.h"

namespace pier::app {

namespace {

struct ListFlags {
  std::string registry = "127.0.0.1:7900";
  std::string token;
  std::string service;
  bool csv = false;
  bool json = false;
};

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Prints rows under a header: aligned columns, CSV, or a JSON array of objects.
void PrintTable(const ListFlags& f, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  if (f.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json o;
      for (size_t i = 0; i < header.size(); ++i) o[header[i]] = r[i];
      out.push_back(o);
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  if (f.csv) {
    auto quote = [](const std::string& s) {
      if (s.find_first_of(",\"\n") == std::string::npos) return s;
      std::string q = "\"";
      for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    std::cout << Join(header, ",") << "\n";
    for (const auto& r : rows) {
      std::vector<std::string> q;
      for (const auto& c : r) q.push_back(quote(c));
      std::cout << Join(q, ",") << "\n";
    }
    return;
  }
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) {
      std::cout << r[i];
      if (i + 1 < r.size()) std::cout << std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << "\n";
  };
  std::vector<std::string> upper;
  for (auto h : header) {
    for (auto& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    upper.push_back(h);
  }
  line(upper);
  for (const auto& r : rows) line(r);
}

int RunServices(const ListFlags& f) {
  registry::Client c({.address = f.registry, .token = f.token});
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
  PrintTable(f, {"service", "instances", "passing", "tags"}, rows);
  return 0;
}

int RunInstances(const ListFlags& f) {
  registry::Client c({.address = f.registry, .token = f.token});
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
    PrintTable(f, {"id", "service", "address", "port", "status", "tags"}, rows);
  } else {
    PrintTable(f, {"id", "address", "status", "tags"}, rows);
  }
  return 0;
}

void CommonFlags(CLI::App* sub, ListFlags& f) {
  sub->add_option("--registry", f.registry, "The registry's HTTP API, HOST:PORT")
      ->capture_default_str();
  sub->add_option("--token", f.token, "ACL token (X-Consul-Token)");
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
