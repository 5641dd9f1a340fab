// A program embedding pier's cache and metrics: a sharded cache in front of a slow "database",
// with single-flight loading, and its stats exposed as Prometheus metrics.
#include <pier/cache/concurrent_cache.h>
#include <pier/metrics/metrics.h>

#include <iostream>
#include <string>
#include <thread>

int main() {
  auto cache = pier::cache::ConcurrentCache<std::string, std::string>::Create(
      {.policy = "s3fifo", .max_entries = 1000});
  if (!cache.ok()) {
    std::cerr << cache.status().message() << "\n";
    return 1;
  }
  pier::metrics::Registry metrics;
  auto& loads = metrics.GetCounter("example_db_loads_total", "Loads from the slow database.");
  auto load_user = [&](const std::string& id) -> pier::Result<std::string> {
    loads.Inc();
    return "user-" + id;
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) (void)(*cache)->GetOrLoad(std::to_string(i % 100), load_user);
    });
  }
  for (auto& th : threads) th.join();

  pier::cache::CacheStats s = (*cache)->stats();
  metrics.AddCallback("example_cache_hit_ratio", "Hit ratio of the user cache.", "gauge", {},
                      [s] { return s.HitRatio(); });
  std::cout << metrics.RenderPrometheus();
  // 100 distinct users fit in the cache: each is loaded exactly once, however many threads ask.
  if (loads.Value() != 100) {
    std::cerr << "expected 100 loads, got " << loads.Value() << "\n";
    return 1;
  }
  std::cout << "ok: 4000 lookups, " << loads.Value() << " loads, hit ratio " << s.HitRatio()
            << "\n";
  return 0;
}
