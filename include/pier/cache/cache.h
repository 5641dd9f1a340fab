// File: cache.h
// Cache<K, V>: a bounded in-process cache with a pluggable eviction policy, TTLs, weights and
// stats. Capacity is by entry count, by total weight (a weigher, e.g. bytes), or both.
//   auto cache = Cache<std::string, std::string>::Create({.policy = "s3fifo", .max_entries =
//   10000});
//   (*cache)->Put("k", "v", std::chrono::seconds(30));
//   if (const std::string* v = (*cache)->Get("k")) use(*v);
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "pier/base/clock.h"
#include "pier/base/hash.h"
#include "pier/base/status.h"
#include "pier/cache/cache_stats.h"
#include "pier/cache/eviction_policy.h"

namespace pier::cache {

// Not thread-safe: one thread at a time (ConcurrentCache shards and locks it). Pointers returned
// by Get() stay valid until the next call that modifies the cache.
template <typename K, typename V, typename Hash = KeyHash<K>, typename Eq = std::equal_to<K>>
class Cache {
 public:
  using Duration = Clock::Duration;
  using TimePoint = Clock::TimePoint;

  struct Options {
    std::string policy = "lru";
    uint64_t max_entries = 0;                             // 0: no limit on count
    uint64_t max_weight = 0;                              // 0: no limit on weight
    std::function<uint64_t(const K&, const V&)> weigher;  // default: every entry weighs 1
    const Clock* clock = &Clock::Steady();
    uint64_t seed = 1;
  };

  static Result<std::unique_ptr<Cache>> Create(Options options) {
    auto policy = MakePolicy(options.policy, options.seed);
    if (!policy.ok()) return policy.status();
    return std::unique_ptr<Cache>(new Cache(std::move(options), std::move(*policy)));
  }

  // The value, or nullptr when absent or expired. Records a hit or a miss.
  const V* Get(const K& key) {
    EntryId id = Find(key);
    if (id == kNoEntry) {
      ++stats_.misses;
      return nullptr;
    }
    ++stats_.hits;
    policy_->OnAccess(id);
    return &slots_[id].value;
  }

  // Present and not expired; records nothing.
  bool Contains(const K& key) { return Find(key) != kNoEntry; }

  // Stores `value`, replacing any previous value and its TTL. Returns false when the value is not
  // in the cache afterwards (heavier than the capacity, or the policy declined to admit it).
  bool Put(const K& key, V value, std::optional<Duration> ttl = std::nullopt) {
    const int64_t expire_ns = ttl ? (clock_->Now() + *ttl).time_since_epoch().count() : 0;
    return PutInternal(key, std::move(value), expire_ns);
  }

  // Removes the key; true if it was present.
  bool Erase(const K& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    Remove(it->second, Reason::kExplicit);
    return true;
  }

  // Sets the key's expiry time (manual expire); a time not in the future removes it now as
  // expired. Returns false if the key is absent.
  bool ExpireAt(const K& key, TimePoint when) {
    EntryId id = Find(key);
    if (id == kNoEntry) return false;
    if (when <= clock_->Now()) {
      Remove(id, Reason::kExpired);
      return true;
    }
    SetExpiry(id, when.time_since_epoch().count());
    return true;
  }
  bool Persist(const K& key) {
    EntryId id = Find(key);
    if (id == kNoEntry) return false;
    slots_[id].expire_ns = 0;
    return true;
  }
  // Time left, nullopt if absent; Duration::max() when it has no TTL.
  std::optional<Duration> Ttl(const K& key) {
    EntryId id = Find(key);
    if (id == kNoEntry) return std::nullopt;
    if (slots_[id].expire_ns == 0) return Duration::max();
    return Duration(slots_[id].expire_ns) - clock_->Now().time_since_epoch();
  }

