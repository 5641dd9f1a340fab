// File: io_pool.h
// IoPool: one boost::asio::io_context per thread, the runtime every server runs on.
//   IoPool pool(0);  // one thread per core
//   pool.Start();  ...  pool.Stop();  pool.Join();
// Each thread runs its context; one that runs out of work polls for 20 us before sleeping, while
// it has a core to itself (IdlePollGate).
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
  // Round-robin over the contexts, for spreading new connections.
  boost::asio::io_context& Next();

  void Start();
  // Lets run() return once the queued work is done; Stop(true) abandons queued work (whose
  // handlers are then destroyed with the io_contexts, so objects they use must outlive the pool).
  void Stop(bool abandon = false);
  void Join();
  // Join with a deadline: false if some thread is still running when it passes.
  bool JoinFor(std::chrono::milliseconds timeout);

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  size_t running_ = 0;
};

}  // namespace pier::net
