// File: http_guard.h
// HttpGuard: the protection every pier HTTP listener applies to a request head before a handler
// runs or its body is read: the Host check against DNS rebinding (421), the Origin check against
// cross-site requests (403), the token for mutating routes and, beyond loopback, for reading
// ones (401/403), and the content type of a mutating request's body (415).
//   HttpGuard guard({.token = "s3cret", .public_bind = false});
//   if (auto refusal = guard.Check(req, Access::kMutate, true, &authenticated)) respond(*refusal);
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "pier/net/http_security.h"
#include "pier/net/http_types.h"

namespace pier::net {

using HttpRequestHeader = boost::beast::http::request_header<boost::beast::http::fields>;

// Immutable after construction; thread-safe.
class HttpGuard {
 public:
  explicit HttpGuard(HttpSecurityOptions options);

  // nullopt: the request may go on (`*authenticated` says whether it carried the token);
  // otherwise the response to send (the connection then closes: its body is not read).
  // `has_body`: the head announces a body (a non-zero length, or chunked).
  std::optional<HttpResponse> Check(const HttpRequestHeader& req, Access access, bool has_body,
                                    bool* authenticated) const;
  // The route's access with kDefault resolved from `method`.
  static Access Resolve(Access access, std::string_view method);
  const HttpSecurityOptions& options() const { return options_; }

  // Whether `host` (a Host header, with or without a port) names this server: an IP literal,
  // localhost, or an allowed name.
  bool HostAllowed(std::string_view host) const;
  // Whether `origin` may call this server: loopback, allowed, or the same as `host`.
  bool OriginAllowed(std::string_view origin, std::string_view host) const;
  // The token a request carries: Authorization: Bearer, X-Consul-Token or ?token=.
  static std::string TokenOf(const HttpRequestHeader& req);

 private:
  HttpSecurityOptions options_;
};

// Constant-time comparison (the time does not depend on where the strings differ).
bool TokensEqual(std::string_view given, std::string_view expected);

}  // namespace pier::net
