// File: keyspace.h
// Keyspace: one shard of the server's keys. An open-addressing index (linear probing, 8-byte
// slots holding a 32-bit hash tag and an entry id), entries in single allocations, an eviction
// policy over entry ids with a byte budget, a TTL heap for active expiry, and exact accounting
// of the bytes it holds.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/server/entry.h"
#include "cache/server/notify.h"
#include "pier/cache/eviction_policy.h"
#include "pier/cache/shadow.h"
#include "pier/net/key_tracking.h"

namespace pier::cache::server {

class BlockingKeys;
class LazyFree;

// Redis's maxmemory-policy, resolved: which keys may be evicted and by which policy.
struct EvictionConfig {
  std::string redis_name = "noeviction";  // as CONFIG GET shows it
  std::string policy;                     // pier policy name; empty for noeviction/volatile-ttl
  bool volatile_only = false;             // volatile-*: only keys with a TTL are candidates
  bool by_ttl = false;                    // volatile-ttl: the nearest expiry goes first
  bool evicts() const { return !policy.empty() || by_ttl; }
};
// Parses a maxmemory-policy name (Redis's and pier's allkeys-s3fifo etc.).
Result<EvictionConfig> ParseEvictionPolicy(std::string_view name);

struct KeyspaceStats {
  uint64_t hits = 0, misses = 0, expired = 0, evicted = 0;
};

// Not thread-safe: the Database guards each shard with its own mutex.
class Keyspace {
 public:
  explicit Keyspace(uint64_t seed = 1);
  ~Keyspace();
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;

  // The live entry for `key` or nullptr; an expired entry found here is deleted (lazy expiry).
  Entry* Find(std::string_view key, uint64_t hash, int64_t now_ms);
  // Find, counting a keyspace hit or miss and telling the policy about the access.
  Entry* Lookup(std::string_view key, uint64_t hash, int64_t now_ms);

  // Stores a string, replacing any value under the key. expire_ms: 0 none, >0 absolute ms,
  // -1 keep the existing TTL (SET ... KEEPTTL).
  Entry* SetString(std::string_view key, uint64_t hash, std::string_view value, int64_t expire_ms);
  // Changes a string entry's value length, keeping the first min(old, new) bytes; returns the
  // (possibly moved) entry.
  Entry* ResizeString(Entry* e, size_t new_len);
  // Stores a collection under a key that must be absent. A new list or sorted set tells the
  // blocked clients (set_blocking) that the key is ready.
  Entry* CreateObject(std::string_view key, uint64_t hash, std::unique_ptr<Collection> value);
  Entry* CreateHash(std::string_view key, uint64_t hash) {
    return CreateObject(key, hash, std::make_unique<HashValue>());
  }
  // Call after changing a collection's contents (its bytes count toward memory).
  // `touched` false: only its size is accounted (the command changed nothing after all).
  void ObjectChanged(Entry* e, size_t old_bytes, bool touched = true);
  void HashChanged(Entry* e, size_t old_bytes, bool touched = true) {
    ObjectChanged(e, old_bytes, touched);
  }
  // A copy of e's value under `new_key` (which must be absent), without a TTL.
  Entry* CopyValue(const Entry* e, std::string_view new_key, uint64_t new_hash);

  enum class Reason { kExplicit, kExpired, kEvicted };
  void Delete(Entry* e, Reason reason = Reason::kExplicit);
  // 0 removes the TTL. `notify`: the command's events name it ("expire", "persist"); COPY's
  // copied TTL does not.
  void SetExpire(Entry* e, int64_t expire_ms, bool notify = true);
  // Moves an entry to `new_key` in `dst` (this shard or another, both locked), replacing what
  // was there and keeping its TTL (RENAME).
  Entry* MoveTo(Entry* e, Keyspace& dst, std::string_view new_key, uint64_t new_hash);

  // Removes up to `max_work` expired keys, visiting at most `max_work` timers.
  size_t ActiveExpire(int64_t now_ms, size_t max_work);
  // Evicts one key by the configured policy; false if none may be evicted.
  bool EvictOne(int64_t now_ms);
  void Configure(const EvictionConfig& config, uint64_t budget_bytes);
  void Clear();

  // WATCH: `*changed` is set when `key` is written, deleted (also by expiry or eviction) or
  // gets a TTL, until Unwatch. Every mutation below reports its key.
  void Watch(std::string_view key, std::atomic<bool>* changed);
  void Unwatch(std::string_view key, std::atomic<bool>* changed);

