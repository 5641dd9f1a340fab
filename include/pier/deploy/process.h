// File: process.h
// ChildProcess: a service instance run as a child process (the `process` driver): argv and
// environment, stdout and stderr appended to a log file, stopped with SIGTERM and, after a
// grace period, SIGKILL. A child dies with the process that spawned it (a parent-death signal):
// when pier is killed, its services do not run on unsupervised.
//   auto p = ChildProcess::Spawn({"pier", "demo-service"}, {{"PORT", "8080"}}, "api-1.log");
//   ...  p->Stop(std::chrono::seconds(5));
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pier/base/status.h"

namespace pier::deploy {

class ChildProcess {
 public:
  // Starts argv[0] (looked up in PATH) with the current environment plus `env`. An error names
  // the program and why (not found, not executable).
  static Result<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                     const std::map<std::string, std::string>& env,
                                                     const std::string& log_path);
  ~ChildProcess();  // stops it (grace 5 s) if still running

  pid_t pid() const { return pid_; }
  bool Running();
  // SIGTERM, then SIGKILL after `grace`; returns the exit status as waitpid gives it.
  int Stop(std::chrono::milliseconds grace);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace pier::deploy
