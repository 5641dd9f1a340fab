#include "cache/server/keyspace.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <new>

#include "cache/detail/linear_probing.h"
#include "cache/server/blocking.h"
#include "cache/server/lazy_free.h"
#include "pier/base/hash.h"
#include "pier/base/status.h"

namespace pier::cache::server {

Result<EvictionConfig> ParseEvictionPolicy(std::string_view name) {
  EvictionConfig c;
  c.redis_name = std::string(name);
  if (name == "noeviction") return c;
  if (name == "volatile-ttl") {
    c.by_ttl = c.volatile_only = true;
    return c;
  }
  static const struct {
    std::string_view suffix;
    std::string_view policy;
    bool volatile_ok;
  } kMap[] = {{"lru", "lru", true},           {"lfu", "lfu", true},
              {"random", "random", true},     {"fifo", "fifo", false},
              {"s3fifo", "s3fifo", false},    {"sieve", "sieve", false},
              {"wtinylfu", "wtinylfu", false}};
  for (std::string_view prefix : {"allkeys-", "volatile-"}) {
    if (name.substr(0, prefix.size()) != prefix) continue;
    std::string_view rest = name.substr(prefix.size());
    for (const auto& m : kMap) {
      if (rest == m.suffix && (prefix == "allkeys-" || m.volatile_ok)) {
        c.policy = std::string(m.policy);
        c.volatile_only = prefix == "volatile-";
        return c;
      }
    }
  }
  return Status::InvalidArgument("unknown maxmemory-policy '" + std::string(name) + "'");
}

Keyspace::Keyspace(uint64_t seed) : slots_(16, 0), seed_(seed) {}

Keyspace::~Keyspace() { Clear(); }

uint64_t Keyspace::HashOf(const Entry* e) const { return HashBytes(e->key()); }

uint64_t Keyspace::used_bytes() const {
  return entry_bytes_ + slots_.capacity() * sizeof(uint64_t) +
         entries_.capacity() * sizeof(Entry*) + timers_.capacity() * sizeof(Timer) +
         (policy_ ? policy_->MemoryBytes() : 0);
}

size_t Keyspace::SlotOf(std::string_view key, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  const uint64_t tag = hash >> 32;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint64_t s = slots_[i];
    if (s == 0) return npos;
    if ((s >> 32) == tag) {
      const Entry* e = entries_[(s & 0xffffffffu) - 1];
      if (e->key() == key) return i;
    }
  }
}

void Keyspace::Grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.size() * 2, 0);
  const size_t mask = slots_.size() - 1;
  for (uint64_t s : old) {
    if (s == 0) continue;
    uint64_t h = HashOf(entries_[(s & 0xffffffffu) - 1]);
    size_t i = h & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void Keyspace::Insert(Entry* e, uint64_t hash) {
  if ((count_ + 1) * 4 > slots_.size() * 3) Grow();  // load factor <= 0.75
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = ((hash >> 32) << 32) | (uint64_t{e->id} + 1);
  ++count_;
}

// Backward-shift deletion keeps linear probing free of tombstones.
void Keyspace::EraseSlot(size_t slot) {
  detail::BackwardShiftErase(slots_, slot, [this](uint64_t s) {
    return static_cast<size_t>(HashOf(entries_[(s & 0xffffffffu) - 1]));
  });
  --count_;
}

void Keyspace::TrackEntryBytes(Entry* e, bool add) {
  uint64_t b = malloc_usable_size(e);
  if (e->type != ValueType::kString) b += e->object()->MemoryBytes();
  if (add)
    entry_bytes_ += b;
  else
    entry_bytes_ -= b;
}

Entry* Keyspace::Allocate(std::string_view key, size_t value_bytes, ValueType type) {
  auto* e = static_cast<Entry*>(std::malloc(sizeof(Entry) + key.size() + value_bytes));
  if (e == nullptr) throw std::bad_alloc();
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    PIER_CHECK_MSG(entries_.size() < UINT32_MAX - 1, "more than 2^32 keys in one shard");
    id = static_cast<uint32_t>(entries_.size());
    entries_.push_back(nullptr);
  }
  *e = Entry{id, static_cast<uint32_t>(key.size()), 0, type, 0, 0, 0};
  std::memcpy(e->data(), key.data(), key.size());
  entries_[id] = e;
  return e;
}

