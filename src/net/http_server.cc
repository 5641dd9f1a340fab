// GCC 12 inlines asio's coroutine frame deallocation into Serve and then warns that it does not
// match the allocation (a false positive, GCC bug 109224).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#include "pier/net/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "net/http_parse.h"
#include "pier/base/logging.h"
#include "pier/net/tracer.h"

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace pier::net {

namespace {

HttpServerOptions WithDefaults(HttpServerOptions o) {
  o.security.public_bind = !IsLoopbackHost(o.listen.host);
  if (o.listen.max_connections_per_client == 0) {
    o.listen.max_connections_per_client = o.security.max_connections_per_client;
  }
  return o;
}

}  // namespace

HttpServer::HttpServer(IoPool& pool, HttpServerOptions options)
    : pool_(pool), options_(WithDefaults(std::move(options))), guard_(options_.security) {
  Route("GET", "/routes", [this](const HttpRequest&) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : Routes()) {
      out.push_back({{"method", r.method},
                     {"path", r.path},
                     {"prefix", r.prefix},
                     {"access", AccessName(r.access)}});
    }
    return HttpResponse::Json(200, out.dump());
  });
}

HttpServer::~HttpServer() = default;

void HttpServer::Route(const std::string& method, const std::string& path, HttpHandler handler,
                       Access access) {
  RouteAsync(
      method, path,
      [h = std::move(handler)](const HttpRequest& r) -> asio::awaitable<HttpResponse> {
        co_return h(r);
      },
      access);
}

void HttpServer::RouteAsync(const std::string& method, const std::string& path,
                            AsyncHttpHandler handler, Access access) {
  routes_[path][method] = {std::move(handler), HttpGuard::Resolve(access, method)};
}

void HttpServer::RoutePrefix(const std::string& method, const std::string& prefix,
                             AsyncHttpHandler handler, Access access) {
  prefixes_[prefix][method] = {std::move(handler), HttpGuard::Resolve(access, method)};
}

std::vector<HttpServer::RouteInfo> HttpServer::Routes() const {
  std::vector<RouteInfo> out;
  for (const auto* table : {&routes_, &prefixes_}) {
    for (const auto& [path, methods] : *table) {
      for (const auto& [method, h] : methods) {
        out.push_back({method, path, table == &prefixes_, h.access});
      }
    }
  }
  return out;
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

const HttpServer::Handler* HttpServer::Lookup(const HttpRequestHeader& req, int* status,
                                              std::string* error) const {
  std::string_view target(req.target().data(), req.target().size());
  std::string path(target.substr(0, target.find('?')));
  const Methods* methods = Find(path);
  if (!methods) {
    *status = 404;
    *error = "no such endpoint: " + path;
    return nullptr;
  }
  std::string method(req.method_string());
  auto m = methods->find(method);
  if (m == methods->end() && method == "HEAD") m = methods->find("GET");
  if (m == methods->end()) {
    *status = 405;
    *error = "method " + method + " not allowed on " + path;
    return nullptr;
  }
  return &m->second;
}

Status HttpServer::Start() {
  const HttpSecurityOptions& sec = options_.security;
  if (sec.public_bind && sec.protected_mode && sec.token.empty()) {
    return Status::InvalidArgument(
        "refusing to serve HTTP on " + options_.listen.host + ":" +
        std::to_string(options_.listen.port) +
        " without a token (protected mode): set --token, PIER_TOKEN or token_file (a generated "
        "token is for loopback only), or --protected-mode no");
  }
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

bool ClosedByPeer(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
         ec == asio::error::bad_descriptor || ec == asio::ssl::error::stream_truncated;
}

}  // namespace

void HttpServer::NoteDuration(const HttpRequest& req, const HttpResponse& response,
                              std::chrono::steady_clock::time_point started,
                              const Connection& conn) const {
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started) -
                    response.waited;
  if (took < options_.slow_request) return;
  LogEvent(LogLevel::kWarn, "slow HTTP request",
           {{"method", std::string(req.method_string())},
            {"path", std::string(req.target())},
            {"status", response.status},
            {"ms", static_cast<double>(took.count()) / 1000},
            {"client", conn.RemoteAddress()},
            {"listener", address()}});
}

