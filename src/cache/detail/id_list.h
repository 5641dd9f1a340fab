// File: id_list.h
// IdList: an intrusive doubly linked list of entry ids whose links live in a vector the policy
// owns, so several lists (S3-FIFO's small and main queues) share one link array and an id moves
// between them in O(1). Front is the most recently inserted end.
#pragma once

#include <vector>

#include "pier/base/status.h"
#include "pier/cache/eviction_policy.h"

namespace pier::cache::detail {

struct Link {
  EntryId prev = kNoEntry;  // towards the front
  EntryId next = kNoEntry;  // towards the back
};

// Grows `links` so `id` indexes it.
inline void EnsureLink(std::vector<Link>& links, EntryId id) {
  if (id >= links.size()) links.resize(static_cast<size_t>(id) + 1 + links.size() / 2);
}

class IdList {
 public:
  explicit IdList(std::vector<Link>* links) : links_(links) {}

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  EntryId front() const { return front_; }
  EntryId back() const { return back_; }
  EntryId Prev(EntryId id) const { return (*links_)[id].prev; }
  EntryId Next(EntryId id) const { return (*links_)[id].next; }

  void PushFront(EntryId id) {
    Link& l = (*links_)[id];
    l.prev = kNoEntry;
    l.next = front_;
    if (front_ != kNoEntry) (*links_)[front_].prev = id;
    front_ = id;
    if (back_ == kNoEntry) back_ = id;
    ++size_;
  }

  void Remove(EntryId id) {
    PIER_DCHECK(size_ > 0);
    Link& l = (*links_)[id];
    if (l.prev != kNoEntry)
      (*links_)[l.prev].next = l.next;
    else
      front_ = l.next;
    if (l.next != kNoEntry)
      (*links_)[l.next].prev = l.prev;
    else
      back_ = l.prev;
    l = Link{};
    --size_;
  }

  void MoveToFront(EntryId id) {
    if (front_ == id) return;
    Remove(id);
    PushFront(id);
  }

 private:
  std::vector<Link>* links_;
  EntryId front_ = kNoEntry;
  EntryId back_ = kNoEntry;
  size_t size_ = 0;
};

// Per-id metadata that grows with the ids it is asked about.
template <typename T>
class IdArray {
 public:
  T& operator[](EntryId id) {
    if (id >= v_.size()) v_.resize(static_cast<size_t>(id) + 1 + v_.size() / 2);
    return v_[id];
  }
  size_t MemoryBytes() const { return v_.capacity() * sizeof(T); }

 private:
  std::vector<T> v_;
};

}  // namespace pier::cache::detail
