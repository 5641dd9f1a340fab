// File: platform.h
// The platform parts of a spec that `pier up` runs in its own process besides the registry and
// the proxy: the cache (`platform.cache`: policy, memory) and the queue (`platform.queue`:
// topics created at start), sharing one RESP listener (`platform.resp`) as `pier cache --queue
// yes` does, the queue's HTTP API on pier up's HTTP listener. Services find them in their
// environment (PIER_CACHE, PIER_QUEUE) and in the registry (services pier-cache, pier-queue).
//   Platform p(pool);  p.Start(spec, data_dir);  ...  p.AddRoutes(http);  p.Shutdown();
#pragma once

#include <map>
#include <memory>
#include <string>

#include "pier/base/status.h"
#include "pier/cache/cache_server.h"
#include "pier/deploy/spec.h"
#include "pier/net/http_server.h"
#include "pier/net/io_pool.h"
#include "pier/net/resp_server.h"
#include "pier/queue/queue_server.h"
#include "pier/registry/client.h"

namespace pier::deploy::runtime {

class Platform {
 public:
  explicit Platform(net::IoPool& pool) : pool_(pool) {}
  // Starts what the spec asks for (nothing when it asks for neither). Recovery lines of the
  // queue's log go to stderr.
  Status Start(const deploy::Platform& p, const std::string& data_dir);
  // The queue's HTTP API; call inside ListenHttp's route setup, before Start.
  void AddRoutes(net::HttpServer& http);
  // Registers pier-cache / pier-queue with a TCP check on the RESP listener.
  Status Register(registry::Client& client);
  // PIER_CACHE / PIER_QUEUE for the services' environment.
  std::map<std::string, std::string> Env() const;
  std::string Describe() const;  // "cache=127.0.0.1:7379 (allkeys-lru, 64mb) queue=..."
  void Shutdown();
  void CloseAll();
  size_t active_connections() const;
  // The cache, when the spec runs one (for the analyzer).
  cache::CacheServer* cache_server() { return cache_.get(); }
  queue::QueueServer* queue_server() { return queue_.get(); }

 private:
  net::IoPool& pool_;
  std::unique_ptr<queue::QueueServer> queue_;
  std::unique_ptr<cache::CacheServer> cache_;    // owns its listener
  std::unique_ptr<net::RespServer> queue_only_;  // the listener without a cache
  net::RespServer* resp_ = nullptr;              // whichever of the two runs
  std::string summary_;
};

}  // namespace pier::deploy::runtime
