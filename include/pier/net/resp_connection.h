// File: resp_connection.h
// RespConnection: one blocking connection to a RESP server with connect and I/O timeouts
// (plain POSIX sockets with poll, so every wait is bounded; TLS through OpenSSL on the same
// socket). Not thread-safe: a pool hands it to one caller at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "pier/base/status.h"
#include "pier/net/resp_reply.h"
#include "pier/net/tls_options.h"

namespace pier::net {

class RespConnection {
 public:
  // With `tls.enabled`, a TLS handshake within the same timeout (verified as `tls` says).
  static Result<std::unique_ptr<RespConnection>> Connect(const std::string& host, uint16_t port,
                                                         std::chrono::milliseconds timeout,
                                                         const TlsClientOptions& tls = {});
  ~RespConnection();

  // Sends all commands in one write and reads one reply per command (pipelining). On any I/O
  // or protocol failure the connection is broken and must be dropped.
  Result<std::vector<RespValue>> Run(const std::vector<std::vector<std::string_view>>& commands,
                                     std::chrono::milliseconds timeout);
  // Reads `n` more replies without sending anything (pub/sub messages).
  Result<std::vector<RespValue>> Read(size_t n, std::chrono::milliseconds timeout);
  // Whether a reply can be read (buffered, or arriving within `timeout`); unlike Read, waiting
  // in vain does not break the connection (a subscriber polls with it between messages).
  bool Readable(std::chrono::milliseconds timeout);
  bool broken() const { return broken_; }

 private:
  Result<std::vector<RespValue>> ReadUntil(size_t n,
                                           std::chrono::steady_clock::time_point deadline);
  explicit RespConnection(int fd, std::string where) : fd_(fd), where_(std::move(where)) {}
  Status StartTls(const TlsClientOptions& tls, const std::string& host,
                  std::chrono::steady_clock::time_point deadline);
  // Waits until an OpenSSL call that returned `ret` may be retried; false with *error set when
  // it failed for good or the deadline passed.
  bool TlsRetry(int ret, std::chrono::steady_clock::time_point deadline, const char* what,
                Status* error);
  Status WriteAll(const std::string& data, std::chrono::steady_clock::time_point deadline);
  Status ReadMore(std::chrono::steady_clock::time_point deadline);

  int fd_;
  std::shared_ptr<void> tls_ctx_;  // the SSL_CTX's owner, while ssl_ lives
  void* ssl_ = nullptr;            // SSL*
  std::string where_;
  std::string in_;
  bool broken_ = false;
};

}  // namespace pier::net
