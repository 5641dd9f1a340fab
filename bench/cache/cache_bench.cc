// Get/put throughput per eviction policy, 1 and 2 threads, hit-heavy and miss-heavy, against a
// naive mutex + std::list LRU as the baseline.
//   build/release/bench/cache_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <list>
#include <mutex>
#include <random>
#include <unordered_map>

#include "pier/cache/concurrent_cache.h"
#include "pier/cache/trace.h"

namespace {

using pier::cache::ConcurrentCache;

constexpr uint64_t kObjects = 1 << 20;

// Keys from Zipf(0.99) over 1M objects; the cache holds 10% (hit-heavy) or 0.1% (miss-heavy).
const std::vector<uint64_t>& Keys() {
  static const std::vector<uint64_t> keys = [] {
    auto t = pier::cache::GenerateTrace("zipf:0.99", {kObjects, 1 << 22, 7});
    std::vector<uint64_t> k;
    for (const auto& r : t->requests) k.push_back(r.key);
    return k;
  }();
  return keys;
}

// The baseline: one mutex around an unordered_map and a std::list, the textbook LRU.
class NaiveLru {
 public:
  explicit NaiveLru(size_t capacity) : capacity_(capacity) {}
  bool Get(uint64_t k, uint64_t* v) {
    std::lock_guard lock(mu_);
    auto it = map_.find(k);
    if (it == map_.end()) return false;
    order_.splice(order_.begin(), order_, it->second);
    *v = it->second->second;
    return true;
  }
  void Put(uint64_t k, uint64_t v) {
    std::lock_guard lock(mu_);
    auto it = map_.find(k);
    if (it != map_.end()) {
      it->second->second = v;
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(k, v);
    map_[k] = order_.begin();
    if (map_.size() > capacity_) {
      map_.erase(order_.back().first);
      order_.pop_back();
    }
  }

 private:
  std::mutex mu_;
  size_t capacity_;
  std::list<std::pair<uint64_t, uint64_t>> order_;
  std::unordered_map<uint64_t, std::list<std::pair<uint64_t, uint64_t>>::iterator> map_;
};

// `cache` is dereferenced only inside the timing loop, which every thread enters after thread 0
// finished setting it up (the loop starts with a barrier).
template <typename C>
void Drive(benchmark::State& state, std::unique_ptr<C>& cache) {
  const auto& keys = Keys();
  size_t i = static_cast<size_t>(state.thread_index()) * 7919 * 64;
  uint64_t hits = 0;
  for (auto _ : state) {
    uint64_t k = keys[i++ & (keys.size() - 1)];
    if (auto v = cache->Get(k)) {
      benchmark::DoNotOptimize(*v);
      ++hits;
    } else {
      cache->Put(k, k);
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = benchmark::Counter(
      static_cast<double>(hits) / static_cast<double>(std::max<int64_t>(1, state.iterations())),
      benchmark::Counter::kAvgThreads);
}

struct NaiveAdapter {
  explicit NaiveAdapter(size_t capacity) : lru(capacity) {}
  NaiveLru lru;
  std::optional<uint64_t> Get(uint64_t k) {
    uint64_t v;
    return lru.Get(k, &v) ? std::optional<uint64_t>(v) : std::nullopt;
  }
  void Put(uint64_t k, uint64_t v) { lru.Put(k, v); }
};

size_t CapacityFor(int64_t per_mille) { return kObjects * static_cast<size_t>(per_mille) / 1000; }

void BM_Policy(benchmark::State& state, const char* policy) {
  static std::mutex mu;
  static std::unique_ptr<ConcurrentCache<uint64_t, uint64_t>> shared;
  if (state.thread_index() == 0) {
    std::lock_guard lock(mu);
    shared = *ConcurrentCache<uint64_t, uint64_t>::Create(
        {.policy = policy, .max_entries = CapacityFor(state.range(0))}, 16);
    Keys();
  }
  Drive(state, shared);
}

void BM_NaiveLru(benchmark::State& state) {
  static std::unique_ptr<NaiveAdapter> shared;
  if (state.thread_index() == 0) {
    shared = std::make_unique<NaiveAdapter>(CapacityFor(state.range(0)));
    Keys();
  }
  Drive(state, shared);
}

// range(0): cache size in per mille of the objects: 100 (hit-heavy) and 1 (miss-heavy).
#define PIER_POLICY_BENCH(name) \
  BENCHMARK_CAPTURE(BM_Policy, name, #name)->Arg(100)->Arg(1)->Threads(1)->Threads(2)->UseRealTime()
PIER_POLICY_BENCH(lru);
PIER_POLICY_BENCH(lfu);
PIER_POLICY_BENCH(fifo);
PIER_POLICY_BENCH(random);
PIER_POLICY_BENCH(s3fifo);
PIER_POLICY_BENCH(sieve);
PIER_POLICY_BENCH(wtinylfu);
BENCHMARK(BM_NaiveLru)->Arg(100)->Arg(1)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
