// The rollouts of `pier deploy` (System's, system.h): which service changed, and per its update
// policy a rolling replacement, a blue-green switch or a canary judged step by step on the
// proxy's per-version traffic. A failed step rolls the service back and says why.
#include <nlohmann/json.hpp>

#include "pier/base/clock.h"
#include "pier/deploy/runtime/system.h"

namespace pier::deploy::runtime {

namespace {

// What running a service depends on (not its update policy): equal means nothing to roll out.
nlohmann::json RunShape(const deploy::Service& s) {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& p : s.ports) ports.push_back({p.host, p.container});
  const auto& h = s.health;
  return {{"version", s.version},
          {"image", s.image},
          {"command", s.command},
          {"env", s.env},
          {"resources", {s.cpu, s.memory, s.pids}},
          {"ports", ports},
          {"restart", s.restart},
          {"health",
           {static_cast<int>(h.kind), h.http_path, h.port, h.command, h.interval_ms, h.timeout_ms,
            h.retries}}};
}

std::string Seconds(int64_t ms) { return std::to_string(ms / 1000) + " s"; }

}  // namespace

Status System::BeginDeploy(deploy::Architecture next) {
  if (busy_.exchange(true)) {
    return Status::FailedPrecondition("a rollout is running; wait for it or pier rollback");
  }
  if (rollout_.joinable()) rollout_.join();
  abort_ = false;
  {
    std::lock_guard l(log_mu_);
    log_.clear();
    state_ = "running";
  }
  rollout_ = std::thread([this, next = std::move(next)]() mutable { RunDeploy(std::move(next)); });
  return Status::Ok();
}

Status System::BeginRollback() {
  if (busy_) {
    abort_ = true;
    wake_.notify_all();
    Log("rollback requested: the running rollout rolls back");
    return Status::Ok();
  }
  deploy::Architecture previous;
  {
    std::lock_guard l(mu_);
    if (!has_previous_) return Status::FailedPrecondition("nothing to roll back: no deploy yet");
    previous = previous_;
  }
  return BeginDeploy(std::move(previous));
}

nlohmann::json System::DeployState(size_t from) {
  std::lock_guard l(log_mu_);
  nlohmann::json lines = nlohmann::json::array();
  for (size_t i = from; i < log_.size(); ++i) lines.push_back(log_[i]);
  return {{"state", state_}, {"log", lines}, {"next", log_.size()}};
}

void System::RunDeploy(deploy::Architecture next) {
  deploy::Architecture before;
  {
    std::lock_guard l(mu_);
    before = spec_;
  }
  // Services that stay change first (in the spec's order), then new ones start (each after what
  // it depends on), then the ones the spec dropped stop. The first failure ends the deploy.
  Status result = Status::Ok();
  for (const auto& s : next.services) {
    if (!before.Find(s.name)) continue;
    result = DeployService(s);
    if (!result.ok()) break;
  }
  if (result.ok()) {
    for (const deploy::Service* s : StartOrder(next.services)) {
      if (before.Find(s->name)) continue;
      result = AddService(*s, next.routes);
      if (!result.ok()) break;
    }
  }
  if (result.ok()) {
    for (auto it = before.services.rbegin(); it != before.services.rend(); ++it) {
      if (!next.Find(it->name)) RemoveService(it->name);
    }
  }
  {
    std::lock_guard l(mu_);
    // The spec records what now runs: every running service at its stable version, so a failed
    // deploy leaves the services it did not reach as they were and can be sent again.
    std::vector<deploy::Service> running;
    for (const auto* list : {&next.services, &before.services}) {
      for (const auto& s : *list) {
        auto it = services_.find(s.name);
        if (it == services_.end() || !it->second.versions.count(it->second.stable)) continue;
        bool listed = false;
        for (const auto& r : running) listed = listed || r.name == s.name;
        if (!listed) running.push_back(it->second.versions.at(it->second.stable).spec);
      }
    }
    if (result.ok()) {
      previous_ = before;
      has_previous_ = true;
      spec_.routes = next.routes;
    } else {  // the routes before, and those of the services this deploy added
      spec_.routes = before.routes;
      for (const auto& r : next.routes) {
        if (!before.Find(r.service) && services_.count(r.service)) spec_.routes.push_back(r);
      }
    }
    spec_.services = std::move(running);
  }
  LogIfFailed("updating the proxy's routes", ApplyTraffic());
  Refresh();
  const bool rolled_back = result.code() == StatusCode::kAborted;
  Log(result.ok()   ? "deploy succeeded"
      : rolled_back ? "deploy rolled back: " + result.message()
                    : "deploy failed: " + result.message());
  {
    std::lock_guard l(log_mu_);
    state_ = result.ok() ? "succeeded" : rolled_back ? "rolled_back" : "failed";
  }
  busy_ = false;
}

