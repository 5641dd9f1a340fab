#include "pier/cache/cluster_client.h"

#include <charconv>
#include <future>
#include <map>

#include "local_invalidator.h"
#include "pier/balance/hash_ring.h"
#include "pier/base/hash.h"
#include "pier/cache/key_slot.h"
#include "pier/net/resp_connection.h"

namespace pier::cache {

using net::RespConnection;

struct ClusterClient::Node {
  std::string host;
  uint16_t port;
  std::mutex mu;
  std::vector<std::unique_ptr<RespConnection>> idle;
  std::atomic<int64_t> down_until_ns{0};  // clock time before which the node is skipped
  std::string name() const { return host + ":" + std::to_string(port); }
};

namespace {

Result<std::pair<std::string, uint16_t>> SplitAddress(const std::string& a) {
  auto colon = a.rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos ||
      std::from_chars(a.data() + colon + 1, a.data() + a.size(), port).ec != std::errc() ||
      port == 0 || port > 65535) {
    return Status::InvalidArgument("node address '" + a + "': expected HOST:PORT");
  }
  return std::make_pair(a.substr(0, colon), static_cast<uint16_t>(port));
}

// "MOVED 3999 127.0.0.1:6381" -> (slot, host, port)
bool ParseMoved(const std::string& err, int* slot, std::string* host, uint16_t* port) {
  if (err.rfind("MOVED ", 0) != 0) return false;
  auto sp = err.find(' ', 6);
  if (sp == std::string::npos) return false;
  auto addr = SplitAddress(err.substr(sp + 1));
  if (!addr.ok() || std::from_chars(err.data() + 6, err.data() + sp, *slot).ec != std::errc())
    return false;
  *host = addr->first;
  *port = addr->second;
  return true;
}

}  // namespace

ClusterClient::ClusterClient(Options options) : options_(std::move(options)) {}

void ClusterClient::CacheLocally(uint64_t epoch, const std::string& key, const std::string& value) {
  if (invalidator_) {
    invalidator_->Admit(epoch, key, value, options_.local_ttl);
  } else {
    local_->Put(key, value, options_.local_ttl);
  }
}
ClusterClient::~ClusterClient() = default;

Result<std::unique_ptr<ClusterClient>> ClusterClient::Connect(Options options) {
  if (options.seeds.empty()) return Status::InvalidArgument("ClusterClient: no seed nodes");
  std::unique_ptr<ClusterClient> c(new ClusterClient(std::move(options)));
  const Options& o = c->options_;
  if (o.local_cache_entries > 0) {
    auto local = ConcurrentCache<std::string, std::string>::Create(
        {.policy = o.local_policy, .max_entries = o.local_cache_entries, .clock = o.clock});
    if (!local.ok()) return local.status();
    c->local_ = std::move(*local);
    if (o.local_tracking) {
      c->invalidator_ = std::make_unique<LocalInvalidator>(
          *c->local_, LocalInvalidator::Options{.connect_timeout = o.connect_timeout,
                                                .io_timeout = o.io_timeout,
                                                .retry_after = o.retry_after,
                                                .password = o.password,
                                                .tls = o.tls});
    }
  }
  std::vector<std::string> names;
  for (const auto& s : o.seeds) {
    auto a = SplitAddress(s);
    if (!a.ok()) return a.status();
    c->FindOrAddNode(a->first, a->second);
    names.push_back(s);
  }
  if (c->options_.mode == Mode::kConsistentHash) {
    c->ring_ = std::make_unique<balance::HashRing>(names);
    return c;
  }
  if (Status s = c->RefreshSlots(); !s.ok()) return s;
  return c;
}

ClusterClient::Node* ClusterClient::FindOrAddNode(const std::string& host, uint16_t port) {
  for (auto& n : nodes_) {
    if (n->host == host && n->port == port) return n.get();
  }
  nodes_.push_back(std::make_unique<Node>());
  nodes_.back()->host = host;
  nodes_.back()->port = port;
  if (invalidator_) invalidator_->AddNode(host, port);
  return nodes_.back().get();
}

