// File: hash_ring.h
// HashRing: consistent hashing over nodes with virtual points (Karger et al., STOC'97; the
// ketama layout memcached clients use), so adding or removing a node moves about 1/N of keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pier::cache::client {

// Immutable after construction; thread-safe to read.
class HashRing {
 public:
  HashRing(const std::vector<std::string>& node_names, int points_per_node = 160);
  // Nodes in ring order starting at the key's point: the owner first, then its fallbacks.
  // Each node appears once.
  std::vector<size_t> Walk(uint64_t key_hash) const;
  size_t Owner(uint64_t key_hash) const;

 private:
  std::vector<std::pair<uint64_t, size_t>> points_;  // (point, node index), sorted
  size_t nodes_;
};

}  // namespace pier::cache::client
