#include "pier/net/io_pool.h"

#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "pier/base/clock.h"
#include "pier/base/logging.h"
#include "pier/net/idle_poll.h"
#include "pier/net/thread_balance.h"

namespace pier::net {

namespace {

// How long a thread that ran out of work polls for more before it sleeps.
constexpr int64_t kIdlePollNs = 20'000;

int64_t NowNs() { return Clock::Steady().Now().time_since_epoch().count(); }

// io_context::run(), except that when the queue runs dry the thread polls the reactor for up to
// kIdlePollNs before it blocks, while the gate allows it; the polling time adds to `idle_poll_ns`.
void Run(boost::asio::io_context& ctx, std::atomic<int64_t>& idle_poll_ns) {
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
      int64_t now = idle_since;
      while (!found && now - idle_since < kIdlePollNs) {
        found = ctx.poll_one() > 0;
        if (ctx.stopped()) return;
        now = NowNs();
      }
      idle_poll_ns.fetch_add(now - idle_since, std::memory_order_relaxed);
    }
    if (!found && ctx.run_one() == 0) return;  // sleeps until there is work
  }
}

}  // namespace

IoPool::IoPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  info_ = std::make_unique<ThreadInfo[]>(threads);
  active_ = threads;
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
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % active()];
}

void IoPool::SetElastic(std::chrono::milliseconds window) {
  elastic_window_ = window;
  active_ = 1;
}

void IoPool::SetActive(size_t n) { active_ = std::clamp<size_t>(n, 1, contexts_.size()); }

size_t IoPool::Emptiest() const {
  size_t best = 0;
  const size_t n = active();
  for (size_t i = 1; i < n; ++i) {
    if (info_[i].connections.load(std::memory_order_relaxed) <
        info_[best].connections.load(std::memory_order_relaxed))
      best = i;
  }
  return best;
}

void IoPool::Arrive(size_t i) { info_[i].connections.fetch_add(1, std::memory_order_relaxed); }

void IoPool::Leave(size_t i) { info_[i].connections.fetch_sub(1, std::memory_order_relaxed); }

int IoPool::MoveTarget(size_t i) {
  const size_t to = Emptiest();
  if (to == i) return -1;
  if (i < active() && info_[i].connections.load(std::memory_order_relaxed) <
                          info_[to].connections.load(std::memory_order_relaxed) + 2)
    return -1;
  Leave(i);
  Arrive(to);
  return static_cast<int>(to);
}

// The balancer thread: once per window, the active threads' load and the machine's idle CPU go
// to ThreadBalance, whose answer becomes the active count.
void IoPool::Balance() {
  const size_t n = contexts_.size();
  ThreadBalance balance(n);
  struct Sample {
    SchedTimes sched;
    int64_t idle_poll_ns;
  };
  auto sample = [this](size_t i) {
    return Sample{ReadThreadSchedTimes(info_[i].tid.load()),
                  info_[i].idle_poll_ns.load(std::memory_order_relaxed)};
  };
  std::vector<Sample> last(n);
  for (size_t i = 0; i < n; ++i) last[i] = sample(i);
  int64_t last_idle = ReadMachineIdleNs();
  int64_t last_ns = NowNs();
  std::unique_lock lock(done_mu_);
  while (!done_cv_.wait_for(lock, elastic_window_, [this] { return stopping_; })) {
    lock.unlock();
    const int64_t now = NowNs();
    const int64_t idle = ReadMachineIdleNs();
    const double window = static_cast<double>(now - last_ns);
    std::vector<ThreadLoad> load;
    bool measurable = idle >= 0;
    for (size_t i = 0; i < n; ++i) {
      Sample cur = sample(i);
      const Sample& prev = last[i];
      if (cur.sched.cpu_ns < 0) measurable = false;
      if (i < active()) {
        const int64_t cpu = cur.sched.cpu_ns - prev.sched.cpu_ns;
        const int64_t poll = cur.idle_poll_ns - prev.idle_poll_ns;
        load.push_back(
            {.busy = static_cast<double>(std::max<int64_t>(0, cpu - poll)) / window,
             .wait = static_cast<double>(cur.sched.wait_ns - prev.sched.wait_ns) / window});
      }
      last[i] = cur;
    }
    if (!measurable) {  // the kernel does not say how busy the threads are: all of them serve
      active_ = n;
      return;
    }
    const double idle_cores = static_cast<double>(idle - last_idle) / window;
    last_idle = idle;
    last_ns = now;
    const size_t was = active();
    active_ = balance.Decide(load, idle_cores);
    const bool changed = active() != was;
    if (spdlog::should_log(changed ? spdlog::level::debug : spdlog::level::trace)) {
      std::string loads;
      for (const ThreadLoad& l : load) loads += fmt::format(" {:.2f}/{:.2f}", l.busy, l.wait);
      spdlog::log(changed ? spdlog::level::debug : spdlog::level::trace,
                  "I/O threads serving: {}{} (busy/wait{}, idle cores {:.2f})", was,
                  changed ? fmt::format(" -> {}", active()) : "", loads, idle_cores);
    }
    lock.lock();
  }
}

void IoPool::Start() {
  {
    std::lock_guard lock(done_mu_);
    running_ = contexts_.size();
  }
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, ctx = contexts_[i].get(), info = &info_[i]] {
      info->tid = static_cast<int>(::syscall(SYS_gettid));
      for (;;) {
        try {
          Run(*ctx, info->idle_poll_ns);
          break;
        } catch (const std::exception& e) {
          // A handler threw: log it and keep the thread serving the others.
          LogEvent(LogLevel::kError, "unhandled exception on an I/O thread", {{"error", e.what()}});
        }
      }
      std::lock_guard lock(done_mu_);
      --running_;
      done_cv_.notify_all();
    });
  }
  if (elastic_window_.count() > 0 && contexts_.size() > 1) {
    // The balancer reads the threads' ids: wait until each has set its own.
    for (size_t i = 0; i < contexts_.size(); ++i) {
      while (info_[i].tid.load() == 0) std::this_thread::yield();
    }
    balancer_ = std::thread([this] { Balance(); });
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
  {
    std::lock_guard lock(done_mu_);
    stopping_ = true;
  }
  done_cv_.notify_all();
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
  if (balancer_.joinable()) balancer_.join();
}

}  // namespace pier::net
