#include "app/module_perf.h"

#include <charconv>

#include "cache/server/database.h"

namespace pier::app {

namespace {
Result<uint64_t> Count(const std::string& knob, const std::string& v) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) {
    return Status::InvalidArgument(knob + ": '" + v + "' is not a number");
  }
  return n;
}
}  // namespace

void AttachCache(perf::Analyzer& analyzer, perf::Tuner& tuner, cache::CacheServer& server) {
  cache::server::Database& db = server.db();
  analyzer.SetCacheSource([&db] {
    perf::CacheView v;
    v.present = true;
    v.policy = db.policy_name();
    v.maxmemory = db.maxmemory();
    for (const auto& p : db.shadow().Curve(db.ShadowLookups())) {
      v.curve.push_back({"allkeys-" + p.policy, p.size_factor, p.capacity, p.hit_ratio, p.lookups});
    }
    return v;
  });
  tuner.AddKnob({.name = "cache.policy",
                 .get = [&db] { return db.policy_name(); },
                 .set = [&db](const std::string& v) { return db.SetPolicy(v); },
                 .objective = "cache.hit_ratio",
                 .guards = {"cache.p99_ms"}});
  tuner.AddKnob({.name = "cache.maxmemory",
                 .get = [&db] { return std::to_string(db.maxmemory()); },
                 .set =
                     [&db](const std::string& v) {
                       auto bytes = Count("cache.maxmemory", v);
                       return bytes.ok() ? db.SetMaxMemory(*bytes) : bytes.status();
                     },
                 .objective = "cache.hit_ratio",
                 .guards = {"cache.p99_ms"}});
}

void AttachProxy(perf::Tuner& tuner, proxy::ProxyServer& proxy) {
  tuner.AddKnob({.name = "proxy.concurrency_limit",
                 .get = [&proxy] { return proxy.concurrency_limit(); },
                 .set = [&proxy](const std::string& v) { return proxy.SetConcurrencyLimit(v); },
                 .objective = "proxy.p99_ms",
                 .higher_is_better = false,
                 .guards = {"proxy.error_ratio"},
                 .guard_slack = 0.01,
                 .min_gain_ratio = 0.1});
}

void AttachQueue(perf::Tuner& tuner, queue::QueueServer& queue) {
  tuner.AddKnob({.name = "queue.consume_batch",
                 .get = [&queue] { return std::to_string(queue.consume_batch()); },
                 .set =
                     [&queue](const std::string& v) {
                       auto n = Count("queue.consume_batch", v);
                       return n.ok() ? queue.SetConsumeBatch(*n) : n.status();
                     },
                 .objective = "queue.ack_per_s",
                 .guards = {"queue.oldest_age_s"},
                 .guard_slack = 1,
                 .min_gain_ratio = 0.05});
}

}  // namespace pier::app
