// The cache-sim trace file reader, with small limits so the fuzzer explores the error paths.
#include <cstdint>
#include <sstream>

#include "pier/cache/simulator.h"
#include "pier/cache/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  auto trace = pier::cache::ReadTrace(in, "fuzz.trace", 1000);
  if (!trace.ok()) return 0;
  // A readable trace must also simulate, by count and by bytes.
  auto rows = pier::cache::Simulate(*trace, {"s3fifo", "wtinylfu"},
                                    {pier::cache::CacheSize::Absolute(3)}, 1, size % 2 == 0);
  if (!rows.ok() || (*rows)[0].misses > trace->requests.size()) __builtin_trap();
  return 0;
}
