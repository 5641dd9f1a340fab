#include "cache/sieve_policy.h"

namespace pier::cache {

EntryId SievePolicy::Victim() {
  EntryId o = hand_ != kNoEntry ? hand_ : list_.back();
  while (visited_[o]) {
    visited_[o] = false;
    o = list_.Prev(o);                    // towards the newer end
    if (o == kNoEntry) o = list_.back();  // wrap around to the oldest
  }
  hand_ = o;  // OnRemove(o) moves the hand on to the next newer entry
  return o;
}

void SievePolicy::OnRemove(EntryId id) {
  if (hand_ == id) hand_ = list_.Prev(id);  // kNoEntry: restart from the oldest
  list_.Remove(id);
}

}  // namespace pier::cache