// What a key costs the byte budget, as the policy sees it: its allocation, its hash contents and
// its share of the index, the id table and policy metadata, so that the policy's idea of
// "full" (S3-FIFO's 10% small queue, W-TinyLFU's window and admission) matches used_bytes().
uint64_t Keyspace::PolicyWeight(const Entry* e) const {
  uint64_t w = malloc_usable_size(const_cast<Entry*>(e)) + kPerKeyOverhead;
  if (e->type != ValueType::kString) w += e->object()->MemoryBytes();
  return w;
}

void Keyspace::PolicyAdd(Entry* e) {
  if (!policy_ || e->in_policy || (config_.volatile_only && e->expire_ms == 0)) return;
  policy_->OnInsert(e->id, HashOf(e), PolicyWeight(e));
  e->in_policy = 1;
}

void Keyspace::PolicyRemove(Entry* e) {
  if (!e->in_policy) return;
  policy_->OnRemove(e->id);
  e->in_policy = 0;
}

Entry* Keyspace::Find(std::string_view key, uint64_t hash, int64_t now_ms) {
  size_t slot = SlotOf(key, hash);
  if (slot == npos) return nullptr;
  Entry* e = entries_[(slots_[slot] & 0xffffffffu) - 1];
  if (e->expire_ms != 0 && e->expire_ms <= now_ms) {
    Delete(e, Reason::kExpired);
    return nullptr;
  }
  return e;
}

Entry* Keyspace::Lookup(std::string_view key, uint64_t hash, int64_t now_ms) {
  if (shadow_ != nullptr) shadow_->OnLookup(hash);
  Entry* e = Find(key, hash, now_ms);
  if (e == nullptr) {
    ++stats_.misses;
    if (notifier_ != nullptr && notifier_->Wants(kNotifyKeyMiss)) {
      notifier_->Emit(kNotifyKeyMiss, "keymiss", key);
    }
    return nullptr;
  }
  ++stats_.hits;
  if (e->in_policy) policy_->OnAccess(e->id);
  return e;
}

Entry* Keyspace::SetString(std::string_view key, uint64_t hash, std::string_view value,
                           int64_t expire_ms) {
  size_t slot = SlotOf(key, hash);
  Touch(key, slot != npos ? KeyChange::kChanged : KeyChange::kCreated);
  if (expire_ms > 0) CommandEvents::Record(key, KeyChange::kExpireSet);
  Entry* e;
  if (slot != npos) {
    e = entries_[(slots_[slot] & 0xffffffffu) - 1];
    if (e->type == ValueType::kString && e->val_len == value.size()) {
      std::memcpy(e->mutable_str(), value.data(), value.size());  // same size: in place
    } else {
      // Replace: a new allocation under the same id and slot.
      uint32_t id = e->id;
      int64_t old_expire = e->expire_ms;
      PolicyRemove(e);
      TrackEntryBytes(e, false);
      if (e->type != ValueType::kString) FreeObject(e->object());
      auto* n = static_cast<Entry*>(std::realloc(e, sizeof(Entry) + key.size() + value.size()));
      if (n == nullptr) throw std::bad_alloc();
      e = n;
      e->type = ValueType::kString;
      e->val_len = static_cast<uint32_t>(value.size());
      e->in_policy = 0;
      e->expire_ms = old_expire;
      std::memcpy(e->mutable_str(), value.data(), value.size());
      entries_[id] = e;
      TrackEntryBytes(e, true);
      PolicyAdd(e);
    }
    if (expire_ms >= 0) ApplyExpire(e, expire_ms);
    if (e->in_policy) policy_->OnReweigh(e->id, PolicyWeight(e));
    if (shadow_ != nullptr) shadow_->OnStore(hash, PolicyWeight(e));
    return e;
  }
  e = Allocate(key, value.size(), ValueType::kString);
  e->val_len = static_cast<uint32_t>(value.size());
  std::memcpy(e->mutable_str(), value.data(), value.size());
  Insert(e, hash);
  TrackEntryBytes(e, true);
  e->expire_ms = 0;
  if (expire_ms > 0) ApplyExpire(e, expire_ms);
  PolicyAdd(e);
  if (shadow_ != nullptr) shadow_->OnStore(hash, PolicyWeight(e));
  return e;
}

