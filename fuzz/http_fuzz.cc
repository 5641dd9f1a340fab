// The HTTP request parser with the admin server's limits: any bytes give a request, an error
// response (400/413/431), or "need more"; never a crash.
#include <cstdint>
#include <string_view>

#include "net/http_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pier::net::HttpServerOptions options;
  options.max_header_bytes = 2048;
  options.max_body_bytes = 4096;
  auto r = pier::net::ParseHttpRequest(std::string_view(reinterpret_cast<const char*>(data), size),
                                       options);
  if (r && std::holds_alternative<pier::net::HttpResponse>(*r)) {
    int status = std::get<pier::net::HttpResponse>(*r).status;
    if (status != 400 && status != 413 && status != 431) __builtin_trap();
  }
  return 0;
}
