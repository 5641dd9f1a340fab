// File: slow_log.h
// Redis's SLOWLOG and latency monitor, kept by every RespServer (the cache's and the queue's):
// commands that took longer than a threshold, and per-event latency spikes by the second.
//   SlowLog log;  log.set_threshold_us(10000);
//   if (log.Wants(micros)) log.Add(unix_s, micros, SlowLog::Shorten(args), "1.2.3.4:5", "");
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pier::net {

// Thread-safe. Entries are kept newest first, at most max_len() of them.
class SlowLog {
 public:
  static constexpr size_t kMaxArgs = 32;       // as Redis's SLOWLOG_ENTRY_MAX_ARGC
  static constexpr size_t kMaxArgBytes = 128;  // as SLOWLOG_ENTRY_MAX_STRING

  struct Entry {
    int64_t id = 0;
    int64_t unix_s = 0;
    int64_t micros = 0;
    std::vector<std::string> args;
    std::string peer;  // "ip:port"
    std::string name;  // CLIENT SETNAME, or ""
  };

  // slowlog-log-slower-than in microseconds: negative logs nothing, 0 every command.
  int64_t threshold_us() const { return threshold_us_.load(std::memory_order_relaxed); }
  void set_threshold_us(int64_t us) { threshold_us_.store(us, std::memory_order_relaxed); }
  size_t max_len() const;
  void set_max_len(size_t n);  // drops the oldest entries past n
  bool Wants(int64_t micros) const {
    const int64_t t = threshold_us();
    return t >= 0 && micros >= t;
  }

  // The arguments as Redis logs them: at most 32 (the last one says how many more there were),
  // each at most 128 bytes (then "... (N more bytes)"); passwords are "(redacted)" (AUTH, HELLO
  // AUTH, CONFIG SET requirepass).
  static std::vector<std::string> Shorten(const std::vector<std::string_view>& args);

  void Add(int64_t unix_s, int64_t micros, std::vector<std::string> args, std::string peer,
           std::string name);
  // The newest `count` entries, newest first.
  std::vector<Entry> Latest(size_t count) const;
  size_t size() const;
  void Reset();

 private:
  std::atomic<int64_t> threshold_us_{10000};
  mutable std::mutex mu_;
  std::deque<Entry> entries_;  // newest first
  size_t max_len_ = 128;
  int64_t next_id_ = 0;
};

// Redis's LATENCY monitor: an event's spikes at or above latency-monitor-threshold (ms; 0: off),
// one sample per second (the highest), the last 160 kept. Thread-safe.
class LatencyMonitor {
 public:
  static constexpr size_t kHistory = 160;  // as LATENCY_TS_LEN

  struct Sample {
    int64_t unix_s = 0;
    int64_t ms = 0;
  };
  struct Latest {
    std::string event;
    int64_t unix_s = 0;
    int64_t latest_ms = 0;
    int64_t max_ms = 0;
  };

  int64_t threshold_ms() const { return threshold_ms_.load(std::memory_order_relaxed); }
  void set_threshold_ms(int64_t ms) { threshold_ms_.store(ms, std::memory_order_relaxed); }
  bool Wants(int64_t ms) const {
    const int64_t t = threshold_ms();
    return t > 0 && ms >= t;
  }
  void Add(std::string_view event, int64_t unix_s, int64_t ms);
  // Every event's latest sample and all-time maximum, by event name.
  std::vector<Latest> LatestAll() const;
  // An event's samples, oldest first (empty for an unknown event).
  std::vector<Sample> History(std::string_view event) const;
  // Forgets the named events (all when `events` is empty); how many there were.
  size_t Reset(const std::vector<std::string_view>& events);

 private:
  struct Series {
    std::deque<Sample> samples;
    int64_t max_ms = 0;
  };
  std::atomic<int64_t> threshold_ms_{0};
  mutable std::mutex mu_;
  std::map<std::string, Series, std::less<>> events_;
};

}  // namespace pier::net
