// `pier registry`: the service registry with Consul's HTTP API.
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/commands.h"
#include "app/server_runtime.h"
#include "app/settings.h"
#include "pier/base/logging.h"
#include "pier/net/tcp_listener.h"
#include "pier/registry/registry_server.h"

namespace pier::app {

namespace {

struct RegistryFlags : ServerFlags {
  RegistryFlags() {
    http = "127.0.0.1:7900";
    data_dir = "pier-data";
  }
  std::string node_name = "pier";
  std::string datacenter = "dc1";
  std::string store;
};

// The registry's settings table: its flags and the keys of the config file's `registry:`
// section.
void AddSettings(Settings& s, RegistryFlags& f) {
  f.AddTo(s, "registry");
  s.Text("http", &f.http,
         "HTTP listener HOST:PORT for the Consul API, /metrics and /health (port 0 picks a free "
         "one)")
      .In(Settings::Scope::kFlagOnly)
      .Text("listen", &f.listen, "Same as --http (the registry has one listener)")
      .In(Settings::Scope::kTop)
      .Text("data-dir", &f.data_dir,
            "Directory for registry.db (registrations survive restarts); '' keeps them in memory "
            "only")
      .In(Settings::Scope::kSection)
      .Text("store", &f.store,
            "etcd://HOST:PORT[/PREFIX]: keep the catalog in etcd, shared by every registry using "
            "it (instead of DATA_DIR/registry.db)")
      .Text("node-name", &f.node_name, "The node name the API reports")
      .Text("datacenter", &f.datacenter, "The datacenter the API reports");
  f.security.AddTo(s, /*resp=*/false);
}

int RunRegistry(RegistryFlags& f, const Settings& settings, const CLI::App& sub) {
  if (Status s = settings.Apply(f.config, sub); !s.ok()) return Fail("registry", s);
  if (Status s = InitLogging(f.log_level, f.log_format, "registry"); !s.ok())
    return Fail("registry", s);
  if (sub.count("--listen")) f.http = f.listen;  // one listener: the API is the HTTP port
  auto hp = net::ParseHostPort(f.http, "--http");
  if (!hp.ok()) return Fail("registry", hp.status());
  ServerRuntime rt(f.threads, "registry");
  if (Status s = rt.ConfigureSecurity(f.security, f.data_dir, f.http); !s.ok()) {
    return Fail("registry", s);
  }
  registry::RegistryServerOptions o;
  o.data_dir = f.data_dir;
  o.store = f.store;
  o.node_name = f.node_name;
  o.datacenter = f.datacenter;
  o.node_address = hp->first == "0.0.0.0" ? "127.0.0.1" : hp->first;
  registry::RegistryServer server(rt.pool(), o);
  server.AttachTo(rt.analyzer(), rt.tuner());
  if (Status s = server.Open(); !s.ok()) return Fail("registry", s);
  if (Status s = rt.ListenHttp(f.http, [&](net::HttpServer& http) { server.AddRoutes(http); });
      !s.ok()) {
    return Fail("registry", s);
  }
  rt.OnShutdown([&] { server.Shutdown(); });
  rt.Start();
  server.Start();
  std::cout << "listening http=" << rt.http().address() << std::endl;
  LogEvent(LogLevel::kInfo, "pier registry ready",
           {{"http", rt.http().address()},
            {"store", !f.store.empty()     ? f.store
                      : f.data_dir.empty() ? "(memory)"
                                           : f.data_dir},
            {"threads", rt.pool().size()}});
  rt.Wait(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_seconds * 1000)));
  return 0;
}

}  // namespace

void AddRegistryCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<RegistryFlags>();
  auto settings = std::make_shared<Settings>("registry");
  CLI::App* sub = app.add_subcommand(
      "registry", "Run the service registry (Consul-compatible HTTP API, health checks)");
  AddSettings(*settings, *f);
  settings->AddTo(sub);
  sub->callback([f, settings, sub, set_action] {
    set_action([f, settings, sub] { return RunRegistry(*f, *settings, *sub); });
  });
}

}  // namespace pier::app
