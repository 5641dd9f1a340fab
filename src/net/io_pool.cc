#include "pier/net/io_pool.h"

#include <spdlog/spdlog.h>

#include "pier/base/clock.h"
#include "pier/net/idle_poll.h"

namespace pier::net {

namespace {

// How long a thread that ran out of work polls for more before it sleeps.
constexpr int64_t kIdlePollNs = 20'000;

int64_t NowNs() { return Clock::Steady().Now().time_since_epoch().count(); }

// io_context::run(), except that when the queue runs dry the thread polls the reactor for up to
// kIdlePollNs before it blocks, while the gate allows it.
void Run(boost::asio::io_context& ctx) {
  ThreadRunDelay delay;
  if (delay.Read() < 0) {  // the kernel does not say whether this thread waits for a CPU
    ctx.run();
    return;
  }
  IdlePollGate gate;
  for (;;) {
    if (ctx.poll() > 0) continue;
    if (ctx.stopped()) return;
    const int64_t idle_since = NowNs();
    bool found = false;
    if (gate.Allowed(idle_since, [&] { return delay.Read(); })) {
      while (!found && NowNs() - idle_since < kIdlePollNs) {
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
          Run(*ctx);
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
