#include "pier/net/tcp_listener.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "pier/base/logging.h"
#include "pier/net/tls.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace pier::net {

Connection::Connection(tcp::socket socket, IoPool& pool, size_t thread)
    : pool_(pool), thread_(thread), ctx_(&pool.At(thread)), stream_(std::move(socket)) {
  Touch();
  boost::system::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    remote_ip_ = ep.address().to_string();
    remote_ = remote_ip_ + ":" + std::to_string(ep.port());
  }
}

void Connection::Post(std::function<void(Connection&)> fn) {
  asio::io_context* ctx = ctx_.load();
  asio::post(*ctx, [self = shared_from_this(), ctx, fn = std::move(fn)]() mutable {
    if (self->ctx_.load() != ctx) {  // it moved meanwhile: follow it
      self->Post(std::move(fn));
      return;
    }
    fn(*self);
  });
}

bool Connection::ShouldMove() {
  if (stream_.is_tls()) return false;  // the TLS state is tied to this thread's context
  move_to_ = pool_.MoveTarget(thread_);
  return move_to_ >= 0;
}

bool Connection::Move() {
  const size_t to = static_cast<size_t>(move_to_);
  move_to_ = -1;
  boost::system::error_code ec;
  tcp::socket& socket = stream_.socket();
  const auto protocol = socket.local_endpoint(ec).protocol();
  const int fd = ec ? -1 : socket.release(ec);
  if (ec) {  // stay: undo the booking
    pool_.Leave(to);
    pool_.Arrive(thread_);
    return false;
  }
  asio::io_context& ctx = pool_.At(to);
  stream_.Rebind(tcp::socket(ctx, protocol, fd));
  thread_ = to;
  moves_.fetch_add(1);
  ctx_.store(&ctx);  // after the socket: Post() on the new thread sees it
  return true;
}

void Connection::Close() {
  boost::system::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

TcpListener::TcpListener(IoPool& pool, ListenerOptions options, ConnectionHandler handler)
    : pool_(pool),
      options_(std::move(options)),
      handler_(std::move(handler)),
      acceptor_(pool.At(0)) {}

TcpListener::~TcpListener() = default;

Result<std::shared_ptr<TcpListener>> TcpListener::Bind(IoPool& pool, ListenerOptions options,
                                                       ConnectionHandler handler) {
  const std::string where = options.host + ":" + std::to_string(options.port);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(options.host == "localhost" ? "127.0.0.1" : options.host, ec);
  if (ec) return Status::InvalidArgument(where + ": not an IP address");
  std::shared_ptr<TcpListener> l(new TcpListener(pool, std::move(options), std::move(handler)));
  tcp::endpoint ep(addr, l->options_.port);
  l->acceptor_.open(ep.protocol(), ec);
  if (!ec) l->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) l->acceptor_.bind(ep, ec);
  if (!ec) l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable(where + ": cannot listen: " + ec.message());
  l->endpoint_ = l->acceptor_.local_endpoint(ec);
  return l;
}

std::string TcpListener::address() const {
  return endpoint_.address().to_string() + ":" + std::to_string(endpoint_.port());
}

void TcpListener::Start() {
  asio::co_spawn(
      acceptor_.get_executor(), [self = shared_from_this()] { return self->AcceptLoop(); },
      asio::detached);
}

asio::awaitable<void> TcpListener::AcceptLoop() {
  for (;;) {
    const size_t thread = pool_.Emptiest();
    asio::io_context& ctx = pool_.At(thread);
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(ctx, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: log, back off briefly, keep serving.
      LogEvent(LogLevel::kWarn, "accept failed",
               {{"listener", address()}, {"error", ec.message()}});
      asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    pool_.Arrive(thread);
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket), pool_, thread);
    if (!Admit(conn)) {
      conn->Close();
      pool_.Leave(thread);
      continue;
    }
    asio::co_spawn(ctx, Serve(conn), asio::detached);
  }
}

