// File: cgroup.h
// Cgroup: resource limits for one child process (the process driver). On cgroup v1 it makes a
// directory per limited controller (cpu, memory, pids) under pier's own cgroup in that
// controller; on a pure v2 machine, one directory under pier's own cgroup. Limits that cannot be
// applied (no permission, v2 controllers not delegated) are reported, not fatal.
//   std::string applied;
//   auto cg = Cgroup::Create("pier", "api-v1-1", {.cpu = 0.5, .memory = 256 << 20}, &applied);
//   if (cg) cg->Add(pid);
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pier::deploy {

struct Limits {
  double cpu = 0;  // cores
  uint64_t memory = 0;
  uint64_t pids = 0;
};

class Cgroup {
 public:
  // nullptr when nothing could be applied; `applied` says what was, or why not.
  static std::unique_ptr<Cgroup> Create(const std::string& group, const std::string& id,
                                        const Limits& limits, std::string* applied);
  // Removes the directories (after the process has exited).
  ~Cgroup();
  bool Add(pid_t pid);
  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
};

}  // namespace pier::deploy
