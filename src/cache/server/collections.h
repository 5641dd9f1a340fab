// File: collections.h
// The collection values behind an Entry besides hashes: ListValue (a deque of strings), SetValue
// (a sorted integer array while every member is an integer and the set is small, as Redis's
// intset; a hash set after, never back) and ZSetValue (packed while small, then an
// order-statistics red-black tree over (score, member) plus a hash from member to score).
// Each counts its heap bytes for used_memory and eviction.
#pragma once

#include <cstdint>
#include <deque>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cache/server/encoding_limits.h"
#include "cache/server/entry.h"

namespace pier::cache::server {

// Bytes a std::string holding `s` costs beyond its own object (its heap buffer past SSO).
inline size_t HeapBytes(std::string_view s) { return s.size() > 15 ? s.size() + 1 : 0; }

// A list as Redis 7.0 keeps it (a quicklist): a deque of packed chunks of at most 128 entries
// or 8 KB each; pushes and pops at either end touch one chunk, an index walks the chunks.
class ListValue final : public Collection {
 public:
  static constexpr ValueType kType = ValueType::kList;
  static constexpr size_t kChunkEntries = 128;
  static constexpr size_t kChunkBytes = 8192;

  ValueType type() const override { return kType; }
  size_t size() const override { return size_; }
  size_t MemoryBytes() const override {
    return sizeof(ListValue) + chunks_.size() * (sizeof(PackedStrings) + 16) + heap_;
  }
  std::unique_ptr<Collection> Clone() const override { return std::make_unique<ListValue>(*this); }
  std::string_view encoding() const override { return "quicklist"; }

  void Push(bool left, std::string_view v);
  std::string Pop(bool left);
  std::string Get(size_t i) const;
  void Set(size_t i, std::string_view v);
  // Inserts before index i (i == size(): appends).
  void Insert(size_t i, std::string_view v);
  void Erase(size_t i);
  // Keeps [start, stop] (both < size(), start <= stop), or clears when start > stop.
  void Trim(size_t start, size_t stop);

  // fn(index, element) from index `from` on, while it returns true.
  template <typename Fn>
  void ForEach(size_t from, Fn&& fn) const {
    size_t index = 0;
    for (const PackedStrings& c : chunks_) {
      if (index + c.size() <= from) {
        index += c.size();
        continue;
      }
      for (size_t pos = 0, next; pos < c.end(); pos = next, ++index) {
        std::string_view v = c.At(pos, &next);
        if (index >= from && !fn(index, v)) return;
      }
    }
  }
  // fn(index, element) from the last element back, while it returns true.
  template <typename Fn>
  void ForEachReverse(Fn&& fn) const {
    size_t index = size_;
    std::vector<size_t> offsets;
    for (auto it = chunks_.rbegin(); it != chunks_.rend(); ++it) {
      offsets.clear();
      for (size_t pos = 0, next; pos < it->end(); pos = next) {
        offsets.push_back(pos);
        it->At(pos, &next);
      }
      for (size_t k = offsets.size(); k-- > 0;) {
        size_t next;
        if (!fn(--index, it->At(offsets[k], &next))) return;
      }
    }
  }

 private:
  // The chunk holding index i and the entry's offset in it.
  std::pair<size_t, size_t> Locate(size_t i) const;
  bool Full(const PackedStrings& c, size_t add) const {
    return c.size() >= kChunkEntries || (!c.empty() && c.end() + add + 5 > kChunkBytes);
  }
  // Splits chunk k in two when it grew past its limits.
  void Rebalance(size_t k);
  // Runs fn(chunk) and accounts the chunk's change of heap bytes.
  template <typename Fn>
  auto Change(PackedStrings& c, Fn&& fn) {
    const size_t before = c.HeapBytes();
    struct Account {
      size_t& heap;
      PackedStrings& c;
      size_t before;
      ~Account() { heap = heap + c.HeapBytes() - before; }
    } account{heap_, c, before};
    return fn(c);
  }
  void DropChunk(size_t k);

  std::deque<PackedStrings> chunks_;
  size_t size_ = 0;
  size_t heap_ = 0;  // the chunks' buffers
};

class SetValue final : public Collection {
 public:
  static constexpr ValueType kType = ValueType::kSet;
  ValueType type() const override { return kType; }
  size_t size() const override { return is_intset() ? ints_.size() : strs_.size(); }
  size_t MemoryBytes() const override;
  std::unique_ptr<Collection> Clone() const override { return std::make_unique<SetValue>(*this); }
  std::string_view encoding() const override { return is_intset() ? "intset" : "hashtable"; }

