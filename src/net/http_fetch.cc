#include "pier/net/http_fetch.h"

#include <strings.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "pier/net/stream.h"
#include "pier/net/tcp_listener.h"
#include "pier/net/tls.h"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace pier::net {

std::string HttpFetchReply::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return "";
}

Result<HttpUrl> ParseHttpUrl(const std::string& url, const std::string& what) {
  const bool tls = url.rfind("https://", 0) == 0;
  if (!tls && url.rfind("http://", 0) != 0) {
    return Status::InvalidArgument(what + ": give http[s]://HOST:PORT[/PATH], got '" + url + "'");
  }
  const std::string rest = url.substr(tls ? 8 : 7);
  const size_t slash = rest.find('/');
  auto hp = ParseHostPort(rest.substr(0, slash), what);
  if (!hp.ok()) return hp.status();
  return HttpUrl{hp->first, hp->second, slash == std::string::npos ? "" : rest.substr(slash), tls};
}

Result<HttpFetchReply> HttpFetch(const HttpFetchRequest& r) {
  const std::string where = r.host + ":" + std::to_string(r.port);
  asio::io_context io;
  tcp::resolver resolver(io);
  Stream stream(io);
  tcp::socket& socket = stream.socket();
  if (r.tls.enabled) {
    auto ctx = MakeTlsClientContext(r.tls);
    if (!ctx.ok()) return ctx.status();
    stream.UseTls(*ctx);
    if (Status s = PrepareTlsClient(stream.tls()->native_handle(), r.tls, r.host); !s.ok())
      return s;
  }
  http::request<http::string_body> req{http::string_to_verb(r.method), r.target, 11};
  if (req.method() == http::verb::unknown) req.method_string(r.method);
  req.set(http::field::host, where);
  req.set(http::field::user_agent, "pier");
  for (const auto& [k, v] : r.headers) req.set(k, v);
  req.body() = r.body;
  req.prepare_payload();
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(r.max_body_bytes);
  boost::system::error_code failure;
  bool done = false;
  auto fail = [&](boost::system::error_code ec) {
    failure = ec;
    done = true;
  };
  // The exchange as a chain of callbacks, all run by io.run_for() below, in this frame.
  auto send = [&] {
    http::async_write(stream, req, [&](auto ec, size_t) {
      if (ec) return fail(ec);
      http::async_read(stream, buffer, parser, [&](auto ec, size_t) {
        if (ec) return fail(ec);
        done = true;
      });
    });
  };
  auto exchange = [&](const auto& endpoints) {
    asio::async_connect(socket, endpoints, [&](auto ec, auto) {
      if (ec) return fail(ec);
      if (!stream.is_tls()) return send();
      stream.tls()->async_handshake(asio::ssl::stream_base::client, [&](auto ec) {
        if (ec) return fail(ec);
        send();
      });
    });
  };
  // An IP address needs no resolver (whose private thread each io_context would start).
  boost::system::error_code not_ip;
  const auto ip = asio::ip::make_address(r.host, not_ip);
  const std::array<tcp::endpoint, 1> direct = {tcp::endpoint(ip, r.port)};
  if (!not_ip) {
    exchange(direct);
  } else {
    resolver.async_resolve(r.host, std::to_string(r.port), [&](auto ec, auto endpoints) {
      if (ec) return fail(ec);
      exchange(endpoints);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + r.timeout;
  while (!done && std::chrono::steady_clock::now() < deadline && !(r.cancel && *r.cancel)) {
    io.run_for(r.cancel ? std::chrono::milliseconds(20) : r.timeout);
  }
  if (!done) {
    resolver.cancel();
    boost::system::error_code ignored;
    socket.close(ignored);
    io.run();  // let the cancelled operations finish
    if (r.cancel && *r.cancel) return Status::Unavailable(where + ": cancelled");
    return Status::Unavailable(where + ": no answer within " + std::to_string(r.timeout.count()) +
                               " ms");
  }
  if (failure) return Status::Unavailable(where + ": " + failure.message());
  HttpFetchReply reply;
  const auto& res = parser.get();
  reply.status = static_cast<int>(res.result_int());
  reply.body = res.body();
  for (const auto& f : res) reply.headers.emplace_back(f.name_string(), f.value());
  return reply;
}

}  // namespace pier::net
