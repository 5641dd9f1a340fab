// File: trace.h
// Request traces for cache simulation: generated (Zipf, uniform, scans, one-hit wonders, loops)
// or read from a file of keys.
//   auto t = GenerateTrace("zipf:1.0", {.objects = 1000000, .requests = 10000000, .seed = 1});
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "pier/base/status.h"

namespace pier::cache {

struct TraceRequest {
  uint64_t key;
  uint32_t size;  // bytes, 1 when the trace has no sizes
};

struct Trace {
  std::string name;
  std::vector<TraceRequest> requests;
  uint64_t unique_keys = 0;
  uint64_t unique_bytes = 0;  // sum of each key's last-seen size
};

struct TraceSpec {
  uint64_t objects = 1000000;
  uint64_t requests = 10000000;
  uint64_t seed = 1;
};

// Generators, by name:
//   zipf:ALPHA     key ranks drawn from a Zipf distribution with exponent ALPHA (> 0)
//   uniform        every object equally likely
//   scan:F         zipf:1.0 where a fraction F of requests are sequential scans over cold keys
//   onehit:F       zipf:1.0 where a fraction F of requests are keys never requested again
//   loop           objects requested in order, over and over
Result<Trace> GenerateTrace(const std::string& generator, const TraceSpec& spec);

// One request per line: KEY [SIZE], separated by whitespace or a comma; '#' starts a comment.
// Keys longer than 1 KiB, lines longer than 64 KiB, bad sizes and more than `max_requests`
// requests are errors naming `name`:line.
inline constexpr size_t kMaxTraceKeyBytes = 1024;
inline constexpr size_t kMaxTraceLineBytes = 64 * 1024;
Result<Trace> ReadTrace(std::istream& in, const std::string& name,
                        uint64_t max_requests = 1ULL << 31);
Result<Trace> ReadTraceFile(const std::string& path, uint64_t max_requests = 1ULL << 31);

}  // namespace pier::cache
