// The client-side RESP reply parser with small limits: any bytes give a reply, need more, or an
// error; never a crash, and nested replies stay within the depth limit.
#include <cstdint>
#include <string_view>

#include "pier/net/resp_reply.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pier::net::RespReplyParser p(
      {.max_bulk_len = 4096, .max_elements = 256, .max_depth = 8, .max_line = 1024});
  std::string_view in(reinterpret_cast<const char*>(data), size);
  pier::net::RespValue v;
  size_t pos = 0;
  while (pos < size &&
         p.Parse(in.substr(pos), &v) == pier::net::RespReplyParser::Result::kComplete) {
    if (p.consumed() == 0) __builtin_trap();
    pos += p.consumed();
  }
  return 0;
}
