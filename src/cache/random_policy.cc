#include "cache/random_policy.h"

#include "pier/base/hash.h"

namespace pier::cache {

void RandomPolicy::OnRemove(EntryId id) {
  size_t p = pos_[id];
  EntryId last = members_.back();
  members_[p] = last;
  pos_[last] = p;
  members_.pop_back();
}

EntryId RandomPolicy::Victim() {
  state_ += 0x9e3779b97f4a7c15ULL;  // SplitMix64 stream
  return members_[Mix64(state_) % members_.size()];
}

}  // namespace pier::cache
