// File: command.h
// The command table: each Redis command's name, arity, flags and key positions (as COMMAND
// INFO reports them) and its handler.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/server/client.h"
#include "cache/server/database.h"
#include "cache/server/notify.h"
#include "pier/base/strings.h"
#include "pier/net/resp_service.h"
#include "pier/net/resp_writer.h"

namespace pier::net {
class RespServer;
}

namespace pier::cache::server {

struct ClusterConfig;

inline constexpr uint32_t kWrite = net::RespCommand::kWrite;
inline constexpr uint32_t kReadonly = net::RespCommand::kReadonly;
inline constexpr uint32_t kDenyOom = net::RespCommand::kDenyOom;
inline constexpr uint32_t kAdmin = net::RespCommand::kAdmin;
inline constexpr uint32_t kNoAuth = net::RespCommand::kNoAuth;
inline constexpr uint32_t kFast = net::RespCommand::kFast;
inline constexpr uint32_t kLoading = net::RespCommand::kLoading;
inline constexpr uint32_t kStale = net::RespCommand::kStale;

struct CommandContext {
  const std::vector<std::string_view>& args;
  net::RespWriter& out;
  ClientState& client;
  net::RespServer& server;  // limits, the client registry
  Database& db;
  const ClusterConfig* cluster;  // nullptr: cluster mode is off
  // Unix ms when the command started: every expiry check of one command sees the same time, as
  // Redis's command time snapshot.
  int64_t now_ms;
  // The connection's executor, and where a blocking command that parks leaves its reply.
  boost::asio::any_io_executor executor;
  std::shared_ptr<net::PendingReply> later;

  size_t argc() const { return args.size(); }
  // Redis's wrong-arity error for this command.
  void WrongArity();
};

using CommandHandler = void (*)(CommandContext&);

// A command as the RESP server routes it (name, arity, flags, keys, docs) and its handler.
struct CommandSpec : net::RespCommand {
  CommandSpec(std::string name, int arity, uint32_t flags, int first_key, int last_key, int step,
              CommandHandler handler, std::string group, std::string summary, std::string since)
      : net::RespCommand{std::move(name),
                         arity,
                         flags,
                         first_key,
                         last_key,
                         step,
                         std::move(group),
                         std::move(summary),
                         std::move(since)},
        handler(handler) {}
  CommandHandler handler;
  // Its keyspace notification events (assigned by CommandTable::Add; see notify.h).
  NotifyRule notify;
};

class CommandTable {
 public:
  static const CommandTable& Get();
  // Case-insensitive; nullptr when unknown.
  const CommandSpec* Find(std::string_view name) const;
  const std::vector<CommandSpec>& all() const { return specs_; }

  void Add(CommandSpec spec);

 private:
  std::vector<CommandSpec> specs_;
  // Heterogeneous lookup: Find hashes the lowered name in place, without building a string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, size_t, NameHash, std::equal_to<>> by_name_;
};

// Each group registers its commands (string_commands.cc, key_commands.cc, ...).
void RegisterStringCommands(CommandTable& t);
void RegisterKeyCommands(CommandTable& t);
void RegisterHashCommands(CommandTable& t);
void RegisterListCommands(CommandTable& t);
void RegisterSetCommands(CommandTable& t);
void RegisterZSetCommands(CommandTable& t);
void RegisterSortCommands(CommandTable& t);
void RegisterServerCommands(CommandTable& t);
void RegisterClusterCommands(CommandTable& t);
void RegisterWatchCommands(CommandTable& t);
void RegisterStreamCommands(CommandTable& t);
void RegisterScriptCommands(CommandTable& t);

// INFO lines of the keyspace (memory, stats, cluster, keyspace sections; see
// net::RespService::AppendInfo). `peak` is raised to the memory in use.
bool AppendKeyspaceInfo(Database& db, const ClusterConfig* cluster, std::atomic<uint64_t>& peak,
                        std::string_view section, std::string* out);
// CONFIG parameters of the keyspace (maxmemory, maxmemory-policy, maxmemory-samples).
std::vector<net::RespConfigParam> KeyspaceConfigParams(Database& db);

// Shared reply texts, exactly as Redis 7.0 words them.
inline constexpr std::string_view kErrWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kErrNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kErrNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kErrSyntax = "ERR syntax error";
inline constexpr std::string_view kErrOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kErrOom =
    "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr std::string_view kErrNoSuchKey = "ERR no such key";
inline constexpr std::string_view kErrTooBig =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

// Redis's string2ll: the whole string is an int64 in canonical form.
inline bool ParseInt64(std::string_view s, int64_t* out) { return net::ParseRespInt(s, out); }
// Redis's string2ld for INCRBYFLOAT: a finite long double, no spaces.
bool ParseLongDouble(std::string_view s, long double* out);
// Redis's LD_STR_HUMAN formatting: %.17Lf with trailing zeros (and dot) removed.
std::string FormatLongDouble(long double v);
using pier::EqualsIgnoreCase;
inline std::string Lower(std::string_view s) { return AsciiLower(s); }

}  // namespace pier::cache::server
