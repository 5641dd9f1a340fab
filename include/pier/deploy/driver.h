// File: driver.h
// Driver: what runs service instances. Two implementations behind one interface: `process`
// (child processes with cgroup limits where the machine allows, log files and a restart policy;
// no Docker needed) and `docker` (containers through the Docker Engine API on its unix socket;
// works with dockerd and podman's API). pier runs the health checks itself for both, so a driver
// only starts, stops, inspects and reads logs.
//   auto d = MakeProcessDriver({.log_dir = "pier-data/logs"});
//   d->Start(instance);  ...  d->Inspect(instance.id);  d->Stop(instance.id, 5s);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pier/base/status.h"
#include "pier/deploy/spec.h"

namespace pier::deploy {

// One instance of a service at one version.
struct InstanceSpec {
  std::string id;  // unique in the system, e.g. catalog-v2-1
  std::string service, version;
  std::string image;                 // docker
  std::vector<std::string> command;  // process: argv; docker: the image's command (CMD)
  std::map<std::string, std::string> env;
  double cpu = 0;              // cores; 0: no limit
  uint64_t memory = 0;         // bytes; 0: no limit
  uint64_t pids = 0;           // 0: no limit
  uint16_t host_port = 0;      // where pier reaches the instance on 127.0.0.1
  uint16_t port = 0;           // where it listens (process: = host_port; docker: in the container)
  HealthCheck health;          // docker: a command check becomes the container's own health check
  std::string restart = "no";  // no, always, on-failure, unless-stopped
};

struct InstanceState {
  bool running = false;
  int exit_code = 0;  // when not running
  uint32_t restarts = 0;
  std::string handle;  // pid or container id
  std::string limits;  // how the resource limits were applied, e.g. "cgroup v1: cpu memory"
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual std::string name() const = 0;
  // Starts an instance; an error names what is missing (program, image, daemon).
  virtual Status Start(const InstanceSpec& spec) = 0;
  // Stops it (SIGTERM, then SIGKILL after `grace`) and forgets it.
  virtual Status Stop(const std::string& id, std::chrono::milliseconds grace) = 0;
  virtual Result<InstanceState> Inspect(const std::string& id) = 0;
  // The last `max_bytes` of its output.
  virtual Result<std::string> Logs(const std::string& id, size_t max_bytes) = 0;
  // Called about every 500 ms: restarts exited instances per their policy (the process driver;
  // Docker restarts its containers itself). Returns one line per event, for the log.
  virtual std::vector<std::string> Supervise() { return {}; }
};

struct ProcessDriverOptions {
  std::string log_dir = "pier-data/logs";  // DIR/ID.log per instance
  // Where the cgroups go: a directory under each controller's mount (cgroup v1) or under
  // pier's own cgroup (v2); "" turns limits off.
  std::string cgroup_name = "pier";
  std::function<int64_t()> now_ms;  // the restart backoff's clock; default: steady clock
};
std::unique_ptr<Driver> MakeProcessDriver(ProcessDriverOptions options);

struct DockerDriverOptions {
  std::string socket = "/var/run/docker.sock";
  std::string project = "pier";  // label pier.project: what this run owns
};
// Checks the daemon answers (GET /_ping) and removes containers a previous run of the same
// project left behind.
Result<std::unique_ptr<Driver>> MakeDockerDriver(DockerDriverOptions options);

}  // namespace pier::deploy
