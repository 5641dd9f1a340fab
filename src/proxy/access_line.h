// File: access_line.h
// What the access log knows of one request (AccessRecord), how a line shows it (LineFormat:
// JSON, Apache's combined format, or a template of named fields) and which requests get a line
// (AccessFilter: errors only, slower than a bound, a sampled fraction of the rest).
//   auto f = LineFormat::Parse("$client $method $path $status $duration_ms");
//   if (filter.Keep(record, uniform01)) out += f->Line(record);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pier/base/status.h"

namespace pier::proxy {

// What one request did. Times in microseconds; -1: did not happen (no upstream was reached).
struct AccessRecord {
  int64_t start_unix_ms = 0;
  std::string client;  // "ip:port"
  std::string method, authority, target;
  int http_minor = 1;
  std::string user_agent, referer;
  int status = 0;
  uint64_t bytes_in = 0;   // request head and body
  uint64_t bytes_out = 0;  // response head and body
  int64_t duration_us = 0;
  std::string listener, route, cluster;
  std::string upstream;  // the host of the last attempt
  int64_t upstream_connect_us = -1;
  int64_t upstream_response_us = -1;  // from the attempt's start to the response head
  uint32_t retries = 0;
  std::string trace_id;  // from the request's W3C traceparent, when valid
  std::string error;     // pier's own answer's reason (no host: every one ejected...)
};

class LineFormat {
 public:
  static constexpr size_t kMaxSpec = 4096;

  // "json" (every field, one object a line), "combined" (Apache's), or a template in which
  // $name or ${name} is a field of the JSON form ($$ is a dollar sign). InvalidArgument names
  // an unknown field and the fields there are.
  static Result<LineFormat> Parse(const std::string& spec);

  // The line for `r`, newline included. In a template, text fields are written with quotes,
  // backslashes and bytes that are not printable ASCII escaped (\xhh), an empty one as "-".
  std::string Line(const AccessRecord& r) const;
  const std::string& spec() const { return spec_; }

 private:
  enum class Kind { kJson, kCombined, kTemplate };
  struct Piece {
    std::string literal;  // written before the field
    int field = -1;       // -1: none (the template's tail)
  };
  Kind kind_ = Kind::kJson;
  std::string spec_ = "json";
  std::vector<Piece> pieces_;
};

// Which requests get a line. Errors: status 500 and above, pier's own answers (an `error`),
// and retried requests. With `errors_only` or `slower_than_us`, only requests that are errors
// or at least that slow (either, when both are set); of the others that remain, `sample` is the
// fraction written. Errors are never sampled away.
struct AccessFilter {
  bool errors_only = false;
  int64_t slower_than_us = 0;  // 0: not a filter
  double sample = 1.0;

  static bool IsError(const AccessRecord& r);
  // `uniform01`: a random number in [0, 1), drawn by the caller.
  bool Keep(const AccessRecord& r, double uniform01) const;
};

}  // namespace pier::proxy
