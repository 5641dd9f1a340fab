#include "cache/server/notify.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "cache/server/command.h"
#include "pier/net/pubsub.h"

namespace pier::cache::server {

namespace {

struct ClassChar {
  char c;
  uint32_t flag;
};
// In the order Redis prints them: these unless A stands for them (n is then not shown), then
// kTail.
constexpr ClassChar kClasses[] = {
    {'g', kNotifyGeneric}, {'$', kNotifyString}, {'l', kNotifyList},    {'s', kNotifySet},
    {'h', kNotifyHash},    {'z', kNotifyZset},   {'x', kNotifyExpired}, {'e', kNotifyEvicted},
    {'t', kNotifyStream},  {'d', kNotifyModule}, {'n', kNotifyNew},
};
constexpr ClassChar kTail[] = {
    {'K', kNotifyKeyspace}, {'E', kNotifyKeyevent}, {'m', kNotifyKeyMiss}};

// Event names outlive the table (specs move as it grows): interned once.
std::string_view Intern(std::string name) {
  static std::set<std::string> names;
  return *names.insert(std::move(name)).first;
}

bool Is(std::string_view a, std::string_view b) { return EqualsIgnoreCase(a, b); }

// The direction token after `numkeys` keys (LMPOP/ZMPOP and their blocking forms), or "".
std::string_view DirectionAfterKeys(const std::vector<std::string_view>& args, size_t numkeys_at) {
  int64_t n = 0;
  if (numkeys_at >= args.size() || !ParseInt64(args[numkeys_at], &n) || n < 1) return {};
  const size_t at = numkeys_at + 1 + static_cast<size_t>(n);
  return at < args.size() ? args[at] : std::string_view{};
}

NotifyEvent Rename(const std::vector<std::string_view>&, size_t key_at) {
  if (key_at == 1) return {kNotifyGeneric, "rename_from", true};
  return {kNotifyGeneric, "rename_to"};
}
NotifyEvent SMove(const std::vector<std::string_view>&, size_t key_at) {
  return {kNotifySet, key_at == 1 ? "srem" : "sadd"};
}
NotifyEvent RPopLPush(const std::vector<std::string_view>&, size_t key_at) {
  return {kNotifyList, key_at == 1 ? "rpop" : "lpush"};
}
NotifyEvent LMove(const std::vector<std::string_view>& args, size_t key_at) {
  if (key_at == 1) return {kNotifyList, Is(args[3], "LEFT") ? "lpop" : "rpop"};
  return {kNotifyList, Is(args[4], "LEFT") ? "lpush" : "rpush"};
}
NotifyEvent LMPop(const std::vector<std::string_view>& args, size_t) {
  const size_t at = Is(args[0], "BLMPOP") ? 2 : 1;
  return {kNotifyList, Is(DirectionAfterKeys(args, at), "LEFT") ? "lpop" : "rpop"};
}
NotifyEvent ZMPop(const std::vector<std::string_view>& args, size_t) {
  const size_t at = Is(args[0], "BZMPOP") ? 2 : 1;
  return {kNotifyZset, Is(DirectionAfterKeys(args, at), "MIN") ? "zpopmin" : "zpopmax"};
}
NotifyEvent ZAdd(const std::vector<std::string_view>& args, size_t) {
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (Is(a, "INCR")) return {kNotifyZset, "zincr"};
    if (!Is(a, "NX") && !Is(a, "XX") && !Is(a, "GT") && !Is(a, "LT") && !Is(a, "CH")) break;
  }
  return {kNotifyZset, "zadd"};
}

// Commands whose event is not their own name in their group's class.
struct Fixed {
  uint32_t type;
  const char* name;
};
const std::unordered_map<std::string_view, Fixed>& FixedEvents() {
  static const std::unordered_map<std::string_view, Fixed> m = {
      {"incr", {kNotifyString, "incrby"}},
      {"decr", {kNotifyString, "incrby"}},
      {"incrby", {kNotifyString, "incrby"}},
      {"decrby", {kNotifyString, "incrby"}},
      {"setnx", {kNotifyString, "set"}},
      {"setex", {kNotifyString, "set"}},
      {"psetex", {kNotifyString, "set"}},
      {"mset", {kNotifyString, "set"}},
      {"msetnx", {kNotifyString, "set"}},
      {"getset", {kNotifyString, "set"}},
      {"hsetnx", {kNotifyHash, "hset"}},
      {"hmset", {kNotifyHash, "hset"}},
      {"lpushx", {kNotifyList, "lpush"}},
      {"rpushx", {kNotifyList, "rpush"}},
      {"blpop", {kNotifyList, "lpop"}},
      {"brpop", {kNotifyList, "rpop"}},
      {"bzpopmin", {kNotifyZset, "zpopmin"}},
      {"bzpopmax", {kNotifyZset, "zpopmax"}},
      {"zincrby", {kNotifyZset, "zincr"}},
      {"sort", {kNotifyGeneric, "sortstore"}},
      {"copy", {kNotifyGeneric, "copy_to"}},
      // Their events come from what they did: "del", "expire", "persist".
      {"del", {0, ""}},
      {"unlink", {0, ""}},
      {"getdel", {0, ""}},
      {"getex", {0, ""}},
      {"expire", {0, ""}},
      {"pexpire", {0, ""}},
      {"expireat", {0, ""}},
      {"pexpireat", {0, ""}},
      {"persist", {0, ""}},
  };
  return m;
}

uint32_t ClassOfGroup(std::string_view group) {
  if (group == "generic") return kNotifyGeneric;
  if (group == "string") return kNotifyString;
  if (group == "list") return kNotifyList;
  if (group == "set") return kNotifySet;
  if (group == "sorted_set") return kNotifyZset;
  if (group == "hash") return kNotifyHash;
  if (group == "stream") return kNotifyStream;
  return 0;  // server, scripting, cluster: no event of their own
}

}  // namespace

