// File: http_query.h
// HttpQuery: a request target split into its path and decoded query parameters.
//   auto q = ParseQuery(req.target());  if (q.Has("passing")) ...;  q.Get("tag")
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pier::net {

struct HttpQuery {
  std::string path;                                         // percent-decoded
  std::vector<std::pair<std::string, std::string>> params;  // in order, decoded, repeats kept

  bool Has(std::string_view key) const;
  // The first value of `key`, or "" when absent (or present without a value).
  std::string Get(std::string_view key) const;
  std::vector<std::string> All(std::string_view key) const;
};

// Splits at '?', splits parameters at '&' and '=', and decodes %XX and '+' (in parameters).
// Invalid escapes are kept as written.
HttpQuery ParseQuery(std::string_view target);
std::string UrlDecode(std::string_view s, bool plus_is_space = false);

}  // namespace pier::net
