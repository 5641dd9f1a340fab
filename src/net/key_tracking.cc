#include "pier/net/key_tracking.h"

#include <algorithm>

#include "pier/net/pubsub.h"

namespace pier::net {

thread_local uint64_t KeyTracking::current_ = 0;

namespace {

// One invalidation as Redis sends it: a RESP3 push, or a pub/sub message on
// __redis__:invalidate for a RESP2 receiver. `key` null: every key (FLUSHALL).
std::string Format(int protocol, const std::string* key) {
  std::string out;
  RespWriter w(&out, protocol);
  if (protocol >= 3) {
    w.PushHeader(2);
    w.Bulk("invalidate");
  } else {
    w.ArrayHeader(3);
    w.Bulk("message");
    w.Bulk("__redis__:invalidate");
  }
  if (key == nullptr) {
    w.Null();
  } else {
    w.ArrayHeader(1);
    w.Bulk(*key);
  }
  return out;
}

bool Matches(const KeyTracking::Mode& m, std::string_view key) {
  if (m.prefixes.empty()) return true;
  return std::any_of(m.prefixes.begin(), m.prefixes.end(),
                     [key](const std::string& p) { return key.starts_with(p); });
}

}  // namespace

void KeyTracking::Enable(uint64_t id, std::shared_ptr<PubSubClient> sink, Mode mode) {
  std::lock_guard lock(mu_);
  auto [it, added] = clients_.try_emplace(id);
  if (!added && it->second.mode.bcast) --bcast_clients_;
  it->second = Client{std::move(sink), std::move(mode)};
  if (it->second.mode.bcast) ++bcast_clients_;
  active_.store(true, std::memory_order_relaxed);
}

void KeyTracking::Disable(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  if (it->second.mode.bcast) --bcast_clients_;
  clients_.erase(it);
  // Its remembered keys go when next invalidated (Redis forgets them lazily too).
  active_.store(!clients_.empty() || !keys_.empty(), std::memory_order_relaxed);
}

void KeyTracking::Remember(uint64_t id, std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    const size_t max = max_keys();
    if (max > 0 && keys_.size() >= max) ForgetOne();
    it = keys_.emplace(std::string(key), std::vector<uint64_t>{}).first;
  }
  if (std::find(it->second.begin(), it->second.end(), id) == it->second.end()) {
    it->second.push_back(id);
  }
}

void KeyTracking::ForgetOne() {
  auto victim = keys_.begin();
  const std::string key = victim->first;
  const std::vector<uint64_t> ids = std::move(victim->second);
  keys_.erase(victim);
  for (uint64_t id : ids) {
    auto c = clients_.find(id);
    if (c != clients_.end() && !c->second.mode.bcast) Send(id, c->second, &key);
  }
}

void KeyTracking::Send(uint64_t id, const Client& c, const std::string* key) {
  if (c.mode.noloop && id == current_) return;
  pubsub_.Deliver(*c.sink, Format(c.sink->protocol(), key));
}

void KeyTracking::Invalidate(std::string_view key) {
  if (!active()) return;
  std::lock_guard lock(mu_);
  const std::string name(key);
  if (auto it = keys_.find(key); it != keys_.end()) {
    const std::vector<uint64_t> ids = std::move(it->second);
    keys_.erase(it);
    for (uint64_t id : ids) {
      auto c = clients_.find(id);
      if (c != clients_.end() && !c->second.mode.bcast) Send(id, c->second, &name);
    }
  }
  if (bcast_clients_ > 0) {
    for (const auto& [id, c] : clients_) {
      if (c.mode.bcast && Matches(c.mode, key)) Send(id, c, &name);
    }
  }
  if (clients_.empty() && keys_.empty()) active_.store(false, std::memory_order_relaxed);
}

void KeyTracking::InvalidateAll() {
  if (!active()) return;
  std::lock_guard lock(mu_);
  keys_.clear();
  for (const auto& [id, c] : clients_) Send(id, c, nullptr);
  if (clients_.empty()) active_.store(false, std::memory_order_relaxed);
}

size_t KeyTracking::remembered_keys() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

}  // namespace pier::net
