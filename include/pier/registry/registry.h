// File: registry.h
// ServiceRegistry: the catalog of service instances and their checks, with Consul's indexes for
// change feeds. Thread-safe: reads share a lock; writes are serialized and persisted to the store
// before they are applied and acknowledged.
//   ServiceRegistry reg(Clock::Steady(), store.get());
//   reg.Load();  reg.Register(def);  auto healthy = reg.Instances("web", {.passing_only = true});
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "pier/base/clock.h"
#include "pier/base/status.h"
#include "pier/registry/check_state.h"
#include "pier/registry/store.h"
#include "pier/registry/types.h"

namespace pier::registry {

// What changed at one index: the services whose instances or health changed, and whether the
// catalog (the set of service names or their tags) did.
struct Change {
  uint64_t index = 0;
  std::vector<std::string> services;
  bool catalog = false;
  bool checks = false;  // some check's status changed
};

struct RegistryOptions {
  FlapDamping flap;
  std::string node_name = "pier";
};

class ServiceRegistry {
 public:
  // `store` may be null (nothing persists). Neither is owned.
  ServiceRegistry(Clock& clock, RegistryStore* store, RegistryOptions options = {});

  // Called after each change, outside the registry's locks (for watches).
  void OnChange(std::function<void(const Change&)> fn) { on_change_ = std::move(fn); }
  // Called when an HTTP or TCP check needs a probe loop (for the health checker). The loop runs
  // while ProbeTarget(check_id, generation) answers.
  void OnProbe(std::function<void(const std::string& check_id, uint64_t generation)> fn) {
    on_probe_ = std::move(fn);
  }

  // Loads the store's registrations; their checks start in their initial status.
  Status Load();

  // Registers or replaces an instance (idempotent: the same definition changes nothing, and
  // checks whose definition is unchanged keep their status). Fills defaults: id from name,
  // check ids and names.
  Status Register(ServiceDefinition def);
  Status Deregister(const std::string& service_id);
  Status SetMaintenance(const std::string& service_id, bool enable, const std::string& reason);

  // Several of the writes above, persisted in one store transaction (group commit) and applied
  // in order; a write sees the effect of the ones before it. Returns each write's status.
  struct Write {
    enum Kind { kRegister, kDeregister, kMaintenance } kind = kRegister;
    ServiceDefinition def;  // kRegister
    std::string id;         // kDeregister, kMaintenance
    bool enable = false;    // kMaintenance
    std::string reason;     // kMaintenance
    static Write Register(ServiceDefinition d) { return {kRegister, std::move(d), "", false, ""}; }
    static Write Deregister(std::string id) { return {kDeregister, {}, std::move(id), false, ""}; }
    static Write Maintenance(std::string id, bool enable, std::string reason) {
      return {kMaintenance, {}, std::move(id), enable, std::move(reason)};
    }
  };
  std::vector<Status> ApplyWrites(std::vector<Write> writes);

  // Changes another registry committed to a shared store (etcd): applied in memory only, in
  // order, skipping what is already so (a node's own writes come back this way too). An op
  // without a definition removes its id.
  void ApplyRemote(const std::vector<StoreOp>& ops);
  // Makes the catalog exactly `defs` (after a shared store's change feed was interrupted).
  void ReplaceAll(const std::vector<ServiceDefinition>& defs);
  // A TTL check's heartbeat.
  Status UpdateTtl(const std::string& check_id, HealthStatus status, const std::string& output);
  // Called after each heartbeat UpdateTtl accepted (to share it with other registries).
  void OnTtlUpdate(std::function<void(const std::string& check_id, HealthStatus status,
                                      const std::string& output, Duration ttl)>
                       fn) {
    on_ttl_ = std::move(fn);
  }
  // A heartbeat another registry received: applied here without calling OnTtlUpdate.
  void ApplyRemoteTtl(const std::string& check_id, HealthStatus status, const std::string& output);

  std::optional<CheckDefinition> ProbeTarget(const std::string& check_id,
                                             uint64_t generation) const;
  void ReportProbe(const std::string& check_id, uint64_t generation, HealthStatus result,
                   std::string output);
  // Every HTTP and TCP check as (check id, generation), for starting probe loops after Load().
  std::vector<std::pair<std::string, uint64_t>> ProbeTargets() const;
  // TTL expiry, flap-hold release, DeregisterCriticalServiceAfter. Call periodically.
  void Tick();

