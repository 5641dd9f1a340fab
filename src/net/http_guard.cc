#include "pier/net/http_guard.h"

#include <openssl/crypto.h>

#include <boost/asio/ip/address.hpp>

#include "pier/base/strings.h"
#include "pier/net/http_query.h"

namespace http = boost::beast::http;

namespace pier::net {

const char* AccessName(Access a) {
  switch (a) {
    case Access::kDefault:
      return "default";
    case Access::kOpen:
      return "open";
    case Access::kRead:
      return "read";
    case Access::kMutate:
      return "mutate";
  }
  return "?";
}

bool TokensEqual(std::string_view given, std::string_view expected) {
  if (expected.empty()) return false;
  // Compare fixed-size digests' worth of bytes so the length of `given` leaks nothing useful.
  if (given.size() != expected.size()) {
    (void)CRYPTO_memcmp(expected.data(), expected.data(), expected.size());
    return false;
  }
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

namespace {

std::string_view Field(const HttpRequestHeader& req, http::field f) {
  auto v = req[f];
  return {v.data(), v.size()};
}

// "host:port", "[v6]:port", "host" -> host (brackets removed).
std::string_view HostPart(std::string_view h) {
  if (!h.empty() && h.front() == '[') {
    const size_t close = h.find(']');
    return close == std::string_view::npos ? h : h.substr(1, close - 1);
  }
  const size_t colon = h.find(':');
  if (colon != std::string_view::npos && h.find(':', colon + 1) == std::string_view::npos) {
    return h.substr(0, colon);
  }
  return h;  // a bare IPv6 address, or no port
}

bool IsIp(std::string_view host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

bool IsLoopbackName(std::string_view host) {
  if (EqualsIgnoreCase(host, "localhost")) return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && a.is_loopback();
}

// A browser's "simple" body types: a cross-site page can send them without a CORS preflight.
bool IsFormOrText(std::string_view type) {
  const std::string t = AsciiLower(type.substr(0, type.find(';')));
  std::string_view v(t);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v == "text/plain" || v == "application/x-www-form-urlencoded" ||
         v == "multipart/form-data";
}

}  // namespace

HttpGuard::HttpGuard(HttpSecurityOptions options) : options_(std::move(options)) {}

Access HttpGuard::Resolve(Access access, std::string_view method) {
  if (access != Access::kDefault) return access;
  return method == "GET" || method == "HEAD" ? Access::kRead : Access::kMutate;
}

bool HttpGuard::HostAllowed(std::string_view host_header) const {
  const std::string_view host = HostPart(host_header);
  if (IsIp(host) || EqualsIgnoreCase(host, "localhost")) return true;
  for (const auto& name : options_.allowed_hosts) {
    if (EqualsIgnoreCase(host, name)) return true;
  }
  return false;
}

bool HttpGuard::OriginAllowed(std::string_view origin, std::string_view host) const {
  for (const auto& o : options_.allowed_origins) {
    if (EqualsIgnoreCase(origin, o)) return true;
  }
  // scheme://host[:port]; "null" (a sandboxed page, a file) and anything else is foreign.
  const size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return false;
  const std::string_view scheme = origin.substr(0, sep);
  if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) return false;
  const std::string_view authority = origin.substr(sep + 3);
  if (authority.find('/') != std::string_view::npos) return false;
  if (IsLoopbackName(HostPart(authority))) return true;
  // The same origin as the request: the dashboard served by this listener. (A rebinding page's
  // own name fails the Host check first.)
  return !host.empty() && EqualsIgnoreCase(authority, host);
}

std::string HttpGuard::TokenOf(const HttpRequestHeader& req) {
  std::string_view auth = Field(req, http::field::authorization);
  if (StartsWithIgnoreCase(auth, "Bearer ")) {
    auth.remove_prefix(7);
    while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
    return std::string(auth);
  }
  auto consul_field = req["X-Consul-Token"];
  std::string_view consul(consul_field.data(), consul_field.size());
  if (!consul.empty()) return std::string(consul);
  std::string_view target(req.target().data(), req.target().size());
  if (target.find("token=") == std::string_view::npos) return "";
  return ParseQuery(target).Get("token");
}

std::optional<HttpResponse> HttpGuard::Check(const HttpRequestHeader& req, Access access,
                                             bool has_body, bool* authenticated) const {
  *authenticated = false;
  const std::string_view host = Field(req, http::field::host);
  if (!host.empty() && !HostAllowed(host)) {
    return HttpResponse::Error(421, "unknown Host '" + std::string(host.substr(0, 256)) +
                                        "': this server answers to IP addresses, localhost and "
                                        "--allowed-hosts names");
  }
  const std::string_view origin = Field(req, http::field::origin);
  if (!origin.empty() && !OriginAllowed(origin, host)) {
    return HttpResponse::Error(403, "cross-origin request from '" +
                                        std::string(origin.substr(0, 256)) +
                                        "' refused (allow it with --allowed-origins)");
  }
  const std::string given = TokenOf(req);
  if (!given.empty()) {
    if (!TokensEqual(given, options_.token)) return HttpResponse::Error(403, "ACL not found");
    *authenticated = true;
  }
  const bool needs_token =
      access == Access::kMutate ||
      (access == Access::kRead && options_.public_bind && options_.protected_mode);
  if (needs_token && !*authenticated) {
    HttpResponse r = HttpResponse::Error(
        401, options_.token.empty()
                 ? "this server has no token, so nobody may call this route: start it with "
                   "--token (or PIER_TOKEN, or token_file in its config)"
                 : "this route needs the server's token: send Authorization: Bearer TOKEN, "
                   "X-Consul-Token or ?token= (the token is in DATA_DIR/token)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (access == Access::kMutate) {
    const std::string_view type = Field(req, http::field::content_type);
    if (has_body && IsFormOrText(type)) {
      return HttpResponse::Error(415,
                                 "a " + std::string(type.substr(0, 64)) +
                                     " body is what a cross-site page can send: send Content-Type: "
                                     "application/json (or application/yaml)");
    }
  }
  return std::nullopt;
}

}  // namespace pier::net