  void set_seed(uint64_t seed) { seed_ = seed; }  // before Configure
  // Who is told of every changed key (CLIENT TRACKING; not owned; may be null).
  void set_tracking(net::KeyTracking* tracking) { tracking_ = tracking; }
  // Where expiry, eviction and key-miss events go (not owned; may be null).
  void set_notifier(const Notifier* notifier) { notifier_ = notifier; }
  // Where new lists and sorted sets are announced (not owned; may be null).
  void set_blocking(BlockingKeys* blocking) { blocking_ = blocking; }
  // Where big collections go to be freed (not owned; null: freed at once).
  void set_lazy_free(LazyFree* lazy_free) { lazy_free_ = lazy_free; }
  // Lookups, stores and removals also go to `shadow` (sampled there; not owned; may be null).
  void set_shadow(MissRatioShadow* shadow) { shadow_ = shadow; }
  size_t size() const { return count_; }
  size_t volatile_count() const { return volatile_count_; }
  // Bytes held: entries (as allocated), hash contents, index, policy metadata.
  uint64_t used_bytes() const;
  KeyspaceStats& stats() { return stats_; }

  // Entries by id, for iteration: ids below id_limit(); empty ids are nullptr.
  uint32_t id_limit() const { return static_cast<uint32_t>(entries_.size()); }
  Entry* entry(uint32_t id) const { return entries_[id]; }
  // SCAN by entry id: appends the live entries with ids in [from, from + count) and returns the
  // first id not visited (id_limit() when the shard is done). A key keeps its id for its whole
  // life, so a key present for the whole scan is returned exactly once, however the index grows
  // meanwhile.
  uint32_t ScanIds(uint32_t from, size_t count, int64_t now_ms, std::vector<Entry*>* out);
  Entry* Random(uint64_t r) const;

 private:
  Entry* Allocate(std::string_view key, size_t value_bytes, ValueType type);
  void Insert(Entry* e, uint64_t hash);
  size_t SlotOf(std::string_view key, uint64_t hash) const;  // index of key's slot or npos
  void EraseSlot(size_t slot);
  void Grow();
  uint64_t PolicyWeight(const Entry* e) const;
  void PolicyAdd(Entry* e);
  void FreeObject(Collection* c);
  void PolicyRemove(Entry* e);
  void TrackEntryBytes(Entry* e, bool add);
  uint64_t HashOf(const Entry* e) const;
  // Every mutation: WATCH flags, the running command's notification record, tracking clients.
  void Touch(std::string_view key, KeyChange change) {
    Changed(key);
    CommandEvents::Record(key, change);
  }
  // Every change, also by expiry and eviction (which notify on their own).
  void Changed(std::string_view key) {
    if (!watched_.empty()) TouchWatched(key);
    if (tracking_ != nullptr && tracking_->active()) tracking_->Invalidate(key);
  }
  void ApplyExpire(Entry* e, int64_t expire_ms);
  void TouchWatched(std::string_view key);

  static constexpr size_t npos = SIZE_MAX;
  static constexpr uint64_t kPerKeyOverhead = 48;  // index slot, id table, policy metadata
  std::vector<uint64_t> slots_;                    // (tag << 32) | (id + 1); 0 = empty
  std::vector<Entry*> entries_;                    // by id
  std::vector<uint32_t> free_ids_;
  size_t count_ = 0;
  size_t volatile_count_ = 0;
  uint64_t entry_bytes_ = 0;  // malloc_usable_size of entries + hash contents

  struct Timer {
    int64_t expire_ms;
    uint32_t id;
    bool operator>(const Timer& o) const { return expire_ms > o.expire_ms; }
  };
  std::vector<Timer> timers_;  // min-heap

  EvictionConfig config_;
  uint64_t budget_ = 0;
  std::unique_ptr<EvictionPolicy> policy_;
  uint64_t seed_;
  MissRatioShadow* shadow_ = nullptr;
  BlockingKeys* blocking_ = nullptr;
  const Notifier* notifier_ = nullptr;
  net::KeyTracking* tracking_ = nullptr;
  LazyFree* lazy_free_ = nullptr;
  KeyspaceStats stats_;
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<std::atomic<bool>*>, KeyHash, std::equal_to<>>
      watched_;
};

}  // namespace pier::cache::server
