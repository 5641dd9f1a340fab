// File: cluster.h
// Cluster mode, as Redis Cluster: 16384 hash slots, CRC16 of the key (or of its {hash tag}),
// a static slot map from a nodes file, -MOVED for keys another node owns and -CROSSSLOT for
// multi-key commands that span slots. Nodes do not gossip: every node reads the same file.
//   nodes:                       # HOST:PORT [SLOTS]; without slots they are split evenly
//     - 127.0.0.1:7001 0-5460
//     - 127.0.0.1:7002 5461-10922
//     - 127.0.0.1:7003 10923-16383
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pier/base/status.h"
#include "pier/cache/key_slot.h"

namespace pier::cache::server {

using cache::kClusterSlots;
using cache::KeySlot;

struct ClusterNode {
  std::string id;  // 40 hex characters, derived from the address
  std::string host;
  uint16_t port = 0;
  std::vector<std::pair<int, int>> ranges;  // inclusive slot ranges
};

// Immutable after loading; shared by every connection.
struct ClusterConfig {
  std::vector<ClusterNode> nodes;
  size_t self = 0;
  std::array<uint16_t, kClusterSlots> owner{};  // slot -> node index

  const ClusterNode& me() const { return nodes[self]; }
  bool Owns(int slot) const { return owner[slot] == self; }
};

// Reads the nodes file; `listen` ("host:port") picks which node this process is.
Result<ClusterConfig> LoadClusterConfig(const std::string& path, const std::string& listen);
Result<ClusterConfig> ParseClusterConfig(std::string_view yaml, const std::string& name,
                                         const std::string& listen);

}  // namespace pier::cache::server
