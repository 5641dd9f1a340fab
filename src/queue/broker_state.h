// File: broker_state.h
// Broker::State: the broker's model and its log. Ops are applied in two halves: removals (ack,
// nack, dead, delete, purge) when submitted, additions (publish, create) when their frame is
// durable; recovery replays both halves in log order. Also the log's upkeep: segment headers
// that restate topics, subscriptions and dedup ids, and compaction of mostly-acked segments.
// Internal to broker.cc.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <random>

#include "pier/queue/broker.h"
#include "queue/codec.h"
#include "queue/segment_log.h"
#include "queue/state.h"

namespace pier::queue {

namespace broker_detail {

inline std::string OriginOf(const std::string& topic, const std::string& sub) {
  return topic + "/" + sub;
}

inline const std::string* HeaderOf(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) return &v;
  }
  return nullptr;
}

inline Status CheckName(const std::string& what, const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return Status::InvalidArgument(what + " name must be 1 to " + std::to_string(kMaxNameBytes) +
                                   " bytes");
  }
  for (unsigned char c : name) {
    if (c <= ' ' || c == '/' || c == 127) {
      return Status::InvalidArgument(what + " name '" + name +
                                     "' may not contain spaces, control characters or '/'");
    }
  }
  return Status::Ok();
}

}  // namespace broker_detail

