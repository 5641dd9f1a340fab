// File: store.h
// RegistryStore: where registrations survive restarts. A commit returns only once it is durable,
// and the registry acknowledges a registration only after its commit returned.
// The stores are in pier::registry_store (sqlite_store.h; etcd inside the registry server).
//   auto store = OpenSqliteStore("pier-data/registry.db");  (*store)->Commit({{def.id, def}});
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pier/base/status.h"
#include "pier/registry/types.h"

namespace pier::registry {

// One change to the store: put `def` under `id`, or delete `id` (def is nullopt).
struct StoreOp {
  std::string id;
  std::optional<ServiceDefinition> def;
};

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;
  // All of `ops` or none, durable when it returns.
  virtual Status Commit(const std::vector<StoreOp>& ops) = 0;
  virtual Result<std::vector<ServiceDefinition>> LoadAll() = 0;
};

}  // namespace pier::registry
