// File: resp_connection.h
// RespConnection: one blocking connection to a RESP server with connect and I/O timeouts
// (plain POSIX sockets with poll, so every wait is bounded). Not thread-safe: a pool hands it
// to one caller at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "pier/base/status.h"
#include "pier/net/resp_reply.h"

namespace pier::net {

class RespConnection {
 public:
  static Result<std::unique_ptr<RespConnection>> Connect(const std::string& host, uint16_t port,
                                                         std::chrono::milliseconds timeout);
  ~RespConnection();

  // Sends all commands in one write and reads one reply per command (pipelining). On any I/O
  // or protocol failure the connection is broken and must be dropped.
  Result<std::vector<RespValue>> Run(const std::vector<std::vector<std::string_view>>& commands,
                                     std::chrono::milliseconds timeout);
  bool broken() const { return broken_; }

 private:
  explicit RespConnection(int fd, std::string where) : fd_(fd), where_(std::move(where)) {}
  Status WriteAll(const std::string& data, std::chrono::steady_clock::time_point deadline);
  Status ReadMore(std::chrono::steady_clock::time_point deadline);

  int fd_;
  std::string where_;
  std::string in_;
  bool broken_ = false;
};

}  // namespace pier::net
