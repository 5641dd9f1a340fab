#include "pier/registry/registry.h"

#include <algorithm>

#include "pier/base/logging.h"

namespace pier::registry {

std::string MaintenanceCheckId(const std::string& service_id) {
  return "_service_maintenance:" + service_id;
}

ServiceRegistry::ServiceRegistry(Clock& clock, RegistryStore* store, RegistryOptions options)
    : clock_(clock), store_(store), options_(std::move(options)) {}

// Fills defaults and checks what Consul's agent checks, with its error texts.
Status ServiceRegistry::Normalize(ServiceDefinition& def) const {
  if (def.name.empty()) return Status::InvalidArgument("Missing service name");
  if (def.id.empty()) def.id = def.name;
  if (def.port < 0 || def.port > 65535) {
    return Status::InvalidArgument("Invalid Port: " + std::to_string(def.port) +
                                   " is not in 0..65535");
  }
  if (def.weights.passing < 1) {
    return Status::InvalidArgument("Passing must be greater than 0");
  }
  if (def.weights.warning < 0) {
    return Status::InvalidArgument("Warning must be greater or equal than 0");
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < def.checks.size(); ++i) {
    CheckDefinition& c = def.checks[i];
    if (c.id.empty()) {
      c.id = "service:" + def.id;
      if (def.checks.size() > 1) c.id += ":" + std::to_string(i + 1);
    }
    if (c.name.empty()) c.name = "Service '" + def.name + "' check";
    if (c.type == CheckType::kTtl && c.ttl.count() <= 0) {
      return Status::InvalidArgument("Invalid check: TTL must be > 0 for TTL checks");
    }
    if (c.type != CheckType::kTtl && c.interval.count() <= 0) {
      return Status::InvalidArgument(
          "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks");
    }
    if (c.timeout.count() <= 0) c.timeout = std::chrono::seconds(10);
    if (c.initial_status == HealthStatus::kMaintenance) {
      return Status::InvalidArgument("Invalid check: Status must be passing, warning or critical");
    }
    if (!ids.insert(c.id).second) {
      return Status::InvalidArgument("Invalid check: duplicate CheckID \"" + c.id + "\"");
    }
  }
  return Status::Ok();
}

uint64_t ServiceRegistry::BumpLocked(Change& change, const std::string& service, bool catalog) {
  if (change.index == 0) change.index = ++index_;
  service_index_[service] = change.index;
  if (std::find(change.services.begin(), change.services.end(), service) == change.services.end()) {
    change.services.push_back(service);
  }
  if (catalog) {
    catalog_index_ = change.index;
    change.catalog = true;
  }
  return change.index;
}

void ServiceRegistry::Emit(const Change& change,
                           const std::vector<std::pair<std::string, uint64_t>>& probes) const {
  if (change.index != 0 && on_change_) on_change_(change);
  if (on_probe_) {
    for (const auto& [id, generation] : probes) on_probe_(id, generation);
  }
}

void ServiceRegistry::ApplyLocked(ServiceDefinition def, Change& change,
                                  std::vector<std::pair<std::string, uint64_t>>& probes) {
  TimePoint now = clock_.Now();
  auto old_it = services_.find(def.id);
  ServiceEntry* old = old_it == services_.end() ? nullptr : &old_it->second;
  bool catalog = !old || old->def.name != def.name || old->def.tags != def.tags;
  if (old) {
    for (auto& oc : old->checks) Unschedule(oc);
  }
  ServiceEntry entry;
  entry.create_index = old ? old->create_index : 0;
  for (const CheckDefinition& c : def.checks) {
    CheckEntry* kept = nullptr;
    if (old) {
      for (auto& oc : old->checks) {
        if (oc.def == c) kept = &oc;
      }
    }
    if (kept) {
      entry.checks.push_back(std::move(*kept));
      continue;
    }
    entry.checks.push_back({c, CheckState(c, now, options_.flap), next_generation_++, 0, 0});
    if (c.type != CheckType::kTtl) probes.emplace_back(c.id, entry.checks.back().generation);
  }
  if (old) {
    for (const auto& oc : old->checks) check_owner_.erase(oc.def.id);
    if (old->def.name != def.name) {
      BumpLocked(change, old->def.name, true);
      Unindex(old->def.name, def.id);
    }
  }
  by_name_[def.name].insert(def.id);
  uint64_t index = BumpLocked(change, def.name, catalog);
  for (auto& c : entry.checks) {
    check_owner_[c.def.id] = def.id;
    if (c.create_index == 0) c.create_index = c.modify_index = index;
    Reschedule(c);
  }
  if (entry.create_index == 0) entry.create_index = index;
  entry.modify_index = index;
  entry.def = std::move(def);
  services_[entry.def.id] = std::move(entry);
}

void ServiceRegistry::RemoveLocked(const std::string& service_id, Change& change) {
  auto it = services_.find(service_id);
  if (it == services_.end()) return;
  for (auto& c : it->second.checks) {
    check_owner_.erase(c.def.id);
    Unschedule(c);
  }
  std::string name = it->second.def.name;
  services_.erase(it);
  Unindex(name, service_id);
  BumpLocked(change, name, true);
}

void ServiceRegistry::Reschedule(CheckEntry& c) {
  Unschedule(c);
  TimePoint t = c.state.NextDeadline();
  TimePoint critical = c.state.critical_since();
  if (c.def.deregister_critical_after.count() > 0 && critical != TimePoint::max()) {
    t = std::min(t, critical + c.def.deregister_critical_after);
  }
  c.timer = t;
  if (t != TimePoint::max()) timers_.emplace(t, c.def.id);
}

void ServiceRegistry::Unschedule(CheckEntry& c) {
  if (c.timer != TimePoint::max()) timers_.erase({c.timer, c.def.id});
  c.timer = TimePoint::max();
}

void ServiceRegistry::Unindex(const std::string& name, const std::string& service_id) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  it->second.erase(service_id);
  if (it->second.empty()) by_name_.erase(it);
}