Entry* Keyspace::ResizeString(Entry* e, size_t new_len) {
  Touch(e->key(), KeyChange::kChanged);
  uint32_t id = e->id;
  TrackEntryBytes(e, false);
  auto* n = static_cast<Entry*>(std::realloc(e, sizeof(Entry) + e->key_len + new_len));
  if (n == nullptr) throw std::bad_alloc();
  if (new_len > n->val_len) std::memset(n->mutable_str() + n->val_len, 0, new_len - n->val_len);
  n->val_len = static_cast<uint32_t>(new_len);
  entries_[id] = n;
  TrackEntryBytes(n, true);
  if (n->in_policy) policy_->OnReweigh(id, PolicyWeight(n));
  return n;
}

void Keyspace::FreeObject(Collection* c) {
  if (lazy_free_ != nullptr) {
    lazy_free_->Free(c);
  } else {
    delete c;
  }
}

Entry* Keyspace::CreateObject(std::string_view key, uint64_t hash,
                              std::unique_ptr<Collection> value) {
  Touch(key, KeyChange::kCreated);
  const ValueType type = value->type();
  Entry* e = Allocate(key, sizeof(Collection*), type);
  Collection* c = value.release();
  std::memcpy(e->data() + key.size(), &c, sizeof c);
  Insert(e, hash);
  TrackEntryBytes(e, true);
  PolicyAdd(e);
  if (blocking_ != nullptr && (type == ValueType::kList || type == ValueType::kZSet)) {
    blocking_->NoteReady(key);
  }
  return e;
}

Entry* Keyspace::CopyValue(const Entry* e, std::string_view new_key, uint64_t new_hash) {
  if (e->type == ValueType::kString) return SetString(new_key, new_hash, e->str(), 0);
  return CreateObject(new_key, new_hash, e->object()->Clone());
}

void Keyspace::ObjectChanged(Entry* e, size_t old_bytes, bool touched) {
  if (touched) Touch(e->key(), KeyChange::kChanged);
  entry_bytes_ += e->object()->MemoryBytes();
  entry_bytes_ -= old_bytes;
  if (e->in_policy) policy_->OnReweigh(e->id, PolicyWeight(e));
}

void Keyspace::Delete(Entry* e, Reason reason) {
  if (reason == Reason::kExplicit) {
    Touch(e->key(), KeyChange::kDeleted);
  } else {
    Changed(e->key());
    const bool expired = reason == Reason::kExpired;
    const uint32_t type = expired ? kNotifyExpired : kNotifyEvicted;
    if (notifier_ != nullptr && notifier_->Wants(type)) {
      notifier_->Emit(type, expired ? "expired" : "evicted", e->key());
    }
  }
  const uint64_t hash = HashOf(e);
  if (shadow_ != nullptr && reason != Reason::kEvicted) shadow_->OnRemove(hash);
  size_t slot = SlotOf(e->key(), hash);
  PIER_DCHECK(slot != npos);
  EraseSlot(slot);
  PolicyRemove(e);
  if (e->expire_ms != 0) --volatile_count_;
  TrackEntryBytes(e, false);
  entries_[e->id] = nullptr;
  free_ids_.push_back(e->id);
  if (e->type != ValueType::kString) FreeObject(e->object());
  std::free(e);
  if (reason == Reason::kExpired) ++stats_.expired;
  if (reason == Reason::kEvicted) ++stats_.evicted;
}

