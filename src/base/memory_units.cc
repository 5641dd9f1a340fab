#include "pier/base/memory_units.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

namespace pier {

Result<uint64_t> ParseMemory(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (digits == 0 || ec != std::errc()) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a memory value (e.g. 100mb)");
  }
  std::string unit;
  for (char c : text.substr(digits))
    unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  static const struct {
    const char* name;
    uint64_t mul;
  } kUnits[] = {{"", 1},           {"b", 1},
                {"k", 1000},       {"kb", 1024},
                {"m", 1000000},    {"mb", 1024 * 1024},
                {"g", 1000000000}, {"gb", 1024ull * 1024 * 1024}};
  for (const auto& u : kUnits) {
    if (unit == u.name) {
      if (n > UINT64_MAX / u.mul) break;
      return n * u.mul;
    }
  }
  return Status::InvalidArgument("'" + std::string(text) + "' is not a memory value (e.g. 100mb)");
}

std::string HumanBytes(uint64_t n) {
  const double d = static_cast<double>(n);
  if (n < 1024) return fmt::format("{}B", n);
  if (n < 1024 * 1024) return fmt::format("{:.2f}K", d / 1024);
  if (n < 1024ull * 1024 * 1024) return fmt::format("{:.2f}M", d / (1024 * 1024));
  return fmt::format("{:.2f}G", d / (1024.0 * 1024 * 1024));
}

}  // namespace pier
