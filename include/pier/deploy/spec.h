// File: spec.h
// The architecture spec (`pier.yaml`): services with their image or command, replicas, ports,
// env, resources, health check, dependencies and the calls they make to each other; routes on
// the pier proxy; and which platform parts run. ParseArchitecture reads the YAML (errors name
// file:line:column and the field); MicroserviceBuilder builds the same model in C++.
//
//   name: shop
//   platform: {registry: true, proxy: {listen: 127.0.0.1:7080}, resp: 127.0.0.1:7379,
//              cache: {policy: allkeys-s3fifo, memory: 256mb}, queue: {topics: [orders]}}
//   services:
//     api:
//       version: v1
//       command: [pier, demo-service, --listen, "127.0.0.1:${PORT}"]   # or image: local/api:1
//       replicas: 2
//       ports: ["8080:80"]                 # HOST:CONTAINER, or CONTAINER alone
//       env: {LOG: debug}
//       resources: {cpu: 0.5, memory: 256mb, pids: 100}
//       health: {http: /health, port: 80, interval: 5s, timeout: 1s, retries: 3, start_period: 10s}
//       depends_on: {db: {condition: healthy}}
//       calls: [{service: db, timeout: 2s, retries: 2}]
//       restart: on-failure                # no (default), always, on-failure, unless-stopped
//       update: {strategy: canary, steps: [5, 25, 50, 100], step_time: 10s, max_error_rate: 5}
//     db: {image: local/db:1, health: {tcp: 5432}}
//   routes:
//     - {host: shop.local, path_prefix: /, service: api, policy: least_request, timeout: 5s,
//        retries: 2}
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pier/base/status.h"

namespace pier::deploy {

struct HealthCheck {
  enum class Kind { kNone, kHttp, kTcp, kCommand };
  Kind kind = Kind::kNone;
  std::string http_path;
  uint16_t port = 0;  // HTTP and TCP checks; 0 (HTTP): the instance's own port
  std::vector<std::string> command;
  int64_t interval_ms = 10000, timeout_ms = 2000, start_period_ms = 0;
  uint32_t retries = 3;
};

struct PortMapping {
  uint16_t host = 0;  // 0: not published on the host
  uint16_t container = 0;
};

struct Dependency {
  std::string service;
  enum class Condition { kStarted, kHealthy };
  Condition condition = Condition::kStarted;
  std::string where;  // file:line:column of the entry
};

// A call this service makes to another: the time it waits and the retries it makes.
struct Call {
  std::string service;
  int64_t timeout_ms = 5000;
  uint32_t retries = 0;
  std::string where;
};

// How `pier deploy` moves a service to a new version (see docs/deploy.md).
struct UpdatePolicy {
  enum class Strategy { kRolling, kBlueGreen, kCanary };
  Strategy strategy = Strategy::kRolling;
  uint32_t max_surge = 1;                // rolling: new instances above the replica count
  uint32_t max_unavailable = 0;          // rolling: instances below it
  int64_t min_ready_ms = 0;              // healthy this long before an instance counts as ready
  int64_t progress_deadline_ms = 60000;  // a new instance not ready by then: roll back
  std::vector<uint32_t> steps = {5, 25, 50, 100};  // canary: traffic percents, ending at 100
  int64_t step_ms = 10000;                         // canary: time at each step before judging
  double max_error_rate = 5;   // canary: percentage points of errors above the stable's
  double max_p99_ratio = 2;    // canary: p99 at most this times the stable's (+ 5 ms)
  uint64_t min_requests = 20;  // canary: a step is judged on at least this many requests
};
const char* StrategyName(UpdatePolicy::Strategy s);

struct Service;
// The port a health check probes: its own, else the service's first container port, else 80.
uint16_t ProbePort(const Service& s);

struct Service {
  std::string name, version = "v1", image;
  std::vector<std::string> command;  // with an image: its command (CMD); without: a process
  uint32_t replicas = 1;
  std::vector<PortMapping> ports;
  std::map<std::string, std::string> env;
  double cpu = 0;       // cores; 0: no limit
  uint64_t memory = 0;  // bytes; 0: no limit
  uint64_t pids = 0;    // 0: no limit
  HealthCheck health;
  std::vector<Dependency> depends_on;
  std::vector<Call> calls;
  std::string restart = "no";  // Compose's restart policies
  UpdatePolicy update;
  std::string where;  // file:line:column of the service
};

struct Route {
  std::string host, path_prefix = "/", service, policy = "round_robin";
  int64_t timeout_ms = 15000;
  uint32_t retries = 0;
  std::string where;
};

struct Platform {
  bool registry = true;
  bool proxy = true;
  std::string proxy_listen = "127.0.0.1:7080";
  std::string resp_listen = "127.0.0.1:7379";  // the cache's and queue's RESP listener
  bool cache = false;
  std::string cache_policy = "allkeys-lru";
  uint64_t cache_memory = 0;
  bool queue = false;
  std::vector<std::string> queue_topics;
};

struct Architecture {
  std::string name = "pier";
  Platform platform;
  std::vector<Service> services;  // file order; names may repeat (validation reports it)
  std::vector<Route> routes;
  const Service* Find(const std::string& name) const;
};

// Reads a spec; `name` stands for the file in messages. Schema errors (unknown keys, wrong
// types, bad values) fail here; problems between parts are Validate's (validate.h).
Result<Architecture> ParseArchitecture(std::string_view text, const std::string& name);
Result<Architecture> LoadArchitecture(const std::string& path);

// Builds an Architecture in code:
//   auto a = MicroserviceBuilder("shop")
//       .Service("api").Image("local/api:1").Replicas(2).Port(8080, 80).Cpu(0.5)
//           .HttpHealth("/health", 80).DependsOn("db", Dependency::Condition::kHealthy)
//           .Calls("db", 2000, 2)
//       .Service("db").Image("local/db:1").TcpHealth(5432)
//       .Route("shop.local", "/", "api", 5000, 2)
//       .Build();
class MicroserviceBuilder {
 public:
  explicit MicroserviceBuilder(std::string name);
  MicroserviceBuilder& Service(std::string name);  // later calls configure this service
  MicroserviceBuilder& Version(std::string v);
  MicroserviceBuilder& Image(std::string image);
  MicroserviceBuilder& Command(std::vector<std::string> argv);
  MicroserviceBuilder& Replicas(uint32_t n);
  MicroserviceBuilder& Port(uint16_t host, uint16_t container);
  MicroserviceBuilder& Env(std::string key, std::string value);
  MicroserviceBuilder& Cpu(double cores);
  MicroserviceBuilder& Memory(uint64_t bytes);
  MicroserviceBuilder& Pids(uint64_t n);
  MicroserviceBuilder& HttpHealth(std::string path, uint16_t port);
  MicroserviceBuilder& TcpHealth(uint16_t port);
  MicroserviceBuilder& DependsOn(std::string service, Dependency::Condition c);
  MicroserviceBuilder& Calls(std::string service, int64_t timeout_ms, uint32_t retries);
  MicroserviceBuilder& Route(std::string host, std::string path_prefix, std::string service,
                             int64_t timeout_ms = 15000, uint32_t retries = 0);
  MicroserviceBuilder& Cache(std::string policy, uint64_t memory);
  MicroserviceBuilder& Queue(std::vector<std::string> topics);
  Architecture Build() const { return a_; }

 private:
  deploy::Service& current();
  Architecture a_;
};

}  // namespace pier::deploy
