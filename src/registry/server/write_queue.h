// File: write_queue.h
// WriteQueue: group commit for registry writes. Writes from every connection queue up; one disk
// thread takes all that are waiting, commits them in one store transaction (one fsync), and wakes
// each writer with its own status. Under load, batches grow by themselves.
#pragma once

// clang-format off
#include <utility>
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <vector>

#include "pier/metrics/metrics.h"
#include "pier/registry/registry.h"

namespace pier::registry {

class WriteQueue {
 public:
  WriteQueue(ServiceRegistry& registry, boost::asio::any_io_executor disk);
  // Returns once the write is durable and applied (or refused). Runs on the caller's executor.
  boost::asio::awaitable<Status> Submit(const ServiceRegistry::Write& write);

 private:
  struct Pending {
    Pending(ServiceRegistry::Write w, boost::asio::any_io_executor ex)
        : write(std::move(w)), done(ex) {}
    ServiceRegistry::Write write;
    Status result;
    boost::asio::steady_timer done;
  };
  void Flush();

  ServiceRegistry& registry_;
  boost::asio::any_io_executor disk_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Pending>> queue_;
  bool scheduled_ = false;
  metrics::Histogram* batch_size_;
};

}  // namespace pier::registry
