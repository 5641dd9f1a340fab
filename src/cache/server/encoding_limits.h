// File: encoding_limits.h
// Redis's collection encoding thresholds, as CONFIG GET/SET show and change them.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pier::cache::server {

// Redis's encoding thresholds (CONFIG SET set-max-intset-entries etc.), read when a collection
// grows past them. Process-wide, as a process runs one keyspace.
struct EncodingLimits {
  static inline std::atomic<int64_t> hash_max_listpack_entries{128};
  static inline std::atomic<int64_t> hash_max_listpack_value{64};
  static inline std::atomic<int64_t> set_max_intset_entries{512};
  static inline std::atomic<int64_t> zset_max_listpack_entries{128};
  static inline std::atomic<int64_t> zset_max_listpack_value{64};
  // Accepted and shown; lists have one form here (a deque, reported as Redis 7.0's quicklist).
  static inline std::atomic<int64_t> list_max_listpack_size{-2};
  static inline std::atomic<int64_t> list_compress_depth{0};
  static size_t Get(const std::atomic<int64_t>& v) {
    return static_cast<size_t>(std::max<int64_t>(0, v.load(std::memory_order_relaxed)));
  }
};

}  // namespace pier::cache::server
