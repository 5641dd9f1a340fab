// RegistryStore on SQLite: one row per service, the registration in Consul's JSON form.
#include "pier/registry/sqlite_store.h"

#include <sqlite3.h>

#include <filesystem>

#include "registry/definition_json.h"

namespace pier::registry {

namespace {

class SqliteStore final : public RegistryStore {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override { sqlite3_close(db_); }

  Status Commit(const std::vector<StoreOp>& ops) override {
    if (Status s = Exec("BEGIN IMMEDIATE", {}); !s.ok()) return s;
    for (const auto& op : ops) {
      Status s;
      if (op.def) {
        s = Exec(
            "INSERT INTO services(id, body) VALUES(?1, ?2) "
            "ON CONFLICT(id) DO UPDATE SET body = excluded.body",
            {op.id, StoreRow(*op.def)});
      } else {
        s = Exec("DELETE FROM services WHERE id = ?1", {op.id});
      }
      if (!s.ok()) {
        (void)Exec("ROLLBACK", {});
        return s;
      }
    }
    Status committed = Exec("COMMIT", {});  // the one fsync of the batch
    // A failed COMMIT (disk full, I/O error) may leave the transaction open: end it, so the next
    // batch does not build on writes that were never acknowledged.
    if (!committed.ok()) (void)Exec("ROLLBACK", {});
    return committed;
  }

  Result<std::vector<ServiceDefinition>> LoadAll() override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT id, body FROM services ORDER BY id", -1, &st, nullptr) !=
        SQLITE_OK) {
      return Error("prepare");
    }
    std::vector<ServiceDefinition> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::string id = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      const char* body = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
      auto def = FromStoreRow(body ? body : "");
      if (!def.ok()) {
        sqlite3_finalize(st);
        return Status::InvalidArgument("registry store: service '" + id +
                                       "': " + def.status().message());
      }
      out.push_back(std::move(*def));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return Error("read");
    return out;
  }

  Status Exec(const char* sql, std::initializer_list<std::string> args) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) return Error("prepare");
    int i = 1;
    for (const auto& a : args) {
      sqlite3_bind_text(st, i++, a.data(), static_cast<int>(a.size()), SQLITE_TRANSIENT);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? Status::Ok() : Error("write");
  }

  Status Error(const char* what) const {
    return Status::IoError(std::string("registry store: ") + what + ": " + sqlite3_errmsg(db_) +
                           " (" + sqlite3_db_filename(db_, "main") + ")");
  }

 private:
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<RegistryStore>> OpenSqliteStore(const std::string& path) {
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::IoError("cannot open " + path + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db);
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                          "CREATE TABLE IF NOT EXISTS services(id TEXT PRIMARY KEY, body TEXT "
                          "NOT NULL)"}) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      return Status::IoError("cannot initialize " + path + ": " + msg);
    }
  }
  return std::unique_ptr<RegistryStore>(std::move(store));
}

}  // namespace pier::registry
