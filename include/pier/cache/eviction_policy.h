// File: eviction_policy.h
// EvictionPolicy: decides which entry a full cache gives up. Policies see entries only as dense
// ids (the cache owns keys and values), so one policy serves every Cache<K, V>.
//   auto policy = MakePolicy("s3fifo");  // lru lfu fifo random s3fifo sieve wtinylfu
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pier/base/status.h"

namespace pier::cache {

// Dense entry ids handed out by the cache; a freed id is reused for the next insert.
using EntryId = uint32_t;
inline constexpr EntryId kNoEntry = UINT32_MAX;

// The cache calls these hooks under its own synchronization; a policy is never shared between
// caches and need not be thread-safe. Weights are in the cache's capacity unit (1 per entry for
// count-bounded caches, the weigher's unit otherwise).
class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  virtual std::string_view name() const = 0;

  // The cache's capacity in weight units (0: unbounded). Called before any entry is inserted.
  virtual void SetCapacity(uint64_t capacity) { (void)capacity; }
  // How many entries the cache expects to hold, when it knows (count-bounded caches); policies
  // that size structures per entry (W-TinyLFU's sketch) use it, others ignore it.
  virtual void SetExpectedEntries(uint64_t entries) { (void)entries; }
  // A new entry was stored. `key_hash` is a well-mixed 64-bit hash of its key.
  virtual void OnInsert(EntryId id, uint64_t key_hash, uint64_t weight) = 0;
  // The entry was read (a hit) or its value overwritten.
  virtual void OnAccess(EntryId id) = 0;
  // The entry's weight changed (its value was replaced); counts as an access.
  virtual void OnReweigh(EntryId id, uint64_t new_weight) {
    (void)new_weight;
    OnAccess(id);
  }
  // The entry left the cache (erased, expired, or chosen by Victim()).
  virtual void OnRemove(EntryId id) = 0;
  // The entry the cache should evict next; the cache then removes it and calls OnRemove.
  // Precondition: the policy tracks at least one entry.
  virtual EntryId Victim() = 0;
  // Bytes of per-entry metadata the policy holds, for memory accounting.
  virtual size_t MemoryBytes() const = 0;
};

// Creates a policy by name; `seed` feeds policies that use randomness.
Result<std::unique_ptr<EvictionPolicy>> MakePolicy(std::string_view name, uint64_t seed = 1);
// The registered names, in a stable order.
const std::vector<std::string>& PolicyNames();

}  // namespace pier::cache
