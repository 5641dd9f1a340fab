// Scripting: EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT (LOAD EXISTS FLUSH KILL HELP), as Redis 7.0.
// A script holds every shard while it runs (ExclusiveHold, as EXEC), so it is atomic; its
// redis.call goes through the RESP server as a client of its own that is in a transaction
// (blocking commands answer at once, blocked clients are served after the script).
#include "cache/server/command.h"
#include "cache/server/scripting.h"
#include "pier/net/resp_server.h"

namespace pier::cache::server {

namespace {

using CallStatus = ScriptEngine::CallStatus;

// Commands a script may not run (Redis's noscript flag).
bool NoScript(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "multi",      "exec",       "discard",     "watch",        "unwatch",      "subscribe",
      "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "eval",
      "evalsha",    "eval_ro",    "evalsha_ro",  "script",       "auth",         "hello",
      "quit",       "reset",      "blpop",       "brpop",        "blmove",       "brpoplpush",
      "blmpop",     "bzpopmin",   "bzpopmax",    "bzmpop"};
  for (auto n : kNames) {
    if (n == name) return true;
  }
  return false;
}

void Eval(CommandContext& c, bool by_sha, bool read_only) {
  int64_t numkeys;
  if (!ParseInt64(c.args[2], &numkeys)) return c.out.Error(kErrNotInteger);
  if (numkeys < 0) return c.out.Error("ERR Number of keys can't be negative");
  if (numkeys > static_cast<int64_t>(c.argc()) - 3) {
    return c.out.Error("ERR Number of keys can't be greater than number of args");
  }
  ScriptEngine& engine = c.db.scripts();
  std::string sha;
  if (by_sha) {
    sha = Lower(c.args[1]);
  } else if (!engine.Load(c.args[1], &sha, c.out)) {
    return;
  }
  ScriptEngine::Call call;
  call.sha = sha;
  call.keys.assign(c.args.begin() + 3, c.args.begin() + 3 + numkeys);
  call.argv.assign(c.args.begin() + 3 + numkeys, c.args.end());
  call.read_only = read_only;
  thread_local net::RespClient script_client;
  script_client.authenticated = true;
  script_client.in_transaction = true;
  script_client.protocol = 2;
  net::RespServer& server = c.server;
  call.caller = [&server](const std::vector<std::string_view>& args, std::string* out, bool* write,
                          bool ro, int protocol) {
    const auto route = server.router().Find(args[0]);
    if (route.command == nullptr) return CallStatus::kUnknown;
    const net::RespCommand& cmd = *route.command;
    const int argc = static_cast<int>(args.size());
    if ((cmd.arity > 0 && argc != cmd.arity) || argc < -cmd.arity) return CallStatus::kWrongArity;
    if (NoScript(cmd.name)) return CallStatus::kNotAllowed;
    *write = cmd.flags & net::RespCommand::kWrite;
    if (*write && ro) return CallStatus::kWriteInReadOnly;
    Clock::TimePoint now = server.clock().Now();
    script_client.protocol = protocol;
    server.Execute(script_client, args, out, &now);
    return CallStatus::kOk;
  };
  ExclusiveHold hold(c.db);
  script_client.script_caller = &c.client;
  engine.Run(call, c.out);
  script_client.script_caller = nullptr;
}

void EvalCmd(CommandContext& c) { Eval(c, false, false); }
void EvalSha(CommandContext& c) { Eval(c, true, false); }
void EvalRo(CommandContext& c) { Eval(c, false, true); }
void EvalShaRo(CommandContext& c) { Eval(c, true, true); }

void Script(CommandContext& c) {
  const std::string sub = Lower(c.args[1]);
  ScriptEngine& engine = c.db.scripts();
  if (sub == "load" && c.argc() == 3) {
    std::string sha;
    if (engine.Load(c.args[2], &sha, c.out)) c.out.Bulk(sha);
    return;
  }
  if (sub == "exists" && c.argc() >= 3) {
    c.out.ArrayHeader(static_cast<int64_t>(c.argc() - 2));
    for (size_t i = 2; i < c.argc(); ++i) c.out.Integer(engine.Exists(Lower(c.args[i])));
    return;
  }
  if (sub == "flush" && c.argc() <= 3) {
    if (c.argc() == 3 && !EqualsIgnoreCase(c.args[2], "ASYNC") &&
        !EqualsIgnoreCase(c.args[2], "SYNC")) {
      return c.out.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    engine.Flush();
    return c.out.Ok();
  }
  if (sub == "kill" && c.argc() == 2) {
    const std::string err = engine.Kill();
    return err.empty() ? c.out.Ok() : c.out.Error(err);
  }
  if (sub == "help" && c.argc() == 2) {
    c.out.Lines(
        {"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
         "EXISTS <sha1> [<sha1> ...]",
         "    Return information about the existence of the scripts in the script cache.",
         "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
         "    When called without the optional mode argument, the behavior is determined by the",
         "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
         "    * ASYNC: Asynchronously flush the scripts cache.",
         "    * SYNC: Synchronously flush the scripts cache.", "KILL",
         "    Kill the currently executing Lua script.", "LOAD <script>",
         "    Load a script into the scripts cache without executing it.", "HELP",
         "    Prints this help."});
    return;
  }
  c.out.Error("ERR unknown subcommand or wrong number of arguments for '" + std::string(c.args[1]) +
              "'. Try SCRIPT HELP.");
}

// FUNCTION: pier has no function libraries (EVAL and EVALSHA run scripts), so the library set
// is always empty and answers as Redis 7.0's empty set does; LOAD, DUMP and RESTORE say so.
void Function(CommandContext& c) {
  const std::string sub = Lower(c.args[1]);
  if (sub == "list") {
    for (size_t i = 2; i < c.argc(); ++i) {
      if (EqualsIgnoreCase(c.args[i], "LIBRARYNAME") && i + 1 < c.argc()) {
        ++i;
      } else if (!EqualsIgnoreCase(c.args[i], "WITHCODE")) {
        return c.out.Error("ERR Unknown argument " + std::string(c.args[i]));
      }
    }
    return c.out.ArrayHeader(0);
  }
  if (sub == "flush" && c.argc() <= 3) {
    if (c.argc() == 3 && !EqualsIgnoreCase(c.args[2], "ASYNC") &&
        !EqualsIgnoreCase(c.args[2], "SYNC")) {
      return c.out.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    return c.out.Ok();
  }
  if (sub == "delete" && c.argc() == 3) return c.out.Error("ERR Library not found");
  if (sub == "kill" && c.argc() == 2) {
    return c.out.Error("NOTBUSY No scripts in execution right now.");
  }
  if (sub == "stats" && c.argc() == 2) {
    c.out.MapHeader(2);
    c.out.Bulk("running_script");
    c.out.Null();
    c.out.Bulk("engines");
    c.out.MapHeader(1);
    c.out.Bulk("LUA");
    c.out.MapHeader(2);
    c.out.Bulk("libraries_count");
    c.out.Integer(0);
    c.out.Bulk("functions_count");
    c.out.Integer(0);
    return;
  }
  if (sub == "load" || sub == "dump" || sub == "restore") {
    return c.out.Error("ERR FUNCTION " + std::string(c.args[1]) +
                       " is not supported by pier: it has no function libraries (use EVAL or "
                       "EVALSHA)");
  }
  if (sub == "help" && c.argc() == 2) {
    c.out.Lines({"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                 "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
                 "    Return the function libraries (pier has none: always empty).",
                 "FLUSH [ASYNC|SYNC]", "    Delete all the libraries (there are none).",
                 "DELETE <library-name>", "    Delete a library (none exists).", "STATS",
                 "    Return information about the function engines.", "KILL",
                 "    Kill the running function (none runs).", "HELP", "    Prints this help."});
    return;
  }
  if (sub == "list" || sub == "flush" || sub == "delete" || sub == "kill" || sub == "stats" ||
      sub == "help") {
    return c.out.Error("ERR wrong number of arguments for 'function|" + sub + "' command");
  }
  c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try FUNCTION HELP.");
}

void FCall(CommandContext& c) { c.out.Error("ERR Function not found"); }

}  // namespace

void RegisterScriptCommands(CommandTable& t) {
  auto eval = [&t](const char* name, CommandHandler h, uint32_t flags, const char* summary) {
    CommandSpec spec{name, -3, flags, 0, 0, 0, h, "scripting", summary, "2.6.0"};
    spec.numkeys_at = 2;
    t.Add(std::move(spec));
  };
  eval("eval", EvalCmd, kLoading | kStale, "Executes a server-side Lua script.");
  eval("evalsha", EvalSha, kLoading | kStale, "Executes a server-side Lua script by SHA1 digest.");
  eval("eval_ro", EvalRo, kReadonly | kLoading | kStale,
       "Executes a read-only server-side Lua script.");
  eval("evalsha_ro", EvalShaRo, kReadonly | kLoading | kStale,
       "Executes a read-only server-side Lua script by SHA1 digest.");
  eval("fcall", FCall, kLoading | kStale, "Invokes a function.");
  eval("fcall_ro", FCall, kReadonly | kLoading | kStale, "Invokes a read-only function.");
  t.Add({"function", -2, net::RespCommand::kAllowBusy, 0, 0, 0, Function, "scripting",
         "A container for function commands.", "7.0.0"});
  t.Add({"script", -2, net::RespCommand::kAllowBusy, 0, 0, 0, Script, "scripting",
         "A container for Lua scripts management commands.", "2.6.0"});
}

}  // namespace pier::cache::server
