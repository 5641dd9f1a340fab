// File: expire_args.h
// ExpireSpec: the EX/PX/EXAT/PXAT argument of SET, GETEX, SETEX and PSETEX, resolved to an
// absolute unix time in milliseconds with Redis's checks and error texts.
#pragma once

#include <climits>
#include <string>
#include <string_view>

#include "cache/server/command.h"
#include "pier/base/status.h"

namespace pier::cache::server {

struct ExpireSpec {
  bool set = false;
  bool millis = false;
  bool absolute = false;
  std::string_view value;

  // True when `opt` is EX, PX, EXAT or PXAT (case-insensitive); remembers `arg`.
  bool Accept(std::string_view opt, std::string_view arg) {
    if (EqualsIgnoreCase(opt, "EX")) {
      millis = false, absolute = false;
    } else if (EqualsIgnoreCase(opt, "PX")) {
      millis = true, absolute = false;
    } else if (EqualsIgnoreCase(opt, "EXAT")) {
      millis = false, absolute = true;
    } else if (EqualsIgnoreCase(opt, "PXAT")) {
      millis = true, absolute = true;
    } else {
      return false;
    }
    set = true;
    value = arg;
    return true;
  }

  // The absolute expiry in unix ms, or Redis's error for `command` (lowercase).
  Result<int64_t> Resolve(int64_t now_ms, std::string_view command) const {
    int64_t v;
    if (!ParseInt64(value, &v)) return Status::InvalidArgument(std::string(kErrNotInteger));
    const std::string bad = "ERR invalid expire time in '" + std::string(command) + "' command";
    if (v <= 0 || (!millis && v > LLONG_MAX / 1000)) return Status::InvalidArgument(bad);
    if (!millis) v *= 1000;
    if (!absolute) {
      if (v > LLONG_MAX - now_ms) return Status::InvalidArgument(bad);
      v += now_ms;
    }
    return v;
  }
};

}  // namespace pier::cache::server