  // The value, loading and storing it on a miss. (ConcurrentCache::GetOrLoad adds single flight.)
  Result<V> GetOrLoad(const K& key, const std::function<Result<V>(const K&)>& loader,
                      std::optional<Duration> ttl = std::nullopt) {
    if (const V* v = Get(key)) return *v;
    Result<V> loaded = loader(key);
    if (loaded.ok()) Put(key, *loaded, ttl);
    return loaded;
  }

  // Active expiry: removes up to `max_work` expired entries, visiting at most `max_work` timer
  // records, so each tick does bounded work however many keys have a TTL. Returns the removals.
  size_t ExpireTick(size_t max_work = 64) {
    const int64_t now = clock_->Now().time_since_epoch().count();
    size_t removed = 0;
    for (size_t work = 0; work < max_work && !timers_.empty(); ++work) {
      const Timer t = timers_.front();
      if (t.expire_ns > now) break;
      std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
      timers_.pop_back();
      const Slot& s = slots_[t.id];
      if (s.live && s.gen == t.gen && s.expire_ns == t.expire_ns) {
        Remove(t.id, Reason::kExpired);
        ++removed;
      }
    }
    return removed;
  }

  void Clear() {
    index_.clear();
    for (EntryId id = 0; id < slots_.size(); ++id) {
      if (slots_[id].live) policy_->OnRemove(id);
    }
    slots_.clear();
    free_.clear();
    timers_.clear();
    total_weight_ = 0;
    stats_.entries = stats_.weight = 0;
  }

  // Visits every live (unexpired) entry; `fn(key, value)`. Must not modify the cache.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    const int64_t now = clock_->Now().time_since_epoch().count();
    for (const Slot& s : slots_) {
      if (s.live && (s.expire_ns == 0 || s.expire_ns > now)) fn(*s.key, s.value);
    }
  }

  const CacheStats& stats() const { return stats_; }
  void ResetStats() {
    CacheStats fresh;
    fresh.entries = stats_.entries;
    fresh.weight = stats_.weight;
    stats_ = fresh;
  }
  size_t size() const { return index_.size(); }
  uint64_t weight() const { return total_weight_; }
  std::string_view policy_name() const { return policy_->name(); }
  const Options& options() const { return options_; }

 private:
  enum class Reason { kCapacity, kExpired, kExplicit };

  struct Slot {
    const K* key = nullptr;  // points into index_ (node-based, so stable)
    V value{};
    uint64_t weight = 0;
    int64_t expire_ns = 0;  // 0: no TTL
    uint32_t gen = 0;       // bumped on reuse so stale timers are ignored
    bool live = false;
  };
  struct Timer {
    int64_t expire_ns;
    EntryId id;
    uint32_t gen;
    bool operator>(const Timer& o) const { return expire_ns > o.expire_ns; }
  };
  struct MapHash {
    size_t operator()(const K& k) const { return static_cast<size_t>(Hash{}(k)); }
  };

  Cache(Options options, std::unique_ptr<EvictionPolicy> policy)
      : options_(std::move(options)), clock_(options_.clock), policy_(std::move(policy)) {
    policy_->SetCapacity(options_.max_weight != 0 ? options_.max_weight : options_.max_entries);
    if (options_.max_entries != 0) policy_->SetExpectedEntries(options_.max_entries);
  }

  // Lazy expiry: an expired entry found on access is removed then.
  EntryId Find(const K& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return kNoEntry;
    EntryId id = it->second;
    const Slot& s = slots_[id];
    if (s.expire_ns != 0 && s.expire_ns <= clock_->Now().time_since_epoch().count()) {
      Remove(id, Reason::kExpired);
      return kNoEntry;
    }
    return id;
  }

  uint64_t WeightOf(const K& key, const V& value) const {
    return options_.weigher ? options_.weigher(key, value) : 1;
  }
  // The weight the policy sees: real weights when capacity is by weight, else 1 per entry.
  uint64_t PolicyWeight(uint64_t w) const { return options_.max_weight != 0 ? w : 1; }

