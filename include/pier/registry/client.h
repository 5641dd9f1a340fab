// File: client.h
// Client: a registry client over Consul's HTTP API (pier registry or Consul itself). Registers
// instances and keeps their TTL checks alive from a background thread, deregisters them on
// destruction, discovers healthy instances, and watches a service with blocking queries.
//   Client c({.address = "127.0.0.1:7900"});
//   c.RegisterWithHeartbeat(def, 10s);            // heartbeats every ttl/3 until ~Client
//   auto healthy = c.Healthy("web");               // Result<std::vector<Instance>>
//   auto w = c.Watch("web", {}, [](const std::vector<Instance>& now) { ... });
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pier/base/status.h"
#include "pier/net/tls_options.h"
#include "pier/registry/types.h"

namespace pier::registry {

struct ClientOptions {
  std::string address = "127.0.0.1:7900";  // HOST:PORT of the HTTP API
  std::string token;                       // sent as X-Consul-Token when set
  std::chrono::milliseconds timeout{5000};
  net::TlsClientOptions tls;  // HTTPS when tls.enabled
};

// One instance as discovery returns it.
struct Instance {
  std::string id;
  std::string service;
  std::string address;
  int port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  Weights weights;
  HealthStatus status = HealthStatus::kPassing;  // the worst of its checks
};

class Client {
 public:
  explicit Client(ClientOptions options = {});
  // Stops heartbeats and deregisters what RegisterWithHeartbeat registered.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Status Register(const ServiceDefinition& def);
  // Adds a TTL check "service:<id>" to `def`, registers it, marks it passing, and heartbeats it
  // every ttl/3 until Deregister() or destruction.
  Status RegisterWithHeartbeat(ServiceDefinition def, Duration ttl);
  Status Deregister(const std::string& service_id);
  Status UpdateTtl(const std::string& check_id, HealthStatus status, const std::string& note = "");
  Status SetMaintenance(const std::string& service_id, bool enable, const std::string& reason = "");

  // Instances of `service` (passing only unless filter says otherwise), in a stable order.
  Result<std::vector<Instance>> Healthy(const std::string& service,
                                        InstanceFilter filter = {.passing_only = true});
  Result<std::vector<Instance>> All(const std::string& service);
  // Service name -> tags.
  Result<std::map<std::string, std::vector<std::string>>> Services();

  // Calls `fn` with the instances matching `filter` now and after every change, from a
  // background thread, until the returned handle is destroyed.
  class WatchHandle {
   public:
    ~WatchHandle();

   private:
    friend class Client;
    std::atomic<bool> stop_{false};
    std::thread thread_;
  };
  std::unique_ptr<WatchHandle> Watch(const std::string& service, InstanceFilter filter,
                                     std::function<void(const std::vector<Instance>&)> fn);

 private:
  struct Reply {
    int status;
    std::string body;
    uint64_t index;
  };
  Result<Reply> Call(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                     const std::atomic<bool>* cancel = nullptr);
  Status Expect200(const Result<Reply>& r, const std::string& what);
  Result<std::vector<Instance>> Query(const std::string& service, const InstanceFilter& filter,
                                      uint64_t index, uint64_t* new_index,
                                      const std::atomic<bool>* cancel = nullptr);
  void HeartbeatLoop();

  ClientOptions options_;
  std::string host_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, Duration> heartbeats_;  // service id -> ttl
  std::thread heartbeat_thread_;
};

}  // namespace pier::registry
