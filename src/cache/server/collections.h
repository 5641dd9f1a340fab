// File: collections.h
// The collection values behind an Entry besides hashes: ListValue (a deque of strings), SetValue
// (a sorted integer array while every member is an integer and the set is small, as Redis's
// intset; a hash set after, never back) and ZSetValue (an order-statistics red-black tree over
// (score, member) for ranks and ranges, plus a hash from member to score; see docs/cache.md).
// Each counts its heap bytes for used_memory and eviction.
#pragma once

#include <cstdint>
#include <deque>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
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

class ListValue final : public Collection {
 public:
  static constexpr ValueType kType = ValueType::kList;
  ValueType type() const override { return kType; }
  size_t size() const override { return items_.size(); }
  size_t MemoryBytes() const override { return bytes_ + items_.size() * sizeof(std::string); }
  std::unique_ptr<Collection> Clone() const override { return std::make_unique<ListValue>(*this); }
  std::string_view encoding() const override { return "quicklist"; }

  void Push(bool left, std::string_view v);
  std::string Pop(bool left);
  const std::string& at(size_t i) const { return items_[i]; }
  void Set(size_t i, std::string_view v);
  void Insert(size_t i, std::string_view v);
  void Erase(size_t i);
  // Keeps [start, stop] (both within range, start <= stop) or clears when start > stop.
  void Trim(size_t start, size_t stop);

 private:
  std::deque<std::string> items_;
  size_t bytes_ = sizeof(ListValue);
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

class ZSetValue final : public Collection {
 public:
  using Tree =
      __gnu_pbds::tree<ScoreMember, __gnu_pbds::null_type, ScoreMemberLess, __gnu_pbds::rb_tree_tag,
                       __gnu_pbds::tree_order_statistics_node_update>;
  static constexpr ValueType kType = ValueType::kZSet;
  ZSetValue() = default;
  ZSetValue(const ZSetValue& o);
  ZSetValue& operator=(const ZSetValue&) = delete;
  ValueType type() const override { return kType; }
  size_t size() const override { return tree_.size(); }
  size_t MemoryBytes() const override;
  std::unique_ptr<Collection> Clone() const override { return std::make_unique<ZSetValue>(*this); }
  std::string_view encoding() const override { return big_ ? "skiplist" : "listpack"; }

  std::optional<double> Score(std::string_view m) const;
  // Sets a member's score (adding it when new); returns true when new.
  bool Set(std::string_view m, double score);
  bool Remove(std::string_view m);
  // 0-based rank in ascending order (the member exists).
  size_t Rank(std::string_view m, double score) const;
  Tree::const_iterator ByRank(size_t i) const { return tree_.find_by_order(i); }
  // The first element >= (score, member) / > (score, all members).
  Tree::const_iterator LowerBound(double score, bool exclusive) const;
  Tree::const_iterator begin() const { return tree_.begin(); }
  Tree::const_iterator end() const { return tree_.end(); }
  size_t RankOf(Tree::const_iterator it) const {
    return it == tree_.end() ? tree_.size() : tree_.order_of_key(*it);
  }

 private:
  Tree tree_;
  // Member -> score; the views point into the tree's nodes, which never move.
  std::unordered_map<std::string_view, double> scores_;
  bool big_ = false;
  size_t heap_ = 0;
};

}  // namespace pier::cache::server
