// The `process` driver: each instance a child process (process.h) in its own cgroup
// (cgroup.h), its output appended to LOG_DIR/ID.log, restarted by Supervise() per its restart
// policy with Docker's backoff (100 ms doubling to 10 s, reset after 10 s of running).
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "deploy/drivers/cgroup.h"
#include "pier/base/clock.h"
#include "pier/deploy/driver.h"
#include "pier/deploy/process.h"

namespace pier::deploy {

namespace {

constexpr int64_t kMinBackoffMs = 100, kMaxBackoffMs = 10000, kResetAfterMs = 10000;

class ProcessDriver final : public Driver {
 public:
  explicit ProcessDriver(ProcessDriverOptions o) : options_(std::move(o)) {
    if (!options_.now_ms) options_.now_ms = [] { return SteadyNowMs(); };
    std::error_code ec;
    std::filesystem::create_directories(options_.log_dir, ec);
  }

  std::string name() const override { return "process"; }

  Status Start(const InstanceSpec& spec) override {
    if (spec.command.empty()) {
      return Status::InvalidArgument("services." + spec.service +
                                     ": the process driver runs a command, and this service has "
                                     "only an image (use --driver docker, or give a command)");
    }
    auto e = std::make_shared<Entry>();
    e->spec = spec;
    if (Status s = Spawn(*e); !s.ok()) return s;
    std::lock_guard l(mu_);
    entries_[spec.id] = std::move(e);
    return Status::Ok();
  }

  Status Stop(const std::string& id, std::chrono::milliseconds grace) override {
    std::shared_ptr<Entry> e;
    {
      std::lock_guard l(mu_);
      auto it = entries_.find(id);
      if (it == entries_.end()) return Status::NotFound("no instance '" + id + "'");
      e = std::move(it->second);
      entries_.erase(it);
    }
    std::lock_guard l(e->mu);
    if (e->child) e->child->Stop(grace);
    e->child.reset();
    e->cgroup.reset();
    return Status::Ok();
  }

  Result<InstanceState> Inspect(const std::string& id) override {
    auto e = Find(id);
    if (!e) return Status::NotFound("no instance '" + id + "'");
    std::lock_guard l(e->mu);
    InstanceState s;
    s.running = e->child && e->child->Running();
    s.exit_code = e->exit_code;
    s.restarts = e->restarts;
    s.handle = e->child ? std::to_string(e->child->pid()) : "";
    s.limits = e->limits;
    return s;
  }

  Result<std::string> Logs(const std::string& id, size_t max_bytes) override {
    std::ifstream in(LogPath(id), std::ios::binary | std::ios::ate);
    if (!in) return Status::NotFound("no log for '" + id + "'");
    const auto size = static_cast<size_t>(in.tellg());
    const size_t from = size > max_bytes ? size - max_bytes : 0;
    in.seekg(static_cast<std::streamoff>(from));
    std::string out(size - from, '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    return out;
  }

  std::vector<std::string> Supervise() override {
    std::vector<std::shared_ptr<Entry>> all;
    {
      std::lock_guard l(mu_);
      for (const auto& [_, e] : entries_) all.push_back(e);
    }
    std::vector<std::string> events;
    const int64_t now = options_.now_ms();
    for (const auto& e : all) {
      std::lock_guard l(e->mu);
      if (!e->child) continue;
      if (e->child->Running()) {
        if (now - e->started_ms > kResetAfterMs) e->backoff_ms = kMinBackoffMs;
        continue;
      }
      if (e->restart_at_ms == 0) {  // just exited
        const int st = e->child->Stop(std::chrono::milliseconds(0));
        e->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        const std::string& policy = e->spec.restart;
        const bool again = policy == "always" || policy == "unless-stopped" ||
                           (policy == "on-failure" && e->exit_code != 0);
        events.push_back(e->spec.id + " exited with code " + std::to_string(e->exit_code) +
                         (again ? "; restarting in " + std::to_string(e->backoff_ms) + " ms"
                                : " (restart: " + policy + ")"));
        e->restart_at_ms = again ? now + e->backoff_ms : -1;
        e->backoff_ms = std::min(e->backoff_ms * 2, kMaxBackoffMs);
      }
      if (e->restart_at_ms > 0 && now >= e->restart_at_ms) {
        const Status s = Spawn(*e);
        ++e->restarts;
        events.push_back(s.ok() ? e->spec.id + " restarted (" + std::to_string(e->restarts) + ")"
                                : e->spec.id + " failed to restart: " + s.message());
      }
    }
    return events;
  }

 private:
  struct Entry {
    std::mutex mu;
    InstanceSpec spec;
    std::unique_ptr<ChildProcess> child;
    std::unique_ptr<Cgroup> cgroup;
    std::string limits;
    int exit_code = 0;
    uint32_t restarts = 0;
    int64_t started_ms = 0;
    int64_t restart_at_ms = 0;  // 0: running; -1: stays down; else when to start it again
    int64_t backoff_ms = kMinBackoffMs;
  };

  std::string LogPath(const std::string& id) const { return options_.log_dir + "/" + id + ".log"; }

  std::shared_ptr<Entry> Find(const std::string& id) {
    std::lock_guard l(mu_);
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second;
  }

  Status Spawn(Entry& e) {
    e.cgroup.reset();
    auto child = ChildProcess::Spawn(e.spec.command, e.spec.env, LogPath(e.spec.id));
    if (!child.ok()) {
      return Status(child.status().code(),
                    "services." + e.spec.service + ": " + child.status().message());
    }
    if (!options_.cgroup_name.empty()) {
      e.cgroup = Cgroup::Create(options_.cgroup_name, e.spec.id,
                                {.cpu = e.spec.cpu, .memory = e.spec.memory, .pids = e.spec.pids},
                                &e.limits);
      if (e.cgroup && !e.cgroup->Add((*child)->pid())) e.limits += " (could not move the process)";
    } else {
      e.limits = "off";
    }
    e.child = std::move(*child);
    e.started_ms = options_.now_ms();
    e.restart_at_ms = 0;
    return Status::Ok();
  }

  ProcessDriverOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace

std::unique_ptr<Driver> MakeProcessDriver(ProcessDriverOptions options) {
  return std::make_unique<ProcessDriver>(std::move(options));
}

}  // namespace pier::deploy
