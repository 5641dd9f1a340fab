// File: key_tracking.h
// KeyTracking: Redis's server-assisted client-side caching (CLIENT TRACKING) for a RespServer.
// A tracking client's reads remember their keys (default mode) or it names key prefixes
// (BCAST); when such a key changes, the client is sent an invalidation: a RESP3 push
// `invalidate [keys]` on its own connection, or a `__redis__:invalidate` message to the client it
// REDIRECTs to. Remembered keys are forgotten once invalidated, as Redis.
//
// Thread-safe: one mutex over the tables, held while an invalidation is queued on the
// receivers' outboxes (their own mutex is a leaf). Services call Invalidate from any thread,
// inside their own locks; the tracking lock never waits for a service lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pier::net {

class PubSub;
class PubSubClient;

class KeyTracking {
 public:
  struct Mode {
    bool bcast = false;
    bool noloop = false;                // not for changes the client itself makes
    std::vector<std::string> prefixes;  // BCAST: empty means every key
  };

  explicit KeyTracking(PubSub& pubsub) : pubsub_(pubsub) {}

  // CLIENT TRACKING on: client `id`'s invalidations go to `sink` (its own outbox, or the
  // REDIRECT target's), formatted in the sink's protocol.
  void Enable(uint64_t id, std::shared_ptr<PubSubClient> sink, Mode mode);
  // CLIENT TRACKING off, or the connection closed.
  void Disable(uint64_t id);
  // A read of `key` by tracking client `id` (default mode).
  void Remember(uint64_t id, std::string_view key);
  // `key` changed (written, deleted, expired, evicted).
  void Invalidate(std::string_view key);
  // FLUSHALL: every tracking client gets a null invalidation (its whole cache).
  void InvalidateAll();
  // Whether any client tracks (else Invalidate costs nothing).
  bool active() const { return active_.load(std::memory_order_relaxed); }
  size_t remembered_keys() const;
  // tracking-table-max-keys: past it, the oldest-found keys are invalidated to make room.
  void set_max_keys(size_t n) { max_keys_.store(n, std::memory_order_relaxed); }
  size_t max_keys() const { return max_keys_.load(std::memory_order_relaxed); }

  // The client whose command runs on this thread (NOLOOP), for the scope of one command.
  class Writer {
   public:
    explicit Writer(uint64_t id) : prev_(current_) { current_ = id; }
    ~Writer() { current_ = prev_; }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

   private:
    uint64_t prev_;
  };

 private:
  struct Client {
    std::shared_ptr<PubSubClient> sink;
    Mode mode;
  };
  // Queues one invalidation (`key` null: all keys) for `id`, unless NOLOOP spares the writer.
  void Send(uint64_t id, const Client& c, const std::string* key);
  void ForgetOne();  // the table is full: invalidate one key

  static thread_local uint64_t current_;
  PubSub& pubsub_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Client> clients_;
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The default mode's reads: key -> clients.
  std::unordered_map<std::string, std::vector<uint64_t>, KeyHash, std::equal_to<>> keys_;
  size_t bcast_clients_ = 0;
  std::atomic<bool> active_{false};
  std::atomic<size_t> max_keys_{1000000};  // Redis's default
};

}  // namespace pier::net
