#include "pier/net/io_pool.h"

#include <spdlog/spdlog.h>

namespace pier::net {

IoPool::IoPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i) {
    // concurrency hint 1: each context is run by exactly one thread, so asio can skip locking.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.push_back(boost::asio::make_work_guard(*contexts_.back()));
  }
}

IoPool::~IoPool() {
  Stop(true);
  Join();
}

boost::asio::io_context& IoPool::Next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoPool::Start() {
  {
    std::lock_guard lock(done_mu_);
    running_ = contexts_.size();
  }
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, ctx = contexts_[i].get()] {
      for (;;) {
        try {
          ctx->run();
          break;
        } catch (const std::exception& e) {
          // A handler threw: log it and keep the thread serving the others.
          spdlog::error("unhandled exception on an I/O thread: {}", e.what());
        }
      }
      std::lock_guard lock(done_mu_);
      --running_;
      done_cv_.notify_all();
    });
  }
}

bool IoPool::JoinFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(done_mu_);
  if (!done_cv_.wait_for(lock, timeout, [this] { return running_ == 0; })) return false;
  lock.unlock();
  Join();
  return true;
}

void IoPool::Stop(bool abandon) {
  for (auto& g : guards_) g.reset();
  if (abandon) {
    for (auto& c : contexts_) c->stop();
  }
}

void IoPool::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace pier::net
