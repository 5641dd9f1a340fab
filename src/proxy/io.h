// File: io.h
// The proxy's socket plumbing: a read buffer that keeps unread bytes (pipelined requests, a
// body's first bytes), reads and writes that report errors instead of throwing, and a
// bidirectional tunnel (WebSocket upgrades, TCP mode) with half-close.
//   Buffer in;  if (co_await ReadMore(sock, in, ec) == 0) ...;   Use(in.view());  in.Consume(n);
#pragma once

// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

#include "pier/net/stream.h"

namespace pier::proxy {

using boost::asio::awaitable;
using boost::asio::ip::tcp;
using boost::system::error_code;

class Buffer {
 public:
  explicit Buffer(size_t initial = 16384) : data_(initial) {}
  std::string_view view() const { return {data_.data() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void Consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Room for at least `min` more bytes, moving unread bytes to the front or growing.
  boost::asio::mutable_buffer Prepare(size_t min = 4096) {
    if (data_.size() - end_ < min) {
      if (begin_ > 0) {
        std::memmove(data_.data(), data_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (data_.size() - end_ < min) data_.resize(end_ + std::max(min, data_.size()));
    }
    return boost::asio::buffer(data_.data() + end_, data_.size() - end_);
  }
  void Commit(size_t n) { end_ += n; }
  void Clear() { begin_ = end_ = 0; }

 private:
  std::vector<char> data_;
  size_t begin_ = 0, end_ = 0;
};

// Reads what is available into `buf`; 0 with `ec` set at EOF or on an error.
awaitable<size_t> ReadMore(net::Stream& s, Buffer& buf, error_code& ec);
// Writes all of `a` then `b` (either may be empty) in one gathered write.
awaitable<void> WriteAll(net::Stream& s, std::string_view a, std::string_view b, error_code& ec);

// Copies bytes both ways until both directions end: EOF on one side shuts down sending on the
// other (half-close); an error closes both. `client_pending` and `upstream_pending` are bytes
// already read from each side, sent first. `activity` is called on every transfer. Once the
// client has closed its side, the upstream gets `idle_ms` of silence before both are closed
// (while the client side is open, the client connection's own idle timeout applies). A TLS
// side cannot be half-closed: EOF towards it closes both.
awaitable<void> Tunnel(net::Stream& client, net::Stream& upstream, std::string_view client_pending,
                       std::string_view upstream_pending, std::function<void()> activity,
                       int64_t idle_ms);

}  // namespace pier::proxy
