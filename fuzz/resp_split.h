// Parses RESP requests from bytes that arrive one at a time, as a connection's read loop does,
// and checks the result equals parsing them whole: a request split at any byte parses the same.
// Under the pre-auth limits every completed request is small. Traps on any difference.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pier/net/resp_parser.h"

namespace pier::fuzz {

struct Parsed {
  std::vector<std::vector<std::string>> requests;
  std::string error;  // the protocol error that ended parsing, if any
};

// Parses `in` as it would be read with `step` new bytes at a time (step 0: all at once).
inline Parsed ParseArriving(std::string_view in, size_t step, bool authenticated) {
  net::RespLimits limits;
  limits.max_bulk_len = 1 << 20;
  limits.max_inline_len = 4096;
  net::RespParser parser(limits);
  parser.set_authenticated(authenticated);
  Parsed out;
  std::vector<std::string_view> args;
  size_t pos = 0;
  size_t end = step == 0 ? in.size() : 0;
  for (;;) {
    auto r = parser.Parse(in.substr(pos, end - pos), &args);
    if (r == net::RespParser::Result::kError) {
      out.error = parser.error();
      return out;
    }
    if (r == net::RespParser::Result::kComplete) {
      if (parser.consumed() == 0) __builtin_trap();
      std::vector<std::string> req(args.begin(), args.end());
      // Before AUTH a multibulk request is small (Redis's limits); an inline one, as in Redis,
      // is bounded by the inline line limit.
      if (!authenticated && in[pos] == '*') {
        if (req.size() > limits.unauthenticated_max_args) __builtin_trap();
        for (const auto& a : req) {
          if (a.size() > limits.unauthenticated_max_bulk_len) __builtin_trap();
        }
      }
      if (in[pos] != '*' && parser.consumed() > limits.max_inline_len + 1) __builtin_trap();
      out.requests.push_back(std::move(req));
      pos += parser.consumed();
      continue;
    }
    if (end == in.size()) return out;  // incomplete and nothing more will come
    end = std::min(in.size(), end + step);
  }
}

// The whole-versus-byte-by-byte check.
inline void CheckSplitsAgree(std::string_view in, bool authenticated) {
  const Parsed whole = ParseArriving(in, 0, authenticated);
  const Parsed bytes = ParseArriving(in, 1, authenticated);
  if (whole.requests != bytes.requests || whole.error != bytes.error) __builtin_trap();
}

}  // namespace pier::fuzz
