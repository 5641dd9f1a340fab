// File: cache_metric_names.h
// The cache server's metric names, spelled only here: the code that registers them and the
// analyzer source that reads them (cache_perf.cc) both use these constants.
#pragma once

namespace pier::cache::metric_names {

inline constexpr char kCommandsTotal[] = "pier_cache_commands_total";
inline constexpr char kCommandDurationSeconds[] = "pier_cache_command_duration_seconds";
inline constexpr char kKeys[] = "pier_cache_keys";
inline constexpr char kUsedMemoryBytes[] = "pier_cache_used_memory_bytes";
inline constexpr char kMaxmemoryBytes[] = "pier_cache_maxmemory_bytes";
inline constexpr char kKeyspaceHitsTotal[] = "pier_cache_keyspace_hits_total";
inline constexpr char kKeyspaceMissesTotal[] = "pier_cache_keyspace_misses_total";
inline constexpr char kEvictedKeysTotal[] = "pier_cache_evicted_keys_total";
inline constexpr char kExpiredKeysTotal[] = "pier_cache_expired_keys_total";
inline constexpr char kConnectedClients[] = "pier_cache_connected_clients";

}  // namespace pier::cache::metric_names
