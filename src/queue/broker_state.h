// File: broker_state.h
// Broker::State: the broker's model and its log. Ops are applied in two halves: removals (ack,
// nack, dead, delete, purge) when submitted, additions (publish, create) when their frame is in
// the log file (confirmed once it is synced); recovery replays both halves in log order. Also
// the log's upkeep: segment headers that restate topics, subscriptions and dedup ids, and
// compaction of mostly-acked segments.
// Internal to the broker: broker.cc (the API) and broker_state.cc (these operations).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>

#include "pier/queue/broker.h"
#include "queue/codec.h"
#include "queue/segment_log.h"
#include "queue/state.h"

namespace pier::queue {

struct Broker::State {
  BrokerOptions options;
  std::function<int64_t()> now;
  std::unique_ptr<SegmentLog> log;  // null: in memory
  std::mt19937_64 rng;

  std::mutex mu;
  std::map<std::string, Topic> topics;
  std::unordered_map<uint64_t, std::shared_ptr<MessageData>> messages;  // held by >= 1 sub
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> segment_messages;   // seg -> (live, total)
  uint64_t next_id = 1;
  uint64_t resident_bytes = 0, spilled = 0;
  std::function<void(const std::string&, const std::string&)> ready_listener;

  // ---- lookups ----
  Topic* FindTopic(const std::string& name);
  Subscription* FindSub(const std::string& topic, const std::string& sub);
  Result<Subscription*> SubOrError(const std::string& topic, const std::string& sub);
  std::string DeadLetterTopic(const Subscription& s) const;
  void NotifyReady(const Subscription& s);

  // ---- releasing messages ----
  void Release(const std::shared_ptr<MessageData>& msg);
  // Deletes the log's prefix of segments whose messages are all gone.
  void DropDeadSegments();

  // ---- applying ops (removals at submit and at replay; additions at commit and at replay) ----
  void ApplyRemoval(const Op& op, int64_t now_ms);
  bool IsRemoval(OpType t) const;
  // Applies the additions of a written frame (at commit, or every op at replay). `publish`
  // receives a result per kPublish op.
  void ApplyFrame(const std::vector<Op>& ops, uint64_t segment, uint64_t frame_offset,
                  const std::vector<size_t>& payload_offsets, bool replay,
                  std::vector<PublishResult>* publish);
  static uint64_t MaxId(const std::vector<Op>& ops);
  // Where a message's payload now lives: counts it against its segment.
  void Locate(MessageData& m, uint64_t segment, uint64_t offset);
  PublishResult ApplyPublish(const Op& op, uint64_t segment, uint64_t offset, bool replay,
                             int64_t now_ms);

  // ---- submitting frames ----
  // Under mu. Removals take effect now; the frame goes to the log and, once written, its
  // additions are applied; once synced, `done` runs (outside the lock). In memory, `done` is queued
  // in `after` for the caller to run once it releases the lock.
  void Submit(std::vector<Op> ops,
              std::function<void(const Status&, std::vector<PublishResult>)> done,
              std::vector<std::function<void()>>* after);

  // ---- stage latencies (options.stage_observer) ----
  static int64_t SteadyNs();
  // Marks the new messages of `results` as received at `ns` (under mu).
  void StampReceived(const std::vector<PublishResult>& results, int64_t ns);
  void Observe(Stage stage, int64_t since_ns, uint64_t count) const;

  // ---- delivery helpers ----
  std::string PayloadOf(const MessageData& m);
  Delivery DeliveryOf(const Subscription& s, const Entry& e);
  // Retry n waits base * 2^(n-1), at most max, with "equal jitter": half fixed, half random.
  int64_t Backoff(const SubscriptionOptions& o, uint32_t delivery_count);
  // Ops that create `topic` (with its default subscription) when it does not exist yet.
  void CreateOpsIfMissing(const std::string& topic, std::vector<Op>* ops);
  // The ops that move an entry to the subscription's dead-letter topic.
  std::vector<Op> DeadLetterOps(const Subscription& s, const Entry& e, const std::string& error,
                                int64_t now_ms);
  // Due delayed entries become ready; expired leases are redelivered, or dead past the maximum.
  void Promote(Subscription& s, int64_t now_ms, std::vector<std::function<void()>>* after);

  // ---- log upkeep (writer thread) ----
  // The first frame of every segment: what must outlive the older segments.
  std::string SegmentHeader();
  // Compaction: when the oldest segment is mostly acknowledged, its live messages are written
  // again at the head of the log so the segment (and every one before the next live one) can go.
  void Compact(uint64_t new_segment);
};

}  // namespace pier::queue
