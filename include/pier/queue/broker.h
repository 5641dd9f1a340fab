// File: broker.h
// Broker: the queue engine. Topics fan out to subscriptions; consumers of one subscription
// compete for its messages, highest priority first and FIFO within a priority, each leased for
// a visibility timeout. Nacks retry with exponential backoff and jitter; past the maximum
// number of deliveries a message moves to the subscription's dead-letter topic.
//
// Durability: every change is a frame in the segment log. Writes that add (publish, create)
// take effect when their frame is durable under the fsync policy; writes that remove (ack,
// nack, dead, delete, purge) take effect at once. Either way the callback runs once durable, so
// an acknowledged publish survives kill -9, and so does an acknowledged ack. With no data
// directory the broker lives in memory and callbacks run before the call returns.
//
//   auto b = Broker::Open({.data_dir = "pier-data/queue"}, &report);
//   (*b)->Publish({{.topic = "jobs", .payload = "x"}}, [](auto r) { ... });
//   auto batch = (*b)->Consume("jobs", "default", 10);
//   (*b)->Ack("jobs", "default", {batch->at(0).id}, [](auto r) { ... });
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pier/base/status.h"
#include "pier/queue/types.h"

namespace pier::queue {

enum class FsyncPolicy;
struct LogStats;

// Where a message's time goes: received -> in the log file -> durable (the confirm) -> first
// handed to a consumer; and from a delivery to its ack.
enum class Stage { kWritten, kDurable, kDelivered, kAcked };
const char* StageName(Stage s);  // written, durable, delivered, acked

struct BrokerOptions {
  std::string data_dir;         // "" = in memory, nothing survives a restart
  std::string fsync = "batch";  // always | batch | none
  int64_t batch_delay_us = 500;
  uint64_t segment_bytes = 16u << 20;
  uint64_t max_resident_bytes = 256u << 20;  // payload bytes in memory; the rest stay on disk
  size_t max_payload_bytes = 8u << 20;
  std::function<int64_t()> now_ms;    // Unix ms; default: the system clock
  uint64_t seed = 0;                  // backoff jitter; 0 = random
  std::function<void()> before_sync;  // tests: runs before each fdatasync of the log
  // Called with each stage's latency (steady-clock ns) for `count` messages; any thread, under
  // the broker's lock or the log writer's: it must be cheap and must not call the broker.
  std::function<void(Stage, int64_t nanos, uint64_t count)> stage_observer;
};

struct QueueLogStats {
  uint64_t frames = 0, bytes = 0, fsyncs = 0, segments = 0, corrupt_frames = 0;
  uint64_t resident_bytes = 0, spilled_messages = 0;
};

class Broker {
 public:
  template <typename T>
  using Callback = std::function<void(Result<T>)>;
  using Done = std::function<void(Status)>;

  // Opens (and recovers) the broker; `report` gets a line per problem recovery found.
  static Result<std::unique_ptr<Broker>> Open(BrokerOptions options,
                                              std::vector<std::string>* report = nullptr);
  ~Broker();

  // Topics and subscriptions. A topic is created with a subscription named "default".
  void CreateTopic(const std::string& name, const TopicOptions& options, bool default_subscription,
                   Done done);
  void DeleteTopic(const std::string& name, Done done);
  void CreateSubscription(const std::string& topic, const std::string& name,
                          const SubscriptionOptions& options, Done done);
  void DeleteSubscription(const std::string& topic, const std::string& name, Done done);

  // Whether Publish would accept the request (names, sizes, headers, the topic's priorities).
  Status CheckPublish(const PublishRequest& request);
  // Publishes a batch (one frame, one fsync). A missing topic is created with its default
  // subscription and default options.
  void Publish(std::vector<PublishRequest> batch, Callback<std::vector<PublishResult>> done);

  // Leases up to `max` ready messages (visibility 0: the subscription's). A missing topic's
  // default subscription is empty, not an error, so consumers may start before producers.
  Result<std::vector<Delivery>> Consume(const std::string& topic, const std::string& sub,
                                        size_t max, int64_t visibility_ms = 0);
  // True when Consume would return something now (long polling waits for this).
  bool HasReady(const std::string& topic, const std::string& sub);

  // Each returns how many of `ids` were in flight on the subscription and are now handled.
  void Ack(const std::string& topic, const std::string& sub, const std::vector<uint64_t>& ids,
           Callback<size_t> done);
  void Nack(const std::string& topic, const std::string& sub, const std::vector<uint64_t>& ids,
            NackOutcome outcome, int64_t delay_ms, const std::string& error, Callback<size_t> done);
  Result<size_t> Extend(const std::string& topic, const std::string& sub,
                        const std::vector<uint64_t>& ids, int64_t visibility_ms);

  // Dead letters of one subscription (they live in its dead-letter topic).
  Result<std::vector<Delivery>> ListDead(const std::string& topic, const std::string& sub,
                                         size_t limit);
  Result<Delivery> InspectDead(const std::string& topic, const std::string& sub, uint64_t id);
  // Sends dead letters (all when `ids` is empty) back to the subscription, delivery count 0.
  void Redrive(const std::string& topic, const std::string& sub, const std::vector<uint64_t>& ids,
               Callback<size_t> done);
  void PurgeDead(const std::string& topic, const std::string& sub, Callback<size_t> done);

  std::vector<TopicStats> Stats();
  Result<TopicStats> StatsOf(const std::string& topic);
  QueueLogStats LogStats();
  std::string DeadLetterTopicOf(const std::string& topic, const std::string& sub);

  // Makes due delayed messages ready and expires leases (redelivery, or dead letters past the
  // maximum deliveries). The server calls it every few milliseconds; tests with a fake clock.
  void Tick();
  // Called (under the broker's lock: do not call back) when a subscription gets ready messages.
  void SetReadyListener(std::function<void(const std::string& topic, const std::string& sub)> fn);

  // Blocking helpers for embedding and tests: wait for the durable acknowledgement.
  Result<std::vector<PublishResult>> PublishAndWait(std::vector<PublishRequest> batch);
  Result<size_t> AckAndWait(const std::string& topic, const std::string& sub,
                            const std::vector<uint64_t>& ids);

  struct State;

 private:
  explicit Broker(BrokerOptions options);
  // Redrive (redrive) or purge dead letters of a subscription (all when `ids` is empty).
  void ResolveDead(const std::string& topic, const std::string& sub,
                   const std::vector<uint64_t>& ids, bool redrive, Callback<size_t> done);
  std::unique_ptr<State> s_;
};

}  // namespace pier::queue