  // Reads: consistent copies.
  std::vector<InstanceView> Instances(const std::string& service_name,
                                      const InstanceFilter& filter = {}) const;
  std::vector<InstanceView> AllInstances() const;
  // Service name -> union of its instances' tags.
  std::map<std::string, std::set<std::string>> Services() const;
  std::vector<CheckView> Checks() const;
  std::vector<CheckView> ServiceChecks(const std::string& service_name) const;
  std::optional<InstanceView> Instance(const std::string& service_id) const;

  // Instances, and checks by status (indexed by HealthStatus), counted without copying.
  void Count(size_t* instances, std::array<size_t, 4>* checks) const;

  // Consul's indexes: the registry's (every change), a service's (its instances and health),
  // the catalog's (service names and tags), and the checks' (any status change).
  uint64_t index() const;
  uint64_t ServiceIndex(const std::string& service_name) const;
  uint64_t CatalogIndex() const;
  uint64_t ChecksIndex() const;
  const std::string& node_name() const { return options_.node_name; }

 private:
  struct CheckEntry {
    CheckDefinition def;
    CheckState state;
    uint64_t generation;
    uint64_t create_index;
    uint64_t modify_index;
    TimePoint timer = TimePoint::max();  // its entry in timers_
  };
  struct ServiceEntry {
    ServiceDefinition def;  // def.checks mirrors checks[i].def
    std::vector<CheckEntry> checks;
    uint64_t create_index = 0;
    uint64_t modify_index = 0;
  };

  Status Normalize(ServiceDefinition& def) const;
  const ServiceDefinition* CurrentLocked(
      const std::string& id,
      const std::map<std::string, std::optional<ServiceDefinition>>& pending) const;
  Status PlanLocked(Write& w, std::map<std::string, std::optional<ServiceDefinition>>& pending,
                    std::vector<StoreOp>& ops) const;
  InstanceView View(const ServiceEntry& e) const;
  static bool Matches(const InstanceView& v, const InstanceFilter& f);
  // Applies `def` in memory (the store already has it). Returns what changed; mu_ held.
  void ApplyLocked(ServiceDefinition def, Change& change,
                   std::vector<std::pair<std::string, uint64_t>>& probes);
  void RemoveLocked(const std::string& service_id, Change& change);
  void ApplyOpLocked(StoreOp op, Change& change,
                     std::vector<std::pair<std::string, uint64_t>>& probes);
  void Unindex(const std::string& name, const std::string& service_id);
  Status UpdateTtlLocally(const std::string& check_id, HealthStatus status,
                          const std::string& output, Duration* ttl);
  // Keeps timers_ holding each check's next time-driven event (TTL expiry, flap-hold release,
  // DeregisterCriticalServiceAfter), so Tick() touches only the checks that are due.
  void Reschedule(CheckEntry& c);
  void Unschedule(CheckEntry& c);
  uint64_t BumpLocked(Change& change, const std::string& service, bool catalog);
  void Emit(const Change& change,
            const std::vector<std::pair<std::string, uint64_t>>& probes = {}) const;
  CheckEntry* FindCheckLocked(const std::string& check_id, ServiceEntry** owner);

  Clock& clock_;
  RegistryStore* store_;
  RegistryOptions options_;
  std::function<void(const Change&)> on_change_;
  std::function<void(const std::string&, uint64_t)> on_probe_;
  std::function<void(const std::string&, HealthStatus, const std::string&, Duration)> on_ttl_;

  std::mutex write_mu_;  // orders store commits with their in-memory application
  mutable std::shared_mutex mu_;
  std::map<std::string, ServiceEntry> services_;          // by id: a stable order
  std::map<std::string, std::string> check_owner_;        // check id -> service id
  std::map<std::string, std::set<std::string>> by_name_;  // service name -> ids, ordered
  std::set<std::pair<TimePoint, std::string>> timers_;    // (when, check id)
  std::map<std::string, uint64_t> service_index_;         // by service name
  uint64_t index_ = 1;
  uint64_t catalog_index_ = 1;
  uint64_t checks_index_ = 1;
  uint64_t next_generation_ = 1;
};

// Consul's text for maintenance mode without a reason.
inline constexpr const char* kDefaultMaintenanceReason =
    "Maintenance mode is enabled for this service, but no reason was provided. This is a default "
    "message.";
std::string MaintenanceCheckId(const std::string& service_id);

}  // namespace pier::registry
