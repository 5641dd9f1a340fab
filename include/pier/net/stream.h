// File: stream.h
// Stream: a TCP connection that is plain or TLS, decided at run time, with the read and write
// calls of an Asio stream (so Beast, asio::async_write and pier's own loops use it unchanged).
//   Stream s(std::move(socket));
//   s.UseTls(ctx);  co_await s.Handshake(ssl::stream_base::server, ec);
//   co_await s.async_read_some(buf, asio::use_awaitable);
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <memory>
#include <string>

namespace pier::net {

// Not thread-safe (one connection's coroutine uses it); not movable (the TLS layer points at
// the socket).
class Stream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

  explicit Stream(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
  // A stream whose socket is not open yet (to connect it).
  explicit Stream(boost::asio::io_context& io) : socket_(io) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  bool is_tls() const { return tls_ != nullptr; }
  TlsStream* tls() { return tls_.get(); }

  // Wraps the socket in TLS with `ctx` (kept alive as long as the stream); once, before I/O.
  void UseTls(std::shared_ptr<boost::asio::ssl::context> ctx);
  // The TLS handshake, bounded by `timeout` (the socket is closed when it passes).
  boost::asio::awaitable<void> Handshake(boost::asio::ssl::stream_base::handshake_type type,
                                         std::chrono::milliseconds timeout,
                                         boost::system::error_code& ec);
  // Sends TLS's close_notify (waiting at most `timeout` for the peer's), so clients see a clean
  // end; nothing for a plain stream.
  boost::asio::awaitable<void> ShutdownTls(std::chrono::milliseconds timeout);
  // The negotiated ALPN protocol and the SNI name the client asked for ("" when none).
  std::string alpn() const;
  std::string server_name() const;
  // Bytes readable without waiting (decrypted bytes count for TLS).
  size_t available();
  // Replaces the socket of a plain stream (a connection moving to another thread).
  void Rebind(boost::asio::ip::tcp::socket socket) { socket_ = std::move(socket); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  boost::asio::ip::tcp::socket socket_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;  // before tls_: outlives the SSL object
  std::unique_ptr<TlsStream> tls_;
};

// Closes a socket unless destroyed first, `timeout` after construction: one bound on a whole
// exchange (a TLS handshake, a request head, a body) without a timer per read. Use it on the
// socket's own thread.
class SocketDeadline {
 public:
  SocketDeadline(boost::asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout);
  ~SocketDeadline();
  SocketDeadline(const SocketDeadline&) = delete;
  SocketDeadline& operator=(const SocketDeadline&) = delete;
  // Whether the time ran out (and the socket was closed).
  bool fired() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace pier::net
