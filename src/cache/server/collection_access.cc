#include "cache/server/collection_access.h"

#include <algorithm>
#include <climits>

namespace pier::cache::server {

bool ClampRange(int64_t start, int64_t stop, size_t len, size_t* out_start, size_t* out_stop) {
  const auto n = static_cast<int64_t>(len);
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return false;
  if (stop >= n) stop = n - 1;
  *out_start = static_cast<size_t>(start);
  *out_stop = static_cast<size_t>(stop);
  return true;
}

bool ParseTimeout(CommandContext& c, std::string_view arg, int64_t* ms) {
  long double seconds;
  if (!ParseLongDouble(arg, &seconds)) {
    c.out.Error("ERR timeout is not a float or out of range");
    return false;
  }
  const long double t = seconds * 1000.0L;
  if (t < 0) {
    c.out.Error("ERR timeout is negative");
    return false;
  }
  if (t > static_cast<long double>(LLONG_MAX - c.now_ms)) {
    c.out.Error("ERR timeout is out of range");
    return false;
  }
  *ms = static_cast<int64_t>(t);
  return true;
}

bool ParseNumKeys(CommandContext& c, size_t at, size_t* n) {
  int64_t v;
  if (!ParseInt64(c.args[at], &v) || v <= 0) {
    c.out.Error("ERR numkeys should be greater than 0");
    return false;
  }
  if (static_cast<uint64_t>(v) > c.argc() - at - 1) {
    c.out.Error("ERR Number of keys can't be greater than number of args");
    return false;
  }
  *n = static_cast<size_t>(v);
  return true;
}

bool ParseMPop(CommandContext& c, size_t at, std::string_view first_end, std::string_view last_end,
               MPopArgs* a) {
  int64_t n;
  if (!ParseInt64(c.args[at], &n) || n < 1) {
    c.out.Error("ERR numkeys should be greater than 0");
    return false;
  }
  size_t i = at + 1 + static_cast<size_t>(std::min<int64_t>(n, int64_t(c.argc())));
  if (i >= c.argc()) {
    c.out.Error(kErrSyntax);
    return false;
  }
  if (EqualsIgnoreCase(c.args[i], first_end)) {
    a->first_end = true;
  } else if (EqualsIgnoreCase(c.args[i], last_end)) {
    a->first_end = false;
  } else {
    c.out.Error(kErrSyntax);
    return false;
  }
  bool counted = false;
  for (++i; i < c.argc(); ++i) {
    if (counted || !EqualsIgnoreCase(c.args[i], "COUNT") || i + 1 >= c.argc()) {
      c.out.Error(kErrSyntax);
      return false;
    }
    ++i;
    if (!ParseInt64(c.args[i], &a->count) || a->count < 1) {
      c.out.Error("ERR count should be greater than 0");
      return false;
    }
    counted = true;
  }
  for (size_t j = at + 1; j <= at + static_cast<size_t>(n); ++j) a->keys.emplace_back(c.args[j]);
  return true;
}

MPopArgs ReparseMPop(CommandContext& c, size_t at, std::string_view first_end,
                     std::string_view last_end) {
  MPopArgs a;
  std::string ignored;
  net::RespWriter quiet(&ignored, 2);
  CommandContext parse{c.args, quiet, c.client, c.server, c.db, c.cluster, c.now_ms, {}};
  ParseMPop(parse, at, first_end, last_end, &a);
  return a;
}

void BlockOn(CommandContext& c, std::vector<std::string> keys, int64_t timeout_ms, BlockServe serve,
             bool null_array) {
  BlockingKeys::Request r;
  r.keys = std::move(keys);
  r.protocol = c.out.protocol();
  r.client_id = c.client.id;
  r.null_array = null_array;
  r.timeout_ms = timeout_ms;
  r.executor = c.executor;
  // Later tries get a context of their own: a copy of the arguments, the current time, and a
  // client record that stands for the parked one (serving reads neither its fields nor its
  // connection).
  auto args = std::make_shared<std::vector<std::string>>(c.args.begin(), c.args.end());
  Database* db = &c.db;
  net::RespServer* server = &c.server;
  const ClusterConfig* cluster = c.cluster;
  r.serve = [args, db, server, cluster, serve](std::string_view key, net::RespWriter& out) {
    static thread_local ClientState parked;
    std::vector<std::string_view> views(args->begin(), args->end());
    CommandContext ctx{views, out, parked, *server, *db, cluster, db->UnixMs(), {}};
    const CommandSpec* spec = CommandTable::Get().Find(views[0]);
    CommandEvents events(db->notifier(), *spec, views);  // the parked command's events
    return serve(ctx, key, false);
  };
  // A first try without the registry's lock (the usual case: data is there), then again under
  // it, where a key created meanwhile cannot be missed.
  auto try_now = [&c, serve](std::string_view key) { return serve(c, key, true); };
  for (const std::string& key : r.keys) {
    if (try_now(key)) return;
  }
  if (c.client.in_transaction) {  // in EXEC a blocking command answers as if it timed out
    if (null_array) {
      c.out.NullArray();
    } else {
      c.out.Null();
    }
    return;
  }
  c.later = c.db.blocking().Block(std::move(r), try_now, c.out);
}

}  // namespace pier::cache::server
