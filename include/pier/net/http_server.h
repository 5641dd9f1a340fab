// File: http_server.h
// HttpServer: a small HTTP/1.1 server (Boost.Beast) for admin and API endpoints, with header and
// body size limits, keep-alive, graceful shutdown, optional TLS, and HttpGuard's protection on
// every route: each route declares whether it reads or mutates, and the guard checks the Host,
// the Origin, the token and the body's type before the body is read or the handler runs.
//   HttpServer http(pool, {.listen = {.port = 0}, .security = {.token = token}});
//   http.Route("GET", "/health", health, Access::kOpen);
//   http.Route("POST", "/v1/thing", make_thing);  // mutates: needs the token
//   http.Start();
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "pier/base/status.h"
#include "pier/net/http_guard.h"
#include "pier/net/http_types.h"
#include "pier/net/tcp_listener.h"
#include "pier/net/tracer.h"

namespace pier::net {

// A handler that may wait (for a timer, a disk pool, a change) without blocking its I/O thread.
using AsyncHttpHandler = std::function<boost::asio::awaitable<HttpResponse>(const HttpRequest&)>;

// Routes are registered before Start() and are read-only afterwards; handlers run on I/O threads
// and must not block. Thread-safe after Start().
class HttpServer {
 public:
  HttpServer(IoPool& pool, HttpServerOptions options);
  ~HttpServer();

  // Exact path match; the query string is ignored for routing. A path with a route but not this
  // method gets 405. `access` defaults from the method (GET and HEAD read, others mutate).
  void Route(const std::string& method, const std::string& path, HttpHandler handler,
             Access access = Access::kDefault);
  void RouteAsync(const std::string& method, const std::string& path, AsyncHttpHandler handler,
                  Access access = Access::kDefault);
  // A path ending in '/' given to RoutePrefix matches every path under it (the handler reads the
  // rest, e.g. an id, from the target); the longest matching prefix wins, exact routes first.
  void RoutePrefix(const std::string& method, const std::string& prefix, AsyncHttpHandler handler,
                   Access access = Access::kDefault);
  // Every route with its access (also served as GET /routes).
  struct RouteInfo {
    std::string method;
    std::string path;
    bool prefix = false;
    Access access = Access::kRead;
  };
  std::vector<RouteInfo> Routes() const;
  // Binds. Refuses a non-loopback address without a token while protected mode is on.
  Status Start();
  std::string address() const;
  // Stops accepting; requests in flight finish and their connections close.
  void Shutdown();
  // Force-closes whatever is still open.
  void CloseAll();
  size_t active_connections() const;

 private:
  boost::asio::awaitable<void> Serve(Connection& conn);
  struct Handler {
    AsyncHttpHandler fn;
    Access access = Access::kRead;
  };
  using Methods = std::map<std::string, Handler>;
  const Methods* Find(const std::string& path) const;
  // The handler for a request, or null (with *status 404 or 405 and *error saying why).
  const Handler* Lookup(const HttpRequestHeader& req, int* status, std::string* error) const;
  // A server span for a request with a sampled traceparent (whose header then names the span as
  // the parent), recorded by EndSpan with the response's status.
  std::optional<Span> BeginSpan(HttpRequest& req, const Connection& conn) const;
  void EndSpan(Span span, const HttpRequest& req, const HttpResponse& response) const;
  // Logs the request when its handler was slower than options_.slow_request.
  void NoteDuration(const HttpRequest& req, const HttpResponse& response,
                    std::chrono::steady_clock::time_point started, const Connection& conn) const;

  IoPool& pool_;
  HttpServerOptions options_;
  HttpGuard guard_;
  std::map<std::string, Methods> routes_;    // path -> method -> handler
  std::map<std::string, Methods> prefixes_;  // prefix -> method -> handler
  std::shared_ptr<TcpListener> listener_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace pier::net
