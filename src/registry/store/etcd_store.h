// File: etcd_store.h
// EtcdStore: the registry's store in etcd (v3 API through its JSON gateway), so several pier
// registries serve one catalog. Registrations are keys PREFIX/services/<id> holding the stored row;
// a commit is one etcd transaction (etcd fsyncs before answering). TTL heartbeats are keys
// PREFIX/health/<check id> under a lease of the check's TTL, so they vanish from etcd when the
// heartbeats stop. Follow() streams etcd's watch so what other registries write reaches this one.
//   auto store = EtcdStore::Open("etcd://127.0.0.1:2379");
//   store->Follow({.services = ..., .reload = ..., .health = ...});
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pier/base/base64.h"
#include "pier/registry/store.h"

namespace pier::registry {

class EtcdStore final : public RegistryStore {
 public:
  // etcd://HOST:PORT[/PREFIX] (PREFIX defaults to /pier/registry). Checks that etcd answers.
  static Result<std::unique_ptr<EtcdStore>> Open(const std::string& url);
  ~EtcdStore() override;

  // Split into transactions of at most 128 operations (etcd's default --max-txn-ops): each
  // operation is atomic and durable, a large batch as a whole is not.
  Status Commit(const std::vector<StoreOp>& ops) override;
  Result<std::vector<ServiceDefinition>> LoadAll() override;

  struct Heartbeat {
    std::string check_id;
    HealthStatus status;
    std::string output;
  };
  // The heartbeats whose lease has not expired.
  Result<std::vector<Heartbeat>> LoadHeartbeats();
  // Writes a heartbeat under a lease of `ttl` from a background thread (the latest per check
  // wins when etcd is slower than the heartbeats).
  void PublishHeartbeat(Heartbeat hb, Duration ttl);

  struct Followers {
    std::function<void(const std::vector<StoreOp>&)> services;          // each batch of changes
    std::function<void(const std::vector<ServiceDefinition>&)> reload;  // after a broken stream
    std::function<void(const Heartbeat&)> heartbeat;                    // another node's heartbeat
  };
  // Streams changes after the last LoadAll() from a background thread.
  void Follow(Followers followers);
  void Stop();

  const std::string& where() const { return where_; }

 private:
  EtcdStore(std::string host, uint16_t port, const std::string& prefix);
  Result<std::string> Post(const std::string& path, const std::string& body);
  // One watch stream until it ends; false when it broke (reload needed) rather than stopped.
  bool WatchOnce(const Followers& f);
  void PublishLoop();

  std::string host_;
  uint16_t port_;
  std::string root_;    // "PREFIX/"
  std::string prefix_;  // "PREFIX/services/"
  std::string health_;  // "PREFIX/health/"
  std::string where_;   // "etcd HOST:PORT"
  std::atomic<int64_t> revision_{0};
  std::atomic<bool> stop_{false};
  std::mutex fd_mu_;
  int stream_fd_ = -1;  // the watch socket, shut down by Stop()
  std::thread follower_;
  std::mutex pub_mu_;
  std::condition_variable pub_cv_;
  std::map<std::string, std::pair<Heartbeat, Duration>> pending_;  // by check id
  std::thread publisher_;
};

}  // namespace pier::registry