std::optional<uint32_t> ParseKeyspaceEvents(std::string_view classes) {
  uint32_t flags = 0;
  auto find = [&flags](char c, const auto& table) {
    for (const ClassChar& k : table) {
      if (k.c != c) continue;
      flags |= k.flag;
      return true;
    }
    return false;
  };
  for (char c : classes) {
    if (c == 'A') {
      flags |= kNotifyAll;
    } else if (!find(c, kClasses) && !find(c, kTail)) {
      return std::nullopt;
    }
  }
  return flags;
}

std::string FormatKeyspaceEvents(uint32_t flags) {
  std::string s;
  if ((flags & kNotifyAll) == kNotifyAll) {
    s += 'A';
  } else {
    for (const ClassChar& c : kClasses) {
      if (flags & c.flag) s += c.c;
    }
  }
  for (const ClassChar& c : kTail) {
    if (flags & c.flag) s += c.c;
  }
  return s;
}

NotifyRule NotifyRuleFor(std::string_view name, std::string_view group, uint32_t flags) {
  NotifyRule r;
  if (!(flags & kWrite)) return r;
  static const std::unordered_map<std::string_view, NotifyEventFn> dynamic = {
      {"rename", Rename},        {"renamenx", Rename}, {"smove", SMove},  {"rpoplpush", RPopLPush},
      {"brpoplpush", RPopLPush}, {"lmove", LMove},     {"blmove", LMove}, {"lmpop", LMPop},
      {"blmpop", LMPop},         {"zmpop", ZMPop},     {"bzmpop", ZMPop}, {"zadd", ZAdd}};
  r.readds = name == "rename" || name == "renamenx" || name == "copy" || name == "restore";
  r.destination_first =
      name == "lmove" || name == "blmove" || name == "rpoplpush" || name == "brpoplpush";
  if (auto it = dynamic.find(name); it != dynamic.end()) {
    r.fn = it->second;
  } else if (auto f = FixedEvents().find(name); f != FixedEvents().end()) {
    r.fixed = {f->second.type, f->second.name};
  } else {
    r.fixed = {ClassOfGroup(group), Intern(std::string(name))};
  }
  return r;
}

