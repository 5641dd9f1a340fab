// File: system.h
// System: a running system of `pier up`. It owns every service's instances (through a Driver),
// registers them with their health checks and their version as a tag, and keeps the proxy's
// routes as a traffic split over one cluster per version (`catalog@v2`). `pier deploy` moves a
// service to a new version with its update policy (rolling, blue-green, canary; rollout.cc);
// `pier rollback` deploys the previous spec (a blue-green standby makes that instant).
//   System sys(driver, registry_client, proxy, options);
//   sys.Up(spec);  ...  sys.BeginDeploy(next);  ...  sys.StopAll();
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pier/base/status.h"
#include "pier/deploy/canary.h"
#include "pier/deploy/driver.h"
#include "pier/deploy/spec.h"
#include "pier/proxy/proxy_server.h"
#include "pier/registry/client.h"

namespace pier::deploy::runtime {

struct SystemOptions {
  std::string registry_address;  // the Consul HTTP API the proxy watches
  std::string registry_token;    // ... and the token and TLS it needs
  net::TlsClientOptions registry_tls;
  std::string self;                        // this binary: a command "pier ..." runs it
  std::string log_dir;                     // where instance logs are (for error messages)
  std::chrono::milliseconds wait{60000};   // for a healthy dependency at startup
  std::map<std::string, std::string> env;  // for every instance (a service's env wins)
  std::string platform;                    // what else runs, for status
  // The clock of every deadline, min-ready time and canary step (ms); default the steady clock.
  // Waits poll the registry and the proxy every 50-100 ms of real time and compare with it, so a
  // test's fake clock makes a deadline pass without waiting for it.
  std::function<int64_t()> now_ms;
};

class System {
 public:
  System(deploy::Driver& driver, registry::Client& registry, proxy::ProxyServer& proxy,
         SystemOptions options);
  ~System();

  // Starts the proxy with the routes of `a` (no instances yet).
  Status StartProxy(const deploy::Architecture& a);
  // Starts every service in dependency order, waiting for `healthy` dependencies.
  Status Up();
  // A rollout of `next` on a background thread; FailedPrecondition while one runs.
  Status BeginDeploy(deploy::Architecture next);
  // Aborts a running rollout (it rolls back), else deploys the spec before the last deploy.
  Status BeginRollback();
  // {"state": idle|running|succeeded|rolled_back|failed, "log": [lines from `from`], "next": n}
  nlohmann::json DeployState(size_t from);
  // Services, versions with their traffic weights, instances with health and driver state.
  // It asks the registry and the driver, so it blocks: the API serves Snapshot() instead.
  nlohmann::json Describe();
  // Describe() as of the last Supervise() or rollout end (at most ~500 ms old).
  nlohmann::json Snapshot();
  // Restarts exited instances per their policy (the process driver) and refreshes the
  // snapshot; call every ~500 ms from a thread of its own.
  void Supervise();
  void Refresh();
  // Stops every instance, newest service first.
  void StopAll();

 private:
  struct Instance {
    std::string id;
    uint16_t host_port = 0;
    int64_t ready_since_ms = 0;  // first seen passing; 0: not yet
  };
  struct VersionSet {
    deploy::Service spec;
    std::vector<Instance> instances;
    uint32_t weight = 0;  // its share of the service's routes
  };
  struct ServiceState {
    std::map<std::string, VersionSet> versions;
    std::string stable;   // the version that serves
    std::string standby;  // blue-green: the previous set, drained but running
  };

  // Instances and traffic.
  Result<Instance> StartInstance(const deploy::Service& s);
  void StopInstance(const Instance& inst);
  void StopVersion(const std::string& service, const std::string& version);
  Status ApplyTraffic();
  proxy::ProxyConfig ProxyFor() const;
  std::set<std::string> PassingIds(const std::string& service, const std::string& version);
  size_t CountReady(const std::string& service, const std::string& version, int64_t min_ready_ms);
  bool WaitProxyHosts(const std::string& cluster, size_t n, std::chrono::milliseconds within);
  deploy::Window Reading(const std::string& cluster, const proxy::ProxyServer::Totals& since);
  std::string LastLogLine(const std::string& instance_id);

  // Rollouts (rollout.cc). Each leaves the service on one stable version; an error says why
  // it rolled back.
  void RunDeploy(deploy::Architecture next);
  Status DeployService(const deploy::Service& next);
  // A service the running spec does not have: its routes, then its instances; on failure it is
  // removed again. RemoveService stops every version of one.
  Status AddService(const deploy::Service& s, const std::vector<deploy::Route>& routes);
  void RemoveService(const std::string& name);
  static std::vector<const deploy::Service*> StartOrder(const std::vector<deploy::Service>& all);
  Status WaitDependencies(const deploy::Service& s);
  Status Rolling(const deploy::Service& next);
  Status BlueGreen(const deploy::Service& next);
  Status Canary(const deploy::Service& next);
  Status StartSet(const deploy::Service& next, uint32_t count, int64_t deadline_ms);
  void Scale(const deploy::Service& s);
  Status Undo(const deploy::Service& next, const std::string& why);
  Status UndoRolling(const deploy::Service& next, const std::string& old, const std::string& why);

  int64_t Now() const { return options_.now_ms(); }
  void Log(const std::string& line);
  // Logs the failure of a step that has nothing to undo (cleanup, best-effort stops).
  void LogIfFailed(const std::string& what, const Status& s);
  // Sleeps up to `ms`; false when a rollback was asked for or the system is stopping.
  bool Pause(int64_t ms);

  deploy::Driver& driver_;
  registry::Client& registry_;
  proxy::ProxyServer& proxy_;
  SystemOptions options_;

  std::mutex mu_;  // the fields below
  deploy::Architecture spec_, previous_;
  bool has_previous_ = false;
  std::map<std::string, ServiceState> services_;
  std::map<std::string, uint32_t> serial_;  // per service, for instance ids
  std::vector<std::string> order_;          // services in start order
  bool proxy_started_ = false;

  std::mutex snapshot_mu_;
  nlohmann::json snapshot_;

  std::mutex log_mu_;
  std::vector<std::string> log_;
  std::string state_ = "idle";
  std::thread rollout_;
  std::atomic<bool> busy_{false}, abort_{false}, stopping_{false};
  std::condition_variable_any wake_;
  std::mutex wake_mu_;
};

}  // namespace pier::deploy::runtime
