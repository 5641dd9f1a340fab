// Cluster: CLUSTER (SLOTS SHARDS NODES KEYSLOT INFO MYID COUNTKEYSINSLOT GETKEYSINSLOT),
// READONLY, READWRITE, ASKING.
#include <fmt/format.h>

#include "cache/server/cluster.h"
#include "cache/server/command.h"
#include "pier/net/resp_server.h"

namespace pier::cache::server {

namespace {

constexpr std::string_view kDisabled = "ERR This instance has cluster support disabled";

std::string NodesText(const ClusterConfig& cfg) {
  std::string out;
  for (size_t i = 0; i < cfg.nodes.size(); ++i) {
    const ClusterNode& n = cfg.nodes[i];
    out += fmt::format("{} {}:{}@{} {} - 0 0 {} connected", n.id, n.host, n.port, n.port + 10000,
                       i == cfg.self ? "myself,master" : "master", i + 1);
    for (auto [lo, hi] : n.ranges)
      out += lo == hi ? fmt::format(" {}", lo) : fmt::format(" {}-{}", lo, hi);
    out += "\n";
  }
  return out;
}

// Keys of one slot, by scanning the shards (COUNTKEYSINSLOT and GETKEYSINSLOT are admin
// commands used while resharding; pier keeps no per-slot index).
std::vector<std::string> KeysInSlot(CommandContext& c, int slot, size_t limit) {
  std::vector<std::string> keys;
  const int64_t now = c.now_ms;
  for (size_t s = 0; s < c.db.shard_count() && keys.size() < limit; ++s) {
    auto lock = c.db.LockShard(s);
    Keyspace& ks = c.db.shard(s);
    for (uint32_t id = 0; id < ks.id_limit() && keys.size() < limit; ++id) {
      Entry* e = ks.entry(id);
      if (e && (e->expire_ms == 0 || e->expire_ms > now) && KeySlot(e->key()) == slot) {
        keys.emplace_back(e->key());
      }
    }
  }
  return keys;
}

bool ParseSlot(CommandContext& c, std::string_view arg, int* slot) {
  int64_t v;
  if (!ParseInt64(arg, &v) || v < 0 || v >= kClusterSlots) {
    c.out.Error("ERR Invalid slot");
    return false;
  }
  *slot = static_cast<int>(v);
  return true;
}

void Cluster(CommandContext& c) {
  const ClusterConfig* cfg = c.cluster;
  const std::string sub = Lower(c.args[1]);
  if (sub == "keyslot") {  // works without cluster mode too, as in Redis
    if (c.argc() != 3)
      return c.out.Error("ERR wrong number of arguments for 'cluster|keyslot' command");
    return c.out.Integer(KeySlot(c.args[2]));
  }
  if (!cfg) return c.out.Error(kDisabled);
  if (sub == "myid") {
    c.out.Bulk(cfg->me().id);
  } else if (sub == "nodes") {
    c.out.Verbatim(NodesText(*cfg));
  } else if (sub == "slots") {
    int64_t n = 0;
    for (const auto& node : cfg->nodes) n += static_cast<int64_t>(node.ranges.size());
    c.out.ArrayHeader(n);
    for (const auto& node : cfg->nodes) {
      for (auto [lo, hi] : node.ranges) {
        c.out.ArrayHeader(3);
        c.out.Integer(lo);
        c.out.Integer(hi);
        c.out.ArrayHeader(3);
        c.out.Bulk(node.host);
        c.out.Integer(node.port);
        c.out.Bulk(node.id);
      }
    }
  } else if (sub == "shards") {
    c.out.ArrayHeader(static_cast<int64_t>(cfg->nodes.size()));
    for (const auto& node : cfg->nodes) {
      c.out.MapHeader(2);
      c.out.Bulk("slots");
      c.out.ArrayHeader(static_cast<int64_t>(2 * node.ranges.size()));
      for (auto [lo, hi] : node.ranges) {
        c.out.Integer(lo);
        c.out.Integer(hi);
      }
      c.out.Bulk("nodes");
      c.out.ArrayHeader(1);
      c.out.MapHeader(7);
      c.out.Bulk("id");
      c.out.Bulk(node.id);
      c.out.Bulk("port");
      c.out.Integer(node.port);
      c.out.Bulk("ip");
      c.out.Bulk(node.host);
      c.out.Bulk("endpoint");
      c.out.Bulk(node.host);
      c.out.Bulk("role");
      c.out.Bulk("master");
      c.out.Bulk("replication-offset");
      c.out.Integer(0);
      c.out.Bulk("health");
      c.out.Bulk("online");
    }
  } else if (sub == "info") {
    const size_t n = cfg->nodes.size();
    c.out.Verbatim(
        fmt::format("cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n"
                    "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:{}\r\n"
                    "cluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n"
                    "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
                    "total_cluster_links_buffer_limit_exceeded:0\r\n",
                    n, n, n, cfg->self + 1));
  } else if (sub == "countkeysinslot") {
    int slot;
    if (c.argc() != 3)
      return c.out.Error("ERR wrong number of arguments for 'cluster|countkeysinslot' command");
    if (!ParseSlot(c, c.args[2], &slot)) return;
    c.out.Integer(static_cast<int64_t>(KeysInSlot(c, slot, SIZE_MAX).size()));
  } else if (sub == "publish") {
    // pier's cluster bus: a PUBLISH another node forwards, published on this node only.
    if (c.argc() != 4)
      return c.out.Error("ERR wrong number of arguments for 'cluster|publish' command");
    std::string ignored;
    net::RespWriter none(&ignored, 2);
    c.out.Integer(static_cast<int64_t>(
        c.server.pubsub().Publish(net::PubSubKind::kChannel, c.args[2], c.args[3], nullptr, none)));
  } else if (sub == "getkeysinslot") {
    int slot;
    int64_t count;
    if (c.argc() != 4)
      return c.out.Error("ERR wrong number of arguments for 'cluster|getkeysinslot' command");
    if (!ParseSlot(c, c.args[2], &slot)) return;
    if (!ParseInt64(c.args[3], &count) || count < 0)
      return c.out.Error("ERR Invalid number of keys");
    auto keys = KeysInSlot(c, slot, static_cast<size_t>(count));
    c.out.ArrayHeader(static_cast<int64_t>(keys.size()));
    for (const auto& k : keys) c.out.Bulk(k);
  } else {
    c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try CLUSTER HELP.");
  }
}

void ClusterOk(CommandContext& c) {
  if (!c.cluster) return c.out.Error(kDisabled);
  c.out.Ok();
}

}  // namespace

void RegisterClusterCommands(CommandTable& t) {
  t.Add({"cluster", -2, kStale, 0, 0, 0, Cluster, "cluster",
         "A container for Redis Cluster commands.", "3.0.0"});
  t.Add({"readonly", 1, kFast | kLoading | kStale, 0, 0, 0, ClusterOk, "cluster",
         "Enables read-only queries for a connection to a Redis Cluster replica node.", "3.0.0"});
  t.Add({"readwrite", 1, kFast | kLoading | kStale, 0, 0, 0, ClusterOk, "cluster",
         "Enables read-write queries for a connection to a Reids Cluster replica node.", "3.0.0"});
  t.Add({"asking", 1, kFast, 0, 0, 0, ClusterOk, "cluster",
         "Signals that a cluster client is following an -ASK redirect.", "3.0.0"});
}

}  // namespace pier::cache::server
