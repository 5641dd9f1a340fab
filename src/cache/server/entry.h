// File: entry.h
// Entry: one key and its value in a single allocation (header, key bytes, value bytes), the
// unit the server's keyspace stores, evicts and accounts for. Collections (hashes, lists, sets,
// sorted sets) live behind a pointer to a Collection.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/server/packed.h"

namespace pier::cache::server {

enum class ValueType : uint8_t {
  kString = 0,
  kHash = 1,
  kList = 2,
  kSet = 3,
  kZSet = 4,
  kStream = 5
};

// A value behind a pointer: what the keyspace needs of every collection type.
class Collection {
 public:
  virtual ~Collection() = default;
  virtual ValueType type() const = 0;
  virtual size_t size() const = 0;
  // Approximate heap bytes, for used_memory and the eviction policy's weights.
  virtual size_t MemoryBytes() const = 0;
  virtual std::unique_ptr<Collection> Clone() const = 0;
  // OBJECT ENCODING, named as Redis 7.0 names the same value's encoding.
  virtual std::string_view encoding() const = 0;
};

// A Redis hash. Small hashes are packed (field, value, field, value... in one buffer, in
// insertion order, as Redis's listpack, which is the HGETALL order users see); past
// hash-max-listpack-entries fields or a field or value longer than hash-max-listpack-value it
// becomes a hash map, and stays one.
class HashValue final : public Collection {
 public:
  static constexpr ValueType kType = ValueType::kHash;

  HashValue() = default;
  HashValue(const HashValue& o);
  HashValue& operator=(const HashValue&) = delete;
  ValueType type() const override { return kType; }
  size_t size() const override { return big_ ? big_->size() : small_.size() / 2; }
  std::unique_ptr<Collection> Clone() const override { return std::make_unique<HashValue>(*this); }
  std::string_view encoding() const override { return big_ ? "hashtable" : "listpack"; }
  size_t MemoryBytes() const override;

  std::optional<std::string_view> Get(std::string_view field) const;
  // Returns true when the field is new.
  bool Set(std::string_view field, std::string_view value);
  bool Erase(std::string_view field);
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (big_) {
      for (const auto& [f, v] : *big_) fn(std::string_view(f), std::string_view(v));
      return;
    }
    for (size_t pos = 0, next; pos < small_.end();) {
      std::string_view f = small_.At(pos, &next);
      std::string_view v = small_.At(next, &pos);
      fn(f, v);
    }
  }

 private:
  void ToHashtable();
  PackedStrings small_;
  std::unique_ptr<std::unordered_map<std::string, std::string>> big_;
  size_t big_bytes_ = 0;  // strings' heap bytes in big_
};

struct Entry {
  uint32_t id;
  uint32_t key_len;
  uint32_t val_len;  // string bytes; 0 for collections
  ValueType type;
  uint8_t in_policy;  // tracked by the eviction policy (volatile-* policies track TTL keys only)
  uint16_t unused;
  int64_t expire_ms;  // 0: no TTL

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {data(), key_len}; }
  std::string_view str() const { return {data() + key_len, val_len}; }
  char* mutable_str() { return data() + key_len; }
  // The collection of a non-string entry.
  Collection* object() const {
    Collection* c;
    std::memcpy(&c, data() + key_len, sizeof c);
    return c;
  }
  HashValue* hash() const { return static_cast<HashValue*>(object()); }
};
static_assert(sizeof(Entry) == 24);

}  // namespace pier::cache::server
