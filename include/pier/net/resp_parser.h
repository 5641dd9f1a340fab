// File: resp_parser.h
// RespParser: incremental parser of Redis client requests (RESP multibulk and inline commands),
// with Redis's limits and Redis's "Protocol error" texts.
//   RespParser p;  std::vector<std::string_view> args;
//   auto r = p.Parse(buf, &args);  // kComplete: args point into buf; p.consumed() bytes used
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pier::net {

struct RespLimits {
  size_t max_bulk_len = 512 * 1024 * 1024;  // proto-max-bulk-len
  size_t max_inline_len = 64 * 1024;        // PROTO_INLINE_MAX_SIZE
  size_t max_args = 1024 * 1024;            // elements in one multibulk request
  // Unparsed bytes one client may have buffered (client-query-buffer-limit, as Redis: 1 GiB).
  size_t max_query_buffer = size_t{1} << 30;
  // Before AUTH (when a password is set), Redis's limits for unauthenticated clients.
  size_t unauthenticated_max_args = 10;
  size_t unauthenticated_max_bulk_len = 16 * 1024;
};

// Not thread-safe; one per connection. The parser keeps where it stopped inside a partial
// request, so a large request arriving in many reads is scanned once.
class RespParser {
 public:
  enum class Result { kComplete, kIncomplete, kError };

  explicit RespParser(RespLimits limits = {}) : limits_(limits) {}

  // Parses one request from the front of `buf` (everything not yet consumed). On kComplete,
  // `args` holds views into `buf`, valid until the caller discards those bytes, and consumed()
  // says how many bytes the request took. An empty inline line completes with no args.
  // On kError, error() is Redis's text ("Protocol error: invalid bulk length"); the connection
  // must answer it and close.
  Result Parse(std::string_view buf, std::vector<std::string_view>* args);

  // Whether the client has authenticated: before, a request may have only a few small
  // arguments (Redis's "unauthenticated multibulk length" and "bulk length" errors).
  void set_authenticated(bool yes) { authenticated_ = yes; }

  size_t consumed() const { return consumed_; }
  const std::string& error() const { return error_; }
  // Bytes the parser knows the current request still needs (to size the read buffer).
  size_t wanted() const { return wanted_; }

 private:
  Result ParseInline(std::string_view buf, std::vector<std::string_view>* args);
  Result Fail(std::string msg) {
    error_ = std::move(msg);
    return Result::kError;
  }
  void Reset() {
    pos_ = 0;
    remaining_ = -1;
    offsets_.clear();
    wanted_ = 0;
  }

  RespLimits limits_;
  bool authenticated_ = true;
  size_t consumed_ = 0;
  std::string error_;
  // State of a partial multibulk request, relative to the start of `buf`.
  size_t pos_ = 0;
  int64_t remaining_ = -1;                          // args still to read; -1: header not read yet
  std::vector<std::pair<size_t, size_t>> offsets_;  // (offset, length) of args read so far
  size_t wanted_ = 0;
};

// Redis's string2ll: the whole string is an int64 in canonical form (no '+', no leading zeros).
bool ParseRespInt(std::string_view s, int64_t* out);

}  // namespace pier::net