bool TcpListener::Admit(const std::shared_ptr<Connection>& conn) {
  std::lock_guard lock(mu_);
  if (connections_.size() >= options_.max_connections) {
    LogEvent(LogLevel::kWarn, "connection limit reached: closing the new connection",
             {{"listener", address()},
              {"limit", options_.max_connections},
              {"client", conn->RemoteAddress()}});
    return false;
  }
  if (options_.max_connections_per_client > 0) {
    size_t& n = per_client_[conn->RemoteIp()];
    if (n >= options_.max_connections_per_client) {
      LogEvent(LogLevel::kWarn, "per-client connection limit reached: closing the new connection",
               {{"listener", address()}, {"client_ip", conn->RemoteIp()}, {"connections", n}});
      return false;
    }
    ++n;
  }
  connections_.insert(conn);
  return true;
}

asio::awaitable<void> TcpListener::Serve(std::shared_ptr<Connection> conn) {
  auto self = shared_from_this();
  std::shared_ptr<asio::steady_timer> timer;
  if (options_.idle_timeout.count() > 0) {
    timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    asio::co_spawn(timer->get_executor(), Watchdog(conn, timer, options_.idle_timeout),
                   asio::detached);
  }
  try {
    if (options_.tls && !conn->stream().is_tls()) {
      conn->stream().UseTls(options_.tls->Current());
      boost::system::error_code ec;
      co_await conn->stream().Handshake(asio::ssl::stream_base::server, options_.handshake_timeout,
                                        ec);
      if (ec) {
        LogEvent(
            LogLevel::kDebug, "TLS handshake failed",
            {{"listener", address()}, {"client", conn->RemoteAddress()}, {"error", ec.message()}});
        if (timer) timer->cancel();
        Finish(conn);
        co_return;
      }
    }
    co_await handler_(*conn);
  } catch (const std::exception& e) {
    LogEvent(LogLevel::kDebug, "connection ended by an error",
             {{"listener", address()}, {"client", conn->RemoteAddress()}, {"error", e.what()}});
  }
  if (timer) timer->cancel();
  Finish(conn);
}

void TcpListener::Finish(const std::shared_ptr<Connection>& conn) {
  if (conn->move_to_ >= 0) {
    conn->Move();  // when it cannot, it goes on here
    asio::co_spawn(pool_.At(conn->thread_), Serve(conn), asio::detached);
    return;
  }
  conn->Close();
  pool_.Leave(conn->thread_);
  std::lock_guard lock(mu_);
  connections_.erase(conn);
  if (options_.max_connections_per_client > 0) {
    auto it = per_client_.find(conn->RemoteIp());
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
  }
}

asio::awaitable<void> TcpListener::Watchdog(std::shared_ptr<Connection> conn,
                                            std::shared_ptr<asio::steady_timer> timer,
                                            std::chrono::milliseconds idle) {
  const uint64_t moves = conn->moves_.load();
  for (;;) {
    timer->expires_at(conn->last_activity() + idle);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;  // the connection ended
    if (conn->moves_.load() != moves) co_return;  // it moved to another thread (and watchdog)
    if (!conn->busy() && std::chrono::steady_clock::now() >= conn->last_activity() + idle) {
      conn->Close();
      co_return;
    }
  }
}

void TcpListener::Close() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
}

void TcpListener::CloseAll() {
  std::lock_guard lock(mu_);
  // Each socket belongs to its own io_context: close it there.
  for (const auto& c : connections_) c->Post([](Connection& conn) { conn.Close(); });
}

void TcpListener::CloseIdle() {
  std::lock_guard lock(mu_);
  for (const auto& c : connections_) {
    c->Post([](Connection& conn) {
      if (!conn.busy()) conn.Close();
    });
  }
}

size_t TcpListener::active_connections() const {
  std::lock_guard lock(mu_);
  return connections_.size();
}

Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text,
                                                       const std::string& what) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument(what + ": expected HOST:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* b = text.data() + colon + 1;
  const char* e = text.data() + text.size();
  auto [p, ec] = std::from_chars(b, e, port);
  if (b == e || ec != std::errc() || p != e || port > 65535) {
    return Status::InvalidArgument(what + ": port must be 0-65535, got '" + text.substr(colon + 1) +
                                   "'");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

}  // namespace pier::net
