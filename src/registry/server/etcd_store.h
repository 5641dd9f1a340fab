// File: etcd_store.h
// EtcdStore: the registry's store in etcd (v3 API through its JSON gateway), so several pier
// registries serve one catalog. Registrations are keys PREFIX/services/<id> holding the stored row;
// a commit is one etcd transaction (etcd fsyncs before answering). Follow() streams etcd's watch
// so changes committed by other registries reach this one.
//   auto store = EtcdStore::Open("etcd://127.0.0.1:2379");
//   store->Follow([&](auto ops) { reg.ApplyRemote(ops); }, [&](auto all) { reg.ReplaceAll(all); });
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

  // Streams changes after the last LoadAll() from a background thread: `apply` gets each batch
  // of changes; after the stream broke, `reload` gets the whole catalog once it is back.
  void Follow(std::function<void(const std::vector<StoreOp>&)> apply,
              std::function<void(const std::vector<ServiceDefinition>&)> reload);
  void Stop();

  const std::string& where() const { return where_; }

 private:
  EtcdStore(std::string host, uint16_t port, std::string prefix);
  Result<std::string> Post(const std::string& path, const std::string& body);
  // One watch stream until it ends; false when it broke (reload needed) rather than stopped.
  bool WatchOnce(const std::function<void(const std::vector<StoreOp>&)>& apply);

  std::string host_;
  uint16_t port_;
  std::string prefix_;  // ".../services/"
  std::string where_;   // "etcd HOST:PORT"
  std::atomic<int64_t> revision_{0};
  std::atomic<bool> stop_{false};
  std::mutex fd_mu_;
  int stream_fd_ = -1;  // the watch socket, shut down by Stop()
  std::thread follower_;
};

std::string Base64Encode(std::string_view in);
// False on characters outside the alphabet.
bool Base64Decode(std::string_view in, std::string* out);

}  // namespace pier::registry
