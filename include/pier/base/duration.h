// File: duration.h
// Durations as Go writes them ("300ms", "1.5h", "2h45m"): Consul's API speaks them, and pier's
// config files use the same form. Exact integer arithmetic, so a formatted value reads back to
// the nanosecond.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "pier/base/status.h"

namespace pier {

// Go's time.ParseDuration: a sign, then number+unit pairs (ns, us, ms, s, m, h); "0" alone.
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view s);
// The shortest Go form: "10s", "1m30s", "250ms", "0s".
std::string FormatGoDuration(std::chrono::nanoseconds d);

}  // namespace pier
