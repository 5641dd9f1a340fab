// File: http_head.h
// The proxy's HTTP/1.x message heads: a strict parser for request and response heads (views
// into the caller's buffer, no copies), the framing they imply (Content-Length, chunked, until
// close), and a chunked-body decoder that tracks where a chunked body ends so the proxy can
// stream it without buffering it whole. Free of I/O so the fuzz target drives it directly.
//   HttpHead h;  std::string err;
//   switch (ParseRequestHead(buf, 64 * 1024, &h, &err)) { case HeadParse::kComplete: ... }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pier/base/strings.h"
#include "pier/net/trace_context.h"

namespace pier::proxy {

using net::TraceParent;

struct HeaderField {
  std::string_view name, value;  // value without surrounding whitespace
};

struct HttpHead {
  // Request line.
  std::string_view method, target;
  // Status line.
  int status = 0;
  std::string_view reason;
  int minor_version = 1;  // HTTP/1.<minor>
  std::vector<HeaderField> headers;
  std::string_view host;  // the Host header (requests)
  // Framing and connection management, from the headers.
  int64_t content_length = -1;  // -1: none given
  bool chunked = false;         // Transfer-Encoding ends in chunked
  bool other_coding = false;    // a Transfer-Encoding that is not (only) chunked
  bool close = false;           // Connection: close, or HTTP/1.0 without keep-alive
  bool upgrade = false;         // Connection: upgrade with an Upgrade header
  std::vector<std::string_view> connection_tokens;  // lower-cased by comparison only
  size_t size = 0;                                  // bytes of the head, through the blank line

  void Clear();
  // The first header with this name (case-insensitive), or empty.
  std::string_view Find(std::string_view name) const;
  // Whether `name` is hop-by-hop (RFC 9110 section 7.6.1) for this message: the fixed list plus
  // the fields its Connection header names.
  bool IsHopByHop(std::string_view name) const;
};

enum class HeadParse {
  kComplete,    // *out holds the head; its bytes are the first out->size of the buffer
  kIncomplete,  // read more
  kTooLarge,    // no end of head within the limit (431 for a request)
  kError,       // malformed (400); *error says what and where
};

// Limits on a head besides its byte size.
inline constexpr size_t kMaxHeaderFields = 100;

HeadParse ParseRequestHead(std::string_view buf, size_t max_bytes, HttpHead* out,
                           std::string* error);
HeadParse ParseResponseHead(std::string_view buf, size_t max_bytes, HttpHead* out,
                            std::string* error);

using pier::EqualsIgnoreCase;

// Follows a chunked body (RFC 9112 section 7.1) through any number of Feed calls.
class ChunkedDecoder {
 public:
  struct Step {
    size_t consumed = 0;  // bytes of `data` that belong to the body
    bool done = false;    // the last chunk and trailers ended within them
    bool error = false;   // malformed; `what` says how
    const char* what = "";
  };
  // Consumes body bytes from `data`; when `payload` is set, appends the chunk data it saw (views
  // into `data`) so a caller can de-chunk.
  Step Feed(std::string_view data, std::vector<std::string_view>* payload = nullptr);
  bool done() const { return state_ == State::kDone; }
  void Reset() { *this = ChunkedDecoder(); }

 private:
  enum class State {
    kSize,
    kExt,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailer,
    kTrailerLine,
    kTrailerLf,
    kDone
  };
  State state_ = State::kSize;
  uint64_t remaining_ = 0;
  int digits_ = 0;
  size_t trailer_bytes_ = 0;
};

}  // namespace pier::proxy