Status System::AddService(const deploy::Service& s, const std::vector<deploy::Route>& routes) {
  PIER_RETURN_IF_ERROR(WaitDependencies(s));
  Log("services." + s.name + ": new, " + std::to_string(s.replicas) + " instances of " + s.version);
  {
    std::lock_guard l(mu_);
    auto& st = services_[s.name];
    st.stable = s.version;
    order_.push_back(s.name);
    // The new spec's routes take effect now for what runs and for this service (in the spec's
    // order: the first match wins), so the proxy learns its hosts while it starts.
    std::vector<deploy::Route> now;
    for (const auto& r : routes) {
      if (services_.count(r.service)) now.push_back(r);
    }
    spec_.routes = std::move(now);
  }
  Status started = StartSet(s, s.replicas, s.update.progress_deadline_ms);
  if (started.ok()) {
    std::lock_guard l(mu_);
    services_[s.name].versions[s.version].weight = 100;
    return Status::Ok();
  }
  Log("removing services." + s.name + ": " + started.message());
  RemoveService(s.name);
  return Status::Aborted("services." + s.name + " was not added: " + started.message());
}

void System::RemoveService(const std::string& name) {
  std::vector<std::string> versions;
  {
    std::lock_guard l(mu_);
    std::erase_if(spec_.routes, [&](const deploy::Route& r) { return r.service == name; });
    for (const auto& [version, _] : services_[name].versions) versions.push_back(version);
  }
  if (!versions.empty()) Log("stopping services." + name);
  for (const auto& v : versions) StopVersion(name, v);  // each updates the proxy first
  LogIfFailed("updating the proxy's routes", ApplyTraffic());
  std::lock_guard l(mu_);
  services_.erase(name);
  std::erase(order_, name);
}

Status System::DeployService(const deploy::Service& next) {
  deploy::Service current;
  {
    std::lock_guard l(mu_);
    auto it = services_.find(next.name);
    if (it == services_.end() || !it->second.versions.count(it->second.stable)) {
      return Status::Internal("services." + next.name + ": no running version to update");
    }
    current = it->second.versions.at(it->second.stable).spec;
  }
  if (RunShape(current) == RunShape(next)) {
    if (current.replicas != next.replicas) Scale(next);
    return Status::Ok();
  }
  if (current.version == next.version) {
    return Status::InvalidArgument(next.where + ": services." + next.name +
                                   ": changed, but its version is still " + next.version +
                                   "; give it a new version (versions name the traffic split)");
  }
  std::string standby;
  deploy::Service standby_spec;
  {
    std::lock_guard l(mu_);
    auto& st = services_[next.name];
    standby = st.standby;
    if (st.versions.count(standby)) standby_spec = st.versions.at(standby).spec;
  }
  if (standby == next.version && RunShape(standby_spec) == RunShape(next)) {
    Log("services." + next.name + ": " + current.version + " -> " + next.version +
        " (the blue-green standby: switching back)");
    return BlueGreen(next);
  }
  if (!standby.empty()) {
    Log("removing the standby set " + standby);
    StopVersion(next.name, standby);
  }
  Log("services." + next.name + ": " + current.version + " -> " + next.version + " (" +
      deploy::StrategyName(next.update.strategy) + ")");
  switch (next.update.strategy) {
    case deploy::UpdatePolicy::Strategy::kRolling:
      return Rolling(next);
    case deploy::UpdatePolicy::Strategy::kBlueGreen:
      return BlueGreen(next);
    case deploy::UpdatePolicy::Strategy::kCanary:
      return Canary(next);
  }
  return Status::Ok();
}

