#include "deploy/drivers/cgroup.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace pier::deploy {

namespace {

namespace fs = std::filesystem;

bool WriteFile(const fs::path& p, const std::string& value) {
  std::ofstream out(p);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

// controller -> pier's path in it ("" key: the v2 unified hierarchy), from /proc/self/cgroup.
std::map<std::string, std::string> OwnCgroups() {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::stringstream controllers(line.substr(a + 1, b - a - 1));
    const std::string path = line.substr(b + 1);
    if (line.substr(a + 1, b - a - 1).empty()) out[""] = path;
    for (std::string c; std::getline(controllers, c, ',');) out[c] = path;
  }
  return out;
}

}  // namespace

std::unique_ptr<Cgroup> Cgroup::Create(const std::string& group, const std::string& id,
                                       const Limits& limits, std::string* applied) {
  if (limits.cpu <= 0 && limits.memory == 0 && limits.pids == 0) {
    *applied = "none asked";
    return nullptr;
  }
  const auto own = OwnCgroups();
  auto cg = std::unique_ptr<Cgroup>(new Cgroup());
  std::vector<std::string> done, failed;
  const int64_t period = 100000;
  const int64_t quota = std::llround(limits.cpu * period);
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {  // pure cgroup v2
    const fs::path dir = fs::path("/sys/fs/cgroup") / own.at("").substr(1) / group / id;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      *applied = "not applied: cannot create " + dir.string() + ": " + ec.message();
      return nullptr;
    }
    cg->dirs_.push_back(dir.string());
    auto set = [&](const char* name, const char* file, const std::string& v) {
      (WriteFile(dir / file, v) ? done : failed).push_back(name);
    };
    if (limits.cpu > 0) set("cpu", "cpu.max", std::to_string(quota) + " " + std::to_string(period));
    if (limits.memory > 0) set("memory", "memory.max", std::to_string(limits.memory));
    if (limits.pids > 0) set("pids", "pids.max", std::to_string(limits.pids));
  } else {  // cgroup v1: a directory per controller
    auto in = [&](const std::string& controller, const std::string& file, const std::string& v,
                  const std::string& file2 = "", const std::string& v2 = "") {
      auto it = own.find(controller);
      if (it == own.end()) {
        failed.push_back(controller);
        return;
      }
      const fs::path dir =
          fs::path("/sys/fs/cgroup") / controller / it->second.substr(1) / group / id;
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) {
        failed.push_back(controller);
        return;
      }
      cg->dirs_.push_back(dir.string());
      const bool ok = (file2.empty() || WriteFile(dir / file2, v2)) && WriteFile(dir / file, v);
      (ok ? done : failed).push_back(controller);
    };
    if (limits.cpu > 0) {
      in("cpu", "cpu.cfs_quota_us", std::to_string(quota), "cpu.cfs_period_us",
         std::to_string(period));
    }
    if (limits.memory > 0) in("memory", "memory.limit_in_bytes", std::to_string(limits.memory));
    if (limits.pids > 0) in("pids", "pids.max", std::to_string(limits.pids));
  }
  std::string text = fs::exists("/sys/fs/cgroup/cgroup.controllers") ? "cgroup v2:" : "cgroup v1:";
  for (const auto& d : done) text += " " + d;
  if (!failed.empty()) {
    text += done.empty() ? " none" : "";
    text += " (not applied:";
    for (const auto& f : failed) text += " " + f;
    text += ")";
  }
  *applied = text;
  if (done.empty()) return nullptr;
  return cg;
}

bool Cgroup::Add(pid_t pid) {
  bool ok = true;
  for (const auto& d : dirs_)
    ok = WriteFile(fs::path(d) / "cgroup.procs", std::to_string(pid)) && ok;
  return ok;
}

Cgroup::~Cgroup() {
  for (const auto& d : dirs_) rmdir(d.c_str());  // empty once the process has exited
}

}  // namespace pier::deploy