Status ServiceRegistry::Load() {
  if (!store_) return Status::Ok();
  auto defs = store_->LoadAll();
  if (!defs.ok()) return defs.status();
  std::lock_guard w(write_mu_);
  Change change;
  std::vector<std::pair<std::string, uint64_t>> probes;
  {
    std::unique_lock l(mu_);
    for (ServiceDefinition& def : *defs) {
      if (Status s = Normalize(def); !s.ok()) {
        LogEvent(LogLevel::kError, "registry store: skipping a stored service",
                 {{"service_id", def.id}, {"error", s.message()}});
        continue;
      }
      ApplyLocked(std::move(def), change, probes);
    }
  }
  Emit(change, probes);
  return Status::Ok();
}

Status ServiceRegistry::Register(ServiceDefinition def) {
  return ApplyWrites({Write::Register(std::move(def))})[0];
}

Status ServiceRegistry::Deregister(const std::string& service_id) {
  return ApplyWrites({Write::Deregister(service_id)})[0];
}

Status ServiceRegistry::SetMaintenance(const std::string& service_id, bool enable,
                                       const std::string& reason) {
  return ApplyWrites({Write::Maintenance(service_id, enable, reason)})[0];
}

const ServiceDefinition* ServiceRegistry::CurrentLocked(
    const std::string& id,
    const std::map<std::string, std::optional<ServiceDefinition>>& pending) const {
  if (auto p = pending.find(id); p != pending.end()) return p->second ? &*p->second : nullptr;
  auto it = services_.find(id);
  return it == services_.end() ? nullptr : &it->second.def;
}

