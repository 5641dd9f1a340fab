// Connection: PING ECHO HELLO AUTH SELECT QUIT RESET CLIENT.
#include <fmt/format.h>

#include <algorithm>

#include "net/resp_builtins.h"
#include "pier/base/strings.h"
#include "pier/net/resp_server.h"

namespace pier::net {

namespace {

constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";

void Ping(RespService::Call& c) {
  if (c.argc() > 2) return WrongArity(c);
  if (c.client.protocol == 2 && c.client.pubsub && c.client.pubsub->count() > 0) {
    c.out.ArrayHeader(2);  // subscriber mode, as Redis
    c.out.Bulk("pong");
    c.out.Bulk(c.argc() == 2 ? c.args[1] : "");
    return;
  }
  if (c.argc() == 2)
    c.out.Bulk(c.args[1]);
  else
    c.out.Simple("PONG");
}

void Echo(RespService::Call& c) { c.out.Bulk(c.args[1]); }

// Checks a username/password pair against requirepass (pier has only the "default" user).
bool CheckPassword(RespService::Call& c, std::string_view user, std::string_view pass) {
  if (user != "default") return false;
  return c.server.requirepass().empty() || c.server.CheckPassword(pass);
}

void Auth(RespService::Call& c) {
  if (c.argc() > 3) return c.out.Error(kErrSyntaxText);
  if (c.argc() == 2 && c.server.requirepass().empty()) {
    return c.out.Error(
        "ERR AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?");
  }
  std::string_view user = c.argc() == 3 ? c.args[1] : "default";
  if (!CheckPassword(c, user, c.args[c.argc() - 1])) return c.out.Error(kWrongPass);
  c.client.authenticated = true;
  c.out.Ok();
}

bool ValidClientName(std::string_view name) {
  for (char ch : name) {
    if (ch < '!' || ch > '~') return false;  // Redis allows printable ASCII without spaces
  }
  return true;
}

void SetName(RespService::Call& c, std::string_view name) {
  std::lock_guard lock(c.server.clients_mutex());
  c.client.name.assign(name);
}

void Hello(RespService::Call& c) {
  int64_t proto = c.client.protocol;
  size_t i = 1;
  if (c.argc() >= 2) {
    if (!ParseRespInt(c.args[1], &proto)) {
      return c.out.Error("ERR Protocol version is not an integer or out of range");
    }
    if (proto < 2 || proto > 3) return c.out.Error("NOPROTO unsupported protocol version");
    i = 2;
  }
  std::string_view setname;
  bool has_setname = false;
  bool authed = false;
  for (; i < c.argc(); ++i) {
    if (EqualsIgnoreCase(c.args[i], "AUTH") && i + 2 < c.argc()) {
      if (!CheckPassword(c, c.args[i + 1], c.args[i + 2])) return c.out.Error(kWrongPass);
      authed = true;
      i += 2;
    } else if (EqualsIgnoreCase(c.args[i], "SETNAME") && i + 1 < c.argc()) {
      setname = c.args[++i];
      has_setname = true;
      if (!ValidClientName(setname)) {
        return c.out.Error(
            "ERR Client names cannot contain spaces, newlines or special characters.");
      }
    } else {
      return c.out.Error("ERR Syntax error in HELLO option '" + std::string(c.args[i]) + "'");
    }
  }
  if (authed) c.client.authenticated = true;
  if (!c.client.authenticated) {
    return c.out.Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
        "RESP protocol version at the same time");
  }
  if (has_setname) SetName(c, setname);
  c.client.protocol = static_cast<int>(proto);
  c.out.set_protocol(c.client.protocol);
  if (c.client.pubsub) c.client.pubsub->set_protocol(c.client.protocol);
  c.out.MapHeader(7);
  c.out.Bulk("server");
  c.out.Bulk("redis");
  c.out.Bulk("version");
  c.out.Bulk("7.0.0");
  c.out.Bulk("proto");
  c.out.Integer(proto);
  c.out.Bulk("id");
  c.out.Integer(static_cast<int64_t>(c.client.id));
  c.out.Bulk("mode");
  c.out.Bulk("standalone");
  c.out.Bulk("role");
  c.out.Bulk("master");
  c.out.Bulk("modules");
  c.out.ArrayHeader(0);
}

void Select(RespService::Call& c) {
  int64_t db;
  if (!ParseRespInt(c.args[1], &db)) return c.out.Error(kErrNotInteger);
  if (db != 0) return c.out.Error("ERR DB index is out of range");
  c.out.Ok();
}

void Quit(RespService::Call& c) {
  c.client.close_after_reply = true;
  c.out.Ok();
}

void Reset(RespService::Call& c) {
  SetName(c, "");
  c.client.protocol = 2;
  c.out.set_protocol(2);
  c.client.authenticated = c.server.requirepass().empty();
  c.client.multi.reset();
  c.client.watch.reset();
  c.client.trace = {};
  if (c.client.tracking) c.server.tracking().Disable(c.client.id);
  c.client.tracking.reset();
  if (c.client.pubsub) {
    c.server.pubsub().UnsubscribeAll(c.client.pubsub);
    c.client.pubsub->set_protocol(2);
  }
  c.out.Simple("RESET");
}

// One CLIENT LIST line, in Redis 7.0's field order.
std::string ClientLine(const RespClient& cl, int64_t now_ms, bool self) {
  int64_t age = (now_ms - cl.created_ms) / 1000;
  int64_t idle = self ? 0 : (now_ms - cl.last_active_ms.load()) / 1000;
  return fmt::format(
      "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags=N db=0 sub=0 psub=0 ssub=0 "
      "multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 "
      "tot-mem=0 events=r cmd={} user=default redir=-1 resp={}\n",
      cl.id, cl.addr, cl.laddr, cl.name, age, idle, cl.last_command.load(), cl.protocol);
}

void Client(RespService::Call& c) {
  const std::string sub = AsciiLower(c.args[1]);
  auto arity = [&](size_t n, bool at_least = false) {
    bool ok = at_least ? c.argc() >= n : c.argc() == n;
    if (!ok) c.out.Error("ERR wrong number of arguments for 'client|" + sub + "' command");
    return ok;
  };
  const int64_t now = c.server.UnixMsAt(c.now);
  if (sub == "id") {
    if (arity(2)) c.out.Integer(static_cast<int64_t>(c.client.id));
  } else if (sub == "setname") {
    if (!arity(3)) return;
    if (!ValidClientName(c.args[2])) {
      return c.out.Error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    SetName(c, c.args[2]);
    c.out.Ok();
  } else if (sub == "getname") {
    if (!arity(2)) return;
    std::lock_guard lock(c.server.clients_mutex());
    if (c.client.name.empty())
      c.out.Null();
    else
      c.out.Bulk(c.client.name);
  } else if (sub == "info") {
    if (!arity(2)) return;
    std::lock_guard lock(c.server.clients_mutex());
    c.out.Verbatim(ClientLine(c.client, now, true));
  } else if (sub == "list") {
    std::vector<uint64_t> ids;
    for (size_t i = 2; i < c.argc(); ++i) {
      if (EqualsIgnoreCase(c.args[i], "TYPE") && i + 1 < c.argc()) {
        ++i;  // every pier client is "normal"
      } else if (EqualsIgnoreCase(c.args[i], "ID") && i + 1 < c.argc()) {
        for (++i; i < c.argc(); ++i) {
          int64_t id;
          if (!ParseRespInt(c.args[i], &id) || id <= 0) return c.out.Error("ERR Invalid client ID");
          ids.push_back(static_cast<uint64_t>(id));
        }
      } else {
        return c.out.Error(kErrSyntaxText);
      }
    }
    std::string text;
    c.server.ForEachClient([&](const RespClient& cl) {
      if (ids.empty() || std::find(ids.begin(), ids.end(), cl.id) != ids.end()) {
        text += ClientLine(cl, now, &cl == &c.client);
      }
    });
    c.out.Verbatim(text);
  } else if (sub == "unblock") {
    if (!arity(3, true) || c.argc() > 4) {
      if (c.argc() > 4) c.out.Error(kErrSyntaxText);
      return;
    }
    int64_t id;
    if (!ParseRespInt(c.args[2], &id)) {
      return c.out.Error("ERR value is not an integer or out of range");
    }
    bool error = false;
    if (c.argc() == 4) {
      if (EqualsIgnoreCase(c.args[3], "ERROR")) {
        error = true;
      } else if (!EqualsIgnoreCase(c.args[3], "TIMEOUT")) {
        return c.out.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
      }
    }
    bool unblocked = false;
    for (RespService* s : c.server.router().services()) {
      if (!unblocked && id > 0) unblocked = s->Unblock(static_cast<uint64_t>(id), error);
    }
    c.out.Integer(unblocked ? 1 : 0);
  } else if (sub == "kill") {
    if (!arity(3, true)) return;
    // Old form: CLIENT KILL addr -> OK / error. New form: filters -> number killed.
    const bool old_form = c.argc() == 3;
    std::string addr, laddr;
    int64_t id = 0;
    bool skipme = !old_form;  // the new form spares the caller unless told SKIPME no
    bool none = false;        // TYPE master/replica/pubsub: pier has no such clients
    if (old_form) {
      addr = std::string(c.args[2]);
    } else {
      for (size_t i = 2; i < c.argc(); i += 2) {
        if (i + 1 >= c.argc()) return c.out.Error(kErrSyntaxText);
        const std::string_view value = c.args[i + 1];
        if (EqualsIgnoreCase(c.args[i], "ID")) {
          if (!ParseRespInt(value, &id) || id <= 0)
            return c.out.Error("ERR client-id should be greater than 0");
        } else if (EqualsIgnoreCase(c.args[i], "ADDR")) {
          addr = std::string(value);
        } else if (EqualsIgnoreCase(c.args[i], "LADDR")) {
          laddr = std::string(value);
        } else if (EqualsIgnoreCase(c.args[i], "SKIPME")) {
          if (EqualsIgnoreCase(value, "yes")) {
            skipme = true;
          } else if (EqualsIgnoreCase(value, "no")) {
            skipme = false;
          } else {
            return c.out.Error(kErrSyntaxText);
          }
        } else if (EqualsIgnoreCase(c.args[i], "TYPE")) {
          if (EqualsIgnoreCase(value, "master") || EqualsIgnoreCase(value, "replica") ||
              EqualsIgnoreCase(value, "slave") || EqualsIgnoreCase(value, "pubsub")) {
            none = true;
          } else if (!EqualsIgnoreCase(value, "normal")) {
            return c.out.Error("ERR Unknown client type '" + std::string(value) + "'");
          }
        } else if (EqualsIgnoreCase(c.args[i], "USER")) {
          if (value != "default")  // pier's one user
            return c.out.Error("ERR No such user '" + std::string(value) + "'");
        } else {
          return c.out.Error(kErrSyntaxText);
        }
      }
    }
    int64_t killed = 0;
    c.server.ForEachClient([&](RespClient& cl) {
      const bool match = !none && (id == 0 || cl.id == static_cast<uint64_t>(id)) &&
                         (addr.empty() || cl.addr == addr) && (laddr.empty() || cl.laddr == laddr);
      if (!match || (skipme && &cl == &c.client)) return;
      if (&cl == &c.client) {
        c.client.close_after_reply = true;
      } else if (cl.kill) {
        cl.kill();
      }
      ++killed;
    });
    if (!old_form) return c.out.Integer(killed);
    if (killed == 0) return c.out.Error("ERR No such client");
    c.out.Ok();
  } else if (sub == "traceparent") {
    if (!arity(3)) return;
    TraceParent context;
    if (!c.args[2].empty() && !TraceParent::Parse(c.args[2], &context)) {
      return c.out.Error("ERR invalid traceparent '" + std::string(c.args[2].substr(0, 64)) +
                         "' (W3C: 00-<32 hex>-<16 hex>-<2 hex>; \"\" clears it)");
    }
    c.client.trace = context;  // "" clears it: flags 0 trace nothing
    c.out.Ok();
  } else if (ClientTrackingCommand(c, sub)) {
  } else if (sub == "setinfo" || sub == "no-evict" || sub == "no-touch" || sub == "reply" ||
             sub == "pause" || sub == "unpause") {
    c.out.Error("ERR CLIENT " + sub + " is not supported by pier");
  } else {
    c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try CLIENT HELP.");
  }
}

}  // namespace

void AddConnectionCommands(std::vector<BuiltinCommand>& t) {
  using F = RespCommand;
  t.emplace_back("ping", -1, F::kSubscriberOk | F::kFast | F::kStale | F::kLoading, Ping,
                 "connection", "Returns the server's liveliness response.", "1.0.0");
  t.emplace_back("echo", 2, F::kFast | F::kStale | F::kLoading, Echo, "connection",
                 "Returns the given string.", "1.0.0");
  t.emplace_back("hello", -1, F::kAllowBusy | F::kNoAuth | F::kFast | F::kStale | F::kLoading,
                 Hello, "connection", "Handshakes with the Redis server.", "6.0.0");
  t.emplace_back("auth", -2, F::kAllowBusy | F::kNoAuth | F::kFast | F::kStale | F::kLoading, Auth,
                 "connection", "Authenticates the connection.", "1.0.0");
  t.emplace_back("select", 2, F::kFast | F::kStale | F::kLoading, Select, "connection",
                 "Changes the selected database.", "2.0.0");
  t.emplace_back("quit", -1,
                 F::kAllowBusy | F::kNoAuth | F::kNoQueue | F::kSubscriberOk | F::kFast |
                     F::kStale | F::kLoading,
                 Quit, "connection", "Closes the connection.", "1.0.0");
  t.emplace_back("reset", 1,
                 F::kAllowBusy | F::kNoAuth | F::kNoQueue | F::kSubscriberOk | F::kFast |
                     F::kStale | F::kLoading,
                 Reset, "connection", "Resets the connection.", "6.2.0");
  t.emplace_back("client", -2, F::kAdmin | F::kStale | F::kLoading, Client, "connection",
                 "A container for client connection commands.", "2.4.0");
}

}  // namespace pier::net
