// CacheServer::AttachTo: what the cache tells the analyzer and which of its settings the tuner
// may change (cache_server.h).
#include "cache/server/database.h"
#include "cache/server/keyspace.h"
#include "pier/cache/cache_server.h"
#include "pier/perf/analyzer.h"
#include "pier/perf/tuner.h"

namespace pier::cache {

void CacheServer::AttachTo(perf::Analyzer& analyzer, perf::Tuner& tuner) {
  server::Database& db = this->db();
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
                       auto bytes = perf::ParseCount("cache.maxmemory", v);
                       return bytes.ok() ? db.SetMaxMemory(*bytes) : bytes.status();
                     },
                 .objective = "cache.hit_ratio",
                 .guards = {"cache.p99_ms"}});
}

Status CacheServer::CheckPolicyName(const std::string& name) {
  auto policy = server::ParseEvictionPolicy(name);
  return policy.ok() ? Status::Ok() : policy.status();
}

}  // namespace pier::cache
