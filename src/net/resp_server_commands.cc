// Server: INFO CONFIG TIME COMMAND, and the service that serves the builtin commands.
#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>

#include "net/resp_builtins.h"
#include "pier/base/glob.h"
#include "pier/base/memory_units.h"
#include "pier/base/strings.h"
#include "pier/net/resp_server.h"

namespace pier::net {

void WrongArity(RespService::Call& c) {
  c.out.Error("ERR wrong number of arguments for '" + AsciiLower(c.args[0]) + "' command");
}

namespace {

// The server's own lines of an INFO section ("" for a section only services fill).
std::string OwnInfo(RespServer& srv, std::string_view section) {
  if (section == "server") {
    const int64_t uptime = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count() -
                           srv.start_time().count();
    utsname u{};
    uname(&u);
    return fmt::format(
        "redis_version:7.0.0\r\npier_version:{}\r\nos:{} {} {}\r\narch_bits:64\r\n"
        "multiplexing_api:epoll\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n"
        "uptime_in_days:{}\r\nhz:10\r\nio_threads_active:{}\r\nconfig_file:{}\r\n",
        PIER_VERSION_STRING, u.sysname, u.release, u.machine, getpid(), srv.port(), uptime,
        uptime / 86400, srv.io_threads() > 1 ? 1 : 0, srv.options().config_file);
  }
  if (section == "clients") {
    size_t blocked = 0;
    for (const RespService* s : srv.router().services()) blocked += s->BlockedClients();
    return fmt::format("connected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\n",
                       srv.client_count(), srv.options().maxclients, blocked);
  }
  if (section == "stats") {
    auto& s = srv.stats();
    return fmt::format(
        "total_connections_received:{}\r\ntotal_commands_processed:{}\r\n"
        "total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n",
        s.connections_received.load(), s.commands_processed.load(), s.net_input_bytes.load(),
        s.net_output_bytes.load(), s.rejected_connections.load());
  }
  return "";
}

void Info(RespService::Call& c) {
  std::vector<std::string> wanted;
  for (size_t i = 1; i < c.argc(); ++i) wanted.push_back(AsciiLower(c.args[i]));
  auto want = [&](std::string_view s) {
    if (wanted.empty()) return true;
    for (const auto& x : wanted) {
      if (x == s || x == "all" || x == "everything" || x == "default") return true;
    }
    return false;
  };
  // Redis's order of sections; "# Memory" and the rest come from the services that have them.
  constexpr std::pair<std::string_view, std::string_view> kSections[] = {
      {"server", "Server"}, {"clients", "Clients"}, {"memory", "Memory"},
      {"stats", "Stats"},   {"cluster", "Cluster"}, {"keyspace", "Keyspace"}};
  std::string text;
  for (const auto& [name, title] : kSections) {
    if (!want(name)) continue;
    std::string lines = OwnInfo(c.server, name);
    bool has = !lines.empty();
    for (RespService* s : c.server.router().services()) has |= s->AppendInfo(name, &lines);
    if (has) text += fmt::format("# {}\r\n{}\r\n", title, lines);
  }
  if (text.size() >= 2) text.resize(text.size() - 2);  // no blank line after the last section
  c.out.Verbatim(text);
}

Status SetLimit(RespServer& srv, std::string_view v, size_t RespLimits::*field) {
  auto bytes = ParseMemory(v);
  if (!bytes.ok() || *bytes < 1024 * 1024)
    return Status::InvalidArgument("argument must be a memory value of at least 1mb");
  RespLimits l = srv.limits();
  l.*field = *bytes;
  srv.set_limits(l);
  return Status::Ok();
}

// The server's CONFIG parameters, then each service's.
std::vector<RespConfigParam> Params(RespServer& srv) {
  auto fixed = [](const char* name, std::string value) {
    return RespConfigParam{name, [value] { return value; }, nullptr};
  };
  std::vector<RespConfigParam> params = {
      {"requirepass", [&srv] { return srv.requirepass(); },
       [&srv](std::string_view v) { return srv.set_requirepass(std::string(v)); }},
      {"proto-max-bulk-len", [&srv] { return std::to_string(srv.limits().max_bulk_len); },
       [&srv](std::string_view v) { return SetLimit(srv, v, &RespLimits::max_bulk_len); }},
      {"client-query-buffer-limit",
       [&srv] { return std::to_string(srv.limits().max_query_buffer); },
       [&srv](std::string_view v) { return SetLimit(srv, v, &RespLimits::max_query_buffer); }},
      {"tls-port",
       [&srv] {
         const std::string a = srv.tls_address();
         return a.empty() ? std::string("0") : a.substr(a.rfind(':') + 1);
       },
       nullptr},
      fixed("maxclients", std::to_string(srv.options().maxclients)),
      fixed("timeout", std::to_string(srv.options().timeout.count())),
      fixed("port", std::to_string(srv.port())),
      fixed("bind", srv.options().host),
      fixed("protected-mode", srv.options().protected_mode ? "yes" : "no"),
      fixed("databases", "1"),
      fixed("save", ""),
      fixed("appendonly", "no"),
      fixed("hz", "10"),
      fixed("io-threads", std::to_string(srv.io_threads())),
      OutputBufferLimitParam(srv),
      {"tracking-table-max-keys", [&srv] { return std::to_string(srv.tracking().max_keys()); },
       [&srv](std::string_view v) {
         int64_t n;
         if (!ParseRespInt(v, &n) || n < 0)
           return Status::InvalidArgument("argument couldn't be parsed into an integer");
         srv.tracking().set_max_keys(static_cast<size_t>(n));
         return Status::Ok();
       }},
  };
  for (auto& p : DiagnosticParams(srv)) params.push_back(std::move(p));
  for (RespService* s : srv.router().services()) {
    for (auto& p : s->ConfigParams()) params.push_back(std::move(p));
  }
  return params;
}

void Config(RespService::Call& c) {
  const std::string sub = AsciiLower(c.args[1]);
  if (sub == "get") {
    if (c.argc() < 3) return c.out.Error("ERR wrong number of arguments for 'config|get' command");
    std::vector<std::pair<std::string, std::string>> found;
    for (const auto& p : Params(c.server)) {
      for (size_t i = 2; i < c.argc(); ++i) {
        if (GlobMatch(AsciiLower(c.args[i]), p.name)) {
          found.emplace_back(p.name, p.get());
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
    const auto params = Params(c.server);
    for (size_t i = 2; i < c.argc(); i += 2) {
      std::string name = AsciiLower(c.args[i]);
      const RespConfigParam* param = nullptr;
      for (const auto& p : params) {
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
      if (Status s = param->set(c.args[i + 1]); !s.ok()) {
        return c.out.Error("ERR CONFIG SET failed (possibly related to argument '" + name +
                           "') - " + s.message());
      }
    }
    c.out.Ok();
  } else if (sub == "resetstat") {
    if (c.argc() != 2)
      return c.out.Error("ERR wrong number of arguments for 'config|resetstat' command");
    auto& s = c.server.stats();
    s.connections_received = 0;
    s.commands_processed = 0;
    s.rejected_connections = 0;
    s.net_input_bytes = 0;
    s.net_output_bytes = 0;
    for (RespService* service : c.server.router().services()) service->ResetStats();
    c.out.Ok();
  } else if (sub == "rewrite") {
    c.out.Error("ERR The server is running without a config file");
  } else {
    c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try CONFIG HELP.");
  }
}

void Time(RespService::Call& c) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  c.out.ArrayHeader(2);
  c.out.Bulk(std::to_string(us / 1000000));
  c.out.Bulk(std::to_string(us % 1000000));
}

void CommandInfo(RespWriter& out, const RespCommand& s) {
  out.ArrayHeader(10);
  out.Bulk(s.name);
  out.Integer(s.arity);
  std::vector<std::string_view> flags;
  if (s.flags & RespCommand::kWrite) flags.push_back("write");
  if (s.flags & RespCommand::kReadonly) flags.push_back("readonly");
  if (s.flags & RespCommand::kDenyOom) flags.push_back("denyoom");
  if (s.flags & RespCommand::kAdmin) flags.push_back("admin");
  if (s.flags & RespCommand::kNoAuth) flags.push_back("no_auth");
  if (s.flags & RespCommand::kStale) flags.push_back("stale");
  if (s.flags & RespCommand::kLoading) flags.push_back("loading");
  if (s.flags & RespCommand::kFast) flags.push_back("fast");
  out.SetHeader(static_cast<int64_t>(flags.size()));
  for (auto f : flags) out.Simple(f);
  out.Integer(s.first_key);
  out.Integer(s.last_key);
  out.Integer(s.step);
  std::vector<std::string> cats = {"@" + s.group};
  if (s.flags & RespCommand::kWrite) cats.push_back("@write");
  if (s.flags & RespCommand::kReadonly) cats.push_back("@read");
  cats.push_back(s.flags & RespCommand::kFast ? "@fast" : "@slow");
  out.SetHeader(static_cast<int64_t>(cats.size()));
  for (const auto& cat : cats) out.Simple(cat);
  out.SetHeader(0);    // tips
  out.ArrayHeader(0);  // key specs
  out.ArrayHeader(0);  // subcommands
}

void Command(RespService::Call& c) {
  const RespRouter& router = c.server.router();
  const auto& all = router.commands();
  const std::string sub = c.argc() > 1 ? AsciiLower(c.args[1]) : "";
  if (c.argc() == 1 || (sub == "info" && c.argc() == 2)) {  // every command
    c.out.ArrayHeader(static_cast<int64_t>(all.size()));
    for (const RespCommand* s : all) CommandInfo(c.out, *s);
  } else if (sub == "count") {
    c.out.Integer(static_cast<int64_t>(all.size()));
  } else if (sub == "info") {
    c.out.ArrayHeader(static_cast<int64_t>(c.argc() - 2));
    for (size_t i = 2; i < c.argc(); ++i) {
      if (const RespCommand* s = router.Find(c.args[i]).command)
        CommandInfo(c.out, *s);
      else
        c.out.NullArray();
    }
  } else if (sub == "docs") {
    std::vector<const RespCommand*> specs;
    if (c.argc() == 2) {
      specs = all;
    } else {
      for (size_t i = 2; i < c.argc(); ++i) {
        if (const RespCommand* s = router.Find(c.args[i]).command) specs.push_back(s);
      }
    }
    c.out.MapHeader(static_cast<int64_t>(specs.size()));
    for (const RespCommand* s : specs) {
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
    c.out.ArrayHeader(static_cast<int64_t>(all.size()));
    for (const RespCommand* s : all) c.out.Bulk(s->name);
  } else {
    c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try COMMAND HELP.");
  }
}

class Builtins final : public RespService {
 public:
  void ForEachCommand(const std::function<void(const RespCommand&)>& fn) const override {
    for (const auto& c : Table()) fn(c);
  }
  std::shared_ptr<PendingReply> Dispatch(Call& call) override {
    static_cast<const BuiltinCommand&>(call.command).handler(call);
    return nullptr;
  }

 private:
  static const std::vector<BuiltinCommand>& Table() {
    static const std::vector<BuiltinCommand> table = [] {
      std::vector<BuiltinCommand> t;
      AddConnectionCommands(t);
      AddServerCommands(t);
      AddTransactionCommands(t);
      AddPubSubCommands(t);
      AddDiagnosticCommands(t);
      return t;
    }();
    return table;
  }
};

}  // namespace

void AddServerCommands(std::vector<BuiltinCommand>& t) {
  using F = RespCommand;
  t.emplace_back("info", -1, F::kLoading | F::kStale, Info, "server",
                 "Returns information and statistics about the server.", "1.0.0");
  t.emplace_back("config", -2, F::kAdmin | F::kLoading | F::kStale, Config, "server",
                 "A container for server configuration commands.", "2.0.0");
  t.emplace_back("time", 1, F::kLoading | F::kStale | F::kFast, Time, "server",
                 "Returns the server time.", "2.6.0");
  t.emplace_back("command", -1, F::kLoading | F::kStale, Command, "server",
                 "Returns detailed information about all commands.", "2.8.13");
}

std::unique_ptr<RespService> NewRespBuiltins() { return std::make_unique<Builtins>(); }

}  // namespace pier::net
