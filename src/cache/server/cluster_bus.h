// File: cluster_bus.h
// ClusterBus: what cluster nodes tell each other. Today one thing: a PUBLISH reaches the
// subscribers of every node (Redis Cluster propagates it over its bus), so each node forwards its
// clients' PUBLISHes to the others as `CLUSTER PUBLISH channel message` (a pier extension that
// publishes on that node only, without forwarding again). SPUBLISH and keyspace notifications
// stay on their node, as Redis.
//
// One background thread drains a bounded queue in order and writes it to each peer over a
// pipelined connection (with AUTH when the server has a password); the publisher never waits for
// the network. A peer that cannot be reached loses the messages meanwhile (pub/sub is
// at-most-once), counted in `dropped()`, and is reconnected for the next batch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cache/server/cluster.h"

namespace pier::net {
class RespConnection;
}

namespace pier::cache::server {

class ClusterBus {
 public:
  // `password`: the servers' requirepass (read before each connection), empty for none.
  ClusterBus(const ClusterConfig& config, std::function<std::string()> password);
  ~ClusterBus();
  ClusterBus(const ClusterBus&) = delete;
  ClusterBus& operator=(const ClusterBus&) = delete;

  // Queues one message for every other node; dropped (and counted) past the queue's bound.
  void Publish(std::string_view channel, std::string_view message);
  uint64_t forwarded() const;
  uint64_t dropped() const;

 private:
  void Run();
  void SendTo(size_t node, const std::vector<std::pair<std::string, std::string>>& batch);

  static constexpr size_t kMaxQueuedBytes = 64 << 20;
  const ClusterConfig& config_;
  std::function<std::string()> password_;
  std::vector<std::unique_ptr<net::RespConnection>> peers_;  // by node index; Run's thread only
  std::vector<bool> down_;  // the last try failed (logged once per outage); Run's thread only
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> queue_;
  size_t queued_bytes_ = 0;
  uint64_t forwarded_ = 0, dropped_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pier::cache::server
