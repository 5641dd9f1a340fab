#include "app/cache_perf.h"

#include <charconv>

#include "cache/server/database.h"

namespace pier::app {

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
                       uint64_t bytes = 0;
                       auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), bytes);
                       if (ec != std::errc() || p != v.data() + v.size()) {
                         return Status::InvalidArgument("cache.maxmemory: '" + v +
                                                        "' is not a byte count");
                       }
                       return db.SetMaxMemory(bytes);
                     },
                 .objective = "cache.hit_ratio",
                 .guards = {"cache.p99_ms"}});
}

}  // namespace pier::app
