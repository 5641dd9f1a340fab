#include "net/http_parse.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <nlohmann/json.hpp>

namespace http = boost::beast::http;

namespace pier::net {

HttpResponse HttpResponse::Error(int status, const std::string& message) {
  return Json(status, nlohmann::json{{"error", message}}.dump() + "\n");
}

void ApplyLimits(HttpRequestParser& parser, const HttpServerOptions& options) {
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
}

HttpResponse ResponseForParseError(const boost::system::error_code& ec,
                                   const HttpServerOptions& options) {
  if (ec == http::error::header_limit) {
    return HttpResponse::Error(431, "request header fields larger than " +
                                        std::to_string(options.max_header_bytes) + " bytes");
  }
  if (ec == http::error::body_limit) {
    return HttpResponse::Error(
        413, "request body larger than " + std::to_string(options.max_body_bytes) + " bytes");
  }
  return HttpResponse::Error(400, "malformed HTTP request: " + ec.message());
}

std::optional<std::variant<HttpRequest, HttpResponse>> ParseHttpRequest(
    std::string_view data, const HttpServerOptions& options) {
  HttpRequestParser parser;
  ApplyLimits(parser, options);
  parser.eager(true);
  boost::system::error_code ec;
  size_t used = 0;
  while (used < data.size() && !parser.is_done()) {
    size_t n = parser.put(boost::asio::buffer(data.data() + used, data.size() - used), ec);
    if (ec == http::error::need_more) return std::nullopt;
    if (ec) return ResponseForParseError(ec, options);
    if (n == 0) break;
    used += n;
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec)
      return ec == http::error::partial_message
                 ? std::nullopt
                 : std::optional<std::variant<HttpRequest, HttpResponse>>(
                       ResponseForParseError(ec, options));
  }
  return parser.release();
}

}  // namespace pier::net
