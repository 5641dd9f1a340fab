#include "cache/wtinylfu_policy.h"

#include <algorithm>

#include "pier/base/hash.h"

namespace pier::cache {

void WTinyLfuPolicy::SetCapacity(uint64_t capacity) {
  capacity_ = capacity;
  window_max_ = std::max<uint64_t>(1, capacity / 100);
  protected_max_ = (capacity - std::min(capacity, window_max_)) * 8 / 10;
  // The capacity may be in bytes, so it does not size the sketch: SetExpectedEntries does when
  // the cache knows its entry count, and OnInsert grows it with the entries otherwise.
}

void WTinyLfuPolicy::MoveTo(EntryId id, Region to) {
  Meta& m = meta_[id];
  ListOf(m.region).Remove(id);
  WeightOf(m.region) -= m.weight;
  m.region = to;
  ListOf(to).PushFront(id);
  WeightOf(to) += m.weight;
}

void WTinyLfuPolicy::OnInsert(EntryId id, uint64_t key_hash, uint64_t weight) {
  detail::EnsureLink(links_, id);
  meta_[id] = Meta{Fingerprint(key_hash), Clamp(weight), Region::kWindow};
  window_.PushFront(id);
  window_weight_ += meta_[id].weight;
  // Grow the sketch (which restarts its counts) to 1.5x the entries once they outgrow it by a
  // quarter: not for the one extra entry a full cache holds just before its eviction.
  const uint64_t entries = window_.size() + probation_.size() + protected_.size();
  if (entries > sketch_.expected() + sketch_.expected() / 4)
    sketch_.EnsureCapacity(entries + entries / 2);
  sketch_.Increment(meta_[id].hash);
  // While main has room, the window's overflow simply moves there; once main is full the
  // overflow waits in the window and Victim() runs the admission contest.
  const uint64_t main_max = capacity_ > window_max_ ? capacity_ - window_max_ : 0;
  while (window_weight_ > window_max_ && !window_.empty()) {
    EntryId c = window_.back();
    if (capacity_ != 0 && probation_weight_ + protected_weight_ + meta_[c].weight > main_max) break;
    MoveTo(c, Region::kProbation);
  }
}

void WTinyLfuPolicy::OnAccess(EntryId id) {
  Meta& m = meta_[id];
  sketch_.Increment(m.hash);
  switch (m.region) {
    case Region::kWindow:
      window_.MoveToFront(id);
      break;
    case Region::kProbation:
      MoveTo(id, Region::kProtected);
      while (protected_weight_ > protected_max_ && protected_.size() > 1) {
        MoveTo(protected_.back(), Region::kProbation);
      }
      break;
    case Region::kProtected:
      protected_.MoveToFront(id);
      break;
  }
}

void WTinyLfuPolicy::OnReweigh(EntryId id, uint64_t new_weight) {
  Meta& m = meta_[id];
  WeightOf(m.region) += uint64_t{Clamp(new_weight)} - m.weight;
  m.weight = Clamp(new_weight);
  OnAccess(id);
}

void WTinyLfuPolicy::OnRemove(EntryId id) {
  Meta& m = meta_[id];
  ListOf(m.region).Remove(id);
  WeightOf(m.region) -= m.weight;
}

bool WTinyLfuPolicy::Admit(uint64_t candidate_hash, uint64_t victim_hash) {
  int candidate = sketch_.Frequency(candidate_hash);
  int victim = sketch_.Frequency(victim_hash);
  if (candidate > victim) return true;
  if (candidate <= 5) return false;
  rng_ += 0x9e3779b97f4a7c15ULL;
  return (Mix64(rng_) & 127) == 0;
}

EntryId WTinyLfuPolicy::Victim() {
  EntryId main_victim = !probation_.empty() ? probation_.back() : protected_.back();
  if (window_weight_ > window_max_ && !window_.empty()) {
    EntryId candidate = window_.back();
    if (main_victim == kNoEntry) return candidate;
    if (Admit(meta_[candidate].hash, meta_[main_victim].hash)) {
      MoveTo(candidate, Region::kProbation);
      return main_victim;
    }
    return candidate;
  }
  return main_victim != kNoEntry ? main_victim : window_.back();
}

}  // namespace pier::cache
