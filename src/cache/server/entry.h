// File: entry.h
// Entry: one key and its value in a single allocation (header, key bytes, value bytes), the
// unit the server's keyspace stores, evicts and accounts for. Hash values live behind a pointer.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pier::cache::server {

enum class ValueType : uint8_t { kString = 0, kHash = 1 };

// A Redis hash. Small hashes are a vector in insertion order (as Redis's listpack encoding,
// which is what HGETALL order users see); past kMaxSmall fields it becomes a hash map.
class HashValue {
 public:
  static constexpr size_t kMaxSmall = 128;

  size_t size() const { return small_.empty() ? big_.size() : small_.size(); }
  const std::string* Get(std::string_view field) const;
  // Returns true when the field is new.
  bool Set(std::string_view field, std::string_view value);
  bool Erase(std::string_view field);
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (!big_.empty()) {
      for (const auto& [f, v] : big_) fn(f, v);
    } else {
      for (const auto& [f, v] : small_) fn(f, v);
    }
  }
  // Approximate heap bytes, for used_memory.
  size_t MemoryBytes() const { return bytes_; }

 private:
  std::vector<std::pair<std::string, std::string>> small_;
  std::unordered_map<std::string, std::string> big_;
  size_t bytes_ = sizeof(HashValue);
};

struct Entry {
  uint32_t id;
  uint32_t key_len;
  uint32_t val_len;  // string bytes; 0 for hashes
  ValueType type;
  uint8_t in_policy;  // tracked by the eviction policy (volatile-* policies track TTL keys only)
  uint16_t unused;
  int64_t expire_ms;  // 0: no TTL

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {data(), key_len}; }
  std::string_view str() const { return {data() + key_len, val_len}; }
  char* mutable_str() { return data() + key_len; }
  HashValue* hash() const {
    HashValue* h;
    std::memcpy(&h, data() + key_len, sizeof h);
    return h;
  }
};
static_assert(sizeof(Entry) == 24);

}  // namespace pier::cache::server
