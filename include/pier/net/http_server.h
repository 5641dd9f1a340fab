// File: http_server.h
// HttpServer: a small HTTP/1.1 server (Boost.Beast) for admin and API endpoints, with header and
// body size limits, keep-alive and graceful shutdown.
//   HttpServer http(pool, {.listen = {.port = 0}});
//   http.Route("GET", "/health", [](const HttpRequest&) { return HttpResponse::Text(200, "ok\n");
//   }); http.Start();
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>

#include "pier/base/status.h"
#include "pier/net/http_types.h"
#include "pier/net/tcp_listener.h"

namespace pier::net {

// Routes are registered before Start() and are read-only afterwards; handlers run on I/O threads
// and must not block. Thread-safe after Start().
class HttpServer {
 public:
  HttpServer(IoPool& pool, HttpServerOptions options);
  ~HttpServer();

  // Exact path match; the query string is ignored for routing. A path with a route but not this
  // method gets 405.
  void Route(const std::string& method, const std::string& path, HttpHandler handler);
  Status Start();
  std::string address() const;
  // Stops accepting; requests in flight finish and their connections close.
  void Shutdown();
  // Force-closes whatever is still open.
  void CloseAll();
  size_t active_connections() const;

 private:
  boost::asio::awaitable<void> Serve(Connection& conn);
  HttpResponse Dispatch(const HttpRequest& req) const;

  IoPool& pool_;
  HttpServerOptions options_;
  std::map<std::string, std::map<std::string, HttpHandler>> routes_;  // path -> method -> handler
  std::shared_ptr<TcpListener> listener_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace pier::net
