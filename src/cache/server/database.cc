#include "cache/server/database.h"

#include <algorithm>
#include <utility>

namespace pier::cache::server {

namespace {
// The database whose shards this thread holds through LockExclusive (EXEC).
thread_local const Database* exclusive_owner = nullptr;
}  // namespace

void ShardLock::Release() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) (*it)->unlock();
  held_.clear();
  if (exclusive_ != nullptr) {
    exclusive_owner = nullptr;
    std::exchange(exclusive_, nullptr)->config_mu_.unlock();
  }
}

Database::Database(size_t shards, const Clock* clock, bool shadow)
    : scripts_(std::make_unique<ScriptEngine>(clock)), clock_(clock) {
  size_t n = 1;
  while (n < shards) n <<= 1;
  shards_ = std::vector<Shard>(n);
  shadow_ = std::make_unique<MissRatioShadow>(MissRatioShadow::Options{});
  for (size_t i = 0; i < n; ++i) {
    shards_[i].ks.set_seed(i + 1);
    shards_[i].ks.set_blocking(&blocking_);
    shards_[i].ks.set_lazy_free(&lazy_free_);
    shards_[i].ks.set_notifier(&notifier_);
    if (shadow) shards_[i].ks.set_shadow(shadow_.get());
  }
  unix_offset_ms_ = UnixNowMs() - NowMs();
  eviction_ = *ParseEvictionPolicy("noeviction");
}

int64_t Database::UnixMs() const { return NowMs() + unix_offset_ms_; }

bool Database::HeldExclusive() const { return exclusive_owner == this; }

void Database::Acquire(Shard& s, ShardLock& l) {
  if (exclusive_owner == this) return;
  s.mu.lock();
  l.held_.push_back(&s.mu);
}

ShardLock Database::Lock(const KeyRef* keys, size_t n) {
  ShardLock l;
  if (n == 1) {
    Acquire(shards_[ShardOf(keys[0])], l);
    return l;
  }
  if (exclusive_owner == this) return l;
  std::vector<size_t> idx;
  idx.reserve(n);
  for (size_t i = 0; i < n; ++i) idx.push_back(ShardOf(keys[i]));
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  for (size_t i : idx) Acquire(shards_[i], l);
  return l;
}

ShardLock Database::LockShard(size_t i) {
  ShardLock l;
  Acquire(shards_[i], l);
  return l;
}

ShardLock Database::LockAll() {
  ShardLock l;
  for (auto& s : shards_) Acquire(s, l);
  return l;
}

ShardLock Database::LockExclusive() {
  if (exclusive_owner == this) return {};
  config_mu_.lock();
  ShardLock l = LockAll();
  exclusive_owner = this;
  l.exclusive_ = this;
  return l;
}

bool Database::MakeRoom(const KeyRef* keys, size_t n) {
  const uint64_t max = maxmemory_.load(std::memory_order_relaxed);
  if (max == 0) return true;
  const uint64_t budget = max / shards_.size();
  const int64_t now = UnixMs();
  for (size_t i = 0; i < n; ++i) {
    Keyspace& ks = ShardFor(keys[i]);
    while (ks.used_bytes() > budget) {
      if (!ks.EvictOne(now)) return false;
    }
  }
  return true;
}

void Database::set_tracking(net::KeyTracking* tracking) {
  for (auto& s : shards_) s.ks.set_tracking(tracking);
}

size_t Database::ActiveExpire(size_t max_work) {
  size_t n = 0;
  const int64_t now = UnixMs();
  for (auto& s : shards_) {
    if (!s.mu.try_lock()) continue;  // held (EXEC, a long script): the next pass sees it
    n += s.ks.ActiveExpire(now, max_work);
    s.mu.unlock();
  }
  return n;
}

void Database::Reconfigure() {
  const uint64_t budget = maxmemory_.load() / shards_.size();
  for (auto& s : shards_) {
    ShardLock lock;
    Acquire(s, lock);
    s.ks.Configure(eviction_, budget);
  }
}

Status Database::SetMaxMemory(uint64_t bytes) {
  std::lock_guard lock(config_mu_);
  if (bytes != maxmemory_.load()) {
    shadow_->Configure(bytes, eviction_.policy.empty() ? "lru" : eviction_.policy);
    shadow_base_lookups_ =
        SumShards([](Keyspace& ks) { return ks.stats().hits + ks.stats().misses; });
  }
  maxmemory_ = bytes;
  Reconfigure();
  // Redis evicts right away when maxmemory is lowered below what is used.
  const int64_t now = UnixMs();
  if (bytes != 0) {
    for (auto& s : shards_) {
      ShardLock l;
      Acquire(s, l);
      while (s.ks.used_bytes() > bytes / shards_.size() && s.ks.EvictOne(now)) {
      }
    }
  }
  return Status::Ok();
}

Status Database::SetPolicy(std::string_view name) {
  auto c = ParseEvictionPolicy(name);
  if (!c.ok()) return c.status();
  std::lock_guard lock(config_mu_);
  eviction_ = *c;
  shadow_->SetCurrentPolicy(eviction_.policy.empty() ? "lru" : eviction_.policy);
  Reconfigure();
  return Status::Ok();
}

std::string Database::policy_name() const {
  auto& self = const_cast<Database&>(*this);
  std::lock_guard lock(self.config_mu_);
  return eviction_.redis_name;
}

uint64_t Database::UsedBytes() {
  return SumShards([](Keyspace& ks) { return ks.used_bytes(); });
}

bool Database::TryUsedBytes(uint64_t* bytes) {
  *bytes = 0;
  for (auto& s : shards_) {
    if (!s.mu.try_lock()) return false;
    *bytes += s.ks.used_bytes();
    s.mu.unlock();
  }
  return true;
}

size_t Database::KeyCount() {
  return SumShards([](Keyspace& ks) { return ks.size(); });
}

size_t Database::VolatileCount() {
  return SumShards([](Keyspace& ks) { return ks.volatile_count(); });
}

KeyspaceStats Database::Stats() {
  KeyspaceStats t;
  t.hits = SumShards([](Keyspace& ks) { return ks.stats().hits; });
  t.misses = SumShards([](Keyspace& ks) { return ks.stats().misses; });
  t.expired = SumShards([](Keyspace& ks) { return ks.stats().expired; });
  t.evicted = SumShards([](Keyspace& ks) { return ks.stats().evicted; });
  return t;
}

void Database::ResetStats() {
  std::lock_guard lock(config_mu_);
  shadow_->ResetCounts();
  for (auto& s : shards_) {
    ShardLock l;
    Acquire(s, l);
    s.ks.stats() = KeyspaceStats{};
  }
  shadow_base_lookups_ = 0;
}

uint64_t Database::ShadowLookups() {
  const uint64_t n = SumShards([](Keyspace& ks) { return ks.stats().hits + ks.stats().misses; });
  const uint64_t base = shadow_base_lookups_.load();
  return n > base ? n - base : 0;
}

}  // namespace pier::cache::server
