// File: worker.h
// What the proxy keeps per I/O thread, so the request path takes no lock: idle keep-alive
// connections to upstream hosts (by address), and the deadlines of upstream operations, swept
// by one timer instead of a timer per request.
//   Worker& w = ...;  auto c = w.pool.Take("10.0.0.1:80", now);   w.pool.Put(addr, std::move(c));
//   Deadline d;  w.deadlines.Arm(&d, now + 5000, &socket);  co_await read...;
//   w.deadlines.Disarm(&d);
#pragma once

// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pier/net/tls_options.h"
#include "proxy/io.h"

namespace pier::proxy {

using boost::asio::ip::tcp;

// One upstream connection with its read buffer (bytes past a response stay with it).
struct UpstreamConn {
  explicit UpstreamConn(boost::asio::io_context& io) : stream(io) {}
  net::Stream stream;
  Buffer in;            // bytes read from the upstream and not yet forwarded
  std::string address;  // the pool's key (PoolKey)
  int64_t idle_since_ms = 0;
  uint64_t requests = 0;  // served on this connection so far
};

class ConnectionPool {
 public:
  // An idle connection to `address` not older than `max_idle_ms`, or nullptr.
  std::unique_ptr<UpstreamConn> Take(const std::string& address, int64_t now_ms,
                                     int64_t max_idle_ms);
  // Keeps `conn` for reuse unless `max_idle` are kept for its address already.
  void Put(std::unique_ptr<UpstreamConn> conn, int64_t now_ms, size_t max_idle);
  // Closes connections idle for longer than `max_idle_ms`.
  void Expire(int64_t now_ms, int64_t max_idle_ms);
  void Clear() { idle_.clear(); }
  size_t idle() const;

 private:
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConn>>> idle_;
};

// A deadline on a socket operation: when it passes, the socket's pending operations are
// cancelled and `fired` is set, so the awaiting code reports a timeout.
struct Deadline {
  int64_t at_ms = 0;
  tcp::socket* socket = nullptr;
  bool fired = false;
  Deadline* prev = nullptr;
  Deadline* next = nullptr;
  bool armed = false;
};

class DeadlineList {
 public:
  explicit DeadlineList(boost::asio::io_context& io);
  ~DeadlineList();
  void Arm(Deadline* d, int64_t at_ms, tcp::socket* socket);
  void Disarm(Deadline* d);
  // Fires every deadline at or before `now_ms` (the sweep timer calls this).
  void Sweep(int64_t now_ms);
  void Stop();

 private:
  void Schedule();
  boost::asio::steady_timer timer_;
  Deadline head_;  // sentinel of a circular list
  bool ticking_ = false;
  bool stopped_ = false;
};

struct Worker {
  explicit Worker(boost::asio::io_context& io) : io(io), deadlines(io) {}
  boost::asio::io_context& io;
  ConnectionPool pool;
  DeadlineList deadlines;
};

// TLS towards an upstream: the context and what to verify.
struct UpstreamTls {
  std::shared_ptr<boost::asio::ssl::context> context;
  const net::TlsClientOptions* options = nullptr;
};

// The pool key of a connection to `address`: plain, or TLS with one cluster's context (two
// clusters that verify differently never share a connection; a reload's new context starts
// new ones).
std::string PoolKey(const std::string& address, const UpstreamTls& tls);

// Opens a connection to `address` (HOST:PORT; an IP address or a name to resolve) within
// `timeout_ms`, with a TLS handshake in that time when `tls.context` is set. On failure returns
// nullptr with *error saying why and *timed_out set when the deadline passed.
awaitable<std::unique_ptr<UpstreamConn>> ConnectUpstream(Worker& w, const std::string& address,
                                                         int64_t timeout_ms, const UpstreamTls& tls,
                                                         std::string* error, bool* timed_out);

// Whether an idle pooled connection still looks usable: not closed by the peer, no stray bytes.
bool StillOpen(tcp::socket& s);

}  // namespace pier::proxy
