// File: registry_server.h
// RegistryServer: the registry as a network service: the store, the catalog, the health checker,
// blocking queries and Consul's HTTP API on an HttpServer.
//   RegistryServer server(pool, {.data_dir = "pier-data"});
//   server.Start();  http.Route(...) via server.AddRoutes(http);  ...  server.Shutdown();
#pragma once

#include <memory>
#include <string>

#include "pier/base/status.h"
#include "pier/net/http_server.h"
#include "pier/net/io_pool.h"
#include "pier/registry/registry.h"

namespace pier::perf {
class Analyzer;
class Tuner;
}  // namespace pier::perf

namespace pier::registry {

struct RegistryServerOptions {
  // Where registrations persist (DATA_DIR/registry.db); empty: in memory only.
  std::string data_dir;
  // etcd://HOST:PORT[/PREFIX]: keep the catalog in etcd instead, shared by every registry that
  // names the same etcd and prefix (data_dir is then unused).
  std::string store;
  std::string datacenter = "dc1";
  std::string node_name = "pier";
  std::string node_address = "127.0.0.1";
  RegistryOptions registry;
  Clock* clock = nullptr;               // null: the steady clock
  std::chrono::milliseconds tick{100};  // TTL expiry and reaping granularity
};

class RegistryServer {
 public:
  RegistryServer(net::IoPool& pool, RegistryServerOptions options);
  ~RegistryServer();

  // Opens the store and loads it. Call before AddRoutes and before the pool runs.
  Status Open();
  // Consul's /v1 endpoints.
  void AddRoutes(net::HttpServer& http);
  // Gives the analyzer the registry's source (registry_perf.cc: instances, probe lag); the
  // registry has no tuning knobs.
  void AttachTo(perf::Analyzer& analyzer, perf::Tuner& tuner);
  // Starts health checks and the tick timer (the pool may already run).
  void Start();
  // Stops checks and wakes every blocking query.
  void Shutdown();

  ServiceRegistry& registry();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pier::registry
