// File: lru_policy.h
// LruPolicy: evicts the least recently used entry (a hit moves an entry to the front).
// The classic policy; see e.g. Mattson et al., "Evaluation techniques for storage hierarchies",
// IBM Systems Journal 1970, for its stack property.
#pragma once

#include "cache/detail/id_list.h"

namespace pier::cache {

class LruPolicy final : public EvictionPolicy {
 public:
  std::string_view name() const override { return "lru"; }
  void OnInsert(EntryId id, uint64_t, uint64_t) override {
    detail::EnsureLink(links_, id);
    list_.PushFront(id);
  }
  void OnAccess(EntryId id) override { list_.MoveToFront(id); }
  void OnRemove(EntryId id) override { list_.Remove(id); }
  EntryId Victim() override { return list_.back(); }
  size_t MemoryBytes() const override { return links_.capacity() * sizeof(detail::Link); }

 private:
  std::vector<detail::Link> links_;
  detail::IdList list_{&links_};
};

}  // namespace pier::cache
