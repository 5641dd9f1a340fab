// File: http_parse.h
// How pier's HTTP server parses a request: Beast's parser with pier's size limits, and the
// answer to each parse failure. Free of coroutines so the fuzz target can use it directly.
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string_view>
#include <variant>

#include "pier/net/http_types.h"

namespace pier::net {

using HttpRequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Applies the header and body limits of `options`.
void ApplyLimits(HttpRequestParser& parser, const HttpServerOptions& options);

// The response for a failed parse: 431, 413 or 400 with a JSON body saying what was wrong.
HttpResponse ResponseForParseError(const boost::system::error_code& ec,
                                   const HttpServerOptions& options);

// Parses one request from `data` synchronously (the fuzz target's entry point). Returns the
// request, or the error response; nullopt when the data ends before the request does.
std::optional<std::variant<HttpRequest, HttpResponse>> ParseHttpRequest(
    std::string_view data, const HttpServerOptions& options);

}  // namespace pier::net
