#include "registry/server/watch_hub.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace pier::registry {

std::vector<std::string> WatchHub::TopicsOf(const Change& change) {
  std::vector<std::string> topics = {"any"};
  for (const auto& s : change.services) topics.push_back("service:" + s);
  if (change.catalog) topics.push_back("catalog");
  if (change.checks) topics.push_back("checks");
  return topics;
}

asio::awaitable<void> WatchHub::Wait(const std::string& topic,
                                     const std::function<uint64_t()>& current, uint64_t seen,
                                     std::chrono::steady_clock::duration max_wait) {
  auto ex = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  for (;;) {
    auto w = std::make_shared<Waiter>(ex);
    w->timer.expires_at(deadline);
    Map::iterator it;
    {
      std::lock_guard l(mu_);
      if (closed_) co_return;
      it = waiters_.emplace(topic, w);
    }
    // Registered before looking, so a change between the look and the wait still wakes us (its
    // cancel is posted to this thread and runs only once we are suspended).
    if (current() > seen) {
      std::lock_guard l(mu_);
      if (!w->woken) waiters_.erase(it);
      co_return;
    }
    boost::system::error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::lock_guard l(mu_);
    if (!w->woken) {  // the deadline passed
      waiters_.erase(it);
      co_return;
    }
    if (closed_) co_return;
    // Woken: look again (the change may concern another index of this topic).
  }
}

void WatchHub::WakeLocked(Map::iterator first, Map::iterator last) {
  for (auto it = first; it != last; ++it) {
    auto w = it->second;
    w->woken = true;
    asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
  }
  waiters_.erase(first, last);
}

void WatchHub::Notify(const Change& change) {
  std::lock_guard l(mu_);
  for (const auto& topic : TopicsOf(change)) {
    auto [first, last] = waiters_.equal_range(topic);
    WakeLocked(first, last);
  }
}

void WatchHub::Close() {
  std::lock_guard l(mu_);
  closed_ = true;
  WakeLocked(waiters_.begin(), waiters_.end());
}

size_t WatchHub::waiting() const {
  std::lock_guard l(mu_);
  return waiters_.size();
}

}  // namespace pier::registry
