#include "pier/registry/registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>

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
    if (old->def.name != def.name) BumpLocked(change, old->def.name, true);
  }
  uint64_t index = BumpLocked(change, def.name, catalog);
  for (auto& c : entry.checks) {
    check_owner_[c.def.id] = def.id;
    if (c.create_index == 0) c.create_index = c.modify_index = index;
  }
  if (entry.create_index == 0) entry.create_index = index;
  entry.modify_index = index;
  entry.def = std::move(def);
  services_[entry.def.id] = std::move(entry);
}

void ServiceRegistry::RemoveLocked(const std::string& service_id, Change& change) {
  auto it = services_.find(service_id);
  if (it == services_.end()) return;
  for (const auto& c : it->second.checks) check_owner_.erase(c.def.id);
  std::string name = it->second.def.name;
  services_.erase(it);
  BumpLocked(change, name, true);
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
        spdlog::error("registry store: skipping service '{}': {}", def.id, s.message());
        continue;
      }
      ApplyLocked(std::move(def), change, probes);
    }
  }
  Emit(change, probes);
  return Status::Ok();
}

Status ServiceRegistry::Register(ServiceDefinition def) {
  if (Status s = Normalize(def); !s.ok()) return s;
  std::lock_guard w(write_mu_);
  {
    std::shared_lock l(mu_);
    for (const auto& c : def.checks) {
      auto owner = check_owner_.find(c.id);
      if (owner != check_owner_.end() && owner->second != def.id) {
        return Status::InvalidArgument("Invalid check: CheckID \"" + c.id +
                                       "\" belongs to service \"" + owner->second + "\"");
      }
    }
    auto it = services_.find(def.id);
    if (it != services_.end()) {
      // Maintenance is switched by its own endpoint; a re-registration keeps it.
      def.maintenance = it->second.def.maintenance;
      def.maintenance_reason = it->second.def.maintenance_reason;
      if (it->second.def == def) return Status::Ok();
    }
  }
  if (store_) {
    if (Status s = store_->Put(def); !s.ok()) return s;
  }
  Change change;
  std::vector<std::pair<std::string, uint64_t>> probes;
  {
    std::unique_lock l(mu_);
    ApplyLocked(std::move(def), change, probes);
  }
  Emit(change, probes);
  return Status::Ok();
}

Status ServiceRegistry::Deregister(const std::string& service_id) {
  std::lock_guard w(write_mu_);
  {
    std::shared_lock l(mu_);
    if (!services_.count(service_id)) {
      return Status::NotFound("Unknown service ID \"" + service_id +
                              "\". Ensure that the service ID is passed, not the service name.");
    }
  }
  if (store_) {
    if (Status s = store_->Delete(service_id); !s.ok()) return s;
  }
  Change change;
  {
    std::unique_lock l(mu_);
    RemoveLocked(service_id, change);
  }
  Emit(change);
  return Status::Ok();
}

Status ServiceRegistry::SetMaintenance(const std::string& service_id, bool enable,
                                       const std::string& reason) {
  std::lock_guard w(write_mu_);
  ServiceDefinition def;
  {
    std::shared_lock l(mu_);
    auto it = services_.find(service_id);
    if (it == services_.end()) {
      return Status::NotFound("No service registered with ID \"" + service_id + "\"");
    }
    def = it->second.def;
  }
  std::string text = enable ? (reason.empty() ? kDefaultMaintenanceReason : reason) : "";
  if (def.maintenance == enable && def.maintenance_reason == text) return Status::Ok();
  def.maintenance = enable;
  def.maintenance_reason = text;
  if (store_) {
    if (Status s = store_->Put(def); !s.ok()) return s;
  }
  Change change;
  std::vector<std::pair<std::string, uint64_t>> probes;
  {
    std::unique_lock l(mu_);
    ApplyLocked(std::move(def), change, probes);
    change.checks = true;
    checks_index_ = change.index;
  }
  Emit(change, probes);
  return Status::Ok();
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
    if (c->state.Report(status, output, clock_.Now())) {
      c->modify_index = BumpLocked(change, owner->def.name, false);
      change.checks = true;
      checks_index_ = change.index;
    }
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
    for (auto& [id, s] : services_) {
      for (auto& c : s.checks) {
        if (c.state.NextDeadline() <= now && c.state.Tick(now)) {
          c.modify_index = BumpLocked(change, s.def.name, false);
          change.checks = true;
          checks_index_ = change.index;
        }
        if (c.def.deregister_critical_after.count() > 0 &&
            c.state.CriticalFor(c.def.deregister_critical_after, now)) {
          expired.push_back(id);
        }
      }
    }
  }
  Emit(change);
  for (const auto& id : expired) {
    if (Deregister(id).ok()) {
      spdlog::info(
          "registry: deregistered '{}': critical longer than its "
          "DeregisterCriticalServiceAfter",
          id);
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
  for (const auto& [id, e] : services_) {
    if (e.def.name != service_name) continue;
    InstanceView v = View(e);
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
