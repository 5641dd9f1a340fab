// File: blocking.h
// BlockingKeys: clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, BLMPOP...), served in arrival
// order. A command that creates a list or sorted set notes the key as ready (Keyspace calls
// NoteReady under the shard lock); after the command, its thread serves the key's waiters in
// order until one cannot be served (ServeReady), as Redis's handleClientsBlockedOnKeys. A waiter
// ends when served, when its timeout passes, by CLIENT UNBLOCK, or when its connection goes.
//
// Locking: the registry's mutex is taken before shard locks (Block and ServeReady lock shards
// inside it; EXEC holds it, then every shard); NoteReady only appends to a thread-local list, so it
// runs under a shard lock.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pier/net/resp_service.h"
#include "pier/net/resp_writer.h"

namespace pier::cache::server {

class BlockingKeys {
 public:
  // Tries to answer the parked command from `key`, made ready: writes the reply and returns true
  // when it answered (a key of another type is skipped, as Redis 7.0). Locks the shards it
  // needs; writes nothing when it returns false.
  using Serve = std::function<bool(std::string_view key, net::RespWriter& out)>;

  struct Request {
    std::vector<std::string> keys;  // in the command's order
    Serve serve;
    int protocol = 2;
    uint64_t client_id = 0;
    bool null_array = true;  // the timeout reply: *-1 (BLPOP) or $-1 (BLMOVE)
    int64_t timeout_ms = 0;  // 0: forever
    boost::asio::any_io_executor executor;
  };

  // try_now(key): the command's own try, in its context (answers WRONGTYPE for a key of another
  // type). Returns nullptr when a key answered at once, else parks the client and returns its
  // reply.
  std::shared_ptr<net::PendingReply> Block(Request r,
                                           const std::function<bool(std::string_view)>& try_now,
                                           net::RespWriter& out);

  // Called under a shard lock when `key` becomes a list or sorted set.
  void NoteReady(std::string_view key);
  // Serves the waiters of the keys this thread noted since it last served.
  void ServeReady();
  bool HasReady() const;

  // CLIENT UNBLOCK.
  bool Unblock(uint64_t client_id, bool error);
  // Shutdown: every waiter gets its timeout reply.
  void Close();
  // Clients parked now.
  size_t parked() const;
  // EXEC: the registry, held (before the shards, as always) for a whole transaction, so a
  // CLIENT UNBLOCK in it cannot wait for a thread that waits for a shard.
  std::unique_lock<std::recursive_mutex> Hold() { return std::unique_lock(mu_); }

 private:
  struct Waiter;
  // Ends `w` with `reply` (under mu_): leaves every queue.
  void FinishLocked(const std::shared_ptr<Waiter>& w, std::string reply);
  std::string TimeoutReply(const Waiter& w) const;

  mutable std::recursive_mutex mu_;  // recursive: a transaction holds it (Hold)
  std::unordered_map<std::string, std::deque<std::shared_ptr<Waiter>>> queues_;
  std::unordered_map<uint64_t, std::shared_ptr<Waiter>> by_client_;
  std::atomic<size_t> count_{0};  // waiters, plus commands between their first try and parking
  bool closed_ = false;
};

}  // namespace pier::cache::server