void Keyspace::SetExpire(Entry* e, int64_t expire_ms, bool notify) {
  if (notify) {
    Touch(e->key(), expire_ms != 0 ? KeyChange::kExpireSet : KeyChange::kPersisted);
  } else {
    Changed(e->key());
  }
  ApplyExpire(e, expire_ms);
}

void Keyspace::ApplyExpire(Entry* e, int64_t expire_ms) {
  if (e->expire_ms == expire_ms) return;
  const bool was_volatile = e->expire_ms != 0;
  e->expire_ms = expire_ms;
  if (expire_ms != 0) {
    timers_.push_back({expire_ms, e->id});
    std::push_heap(timers_.begin(), timers_.end(), std::greater<>());
    // Rewritten TTLs leave stale timers; rebuild when they outnumber the live ones twice.
    if (timers_.size() > 2 * volatile_count_ + 1024) {
      timers_.clear();
      for (Entry* x : entries_) {
        if (x != nullptr && x->expire_ms != 0) timers_.push_back({x->expire_ms, x->id});
      }
      std::make_heap(timers_.begin(), timers_.end(), std::greater<>());
    }
  }
  if (!was_volatile && expire_ms != 0) ++volatile_count_;
  if (was_volatile && expire_ms == 0) --volatile_count_;
  if (config_.volatile_only && policy_) {
    if (expire_ms != 0)
      PolicyAdd(e);
    else
      PolicyRemove(e);
  }
}

Entry* Keyspace::MoveTo(Entry* e, Keyspace& dst, std::string_view new_key, uint64_t new_hash) {
  // A string is copied; a collection's pointer moves (no copy of a big value). The TTL goes along.
  if (Entry* old = dst.Find(new_key, new_hash, 0)) dst.Delete(old);
  const int64_t expire = e->expire_ms;
  Entry* n;
  if (e->type == ValueType::kString) {
    n = dst.SetString(new_key, new_hash, e->str(), 0);
  } else {
    TrackEntryBytes(e, false);
    std::unique_ptr<Collection> value(e->object());
    Collection* none = nullptr;
    std::memcpy(e->data() + e->key_len, &none, sizeof none);
    e->type = ValueType::kString;  // now an empty string: Delete frees only the entry
    TrackEntryBytes(e, true);
    n = dst.CreateObject(new_key, new_hash, std::move(value));
  }
  Delete(e);
  dst.ApplyExpire(n, expire);
  return n;
}

size_t Keyspace::ActiveExpire(int64_t now_ms, size_t max_work) {
  size_t removed = 0;
  for (size_t work = 0; work < max_work && !timers_.empty(); ++work) {
    Timer t = timers_.front();
    if (t.expire_ms > now_ms) break;
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
    timers_.pop_back();
    Entry* e = t.id < entries_.size() ? entries_[t.id] : nullptr;
    // A reused id with the same expiry time is due now as well, so this check is enough.
    if (e != nullptr && e->expire_ms == t.expire_ms) {
      Delete(e, Reason::kExpired);
      ++removed;
    }
  }
  return removed;
}

