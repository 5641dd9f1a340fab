// File: pubsub.h
// PubSub: Redis's publish/subscribe for a RespServer. Channels, shard channels (SSUBSCRIBE) and
// glob patterns map to subscribers; PUBLISH formats a message once per protocol and appends it
// to each subscriber's outbox, and the subscriber's connection writes it out from its own thread.
//
// Locking: channel tables are split into shards, each behind its own mutex, held only to copy a
// channel's subscriber list; patterns are an immutable snapshot replaced on (P)SUBSCRIBE, read
// by publishers with one atomic load. So the publish path takes no global lock. A subscriber's
// outbox has its own mutex (a leaf).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pier/base/clock.h"
#include "pier/net/resp_writer.h"

namespace pier::net {

// Redis's client-output-buffer-limit for the pubsub class: a subscriber whose unsent messages
// exceed `hard` bytes, or stay above `soft` for `soft_seconds`, is disconnected.
struct PubSubLimits {
  size_t hard = 32 << 20;
  size_t soft = 8 << 20;
  int64_t soft_seconds = 60;
};

enum class PubSubKind { kChannel, kPattern, kShard };

// One connection's subscriptions and its outbox of messages not yet written.
class PubSubClient {
 public:
  // `wake`: asks the connection to write its outbox (posted to its thread; may be empty for the
  // in-process harness, which takes the outbox after each command). `kill`: closes it.
  PubSubClient(std::function<void()> wake, std::function<void()> kill)
      : wake_(std::move(wake)), kill_(std::move(kill)) {}

  // Moves the messages queued since the last call to the end of `out`; the connection writes
  // them. An empty `out` trades buffers with the outbox, so a busy subscriber's two buffers
  // keep their capacity between batches instead of being regrown (and page-faulted) each time.
  void TakeInto(std::string& out);
  // The protocol messages are formatted in (HELLO changes it).
  void set_protocol(int p) { protocol_.store(p, std::memory_order_relaxed); }
  int protocol() const { return protocol_.load(std::memory_order_relaxed); }
  // Subscriptions the client holds (a RESP2 client with any is in subscriber mode).
  size_t count() const { return channels_.size() + patterns_.size() + shard_channels_.size(); }
  size_t count_of(PubSubKind kind) const { return names(kind).size(); }
  bool killed() const { return killed_.load(std::memory_order_relaxed); }

 private:
  friend class PubSub;
  // Appends one formatted message; false (and the client is disconnected) past the limits.
  void Push(std::string_view bytes, const PubSubLimits& limits, Clock::TimePoint now);

  // The connection's own thread only.
  std::set<std::string>& names(PubSubKind kind) {
    return kind == PubSubKind::kPattern ? patterns_
           : kind == PubSubKind::kShard ? shard_channels_
                                        : channels_;
  }
  const std::set<std::string>& names(PubSubKind kind) const {
    return const_cast<PubSubClient*>(this)->names(kind);
  }
  std::set<std::string> channels_, patterns_, shard_channels_;
  std::atomic<int> protocol_{2};

  std::mutex mu_;
  std::string outbox_;
  bool wake_posted_ = false;
  Clock::TimePoint soft_since_{};  // when the outbox went over the soft limit; 0: it is under
  std::atomic<bool> killed_{false};
  std::function<void()> wake_;
  std::function<void()> kill_;
};

class PubSub {
 public:
  using Kind = PubSubKind;

  explicit PubSub(const Clock* clock) : clock_(clock), patterns_(std::make_shared<Patterns>()) {}

  // (P|S)SUBSCRIBE and (P|S)UNSUBSCRIBE for `client` (its connection's thread), writing Redis's
  // confirmation for each name. An empty `names` unsubscribes from all of that kind.
  void Subscribe(const std::shared_ptr<PubSubClient>& client, Kind kind,
                 const std::vector<std::string_view>& names, RespWriter& out);
  void Unsubscribe(const std::shared_ptr<PubSubClient>& client, Kind kind,
                   const std::vector<std::string_view>& names, RespWriter& out);
  // Leaves every subscription, writing nothing (RESET, the connection closing).
  void UnsubscribeAll(const std::shared_ptr<PubSubClient>& client);

  // PUBLISH (kChannel: channel and pattern subscribers) or SPUBLISH (kShard). The publishing
  // client's own copy, if it subscribes, goes to `self_out` (ahead of its reply, as Redis).
  // Returns the receivers.
  size_t Publish(Kind kind, std::string_view channel, std::string_view message,
                 const PubSubClient* self, RespWriter& self_out);

  // PUBSUB CHANNELS / SHARDCHANNELS (matching `pattern`, empty: all), NUMSUB, NUMPAT.
  std::vector<std::string> Channels(Kind kind, std::string_view pattern) const;
  size_t Subscribers(Kind kind, std::string_view channel) const;
  size_t PatternCount() const;

  // Queues bytes already formatted for `client` (client tracking's invalidations), under the
  // same output limits.
  void Deliver(PubSubClient& client, std::string_view bytes);

  // Cluster mode: every PUBLISH of a client is also handed to `fn` (which forwards it to the
  // other nodes). Set before the server starts.
  void set_forward(std::function<void(std::string_view channel, std::string_view message)> fn) {
    forward_ = std::move(fn);
  }
  void Forward(std::string_view channel, std::string_view message) const {
    if (forward_) forward_(channel, message);
  }

  PubSubLimits limits() const;
  void set_limits(PubSubLimits l);

 private:
  using Subscribers_ = std::vector<std::shared_ptr<PubSubClient>>;
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Subscribers_> subs;
  };
  static constexpr size_t kShards = 16;
  using Table = std::array<Shard, kShards>;
  struct PatternSub {
    std::string pattern;
    std::shared_ptr<PubSubClient> client;
  };
  using Patterns = std::vector<PatternSub>;

  Table& table(Kind kind) { return kind == Kind::kShard ? shard_channels_ : channels_; }
  const Table& table(Kind kind) const { return kind == Kind::kShard ? shard_channels_ : channels_; }
  static Shard& ShardOf(Table& t, std::string_view channel);
  // Adds or removes one name; true when the client's set changed.
  bool Add(const std::shared_ptr<PubSubClient>& client, Kind kind, std::string_view name);
  bool Remove(const std::shared_ptr<PubSubClient>& client, Kind kind, std::string_view name);

  const Clock* clock_;
  std::function<void(std::string_view, std::string_view)> forward_;
  Table channels_, shard_channels_;
  std::mutex patterns_mu_;  // writers of the snapshot
  std::atomic<std::shared_ptr<const Patterns>> patterns_;
  std::atomic<size_t> hard_{PubSubLimits{}.hard}, soft_{PubSubLimits{}.soft};
  std::atomic<int64_t> soft_seconds_{PubSubLimits{}.soft_seconds};
};

}  // namespace pier::net
