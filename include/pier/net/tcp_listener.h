// File: tcp_listener.h
// TcpListener: accepts connections, spreads them over an IoPool, enforces a connection limit and
// an idle timeout, and runs one coroutine per connection.
//   auto l = TcpListener::Bind(pool, {.host = "127.0.0.1", .port = 0},
//       [](Connection& c) -> boost::asio::awaitable<void> { ... co_await
//       c.socket().async_read_some(...) });
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "pier/base/status.h"
#include "pier/net/io_pool.h"
#include "pier/net/listener_options.h"
#include "pier/net/stream.h"

namespace pier::net {

// One accepted connection. Lives on one of the pool's io_contexts at a time; not thread-safe,
// except Post(). A handler whose state survives its return may move the connection to another
// thread of an elastic pool: between requests, `if (conn.ShouldMove()) co_return;` and the
// listener calls the handler again on the new thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, IoPool& pool, size_t thread);
  // What handlers read and write (plain or TLS).
  Stream& stream() { return stream_; }
  // The TCP socket underneath (addresses, shutdown); never read or write it directly.
  boost::asio::ip::tcp::socket& socket() { return stream_.socket(); }
  // Runs fn on the connection's thread (the one it is on when fn runs). Thread-safe.
  void Post(std::function<void(Connection&)> fn);
  // Asks the pool whether this connection should go to another thread; if so it is booked
  // there and the handler should return. A TLS connection stays where it is.
  bool ShouldMove();
  // State a moving handler keeps between its calls (nullptr at first).
  std::shared_ptr<void>& handler_state() { return handler_state_; }
  // Marks activity: the idle timeout restarts from now.
  void Touch() { last_activity_ = std::chrono::steady_clock::now(); }
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
  // While busy (a request is being answered, e.g. a blocking query), the idle timeout waits.
  void SetBusy(bool busy) {
    busy_ = busy;
    Touch();
  }
  bool busy() const { return busy_; }
  // Closes the socket; pending reads and writes finish with an error.
  void Close();
  std::string RemoteAddress() const { return remote_; }
  // The peer's IP address, without the port.
  const std::string& RemoteIp() const { return remote_ip_; }

 private:
  friend class TcpListener;
  // Re-registers the socket with thread `move_to_`'s context; false (and it stays) on failure.
  bool Move();

  IoPool& pool_;
  size_t thread_;
  int move_to_ = -1;
  std::atomic<boost::asio::io_context*> ctx_;
  std::atomic<uint64_t> moves_{0};
  std::shared_ptr<void> handler_state_;
  Stream stream_;
  std::chrono::steady_clock::time_point last_activity_;
  bool busy_ = false;
  std::string remote_;
  std::string remote_ip_;
};

using ConnectionHandler = std::function<boost::asio::awaitable<void>(Connection&)>;

// Thread-safe: Close/CloseAll/active_connections may be called from any thread.
class TcpListener : public std::enable_shared_from_this<TcpListener> {
 public:
  // Binds and listens; errors say which address failed and why ("127.0.0.1:7379: address in use").
  static Result<std::shared_ptr<TcpListener>> Bind(IoPool& pool, ListenerOptions options,
                                                   ConnectionHandler handler);
  ~TcpListener();

  boost::asio::ip::tcp::endpoint local_endpoint() const { return endpoint_; }
  std::string address() const;  // "127.0.0.1:41234"
  void Start();
  // Stops accepting; existing connections go on.
  void Close();
  // Closes the connections that are not busy (idle keep-alive ones), for a graceful shutdown.
  void CloseIdle();
  // Closes every open connection (the shutdown deadline passed).
  void CloseAll();
  size_t active_connections() const;

 private:
  TcpListener(IoPool& pool, ListenerOptions options, ConnectionHandler handler);
  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> Serve(std::shared_ptr<Connection> conn);
  static boost::asio::awaitable<void> Watchdog(std::shared_ptr<Connection> conn,
                                               std::shared_ptr<boost::asio::steady_timer> timer,
                                               std::chrono::milliseconds idle);
  // The connection's handler has returned: close it, or serve it on its new thread.
  void Finish(const std::shared_ptr<Connection>& conn);
  // Books a new connection; false (and nothing booked) when a limit refuses it.
  bool Admit(const std::shared_ptr<Connection>& conn);

  IoPool& pool_;
  ListenerOptions options_;
  ConnectionHandler handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint endpoint_;
  mutable std::mutex mu_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  std::unordered_map<std::string, size_t> per_client_;  // open connections by client address
};

// "host:port" -> (host, port); errors name the flag or field given in `what`.
Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text,
                                                       const std::string& what);

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

}  // namespace pier::net
