// File: watch_hub.h
// WatchHub: Consul blocking queries. A query waits on topics ("service:web", "catalog",
// "checks") until the index it watches passes the one it has seen, or its wait ends. A change
// wakes only the waiters of the topics it touched.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "pier/net/wait_hub.h"
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
  void Close() { hub_.Close(); }
  size_t waiting() const { return hub_.waiting(); }

 private:
  net::WaitHub hub_;
};

}  // namespace pier::registry
