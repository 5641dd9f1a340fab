// File: hash.h
// 64-bit hashing for keys: XXH3 for bytes, a SplitMix64 finalizer for integers.
//   uint64_t h = pier::HashBytes("user:42");  uint64_t g = pier::KeyHash<int>{}(42);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

namespace pier {

uint64_t HashBytes(std::string_view bytes);

// SplitMix64's finalizer (Steele, Lea, Flood, OOPSLA'14): spreads every input bit.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// A well-mixed 64-bit hash of a key; policies (sketches, ghost queues) rely on every bit.
template <typename K>
struct KeyHash {
  uint64_t operator()(const K& key) const {
    if constexpr (std::is_convertible_v<const K&, std::string_view>) {
      return HashBytes(std::string_view(key));
    } else {
      return Mix64(static_cast<uint64_t>(std::hash<K>{}(key)));
    }
  }
};

}  // namespace pier