bool Keyspace::EvictOne(int64_t now_ms) {
  if (config_.by_ttl) {
    while (!timers_.empty()) {
      Timer t = timers_.front();
      std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
      timers_.pop_back();
      Entry* e = t.id < entries_.size() ? entries_[t.id] : nullptr;
      if (e != nullptr && e->expire_ms == t.expire_ms) {
        Delete(e, e->expire_ms <= now_ms ? Reason::kExpired : Reason::kEvicted);
        return true;
      }
    }
    return false;
  }
  if (!policy_) return false;
  // The policy tracks exactly the candidates; none means nothing may be evicted.
  bool any = config_.volatile_only ? volatile_count_ > 0 : count_ > 0;
  if (!any) return false;
  // Being asked to evict means the shard is full now: tell the policy the total weight of its
  // entries, so its own idea of full (S3-FIFO's small queue, W-TinyLFU's window and admission)
  // matches the budget after the fixed structures (index, id table) took their share.
  if (!config_.volatile_only) policy_->SetCapacity(entry_bytes_ + count_ * kPerKeyOverhead);
  EntryId victim = policy_->Victim();
  Entry* e = entries_[victim];
  Delete(e, e->expire_ms != 0 && e->expire_ms <= now_ms ? Reason::kExpired : Reason::kEvicted);
  return true;
}

void Keyspace::Configure(const EvictionConfig& config, uint64_t budget_bytes) {
  config_ = config;
  budget_ = budget_bytes;
  for (Entry* e : entries_) {
    if (e != nullptr) e->in_policy = 0;
  }
  policy_.reset();
  if (!config.policy.empty()) {
    auto p = MakePolicy(config.policy, seed_);
    PIER_CHECK(p.ok());
    policy_ = std::move(*p);
    policy_->SetCapacity(budget_bytes);
    for (Entry* e : entries_) {
      if (e != nullptr) PolicyAdd(e);
    }
  }
}

void Keyspace::Clear() {
  for (auto& [key, flags] : watched_) {  // FLUSHALL touches the watched keys that exist
    if (SlotOf(key, HashBytes(key)) == npos) continue;
    for (auto* f : flags) f->store(true, std::memory_order_relaxed);
  }
  for (Entry* e : entries_) {
    if (e == nullptr) continue;
    if (e->type != ValueType::kString) FreeObject(e->object());
    std::free(e);
  }
  entries_.clear();
  entries_.shrink_to_fit();
  free_ids_.clear();
  free_ids_.shrink_to_fit();
  slots_.assign(16, 0);
  slots_.shrink_to_fit();
  timers_.clear();
  timers_.shrink_to_fit();
  count_ = volatile_count_ = 0;
  entry_bytes_ = 0;
  if (policy_) Configure(config_, budget_);
}

uint32_t Keyspace::ScanIds(uint32_t from, size_t count, int64_t now_ms, std::vector<Entry*>* out) {
  uint32_t id = from;
  for (size_t n = 0; id < entries_.size() && n < count; ++id, ++n) {
    Entry* e = entries_[id];
    if (e != nullptr && (e->expire_ms == 0 || e->expire_ms > now_ms)) out->push_back(e);
  }
  return id;
}

void Keyspace::Watch(std::string_view key, std::atomic<bool>* changed) {
  auto it = watched_.find(key);
  if (it == watched_.end())
    it = watched_.emplace(std::string(key), std::vector<std::atomic<bool>*>{}).first;
  it->second.push_back(changed);
}

void Keyspace::Unwatch(std::string_view key, std::atomic<bool>* changed) {
  auto it = watched_.find(key);
  if (it == watched_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), changed), v.end());
  if (v.empty()) watched_.erase(it);
}

void Keyspace::TouchWatched(std::string_view key) {
  auto it = watched_.find(key);
  if (it == watched_.end()) return;
  for (auto* f : it->second) f->store(true, std::memory_order_relaxed);
}

Entry* Keyspace::Random(uint64_t r) const {
  if (count_ == 0) return nullptr;
  // Probe from a random slot to the next occupied one (slots are at most 75% full).
  const size_t mask = slots_.size() - 1;
  for (size_t i = r & mask;; i = (i + 1) & mask) {
    if (slots_[i] != 0) return entries_[(slots_[i] & 0xffffffffu) - 1];
  }
}

}  // namespace pier::cache::server