void System::Scale(const deploy::Service& s) {
  std::vector<Instance> doomed;
  size_t have = 0;
  {
    std::lock_guard l(mu_);
    auto& set = services_[s.name].versions[s.version];
    set.spec = s;
    while (set.instances.size() > s.replicas) {
      doomed.push_back(set.instances.back());
      set.instances.pop_back();
    }
    have = set.instances.size();
  }
  Log("services." + s.name + ": " + std::to_string(have + doomed.size()) + " -> " +
      std::to_string(s.replicas) + " instances");
  for (const auto& inst : doomed) StopInstance(inst);
  for (size_t i = have; i < s.replicas; ++i) {
    auto inst = StartInstance(s);
    if (!inst.ok()) {
      Log("services." + s.name + ": " + inst.status().message());
      return;
    }
    std::lock_guard l(mu_);
    services_[s.name].versions[s.version].instances.push_back(*inst);
  }
}

// Starts `count` instances of `next` (no traffic yet) and waits until they are ready.
Status System::StartSet(const deploy::Service& next, uint32_t count, int64_t deadline_ms) {
  {
    std::lock_guard l(mu_);
    auto& set = services_[next.name].versions[next.version];
    set.spec = next;
    set.weight = 0;
  }
  for (uint32_t i = 0; i < count; ++i) {
    auto inst = StartInstance(next);
    if (!inst.ok()) return Status::Aborted(inst.status().message());
    std::lock_guard l(mu_);
    services_[next.name].versions[next.version].instances.push_back(*inst);
  }
  PIER_RETURN_IF_ERROR(
      ApplyTraffic());  // its cluster exists (weight 0) so the proxy learns its hosts
  const int64_t until = Now() + deadline_ms;
  while (CountReady(next.name, next.version, next.update.min_ready_ms) < count) {
    if (Now() > until) {
      std::string late;
      {
        std::lock_guard l(mu_);
        for (const auto& inst : services_[next.name].versions[next.version].instances) {
          if (inst.ready_since_ms == 0) late = inst.id;
        }
      }
      const std::string last = LastLogLine(late);
      return Status::Aborted(late + " was not ready within " + Seconds(deadline_ms) +
                             (last.empty() ? "" : " (its last log line: " + last + ")"));
    }
    if (!Pause(100)) return Status::Aborted("rollback requested");
  }
  if (!WaitProxyHosts(next.name + "@" + next.version, count, std::chrono::seconds(10))) {
    return Status::Aborted("the proxy did not see the new instances within 10 s");
  }
  return Status::Ok();
}

// Puts the stable version back alone and removes `next`'s instances.
Status System::Undo(const deploy::Service& next, const std::string& why) {
  std::string stable;
  {
    std::lock_guard l(mu_);
    auto& st = services_[next.name];
    stable = st.stable;
    for (auto& [version, set] : st.versions) set.weight = version == stable ? 100 : 0;
  }
  LogIfFailed("updating the proxy's routes", ApplyTraffic());
  Log("rolling back services." + next.name + " to " + stable + ": " + why);
  if (next.version != stable) StopVersion(next.name, next.version);
  return Status::Aborted("services." + next.name + " stays on " + stable + ": " + why);
}

