// File: cache_server.h
// CacheServer: the Redis-compatible server on the cache engine (`pier cache`), embeddable.
//   net::IoPool pool(0);
//   CacheServer server(pool, {.resp = {.port = 7379}, .maxmemory = 1 << 30,
//                             .policy = "allkeys-s3fifo"});
//   server.Start();  pool.Start();
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pier/base/clock.h"
#include "pier/base/status.h"
#include "pier/net/io_pool.h"
#include "pier/net/resp_server.h"

namespace pier::perf {
class Analyzer;
class Tuner;
}  // namespace pier::perf
namespace pier::cache::server {
class Database;
}  // namespace pier::cache::server

namespace pier::cache {

struct CacheServerOptions {
  // The listener: address, TLS, password, protected mode, limits, the clock (the keyspace's
  // too).
  net::RespServerOptions resp;
  uint64_t maxmemory = 0;             // bytes; 0: unlimited
  std::string policy = "noeviction";  // maxmemory-policy
  size_t shards = 0;                  // 0: 16 per I/O thread
  std::string cluster_file;           // cluster mode: the nodes file (see docs/cache-server.md)
  bool shadow = true;  // the miss-ratio shadow (hit-ratio predictions) when maxmemory is set
};

// The keyspace's commands (a net::RespService) on a net::RespServer of its own. Thread-safe.
// Commands run on the I/O thread of their connection.
class CacheServer {
 public:
  CacheServer(net::IoPool& pool, CacheServerOptions options);
  ~CacheServer();

  // Validates options (policy name, protected mode, cluster file) and binds.
  Status Start();
  // Another module's commands on this listener, after the keyspace's (before Start; not
  // owned): `pier cache --queue yes`.
  void AddService(net::RespService* service);
  // The listener: address, clients, password, limits.
  net::RespServer& resp();
  std::string address() const;
  uint16_t port() const;
  // The TLS listener's address ("" without one).
  std::string tls_address() const;
  void Shutdown();
  void CloseAll();
  size_t active_connections() const;

  // The in-process harness: runs one command as `client` and appends the reply to `out`.
  void Execute(net::RespClient& client, const std::vector<std::string_view>& args,
               std::string* out);
  std::unique_ptr<net::RespClient> NewClient(std::string addr = "harness");
  void ReleaseClient(net::RespClient* c);
  // What INFO keyspace, memory and stats report, for embedders that do not speak RESP.
  struct KeyspaceInfo {
    uint64_t keys = 0, used_bytes = 0;
    uint64_t hits = 0, misses = 0, expired = 0, evicted = 0;
  };
  KeyspaceInfo keyspace_info() const;

  // Connects the server to the analyzer and tuner (cache_perf.cc): the cache's analyzer source
  // (its series and rules, with the policy, maxmemory and the miss-ratio shadow's predictions,
  // SHARDS-adjusted with the server's own lookup count since the shadow's counts started over)
  // and the knobs cache.policy and cache.maxmemory (objective: hit ratio; guard: command p99).
  void AttachTo(perf::Analyzer& analyzer, perf::Tuner& tuner);
  // Whether `name` is a maxmemory-policy the server knows (an error naming it otherwise).
  static Status CheckPolicyName(const std::string& name);
  // Active expiry and other periodic work; the server schedules it itself after Start(), tests
  // call it directly.
  size_t Cron();

 private:
  server::Database& db() const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pier::cache
