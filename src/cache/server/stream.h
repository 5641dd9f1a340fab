// File: stream.h
// StreamValue: a Redis stream (XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM): entries ordered by
// id (milliseconds-sequence), each a packed list of field/value pairs, and the last id ever
// added. Entries are grouped into nodes of 100, as Redis's radix-tree nodes
// (stream-node-max-entries), so an approximate trim (`MAXLEN ~`) removes whole nodes only, as
// Redis does; pier's nodes split by count, not also by bytes.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cache/server/entry.h"

namespace pier::cache::server {

struct StreamId {
  uint64_t ms = 0, seq = 0;
  auto operator<=>(const StreamId&) const = default;
  std::string ToString() const { return std::to_string(ms) + "-" + std::to_string(seq); }
  static constexpr StreamId Max() { return {UINT64_MAX, UINT64_MAX}; }
};

// Parses "ms-seq" or "ms" (seq = `missing_seq`); false when malformed.
bool ParseStreamId(std::string_view s, uint64_t missing_seq, StreamId* id);

class StreamValue final : public Collection {
 public:
  static constexpr ValueType kType = ValueType::kStream;
  static constexpr size_t kNodeEntries = 100;
  struct Item {
    uint64_t node;         // the node it was appended to
    PackedStrings fields;  // field, value, field, value...
  };
  using Entries = std::map<StreamId, Item>;

  ValueType type() const override { return kType; }
  size_t size() const override { return entries_.size(); }
  size_t MemoryBytes() const override;
  std::unique_ptr<Collection> Clone() const override {
    return std::make_unique<StreamValue>(*this);
  }
  std::string_view encoding() const override { return "stream"; }

  StreamId last_id() const { return last_id_; }
  // Appends (id > last_id()).
  void Add(StreamId id, PackedStrings fields);
  bool Delete(StreamId id);
  // Removes the oldest entries until at most `maxlen` remain (or, by min id, those below
  // `min_id`); `approx`: whole nodes only. `limit` > 0 bounds the entries removed. Returns how
  // many went.
  size_t TrimLen(size_t maxlen, bool approx, size_t limit);
  size_t TrimMinId(StreamId min_id, bool approx, size_t limit);
  const Entries& entries() const { return entries_; }

 private:
  // Whether the oldest node may go whole: its live entries all satisfy `keep_going`.
  template <typename Fn>
  size_t Trim(bool approx, size_t limit, Fn&& over);
  Entries entries_;
  std::deque<std::pair<uint64_t, size_t>> nodes_;  // (node number, live entries), oldest first
  uint64_t next_node_ = 0;
  size_t in_last_node_ = kNodeEntries;  // entries ever appended to the newest node
  StreamId last_id_;
  size_t bytes_ = 0;
};

}  // namespace pier::cache::server
