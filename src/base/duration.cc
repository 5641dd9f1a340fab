#include "pier/base/duration.h"

#include <cctype>
#include <cstdint>

namespace pier {

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view s) {
  auto bad = [&] {
    return Status::InvalidArgument("time: invalid duration \"" + std::string(s) + "\"");
  };
  std::string_view rest = s;
  bool negative = false;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  if (rest == "0") return std::chrono::nanoseconds(0);
  if (rest.empty()) return bad();
  // Exact integer arithmetic, as Go's: a duration written by FormatGoDuration reads back to the
  // same nanosecond.
  unsigned __int128 total = 0;
  constexpr unsigned __int128 kMax = static_cast<uint64_t>(INT64_MAX);
  while (!rest.empty()) {
    unsigned __int128 whole = 0, frac = 0, frac_scale = 1;
    size_t n = 0;
    for (; n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n])); ++n) {
      whole = whole * 10 + (rest[n] - '0');
      if (whole > kMax) return bad();
    }
    size_t digits = n;
    if (n < rest.size() && rest[n] == '.') {
      for (++n; n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n])); ++n) {
        ++digits;
        if (frac_scale < 1000000000000000000ull) {  // digits past the 18th cannot matter
          frac = frac * 10 + (rest[n] - '0');
          frac_scale *= 10;
        }
      }
    }
    if (digits == 0) return bad();
    rest.remove_prefix(n);
    size_t u = 0;
    while (u < rest.size() && !std::isdigit(static_cast<unsigned char>(rest[u])) && rest[u] != '.')
      ++u;
    std::string_view unit = rest.substr(0, u);
    rest.remove_prefix(u);
    uint64_t scale;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      scale = 1000;
    else if (unit == "ms")
      scale = 1000000;
    else if (unit == "s")
      scale = 1000000000;
    else if (unit == "m")
      scale = 60000000000ull;
    else if (unit == "h")
      scale = 3600000000000ull;
    else if (unit.empty())
      return Status::InvalidArgument("time: missing unit in duration \"" + std::string(s) + "\"");
    else
      return Status::InvalidArgument("time: unknown unit \"" + std::string(unit) +
                                     "\" in duration \"" + std::string(s) + "\"");
    total += whole * scale + frac * scale / frac_scale;
    if (total > kMax) return bad();
  }
  auto ns = static_cast<int64_t>(total);
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

std::string FormatGoDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? uint64_t{0} - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  auto frac = [](uint64_t v, uint64_t unit) {
    std::string s = std::to_string(v / unit);
    uint64_t f = v % unit;
    if (f == 0) return s;
    std::string digits = std::to_string(unit + f).substr(1);  // zero-padded
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    return s + "." + digits;
  };
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + frac(u, 1000) + "us";
  if (u < 1000000000) return sign + frac(u, 1000000) + "ms";
  uint64_t h = u / 3600000000000ull, m = u / 60000000000ull % 60;
  uint64_t rem = u % 60000000000ull;
  std::string out = sign;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += frac(rem, 1000000000) + "s";
  return out;
}

}  // namespace pier
