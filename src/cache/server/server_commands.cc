// Server: INFO CONFIG DBSIZE FLUSHDB FLUSHALL TIME COMMAND.
#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "cache/server/command.h"
#include "cache/server/glob.h"
#include "pier/base/memory_units.h"
#include "pier/cache/cache_server.h"

namespace pier::cache::server {

namespace {

uint64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string InfoText(CommandContext& c, const std::vector<std::string>& sections) {
  auto want = [&](std::string_view s) {
    if (sections.empty()) return true;
    for (const auto& x : sections) {
      if (x == s || x == "all" || x == "everything" || x == "default") return true;
    }
    return false;
  };
  CacheServer& srv = c.server;
  std::string out;
  const auto now = std::chrono::system_clock::now();
  const int64_t uptime =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() -
      srv.start_time().count();
  if (want("server")) {
    utsname u{};
    uname(&u);
    out += fmt::format(
        "# Server\r\nredis_version:7.0.0\r\npier_version:{}\r\nredis_mode:{}\r\n"
        "os:{} {} {}\r\narch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\n"
        "tcp_port:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:10\r\n"
        "io_threads_active:{}\r\nconfig_file:{}\r\n\r\n",
        PIER_VERSION_STRING, srv.cluster() ? "cluster" : "standalone", u.sysname, u.release,
        u.machine, getpid(), srv.port(), uptime, uptime / 86400, srv.io_threads() > 1 ? 1 : 0,
        srv.options().config_file);
  }
  if (want("clients")) {
    out += fmt::format(
        "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:0\r\n\r\n",
        srv.client_count(), srv.options().maxclients);
  }
  if (want("memory")) {
    uint64_t used = c.db.UsedBytes();
    uint64_t peak = srv.stats().peak_memory.load();
    if (used > peak) srv.stats().peak_memory = peak = used;
    uint64_t rss = RssBytes();
    out += fmt::format(
        "# Memory\r\nused_memory:{}\r\nused_memory_human:{}\r\nused_memory_rss:{}\r\n"
        "used_memory_rss_human:{}\r\nused_memory_peak:{}\r\nused_memory_peak_human:{}\r\n"
        "maxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n"
        "mem_fragmentation_ratio:{:.2f}\r\nmem_allocator:libc\r\n\r\n",
        used, HumanBytes(used), rss, HumanBytes(rss), peak, HumanBytes(peak), c.db.maxmemory(),
        HumanBytes(c.db.maxmemory()), c.db.policy_name(),
        used ? static_cast<double>(rss) / static_cast<double>(used) : 0.0);
  }
  if (want("stats")) {
    auto& s = srv.stats();
    KeyspaceStats ks = c.db.Stats();
    out += fmt::format(
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n"
        "total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n"
        "expired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\r\n",
        s.connections_received.load(), s.commands_processed.load(), s.net_input_bytes.load(),
        s.net_output_bytes.load(), s.rejected_connections.load(), ks.expired, ks.evicted, ks.hits,
        ks.misses);
  }
  if (want("cluster"))
    out += fmt::format("# Cluster\r\ncluster_enabled:{}\r\n\r\n", srv.cluster() ? 1 : 0);
  if (want("keyspace")) {
    out += "# Keyspace\r\n";
    if (size_t n = c.db.KeyCount(); n > 0) {
      out += fmt::format("db0:keys={},expires={},avg_ttl=0\r\n", n, c.db.VolatileCount());
    }
    out += "\r\n";
  }
  if (out.size() >= 2) out.resize(out.size() - 2);  // no blank line after the last section
  return out;
}

void Info(CommandContext& c) {
  std::vector<std::string> sections;
  for (size_t i = 1; i < c.argc(); ++i) sections.push_back(Lower(c.args[i]));
  c.out.Verbatim(InfoText(c, sections));
}

// CONFIG GET/SET parameters: name -> (get, set).
struct Param {
  const char* name;
  std::string (*get)(CommandContext&);
  Status (*set)(CommandContext&, std::string_view);  // nullptr: read-only
};

const std::vector<Param>& Params() {
  static const std::vector<Param> params = {
      {"maxmemory", [](CommandContext& c) { return std::to_string(c.db.maxmemory()); },
       [](CommandContext& c, std::string_view v) {
         auto bytes = ParseMemory(v);
         if (!bytes.ok()) return Status::InvalidArgument("argument must be a memory value");
         return c.db.SetMaxMemory(*bytes);
       }},
      {"maxmemory-policy", [](CommandContext& c) { return c.db.policy_name(); },
       [](CommandContext& c, std::string_view v) {
         Status s = c.db.SetPolicy(Lower(v));
         return s.ok() ? s
                       : Status::InvalidArgument(
                             "argument(s) must be one of the following: noeviction, allkeys-lru, "
                             "allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, "
                             "volatile-random, volatile-ttl, allkeys-fifo, allkeys-s3fifo, "
                             "allkeys-sieve, allkeys-wtinylfu");
       }},
      {"maxmemory-samples", [](CommandContext&) { return std::string("5"); }, nullptr},
      {"requirepass", [](CommandContext& c) { return c.server.requirepass(); },
       [](CommandContext& c, std::string_view v) {
         return c.server.set_requirepass(std::string(v));
       }},
      {"proto-max-bulk-len",
       [](CommandContext& c) { return std::to_string(c.server.limits().max_bulk_len); },
       [](CommandContext& c, std::string_view v) {
         auto bytes = ParseMemory(v);
         if (!bytes.ok() || *bytes < 1024 * 1024)
           return Status::InvalidArgument("argument must be a memory value of at least 1mb");
         net::RespLimits l = c.server.limits();
         l.max_bulk_len = *bytes;
         c.server.set_limits(l);
         return Status::Ok();
       }},
      {"client-query-buffer-limit",
       [](CommandContext& c) { return std::to_string(c.server.limits().max_query_buffer); },
       [](CommandContext& c, std::string_view v) {
         auto bytes = ParseMemory(v);
         if (!bytes.ok() || *bytes < 1024 * 1024)
           return Status::InvalidArgument("argument must be a memory value of at least 1mb");
         net::RespLimits l = c.server.limits();
         l.max_query_buffer = *bytes;
         c.server.set_limits(l);
         return Status::Ok();
       }},
      {"tls-port",
       [](CommandContext& c) {
         const std::string a = c.server.tls_address();
         return a.empty() ? std::string("0") : a.substr(a.rfind(':') + 1);
       },
       nullptr},
      {"maxclients",
       [](CommandContext& c) { return std::to_string(c.server.options().maxclients); }, nullptr},
      {"timeout",
       [](CommandContext& c) { return std::to_string(c.server.options().timeout.count()); },
       nullptr},
      {"port", [](CommandContext& c) { return std::to_string(c.server.port()); }, nullptr},
      {"bind", [](CommandContext& c) { return c.server.options().host; }, nullptr},
      {"protected-mode",
       [](CommandContext& c) {
         return std::string(c.server.options().protected_mode ? "yes" : "no");
       },
       nullptr},
      {"databases", [](CommandContext&) { return std::string("1"); }, nullptr},
      {"save", [](CommandContext&) { return std::string(); }, nullptr},
      {"appendonly", [](CommandContext&) { return std::string("no"); }, nullptr},
      {"hz", [](CommandContext&) { return std::string("10"); }, nullptr},
      {"io-threads", [](CommandContext& c) { return std::to_string(c.server.io_threads()); },
       nullptr},
  };
  return params;
}

void Config(CommandContext& c) {
  const std::string sub = Lower(c.args[1]);
  if (sub == "get") {
    if (c.argc() < 3) return c.out.Error("ERR wrong number of arguments for 'config|get' command");
    std::vector<std::pair<std::string, std::string>> found;
    for (const auto& p : Params()) {
      for (size_t i = 2; i < c.argc(); ++i) {
        if (GlobMatch(Lower(c.args[i]), p.name)) {
          found.emplace_back(p.name, p.get(c));
          break;
        }
      }
    }
    c.out.MapHeader(static_cast<int64_t>(found.size()));
    for (const auto& [k, v] : found) {
      c.out.Bulk(k);
      c.out.Bulk(v);
    }
  } else if (sub == "set") {
    if (c.argc() < 4 || c.argc() % 2 != 0) {
      return c.out.Error("ERR wrong number of arguments for 'config|set' command");
    }
    for (size_t i = 2; i < c.argc(); i += 2) {
      std::string name = Lower(c.args[i]);
      const Param* param = nullptr;
      for (const auto& p : Params()) {
        if (name == p.name) param = &p;
      }
      if (!param) {
        return c.out.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + name +
                           "'");
      }
      if (!param->set) {
        return c.out.Error("ERR CONFIG SET failed (possibly related to argument '" + name +
                           "') - can't set immutable config");
      }
      if (Status s = param->set(c, c.args[i + 1]); !s.ok()) {
        return c.out.Error("ERR CONFIG SET failed (possibly related to argument '" + name +
                           "') - " + s.message());
      }
    }
    c.out.Ok();
  } else if (sub == "resetstat") {
    if (c.argc() != 2)
      return c.out.Error("ERR wrong number of arguments for 'config|resetstat' command");
    c.db.ResetStats();
    auto& s = c.server.stats();
    s.connections_received = 0;
    s.commands_processed = 0;
    s.rejected_connections = 0;
    s.net_input_bytes = 0;
    s.net_output_bytes = 0;
    c.out.Ok();
  } else if (sub == "rewrite") {
    c.out.Error("ERR The server is running without a config file");
  } else {
    c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try CONFIG HELP.");
  }
}

void DbSize(CommandContext& c) { c.out.Integer(static_cast<int64_t>(c.db.KeyCount())); }

void Flush(CommandContext& c) {
  if (c.argc() > 2 || (c.argc() == 2 && !EqualsIgnoreCase(c.args[1], "ASYNC") &&
                       !EqualsIgnoreCase(c.args[1], "SYNC"))) {
    return c.out.Error(kErrSyntax);
  }
  auto lock = c.db.LockAll();
  for (size_t i = 0; i < c.db.shard_count(); ++i) c.db.shard(i).Clear();
  c.out.Ok();
}

void Time(CommandContext& c) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  c.out.ArrayHeader(2);
  c.out.Bulk(std::to_string(us / 1000000));
  c.out.Bulk(std::to_string(us % 1000000));
}

