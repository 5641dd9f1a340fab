#include "pier/net/io_pool.h"

#include <spdlog/spdlog.h>

#include "pier/net/idle_poll.h"

namespace pier::net {

namespace {

int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// io_context::run(), except that when the queue runs dry the thread polls the reactor for up to
// `idle_poll` before it blocks, while the gate allows it.
void Run(boost::asio::io_context& ctx, std::chrono::microseconds idle_poll) {
  ThreadRunDelay delay;
  if (idle_poll.count() <= 0 || delay.Read() < 0) {
    ctx.run();
    return;
  }
  const int64_t poll_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(idle_poll).count();
  IdlePollGate gate;
  for (;;) {
    if (ctx.poll() > 0) continue;
    if (ctx.stopped()) return;
    const int64_t idle_since = MonotonicNs();
    bool found = false;
    if (gate.Allowed(idle_since, [&] { return delay.Read(); })) {
      while (!found && MonotonicNs() - idle_since < poll_ns) {
        found = ctx.poll_one() > 0;
        if (ctx.stopped()) return;
      }
    }
    if (!found && ctx.run_one() == 0) return;  // sleeps until there is work
  }
}

}  // namespace

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
          Run(*ctx, idle_poll_);
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
