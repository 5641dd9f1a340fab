// The RESP request parser with small limits: any bytes parse into requests, need more, or fail
// with a "Protocol error" text; a completed request's arguments lie inside the input.
#include <cstdint>
#include <string_view>
#include <vector>

#include "pier/net/resp_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pier::net::RespLimits limits;
  limits.max_bulk_len = 4096;
  limits.max_inline_len = 1024;
  limits.max_args = 64;
  pier::net::RespParser parser(limits);
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  // Feed in two pieces to exercise resumption, then parse every request in the input.
  size_t split = size / 2;
  if (parser.Parse(in.substr(0, split), &args) == pier::net::RespParser::Result::kError) return 0;
  size_t pos = 0;
  while (pos < size) {
    auto r = parser.Parse(in.substr(pos), &args);
    if (r != pier::net::RespParser::Result::kComplete) {
      if (r == pier::net::RespParser::Result::kError &&
          parser.error().rfind("Protocol error: ", 0) != 0) {
        __builtin_trap();
      }
      break;
    }
    for (auto a : args) {
      if (a.data() < in.data() || a.data() + a.size() > in.data() + size) __builtin_trap();
    }
    if (parser.consumed() == 0) __builtin_trap();
    pos += parser.consumed();
  }
  return 0;
}
