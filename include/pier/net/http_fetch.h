// File: http_fetch.h
// HttpFetch: one blocking HTTP/1.1 request with a deadline, for command-line tools and client
// libraries (never on an I/O thread).
//   auto r = HttpFetch({.host = "127.0.0.1", .port = 7900, .target = "/v1/agent/services"});
//   if (r.ok() && r->status == 200) use(r->body);
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pier/base/status.h"
#include "pier/net/tls_options.h"

namespace pier::net {

struct HttpFetchRequest {
  std::string host = "127.0.0.1";
  uint16_t port = 80;
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{5000};  // for the whole exchange
  size_t max_body_bytes = 64 << 20;
  // When set, the request gives up soon (within ~20 ms) after it becomes true.
  const std::atomic<bool>* cancel = nullptr;
  // HTTPS when tls.enabled (verified against tls.ca_cert_file, or the system's CAs).
  TlsClientOptions tls;
};

struct HttpFetchReply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(const std::string& name) const;  // case-insensitive; "" when absent
};

// Unavailable (with HOST:PORT and the reason) when the exchange fails or times out; any HTTP
// status is a reply.
Result<HttpFetchReply> HttpFetch(const HttpFetchRequest& request);

// http[s]://HOST:PORT[/PATH] taken apart (`target`: the path, "" when the URL has none).
struct HttpUrl {
  std::string host;
  uint16_t port = 0;
  std::string target;
  bool tls = false;  // https
};
// InvalidArgument naming `what` (a flag) when `url` is not http[s]://HOST:PORT[/PATH].
Result<HttpUrl> ParseHttpUrl(const std::string& url, const std::string& what);

}  // namespace pier::net