using namespace broker_detail;

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
  Topic* FindTopic(const std::string& name) {
    auto it = topics.find(name);
    return it == topics.end() ? nullptr : &it->second;
  }
  Subscription* FindSub(const std::string& topic, const std::string& sub) {
    Topic* t = FindTopic(topic);
    if (!t) return nullptr;
    auto it = t->subscriptions.find(sub);
    return it == t->subscriptions.end() ? nullptr : &it->second;
  }
  Result<Subscription*> SubOrError(const std::string& topic, const std::string& sub) {
    Subscription* s = FindSub(topic, sub);
    if (!s) return Status::NotFound("no such subscription '" + OriginOf(topic, sub) + "'");
    return s;
  }
  std::string DeadLetterTopic(const Subscription& s) const {
    return s.options.dead_letter_topic.empty() ? s.topic + "." + s.name + ".dlq"
                                               : s.options.dead_letter_topic;
  }
  void NotifyReady(const Subscription& s) {
    if (ready_listener && !s.ready.empty()) ready_listener(s.topic, s.name);
  }

  // ---- releasing messages ----
  void Release(const std::shared_ptr<MessageData>& msg) {
    if (!msg || msg->holders > 0) return;
    messages.erase(msg->id);
    if (!msg->spilled) resident_bytes -= msg->payload.size();
    if (msg->segment != 0) {
      auto it = segment_messages.find(msg->segment);
      if (it != segment_messages.end() && it->second.first > 0) --it->second.first;
      DropDeadSegments();
    }
  }
  // Deletes the log's prefix of segments whose messages are all gone.
  void DropDeadSegments() {
    if (!log) return;
    while (!segment_messages.empty() && segment_messages.begin()->second.first == 0 &&
           segment_messages.begin()->first < log->active_segment()) {
      segment_messages.erase(segment_messages.begin());
    }
    const uint64_t keep =
        segment_messages.empty() ? log->active_segment() : segment_messages.begin()->first;
    if (keep > log->oldest_segment()) log->DropSegmentsBefore(keep);
  }

  // ---- applying ops (removals at submit and at replay; additions at commit and at replay) ----
  void ApplyRemoval(const Op& op, int64_t now_ms) {
    switch (op.type) {
      case OpType::kDeleteTopic: {
        Topic* t = FindTopic(op.topic);
        if (!t) return;
        std::vector<std::shared_ptr<MessageData>> gone;
        for (auto& [name, sub] : t->subscriptions) {
          while (!sub.entries.empty()) gone.push_back(sub.Remove(sub.entries.begin()->first));
        }
        topics.erase(op.topic);
        for (auto& m : gone) Release(m);
        return;
      }
      case OpType::kDeleteSubscription: {
        Topic* t = FindTopic(op.topic);
        if (!t) return;
        auto it = t->subscriptions.find(op.subscription);
        if (it == t->subscriptions.end()) return;
        std::vector<std::shared_ptr<MessageData>> gone;
        while (!it->second.entries.empty()) {
          gone.push_back(it->second.Remove(it->second.entries.begin()->first));
        }
        t->subscriptions.erase(it);
        for (auto& m : gone) Release(m);
        return;
      }
      case OpType::kAck:
      case OpType::kDead: {
        Subscription* s = FindSub(op.topic, op.subscription);
        if (!s) return;
        Entry* e = s->Find(op.id);
        if (!e) return;
        if (op.type == OpType::kAck) {
          ++s->counters.acked;
          ++s->delivery_counts[e->delivery_count];
        } else {
          ++s->counters.dead_lettered;
        }
        Release(s->Remove(op.id));
        return;
      }
      case OpType::kPurge: {
        Subscription* s = FindSub(op.topic, op.subscription);
        if (!s) return;
        std::vector<std::shared_ptr<MessageData>> gone;
        while (!s->entries.empty()) gone.push_back(s->Remove(s->entries.begin()->first));
        for (auto& m : gone) Release(m);
        return;
      }
      case OpType::kRetry: {
        Subscription* s = FindSub(op.topic, op.subscription);
        if (!s) return;
        Entry* e = s->Find(op.id);
        if (!e) return;
        e->delivery_count = op.delivery_count;
        s->Requeue(*e, op.not_before_ms, now_ms);
        NotifyReady(*s);
        return;
      }
      default:
        return;
    }
  }

  bool IsRemoval(OpType t) const {
    return t == OpType::kDeleteTopic || t == OpType::kDeleteSubscription || t == OpType::kAck ||
           t == OpType::kDead || t == OpType::kPurge || t == OpType::kRetry;
  }

  // Applies the additions of a durable frame (at commit, or every op at replay). `publish`
  // receives a result per kPublish op.
  void ApplyFrame(const std::vector<Op>& ops, uint64_t segment, uint64_t frame_offset,
                  const std::vector<size_t>& payload_offsets, bool replay,
                  std::vector<PublishResult>* publish) {
    const int64_t now_ms = now();
    size_t p = 0;
    for (const Op& op : ops) {
      if (IsRemoval(op.type)) {
        if (replay) ApplyRemoval(op, now_ms);
        continue;
      }
      switch (op.type) {
        case OpType::kCreateTopic: {
          auto [it, inserted] = topics.try_emplace(op.topic);
          if (inserted) {
            it->second.name = op.topic;
            it->second.options = op.topic_options;
          }
          break;
        }
        case OpType::kCreateSubscription: {
          Topic* t = FindTopic(op.topic);
          if (!t) break;
          auto [it, inserted] = t->subscriptions.try_emplace(op.subscription);
          if (inserted) {
            it->second.topic = op.topic;
            it->second.name = op.subscription;
            it->second.options = op.subscription_options;
            it->second.Sample(now_ms);
          }
          break;
        }
        case OpType::kPublish: {
          const uint64_t loc = p < payload_offsets.size() ? frame_offset + payload_offsets[p] : 0;
          ++p;
          PublishResult r = ApplyPublish(op, segment, loc, replay, now_ms);
          if (publish) publish->push_back(r);
          break;
        }
        case OpType::kDedup: {
          Topic* t = FindTopic(op.topic);
          if (t && op.expires_ms > now_ms) t->dedup[op.dedup_id] = {op.id, op.expires_ms};
          break;
        }
        case OpType::kSequence:
          next_id = std::max(next_id, op.id);
          break;
        default:
          break;
      }
    }
    next_id = std::max(next_id, MaxId(ops) + 1);
  }

  static uint64_t MaxId(const std::vector<Op>& ops) {
    uint64_t m = 0;
    for (const Op& op : ops) {
      if (op.type == OpType::kPublish) m = std::max(m, op.id);
    }
    return m;
  }

  // Where a message's payload now lives: counts it against its segment.
  void Locate(MessageData& m, uint64_t segment, uint64_t offset) {
    if (m.segment == segment && m.offset == offset) return;
    if (m.segment != 0) {
      auto it = segment_messages.find(m.segment);
      if (it != segment_messages.end() && it->second.first > 0) --it->second.first;
    }
    m.segment = segment;
    m.offset = offset;
    if (segment != 0) {
      auto& c = segment_messages[segment];
      ++c.first;
      ++c.second;
    }
  }

  PublishResult ApplyPublish(const Op& op, uint64_t segment, uint64_t offset, bool replay,
                             int64_t now_ms) {
    Topic* t = FindTopic(op.topic);
    if (!t) return {op.id, false};
    if (op.origin == PublishOrigin::kNew && !op.dedup_id.empty()) {
      auto d = t->dedup.find(op.dedup_id);
      if (d != t->dedup.end() && d->second.second > now_ms) {
        ++t->duplicates;
        return {d->second.first, true};
      }
      t->dedup[op.dedup_id] = {op.id, op.publish_ms + t->options.dedup_window_ms};
    }
    auto it = messages.find(op.id);
    if (op.origin == PublishOrigin::kRelocate && !replay) {
      // Live, the entries are where they should be: only the payload moved.
      if (it != messages.end()) {
        Locate(*it->second, segment, offset);
        DropDeadSegments();
      }
      return {op.id, false};
    }
    std::shared_ptr<MessageData> msg;
    if (it != messages.end()) {
      msg = it->second;
      Locate(*msg, segment, offset);
    } else {
      msg = std::make_shared<MessageData>();
      msg->id = op.id;
      msg->topic = op.topic;
      msg->priority = op.priority;
      msg->publish_ms = op.publish_ms;
      msg->dedup_id = op.dedup_id;
      msg->headers = op.headers;
      msg->length = static_cast<uint32_t>(op.payload.size());
      if (const std::string* o = HeaderOf(op.headers, "x-dead-topic")) {
        const std::string* s = HeaderOf(op.headers, "x-dead-subscription");
        msg->dead_origin = OriginOf(*o, s ? *s : "");
      }
      Locate(*msg, segment, offset);
      if (segment != 0 && resident_bytes + op.payload.size() > options.max_resident_bytes) {
        msg->spilled = true;
        ++spilled;
      } else {
        msg->payload = op.payload;
        resident_bytes += op.payload.size();
      }
      messages[op.id] = msg;
    }
    auto add = [&](Subscription& s) {
      s.Add(msg, op.delivery_count, op.not_before_ms, now_ms);
      if (op.origin == PublishOrigin::kNew) ++s.counters.published;
      NotifyReady(s);
    };
    if (op.subscription.empty()) {
      for (auto& [name, s] : t->subscriptions) add(s);
      ++t->published;
    } else if (auto s = t->subscriptions.find(op.subscription); s != t->subscriptions.end()) {
      add(s->second);
    }
    Release(msg);  // a topic with no subscriptions keeps nothing
    return {op.id, false};
  }

  // ---- submitting frames ----
  // Under mu. Removals take effect now; the frame goes to the log and, once durable, its
  // additions are applied and `done` runs (outside the lock). In memory, `done` is queued in
  // `after` for the caller to run once it releases the lock.
  void Submit(std::vector<Op> ops,
              std::function<void(const Status&, std::vector<PublishResult>)> done,
              std::vector<std::function<void()>>* after) {
    const int64_t now_ms = now();
    for (const Op& op : ops) {
      if (IsRemoval(op.type)) ApplyRemoval(op, now_ms);
    }
    if (!log) {
      std::vector<PublishResult> results;
      ApplyFrame(ops, 0, 0, {}, false, &results);
      if (done) after->push_back([done, r = std::move(results)] { done(Status::Ok(), r); });
      return;
    }
    std::string frame;
    std::vector<size_t> offsets;
    EncodeFrame(ops, &frame, &offsets);
    // The ops keep their payloads until the frame is durable: spilling is decided at apply.
    auto shared_ops = std::make_shared<std::vector<Op>>(std::move(ops));
    log->Append(std::move(frame), [this, shared_ops, offsets = std::move(offsets), done](
                                      uint64_t seg, uint64_t off, const Status& st) {
      std::vector<PublishResult> results;
      if (st.ok()) {
        std::lock_guard l(mu);
        ApplyFrame(*shared_ops, seg, off, offsets, false, &results);
      }
      if (done) done(st, std::move(results));
    });
  }

  // ---- delivery helpers ----
  std::string PayloadOf(const MessageData& m) {
    if (!m.spilled) return m.payload;
    auto r = log->Read(m.segment, m.offset, m.length);
    if (!r.ok()) {
      spdlog::error("queue: message {}: {}", m.id, r.status().message());
      return {};
    }
    return std::move(*r);
  }

  Delivery DeliveryOf(const Subscription& s, const Entry& e) {
    Delivery d;
    d.id = e.msg->id;
    d.topic = s.topic;
    d.subscription = s.name;
    d.payload = PayloadOf(*e.msg);
    d.headers = e.msg->headers;
    d.priority = e.msg->priority;
    d.publish_ms = e.msg->publish_ms;
    d.delivery_count = e.delivery_count;
    d.lease_until_ms = e.state == EntryState::kInFlight ? e.lease_until_ms : 0;
    return d;
  }

  // Retry n waits base * 2^(n-1), at most max, with "equal jitter": half fixed, half random.
  int64_t Backoff(const SubscriptionOptions& o, uint32_t delivery_count) {
    int64_t d = o.backoff_base_ms;
    for (uint32_t i = 1; i < delivery_count && d < o.backoff_max_ms; ++i) d *= 2;
    d = std::min(d, o.backoff_max_ms);
    if (d <= 1) return d;
    return d / 2 + std::uniform_int_distribution<int64_t>(0, d - d / 2)(rng);
  }

  // Ops that create `topic` (with its default subscription) when it does not exist yet.
  void CreateOpsIfMissing(const std::string& topic, std::vector<Op>* ops) {
    if (FindTopic(topic)) return;
    Op t;
    t.type = OpType::kCreateTopic;
    t.topic = topic;
    ops->push_back(t);
    Op s;
    s.type = OpType::kCreateSubscription;
    s.topic = topic;
    s.subscription = kDefaultSubscription;
    ops->push_back(s);
  }

  // The ops that move an entry to the subscription's dead-letter topic.
  std::vector<Op> DeadLetterOps(const Subscription& s, const Entry& e, const std::string& error,
                                int64_t now_ms) {
    const std::string dlq = DeadLetterTopic(s);
    std::vector<Op> ops;
    CreateOpsIfMissing(dlq, &ops);
    Op dead;
    dead.type = OpType::kDead;
    dead.topic = s.topic;
    dead.subscription = s.name;
    dead.id = e.msg->id;
    dead.error = error;
    ops.push_back(dead);
    Op pub;
    pub.type = OpType::kPublish;
    pub.topic = dlq;
    pub.id = next_id++;
    pub.publish_ms = now_ms;
    pub.headers = e.msg->headers;
    auto add = [&](const char* k, std::string v) { pub.headers.emplace_back(k, std::move(v)); };
    add("x-dead-topic", s.topic);
    add("x-dead-subscription", s.name);
    add("x-dead-original-id", std::to_string(e.msg->id));
    add("x-dead-original-priority", std::to_string(e.msg->priority));
    add("x-dead-delivery-count", std::to_string(e.delivery_count));
    add("x-dead-last-error", error.substr(0, kMaxHeaderBytes));
    add("x-dead-first-published-ms", std::to_string(e.msg->publish_ms));
    add("x-dead-at-ms", std::to_string(now_ms));
    if (pub.headers.size() > kMaxHeaders) {
      pub.headers.erase(pub.headers.begin(), pub.headers.end() - kMaxHeaders);
    }
    pub.payload = PayloadOf(*e.msg);
    ops.push_back(std::move(pub));
    return ops;
  }

  // Due delayed entries become ready; expired leases are redelivered, or dead past the maximum.
  void Promote(Subscription& s, int64_t now_ms, std::vector<std::function<void()>>* after) {
    bool any = false;
    for (uint64_t id : s.DueDelayed(now_ms)) {
      s.Requeue(*s.Find(id), 0, now_ms);
      any = true;
    }
    for (uint64_t id : s.ExpiredLeases(now_ms)) {
      Entry& e = *s.Find(id);
      if (e.delivery_count >= s.options.max_deliveries) {
        Submit(DeadLetterOps(s, e, "lease expired", now_ms), nullptr, after);
        continue;
      }
      Op retry;
      retry.type = OpType::kRetry;
      retry.topic = s.topic;
      retry.subscription = s.name;
      retry.id = id;
      retry.delivery_count = e.delivery_count;
      Submit({retry}, nullptr, after);  // requeues it now; the count is durable soon after
      any = true;
    }
    if (any) NotifyReady(s);
  }

  // ---- log upkeep (writer thread) ----
  // The first frame of every segment: what must outlive the older segments.
  std::string SegmentHeader() {
    std::lock_guard l(mu);
    std::vector<Op> ops(1);
    ops[0].type = OpType::kSequence;
    ops[0].id = next_id;
    const int64_t now_ms = now();
    for (const auto& [name, t] : topics) {
      Op op;
      op.type = OpType::kCreateTopic;
      op.topic = name;
      op.topic_options = t.options;
      ops.push_back(op);
      for (const auto& [sname, sub] : t.subscriptions) {
        Op so;
        so.type = OpType::kCreateSubscription;
        so.topic = name;
        so.subscription = sname;
        so.subscription_options = sub.options;
        ops.push_back(so);
      }
      for (const auto& [dedup, v] : t.dedup) {
        if (v.second <= now_ms) continue;
        Op d;
        d.type = OpType::kDedup;
        d.topic = name;
        d.id = v.first;
        d.dedup_id = dedup;
        d.expires_ms = v.second;
        ops.push_back(d);
      }
    }
    std::string frame;
    EncodeFrame(ops, &frame);
    return frame;
  }

  // Compaction: when the oldest segment is mostly acknowledged, its live messages are written
  // again at the head of the log so the segment (and every one before the next live one) can go.
  void Compact(uint64_t new_segment) {
    std::lock_guard l(mu);
    DropDeadSegments();
    if (segment_messages.empty()) return;
    const auto [oldest, counts] = *segment_messages.begin();
    if (oldest + 1 >= new_segment || counts.first * 4 > counts.second) return;
    spdlog::debug("queue log: compacting segment {} ({} of {} messages live)", oldest, counts.first,
                  counts.second);
    std::vector<Op> ops;
    std::vector<std::function<void()>> none;
    size_t bytes = 0;
    for (auto& [tname, t] : topics) {
      for (auto& [sname, s] : t.subscriptions) {
        for (auto& [id, e] : s.entries) {
          if (e.msg->segment != oldest) continue;
          Op op;
          op.type = OpType::kPublish;
          op.origin = PublishOrigin::kRelocate;
          op.topic = tname;
          op.subscription = sname;
          op.id = id;
          op.priority = e.msg->priority;
          op.publish_ms = e.msg->publish_ms;
          op.dedup_id = e.msg->dedup_id;
          op.headers = e.msg->headers;
          op.delivery_count = e.delivery_count;
          op.not_before_ms = e.state == EntryState::kDelayed ? e.not_before_ms : 0;
          op.payload = PayloadOf(*e.msg);
          bytes += op.payload.size() + 256;
          ops.push_back(std::move(op));
          if (bytes > kMaxFrameBytes / 2) {
            Submit(std::move(ops), nullptr, &none);
            ops.clear();
            bytes = 0;
          }
        }
      }
    }
    if (!ops.empty()) Submit(std::move(ops), nullptr, &none);
  }
};

}  // namespace pier::queue