std::optional<Span> HttpServer::BeginSpan(HttpRequest& req, const Connection& conn) const {
  if (options_.tracer == nullptr) return std::nullopt;
  const auto header = req.find("traceparent");
  TraceParent incoming;
  if (header == req.end() ||
      !TraceParent::Parse(std::string_view(header->value().data(), header->value().size()),
                          &incoming) ||
      !incoming.sampled()) {
    return std::nullopt;
  }
  Span span;
  span.kind = Span::Kind::kServer;
  span.trace_id = incoming.trace_id;
  span.parent_id = incoming.parent_id;
  span.span_id = Tracer::NewSpanId();
  span.start_unix_ns = Tracer::NowUnixNs();
  span.strings = {{"net.peer.name", conn.RemoteAddress()}};
  TraceParent mine = incoming;  // what the handler passes on: this span as the parent
  mine.parent_id = span.span_id;
  req.set("traceparent", mine.Header());
  return span;
}

void HttpServer::EndSpan(Span span, const HttpRequest& req, const HttpResponse& response) const {
  span.end_unix_ns = Tracer::NowUnixNs();
  const std::string target(req.target());
  span.name = std::string(req.method_string()) + " " + target.substr(0, target.find('?'));
  span.strings.emplace_back("http.method", std::string(req.method_string()));
  span.strings.emplace_back("http.target", target);
  span.ints = {{"http.status_code", response.status}};
  span.error = response.status >= 500;
  options_.tracer->Record(std::move(span));
}

asio::awaitable<void> HttpServer::Serve(Connection& conn) {
  Stream& stream = conn.stream();
  const HttpSecurityOptions& sec = options_.security;
  boost::beast::flat_buffer buffer;
  for (;;) {
    boost::system::error_code ec;
    // Between requests the listener's idle timeout applies; once a request starts, its head
    // has request_header_timeout to arrive (as nginx's client_header_timeout).
    if (buffer.size() == 0) {
      const size_t n = co_await stream.async_read_some(
          buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      buffer.commit(n);
    }
    HttpRequestParser parser;
    ApplyLimits(parser, options_);
    {
      SocketDeadline head_deadline(conn.socket(), sec.request_header_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      if (head_deadline.fired()) co_return;
    }
    conn.Touch();
    if (ClosedByPeer(ec)) co_return;
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
      int status = 0;
      std::string error;
      const Handler* handler = Lookup(req, &status, &error);
      const bool has_body =
          parser.content_length() ? *parser.content_length() > 0 : parser.chunked();
      bool authenticated = false;
      auto refusal =
          guard_.Check(req, handler ? handler->access : Access::kRead, has_body, &authenticated);
      const size_t limit =
          authenticated ? options_.max_body_bytes
                        : std::min(options_.max_body_bytes, sec.unauthenticated_max_body_bytes);
      if (!refusal && !parser.is_done()) {
        if (parser.content_length() && *parser.content_length() > limit) {
          refusal = HttpResponse::Error(
              413, "request body larger than " + std::to_string(limit) + " bytes" +
                       (authenticated ? "" : " (the limit before the token is checked)"));
        } else {
          parser.body_limit(limit);
          const uint64_t expect = parser.content_length().value_or(limit);
          SocketDeadline body_deadline(
              conn.socket(),
              sec.request_header_timeout +
                  std::chrono::milliseconds(expect * 1000 /
                                            std::max<size_t>(1, sec.min_body_bytes_per_second)));
          co_await http::async_read(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
          if (body_deadline.fired() || ClosedByPeer(ec)) co_return;
          if (ec) refusal = ResponseForParseError(ec, options_);
        }
      }
      if (refusal) {
        response = std::move(*refusal);  // the body may be unread: close after answering
      } else if (handler == nullptr) {
        response = HttpResponse::Error(status, error);
        keep_alive = req.keep_alive() && !shutting_down_;
      } else {
        keep_alive = req.keep_alive() && !shutting_down_;
        conn.SetBusy(true);
        const auto started = std::chrono::steady_clock::now();
        std::optional<Span> span = BeginSpan(parser.get(), conn);
        response = co_await handler->fn(parser.get());
        conn.SetBusy(false);
        if (span) EndSpan(std::move(*span), req, response);
        if (options_.slow_request.count() > 0) NoteDuration(req, response, started, conn);
      }
    }
    auto res = ToBeast(response, version, keep_alive, head);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    conn.Touch();
    if (ec) co_return;
    if (!keep_alive) {
      co_await stream.ShutdownTls(std::chrono::milliseconds(250));
      co_return;
    }
  }
}

}  // namespace pier::net
