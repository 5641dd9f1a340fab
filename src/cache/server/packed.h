// File: packed.h
// PackedStrings: a sequence of strings in one contiguous buffer, each entry its length as a
// LEB128 varint then its bytes: the small form of hashes (field, value, field, value...) and of
// list chunks, as Redis's listpack. Positions are byte offsets; walking is linear, which is
// what small collections want (a few hundred bytes, one cache-friendly allocation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pier::cache::server {

class PackedStrings {
 public:
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Heap bytes held (the buffer's capacity beyond the string object's inline storage).
  size_t HeapBytes() const { return buf_.capacity() > 15 ? buf_.capacity() + 1 : 0; }
  size_t end() const { return buf_.size(); }

  // The entry at byte offset `pos` (< end()); *next gets the offset after it.
  std::string_view At(size_t pos, size_t* next) const;
  // Inserts before the entry at `pos` (end() appends); returns the new entry's offset.
  size_t Insert(size_t pos, std::string_view v);
  void PushBack(std::string_view v) { Insert(end(), v); }
  void PushFront(std::string_view v) { Insert(0, v); }
  // Removes the entry at `pos`; the next entry now starts at `pos`.
  void Erase(size_t pos);
  // Replaces the entry at `pos`; returns the offset after it.
  size_t Replace(size_t pos, std::string_view v);
  // Drops entries [0, pos): the entry at `pos` becomes the first. `n`: how many were dropped.
  void EraseFront(size_t pos, size_t n);
  // Drops the entries from `pos` on. `n`: how many were dropped.
  void EraseBack(size_t pos, size_t n);
  void Clear();
  // Gives back the buffer's spare capacity (a chunk that is full will not grow).
  void Shrink() { buf_.shrink_to_fit(); }
  // Moves the entries from `pos` on (there are `n` of them) into a new sequence.
  PackedStrings SplitOff(size_t pos, size_t n);

  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t pos = 0, next; pos < buf_.size(); pos = next) fn(At(pos, &next));
  }
  // Offset of the first entry equal to `v`, from `pos` on, with the given stride (2: every other
  // entry, as a hash's fields); end() when none.
  size_t Find(std::string_view v, size_t stride = 1) const;

 private:
  std::string buf_;
  uint32_t count_ = 0;
};

}  // namespace pier::cache::server