  bool OverCapacity() const {
    return (options_.max_entries != 0 && index_.size() > options_.max_entries) ||
           (options_.max_weight != 0 && total_weight_ > options_.max_weight);
  }

  bool PutInternal(const K& key, V value, int64_t expire_ns) {
    const uint64_t w = WeightOf(key, value);
    if (options_.max_weight != 0 && w > options_.max_weight) {
      ++stats_.rejections;
      Erase(key);
      return false;
    }
    auto [it, inserted] = index_.try_emplace(key, kNoEntry);
    EntryId id;
    if (inserted) {
      id = Allocate();
      it->second = id;
      Slot& s = slots_[id];
      s.key = &it->first;
      s.value = std::move(value);
      s.weight = w;
      s.live = true;
      total_weight_ += w;
      ++stats_.insertions;
      policy_->OnInsert(id, Hash{}(key), PolicyWeight(w));
    } else {
      id = it->second;
      Slot& s = slots_[id];
      s.value = std::move(value);
      total_weight_ += w - s.weight;
      s.weight = w;
      ++stats_.updates;
      policy_->OnReweigh(id, PolicyWeight(w));
    }
    slots_[id].expire_ns = 0;
    if (expire_ns != 0) SetExpiry(id, expire_ns);
    const uint32_t gen = slots_[id].gen;
    while (OverCapacity()) Remove(policy_->Victim(), Reason::kCapacity);
    stats_.entries = index_.size();
    stats_.weight = total_weight_;
    return slots_[id].live && slots_[id].gen == gen;
  }

  void SetExpiry(EntryId id, int64_t expire_ns) {
    Slot& s = slots_[id];
    s.expire_ns = expire_ns;
    timers_.push_back({expire_ns, id, s.gen});
    std::push_heap(timers_.begin(), timers_.end(), std::greater<>());
    // Rewritten TTLs leave stale timers behind; rebuild once they outnumber the live ones, so the
    // heap stays O(entries) at amortized O(1) cost per TTL write.
    if (timers_.size() > 2 * index_.size() + 1024) RebuildTimers();
  }

  void RebuildTimers() {
    timers_.clear();
    for (EntryId id = 0; id < slots_.size(); ++id) {
      const Slot& s = slots_[id];
      if (s.live && s.expire_ns != 0) timers_.push_back({s.expire_ns, id, s.gen});
    }
    std::make_heap(timers_.begin(), timers_.end(), std::greater<>());
  }

  EntryId Allocate() {
    if (!free_.empty()) {
      EntryId id = free_.back();
      free_.pop_back();
      return id;
    }
    PIER_CHECK_MSG(slots_.size() < kNoEntry, "more than 2^32-1 entries");
    slots_.emplace_back();
    return static_cast<EntryId>(slots_.size() - 1);
  }

  void Remove(EntryId id, Reason reason) {
    PIER_DCHECK(id != kNoEntry && slots_[id].live);
    policy_->OnRemove(id);
    Slot& s = slots_[id];
    total_weight_ -= s.weight;
    index_.erase(index_.find(*s.key));  // not erase(*s.key): that key lives in the erased node
    s.key = nullptr;
    s.value = V{};
    s.live = false;
    s.expire_ns = 0;
    ++s.gen;
    free_.push_back(id);
    switch (reason) {
      case Reason::kCapacity:
        ++stats_.evictions_capacity;
        break;
      case Reason::kExpired:
        ++stats_.evictions_expired;
        break;
      case Reason::kExplicit:
        ++stats_.removals_explicit;
        break;
    }
    stats_.entries = index_.size();
    stats_.weight = total_weight_;
  }

  Options options_;
  const Clock* clock_;
  std::unique_ptr<EvictionPolicy> policy_;
  std::unordered_map<K, EntryId, MapHash, Eq> index_;
  std::vector<Slot> slots_;
  std::vector<EntryId> free_;
  std::vector<Timer> timers_;  // min-heap by expiry
  uint64_t total_weight_ = 0;
  CacheStats stats_;
};

}  // namespace pier::cache
