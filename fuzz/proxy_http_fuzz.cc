// The proxy's HTTP/1.x head parsers and chunked decoder: any bytes give a complete head whose
// views lie inside the input, "incomplete", "too large" or an error with a message; the chunked
// decoder never consumes more than it is given, whatever the split; a traceparent it accepts
// formats back to itself.
#include <cstdint>
#include <string_view>

#include "proxy/http_head.h"

namespace {

void CheckInside(std::string_view outer, std::string_view v) {
  if (!v.empty() &&
      (v.data() < outer.data() || v.data() + v.size() > outer.data() + outer.size())) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pier::proxy;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  HttpHead h;
  std::string err;
  for (bool request : {true, false}) {
    auto r = request ? ParseRequestHead(in, 8192, &h, &err) : ParseResponseHead(in, 8192, &h, &err);
    if (r == HeadParse::kComplete) {
      if (h.size > in.size() || h.headers.size() > kMaxHeaderFields) __builtin_trap();
      for (const auto& f : h.headers) {
        CheckInside(in, f.name);
        CheckInside(in, f.value);
      }
      CheckInside(in, h.target);
      if (h.chunked && h.content_length >= 0) __builtin_trap();
    } else if (r == HeadParse::kError && err.empty()) {
      __builtin_trap();
    }
  }
  // traceparent: a value it accepts formats back to the same bytes (version 00).
  TraceParent tp;
  if (TraceParent::Parse(in, &tp) && in.substr(0, 2) == "00" && tp.Header() != in) {
    __builtin_trap();
  }
  ChunkedDecoder whole, split;
  auto a = whole.Feed(in);
  if (a.consumed > in.size()) __builtin_trap();
  const size_t cut = size / 2;
  auto b = split.Feed(in.substr(0, cut));
  if (!b.error && !b.done) {
    auto c = split.Feed(in.substr(cut));
    if (!c.error && c.done != a.done) __builtin_trap();
    if (!c.error && !a.error && c.done && b.consumed + c.consumed != a.consumed) __builtin_trap();
  }
  return 0;
}