Status ClusterClient::RefreshSlots() {
  std::vector<Node*> candidates;
  {
    std::lock_guard lock(mu_);
    for (auto& n : nodes_) candidates.push_back(n.get());
  }
  std::string last_error = "no node answered";
  for (Node* n : candidates) {
    auto r = RunOn(*n, {{"CLUSTER", "SLOTS"}});
    if (!r.ok()) {
      last_error = r.status().message();
      continue;
    }
    const net::RespValue& v = (*r)[0];
    if (v.is_error()) return Status::Unavailable(n->name() + ": CLUSTER SLOTS: " + v.str);
    std::lock_guard lock(mu_);
    std::vector<uint16_t> slots(kClusterSlots, UINT16_MAX);
    for (const auto& range : v.elements) {
      if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) continue;
      const auto& owner = range.elements[2];
      Node* node =
          FindOrAddNode(owner.elements[0].str, static_cast<uint16_t>(owner.elements[1].integer));
      uint16_t idx = 0;
      while (nodes_[idx].get() != node) ++idx;
      for (int64_t s = range.elements[0].integer;
           s <= range.elements[1].integer && s < kClusterSlots; ++s) {
        if (s >= 0) slots[static_cast<size_t>(s)] = idx;
      }
    }
    slots_ = std::move(slots);
    return Status::Ok();
  }
  return Status::Unavailable("ClusterClient: cannot read the slot map: " + last_error);
}

ClusterClient::Node* ClusterClient::NodeFor(std::string_view key) {
  std::lock_guard lock(mu_);
  if (options_.mode == Mode::kCluster) {
    uint16_t idx = slots_.empty() ? UINT16_MAX : slots_[KeySlot(key)];
    return idx == UINT16_MAX ? nodes_.front().get() : nodes_[idx].get();
  }
  // Consistent hashing: the first node on the key's walk that is not marked down.
  const int64_t now = options_.clock->Now().time_since_epoch().count();
  std::vector<size_t> walk = ring_->Walk(HashBytes(key));
  for (size_t i : walk) {
    if (nodes_[i]->down_until_ns.load() <= now) return nodes_[i].get();
  }
  return nodes_[walk.front()].get();  // all down: try the owner anyway
}

Result<std::vector<net::RespValue>> ClusterClient::RunOn(
    Node& node, const std::vector<std::vector<std::string_view>>& cmds) {
  const int64_t now = options_.clock->Now().time_since_epoch().count();
  if (node.down_until_ns.load() > now) {
    return Status::Unavailable(node.name() + ": marked down after a failure; retrying later");
  }
  auto mark_down = [&](Status s) {
    failures_++;
    node.down_until_ns = now + std::chrono::nanoseconds(options_.retry_after).count();
    std::lock_guard lock(node.mu);
    node.idle.clear();  // opened before the failure: reconnect fresh later
    return s;
  };
  // An idle pooled connection may have died meanwhile (server restart, idle timeout): that says
  // nothing about the node, so a failure on one is retried once on a fresh connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<RespConnection> conn;
    {
      std::lock_guard lock(node.mu);
      if (!node.idle.empty()) {
        conn = std::move(node.idle.back());
        node.idle.pop_back();
      }
    }
    const bool pooled = conn != nullptr;
    if (!conn) {
      auto c =
          RespConnection::Connect(node.host, node.port, options_.connect_timeout, options_.tls);
      if (!c.ok()) return mark_down(c.status());
      conn = std::move(*c);
      if (!options_.password.empty()) {
        auto auth = conn->Run({{"AUTH", options_.password}}, options_.io_timeout);
        if (!auth.ok()) return mark_down(auth.status());
        if ((*auth)[0].is_error()) {
          return Status::InvalidArgument(node.host + ":" + std::to_string(node.port) + ": " +
                                         (*auth)[0].str);
        }
      }
    }
    round_trips_++;
    auto r = conn->Run(cmds, options_.io_timeout);
    if (r.ok()) {
      std::lock_guard lock(node.mu);
      if (node.idle.size() < options_.pool_size) node.idle.push_back(std::move(conn));
      return r;
    }
    if (!pooled || attempt == 1) return mark_down(r.status());
    std::lock_guard lock(node.mu);
    node.idle.clear();  // its siblings are as old: drop them too
  }
  return Status::Internal("unreachable");
}

