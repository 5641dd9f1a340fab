// File: sieve_policy.h
// SievePolicy: SIEVE (Zhang, Yang, Yue, Vigfusson, Rashmi: "SIEVE is Simpler than LRU: an
// Efficient Turn-Key Eviction Algorithm for Web Caches", NSDI'24). A FIFO queue plus one
// "visited" bit per entry; a hand walks from the oldest entry towards the newest, clearing
// visited bits and evicting the first unvisited entry, and stays where it stopped.
#pragma once

#include "cache/detail/id_list.h"

namespace pier::cache {

class SievePolicy final : public EvictionPolicy {
 public:
  std::string_view name() const override { return "sieve"; }
  void OnInsert(EntryId id, uint64_t, uint64_t) override {
    detail::EnsureLink(links_, id);
    visited_[id] = false;
    list_.PushFront(id);
  }
  void OnAccess(EntryId id) override { visited_[id] = true; }
  void OnRemove(EntryId id) override;
  EntryId Victim() override;
  size_t MemoryBytes() const override {
    return links_.capacity() * sizeof(detail::Link) + visited_.MemoryBytes();
  }

  // For tests: where the hand points (kNoEntry: it starts at the oldest entry).
  EntryId hand() const { return hand_; }

 private:
  std::vector<detail::Link> links_;
  detail::IdList list_{&links_};
  detail::IdArray<uint8_t> visited_;  // not bool: vector<bool> has no references
  EntryId hand_ = kNoEntry;
};

}  // namespace pier::cache
