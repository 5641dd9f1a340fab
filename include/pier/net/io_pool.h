// File: io_pool.h
// IoPool: one boost::asio::io_context per thread, the runtime every server runs on.
//   IoPool pool(0);  // one thread per core
//   pool.Start();  ...  pool.Stop();  pool.Join();
// Each thread runs its context; one that runs out of work polls for 20 us before sleeping, while
// it has a core to itself (IdlePollGate). An elastic pool (SetElastic) gives connections to as
// few of its threads as keep up (ThreadBalance); handlers that can move their connection ask
// MoveTarget() between requests.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace pier::net {

// Owns N io_contexts and the threads that run them. Next() and At() are thread-safe;
// Start/Stop/Join are called from one controlling thread.
class IoPool {
 public:
  // threads == 0 means one per hardware core.
  explicit IoPool(size_t threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& At(size_t i) { return *contexts_[i]; }
  // Round-robin over the active contexts, for spreading work.
  boost::asio::io_context& Next();

  // Before Start(): measure the threads' load every `window` and keep connections on the fewest
  // threads that keep up (starting with one). Without it every thread is active.
  void SetElastic(std::chrono::milliseconds window = std::chrono::milliseconds(250));
  // Sets the active thread count by hand (tests; an elastic pool revises it each window).
  void SetActive(size_t n);
  size_t active() const { return active_.load(std::memory_order_relaxed); }
  // Connection accounting: Emptiest() is the active thread with the fewest connections (new
  // ones go there); Arrive(i)/Leave(i) count one in or out of thread i. MoveTarget(i): where a
  // connection on thread i should go (its thread is no longer active, or holds 2+ more than the
  // emptiest active one), with the counts already moved; -1 to stay.
  size_t Emptiest() const;
  void Arrive(size_t i);
  void Leave(size_t i);
  int MoveTarget(size_t i);
  size_t connections(size_t i) const { return info_[i].connections.load(); }

  void Start();
  // Lets run() return once the queued work is done; Stop(true) abandons queued work (whose
  // handlers are then destroyed with the io_contexts, so objects they use must outlive the pool).
  void Stop(bool abandon = false);
  void Join();
  // Join with a deadline: false if some thread is still running when it passes.
  bool JoinFor(std::chrono::milliseconds timeout);

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  // Per-thread state the balancer reads.
  struct ThreadInfo {
    std::atomic<int> tid{0};
    std::atomic<int64_t> idle_poll_ns{0};  // time spent polling for work
    std::atomic<int> connections{0};
  };
  void Balance();

  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  size_t running_ = 0;
  std::unique_ptr<ThreadInfo[]> info_;
  std::atomic<size_t> active_;
  std::chrono::milliseconds elastic_window_{0};  // 0: not elastic
  std::thread balancer_;
  bool stopping_ = false;  // guarded by done_mu_; wakes the balancer
};

}  // namespace pier::net