// Decides one write against the registry plus the batch's earlier writes (`pending`): its
// status, and the definition to store (nullopt: delete; no entry: nothing to do).
Status ServiceRegistry::PlanLocked(Write& w,
                                   std::map<std::string, std::optional<ServiceDefinition>>& pending,
                                   std::vector<StoreOp>& ops) const {
  switch (w.kind) {
    case Write::kRegister: {
      ServiceDefinition& def = w.def;
      if (Status s = Normalize(def); !s.ok()) return s;
      for (const auto& c : def.checks) {
        std::string owner;
        if (auto o = check_owner_.find(c.id); o != check_owner_.end()) owner = o->second;
        for (const auto& [id, d] : pending) {
          if (!d) continue;
          for (const auto& pc : d->checks) {
            if (pc.id == c.id) owner = id;
          }
        }
        if (!owner.empty() && owner != def.id && CurrentLocked(owner, pending)) {
          return Status::InvalidArgument("Invalid check: CheckID \"" + c.id +
                                         "\" belongs to service \"" + owner + "\"");
        }
      }
      if (const ServiceDefinition* cur = CurrentLocked(def.id, pending)) {
        // Maintenance is switched by its own endpoint; a re-registration keeps it.
        def.maintenance = cur->maintenance;
        def.maintenance_reason = cur->maintenance_reason;
        if (*cur == def) return Status::Ok();  // idempotent: nothing to write
      }
      pending[def.id] = def;
      ops.push_back({def.id, def});
      return Status::Ok();
    }
    case Write::kDeregister: {
      if (!CurrentLocked(w.id, pending)) {
        return Status::NotFound("Unknown service ID \"" + w.id +
                                "\". Ensure that the service ID is passed, not the service name.");
      }
      pending[w.id] = std::nullopt;
      ops.push_back({w.id, std::nullopt});
      return Status::Ok();
    }
    case Write::kMaintenance: {
      const ServiceDefinition* cur = CurrentLocked(w.id, pending);
      if (!cur) return Status::NotFound("No service registered with ID \"" + w.id + "\"");
      std::string text = w.enable ? (w.reason.empty() ? kDefaultMaintenanceReason : w.reason) : "";
      if (cur->maintenance == w.enable && cur->maintenance_reason == text) return Status::Ok();
      ServiceDefinition def = *cur;
      def.maintenance = w.enable;
      def.maintenance_reason = text;
      pending[w.id] = def;
      ops.push_back({w.id, def});
      return Status::Ok();
    }
  }
  return Status::Internal("unknown write");
}

std::vector<Status> ServiceRegistry::ApplyWrites(std::vector<Write> writes) {
  std::vector<Status> results(writes.size());
  std::lock_guard w(write_mu_);
  std::map<std::string, std::optional<ServiceDefinition>> pending;
  std::vector<StoreOp> ops;
  {
    std::shared_lock l(mu_);
    for (size_t i = 0; i < writes.size(); ++i) results[i] = PlanLocked(writes[i], pending, ops);
  }
  if (ops.empty()) return results;
  // One transaction for the batch: one fsync however many writes it carries (group commit).
  if (store_) {
    if (Status s = store_->Commit(ops); !s.ok()) {
      for (auto& r : results) {
        if (r.ok()) r = s;
      }
      return results;
    }
  }
  Change change;
  std::vector<std::pair<std::string, uint64_t>> probes;
  {
    std::unique_lock l(mu_);
    for (auto& op : ops) ApplyOpLocked(std::move(op), change, probes);
  }
  Emit(change, probes);
  return results;
}

void ServiceRegistry::ApplyOpLocked(StoreOp op, Change& change,
                                    std::vector<std::pair<std::string, uint64_t>>& probes) {
  if (!op.def) {
    RemoveLocked(op.id, change);  // nothing when absent
    return;
  }
  auto it = services_.find(op.id);
  bool maintenance_changed = it == services_.end()
                                 ? op.def->maintenance
                                 : it->second.def.maintenance != op.def->maintenance;
  ApplyLocked(std::move(*op.def), change, probes);
  if (maintenance_changed) {  // the maintenance check came or went
    change.checks = true;
    checks_index_ = change.index;
  }
}

