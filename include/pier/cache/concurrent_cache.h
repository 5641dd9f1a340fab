// File: concurrent_cache.h
// ConcurrentCache<K, V>: a thread-safe Cache sharded by key hash, so operations on different
// shards never contend, with single-flight GetOrLoad (concurrent misses on one key load once).
//   auto cache = ConcurrentCache<std::string, Blob>::Create({.policy = "wtinylfu",
//                                                            .max_entries = 1 << 20}, 16);
//   Result<Blob> b = (*cache)->GetOrLoad(key, [](const std::string& k) { return Fetch(k); });
#pragma once

#include <future>
#include <mutex>
#include <thread>

#include "pier/cache/cache.h"

namespace pier::cache {

// Thread-safe. Each shard holds capacity / shards, so eviction is per shard (as in Caffeine's
// and memcached's segmented designs); a shard's lock is held only for one operation, never while
// a loader runs.
template <typename K, typename V, typename Hash = KeyHash<K>, typename Eq = std::equal_to<K>>
class ConcurrentCache {
 public:
  using Inner = Cache<K, V, Hash, Eq>;
  using Options = typename Inner::Options;
  using Duration = typename Inner::Duration;
  using Loader = std::function<Result<V>(const K&)>;

  // `shards` is rounded up to a power of two; 0 picks 4 per hardware thread.
  static Result<std::unique_ptr<ConcurrentCache>> Create(Options options, size_t shards = 0) {
    if (shards == 0) shards = 4 * std::max(1u, std::thread::hardware_concurrency());
    size_t n = 1;
    while (n < shards) n <<= 1;
    std::unique_ptr<ConcurrentCache> c(new ConcurrentCache());
    c->shards_ = std::vector<Shard>(n);
    for (size_t i = 0; i < n; ++i) {
      Options o = options;
      // Split the capacity, rounding up so the shards together hold at least the whole.
      if (o.max_entries) o.max_entries = (o.max_entries + n - 1) / n;
      if (o.max_weight) o.max_weight = (o.max_weight + n - 1) / n;
      o.seed = options.seed + i;
      auto inner = Inner::Create(std::move(o));
      if (!inner.ok()) return inner.status();
      c->shards_[i].cache = std::move(*inner);
    }
    return c;
  }

  std::optional<V> Get(const K& key) {
    Shard& s = ShardFor(key);
    std::lock_guard lock(s.mu);
    const V* v = s.cache->Get(key);
    return v ? std::optional<V>(*v) : std::nullopt;
  }
  bool Contains(const K& key) {
    Shard& s = ShardFor(key);
    std::lock_guard lock(s.mu);
    return s.cache->Contains(key);
  }
  bool Put(const K& key, V value, std::optional<Duration> ttl = std::nullopt) {
    Shard& s = ShardFor(key);
    std::lock_guard lock(s.mu);
    return s.cache->Put(key, std::move(value), ttl);
  }
  bool Erase(const K& key) {
    Shard& s = ShardFor(key);
    std::lock_guard lock(s.mu);
    return s.cache->Erase(key);
  }
  void Clear() {
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      s.cache->Clear();
    }
  }

  // On a miss, exactly one caller runs `loader` for the key; the others wait for its result.
  // A failed load is returned to every waiter and not cached.
  Result<V> GetOrLoad(const K& key, const Loader& loader,
                      std::optional<Duration> ttl = std::nullopt) {
    Shard& s = ShardFor(key);
    std::shared_future<Result<V>> flight;
    std::promise<Result<V>> promise;
    {
      std::lock_guard lock(s.mu);
      if (const V* v = s.cache->Get(key)) return *v;
      auto it = s.loading.find(key);
      if (it != s.loading.end()) {
        flight = it->second;
      } else {
        s.loading.emplace(key, promise.get_future().share());
      }
    }
    if (flight.valid()) return flight.get();
    Result<V> loaded = [&]() -> Result<V> {
      try {
        return loader(key);
      } catch (const std::exception& e) {
        return Status::Internal(std::string("loader threw: ") + e.what());
      }
    }();
    {
      std::lock_guard lock(s.mu);
      if (loaded.ok()) s.cache->Put(key, *loaded, ttl);
      s.loading.erase(key);
    }
    promise.set_value(loaded);
    return loaded;
  }

  // Active expiry across shards, `max_work_per_shard` each.
  size_t ExpireTick(size_t max_work_per_shard = 16) {
    size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      n += s.cache->ExpireTick(max_work_per_shard);
    }
    return n;
  }

  CacheStats stats() const {
    CacheStats total;
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      total += s.cache->stats();
    }
    return total;
  }
  size_t size() const { return stats().entries; }
  size_t shard_count() const { return shards_.size(); }

 private:
  struct StdHash {
    size_t operator()(const K& k) const { return static_cast<size_t>(Hash{}(k)); }
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unique_ptr<Inner> cache;
    std::unordered_map<K, std::shared_future<Result<V>>, StdHash, Eq> loading;
  };
  ConcurrentCache() = default;
  Shard& ShardFor(const K& key) {
    // High bits pick the shard; the inner map uses the hash again, mostly its low bits.
    return shards_[(Hash{}(key) >> 40) & (shards_.size() - 1)];
  }

  std::vector<Shard> shards_;
};

}  // namespace pier::cache
