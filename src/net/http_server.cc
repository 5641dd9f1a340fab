#include "pier/net/http_server.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "net/http_parse.h"

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace pier::net {

HttpServer::HttpServer(IoPool& pool, HttpServerOptions options)
    : pool_(pool), options_(std::move(options)) {}

HttpServer::~HttpServer() = default;

void HttpServer::Route(const std::string& method, const std::string& path, HttpHandler handler) {
  routes_[path][method] =
      [h = std::move(handler)](const HttpRequest& r) -> asio::awaitable<HttpResponse> {
    co_return h(r);
  };
}

void HttpServer::RouteAsync(const std::string& method, const std::string& path,
                            AsyncHttpHandler handler) {
  routes_[path][method] = std::move(handler);
}

void HttpServer::RoutePrefix(const std::string& method, const std::string& prefix,
                             AsyncHttpHandler handler) {
  prefixes_[prefix][method] = std::move(handler);
}

const HttpServer::Methods* HttpServer::Find(const std::string& path) const {
  if (auto it = routes_.find(path); it != routes_.end()) return &it->second;
  const Methods* best = nullptr;
  size_t best_len = 0;
  for (const auto& [prefix, methods] : prefixes_) {  // a handful of routes: a scan is enough
    if (prefix.size() > best_len && path.compare(0, prefix.size(), prefix) == 0) {
      best = &methods;
      best_len = prefix.size();
    }
  }
  return best;
}

Status HttpServer::Start() {
  auto l = TcpListener::Bind(pool_, options_.listen, [this](Connection& c) { return Serve(c); });
  if (!l.ok()) return l.status();
  listener_ = *l;
  listener_->Start();
  return Status::Ok();
}

std::string HttpServer::address() const { return listener_ ? listener_->address() : ""; }

void HttpServer::Shutdown() {
  shutting_down_ = true;
  if (listener_) {
    listener_->Close();
    listener_->CloseIdle();  // requests in flight finish and then close
  }
}

void HttpServer::CloseAll() {
  if (listener_) listener_->CloseAll();
}

size_t HttpServer::active_connections() const {
  return listener_ ? listener_->active_connections() : 0;
}

asio::awaitable<HttpResponse> HttpServer::Dispatch(const HttpRequest& req) const {
  std::string_view target(req.target().data(), req.target().size());
  std::string path(target.substr(0, target.find('?')));
  const Methods* methods = Find(path);
  if (!methods) co_return HttpResponse::Error(404, "no such endpoint: " + path);
  std::string method(req.method_string());
  auto m = methods->find(method);
  if (m == methods->end() && method == "HEAD") m = methods->find("GET");
  if (m == methods->end()) {
    co_return HttpResponse::Error(405, "method " + method + " not allowed on " + path);
  }
  co_return co_await m->second(req);
}

namespace {

http::response<http::string_body> ToBeast(const HttpResponse& r, unsigned version, bool keep_alive,
                                          bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "pier");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays that of the GET body
  return res;
}

}  // namespace

asio::awaitable<void> HttpServer::Serve(Connection& conn) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    HttpRequestParser parser;
    ApplyLimits(parser, options_);
    boost::system::error_code ec;
    co_await http::async_read(conn.socket(), buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    conn.Touch();
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::bad_descriptor) {
      co_return;
    }
    HttpResponse response;
    bool keep_alive = false;
    unsigned version = 11;
    bool head = false;
    if (ec) {
      response = ResponseForParseError(ec, options_);
    } else {
      const HttpRequest& req = parser.get();
      version = req.version();
      head = req.method() == http::verb::head;
      keep_alive = req.keep_alive() && !shutting_down_;
      conn.SetBusy(true);
      response = co_await Dispatch(req);
      conn.SetBusy(false);
    }
    auto res = ToBeast(response, version, keep_alive, head);
    co_await http::async_write(conn.socket(), res, asio::redirect_error(asio::use_awaitable, ec));
    conn.Touch();
    if (ec || !keep_alive) co_return;
  }
}

}  // namespace pier::net
