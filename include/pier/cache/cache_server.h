// File: cache_server.h
// CacheServer: the Redis-compatible server on the cache engine (`pier cache`), embeddable.
//   net::IoPool pool(0);
//   CacheServer server(pool, {.port = 7379, .maxmemory = 1 << 30, .policy = "allkeys-s3fifo"});
//   server.Start();  pool.Start();
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "pier/base/clock.h"
#include "pier/base/status.h"
#include "pier/net/io_pool.h"
#include "pier/net/resp_parser.h"
#include "pier/net/tcp_listener.h"

namespace pier::net {
class TcpListener;
class Connection;
class TlsServerContext;
class RespWriter;
class RespExtension;
}  // namespace pier::net
namespace pier::perf {
class Analyzer;
class Tuner;
}  // namespace pier::perf
namespace pier::cache::server {
struct CommandSpec;
class Database;
struct ClientState;
struct ClusterConfig;
}  // namespace pier::cache::server

namespace pier::cache {

struct CacheServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7379;
  // A second listener on `host` that speaks TLS (redis-server's tls-port; 0 picks a free port),
  // with `tls`'s certificate. -1: none.
  int tls_port = -1;
  std::shared_ptr<net::TlsServerContext> tls;
  std::string requirepass;            // empty: no AUTH needed
  bool protected_mode = true;         // refuse non-loopback binds without a password
  uint64_t maxmemory = 0;             // bytes; 0: unlimited
  std::string policy = "noeviction";  // maxmemory-policy
  net::RespLimits limits;
  size_t maxclients = 10000;
  std::chrono::seconds timeout{0};  // idle client timeout; 0: none
  size_t shards = 0;                // 0: 16 per I/O thread
  const Clock* clock = &Clock::Steady();
  std::string config_file;   // shown in INFO
  std::string cluster_file;  // cluster mode: the nodes file (see docs/cache-server.md)
  bool keyspace = true;      // false: only connection and server commands (`pier queue` alone)
  bool shadow = true;        // the miss-ratio shadow (hit-ratio predictions) when maxmemory is set
};

// Thread-safe. Commands run on the I/O thread of their connection.
class CacheServer {
 public:
  CacheServer(net::IoPool& pool, CacheServerOptions options);
  ~CacheServer();

  // Validates options (policy name, protected mode) and binds.
  Status Start();
  // Another module's commands on this listener (before Start; not owned).
  void SetExtension(net::RespExtension* extension) { extension_ = extension; }
  std::string address() const;
  uint16_t port() const;
  // The TLS listener's address ("" without one).
  std::string tls_address() const;
  void Shutdown();
  void CloseAll();
  size_t active_connections() const;

  // Runs one command as `client` and appends the reply to `out` (the in-process harness and the
  // connections both come here).
  void Execute(server::ClientState& client, const std::vector<std::string_view>& args,
               std::string* out);
  // The same, for a command of a batch: `now` is when it starts (read once per batch, then the
  // end of the command before it), and is set to when it ends; one clock read per command.
  void Execute(server::ClientState& client, const std::vector<std::string_view>& args,
               std::string* out, Clock::TimePoint* now);
  // A client for the in-process harness.
  std::unique_ptr<server::ClientState> NewClient(std::string addr = "harness");
  void ReleaseClient(server::ClientState* c);

  server::Database& db() { return *db_; }
  // Connects the server to the analyzer and tuner (cache_tuning.cc): the analyzer's CacheView
  // (policy, maxmemory and the miss-ratio shadow's predictions, SHARDS-adjusted with the
  // server's own lookup count since the shadow's counts started over) and the knobs
  // cache.policy and cache.maxmemory (objective: hit ratio; guard: command p99).
  void AttachTo(perf::Analyzer& analyzer, perf::Tuner& tuner);
  // Whether `name` is a maxmemory-policy the server knows (an error naming it otherwise).
  static Status CheckPolicyName(const std::string& name);
  // The cluster's slot map, or nullptr when cluster mode is off.
  const server::ClusterConfig* cluster() const { return cluster_.get(); }
  // Active expiry and other periodic work; the server schedules it itself after Start(), tests
  // call it directly.
  size_t Cron();

  // For INFO, CONFIG and CLIENT.
  struct Stats {
    std::atomic<uint64_t> connections_received{0};
    std::atomic<uint64_t> commands_processed{0};
    std::atomic<uint64_t> rejected_connections{0};
    std::atomic<uint64_t> net_input_bytes{0};
    std::atomic<uint64_t> net_output_bytes{0};
    std::atomic<uint64_t> peak_memory{0};
  };
  Stats& stats() { return stats_; }
  const CacheServerOptions& options() const { return options_; }
  std::string requirepass() const;
  // Refused (protected mode) when it would remove the password of a non-loopback listener.
  Status set_requirepass(std::string p);
  // Whether `given` is the password (constant time).
  bool CheckPassword(std::string_view given) const;
  net::RespLimits limits() const;
  void set_limits(net::RespLimits l);
  std::chrono::seconds start_time() const { return start_; }
  size_t io_threads() const { return pool_.size(); }

  // The client registry (CLIENT LIST/KILL, INFO clients).
  template <typename Fn>
  void ForEachClient(Fn&& fn) {
    std::lock_guard lock(clients_mu_);
    for (auto* c : clients_) fn(*c);
  }
  std::mutex& clients_mutex() { return clients_mu_; }
  size_t client_count();

 private:
  void RegisterClient(server::ClientState* c);
  // Cluster mode: false after answering -MOVED or -CROSSSLOT.
  bool RouteToSlot(const server::CommandSpec& spec, const std::vector<std::string_view>& args,
                   net::RespWriter& w);
  boost::asio::awaitable<void> Serve(net::Connection& conn);
  // NOAUTH for a client that has not authenticated (false after writing it).
  bool CheckAuth(server::ClientState& client, net::RespWriter& w);
  void ScheduleCron();
  net::RespExtension* extension_ = nullptr;

  net::IoPool& pool_;
  CacheServerOptions options_;
  std::unique_ptr<server::Database> db_;
  std::unique_ptr<server::ClusterConfig> cluster_;
  std::shared_ptr<net::TcpListener> listener_;
  std::shared_ptr<net::TcpListener> tls_listener_;
  std::shared_ptr<void> cron_timer_;
  Stats stats_;
  std::chrono::seconds start_;
  mutable std::mutex config_mu_;
  std::atomic<uint64_t> next_client_id_{1};
  std::mutex clients_mu_;
  std::vector<server::ClientState*> clients_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> has_password_;  // requirepass is set (read per request, without the lock)
};

}  // namespace pier::cache
