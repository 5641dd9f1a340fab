// File: hash_ring.h
// HashRing: consistent hashing over nodes with virtual points (Karger et al., STOC'97; the
// ketama layout memcached clients use), so adding or removing a node moves about 1/N of keys.
// A node's share of points is its weight (default 1). The cache's ClusterClient routes keys with
// it; the ring_hash balancing policy picks hosts with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pier::balance {

// Immutable after construction; thread-safe to read.
class HashRing {
 public:
  HashRing(const std::vector<std::string>& node_names, int points_per_node = 160,
           const std::vector<uint32_t>& weights = {});
  // Nodes in ring order starting at the key's point: the owner first, then its fallbacks.
  // Each node appears once.
  std::vector<size_t> Walk(uint64_t key_hash) const;
  size_t Owner(uint64_t key_hash) const;
  // The index in points() of the key's point (the owner's), for walking without allocating.
  size_t Find(uint64_t key_hash) const;
  const std::vector<std::pair<uint64_t, size_t>>& points() const { return points_; }
  size_t nodes() const { return nodes_; }

 private:
  std::vector<std::pair<uint64_t, size_t>> points_;  // (point, node index), sorted
  size_t nodes_;
};

}  // namespace pier::balance
