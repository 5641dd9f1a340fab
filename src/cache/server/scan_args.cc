#include "cache/server/scan_args.h"

#include <charconv>

namespace pier::cache::server {

bool ParseScanArgs(CommandContext& c, size_t first, bool allow_type, ScanArgs* out) {
  std::string_view cs = c.args[first];
  auto [p, ec] = std::from_chars(cs.data(), cs.data() + cs.size(), out->cursor);
  if (cs.empty() || ec != std::errc() || p != cs.data() + cs.size()) {
    c.out.Error("ERR invalid cursor");
    return false;
  }
  for (size_t i = first + 1; i < c.argc(); i += 2) {
    if (i + 1 >= c.argc()) {
      c.out.Error(kErrSyntax);
      return false;
    }
    std::string_view opt = c.args[i];
    if (EqualsIgnoreCase(opt, "MATCH")) {
      out->pattern = c.args[i + 1];
    } else if (EqualsIgnoreCase(opt, "COUNT")) {
      if (!ParseInt64(c.args[i + 1], &out->count)) {
        c.out.Error(kErrNotInteger);
        return false;
      }
      if (out->count < 1) {
        c.out.Error(kErrSyntax);
        return false;
      }
    } else if (allow_type && EqualsIgnoreCase(opt, "TYPE")) {
      out->type = c.args[i + 1];
    } else {
      c.out.Error(kErrSyntax);
      return false;
    }
  }
  return true;
}

}  // namespace pier::cache::server
