// File: key_slot.h
// Redis Cluster's key -> hash slot mapping, shared by the server's cluster mode and the client.
//   int slot = pier::cache::KeySlot("{user:42}.cart");  // same slot as "user:42"
#pragma once

#include <string_view>

namespace pier::cache {

inline constexpr int kClusterSlots = 16384;

// CRC16/XMODEM of the key's hash tag (the part between the first '{' and the next '}', if not
// empty) or of the whole key, modulo 16384: Redis's keyHashSlot.
int KeySlot(std::string_view key);

}  // namespace pier::cache
