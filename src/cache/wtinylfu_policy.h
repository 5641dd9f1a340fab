// File: wtinylfu_policy.h
// WTinyLfuPolicy: W-TinyLFU (Einziger, Friedman, Manes: "TinyLFU: A Highly Efficient Cache
// Admission Policy", ACM TOS 2017), structured as Caffeine's BoundedLocalCache: a small LRU
// window (1% of the capacity) in front of a segmented-LRU main space (probation + protected, the
// latter 80% of main). Entries overflowing the window become candidates for main; when main is
// full a candidate is admitted only if its estimated frequency (a count-min sketch of recent
// accesses) beats that of main's victim, so one-hit wonders cannot flush popular entries.
#pragma once

#include "cache/detail/count_min_sketch.h"
#include "cache/detail/id_list.h"

namespace pier::cache {

class WTinyLfuPolicy final : public EvictionPolicy {
 public:
  explicit WTinyLfuPolicy(uint64_t seed) : rng_(seed) {}
  std::string_view name() const override { return "wtinylfu"; }
  void SetCapacity(uint64_t capacity) override;
  void SetExpectedEntries(uint64_t entries) override { sketch_.EnsureCapacity(entries); }
  void OnInsert(EntryId id, uint64_t key_hash, uint64_t weight) override;
  void OnAccess(EntryId id) override;
  void OnReweigh(EntryId id, uint64_t new_weight) override;
  void OnRemove(EntryId id) override;
  EntryId Victim() override;
  size_t MemoryBytes() const override {
    return links_.capacity() * sizeof(detail::Link) + meta_.MemoryBytes() + sketch_.width() / 2;
  }

  enum class Region : uint8_t { kWindow, kProbation, kProtected };
  Region RegionOf(EntryId id) { return meta_[id].region; }
  int Frequency(uint64_t key_hash) const { return sketch_.Frequency(Fingerprint(key_hash)); }
  static uint32_t Fingerprint(uint64_t h) { return static_cast<uint32_t>(h ^ (h >> 32)); }

 private:
  struct Meta {           // 12 bytes: metadata competes with data for the same memory
    uint32_t hash = 0;    // a fingerprint: the sketch only needs to tell keys apart
    uint32_t weight = 0;  // weights are clamped to 2^32-1
    Region region = Region::kWindow;
  };
  static uint32_t Clamp(uint64_t w) {
    return w > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(w);
  }
  detail::IdList& ListOf(Region r) {
    return r == Region::kWindow ? window_ : r == Region::kProbation ? probation_ : protected_;
  }
  uint64_t& WeightOf(Region r) {
    return r == Region::kWindow      ? window_weight_
           : r == Region::kProbation ? probation_weight_
                                     : protected_weight_;
  }
  void MoveTo(EntryId id, Region to);
  // Caffeine's admit(): the candidate must be more frequent than the victim; a warm candidate
  // that ties or loses still gets in 1 time in 128, so an attacker cannot pin the victim.
  bool Admit(uint64_t candidate_hash, uint64_t victim_hash);

  uint64_t capacity_ = 0;
  uint64_t window_max_ = 1;
  uint64_t protected_max_ = 0;
  std::vector<detail::Link> links_;
  detail::IdList window_{&links_};
  detail::IdList probation_{&links_};
  detail::IdList protected_{&links_};
  uint64_t window_weight_ = 0, probation_weight_ = 0, protected_weight_ = 0;
  detail::IdArray<Meta> meta_;
  detail::CountMinSketch sketch_;
  uint64_t rng_;
};

}  // namespace pier::cache
