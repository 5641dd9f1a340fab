// File: database.h
// Database: the server's keyspace as a power-of-two number of Keyspace shards, each behind its
// own mutex, plus maxmemory (split evenly over the shards) and the eviction policy. Commands
// lock the shards of the keys they touch, in shard order, so multi-key commands are atomic.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/server/blocking.h"
#include "cache/server/keyspace.h"
#include "cache/server/lazy_free.h"
#include "cache/server/scripting.h"
#include "pier/base/clock.h"
#include "pier/base/hash.h"
#include "pier/base/spin_lock.h"

namespace pier::cache::server {

struct KeyRef {
  std::string_view key;
  uint64_t hash;
  explicit KeyRef(std::string_view k) : key(k), hash(HashBytes(k)) {}
};

class Database;

// Holds the locks of one or more shards for one command. Movable, not copyable.
class ShardLock {
 public:
  ShardLock() = default;
  ShardLock(ShardLock&& o) noexcept
      : held_(std::move(o.held_)), exclusive_(std::exchange(o.exclusive_, nullptr)) {}
  ShardLock& operator=(ShardLock&& o) noexcept {
    if (this != &o) {
      Release();
      held_ = std::move(o.held_);
      exclusive_ = std::exchange(o.exclusive_, nullptr);
    }
    return *this;
  }
  ~ShardLock() { Release(); }
  void Release();

 private:
  friend class Database;
  std::vector<SpinLock*> held_;
  Database* exclusive_ = nullptr;  // LockExclusive's: this thread holds every shard
};

// Thread-safe.
class Database {
 public:
  // `shadow`: feed the miss-ratio shadow (off: it stays empty and costs nothing).
  explicit Database(size_t shards, const Clock* clock = &Clock::Steady(), bool shadow = true);

  size_t shard_count() const { return shards_.size(); }
  size_t ShardOf(const KeyRef& k) const { return (k.hash >> 48) & (shards_.size() - 1); }
  Keyspace& shard(size_t i) { return shards_[i].ks; }
  Keyspace& ShardFor(const KeyRef& k) { return shards_[ShardOf(k)].ks; }

  // Locks the shards of `keys` (each once, in shard order).
  ShardLock Lock(const KeyRef* keys, size_t n);
  ShardLock Lock(const KeyRef& key) { return Lock(&key, 1); }
  ShardLock LockShard(size_t i);
  ShardLock LockAll();
  // EXEC: every shard for this thread until the lock is released; meanwhile this thread's own
  // locking (Lock, LockShard, LockAll, the sums and sweeps) takes nothing, so the transaction's
  // commands run as they would alone, and no other thread sees a shard between them.
  ShardLock LockExclusive();
  // Whether this thread holds the shards through LockExclusive.
  bool HeldExclusive() const;

  // Before a command that may grow memory: evicts from the locked shards of `keys` until each
  // is within its budget. False when a shard is over budget and nothing may be evicted: the
  // command must be refused with -OOM.
  bool MakeRoom(const KeyRef* keys, size_t n);

  Clock::TimePoint Now() const { return clock_->Now(); }
  // Unix ms at `t`, a time of this database's clock.
  int64_t UnixMsAt(Clock::TimePoint t) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() +
           unix_offset_ms_;
  }
  int64_t NowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now().time_since_epoch())
        .count();
  }
  // Wall-clock ms (EXPIREAT/EXPIRETIME use unix time); steady clock for relative TTLs would
  // drift from the user's clock, so keys store unix-epoch ms.
  int64_t UnixMs() const;

  // Active expiry: up to `max_work` timers per shard. Returns the keys removed. Shards held by
  // another command are skipped (the cron thread never waits behind a long script).
  size_t ActiveExpire(size_t max_work);

  // Clients blocked on keys (BLPOP...); every shard announces new lists and sorted sets to it.
  BlockingKeys& blocking() { return blocking_; }
  // Frees big collections off the I/O threads.
  LazyFree& lazy_free() { return lazy_free_; }
  // CLIENT TRACKING: every shard reports its changed keys to `tracking` (not owned).
  void set_tracking(net::KeyTracking* tracking);
  // notify-keyspace-events and where the events go.
  Notifier& notifier() { return notifier_; }
  // EVAL's Lua state and script cache.
  ScriptEngine& scripts() { return *scripts_; }

  // Hit-ratio predictions for every policy at 0.5x, 1x and 2x maxmemory (off without one).
  MissRatioShadow& shadow() { return *shadow_; }
  // Lookups (hits + misses) since the shadow's counts last started over: its SHARDS-adj total.
  uint64_t ShadowLookups();

  Status SetMaxMemory(uint64_t bytes);
  Status SetPolicy(std::string_view name);
  uint64_t maxmemory() const { return maxmemory_.load(); }
  std::string policy_name() const;

  // Sums over shards (takes each shard lock briefly).
  uint64_t UsedBytes();
  // UsedBytes without waiting: false when a shard is held.
  bool TryUsedBytes(uint64_t* bytes);
  size_t KeyCount();
  size_t VolatileCount();
  KeyspaceStats Stats();
  void ResetStats();

 private:
  friend class ShardLock;
  struct alignas(64) Shard {
    SpinLock mu;  // held for one command: shorter than a futex sleep and wake
    Keyspace ks;
  };
  void Reconfigure();
  // Locks one shard into `l` (nothing while this thread holds them all).
  void Acquire(Shard& s, ShardLock& l);
  // Adds fn(keyspace) over the shards, each under its lock in turn.
  template <typename Fn>
  uint64_t SumShards(Fn&& fn) {
    uint64_t n = 0;
    for (auto& s : shards_) {
      ShardLock lock;
      Acquire(s, lock);
      n += fn(s.ks);
    }
    return n;
  }

  std::unique_ptr<ScriptEngine> scripts_;
  BlockingKeys blocking_;  // before the shards, which point to it
  Notifier notifier_;
  LazyFree lazy_free_;
  std::vector<Shard> shards_;
  std::unique_ptr<MissRatioShadow> shadow_;
  std::atomic<uint64_t> shadow_base_lookups_{0};
  const Clock* clock_;
  // Before the shards in lock order; recursive, as EXEC holds it (LockExclusive) while a CONFIG
  // SET in the transaction takes it again.
  std::recursive_mutex config_mu_;
  std::atomic<uint64_t> maxmemory_{0};
  EvictionConfig eviction_;
  int64_t unix_offset_ms_;  // unix time - clock time, fixed at start
};

// EXEC and scripts: holds the blocking registry, the configuration lock and every shard for this
// thread, in that order (nested holds take nothing more). When the outermost ends, the clients
// blocked on keys the transaction filled are served.
class ExclusiveHold {
 public:
  explicit ExclusiveHold(Database& db)
      : db_(db),
        outermost_(!db.HeldExclusive()),
        registry_(db.blocking().Hold()),
        shards_(db.LockExclusive()) {}
  ~ExclusiveHold() {
    shards_.Release();
    registry_.unlock();
    if (outermost_ && db_.blocking().HasReady()) db_.blocking().ServeReady();
  }
  ExclusiveHold(const ExclusiveHold&) = delete;
  ExclusiveHold& operator=(const ExclusiveHold&) = delete;

 private:
  Database& db_;
  bool outermost_;
  std::unique_lock<std::recursive_mutex> registry_;
  ShardLock shards_;
};

}  // namespace pier::cache::server
