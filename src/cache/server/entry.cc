#include "cache/server/entry.h"

#include "cache/server/encoding_limits.h"

namespace pier::cache::server {

namespace {
size_t PairBytes(std::string_view f, std::string_view v) {
  return f.size() + v.size() + 2 * sizeof(std::string) + 16;
}
}  // namespace

const std::string* HashValue::Get(std::string_view field) const {
  if (!big_.empty()) {
    auto it = big_.find(std::string(field));
    return it == big_.end() ? nullptr : &it->second;
  }
  for (const auto& [f, v] : small_) {
    if (f == field) return &v;
  }
  return nullptr;
}

bool HashValue::Set(std::string_view field, std::string_view value) {
  if (big_.empty()) {
    for (auto& [f, v] : small_) {
      if (f == field) {
        bytes_ += value.size();
        bytes_ -= v.size();
        v.assign(value);
        return false;
      }
    }
    if (small_.size() < EncodingLimits::Get(EncodingLimits::hash_max_listpack_entries) &&
        std::max(field.size(), value.size()) <=
            EncodingLimits::Get(EncodingLimits::hash_max_listpack_value)) {
      small_.emplace_back(field, value);
      bytes_ += PairBytes(field, value);
      return true;
    }
    // Convert to a map, as Redis converts a listpack past hash-max-listpack-entries.
    for (auto& [f, v] : small_) big_.emplace(std::move(f), std::move(v));
    small_.clear();
    small_.shrink_to_fit();
  }
  auto [it, inserted] = big_.try_emplace(std::string(field));
  if (inserted) {
    bytes_ += PairBytes(field, value);
  } else {
    bytes_ -= it->second.size();
    bytes_ += value.size();
  }
  it->second.assign(value);
  return inserted;
}

bool HashValue::Erase(std::string_view field) {
  if (!big_.empty()) {
    auto it = big_.find(std::string(field));
    if (it == big_.end()) return false;
    bytes_ -= PairBytes(it->first, it->second);
    big_.erase(it);
    return true;
  }
  for (auto it = small_.begin(); it != small_.end(); ++it) {
    if (it->first == field) {
      bytes_ -= PairBytes(it->first, it->second);
      small_.erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace pier::cache::server
