#include "cache/s3fifo_policy.h"

#include <algorithm>

namespace pier::cache {

bool S3FifoPolicy::InGhost(uint64_t key_hash) const { return ghost_.Contains(key_hash); }

void S3FifoPolicy::OnInsert(EntryId id, uint64_t key_hash, uint64_t weight) {
  detail::EnsureLink(links_, id);
  Meta& m = meta_[id];
  m = Meta{static_cast<uint32_t>(key_hash ^ (key_hash >> 32)), Clamp(weight), 0, false};
  if (ghost_.Contains(key_hash)) {
    ghost_.Erase(key_hash);
    m.in_main = true;
    main_.PushFront(id);
    main_weight_ += m.weight;
  } else {
    small_.PushFront(id);
    small_weight_ += m.weight;
  }
}

void S3FifoPolicy::OnReweigh(EntryId id, uint64_t new_weight) {
  Meta& m = meta_[id];
  (m.in_main ? main_weight_ : small_weight_) += uint64_t{Clamp(new_weight)} - m.weight;
  m.weight = Clamp(new_weight);
  OnAccess(id);
}

void S3FifoPolicy::OnRemove(EntryId id) {
  Meta& m = meta_[id];
  if (m.in_main) {
    main_.Remove(id);
    main_weight_ -= m.weight;
  } else {
    small_.Remove(id);
    small_weight_ -= m.weight;
  }
}

void S3FifoPolicy::RememberGhost(uint64_t hash) {
  // G remembers about as many keys as M can hold: 90% of the capacity, in entries (estimated
  // from the mean weight when entries have weights).
  const uint64_t entries = small_.size() + main_.size();
  const uint64_t weight = small_weight_ + main_weight_;
  const uint64_t fit = weight == 0 ? capacity_ : capacity_ * entries / weight;
  ghost_.set_capacity(std::max<uint64_t>(entries, fit) * 9 / 10);
  ghost_.Insert(hash);
}

EntryId S3FifoPolicy::Victim() {
  const uint64_t small_target = capacity_ / 10;
  for (;;) {
    if (!small_.empty() && (small_weight_ > small_target || main_.empty())) {
      EntryId t = small_.back();
      Meta& m = meta_[t];
      if (m.freq > threshold_) {
        small_.Remove(t);
        small_weight_ -= m.weight;
        main_.PushFront(t);
        main_weight_ += m.weight;
        m.in_main = true;
        m.freq = 0;
        continue;
      }
      RememberGhost(m.hash);
      return t;
    }
    EntryId t = main_.back();
    Meta& m = meta_[t];
    if (m.freq > 0) {
      --m.freq;
      main_.MoveToFront(t);
      continue;
    }
    return t;
  }
}

}  // namespace pier::cache
