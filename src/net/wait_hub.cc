#include "pier/net/wait_hub.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace pier::net {

asio::awaitable<bool> WaitHub::Wait(const std::string& topic, const std::function<bool()>& ready,
                                    std::chrono::steady_clock::duration max_wait) {
  auto ex = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  for (;;) {
    auto w = std::make_shared<Waiter>(ex);
    w->timer.expires_at(deadline);
    Map::iterator it;
    {
      std::lock_guard l(mu_);
      if (closed_) co_return false;
      it = waiters_.emplace(topic, w);
    }
    // Registered before looking, so a change between the look and the wait still wakes us (its
    // cancel is posted to this thread and runs only once we are suspended).
    if (ready()) {
      std::lock_guard l(mu_);
      if (!w->woken) waiters_.erase(it);
      co_return true;
    }
    boost::system::error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::lock_guard l(mu_);
    if (!w->woken) {  // the deadline passed
      waiters_.erase(it);
      co_return false;
    }
    if (closed_) co_return false;
    // Woken: look again (the notification may concern another part of this topic).
  }
}

void WaitHub::WakeLocked(Map::iterator first, Map::iterator last) {
  for (auto it = first; it != last; ++it) {
    auto w = it->second;
    w->woken = true;
    asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
  }
  waiters_.erase(first, last);
}

void WaitHub::Notify(const std::string& topic) {
  std::lock_guard l(mu_);
  auto [first, last] = waiters_.equal_range(topic);
  WakeLocked(first, last);
}

void WaitHub::Close() {
  std::lock_guard l(mu_);
  closed_ = true;
  WakeLocked(waiters_.begin(), waiters_.end());
}

size_t WaitHub::waiting() const {
  std::lock_guard l(mu_);
  return waiters_.size();
}

}  // namespace pier::net
