// File: store.h
// RegistryStore: where registrations survive restarts. A write returns only once it is durable,
// and the registry acknowledges a registration only after its write returned.
//   auto store = OpenSqliteStore("pier-data/registry.db");  (*store)->Put(def);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pier/base/status.h"
#include "pier/registry/types.h"

namespace pier::registry {

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;
  virtual Status Put(const ServiceDefinition& service) = 0;
  virtual Status Delete(const std::string& service_id) = 0;
  virtual Result<std::vector<ServiceDefinition>> LoadAll() = 0;
};

// An SQLite database (WAL, synchronous=FULL: a committed write survives kill -9 and power loss).
// Creates the file and its directory when missing.
Result<std::unique_ptr<RegistryStore>> OpenSqliteStore(const std::string& path);

}  // namespace pier::registry