void ServiceRegistry::ApplyRemote(const std::vector<StoreOp>& ops) {
  std::lock_guard w(write_mu_);
  Change change;
  std::vector<std::pair<std::string, uint64_t>> probes;
  {
    std::unique_lock l(mu_);
    for (const auto& op : ops) {
      auto it = services_.find(op.id);
      if (!op.def) {
        RemoveLocked(op.id, change);
        continue;
      }
      ServiceDefinition def = *op.def;
      if (Status s = Normalize(def); !s.ok() || def.id != op.id) {
        LogEvent(LogLevel::kError, "registry: ignoring a stored service",
                 {{"service_id", op.id},
                  {"error", s.ok() ? "its ID differs from its key" : s.message()}});
        continue;
      }
      if (it != services_.end() && it->second.def == def) continue;
      ApplyOpLocked({op.id, std::move(def)}, change, probes);
    }
  }
  Emit(change, probes);
}

void ServiceRegistry::ReplaceAll(const std::vector<ServiceDefinition>& defs) {
  std::vector<StoreOp> ops;
  std::set<std::string> keep;
  for (const auto& d : defs) {
    keep.insert(d.id);
    ops.push_back({d.id, d});
  }
  {
    std::shared_lock l(mu_);
    for (const auto& [id, e] : services_) {
      if (!keep.count(id)) ops.push_back({id, std::nullopt});
    }
  }
  ApplyRemote(ops);
}

ServiceRegistry::CheckEntry* ServiceRegistry::FindCheckLocked(const std::string& check_id,
                                                              ServiceEntry** owner) {
  auto o = check_owner_.find(check_id);
  if (o == check_owner_.end()) return nullptr;
  auto s = services_.find(o->second);
  if (s == services_.end()) return nullptr;
  for (auto& c : s->second.checks) {
    if (c.def.id == check_id) {
      *owner = &s->second;
      return &c;
    }
  }
  return nullptr;
}

Status ServiceRegistry::UpdateTtl(const std::string& check_id, HealthStatus status,
                                  const std::string& output) {
  Duration ttl{0};
  Status s = UpdateTtlLocally(check_id, status, output, &ttl);
  if (s.ok() && on_ttl_) on_ttl_(check_id, status, output, ttl);
  return s;
}

void ServiceRegistry::ApplyRemoteTtl(const std::string& check_id, HealthStatus status,
                                     const std::string& output) {
  Duration ttl{0};
  (void)UpdateTtlLocally(check_id, status, output, &ttl);  // unknown here yet: nothing to do
}

Status ServiceRegistry::UpdateTtlLocally(const std::string& check_id, HealthStatus status,
                                         const std::string& output, Duration* ttl) {
  Change change;
  {
    std::unique_lock l(mu_);
    ServiceEntry* owner = nullptr;
    CheckEntry* c = FindCheckLocked(check_id, &owner);
    if (!c) {
      return Status::NotFound("Unknown check ID \"" + check_id +
                              "\". Ensure that the check ID is passed, not the check name.");
    }
    if (c->def.type != CheckType::kTtl) {
      return Status::InvalidArgument("CheckID \"" + check_id + "\" does not have associated TTL");
    }
    *ttl = c->def.ttl;
    if (c->state.Report(status, output, clock_.Now())) {
      c->modify_index = BumpLocked(change, owner->def.name, false);
      change.checks = true;
      checks_index_ = change.index;
    }
    Reschedule(*c);
  }
  Emit(change);
  return Status::Ok();
}

std::optional<CheckDefinition> ServiceRegistry::ProbeTarget(const std::string& check_id,
                                                            uint64_t generation) const {
  std::shared_lock l(mu_);
  auto* self = const_cast<ServiceRegistry*>(this);  // FindCheckLocked does not modify
  ServiceEntry* owner = nullptr;
  CheckEntry* c = self->FindCheckLocked(check_id, &owner);
  if (!c || c->generation != generation) return std::nullopt;
  return c->def;
}

