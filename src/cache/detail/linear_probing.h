// File: linear_probing.h
// BackwardShiftErase: deletion from a linear-probing table without tombstones (Knuth, TAOCP
// vol. 3, 6.4 Algorithm R). Empties `slot`, then moves each later entry of its cluster back
// into the hole unless its home slot lies cyclically within (hole, its position].
#pragma once

#include <cstddef>
#include <vector>

namespace pier::cache::detail {

// `slots` has a power-of-two size and T{} marks an empty slot; home_of(entry) is the slot the
// entry hashes to.
template <typename T, typename HomeOf>
void BackwardShiftErase(std::vector<T>& slots, size_t slot, HomeOf&& home_of) {
  const size_t mask = slots.size() - 1;
  size_t hole = slot;
  for (size_t i = (slot + 1) & mask; slots[i] != T{}; i = (i + 1) & mask) {
    const size_t home = home_of(slots[i]) & mask;
    const bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!stays) {
      slots[hole] = slots[i];
      hole = i;
    }
  }
  slots[hole] = T{};
}

}  // namespace pier::cache::detail
