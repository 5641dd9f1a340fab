#include "cache/detail/ghost_set.h"

#include <utility>

#include "cache/detail/linear_probing.h"

namespace pier::cache::detail {

size_t HashSet32::Find(uint32_t k) const {
  const size_t mask = slots_.size() - 1;
  size_t i = k & mask;
  while (slots_[i] != 0 && slots_[i] != k) i = (i + 1) & mask;
  return i;
}

bool HashSet32::Contains(uint64_t h) const {
  if (size_ == 0) return false;
  return slots_[Find(Key(h))] != 0;
}

void HashSet32::Grow() {
  std::vector<uint32_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
  for (uint32_t k : old) {
    if (k != 0) slots_[Find(k)] = k;
  }
}

void HashSet32::Insert(uint64_t h) {
  if ((size_ + 1) * 4 > slots_.size() * 3) Grow();  // load <= 3/4
  uint32_t k = Key(h);
  size_t i = Find(k);
  if (slots_[i] == 0) {
    slots_[i] = k;
    ++size_;
  }
}

bool HashSet32::Erase(uint64_t h) {
  if (size_ == 0) return false;
  size_t hole = Find(Key(h));
  if (slots_[hole] == 0) return false;
  BackwardShiftErase(slots_, hole, [](uint32_t k) { return static_cast<size_t>(k); });
  --size_;
  return true;
}

void GhostSet::Insert(uint64_t h) {
  if (current_.size() >= capacity_ / 2) {
    previous_ = std::move(current_);
    current_ = HashSet32();
  }
  current_.Insert(h);
}

}  // namespace pier::cache::detail