void ServiceRegistry::ReportProbe(const std::string& check_id, uint64_t generation,
                                  HealthStatus result, std::string output) {
  Change change;
  {
    std::unique_lock l(mu_);
    ServiceEntry* owner = nullptr;
    CheckEntry* c = FindCheckLocked(check_id, &owner);
    if (!c || c->generation != generation) return;
    if (c->state.Report(result, std::move(output), clock_.Now())) {
      c->modify_index = BumpLocked(change, owner->def.name, false);
      change.checks = true;
      checks_index_ = change.index;
    }
    Reschedule(*c);
  }
  Emit(change);
}

std::vector<std::pair<std::string, uint64_t>> ServiceRegistry::ProbeTargets() const {
  std::shared_lock l(mu_);
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [id, s] : services_) {
    for (const auto& c : s.checks) {
      if (c.def.type != CheckType::kTtl) out.emplace_back(c.def.id, c.generation);
    }
  }
  return out;
}

void ServiceRegistry::Tick() {
  TimePoint now = clock_.Now();
  Change change;
  std::vector<std::string> expired;
  {
    std::unique_lock l(mu_);
    while (!timers_.empty() && timers_.begin()->first <= now) {
      std::string check_id = timers_.begin()->second;
      ServiceEntry* owner = nullptr;
      CheckEntry* c = FindCheckLocked(check_id, &owner);
      if (!c) {  // cannot happen: removal unschedules
        timers_.erase(timers_.begin());
        continue;
      }
      Unschedule(*c);
      if (c->state.Tick(now)) {
        c->modify_index = BumpLocked(change, owner->def.name, false);
        change.checks = true;
        checks_index_ = change.index;
      }
      if (c->def.deregister_critical_after.count() > 0 &&
          c->state.CriticalFor(c->def.deregister_critical_after, now)) {
        expired.push_back(owner->def.id);
        continue;  // leaves with its service (or comes due again if that fails)
      }
      Reschedule(*c);
    }
  }
  Emit(change);
  for (const auto& id : expired) {
    Status s = Deregister(id);
    if (s.ok()) {
      LogEvent(LogLevel::kInfo,
               "registry: deregistered, critical longer than its DeregisterCriticalServiceAfter",
               {{"service_id", id}});
    } else if (s.code() != StatusCode::kNotFound) {
      LogEvent(LogLevel::kError, "registry: cannot deregister, retrying in 1 s",
               {{"service_id", id}, {"error", s.message()}});
      std::unique_lock l(mu_);
      if (auto it = services_.find(id); it != services_.end()) {
        for (auto& c : it->second.checks) {
          Unschedule(c);
          c.timer = now + std::chrono::seconds(1);
          timers_.emplace(c.timer, c.def.id);
        }
      }
    }
  }
}

InstanceView ServiceRegistry::View(const ServiceEntry& e) const {
  InstanceView v;
  v.service = e.def;
  v.create_index = e.create_index;
  v.modify_index = e.modify_index;
  v.status = HealthStatus::kPassing;
  for (const auto& c : e.checks) {
    CheckView cv;
    cv.def = c.def;
    cv.service_id = e.def.id;
    cv.service_name = e.def.name;
    cv.service_tags = e.def.tags;
    cv.status = c.state.status();
    cv.output = c.state.output();
    cv.flapping = c.state.flapping();
    cv.updated = c.state.updated();
    cv.create_index = c.create_index;
    cv.modify_index = c.modify_index;
    v.status = std::max(v.status, cv.status);
    v.checks.push_back(std::move(cv));
  }
  if (e.def.maintenance) {
    CheckView m;
    m.def.id = MaintenanceCheckId(e.def.id);
    m.def.name = "Service Maintenance Mode";
    m.def.notes = e.def.maintenance_reason;
    m.def.type = CheckType::kTtl;
    m.service_id = e.def.id;
    m.service_name = e.def.name;
    m.service_tags = e.def.tags;
    m.status = HealthStatus::kCritical;
    m.create_index = m.modify_index = e.modify_index;
    v.checks.insert(v.checks.begin(), std::move(m));
    v.status = HealthStatus::kMaintenance;
  }
  return v;
}