void CommandInfo(CommandContext& c, const CommandSpec& s) {
  c.out.ArrayHeader(10);
  c.out.Bulk(s.name);
  c.out.Integer(s.arity);
  std::vector<std::string_view> flags;
  if (s.flags & kWrite) flags.push_back("write");
  if (s.flags & kReadonly) flags.push_back("readonly");
  if (s.flags & kDenyOom) flags.push_back("denyoom");
  if (s.flags & kAdmin) flags.push_back("admin");
  if (s.flags & kNoAuth) flags.push_back("no_auth");
  if (s.flags & kStale) flags.push_back("stale");
  if (s.flags & kLoading) flags.push_back("loading");
  if (s.flags & kFast) flags.push_back("fast");
  c.out.SetHeader(static_cast<int64_t>(flags.size()));
  for (auto f : flags) c.out.Simple(f);
  c.out.Integer(s.first_key);
  c.out.Integer(s.last_key);
  c.out.Integer(s.step);
  std::vector<std::string> cats = {"@" + s.group};
  if (s.flags & kWrite) cats.push_back("@write");
  if (s.flags & kReadonly) cats.push_back("@read");
  if (s.flags & kFast)
    cats.push_back("@fast");
  else
    cats.push_back("@slow");
  c.out.SetHeader(static_cast<int64_t>(cats.size()));
  for (const auto& cat : cats) c.out.Simple(cat);
  c.out.SetHeader(0);    // tips
  c.out.ArrayHeader(0);  // key specs
  c.out.ArrayHeader(0);  // subcommands
}