Status System::BlueGreen(const deploy::Service& next) {
  const auto& u = next.update;
  std::string blue, standby;
  {
    std::lock_guard l(mu_);
    auto& st = services_[next.name];
    blue = st.stable;
    standby = st.standby;
  }
  const size_t ready_standby = standby == next.version ? CountReady(next.name, next.version, 0) : 0;
  if (standby == next.version && ready_standby < next.replicas) {
    Log("the standby set " + standby + " has only " + std::to_string(ready_standby) +
        " ready instances; starting a new set");
    StopVersion(next.name, standby);
  }
  if (ready_standby >= next.replicas) {
    Log("green " + next.version + ": the standby set is ready (" + std::to_string(ready_standby) +
        " instances)");
  } else {
    Log("starting green " + next.version + ": " + std::to_string(next.replicas) + " instances");
    if (Status s = StartSet(next, next.replicas, u.progress_deadline_ms); !s.ok()) {
      return Undo(next, s.message());
    }
  }
  {
    std::lock_guard l(mu_);
    auto& st = services_[next.name];
    st.versions[next.version].weight = 100;
    st.versions[blue].weight = 0;
    st.stable = next.version;
    st.standby = blue;
  }
  if (Status s = ApplyTraffic(); !s.ok()) return s;  // one reload: the switch is atomic
  Log("switched all traffic to " + next.version + "; " + blue +
      " is drained and kept as the standby (pier rollback switches back)");
  return Status::Ok();
}

Status System::Rolling(const deploy::Service& next) {
  const auto& u = next.update;
  const uint32_t n = next.replicas;
  std::string old;
  {
    std::lock_guard l(mu_);
    auto& st = services_[next.name];
    old = st.stable;
    auto& set = st.versions[next.version];
    set.spec = next;
    set.weight = 0;
  }
  int64_t deadline = Now() + u.progress_deadline_ms;
  size_t ready = 0;
  for (;;) {
    size_t old_count = 0, new_count = 0;
    std::vector<Instance> doomed;
    {
      std::lock_guard l(mu_);
      auto& st = services_[next.name];
      auto& olds = st.versions[old].instances;
      new_count = st.versions[next.version].instances.size();
      // Old instances go while enough stay available: old + ready new >= n - max_unavailable.
      while (!olds.empty() && (olds.size() - 1 + ready + u.max_unavailable >= n || ready >= n)) {
        doomed.push_back(olds.back());
        olds.pop_back();
      }
      old_count = olds.size();
      st.versions[old].weight = static_cast<uint32_t>(old_count);
      st.versions[next.version].weight = static_cast<uint32_t>(ready);
    }
    if (!doomed.empty()) {
      PIER_RETURN_IF_ERROR(ApplyTraffic());
      for (const auto& inst : doomed) StopInstance(inst);
    }
    if (old_count == 0 && ready >= n) break;
    // New instances start while old + new <= n + max_surge.
    while (new_count < n && old_count + new_count < n + u.max_surge) {
      auto inst = StartInstance(next);
      if (!inst.ok()) return Undo(next, inst.status().message());
      std::lock_guard l(mu_);
      services_[next.name].versions[next.version].instances.push_back(*inst);
      ++new_count;
    }
    PIER_RETURN_IF_ERROR(ApplyTraffic());
    // Wait for one more new instance to be ready.
    for (;;) {
      const size_t now_ready = CountReady(next.name, next.version, u.min_ready_ms);
      if (now_ready > ready) {
        ready = now_ready;
        deadline = Now() + u.progress_deadline_ms;
        Log(next.name + ": " + std::to_string(ready) + "/" + std::to_string(n) + " of " +
            next.version + " ready");
        break;
      }
      if (Now() > deadline) {
        std::string late;
        {
          std::lock_guard l(mu_);
          for (const auto& inst : services_[next.name].versions[next.version].instances) {
            if (inst.ready_since_ms == 0) late = inst.id;
          }
        }
        const std::string last = LastLogLine(late);
        return UndoRolling(next, old,
                           late + " was not ready within " + Seconds(u.progress_deadline_ms) +
                               (last.empty() ? "" : " (its last log line: " + last + ")"));
      }
      if (!Pause(100)) return UndoRolling(next, old, "rollback requested");
    }
  }
  {
    std::lock_guard l(mu_);
    auto& st = services_[next.name];
    st.versions.erase(old);
    st.versions[next.version].weight = 100;
    st.stable = next.version;
  }
  PIER_RETURN_IF_ERROR(ApplyTraffic());
  return Status::Ok();
}

