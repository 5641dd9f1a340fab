// The analyzer's saved-history loader: any input is loaded whole or refused with an error;
// afterwards every series holds at most `history` points, in time order.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pier/perf/analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static pier::metrics::Registry metrics;
  int64_t now = 1000;
  pier::perf::Analyzer a(metrics, {.history = 16, .max_series = 8}, [&now] { return now; });
  a.Record("proxy.p99_ms", now, 1);
  const pier::Status s = a.LoadHistory(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!s.ok() && s.message().empty()) __builtin_trap();
  for (const auto& name : a.SeriesNames()) {
    const auto h = a.History(name);
    if (h.size() > 16) __builtin_trap();
    for (size_t i = 1; i < h.size(); ++i) {
      if (h[i][0].get<int64_t>() < h[i - 1][0].get<int64_t>()) __builtin_trap();
    }
  }
  return 0;
}