  bool Contains(std::string_view m) const;
  bool Add(std::string_view m);  // true when new
  bool Remove(std::string_view m);
  // The i-th member in storage order (i < size()); for random picks.
  std::string MemberAt(size_t i) const;
  // A uniformly random member (the set is not empty).
  std::string Random(uint64_t r) const;
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (is_intset()) {
      for (int64_t v : ints_) fn(std::to_string(v));
    } else {
      for (const std::string& s : strs_) fn(s);
    }
  }
  std::vector<std::string> Members() const;

 private:
  bool is_intset() const { return !big_; }
  void ToHashtable();
  std::vector<int64_t> ints_;  // sorted
  std::unordered_set<std::string> strs_;
  bool big_ = false;
  size_t heap_ = 0;  // string bytes beyond the node
};

// Sorted sets order by score, then by member bytes.
struct ScoreMember {
  double score;
  std::string member;
};
struct ScoreMemberLess {
  bool operator()(const ScoreMember& a, const ScoreMember& b) const {
    if (a.score != b.score) return a.score < b.score;
    return a.member < b.member;
  }
};
// A member as read from a sorted set: `member` views into the set, valid until it changes.
struct ScoreMemberView {
  double score;
  std::string_view member;
};

// A Redis sorted set. Small ones are packed as Redis's listpack (member, score, member,
// score... in order, in one buffer; integral scores below 2^48 as a zigzag varint, others as the
// double's 8 bytes), walked linearly; past zset-max-listpack-entries members or a member longer
// than zset-max-listpack-value it becomes an order-statistics red-black tree over (score,
// member) for ranks and ranges plus a hash from member to score (Redis's skiplist + dict), and
// stays one.
class ZSetValue final : public Collection {
 public:
  using Tree =
      __gnu_pbds::tree<ScoreMember, __gnu_pbds::null_type, ScoreMemberLess, __gnu_pbds::rb_tree_tag,
                       __gnu_pbds::tree_order_statistics_node_update>;
  static constexpr ValueType kType = ValueType::kZSet;
  ZSetValue();
  ZSetValue(const ZSetValue& o);
  ZSetValue& operator=(const ZSetValue&) = delete;
  ~ZSetValue() override;
  ValueType type() const override { return kType; }
  size_t size() const override;
  size_t MemoryBytes() const override;
  std::unique_ptr<Collection> Clone() const override { return std::make_unique<ZSetValue>(*this); }
  std::string_view encoding() const override { return big_ ? "skiplist" : "listpack"; }

  std::optional<double> Score(std::string_view m) const;
  // Sets a member's score (adding it when new); returns true when new. `m` must not view into
  // this set.
  bool Set(std::string_view m, double score);
  bool Remove(std::string_view m);
  // 0-based rank in ascending order (the member exists with this score).
  size_t Rank(std::string_view m, double score) const;
  // The member at a rank (< size()).
  ScoreMemberView At(size_t rank) const;

  // fn(ScoreMemberView) in ascending order from rank `from`, while it returns true.
  template <typename Fn>
  void ForEach(size_t from, Fn&& fn) const {
    if (big_) {
      for (auto it = TreeAt(from); it != TreeEnd(); ++it) {
        if (!fn(ScoreMemberView{it->score, it->member})) return;
      }
      return;
    }
    size_t index = 0;
    for (size_t pos = 0, next; pos < small_.end(); ++index) {
      std::string_view m = small_.At(pos, &next);
      const double score = DecodeScore(small_.At(next, &pos));
      if (index >= from && !fn(ScoreMemberView{score, m})) return;
    }
  }
  // The same from the first member scoring >= `score` (> `score` when exclusive).
  template <typename Fn>
  void ForEachFromScore(double score, bool exclusive, Fn&& fn) const {
    if (big_) {
      for (auto it = TreeLowerBound(score, exclusive); it != TreeEnd(); ++it) {
        if (!fn(ScoreMemberView{it->score, it->member})) return;
      }
      return;
    }
    ForEach(0, [&](ScoreMemberView v) {
      if (exclusive ? v.score <= score : v.score < score) return true;
      return fn(v);
    });
  }

 private:
  struct Big;
  Tree::const_iterator TreeAt(size_t rank) const;
  Tree::const_iterator TreeEnd() const;
  // The first element >= (score, "") / > (score, every member).
  Tree::const_iterator TreeLowerBound(double score, bool exclusive) const;
  bool BigSet(std::string_view m, double score);
  void ToSkiplist();
  // A score's packed form, in `buf`.
  static std::string_view EncodeScore(double score, char (&buf)[8]);
  static double DecodeScore(std::string_view packed);

  PackedStrings small_;  // member, score, member, score... in order
  std::unique_ptr<Big> big_;
};

}  // namespace pier::cache::server
