// File: random_policy.h
// RandomPolicy: evicts a uniformly random entry (exact, unlike Redis's sampled allkeys-random).
#pragma once

#include <vector>

#include "cache/detail/id_list.h"

namespace pier::cache {

class RandomPolicy final : public EvictionPolicy {
 public:
  explicit RandomPolicy(uint64_t seed) : state_(seed) {}
  std::string_view name() const override { return "random"; }
  void OnInsert(EntryId id, uint64_t, uint64_t) override {
    pos_[id] = members_.size();
    members_.push_back(id);
  }
  void OnAccess(EntryId) override {}
  void OnRemove(EntryId id) override;
  EntryId Victim() override;
  size_t MemoryBytes() const override {
    return members_.capacity() * sizeof(EntryId) + pos_.MemoryBytes();
  }

 private:
  std::vector<EntryId> members_;
  detail::IdArray<size_t> pos_;
  uint64_t state_;
};

}  // namespace pier::cache
