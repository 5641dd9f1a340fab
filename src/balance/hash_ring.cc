#include "pier/balance/hash_ring.h"

#include <algorithm>

#include "pier/base/hash.h"

namespace pier::balance {

HashRing::HashRing(const std::vector<std::string>& names, int points_per_node,
                   const std::vector<uint32_t>& weights)
    : nodes_(names.size()) {
  for (size_t n = 0; n < names.size(); ++n) {
    const int points = points_per_node * static_cast<int>(n < weights.size() ? weights[n] : 1);
    for (int i = 0; i < points; ++i) {
      points_.emplace_back(HashBytes(names[n] + "#" + std::to_string(i)), n);
    }
  }
  std::sort(points_.begin(), points_.end());
}

size_t HashRing::Find(uint64_t h) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), std::make_pair(h, size_t{0}));
  return it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());
}

size_t HashRing::Owner(uint64_t h) const { return points_[Find(h)].second; }

std::vector<size_t> HashRing::Walk(uint64_t h) const {
  std::vector<size_t> order;
  std::vector<bool> seen(nodes_);
  auto it = std::lower_bound(points_.begin(), points_.end(), std::make_pair(h, size_t{0}));
  for (size_t i = 0; i < points_.size() && order.size() < nodes_; ++i) {
    if (it == points_.end()) it = points_.begin();
    if (!seen[it->second]) {
      seen[it->second] = true;
      order.push_back(it->second);
    }
    ++it;
  }
  return order;
}

}  // namespace pier::balance
