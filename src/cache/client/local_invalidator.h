// File: local_invalidator.h
// LocalInvalidator: keeps a ClusterClient's local cache coherent with the servers through
// CLIENT TRACKING. Per node, one RESP3 connection with `CLIENT TRACKING on BCAST` receives an
// `invalidate` push for every key changed there (by anyone, expiry and eviction included) and
// erases it locally; FLUSHALL's null push, or a lost connection (messages may have been missed),
// clears the whole local cache. A read result may be cached only if every node's connection was
// up and nothing was invalidated between the read's start and the Put (`Admit`), so a value
// changed while the read was in flight never stays cached.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "pier/cache/concurrent_cache.h"
#include "pier/net/tls_options.h"

namespace pier::cache {

class LocalInvalidator {
 public:
  using LocalCache = ConcurrentCache<std::string, std::string>;
  struct Options {
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds io_timeout{2000};
    std::chrono::milliseconds retry_after{1000};  // between reconnection attempts
    std::string password;
    net::TlsClientOptions tls;
  };

  LocalInvalidator(LocalCache& cache, Options options) : cache_(cache), options_(options) {}
  ~LocalInvalidator();
  LocalInvalidator(const LocalInvalidator&) = delete;
  LocalInvalidator& operator=(const LocalInvalidator&) = delete;

  // Starts following `host:port` (a node the client routes to).
  void AddNode(const std::string& host, uint16_t port);

  // Before a read: the invalidation count it must still see when it caches the result.
  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }
  // Puts a read's value unless something was invalidated since `epoch` or a node's tracking
  // connection is down.
  void Admit(uint64_t epoch, const std::string& key, const std::string& value,
             std::chrono::milliseconds ttl);
  // Every node's tracking connection is up (reads are being cached).
  bool healthy() const { return down_.load() == 0; }
  uint64_t invalidations() const { return invalidations_.load(); }

 private:
  void Follow(std::string host, uint16_t port);
  // Something may have changed: later Admits of earlier reads are refused.
  void Bump();

  LocalCache& cache_;
  const Options options_;
  std::shared_mutex admit_mu_;  // Admit (shared) vs Bump (exclusive)
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> down_{0};  // nodes whose tracking connection is not up
  std::atomic<uint64_t> invalidations_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pier::cache
