#include "pier/net/pubsub.h"

#include <algorithm>

#include "pier/base/glob.h"
#include "pier/base/hash.h"

namespace pier::net {

void PubSubClient::TakeInto(std::string& out) {
  constexpr size_t kKeepBytes = 1 << 20;  // a bigger spare buffer is given back
  std::lock_guard lock(mu_);
  wake_posted_ = false;
  soft_since_ = {};
  if (out.empty()) {
    out.swap(outbox_);
  } else {
    out.append(outbox_);
  }
  outbox_.clear();
  if (outbox_.capacity() > kKeepBytes) std::string().swap(outbox_);
}

void PubSubClient::Push(std::string_view bytes, const PubSubLimits& limits, Clock::TimePoint now) {
  bool kill = false, wake = false;
  {
    std::lock_guard lock(mu_);
    if (killed_.load(std::memory_order_relaxed)) return;
    const size_t size = outbox_.size() + bytes.size();
    if (limits.hard > 0 && size > limits.hard) {
      kill = true;
    } else if (limits.soft > 0 && size > limits.soft) {
      if (soft_since_ == Clock::TimePoint{}) {
        soft_since_ = now;
      } else if (now - soft_since_ >= std::chrono::seconds(limits.soft_seconds)) {
        kill = true;
      }
    }
    if (kill) {
      killed_ = true;
      std::string().swap(outbox_);
    } else {
      outbox_.append(bytes);
      wake = !wake_posted_;
      wake_posted_ = true;
    }
  }
  if (kill && kill_) kill_();
  if (wake && wake_) wake_();
}

void PubSub::Deliver(PubSubClient& client, std::string_view bytes) {
  client.Push(bytes, limits(), clock_->Now());
}

PubSub::Shard& PubSub::ShardOf(Table& t, std::string_view channel) {
  return t[HashBytes(channel) % kShards];
}

bool PubSub::Add(const std::shared_ptr<PubSubClient>& client, Kind kind, std::string_view name) {
  if (kind == Kind::kPattern) {
    if (!client->patterns_.emplace(name).second) return false;
    std::lock_guard lock(patterns_mu_);
    auto next = std::make_shared<Patterns>(*patterns_.load());
    next->push_back({std::string(name), client});
    patterns_.store(std::move(next));
    return true;
  }
  auto& mine = client->names(kind);
  if (!mine.emplace(name).second) return false;
  Shard& s = ShardOf(table(kind), name);
  std::lock_guard lock(s.mu);
  s.subs[std::string(name)].push_back(client);
  return true;
}

bool PubSub::Remove(const std::shared_ptr<PubSubClient>& client, Kind kind, std::string_view name) {
  if (kind == Kind::kPattern) {
    auto it = client->patterns_.find(std::string(name));
    if (it == client->patterns_.end()) return false;
    client->patterns_.erase(it);
    std::lock_guard lock(patterns_mu_);
    auto next = std::make_shared<Patterns>(*patterns_.load());
    std::erase_if(*next,
                  [&](const PatternSub& p) { return p.client == client && p.pattern == name; });
    patterns_.store(std::move(next));
    return true;
  }
  auto& mine = client->names(kind);
  auto it = mine.find(std::string(name));
  if (it == mine.end()) return false;
  mine.erase(it);
  Shard& s = ShardOf(table(kind), name);
  std::lock_guard lock(s.mu);
  auto found = s.subs.find(std::string(name));
  if (found != s.subs.end()) {
    std::erase(found->second, client);
    if (found->second.empty()) s.subs.erase(found);
  }
  return true;
}

namespace {

std::string_view Verb(PubSub::Kind kind, bool subscribe) {
  switch (kind) {
    case PubSub::Kind::kChannel:
      return subscribe ? "subscribe" : "unsubscribe";
    case PubSub::Kind::kPattern:
      return subscribe ? "psubscribe" : "punsubscribe";
    case PubSub::Kind::kShard:
      return subscribe ? "ssubscribe" : "sunsubscribe";
  }
  return "";
}

// Redis counts channels and patterns together, shard channels apart.
int64_t Count(const PubSubClient& c, PubSub::Kind kind) {
  const size_t shard = c.count_of(PubSub::Kind::kShard);
  return static_cast<int64_t>(kind == PubSub::Kind::kShard ? shard : c.count() - shard);
}

void Confirm(RespWriter& out, PubSub::Kind kind, bool subscribe, const std::string_view* name,
             int64_t count) {
  out.PushHeader(3);
  out.Bulk(Verb(kind, subscribe));
  if (name != nullptr) {
    out.Bulk(*name);
  } else {
    out.Null();
  }
  out.Integer(count);
}

}  // namespace

void PubSub::Subscribe(const std::shared_ptr<PubSubClient>& client, Kind kind,
                       const std::vector<std::string_view>& names, RespWriter& out) {
  client->set_protocol(out.protocol());
  for (std::string_view name : names) {
    Add(client, kind, name);
    Confirm(out, kind, true, &name, Count(*client, kind));
  }
}

void PubSub::Unsubscribe(const std::shared_ptr<PubSubClient>& client, Kind kind,
                         const std::vector<std::string_view>& names, RespWriter& out) {
  std::vector<std::string> all;
  std::vector<std::string_view> given = names;
  if (given.empty()) {
    const auto& mine = client->names(kind);
    all.assign(mine.begin(), mine.end());
    given.assign(all.begin(), all.end());
    if (given.empty()) {
      Confirm(out, kind, false, nullptr, Count(*client, kind));
      return;
    }
  }
  for (std::string_view name : given) {
    Remove(client, kind, name);
    Confirm(out, kind, false, &name, Count(*client, kind));
  }
}

void PubSub::UnsubscribeAll(const std::shared_ptr<PubSubClient>& client) {
  for (Kind kind : {Kind::kChannel, Kind::kPattern, Kind::kShard}) {
    const auto& mine = client->names(kind);
    const std::vector<std::string> names(mine.begin(), mine.end());
    for (const auto& n : names) Remove(client, kind, n);
  }
}

size_t PubSub::Publish(Kind kind, std::string_view channel, std::string_view message,
                       const PubSubClient* self, RespWriter& self_out) {
  const PubSubLimits lim = limits();
  const Clock::TimePoint now = clock_->Now();
  auto write = [&](RespWriter& w, const std::string* pattern) {
    w.PushHeader(pattern ? 4 : 3);
    w.Bulk(kind == Kind::kShard ? "smessage" : pattern ? "pmessage" : "message");
    if (pattern) w.Bulk(*pattern);
    w.Bulk(channel);
    w.Bulk(message);
  };
  std::string formatted[2];  // the channel message as each protocol writes it, on first use
  auto deliver = [&](PubSubClient& c, const std::string* pattern) {
    if (&c == self) return write(self_out, pattern);
    const int protocol = c.protocol_.load(std::memory_order_relaxed);
    if (pattern != nullptr) {
      std::string one;
      RespWriter w(&one, protocol);
      write(w, pattern);
      return c.Push(one, lim, now);
    }
    std::string& f = formatted[protocol == 3];
    if (f.empty()) {
      RespWriter w(&f, protocol);
      write(w, nullptr);
    }
    c.Push(f, lim, now);
  };
  size_t receivers = 0;
  {
    Shard& s = ShardOf(table(kind), channel);
    std::lock_guard lock(s.mu);
    auto it = s.subs.find(std::string(channel));
    if (it != s.subs.end()) {
      for (const auto& c : it->second) deliver(*c, nullptr);
      receivers += it->second.size();
    }
  }
  if (kind == Kind::kChannel) {
    const std::shared_ptr<const Patterns> pats = patterns_.load();
    for (const PatternSub& p : *pats) {
      if (!GlobMatch(p.pattern, channel)) continue;
      deliver(*p.client, &p.pattern);
      ++receivers;
    }
  }
  return receivers;
}

std::vector<std::string> PubSub::Channels(Kind kind, std::string_view pattern) const {
  std::vector<std::string> out;
  for (const Shard& s : table(kind)) {
    std::lock_guard lock(s.mu);
    for (const auto& [name, subs] : s.subs) {
      if (pattern.empty() || GlobMatch(pattern, name)) out.push_back(name);
    }
  }
  return out;
}

size_t PubSub::Subscribers(Kind kind, std::string_view channel) const {
  const Table& t = table(kind);
  const Shard& s = t[HashBytes(channel) % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.subs.find(std::string(channel));
  return it == s.subs.end() ? 0 : it->second.size();
}

size_t PubSub::PatternCount() const {
  // Redis counts distinct patterns (PUBSUB NUMPAT).
  const std::shared_ptr<const Patterns> pats = patterns_.load();
  std::set<std::string_view> distinct;
  for (const PatternSub& p : *pats) distinct.insert(p.pattern);
  return distinct.size();
}

PubSubLimits PubSub::limits() const {
  return {hard_.load(std::memory_order_relaxed), soft_.load(std::memory_order_relaxed),
          soft_seconds_.load(std::memory_order_relaxed)};
}

void PubSub::set_limits(PubSubLimits l) {
  hard_ = l.hard;
  soft_ = l.soft;
  soft_seconds_ = l.soft_seconds;
}

}  // namespace pier::net
