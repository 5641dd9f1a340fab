// File: http_types.h
// The request, response and options types of pier's HTTP server, apart from the server itself so
// that code without coroutines (parsers, fuzz targets) can use them.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "pier/net/http_security.h"
#include "pier/net/listener_options.h"

namespace pier::net {

class Tracer;

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Time the handler waited on purpose (a long poll such as a Consul blocking query): not
  // counted against the slow-request threshold.
  std::chrono::microseconds waited{0};

  static HttpResponse Text(int status, std::string body) {
    return {status, "text/plain; charset=utf-8", std::move(body), {}};
  }
  static HttpResponse Json(int status, std::string body) {
    return {status, "application/json", std::move(body), {}};
  }
  // {"error": message} with the given status.
  static HttpResponse Error(int status, const std::string& message);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  ListenerOptions listen;
  size_t max_header_bytes = 16 * 1024;  // beyond: 431
  size_t max_body_bytes = 1024 * 1024;  // beyond: 413 (for requests that carry the token)
  HttpSecurityOptions security;
  // A request whose handler takes at least this long (less any time it waited on purpose) is
  // logged as a warning with its method, path, status, time and client (0: never).
  std::chrono::microseconds slow_request{0};
  // A request that carries a sampled W3C `traceparent` gets a server span here (and its handler
  // sees that span as the parent in the header, to pass on). Not owned; null: none.
  Tracer* tracer = nullptr;
};

}  // namespace pier::net
