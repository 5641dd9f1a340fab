#include "proxy/io.h"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>

namespace pier::proxy {

namespace asio = boost::asio;

awaitable<size_t> ReadMore(net::Stream& s, Buffer& buf, error_code& ec) {
  ec = {};
  const size_t n =
      co_await s.async_read_some(buf.Prepare(), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return 0;
  buf.Commit(n);
  co_return n;
}

awaitable<void> WriteAll(net::Stream& s, std::string_view a, std::string_view b, error_code& ec) {
  ec = {};
  const std::array<asio::const_buffer, 2> bufs = {asio::buffer(a.data(), a.size()),
                                                  asio::buffer(b.data(), b.size())};
  co_await asio::async_write(s, bufs, asio::redirect_error(asio::use_awaitable, ec));
}

namespace {

struct TunnelState {
  explicit TunnelState(const asio::any_io_executor& ex) : other_done(ex) {}
  asio::steady_timer other_done;  // cancelled when the spawned direction ends
  bool finished = false;
  bool failed = false;
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
};

void CloseBoth(net::Stream& a, net::Stream& b) {
  error_code ignored;
  a.socket().close(ignored);
  b.socket().close(ignored);
}

// One direction: pending bytes first, then copy until EOF or an error.
awaitable<void> Pipe(net::Stream& from, net::Stream& to, std::string_view pending,
                     const std::function<void()>& activity, TunnelState& st) {
  error_code ec;
  if (!pending.empty()) co_await WriteAll(to, pending, {}, ec);
  std::array<char, 16384> buf;
  while (!ec) {
    const size_t n = co_await from.async_read_some(asio::buffer(buf),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    st.last_activity = std::chrono::steady_clock::now();
    if (activity) activity();
    co_await asio::async_write(to, asio::buffer(buf.data(), n),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec == asio::error::eof && !to.is_tls()) {
    error_code ignored;
    to.socket().shutdown(tcp::socket::shutdown_send, ignored);
  } else if (!st.failed) {
    st.failed = true;
    CloseBoth(from, to);
  }
}

}  // namespace

awaitable<void> Tunnel(net::Stream& client, net::Stream& upstream, std::string_view client_pending,
                       std::string_view upstream_pending, std::function<void()> activity,
                       int64_t idle_ms) {
  auto st = std::make_shared<TunnelState>(client.get_executor());
  // upstream -> client runs beside this coroutine; both reference sockets that outlive the call
  // because this coroutine waits for it below.
  asio::co_spawn(
      client.get_executor(),
      [&client, &upstream, upstream_pending, &activity, st]() -> awaitable<void> {
        co_await Pipe(upstream, client, upstream_pending, activity, *st);
        st->finished = true;
        st->other_done.cancel();
      },
      asio::detached);
  co_await Pipe(client, upstream, client_pending, activity, *st);
  const auto idle = std::chrono::milliseconds(idle_ms);
  while (!st->finished) {
    if (idle_ms > 0 && std::chrono::steady_clock::now() - st->last_activity >= idle &&
        !st->failed) {
      st->failed = true;
      CloseBoth(client, upstream);  // the other direction ends with an error
    }
    st->other_done.expires_at(idle_ms > 0 ? st->last_activity + idle
                                          : asio::steady_timer::time_point::max());
    error_code ec;
    co_await st->other_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace pier::proxy
