// Diagnostics: SLOWLOG and LATENCY, as Redis 7.0 (replies, arities and error texts), over the
// server's SlowLog and LatencyMonitor; and their CONFIG parameters.
#include <fmt/format.h>

#include <limits>

#include "net/resp_builtins.h"
#include "pier/base/strings.h"
#include "pier/net/resp_server.h"

namespace pier::net {
namespace {

// A container's subcommand with its own arity (Redis 7.0's `slowlog|get` -2, `latency|history`
// 3...); false after answering the wrong-arity error.
bool SubArity(RespService::Call& c, std::string_view sub, int arity) {
  const int argc = static_cast<int>(c.argc());
  if ((arity > 0 && argc == arity) || (arity < 0 && argc >= -arity)) return true;
  c.out.Error(
      fmt::format("ERR wrong number of arguments for '{}|{}' command", AsciiLower(c.args[0]), sub));
  return false;
}

void SlowlogCommand(RespService::Call& c) {
  SlowLog& log = c.server.slowlog();
  const std::string sub = AsciiLower(c.args[1]);
  if (sub == "get") {
    if (!SubArity(c, sub, -2)) return;
    int64_t count = 10;
    if (c.argc() > 3) {
      return c.out.Error(
          "ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.");
    }
    if (c.argc() == 3 && (!ParseRespInt(c.args[2], &count) || count < -1)) {
      return c.out.Error("ERR count should be greater than or equal to -1");
    }
    const auto entries =
        log.Latest(count < 0 ? std::numeric_limits<size_t>::max() : static_cast<size_t>(count));
    c.out.ArrayHeader(static_cast<int64_t>(entries.size()));
    for (const SlowLog::Entry& e : entries) {
      c.out.ArrayHeader(6);
      c.out.Integer(e.id);
      c.out.Integer(e.unix_s);
      c.out.Integer(e.micros);
      c.out.ArrayHeader(static_cast<int64_t>(e.args.size()));
      for (const auto& a : e.args) c.out.Bulk(a);
      c.out.Bulk(e.peer);
      c.out.Bulk(e.name);
    }
  } else if (sub == "len") {
    if (SubArity(c, sub, 2)) c.out.Integer(static_cast<int64_t>(log.size()));
  } else if (sub == "reset") {
    if (!SubArity(c, sub, 2)) return;
    log.Reset();
    c.out.Ok();
  } else if (sub == "help") {
    if (!SubArity(c, sub, 2)) return;
    c.out.Lines(
        {"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "GET [<count>]",
         "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
         "    Entries are made of:",
         "    id, timestamp, time in microseconds, arguments array, client IP and port,",
         "    client name", "LEN", "    Return the length of the slowlog.", "RESET",
         "    Reset the slowlog.", "HELP", "    Prints this help."});
  } else {
    c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try SLOWLOG HELP.");
  }
}

void LatencyCommand(RespService::Call& c) {
  LatencyMonitor& mon = c.server.latency_monitor();
  const std::string sub = AsciiLower(c.args[1]);
  if (sub == "latest") {
    if (!SubArity(c, sub, 2)) return;
    const auto latest = mon.LatestAll();
    c.out.ArrayHeader(static_cast<int64_t>(latest.size()));
    for (const auto& l : latest) {
      c.out.ArrayHeader(4);
      c.out.Bulk(l.event);
      c.out.Integer(l.unix_s);
      c.out.Integer(l.latest_ms);
      c.out.Integer(l.max_ms);
    }
  } else if (sub == "history") {
    if (!SubArity(c, sub, 3)) return;
    const auto samples = mon.History(c.args[2]);
    c.out.ArrayHeader(static_cast<int64_t>(samples.size()));
    for (const auto& s : samples) {
      c.out.ArrayHeader(2);
      c.out.Integer(s.unix_s);
      c.out.Integer(s.ms);
    }
  } else if (sub == "reset") {
    if (!SubArity(c, sub, -2)) return;
    c.out.Integer(static_cast<int64_t>(mon.Reset({c.args.begin() + 2, c.args.end()})));
  } else if (sub == "help") {
    if (!SubArity(c, sub, 2)) return;
    c.out.Lines(
        {"LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "HISTORY <event>",
         "    Return time-latency samples for the <event> class.", "LATEST",
         "    Return the latest latency samples for all events.", "RESET [<event> ...]",
         "    Reset latency data of one or more <event> classes.",
         "    (default: reset all data for all event classes)", "HELP", "    Prints this help."});
  } else {
    // DOCTOR, GRAPH and HISTOGRAM are not served (docs/cache.md).
    c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try LATENCY HELP.");
  }
}

// A CONFIG integer in [low, max int64], with Redis's error texts.
RespConfigParam IntParam(const char* name, int64_t low, std::function<int64_t()> get,
                         std::function<void(int64_t)> set) {
  return {
      name, [get] { return std::to_string(get()); },
      [low, set](std::string_view v) {
        int64_t n = 0;
        if (!ParseRespInt(v, &n)) {
          return Status::InvalidArgument("argument couldn't be parsed into an integer");
        }
        if (n < low) {
          return Status::InvalidArgument(fmt::format("argument must be between {} and {} inclusive",
                                                     low, std::numeric_limits<int64_t>::max()));
        }
        set(n);
        return Status::Ok();
      }};
}

}  // namespace

std::vector<RespConfigParam> DiagnosticParams(RespServer& srv) {
  SlowLog& log = srv.slowlog();
  LatencyMonitor& mon = srv.latency_monitor();
  return {
      IntParam(
          "slowlog-log-slower-than", -1, [&log] { return log.threshold_us(); },
          [&log](int64_t n) { log.set_threshold_us(n); }),
      IntParam(
          "slowlog-max-len", 0, [&log] { return static_cast<int64_t>(log.max_len()); },
          [&log](int64_t n) { log.set_max_len(static_cast<size_t>(n)); }),
      IntParam(
          "latency-monitor-threshold", 0, [&mon] { return mon.threshold_ms(); },
          [&mon](int64_t n) { mon.set_threshold_ms(n); }),
  };
}

void AddDiagnosticCommands(std::vector<BuiltinCommand>& t) {
  using F = RespCommand;
  t.emplace_back("slowlog", -2, F::kAdmin | F::kLoading | F::kStale, SlowlogCommand, "server",
                 "A container for slow log commands.", "2.2.12");
  t.emplace_back("latency", -2, F::kAdmin | F::kLoading | F::kStale, LatencyCommand, "server",
                 "A container for latency diagnostics commands.", "2.8.13");
}

}  // namespace pier::net