void Command(CommandContext& c) {
  const auto& table = CommandTable::Get();
  if (c.argc() == 1) {
    c.out.ArrayHeader(static_cast<int64_t>(table.all().size()));
    for (const auto& s : table.all()) CommandInfo(c, s);
    return;
  }
  const std::string sub = Lower(c.args[1]);
  if (sub == "count") {
    c.out.Integer(static_cast<int64_t>(table.all().size()));
  } else if (sub == "info") {
    if (c.argc() == 2) {
      c.out.ArrayHeader(static_cast<int64_t>(table.all().size()));
      for (const auto& s : table.all()) CommandInfo(c, s);
      return;
    }
    c.out.ArrayHeader(static_cast<int64_t>(c.argc() - 2));
    for (size_t i = 2; i < c.argc(); ++i) {
      if (const CommandSpec* s = table.Find(c.args[i]))
        CommandInfo(c, *s);
      else
        c.out.NullArray();
    }
  } else if (sub == "docs") {
    std::vector<const CommandSpec*> specs;
    if (c.argc() == 2) {
      for (const auto& s : table.all()) specs.push_back(&s);
    } else {
      for (size_t i = 2; i < c.argc(); ++i) {
        if (const CommandSpec* s = table.Find(c.args[i])) specs.push_back(s);
      }
    }
    c.out.MapHeader(static_cast<int64_t>(specs.size()));
    for (const CommandSpec* s : specs) {
      c.out.Bulk(s->name);
      c.out.MapHeader(3);
      c.out.Bulk("summary");
      c.out.Bulk(s->summary);
      c.out.Bulk("since");
      c.out.Bulk(s->since);
      c.out.Bulk("group");
      c.out.Bulk(s->group);
    }
  } else if (sub == "list") {
    c.out.ArrayHeader(static_cast<int64_t>(table.all().size()));
    for (const auto& s : table.all()) c.out.Bulk(s.name);
  } else {
    c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try COMMAND HELP.");
  }
}

}  // namespace

void RegisterServerCommands(CommandTable& t) {
  t.Add({"info", -1, kLoading | kStale, 0, 0, 0, Info, "server",
         "Returns information and statistics about the server.", "1.0.0"});
  t.Add({"config", -2, kAdmin | kLoading | kStale, 0, 0, 0, Config, "server",
         "A container for server configuration commands.", "2.0.0"});
  t.Add({"dbsize", 1, kReadonly | kFast, 0, 0, 0, DbSize, "server",
         "Returns the number of keys in the database.", "1.0.0"});
  t.Add({"flushdb", -1, kWrite, 0, 0, 0, Flush, "server",
         "Removes all keys from the current database.", "1.0.0"});
  t.Add({"flushall", -1, kWrite, 0, 0, 0, Flush, "server", "Removes all keys from all databases.",
         "1.0.0"});
  t.Add({"time", 1, kLoading | kStale | kFast, 0, 0, 0, Time, "server", "Returns the server time.",
         "2.6.0"});
  t.Add({"command", -1, kLoading | kStale, 0, 0, 0, Command, "server",
         "Returns detailed information about all commands.", "2.8.13"});
}

}  // namespace pier::cache::server
