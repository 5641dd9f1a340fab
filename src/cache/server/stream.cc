#include "cache/server/stream.h"

#include <charconv>
#include <iterator>

namespace pier::cache::server {

namespace {

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool ParseStreamId(std::string_view s, uint64_t missing_seq, StreamId* id) {
  const size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    id->seq = missing_seq;
    return ParseU64(s, &id->ms);
  }
  return ParseU64(s.substr(0, dash), &id->ms) && ParseU64(s.substr(dash + 1), &id->seq);
}

size_t StreamValue::MemoryBytes() const {
  // A map node per entry (key, item, tree links) and the packed fields.
  return entries_.size() * (sizeof(Entries::value_type) + 32) + bytes_ +
         nodes_.size() * sizeof(nodes_[0]);
}

void StreamValue::Add(StreamId id, PackedStrings fields) {
  if (in_last_node_ >= kNodeEntries || nodes_.empty()) {
    nodes_.emplace_back(next_node_++, 0);
    in_last_node_ = 0;
  }
  ++in_last_node_;
  ++nodes_.back().second;
  bytes_ += fields.HeapBytes();
  entries_.emplace(id, Item{nodes_.back().first, std::move(fields)});
  last_id_ = id;
}

bool StreamValue::Delete(StreamId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  const uint64_t node = it->second.node;
  bytes_ -= it->second.fields.HeapBytes();
  entries_.erase(it);
  for (auto n = nodes_.begin(); n != nodes_.end(); ++n) {
    if (n->first != node) continue;
    if (--n->second == 0) {
      const bool newest = std::next(n) == nodes_.end();
      nodes_.erase(n);
      if (newest) in_last_node_ = kNodeEntries;  // the next entry starts a new node
    }
    break;
  }
  return true;
}

// Redis's streamTrim: while the stream is over its bound, drop the oldest node whole when what
// stays is still within it; else (exact trimming only) drop that node's entries one by one
// while over, and stop.
template <typename Fn>
size_t StreamValue::Trim(bool approx, size_t limit, Fn&& over) {
  size_t removed = 0;
  while (!nodes_.empty()) {
    const size_t live = nodes_.front().second;
    auto first = entries_.begin();
    if (!over(first->first, 0)) break;
    if (limit > 0 && removed + live > limit) break;
    auto last = std::next(first, static_cast<std::ptrdiff_t>(live - 1));
    if (over(last->first, live - 1)) {  // the whole node goes
      for (auto it = first, stop = std::next(last); it != stop;) {
        bytes_ -= it->second.fields.HeapBytes();
        it = entries_.erase(it);
      }
      removed += live;
      const bool newest = nodes_.size() == 1;
      nodes_.pop_front();
      if (newest) in_last_node_ = kNodeEntries;
      continue;
    }
    if (approx) break;
    while (!entries_.empty() && over(entries_.begin()->first, 0)) {
      bytes_ -= entries_.begin()->second.fields.HeapBytes();
      entries_.erase(entries_.begin());
      --nodes_.front().second;
      ++removed;
    }
    break;
  }
  return removed;
}

size_t StreamValue::TrimLen(size_t maxlen, bool approx, size_t limit) {
  // Entry `i` of the oldest node may go when the entries after it are still >= maxlen.
  return Trim(approx, limit, [&](StreamId, size_t i) { return entries_.size() > maxlen + i; });
}

size_t StreamValue::TrimMinId(StreamId min_id, bool approx, size_t limit) {
  return Trim(approx, limit, [&](StreamId id, size_t) { return id < min_id; });
}

}  // namespace pier::cache::server
