// File: fifo_policy.h
// FifoPolicy: evicts the oldest inserted entry; hits change nothing. Cheapest of all and the
// base that S3-FIFO and SIEVE build on (Belady, "A study of replacement algorithms for a
// virtual-storage computer", IBM Systems Journal 1966).
#pragma once

#include "cache/detail/id_list.h"

namespace pier::cache {

class FifoPolicy final : public EvictionPolicy {
 public:
  std::string_view name() const override { return "fifo"; }
  void OnInsert(EntryId id, uint64_t, uint64_t) override {
    detail::EnsureLink(links_, id);
    list_.PushFront(id);
  }
  void OnAccess(EntryId) override {}
  void OnRemove(EntryId id) override { list_.Remove(id); }
  EntryId Victim() override { return list_.back(); }
  size_t MemoryBytes() const override { return links_.capacity() * sizeof(detail::Link); }

 private:
  std::vector<detail::Link> links_;
  detail::IdList list_{&links_};
};

}  // namespace pier::cache
