// File: s3fifo_policy.h
// S3FifoPolicy: S3-FIFO (Yang, Zhang, Qiu, Yue, Rashmi: "FIFO queues are all you need for cache
// eviction", SOSP'23). Three FIFO queues: a small queue S (10% of the capacity) that new entries
// enter, a main queue M, and a ghost queue G of recently evicted keys (hashes only; see ghost_set.h
// for how its FIFO order is approximated in bounded memory). An entry leaving S moves to M if it
// was hit more than `move_to_main_threshold` times, else it is evicted and remembered in G; a miss
// on a key in G goes straight to M. M is FIFO with reinsertion: an entry with a non-zero 2-bit
// frequency is reinserted with frequency - 1.
#pragma once

#include "cache/detail/ghost_set.h"
#include "cache/detail/id_list.h"

namespace pier::cache {

class S3FifoPolicy final : public EvictionPolicy {
 public:
  // The paper's algorithm moves an entry from S to M when freq > 1, i.e. threshold 1.
  explicit S3FifoPolicy(int move_to_main_threshold = 1) : threshold_(move_to_main_threshold) {}
  std::string_view name() const override { return "s3fifo"; }
  void SetCapacity(uint64_t capacity) override { capacity_ = capacity; }
  void OnInsert(EntryId id, uint64_t key_hash, uint64_t weight) override;
  void OnAccess(EntryId id) override {
    if (meta_[id].freq < 3) ++meta_[id].freq;
  }
  void OnReweigh(EntryId id, uint64_t new_weight) override;
  void OnRemove(EntryId id) override;
  EntryId Victim() override;
  size_t MemoryBytes() const override {
    return links_.capacity() * sizeof(detail::Link) + meta_.MemoryBytes() + ghost_.MemoryBytes();
  }

  // For tests.
  bool InMain(EntryId id) { return meta_[id].in_main; }
  bool InGhost(uint64_t key_hash) const;
  size_t small_size() const { return small_.size(); }
  size_t main_size() const { return main_.size(); }

 private:
  struct Meta {           // 12 bytes: metadata competes with data for the same memory
    uint32_t hash = 0;    // a fingerprint is enough for the ghost
    uint32_t weight = 0;  // weights are clamped to 2^32-1
    uint8_t freq = 0;
    bool in_main = false;
  };
  static uint32_t Clamp(uint64_t w) {
    return w > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(w);
  }
  void RememberGhost(uint64_t hash);

  int threshold_;
  uint64_t capacity_ = 0;
  std::vector<detail::Link> links_;
  detail::IdList small_{&links_};
  detail::IdList main_{&links_};
  uint64_t small_weight_ = 0;
  uint64_t main_weight_ = 0;
  detail::IdArray<Meta> meta_;
  detail::GhostSet ghost_;
};

}  // namespace pier::cache
