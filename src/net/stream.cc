#include "pier/net/stream.h"

#include <openssl/ssl.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace pier::net {

void Stream::UseTls(std::shared_ptr<asio::ssl::context> ctx) {
  ctx_ = std::move(ctx);
  tls_ = std::make_unique<TlsStream>(socket_, *ctx_);
}

struct SocketDeadline::State {
  explicit State(asio::ip::tcp::socket& s) : socket(&s), timer(s.get_executor()) {}
  asio::ip::tcp::socket* socket;  // null once the deadline is destroyed
  asio::steady_timer timer;
  bool fired = false;
};

SocketDeadline::SocketDeadline(asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout)
    : state_(std::make_shared<State>(socket)) {
  state_->timer.expires_after(timeout);
  state_->timer.async_wait([st = state_](const boost::system::error_code& ec) {
    if (ec || st->socket == nullptr) return;  // cancelled: the exchange finished first
    st->fired = true;
    boost::system::error_code ignored;
    st->socket->close(ignored);
  });
}

SocketDeadline::~SocketDeadline() {
  state_->socket = nullptr;
  state_->timer.cancel();
}

bool SocketDeadline::fired() const { return state_->fired; }

asio::awaitable<void> Stream::Handshake(asio::ssl::stream_base::handshake_type type,
                                        std::chrono::milliseconds timeout,
                                        boost::system::error_code& ec) {
  ec = {};
  SocketDeadline deadline(socket_, timeout);
  co_await tls_->async_handshake(type, asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> Stream::ShutdownTls(std::chrono::milliseconds timeout) {
  if (!tls_ || !socket_.is_open()) co_return;
  SocketDeadline deadline(socket_, timeout);
  boost::system::error_code ec;
  co_await tls_->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

std::string Stream::alpn() const {
  if (!tls_) return "";
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(tls_->native_handle(), &p, &n);
  return p == nullptr ? "" : std::string(reinterpret_cast<const char*>(p), n);
}

std::string Stream::server_name() const {
  if (!tls_) return "";
  const char* name = SSL_get_servername(tls_->native_handle(), TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? "" : name;
}

size_t Stream::available() {
  boost::system::error_code ec;
  size_t n = socket_.available(ec);
  if (ec) n = 0;
  if (tls_) n += static_cast<size_t>(SSL_pending(tls_->native_handle()));
  return n;
}

}  // namespace pier::net