Result<std::vector<net::RespValue>> ClusterClient::Route(
    const std::vector<std::vector<std::string>>& commands) {
  std::vector<net::RespValue> replies(commands.size());
  std::vector<size_t> pending(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) pending[i] = i;
  // At most two passes: the second after a -MOVED refreshed the slot map.
  for (int pass = 0; pass < 2 && !pending.empty(); ++pass) {
    std::map<Node*, std::vector<size_t>> by_node;
    for (size_t i : pending) {
      const auto& c = commands[i];
      by_node[NodeFor(c.size() > 1 ? std::string_view(c[1]) : std::string_view())].push_back(i);
    }
    std::vector<std::pair<Node*, std::future<Result<std::vector<net::RespValue>>>>> calls;
    for (auto& [node, idx] : by_node) {
      std::vector<std::vector<std::string_view>> cmds;
      for (size_t i : idx) cmds.emplace_back(commands[i].begin(), commands[i].end());
      Node* n = node;
      auto run = [this, n, cmds = std::move(cmds)] { return RunOn(*n, cmds); };
      // One node: run inline. Several: one thread per extra node, so the round trips overlap.
      calls.emplace_back(n, by_node.size() == 1 ? std::async(std::launch::deferred, run)
                                                : std::async(std::launch::async, run));
    }
    std::vector<size_t> retry;
    bool moved = false;
    for (auto& [node, fut] : calls) {
      auto r = fut.get();
      if (!r.ok()) return r.status();
      const auto& idx = by_node[node];
      for (size_t k = 0; k < idx.size(); ++k) {
        int slot;
        std::string host;
        uint16_t port;
        if ((*r)[k].is_error() && ParseMoved((*r)[k].str, &slot, &host, &port) && pass == 0) {
          moved = true;
          retry.push_back(idx[k]);
        } else {
          replies[idx[k]] = std::move((*r)[k]);
        }
      }
    }
    if (moved) {
      redirects_ += retry.size();
      if (Status s = RefreshSlots(); !s.ok()) return s;
    }
    pending = std::move(retry);
  }
  return replies;
}

Result<net::RespValue> ClusterClient::Command(const std::vector<std::string>& args) {
  auto r = Route({args});
  if (!r.ok()) return r.status();
  return std::move((*r)[0]);
}

Result<std::vector<net::RespValue>> ClusterClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  return Route(commands);
}

Result<std::optional<std::string>> ClusterClient::Get(const std::string& key) {
  if (local_) {
    if (auto v = local_->Get(key)) {
      local_hits_++;
      return std::optional<std::string>(std::move(*v));
    }
    local_misses_++;
  }
  const uint64_t epoch = invalidator_ ? invalidator_->epoch() : 0;
  auto r = Command({"GET", key});
  if (!r.ok()) return r.status();
  if (r->is_error()) return Status::InvalidArgument("GET " + key + ": " + r->str);
  if (r->is_null()) return std::optional<std::string>();
  if (local_) CacheLocally(epoch, key, r->str);
  return std::optional<std::string>(std::move(r->str));
}

Status ClusterClient::Set(const std::string& key, std::string_view value,
                          std::optional<std::chrono::milliseconds> ttl) {
  std::vector<std::string> args = {"SET", key, std::string(value)};
  if (ttl) {
    args.push_back("PX");
    args.push_back(std::to_string(ttl->count()));
  }
  if (local_) local_->Erase(key);
  auto r = Command(args);
  if (!r.ok()) return r.status();
  if (r->is_error()) return Status::InvalidArgument("SET " + key + ": " + r->str);
  return Status::Ok();
}

Result<int64_t> ClusterClient::Del(const std::string& key) {
  if (local_) local_->Erase(key);
  auto r = Command({"DEL", key});
  if (!r.ok()) return r.status();
  if (r->is_error()) return Status::InvalidArgument("DEL " + key + ": " + r->str);
  return r->integer;
}

Result<std::vector<std::optional<std::string>>> ClusterClient::MGet(
    const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  std::vector<std::vector<std::string>> cmds;
  std::vector<size_t> where;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (local_) {
      if (auto v = local_->Get(keys[i])) {
        local_hits_++;
        out[i] = std::move(*v);
        continue;
      }
      local_misses_++;
    }
    cmds.push_back({"GET", keys[i]});  // per-key GETs pipelined per node: no CROSSSLOT
    where.push_back(i);
  }
  const uint64_t epoch = invalidator_ ? invalidator_->epoch() : 0;
  auto r = Route(cmds);
  if (!r.ok()) return r.status();
  for (size_t k = 0; k < where.size(); ++k) {
    const net::RespValue& v = (*r)[k];
    if (v.is_error()) return Status::InvalidArgument("GET " + keys[where[k]] + ": " + v.str);
    if (!v.is_null()) {
      out[where[k]] = v.str;
      if (local_) CacheLocally(epoch, keys[where[k]], v.str);
    }
  }
  return out;
}

ClusterClient::Stats ClusterClient::stats() const {
  return {local_hits_.load(),
          local_misses_.load(),
          round_trips_.load(),
          redirects_.load(),
          failures_.load(),
          invalidator_ ? invalidator_->invalidations() : 0,
          invalidator_ && invalidator_->healthy()};
}

size_t ClusterClient::node_count() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

}  // namespace pier::cache
