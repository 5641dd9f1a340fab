#include "proxy/worker.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "pier/base/clock.h"
#include "pier/net/tls.h"

namespace pier::proxy {

namespace {
constexpr std::chrono::milliseconds kSweepEvery{10};
}

std::unique_ptr<UpstreamConn> ConnectionPool::Take(const std::string& address, int64_t now_ms,
                                                   int64_t max_idle_ms) {
  auto it = idle_.find(address);
  if (it == idle_.end()) return nullptr;
  auto& v = it->second;
  while (!v.empty()) {
    std::unique_ptr<UpstreamConn> c = std::move(v.back());
    v.pop_back();
    if (now_ms - c->idle_since_ms <= max_idle_ms && c->stream.socket().is_open()) return c;
  }
  return nullptr;
}

void ConnectionPool::Put(std::unique_ptr<UpstreamConn> conn, int64_t now_ms, size_t max_idle) {
  auto& v = idle_[conn->address];
  if (v.size() >= max_idle) return;  // closes it
  conn->idle_since_ms = now_ms;
  v.push_back(std::move(conn));
}

void ConnectionPool::Expire(int64_t now_ms, int64_t max_idle_ms) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& v = it->second;
    std::erase_if(v, [&](const std::unique_ptr<UpstreamConn>& c) {
      return now_ms - c->idle_since_ms > max_idle_ms;
    });
    it = v.empty() ? idle_.erase(it) : std::next(it);
  }
}

size_t ConnectionPool::idle() const {
  size_t n = 0;
  for (const auto& [_, v] : idle_) n += v.size();
  return n;
}

DeadlineList::DeadlineList(boost::asio::io_context& io) : timer_(io) {
  head_.prev = head_.next = &head_;
}

DeadlineList::~DeadlineList() {
  while (head_.next != &head_) Disarm(head_.next);
}

void DeadlineList::Arm(Deadline* d, int64_t at_ms, tcp::socket* socket) {
  if (d->armed) Disarm(d);
  d->at_ms = at_ms;
  d->socket = socket;
  d->fired = false;
  d->armed = true;
  d->prev = head_.prev;
  d->next = &head_;
  head_.prev->next = d;
  head_.prev = d;
  if (!ticking_ && !stopped_) Schedule();
}

void DeadlineList::Disarm(Deadline* d) {
  if (!d->armed) return;
  d->prev->next = d->next;
  d->next->prev = d->prev;
  d->prev = d->next = nullptr;
  d->armed = false;
}

void DeadlineList::Sweep(int64_t now_ms) {
  for (Deadline* d = head_.next; d != &head_;) {
    Deadline* next = d->next;
    if (d->at_ms <= now_ms) {
      Disarm(d);
      d->fired = true;
      boost::system::error_code ignored;
      d->socket->cancel(ignored);
    }
    d = next;
  }
}

void DeadlineList::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void DeadlineList::Schedule() {
  ticking_ = true;
  timer_.expires_after(kSweepEvery);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    ticking_ = false;
    if (ec || stopped_) return;
    Sweep(SteadyNowMs());
    if (head_.next != &head_) Schedule();  // idle threads stop ticking
  });
}

std::string PoolKey(const std::string& address, const UpstreamTls& tls) {
  if (!tls.context) return address;
  char id[32];
  std::snprintf(id, sizeof id, "tls@%p|", static_cast<const void*>(tls.context.get()));
  return id + address;
}

awaitable<std::unique_ptr<UpstreamConn>> ConnectUpstream(Worker& w, const std::string& address,
                                                         int64_t timeout_ms, const UpstreamTls& tls,
                                                         std::string* error, bool* timed_out) {
  namespace asio = boost::asio;
  *timed_out = false;
  const size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : address.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto conn = std::make_unique<UpstreamConn>(w.io);
  conn->address = PoolKey(address, tls);
  error_code ec;
  tcp::endpoint ep;
  auto ip = asio::ip::make_address(host, ec);
  if (!ec) {
    ep = tcp::endpoint(ip, static_cast<uint16_t>(std::atoi(port.c_str())));
  } else {
    tcp::resolver resolver(w.io);
    auto results =
        co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || results.empty()) {
      *error = "cannot resolve '" + host + "': " + (ec ? ec.message() : "no address");
      co_return nullptr;
    }
    ep = *results.begin();
  }
  Deadline d;
  tcp::socket& socket = conn->stream.socket();
  w.deadlines.Arm(&d, SteadyNowMs() + timeout_ms, &socket);
  co_await socket.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && !d.fired) socket.set_option(tcp::no_delay(true), ec);
  if (!ec && !d.fired && tls.context) {
    conn->stream.UseTls(tls.context);
    Status s = net::PrepareTlsClient(conn->stream.tls()->native_handle(), *tls.options, host);
    if (!s.ok()) {
      w.deadlines.Disarm(&d);
      *error = s.message();
      co_return nullptr;
    }
    co_await conn->stream.tls()->async_handshake(asio::ssl::stream_base::client,
                                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec && !d.fired) {
      w.deadlines.Disarm(&d);
      *error = "TLS handshake: " + ec.message();
      co_return nullptr;
    }
  }
  w.deadlines.Disarm(&d);
  if (d.fired) {
    *timed_out = true;
    *error = "connect timed out after " + std::to_string(timeout_ms) + " ms";
    co_return nullptr;
  }
  if (ec) {
    *error = "connect: " + ec.message();
    co_return nullptr;
  }
  co_return conn;
}

bool StillOpen(tcp::socket& s) {
  char c;
  const ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace pier::proxy
