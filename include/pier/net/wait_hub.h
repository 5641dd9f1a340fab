// File: wait_hub.h
// WaitHub: coroutines on I/O threads wait on a named topic until a condition holds, their wait
// ends, or the hub closes; a notification wakes only that topic's waiters. Blocking queries
// (Consul's ?index=, the queue's long polling) are built on it.
//   co_await hub.Wait("sub:orders/workers", [&] { return HasReady(); }, 5s);
//   hub.Notify("sub:orders/workers");  // any thread
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace pier::net {

class WaitHub {
 public:
  // Returns true when ready() holds (checked at once, then after each notification of `topic`),
  // false when `max_wait` passes first or the hub is closed. Runs on the caller's executor
  // without blocking it. ready() runs on the caller's thread.
  boost::asio::awaitable<bool> Wait(const std::string& topic, const std::function<bool()>& ready,
                                    std::chrono::steady_clock::duration max_wait);
  // Wakes the waiters of `topic` (any thread); each looks at its condition again.
  void Notify(const std::string& topic);
  // Wakes everyone, for good (shutdown).
  void Close();
  size_t waiting() const;

 private:
  struct Waiter {
    explicit Waiter(boost::asio::any_io_executor ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    bool woken = false;  // guarded by mu_
  };
  using Map = std::multimap<std::string, std::shared_ptr<Waiter>>;
  void WakeLocked(Map::iterator first, Map::iterator last);

  mutable std::mutex mu_;
  Map waiters_;
  bool closed_ = false;
};

}  // namespace pier::net