void Notifier::Emit(uint32_t type, std::string_view event, std::string_view key) const {
  const uint32_t f = flags();
  if (!(f & type) || pubsub_ == nullptr) return;
  std::string ignored;
  net::RespWriter none(&ignored, 2);
  std::string channel;
  if (f & kNotifyKeyspace) {
    channel.assign("__keyspace@0__:").append(key);
    pubsub_->Publish(net::PubSubKind::kChannel, channel, event, nullptr, none);
  }
  if (f & kNotifyKeyevent) {
    channel.assign("__keyevent@0__:").append(event);
    pubsub_->Publish(net::PubSubKind::kChannel, channel, key, nullptr, none);
  }
}

thread_local CommandEvents* CommandEvents::current_ = nullptr;

CommandEvents::CommandEvents(const Notifier& notifier, const CommandSpec& spec,
                             const std::vector<std::string_view>& args) {
  if (!notifier.Active()) return;
  notifier_ = &notifier;
  spec_ = &spec;
  args_ = &args;
  outer_ = current_;
  current_ = this;
}

CommandEvents::~CommandEvents() {
  if (notifier_ == nullptr) return;
  current_ = outer_;
  Publish();
}

void CommandEvents::Add(std::string_view key, KeyChange change) {
  const size_t before = keys_.size();
  KeyRecord* r = &Find(key);
  const bool known = keys_.size() == before;
  if (change == KeyChange::kCreated) {
    if (spec_->notify.readds) {
      notifier_->Emit(kNotifyNew, "new", key);  // when it happens: before RENAME's other events
    } else if (!known) {
      r->added = true;  // with the key's other events
    }
  }
  switch (change) {
    case KeyChange::kCreated:
    case KeyChange::kChanged:
      r->written = true;
      r->deleted_last = false;
      break;
    case KeyChange::kDeleted:
      r->deleted_last = true;
      break;
    case KeyChange::kExpireSet:
      r->expire_set = true;
      break;
    case KeyChange::kPersisted:
      r->persisted = true;
      break;
  }
}

void CommandEvents::Also(std::string_view key, uint32_t type, std::string_view event) {
  if (current_ != nullptr) current_->Find(key).extra.push_back({type, event});
}

CommandEvents::KeyRecord& CommandEvents::Find(std::string_view key) {
  for (auto& k : keys_) {
    if (k.key == key) return k;
  }
  KeyRecord& r = keys_.emplace_back();
  r.key.assign(key);
  return r;
}

void CommandEvents::Publish() {
  // Where the command names each key (its argument index; past the end: not named).
  const std::vector<std::string_view>& args = *args_;
  const NotifyRule& rule = spec_->notify;
  auto position = [&args](const std::string& key) {
    size_t i = 1;
    while (i < args.size() && args[i] != key) ++i;
    return i;
  };
  // In that order (RENAME's source before its destination), LMOVE's destination first.
  auto rank = [&](const KeyRecord& r) {
    const size_t i = position(r.key);
    return rule.destination_first && i <= 2 ? 3 - i : i;
  };
  std::stable_sort(keys_.begin(), keys_.end(),
                   [&](const KeyRecord& a, const KeyRecord& b) { return rank(a) < rank(b); });
  for (const KeyRecord& r : keys_) {
    const size_t at = position(r.key);
    const NotifyEvent ev = rule.For(args, at);
    // LMOVE of a list onto itself: the push, then the pop.
    if (rule.destination_first && at == 1 && args[2] == args[1] && r.written) {
      const NotifyEvent push = rule.For(args, 2);
      notifier_->Emit(push.type, push.name, r.key);
    }
    if (r.added) notifier_->Emit(kNotifyNew, "new", r.key);
    if (ev.type != 0 && (r.written || (ev.replaces_del && r.deleted_last))) {
      notifier_->Emit(ev.type, ev.name, r.key);
    }
    for (const NotifyEvent& x : r.extra) notifier_->Emit(x.type, x.name, r.key);
    if (r.deleted_last) {
      if (!ev.replaces_del) notifier_->Emit(kNotifyGeneric, "del", r.key);
      continue;
    }
    if (r.expire_set) notifier_->Emit(kNotifyGeneric, "expire", r.key);
    if (r.persisted) notifier_->Emit(kNotifyGeneric, "persist", r.key);
  }
}

}  // namespace pier::cache::server
