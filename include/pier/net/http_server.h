// File: http_server.h
// HttpServer: a small HTTP/1.1 server (Boost.Beast) for admin and API endpoints, with header and
// body size limits, keep-alive and graceful shutdown.
//   HttpServer http(pool, {.listen = {.port = 0}});
//   http.Route("GET", "/health", [](const HttpRequest&) { return HttpResponse::Text(200, "ok\n"); });
//   http.Start();
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "pier/base/status.h"
#include "pier/net/tcp_listener.h"

namespace pier::net {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Text(int status, std::string body) { return {status, "text/plain; charset=utf-8", std::move(body), {}}; }
  static HttpResponse Json(int status, std::string body) { return {status, "application/json", std::move(body), {}}; }
  // {"error": message} with the given status.
  static HttpResponse Error(int status, const std::string& message);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  ListenerOptions listen;
  size_t max_header_bytes = 16 * 1024;   // beyond: 431
  size_t max_body_bytes = 1024 * 1024;   // beyond: 413
};

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