Status System::UndoRolling(const deploy::Service& next, const std::string& old,
                           const std::string& why) {
  // The old version back to its replica count first, then the new one goes.
  deploy::Service old_spec;
  size_t have = 0;
  {
    std::lock_guard l(mu_);
    auto& set = services_[next.name].versions[old];
    old_spec = set.spec;
    have = set.instances.size();
  }
  Log("rolling back services." + next.name + " to " + old + ": " + why);
  for (size_t i = have; i < old_spec.replicas; ++i) {
    auto inst = StartInstance(old_spec);
    if (!inst.ok()) break;
    std::lock_guard l(mu_);
    services_[next.name].versions[old].instances.push_back(*inst);
  }
  const int64_t until = Now() + old_spec.update.progress_deadline_ms;
  while (CountReady(next.name, old, 0) < old_spec.replicas && Now() < until) {
    std::unique_lock l(wake_mu_);
    wake_.wait_for(l, std::chrono::milliseconds(100), [this] { return stopping_.load(); });
    if (stopping_) break;
  }
  {
    std::lock_guard l(mu_);
    auto& st = services_[next.name];
    st.versions[old].weight = 100;
    st.versions[next.version].weight = 0;
  }
  StopVersion(next.name, next.version);
  return Status::Aborted("services." + next.name + " stays on " + old + ": " + why);
}

Status System::Canary(const deploy::Service& next) {
  const auto& u = next.update;
  std::string stable;
  {
    std::lock_guard l(mu_);
    stable = services_[next.name].stable;
  }
  Log("starting canary " + next.version + ": " + std::to_string(next.replicas) + " instances");
  if (Status s = StartSet(next, next.replicas, u.progress_deadline_ms); !s.ok()) {
    return Undo(next, s.message());
  }
  const std::string canary_cluster = next.name + "@" + next.version;
  const std::string stable_cluster = next.name + "@" + stable;
  deploy::Window last_stable;
  for (const uint32_t percent : u.steps) {
    {
      std::lock_guard l(mu_);
      auto& st = services_[next.name];
      st.versions[next.version].weight = percent;
      st.versions[stable].weight = 100 - percent;
    }
    PIER_RETURN_IF_ERROR(ApplyTraffic());
    Log("canary " + next.version + " at " + std::to_string(percent) + "% of traffic for " +
        Seconds(u.step_ms));
    const auto zero_c = proxy_.ClusterTotals(canary_cluster);
    const auto zero_s = proxy_.ClusterTotals(stable_cluster);
    const proxy::ProxyServer::Totals c0 = zero_c.ok() ? *zero_c : proxy::ProxyServer::Totals{};
    const proxy::ProxyServer::Totals s0 = zero_s.ok() ? *zero_s : proxy::ProxyServer::Totals{};
    const int64_t step_end = Now() + u.step_ms;
    const int64_t give_up = Now() + std::max(u.step_ms, u.progress_deadline_ms);
    deploy::Verdict v;
    for (;;) {
      if (!Pause(100)) return Undo(next, "rollback requested");
      auto hosts = proxy_.ClusterTotals(canary_cluster);
      if (hosts.ok() && hosts->hosts == 0) {
        return Undo(next, "no healthy canary instance is left (health checks fail)");
      }
      if (Now() < step_end) continue;
      const deploy::Window cw = Reading(canary_cluster, c0);
      const deploy::Window sw = Reading(stable_cluster, s0);
      const bool stable_comparable = sw.requests >= u.min_requests;
      v = deploy::JudgeCanary(cw, stable_comparable ? sw : last_stable, u);
      if (stable_comparable) last_stable = sw;
      if (v.outcome != deploy::Verdict::kWait) break;
      if (Now() > give_up) {
        return Undo(next, "inconclusive: " + v.why);
      }
    }
    if (v.outcome == deploy::Verdict::kFail) {
      return Undo(next, "at " + std::to_string(percent) + "%: " + v.why);
    }
    Log("step " + std::to_string(percent) + "% passed: " + v.why);
  }
  {
    std::lock_guard l(mu_);
    auto& st = services_[next.name];
    st.stable = next.version;
    st.versions[next.version].weight = 100;
  }
  Log("promoting canary " + next.version + "; stopping " + stable);
  StopVersion(next.name, stable);
  return Status::Ok();
}

}  // namespace pier::deploy::runtime
