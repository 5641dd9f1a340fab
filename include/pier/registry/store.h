// File: store.h
// RegistryStore: where registrations survive restarts. A commit returns only once it is durable,
// and the registry acknowledges a registration only after its commit returned.
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

// An SQLite database (WAL, synchronous=FULL: a committed write survives kill -9 and power loss).
// Creates the file and its directory when missing.
Result<std::unique_ptr<RegistryStore>> OpenSqliteStore(const std::string& path);

}  // namespace pier::registry
