// File: scan_args.h
// The arguments SCAN and HSCAN share: cursor [MATCH pattern] [COUNT n] [TYPE type].
#pragma once

#include <cstdint>
#include <string_view>

#include "cache/server/command.h"

namespace pier::cache::server {

struct ScanArgs {
  uint64_t cursor = 0;
  std::string_view pattern;  // empty: every key
  std::string_view type;     // SCAN only; empty: every type
  int64_t count = 10;
};

// Parses args[first] (the cursor) and the options after it. On bad input replies with Redis's
// error ("invalid cursor", "syntax error", "not an integer") and returns false.
bool ParseScanArgs(CommandContext& c, size_t first, bool allow_type, ScanArgs* out);

}  // namespace pier::cache::server
