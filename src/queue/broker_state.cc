// Broker::State's operations (broker_state.h): lookups, applying ops, submitting frames,
// delivery helpers and the log's upkeep.
#include "queue/broker_state.h"

#include <algorithm>
#include <chrono>

#include "pier/base/logging.h"

namespace pier::queue {

namespace {

const std::string* HeaderOf(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace

Topic* Broker::State::FindTopic(const std::string& name) {
  auto it = topics.find(name);
  return it == topics.end() ? nullptr : &it->second;
}

Subscription* Broker::State::FindSub(const std::string& topic, const std::string& sub) {
  Topic* t = FindTopic(topic);
  if (!t) return nullptr;
  auto it = t->subscriptions.find(sub);
  return it == t->subscriptions.end() ? nullptr : &it->second;
}

Result<Subscription*> Broker::State::SubOrError(const std::string& topic, const std::string& sub) {
  Subscription* s = FindSub(topic, sub);
  if (!s) return Status::NotFound("no such subscription '" + OriginOf(topic, sub) + "'");
  return s;
}

std::string Broker::State::DeadLetterTopic(const Subscription& s) const {
  return s.options.dead_letter_topic.empty() ? s.topic + "." + s.name + ".dlq"
                                             : s.options.dead_letter_topic;
}

void Broker::State::NotifyReady(const Subscription& s) {
  if (ready_listener && !s.ready.empty()) ready_listener(s.topic, s.name);
}

void Broker::State::Release(const std::shared_ptr<MessageData>& msg) {
  if (!msg || msg->holders > 0) return;
  messages.erase(msg->id);
  if (!msg->spilled) resident_bytes -= msg->payload.size();
  if (msg->segment != 0) {
    auto it = segment_messages.find(msg->segment);
    if (it != segment_messages.end() && it->second.first > 0) --it->second.first;
    DropDeadSegments();
  }
}

void Broker::State::DropDeadSegments() {
  if (!log) return;
  while (!segment_messages.empty() && segment_messages.begin()->second.first == 0 &&
         segment_messages.begin()->first < log->active_segment()) {
    segment_messages.erase(segment_messages.begin());
  }
  const uint64_t keep =
      segment_messages.empty() ? log->active_segment() : segment_messages.begin()->first;
  if (keep > log->oldest_segment()) log->DropSegmentsBefore(keep);
}

void Broker::State::ApplyRemoval(const Op& op, int64_t now_ms) {
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

bool Broker::State::IsRemoval(OpType t) const {
  return t == OpType::kDeleteTopic || t == OpType::kDeleteSubscription || t == OpType::kAck ||
         t == OpType::kDead || t == OpType::kPurge || t == OpType::kRetry;
}

void Broker::State::ApplyFrame(const std::vector<Op>& ops, uint64_t segment, uint64_t frame_offset,
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

uint64_t Broker::State::MaxId(const std::vector<Op>& ops) {
  uint64_t m = 0;
  for (const Op& op : ops) {
    if (op.type == OpType::kPublish) m = std::max(m, op.id);
  }
  return m;
}

void Broker::State::Locate(MessageData& m, uint64_t segment, uint64_t offset) {
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

PublishResult Broker::State::ApplyPublish(const Op& op, uint64_t segment, uint64_t offset,
                                          bool replay, int64_t now_ms) {
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

void Broker::State::Submit(std::vector<Op> ops,
                           std::function<void(const Status&, std::vector<PublishResult>)> done,
                           std::vector<std::function<void()>>* after) {
  const int64_t now_ms = now();
  for (const Op& op : ops) {
    if (IsRemoval(op.type)) ApplyRemoval(op, now_ms);
  }
  if (!log) {
    std::vector<PublishResult> results;
    ApplyFrame(ops, 0, 0, {}, false, &results);
    StampReceived(results, SteadyNs());
    if (done) after->push_back([done, r = std::move(results)] { done(Status::Ok(), r); });
    return;
  }
  std::string frame;
  std::vector<size_t> offsets;
  EncodeFrame(ops, &frame, &offsets);
  // The frame is applied (its messages become deliverable) once it is in the file, and confirmed
  // once it is synced, as RabbitMQ delivers a persistent message before its confirm: a consumer
  // need not wait for the disk, and a publisher is told only what a power cut cannot take back.
  // Whatever depends on this frame (an ack of its message) is written after it, so a recovered
  // log is never ahead of itself. The ops keep their payloads until then: spilling is decided at
  // apply.
  struct Pending {
    std::vector<Op> ops;
    std::vector<size_t> offsets;
    std::vector<PublishResult> results;
  };
  auto p = std::make_shared<Pending>(Pending{std::move(ops), std::move(offsets), {}});
  const int64_t received_ns = SteadyNs();
  auto written = [this, p, received_ns](uint64_t seg, uint64_t off, const Status&) {
    std::lock_guard l(mu);
    ApplyFrame(p->ops, seg, off, p->offsets, false, &p->results);
    p->ops.clear();
    StampReceived(p->results, received_ns);
    Observe(Stage::kWritten, received_ns, p->results.size());
  };
  log->Append(
      std::move(frame),
      [this, p, done, received_ns](uint64_t, uint64_t, const Status& st) {
        if (st.ok()) Observe(Stage::kDurable, received_ns, p->results.size());
        if (done) done(st, st.ok() ? std::move(p->results) : std::vector<PublishResult>{});
      },
      std::move(written));
}

void Broker::State::StampReceived(const std::vector<PublishResult>& results, int64_t ns) {
  for (const PublishResult& r : results) {
    auto it = messages.find(r.id);
    if (!r.duplicate && it != messages.end()) it->second->received_ns = ns;
  }
}

int64_t Broker::State::SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Broker::State::Observe(Stage stage, int64_t since_ns, uint64_t count) const {
  if (!options.stage_observer || count == 0 || since_ns == 0) return;
  options.stage_observer(stage, std::max<int64_t>(0, SteadyNs() - since_ns), count);
}

std::string Broker::State::PayloadOf(const MessageData& m) {
  if (!m.spilled) return m.payload;
  auto r = log->Read(m.segment, m.offset, m.length);
  if (!r.ok()) {
    LogEvent(LogLevel::kError, "queue: cannot read a message's payload",
             {{"id", m.id}, {"error", r.status().message()}});
    return {};
  }
  return std::move(*r);
}

Delivery Broker::State::DeliveryOf(const Subscription& s, const Entry& e) {
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

int64_t Broker::State::Backoff(const SubscriptionOptions& o, uint32_t delivery_count) {
  int64_t d = o.backoff_base_ms;
  for (uint32_t i = 1; i < delivery_count && d < o.backoff_max_ms; ++i) d *= 2;
  d = std::min(d, o.backoff_max_ms);
  if (d <= 1) return d;
  return d / 2 + std::uniform_int_distribution<int64_t>(0, d - d / 2)(rng);
}

void Broker::State::CreateOpsIfMissing(const std::string& topic, std::vector<Op>* ops) {
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

std::vector<Op> Broker::State::DeadLetterOps(const Subscription& s, const Entry& e,
                                             const std::string& error, int64_t now_ms) {
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

void Broker::State::Promote(Subscription& s, int64_t now_ms,
                            std::vector<std::function<void()>>* after) {
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

std::string Broker::State::SegmentHeader() {
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

void Broker::State::Compact(uint64_t new_segment) {
  std::lock_guard l(mu);
  DropDeadSegments();
  if (segment_messages.empty()) return;
  const auto [oldest, counts] = *segment_messages.begin();
  if (oldest + 1 >= new_segment || counts.first * 4 > counts.second) return;
  LogEvent(LogLevel::kDebug, "queue log: compacting a segment",
           {{"segment", oldest}, {"live", counts.first}, {"messages", counts.second}});
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

}  // namespace pier::queue