bool ServiceRegistry::Matches(const InstanceView& v, const InstanceFilter& f) {
  if (f.passing_only && v.status != HealthStatus::kPassing) return false;
  for (const auto& t : f.tags) {
    if (std::find(v.service.tags.begin(), v.service.tags.end(), t) == v.service.tags.end()) {
      return false;
    }
  }
  for (const auto& [k, want] : f.meta) {
    auto it = v.service.meta.find(k);
    if (it == v.service.meta.end() || it->second != want) return false;
  }
  return true;
}

std::vector<InstanceView> ServiceRegistry::Instances(const std::string& service_name,
                                                     const InstanceFilter& filter) const {
  std::shared_lock l(mu_);
  std::vector<InstanceView> out;
  auto ids = by_name_.find(service_name);
  if (ids == by_name_.end()) return out;
  for (const auto& id : ids->second) {  // ordered by id: a stable order
    InstanceView v = View(services_.at(id));
    if (Matches(v, filter)) out.push_back(std::move(v));
  }
  return out;
}

std::vector<InstanceView> ServiceRegistry::AllInstances() const {
  std::shared_lock l(mu_);
  std::vector<InstanceView> out;
  for (const auto& [id, e] : services_) out.push_back(View(e));
  return out;
}

std::optional<InstanceView> ServiceRegistry::Instance(const std::string& service_id) const {
  std::shared_lock l(mu_);
  auto it = services_.find(service_id);
  if (it == services_.end()) return std::nullopt;
  return View(it->second);
}

std::map<std::string, std::set<std::string>> ServiceRegistry::Services() const {
  std::shared_lock l(mu_);
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [id, e] : services_) {
    auto& tags = out[e.def.name];
    tags.insert(e.def.tags.begin(), e.def.tags.end());
  }
  return out;
}

std::vector<CheckView> ServiceRegistry::Checks() const {
  std::vector<CheckView> out;
  for (auto& v : AllInstances()) {
    for (auto& c : v.checks) out.push_back(std::move(c));
  }
  return out;
}

std::vector<CheckView> ServiceRegistry::ServiceChecks(const std::string& service_name) const {
  std::vector<CheckView> out;
  for (auto& v : Instances(service_name)) {
    for (auto& c : v.checks) out.push_back(std::move(c));
  }
  return out;
}

void ServiceRegistry::Count(size_t* instances, std::array<size_t, 4>* checks) const {
  std::shared_lock l(mu_);
  *instances = services_.size();
  checks->fill(0);
  for (const auto& [id, e] : services_) {
    for (const auto& c : e.checks) ++(*checks)[static_cast<int>(c.state.status())];
    if (e.def.maintenance) ++(*checks)[static_cast<int>(HealthStatus::kCritical)];
  }
}

uint64_t ServiceRegistry::index() const {
  std::shared_lock l(mu_);
  return index_;
}

uint64_t ServiceRegistry::ServiceIndex(const std::string& service_name) const {
  std::shared_lock l(mu_);
  auto it = service_index_.find(service_name);
  // A name never registered: 1, so a watcher blocks until it first appears.
  return it == service_index_.end() ? 1 : it->second;
}

uint64_t ServiceRegistry::CatalogIndex() const {
  std::shared_lock l(mu_);
  return catalog_index_;
}

uint64_t ServiceRegistry::ChecksIndex() const {
  std::shared_lock l(mu_);
  return checks_index_;
}

}  // namespace pier::registry
