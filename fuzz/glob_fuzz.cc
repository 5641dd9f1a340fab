// The glob matcher pub/sub patterns (PSUBSCRIBE, PUBSUB CHANNELS), KEYS and SCAN MATCH use:
// any pattern and string terminate, and the properties that hold for every input do: a pattern
// made of the string with every byte escaped matches exactly it, "*" matches anything but the
// empty string (Redis's KEYS * special-cases that), and a
// literal without special bytes matches only itself.
#include <cstdint>
#include <string>
#include <string_view>

#include "pier/base/glob.h"
#include "pier/base/status.h"  // PIER_CHECK

using pier::GlobMatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t split = data[0] % size;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string_view pattern = in.substr(0, split), str = in.substr(std::min(split, in.size()));
  const bool nocase = data[0] & 0x80;
  GlobMatch(pattern, str, nocase);
  std::string escaped;
  for (char ch : str) {
    escaped += '\\';
    escaped += ch;
  }
  PIER_CHECK(GlobMatch(escaped, str));
  PIER_CHECK(GlobMatch("*", str) == !str.empty());  // as Redis's stringmatchlen
  if (pattern.find_first_of("*?[\\") == std::string_view::npos) {
    PIER_CHECK(GlobMatch(pattern, str) == (pattern == str));
  }
  return 0;
}
