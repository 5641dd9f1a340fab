// File: ghost_set.h
// GhostSet: remembers roughly the last `capacity` key fingerprints inserted (S3-FIFO's ghost
// queue) in 5-11 bytes each: 32-bit fingerprints, so a false "was evicted recently" answer
// happens for about one key in 2^32 / capacity. Two generations of open-addressing sets: inserts go
// to the current one; when it holds capacity/2 hashes it becomes the previous one and the old
// previous one is dropped. So between capacity/2 and capacity of the most recent hashes are
// remembered, which is the FIFO-with-bounded-memory behaviour the ghost needs, without a queue of
// its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pier::cache::detail {

// Open addressing over 32-bit fingerprints of 64-bit hashes (0 is mapped to 1), linear
// probing, load <= 3/4, backward-shift deletion. Not thread-safe.
class HashSet32 {
 public:
  bool Contains(uint64_t h) const;
  void Insert(uint64_t h);
  bool Erase(uint64_t h);
  size_t size() const { return size_; }
  void Clear() {
    slots_.clear();
    size_ = 0;
  }
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(uint32_t); }

 private:
  static uint32_t Key(uint64_t h) {
    auto k = static_cast<uint32_t>(h ^ (h >> 32));
    return k == 0 ? 1 : k;
  }
  size_t Find(uint32_t k) const;  // slot of k, or of the empty slot where it would go
  void Grow();
  std::vector<uint32_t> slots_;
  size_t size_ = 0;
};

class GhostSet {
 public:
  void set_capacity(size_t c) { capacity_ = c < 2 ? 2 : c; }
  bool Contains(uint64_t h) const { return current_.Contains(h) || previous_.Contains(h); }
  void Insert(uint64_t h);
  void Erase(uint64_t h) {
    current_.Erase(h);
    previous_.Erase(h);
  }
  size_t size() const { return current_.size() + previous_.size(); }
  size_t MemoryBytes() const { return current_.MemoryBytes() + previous_.MemoryBytes(); }

 private:
  size_t capacity_ = 2;
  HashSet32 current_, previous_;
};

}  // namespace pier::cache::detail
