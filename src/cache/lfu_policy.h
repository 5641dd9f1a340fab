// File: lfu_policy.h
// LfuPolicy: least frequently used with dynamic aging, LFU-DA (Arlitt, Cherkasova, Dilley,
// Friedrich, Jin: "Evaluating content management techniques for Web proxy caches",
// SIGMETRICS Performance Evaluation Review 27(4), 2000). Each entry's priority is its hit count
// plus the cache "age" L, and L becomes the priority of each evicted entry, so popularity earned
// long ago decays relative to new arrivals instead of pinning stale entries forever.
// Ties go to the least recently used. O(log n) per operation (an indexed binary heap).
#pragma once

#include <vector>

#include "cache/detail/id_list.h"

namespace pier::cache {

class LfuPolicy final : public EvictionPolicy {
 public:
  std::string_view name() const override { return "lfu"; }
  void OnInsert(EntryId id, uint64_t, uint64_t) override;
  void OnAccess(EntryId id) override;
  void OnRemove(EntryId id) override;
  EntryId Victim() override { return victim_ = heap_.front(); }
  size_t MemoryBytes() const override {
    return heap_.capacity() * sizeof(EntryId) + meta_.MemoryBytes();
  }

  uint64_t age() const { return age_; }
  uint64_t priority(EntryId id) { return meta_[id].priority; }

 private:
  struct Meta {
    uint64_t priority = 0;  // frequency + age at last access
    uint64_t freq = 0;
    uint64_t seq = 0;  // last access, for LRU tie-breaking
    size_t pos = 0;    // index in heap_
  };
  bool Less(EntryId a, EntryId b) {
    const Meta& x = meta_[a];
    const Meta& y = meta_[b];
    return x.priority != y.priority ? x.priority < y.priority : x.seq < y.seq;
  }
  void SiftUp(size_t i);
  void SiftDown(size_t i);
  void Place(size_t i, EntryId id) {
    heap_[i] = id;
    meta_[id].pos = i;
  }

  std::vector<EntryId> heap_;
  detail::IdArray<Meta> meta_;
  uint64_t age_ = 0;
  EntryId victim_ = kNoEntry;  // the last Victim(), whose removal ages the cache
  uint64_t seq_ = 0;
};

}  // namespace pier::cache
