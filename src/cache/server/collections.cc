#include "cache/server/collections.h"

#include <algorithm>

#include "pier/net/resp_parser.h"

namespace pier::cache::server {

void ListValue::Push(bool left, std::string_view v) {
  if (chunks_.empty() || Full(left ? chunks_.front() : chunks_.back(), v.size())) {
    if (left) {
      chunks_.emplace_front();
    } else {
      chunks_.emplace_back();
    }
  }
  PackedStrings& c = left ? chunks_.front() : chunks_.back();
  Change(c, [&](PackedStrings& p) {
    left ? p.PushFront(v) : p.PushBack(v);
    if (Full(p, 0)) p.Shrink();  // the next push starts a new chunk: drop the doubling's slack
  });
  ++size_;
}

std::string ListValue::Pop(bool left) {
  const size_t k = left ? 0 : chunks_.size() - 1;
  PackedStrings& c = chunks_[k];
  std::string v;
  Change(c, [&](PackedStrings& p) {
    size_t next;
    if (left) {
      v.assign(p.At(0, &next));
      p.Erase(0);
      return;
    }
    size_t last = 0;
    for (size_t pos = 0; pos < p.end(); pos = next) {
      last = pos;
      p.At(pos, &next);
    }
    v.assign(p.At(last, &next));
    p.EraseBack(last, 1);
  });
  --size_;
  if (c.empty()) DropChunk(k);
  return v;
}

std::pair<size_t, size_t> ListValue::Locate(size_t i) const {
  size_t k = 0;
  while (i >= chunks_[k].size()) i -= chunks_[k++].size();
  size_t pos = 0, next;
  for (; i > 0; --i, pos = next) chunks_[k].At(pos, &next);
  return {k, pos};
}

std::string ListValue::Get(size_t i) const {
  const std::pair<size_t, size_t> at = Locate(i);
  const size_t k = at.first, pos = at.second;
  size_t next;
  return std::string(chunks_[k].At(pos, &next));
}

void ListValue::Set(size_t i, std::string_view v) {
  const std::pair<size_t, size_t> at = Locate(i);
  const size_t k = at.first, pos = at.second;
  Change(chunks_[k], [&](PackedStrings& p) { p.Replace(pos, v); });
  Rebalance(k);
}

void ListValue::Insert(size_t i, std::string_view v) {
  if (i == size_) return Push(false, v);
  const std::pair<size_t, size_t> at = Locate(i);
  const size_t k = at.first, pos = at.second;
  Change(chunks_[k], [&](PackedStrings& p) { p.Insert(pos, v); });
  ++size_;
  Rebalance(k);
}

void ListValue::Erase(size_t i) {
  const std::pair<size_t, size_t> at = Locate(i);
  const size_t k = at.first, pos = at.second;
  Change(chunks_[k], [&](PackedStrings& p) { p.Erase(pos); });
  --size_;
  if (chunks_[k].empty()) DropChunk(k);
}

void ListValue::Rebalance(size_t k) {
  PackedStrings& c = chunks_[k];
  if (c.size() < 2 || (c.size() <= kChunkEntries && c.end() <= kChunkBytes)) return;
  // Split at the middle entry.
  const size_t half = c.size() / 2;
  size_t pos = 0, next;
  for (size_t n = 0; n < half; ++n, pos = next) c.At(pos, &next);
  PackedStrings tail;
  Change(c, [&](PackedStrings& p) { tail = p.SplitOff(pos, p.size() - half); });
  heap_ += tail.HeapBytes();
  chunks_.insert(chunks_.begin() + static_cast<ptrdiff_t>(k) + 1, std::move(tail));
}

void ListValue::DropChunk(size_t k) {
  heap_ -= chunks_[k].HeapBytes();
  chunks_.erase(chunks_.begin() + static_cast<ptrdiff_t>(k));
}

void ListValue::Trim(size_t start, size_t stop) {
  if (start > stop || start >= size_) {
    while (!chunks_.empty()) DropChunk(chunks_.size() - 1);
    size_ = 0;
    return;
  }
  size_t back = size_ - 1 - std::min(stop, size_ - 1);  // elements to drop at the end
  size_t front = start;
  size_ -= front + back;
  while (front > 0) {
    PackedStrings& c = chunks_.front();
    if (c.size() <= front) {
      front -= c.size();
      DropChunk(0);
      continue;
    }
    size_t pos = 0, next;
    for (size_t n = 0; n < front; ++n, pos = next) c.At(pos, &next);
    Change(c, [&](PackedStrings& p) { p.EraseFront(pos, front); });
    front = 0;
  }
  while (back > 0) {
    PackedStrings& c = chunks_.back();
    if (c.size() <= back) {
      back -= c.size();
      DropChunk(chunks_.size() - 1);
      continue;
    }
    size_t pos = 0, next;
    for (size_t n = 0; n < c.size() - back; ++n, pos = next) c.At(pos, &next);
    Change(c, [&](PackedStrings& p) { p.EraseBack(pos, back); });
    back = 0;
  }
}

// Sets ------------------------------------------------------------------------------------

namespace {
bool AsSetInt(std::string_view s, int64_t* v) { return net::ParseRespInt(s, v); }
// A node of std::unordered_set<std::string>: next pointer, the string, its cached hash.
constexpr size_t kSetNode = 8 + sizeof(std::string) + 8;
constexpr size_t kZNode = 48 + sizeof(ScoreMember);  // rb node: colour, 3 links, rank count
constexpr size_t kZMapNode = 8 + 16 + 8 + 8;         // next, view, score, cached hash
}  // namespace

size_t SetValue::MemoryBytes() const {
  if (is_intset()) return sizeof(SetValue) + ints_.capacity() * sizeof(int64_t);
  return sizeof(SetValue) + strs_.size() * kSetNode + strs_.bucket_count() * 8 + heap_;
}

bool SetValue::Contains(std::string_view m) const {
  if (is_intset()) {
    int64_t v;
    return AsSetInt(m, &v) && std::binary_search(ints_.begin(), ints_.end(), v);
  }
  return strs_.count(std::string(m)) > 0;
}

void SetValue::ToHashtable() {
  big_ = true;
  strs_.reserve(ints_.size() + 1);
  for (int64_t v : ints_) strs_.insert(std::to_string(v));
  std::vector<int64_t>().swap(ints_);
}

bool SetValue::Add(std::string_view m) {
  if (is_intset()) {
    int64_t v;
    if (AsSetInt(m, &v)) {
      auto it = std::lower_bound(ints_.begin(), ints_.end(), v);
      if (it != ints_.end() && *it == v) return false;
      if (ints_.size() < EncodingLimits::Get(EncodingLimits::set_max_intset_entries)) {
        ints_.insert(it, v);
        return true;
      }
    }
    ToHashtable();
  }
  bool added = strs_.emplace(m).second;
  if (added) heap_ += HeapBytes(m);
  return added;
}

bool SetValue::Remove(std::string_view m) {
  if (is_intset()) {
    int64_t v;
    if (!AsSetInt(m, &v)) return false;
    auto it = std::lower_bound(ints_.begin(), ints_.end(), v);
    if (it == ints_.end() || *it != v) return false;
    ints_.erase(it);
    return true;
  }
  auto it = strs_.find(std::string(m));
  if (it == strs_.end()) return false;
  heap_ -= HeapBytes(*it);
  strs_.erase(it);
  return true;
}

std::string SetValue::MemberAt(size_t i) const {
  if (is_intset()) return std::to_string(ints_[i]);
  auto it = strs_.begin();
  std::advance(it, static_cast<ptrdiff_t>(i));
  return *it;
}

std::string SetValue::Random(uint64_t r) const {
  if (is_intset()) return std::to_string(ints_[r % ints_.size()]);
  // A random non-empty bucket, then a random element of its chain (as Redis's dictGetFairRandomKey
  // approximates fairness).
  const size_t buckets = strs_.bucket_count();
  for (uint64_t x = r;; x = x * 6364136223846793005ULL + 1442695040888963407ULL) {
    const size_t b = (x >> 11) % buckets;
    const size_t n = strs_.bucket_size(b);
    if (n == 0) continue;
    auto it = strs_.begin(b);
    std::advance(it, static_cast<ptrdiff_t>((x >> 3) % n));
    return *it;
  }
}

std::vector<std::string> SetValue::Members() const {
  std::vector<std::string> out;
  out.reserve(size());
  ForEach([&](std::string s) { out.push_back(std::move(s)); });
  return out;
}

// Sorted sets ------------------------------------------------------------------------------

ZSetValue::ZSetValue(const ZSetValue& o) : Collection(), big_(o.big_) {
  for (const auto& sm : o.tree_) Set(sm.member, sm.score);
}

size_t ZSetValue::MemoryBytes() const {
  return sizeof(ZSetValue) + tree_.size() * (kZNode + kZMapNode) + scores_.bucket_count() * 8 +
         heap_;
}

std::optional<double> ZSetValue::Score(std::string_view m) const {
  auto it = scores_.find(m);
  if (it == scores_.end()) return std::nullopt;
  return it->second;
}

bool ZSetValue::Set(std::string_view m, double score) {
  if (score == 0) score = 0;  // -0 is stored as 0, as Redis replies it
  auto it = scores_.find(m);
  if (it != scores_.end()) {
    if (it->second == score) return false;
    auto node = tree_.find(ScoreMember{it->second, std::string(m)});
    ScoreMember sm{score, std::move(const_cast<ScoreMember&>(*node).member)};
    scores_.erase(it);
    tree_.erase(node);
    auto [pos, ok] = tree_.insert(std::move(sm));
    scores_.emplace(pos->member, score);
    return false;
  }
  auto [pos, ok] = tree_.insert(ScoreMember{score, std::string(m)});
  scores_.emplace(pos->member, score);
  heap_ += HeapBytes(m);
  if (tree_.size() > EncodingLimits::Get(EncodingLimits::zset_max_listpack_entries) ||
      m.size() > EncodingLimits::Get(EncodingLimits::zset_max_listpack_value)) {
    big_ = true;
  }
  return true;
}

bool ZSetValue::Remove(std::string_view m) {
  auto it = scores_.find(m);
  if (it == scores_.end()) return false;
  const double score = it->second;
  scores_.erase(it);
  tree_.erase(ScoreMember{score, std::string(m)});
  heap_ -= HeapBytes(m);
  return true;
}

size_t ZSetValue::Rank(std::string_view m, double score) const {
  return tree_.order_of_key(ScoreMember{score, std::string(m)});
}

ZSetValue::Tree::const_iterator ZSetValue::LowerBound(double score, bool exclusive) const {
  if (!exclusive) return tree_.lower_bound(ScoreMember{score, std::string()});
  // Past every member with this score: the first element whose score is greater.
  auto it = tree_.lower_bound(ScoreMember{score, std::string()});
  while (it != tree_.end() && it->score == score) ++it;
  return it;
}

}  // namespace pier::cache::server
