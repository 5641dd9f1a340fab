#include "cache/server/entry.h"

#include <algorithm>

#include "cache/server/encoding_limits.h"

namespace pier::cache::server {

namespace {
// A node of the big form: next pointer, cached hash, two strings.
constexpr size_t kNode = 16 + 2 * sizeof(std::string);
size_t HeapOf(std::string_view s) { return s.size() > 15 ? s.size() + 1 : 0; }
}  // namespace

HashValue::HashValue(const HashValue& o) : Collection(), small_(o.small_) {
  if (o.big_) {
    big_ = std::make_unique<std::unordered_map<std::string, std::string>>(*o.big_);
    big_bytes_ = o.big_bytes_;
  }
}

size_t HashValue::MemoryBytes() const {
  if (!big_) return sizeof(HashValue) + small_.HeapBytes();
  return sizeof(HashValue) + sizeof(*big_) + big_->size() * kNode + big_->bucket_count() * 8 +
         big_bytes_;
}

std::optional<std::string_view> HashValue::Get(std::string_view field) const {
  if (big_) {
    auto it = big_->find(std::string(field));
    if (it == big_->end()) return std::nullopt;
    return std::string_view(it->second);
  }
  const size_t pos = small_.Find(field, 2);
  if (pos == small_.end()) return std::nullopt;
  size_t next;
  small_.At(pos, &next);
  return small_.At(next, &next);
}

void HashValue::ToHashtable() {
  auto big = std::make_unique<std::unordered_map<std::string, std::string>>();
  big->reserve(size() + 1);
  ForEach([&](std::string_view f, std::string_view v) {
    big_bytes_ += HeapOf(f) + HeapOf(v);
    big->emplace(f, v);
  });
  big_ = std::move(big);
  small_.Clear();
}

bool HashValue::Set(std::string_view field, std::string_view value) {
  if (!big_) {
    const size_t pos = small_.Find(field, 2);
    const bool fits = std::max(field.size(), value.size()) <=
                      EncodingLimits::Get(EncodingLimits::hash_max_listpack_value);
    if (pos != small_.end() && fits) {
      size_t next;
      small_.At(pos, &next);
      small_.Replace(next, value);
      return false;
    }
    if (pos == small_.end() && fits &&
        size() < EncodingLimits::Get(EncodingLimits::hash_max_listpack_entries)) {
      small_.PushBack(field);
      small_.PushBack(value);
      return true;
    }
    // Convert, as Redis converts a listpack past its thresholds.
    ToHashtable();
  }
  auto [it, inserted] = big_->try_emplace(std::string(field));
  if (inserted) {
    big_bytes_ += HeapOf(field);
  } else {
    big_bytes_ -= HeapOf(it->second);
  }
  big_bytes_ += HeapOf(value);
  it->second.assign(value);
  return inserted;
}

bool HashValue::Erase(std::string_view field) {
  if (big_) {
    auto it = big_->find(std::string(field));
    if (it == big_->end()) return false;
    big_bytes_ -= HeapOf(it->first) + HeapOf(it->second);
    big_->erase(it);
    return true;
  }
  const size_t pos = small_.Find(field, 2);
  if (pos == small_.end()) return false;
  small_.Erase(pos);  // the field; the value now starts at pos
  small_.Erase(pos);
  return true;
}

}  // namespace pier::cache::server
