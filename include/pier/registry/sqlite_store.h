// File: sqlite_store.h (library pier::registry_store)
// The registry's default store: an SQLite database (WAL, synchronous=FULL: a committed write
// survives kill -9 and power loss). Creates the file and its directory when missing.
//   auto store = OpenSqliteStore("pier-data/registry.db");  (*store)->Commit({{def.id, def}});
#pragma once

#include <memory>
#include <string>

#include "pier/registry/store.h"

namespace pier::registry {

Result<std::unique_ptr<RegistryStore>> OpenSqliteStore(const std::string& path);

}  // namespace pier::registry
