// The RESP path before AUTH: Redis's limits for unauthenticated clients hold for every multibulk
// request (at most 10 arguments of at most 16 KiB; inline ones are bounded by the line limit, as
// in Redis), and any input parses the same whether it arrives at once or one byte at a time. The
// first byte picks authenticated (odd) or not.
#include <cstdint>
#include <string_view>

#include "resp_split.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool authenticated = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  pier::fuzz::CheckSplitsAgree(in, authenticated);
  return 0;
}
