#include "cache/lfu_policy.h"

#include <algorithm>

namespace pier::cache {

void LfuPolicy::OnInsert(EntryId id, uint64_t, uint64_t) {
  meta_[id] = Meta{age_ + 1, 1, ++seq_, heap_.size()};
  heap_.push_back(id);
  SiftUp(heap_.size() - 1);
}

void LfuPolicy::OnAccess(EntryId id) {
  Meta& m = meta_[id];
  ++m.freq;
  m.priority = age_ + m.freq;
  m.seq = ++seq_;
  SiftDown(m.pos);  // the priority only grows
}

void LfuPolicy::OnRemove(EntryId id) {
  size_t i = meta_[id].pos;
  if (id == victim_) {  // an eviction, not an erase: the cache ages
    age_ = std::max(age_, meta_[id].priority);
    victim_ = kNoEntry;
  }
  EntryId last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  Place(i, last);
  SiftDown(i);
  SiftUp(meta_[last].pos);
}

void LfuPolicy::SiftUp(size_t i) {
  EntryId id = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!Less(id, heap_[parent])) break;
    Place(i, heap_[parent]);
    i = parent;
  }
  Place(i, id);
}

void LfuPolicy::SiftDown(size_t i) {
  EntryId id = heap_[i];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && Less(heap_[child + 1], heap_[child])) ++child;
    if (!Less(heap_[child], id)) break;
    Place(i, heap_[child]);
    i = child;
  }
  Place(i, id);
}

}  // namespace pier::cache
