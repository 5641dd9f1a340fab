// File: watch_hub.h
// WatchHub: Consul blocking queries. A query waits on topics ("service:web", "catalog",
// "checks") until the index it watches passes the one it has seen, or its wait ends. A change
// wakes only the waiters of the topics it touched.
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
#include <vector>

#include "pier/registry/registry.h"

namespace pier::registry {

class WatchHub {
 public:
  // Topics a change touches: "service:<name>" per service, "catalog", "checks", and "any".
  static std::vector<std::string> TopicsOf(const Change& change);

  // Returns when current() > seen, when `max_wait` passes, or when Close() is called. Runs on
  // the caller's executor (an I/O thread) without blocking it.
  boost::asio::awaitable<void> Wait(const std::string& topic,
                                    const std::function<uint64_t()>& current, uint64_t seen,
                                    std::chrono::steady_clock::duration max_wait);
  // Wakes the waiters of the change's topics (any thread).
  void Notify(const Change& change);
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

}  // namespace pier::registry
