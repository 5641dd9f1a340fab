#include "cache/server/collections.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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

struct ZSetValue::Big {
  Tree tree;
  // Member -> score; the views point into the tree's nodes, which never move.
  std::unordered_map<std::string_view, double> scores;
  size_t heap = 0;  // members' heap bytes
};

ZSetValue::ZSetValue(const ZSetValue& o) : Collection(), small_(o.small_) {
  if (!o.big_) return;
  big_ = std::make_unique<Big>();
  for (const auto& sm : o.big_->tree) BigSet(sm.member, sm.score);
}

ZSetValue::ZSetValue() = default;
ZSetValue::~ZSetValue() = default;

size_t ZSetValue::size() const { return big_ ? big_->tree.size() : small_.size() / 2; }

size_t ZSetValue::MemoryBytes() const {
  if (!big_) return sizeof(ZSetValue) + small_.HeapBytes();
  return sizeof(ZSetValue) + sizeof(Big) + big_->tree.size() * (kZNode + kZMapNode) +
         big_->scores.bucket_count() * 8 + big_->heap;
}

std::string_view ZSetValue::EncodeScore(double score, char (&buf)[8]) {
  if (score == std::floor(score) && std::fabs(score) < 0x1p48) {
    const auto v = static_cast<int64_t>(score);
    uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    size_t n = 0;  // zigzag below 2^49: at most 7 bytes
    do {
      buf[n++] = static_cast<char>((z & 0x7f) | (z > 0x7f ? 0x80 : 0));
      z >>= 7;
    } while (z != 0);
    return {buf, n};
  }
  std::memcpy(buf, &score, sizeof score);
  return {buf, sizeof score};
}

double ZSetValue::DecodeScore(std::string_view packed) {
  if (packed.size() == sizeof(double)) {
    double score;
    std::memcpy(&score, packed.data(), sizeof score);
    return score;
  }
  uint64_t z = 0;
  for (size_t i = 0; i < packed.size(); ++i) {
    z |= static_cast<uint64_t>(static_cast<unsigned char>(packed[i]) & 0x7f) << (7 * i);
  }
  return static_cast<double>(static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1));
}

std::optional<double> ZSetValue::Score(std::string_view m) const {
  if (big_) {
    auto it = big_->scores.find(m);
    if (it == big_->scores.end()) return std::nullopt;
    return it->second;
  }
  const size_t pos = small_.Find(m, 2);
  if (pos == small_.end()) return std::nullopt;
  size_t next, after;
  small_.At(pos, &next);
  return DecodeScore(small_.At(next, &after));
}

bool ZSetValue::Set(std::string_view m, double score) {
  if (score == 0) score = 0;  // -0 is stored as 0, as Redis replies it
  if (big_) return BigSet(m, score);
  bool fresh = true;
  if (const size_t at = small_.Find(m, 2); at != small_.end()) {
    size_t next, after;
    small_.At(at, &next);
    if (DecodeScore(small_.At(next, &after)) == score) return false;
    small_.Erase(at);  // the member, then its score
    small_.Erase(at);
    fresh = false;
  }
  if (fresh && (size() + 1 > EncodingLimits::Get(EncodingLimits::zset_max_listpack_entries) ||
                m.size() > EncodingLimits::Get(EncodingLimits::zset_max_listpack_value))) {
    ToSkiplist();
    return BigSet(m, score);
  }
  size_t pos = 0;  // before the first (score, member) above the new one
  for (size_t next, after; pos < small_.end(); pos = after) {
    const std::string_view member = small_.At(pos, &next);
    const double s = DecodeScore(small_.At(next, &after));
    if (s > score || (s == score && member > m)) break;
  }
  char buf[8];
  size_t next;
  small_.At(small_.Insert(pos, m), &next);
  small_.Insert(next, EncodeScore(score, buf));
  return fresh;
}

void ZSetValue::ToSkiplist() {
  PackedStrings small;
  std::swap(small, small_);
  big_ = std::make_unique<Big>();
  for (size_t pos = 0, next; pos < small.end();) {
    const std::string_view m = small.At(pos, &next);
    BigSet(m, DecodeScore(small.At(next, &pos)));
  }
}

bool ZSetValue::BigSet(std::string_view m, double score) {
  Big& b = *big_;
  auto it = b.scores.find(m);
  if (it != b.scores.end()) {
    if (it->second == score) return false;
    auto node = b.tree.find(ScoreMember{it->second, std::string(m)});
    ScoreMember sm{score, std::move(const_cast<ScoreMember&>(*node).member)};
    b.scores.erase(it);
    b.tree.erase(node);
    auto [pos, ok] = b.tree.insert(std::move(sm));
    b.scores.emplace(pos->member, score);
    return false;
  }
  auto [pos, ok] = b.tree.insert(ScoreMember{score, std::string(m)});
  b.scores.emplace(pos->member, score);
  b.heap += HeapBytes(m);
  return true;
}

bool ZSetValue::Remove(std::string_view m) {
  if (!big_) {
    const size_t at = small_.Find(m, 2);
    if (at == small_.end()) return false;
    small_.Erase(at);
    small_.Erase(at);
    return true;
  }
  Big& b = *big_;
  auto it = b.scores.find(m);
  if (it == b.scores.end()) return false;
  const double score = it->second;
  b.scores.erase(it);
  b.tree.erase(ScoreMember{score, std::string(m)});
  b.heap -= HeapBytes(m);
  return true;
}

size_t ZSetValue::Rank(std::string_view m, double score) const {
  if (big_) return big_->tree.order_of_key(ScoreMember{score, std::string(m)});
  size_t rank = 0;
  ForEach(0, [&](ScoreMemberView v) {
    if (v.member == m) return false;
    ++rank;
    return true;
  });
  return rank;
}

ScoreMemberView ZSetValue::At(size_t rank) const {
  if (big_) {
    auto it = TreeAt(rank);
    return {it->score, it->member};
  }
  ScoreMemberView out{0, {}};
  ForEach(rank, [&](ScoreMemberView v) {
    out = v;
    return false;
  });
  return out;
}

ZSetValue::Tree::const_iterator ZSetValue::TreeAt(size_t rank) const {
  return big_->tree.find_by_order(rank);
}
ZSetValue::Tree::const_iterator ZSetValue::TreeEnd() const { return big_->tree.end(); }

ZSetValue::Tree::const_iterator ZSetValue::TreeLowerBound(double score, bool exclusive) const {
  auto it = big_->tree.lower_bound(ScoreMember{score, std::string()});
  // Exclusive: past every member with this score, the first element whose score is greater.
  while (exclusive && it != big_->tree.end() && it->score == score) ++it;
  return it;
}

}  // namespace pier::cache::server
