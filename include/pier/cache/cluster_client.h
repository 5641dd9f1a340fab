// File: cluster_client.h
// ClusterClient: a C++ client over many RESP nodes (pier or redis-server). In cluster mode it
// routes by the Redis Cluster slot map (learned from CLUSTER SLOTS, refreshed on -MOVED); over
// plain nodes it routes by consistent hashing. Connection pools per node, pipelined multi-key
// calls (one round trip per node), failed nodes skipped until a retry time, and an optional
// local cache in front kept coherent by CLIENT TRACKING (or bounded by a TTL).
//   auto c = ClusterClient::Connect({.seeds = {"127.0.0.1:7001"}, .mode =
//   ClusterClient::Mode::kCluster,
//                                    .local_cache_entries = 10000});
//   (*c)->Set("user:1", "alice");  auto v = (*c)->Get("user:1");  // Result<optional<string>>
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pier/base/clock.h"
#include "pier/base/status.h"
#include "pier/cache/concurrent_cache.h"
#include "pier/net/resp_reply.h"
#include "pier/net/tls_options.h"

namespace pier::balance {
class HashRing;
}

namespace pier::cache {

class LocalInvalidator;

// Thread-safe: any number of threads may call it; each call borrows a pooled connection.
class ClusterClient {
 public:
  enum class Mode { kCluster, kConsistentHash };
  struct Options {
    std::vector<std::string> seeds;  // HOST:PORT; in kConsistentHash mode, every node
    Mode mode = Mode::kCluster;
    size_t pool_size = 4;  // idle connections kept per node
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds io_timeout{2000};
    std::chrono::milliseconds retry_after{1000};  // a failed node is skipped this long
    size_t local_cache_entries = 0;               // 0: no local cache
    // With local_tracking, the servers tell the client of every changed key (CLIENT TRACKING
    // BCAST on one connection per node) and local entries are dropped at once; local_ttl is then
    // a backstop. Without, local_ttl alone bounds how stale a local read may be.
    bool local_tracking = true;
    std::chrono::milliseconds local_ttl{1000};
    std::string local_policy = "s3fifo";
    const Clock* clock = &Clock::Steady();
    std::string password;       // AUTH on every new connection (requirepass)
    net::TlsClientOptions tls;  // TLS to every node (tls.enabled), as redis-cli --tls
  };
  struct Stats {
    uint64_t local_hits = 0, local_misses = 0, round_trips = 0, redirects = 0, failures = 0;
    uint64_t local_invalidations = 0;  // tracking pushes received
    bool local_tracking_up = false;    // every node's tracking connection is up
  };

  static Result<std::unique_ptr<ClusterClient>> Connect(Options options);
  ~ClusterClient();

  Result<std::optional<std::string>> Get(const std::string& key);
  Status Set(const std::string& key, std::string_view value,
             std::optional<std::chrono::milliseconds> ttl = std::nullopt);
  Result<int64_t> Del(const std::string& key);
  // Values in key order; keys on different nodes are fetched in parallel round trips, one per node.
  Result<std::vector<std::optional<std::string>>> MGet(const std::vector<std::string>& keys);
  // Any command; routed by its first argument after the name (the key of most commands).
  Result<net::RespValue> Command(const std::vector<std::string>& args);
  // Commands routed one by one, sent as one pipeline per node; replies in command order.
  Result<std::vector<net::RespValue>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  Stats stats() const;
  size_t node_count() const;

 private:
  struct Node;
  explicit ClusterClient(Options options);
  Status RefreshSlots();
  Node* NodeFor(std::string_view key);
  Node* FindOrAddNode(const std::string& host, uint16_t port);
  // Runs commands on one node with pooled connections; marks the node down on I/O failure.
  Result<std::vector<net::RespValue>> RunOn(Node& node,
                                            const std::vector<std::vector<std::string_view>>& cmds);
  Result<std::vector<net::RespValue>> Route(const std::vector<std::vector<std::string>>& commands);

  Options options_;
  mutable std::mutex mu_;  // nodes_, slots_, ring_
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<uint16_t> slots_;  // slot -> node index (cluster mode)
  std::unique_ptr<balance::HashRing> ring_;
  std::unique_ptr<ConcurrentCache<std::string, std::string>> local_;
  std::unique_ptr<LocalInvalidator> invalidator_;  // after local_: stops before it goes
  // Caches a read's value (when the invalidator admits it: see local_invalidator.h).
  void CacheLocally(uint64_t epoch, const std::string& key, const std::string& value);
  std::atomic<uint64_t> local_hits_{0}, local_misses_{0}, round_trips_{0}, redirects_{0},
      failures_{0};
};

}  // namespace pier::cache
