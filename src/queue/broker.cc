#include "pier/queue/broker.h"

#include <future>

#include "pier/base/clock.h"
#include "pier/base/logging.h"
#include "queue/broker_state.h"

namespace pier::queue {

namespace {

Status CheckName(const std::string& what, const std::string& name) {
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

// Runs the callbacks collected under the lock once it is released (declared before the lock).
struct After {
  std::vector<std::function<void()>> fns;
  ~After() {
    for (auto& f : fns) f();
  }
};

// A Submit completion that reports `n` (how many ids were handled) or the log's error.
std::function<void(const Status&, std::vector<PublishResult>)> Counted(
    Broker::Callback<size_t> done, size_t n) {
  return [done = std::move(done), n](const Status& st, auto) {
    if (!st.ok()) return done(st);
    done(n);
  };
}

std::function<void(const Status&, std::vector<PublishResult>)> Plain(Broker::Done done) {
  return [done = std::move(done)](const Status& st, auto) { done(st); };
}

// The dead letters of `origin` held by the dead-letter topic's default subscription, by id.
std::vector<const Entry*> DeadEntries(Subscription* dlq, const std::string& origin) {
  std::vector<const Entry*> out;
  if (!dlq) return out;
  for (const auto& [id, e] : dlq->entries) {
    if (e.msg->dead_origin == origin) out.push_back(&e);
  }
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->msg->id < b->msg->id; });
  return out;
}

Op SubOp(OpType type, const std::string& topic, const std::string& sub, uint64_t id = 0) {
  Op op;
  op.type = type;
  op.topic = topic;
  op.subscription = sub;
  op.id = id;
  return op;
}

}  // namespace

const char* StageName(Stage s) {
  switch (s) {
    case Stage::kWritten:
      return "written";
    case Stage::kDurable:
      return "durable";
    case Stage::kDelivered:
      return "delivered";
    case Stage::kAcked:
      return "acked";
  }
  return "?";
}

Broker::Broker(BrokerOptions options) : s_(std::make_unique<State>()) {
  s_->options = std::move(options);
  s_->now = s_->options.now_ms ? s_->options.now_ms : UnixNowMs;
  s_->rng.seed(s_->options.seed ? s_->options.seed : std::random_device{}());
}

Broker::~Broker() {
  s_->log.reset();  // stops the writer first: its callbacks use the state
}

Result<std::unique_ptr<Broker>> Broker::Open(BrokerOptions options,
                                             std::vector<std::string>* report) {
  std::unique_ptr<Broker> b(new Broker(std::move(options)));
  State& s = *b->s_;
  if (s.options.data_dir.empty()) return b;
  LogOptions lo;
  lo.dir = s.options.data_dir;
  auto policy = ParseFsyncPolicy(s.options.fsync);
  if (!policy.ok()) return policy.status();
  lo.fsync = *policy;
  lo.batch_delay_us = s.options.batch_delay_us;
  lo.segment_bytes = s.options.segment_bytes;
  lo.before_sync = s.options.before_sync;
  auto replay = [&](uint64_t seg, uint64_t off, std::string_view body) {
    std::vector<Op> ops;
    if (Status st = DecodeBody(body, &ops); !st.ok()) {
      std::string line = "segment " + std::to_string(seg) + " offset " + std::to_string(off) +
                         ": undecodable frame skipped: " + st.message();
      LogEvent(LogLevel::kWarn, "queue log: frame skipped", {{"problem", line}});
      if (report) report->push_back(line);
      return;
    }
    std::vector<size_t> offsets;
    for (const Op& op : ops) {
      if (op.type == OpType::kPublish) offsets.push_back(op.payload_offset);
    }
    s.ApplyFrame(ops, seg, off, offsets, true, nullptr);
  };
  auto log = SegmentLog::Open(lo, replay, report);
  if (!log.ok()) return log.status();
  s.log = std::move(*log);
  // Leases did not survive the restart: those messages are ready again.
  for (auto& [tn, t] : s.topics) {
    for (auto& [sn, sub] : t.subscriptions) {
      for (uint64_t id : sub.ExpiredLeases(INT64_MAX)) sub.Requeue(*sub.Find(id), 0, s.now());
    }
  }
  s.log->SetSegmentHeader([&s] { return s.SegmentHeader(); });
  s.log->SetAfterRotate([&s](uint64_t seg) { s.Compact(seg); });
  if (Status st = s.log->Start(); !st.ok()) return st;
  std::lock_guard l(s.mu);
  s.DropDeadSegments();
  return b;
}

void Broker::CreateTopic(const std::string& name, const TopicOptions& options,
                         bool default_subscription, Done done) {
  if (Status st = CheckName("topic", name); !st.ok()) return done(st);
  if (options.max_priority < 0 || options.max_priority > 255) {
    return done(Status::InvalidArgument("max priority must be 0 to 255"));
  }
  if (options.dedup_window_ms < 0) {
    return done(Status::InvalidArgument("dedup window must not be negative"));
  }
  After after;
  std::lock_guard l(s_->mu);
  if (s_->FindTopic(name)) {
    return done(Status(StatusCode::kAlreadyExists, "topic '" + name + "' exists"));
  }
  std::vector<Op> ops = {SubOp(OpType::kCreateTopic, name, "")};
  ops[0].topic_options = options;
  if (default_subscription)
    ops.push_back(SubOp(OpType::kCreateSubscription, name, kDefaultSubscription));
  s_->Submit(std::move(ops), Plain(std::move(done)), &after.fns);
}

void Broker::DeleteTopic(const std::string& name, Done done) {
  After after;
  std::lock_guard l(s_->mu);
  if (!s_->FindTopic(name)) return done(Status::NotFound("no such topic '" + name + "'"));
  s_->Submit({SubOp(OpType::kDeleteTopic, name, "")}, Plain(std::move(done)), &after.fns);
}

void Broker::CreateSubscription(const std::string& topic, const std::string& name,
                                const SubscriptionOptions& options, Done done) {
  if (Status st = CheckName("topic", topic); !st.ok()) return done(st);
  if (Status st = CheckName("subscription", name); !st.ok()) return done(st);
  if (options.visibility_timeout_ms <= 0) {
    return done(Status::InvalidArgument("visibility timeout must be positive"));
  }
  if (options.max_deliveries == 0) {
    return done(Status::InvalidArgument("max deliveries must be at least 1"));
  }
  if (options.backoff_base_ms < 0 || options.backoff_max_ms < options.backoff_base_ms) {
    return done(Status::InvalidArgument("backoff must satisfy 0 <= base <= max"));
  }
  if (!options.dead_letter_topic.empty()) {
    if (Status st = CheckName("dead-letter topic", options.dead_letter_topic); !st.ok()) {
      return done(st);
    }
  }
  After after;
  std::lock_guard l(s_->mu);
  std::vector<Op> ops;
  s_->CreateOpsIfMissing(topic, &ops);
  if (s_->FindSub(topic, name) || (!ops.empty() && name == kDefaultSubscription)) {
    return done(
        Status(StatusCode::kAlreadyExists, "subscription '" + OriginOf(topic, name) + "' exists"));
  }
  ops.push_back(SubOp(OpType::kCreateSubscription, topic, name));
  ops.back().subscription_options = options;
  s_->Submit(std::move(ops), Plain(std::move(done)), &after.fns);
}

void Broker::DeleteSubscription(const std::string& topic, const std::string& name, Done done) {
  After after;
  std::lock_guard l(s_->mu);
  auto sub = s_->SubOrError(topic, name);
  if (!sub.ok()) return done(sub.status());
  s_->Submit({SubOp(OpType::kDeleteSubscription, topic, name)}, Plain(std::move(done)), &after.fns);
}

namespace {
Status CheckRequest(const PublishRequest& r, size_t max_payload) {
  if (Status st = CheckName("topic", r.topic); !st.ok()) return st;
  if (r.payload.size() > max_payload) {
    return Status(StatusCode::kResourceExhausted, "message of " + std::to_string(r.payload.size()) +
                                                      " bytes exceeds the limit of " +
                                                      std::to_string(max_payload));
  }
  if (r.headers.size() > kMaxHeaders) {
    return Status::InvalidArgument("more than " + std::to_string(kMaxHeaders) + " headers");
  }
  for (const auto& [k, v] : r.headers) {
    if (k.size() > kMaxHeaderBytes || v.size() > kMaxHeaderBytes) {
      return Status::InvalidArgument("header '" + k.substr(0, 64) + "' longer than " +
                                     std::to_string(kMaxHeaderBytes) + " bytes");
    }
  }
  if (r.dedup_id.size() > kMaxNameBytes) {
    return Status::InvalidArgument("dedup id longer than " + std::to_string(kMaxNameBytes) +
                                   " bytes");
  }
  if (r.delay_ms < 0) return Status::InvalidArgument("delay must not be negative");
  return Status::Ok();
}

// The priority range a request's topic allows (a missing topic gets the default options).
Status CheckPriority(const PublishRequest& r, Topic* t) {
  const int max_priority = t ? t->options.max_priority : TopicOptions{}.max_priority;
  if (r.priority < 0 || r.priority > max_priority) {
    return Status::InvalidArgument("priority " + std::to_string(r.priority) +
                                   " out of range for topic '" + r.topic + "' (0 to " +
                                   std::to_string(max_priority) + ")");
  }
  return Status::Ok();
}

}  // namespace

Status Broker::CheckPublish(const PublishRequest& request) {
  if (Status st = CheckRequest(request, s_->options.max_payload_bytes); !st.ok()) return st;
  std::lock_guard l(s_->mu);
  return CheckPriority(request, s_->FindTopic(request.topic));
}

void Broker::Publish(std::vector<PublishRequest> batch, Callback<std::vector<PublishResult>> done) {
  if (batch.empty()) return done(Status::InvalidArgument("nothing to publish"));
  size_t bytes = 0;
  for (const auto& r : batch) {
    if (Status st = CheckRequest(r, s_->options.max_payload_bytes); !st.ok()) return done(st);
    bytes += r.payload.size() + 256;
  }
  if (bytes > kMaxFrameBytes / 2) {
    return done(Status(StatusCode::kResourceExhausted,
                       "batch larger than " + std::to_string(kMaxFrameBytes / 2 >> 20) + " MiB"));
  }
  After after;
  std::lock_guard l(s_->mu);
  const int64_t now_ms = s_->now();
  std::vector<Op> ops;
  for (auto& r : batch) {
    if (Status st = CheckPriority(r, s_->FindTopic(r.topic)); !st.ok()) return done(st);
    bool created = false;
    for (const Op& op : ops) created |= op.type == OpType::kCreateTopic && op.topic == r.topic;
    if (!created) s_->CreateOpsIfMissing(r.topic, &ops);
    Op op = SubOp(OpType::kPublish, r.topic, "", 0);
    op.priority = r.priority;
    op.publish_ms = now_ms;
    op.not_before_ms = r.delay_ms > 0 ? now_ms + r.delay_ms : 0;
    op.dedup_id = std::move(r.dedup_id);
    op.headers = std::move(r.headers);
    op.payload = std::move(r.payload);
    ops.push_back(std::move(op));
  }
  for (Op& op : ops) {
    if (op.type == OpType::kPublish) op.id = s_->next_id++;
  }
  s_->Submit(
      std::move(ops),
      [done](const Status& st, std::vector<PublishResult> r) {
        if (!st.ok()) return done(st);
        done(std::move(r));
      },
      &after.fns);
}

Result<std::vector<Delivery>> Broker::Consume(const std::string& topic, const std::string& sub,
                                              size_t max, int64_t visibility_ms) {
  After after;
  std::lock_guard l(s_->mu);
  std::vector<Delivery> out;
  Subscription* s = s_->FindSub(topic, sub);
  if (!s) {
    if (sub == kDefaultSubscription && !s_->FindTopic(topic)) return out;
    return Status::NotFound("no such subscription '" + OriginOf(topic, sub) + "'");
  }
  const int64_t now_ms = s_->now();
  s_->Promote(*s, now_ms, &after.fns);
  const int64_t vis = visibility_ms > 0 ? visibility_ms : s->options.visibility_timeout_ms;
  while (out.size() < max) {
    Entry* e = s->LeaseNext(now_ms, vis);
    if (!e) break;
    if (e->delivery_count == 1) s_->Observe(Stage::kDelivered, e->msg->received_ns, 1);
    e->delivered_ns = State::SteadyNs();
    out.push_back(s_->DeliveryOf(*s, *e));
  }
  return out;
}

bool Broker::HasReady(const std::string& topic, const std::string& sub) {
  After after;
  std::lock_guard l(s_->mu);
  Subscription* s = s_->FindSub(topic, sub);
  if (!s) return false;
  s_->Promote(*s, s_->now(), &after.fns);
  return !s->ready.empty();
}

void Broker::Ack(const std::string& topic, const std::string& sub, const std::vector<uint64_t>& ids,
                 Callback<size_t> done) {
  After after;
  std::lock_guard l(s_->mu);
  auto s = s_->SubOrError(topic, sub);
  if (!s.ok()) return done(s.status());
  std::vector<Op> ops;
  for (uint64_t id : ids) {
    Entry* e = (*s)->Find(id);
    if (!e || e->state != EntryState::kInFlight) continue;
    s_->Observe(Stage::kAcked, e->delivered_ns, 1);
    ops.push_back(SubOp(OpType::kAck, topic, sub, id));
  }
  const size_t n = ops.size();
  if (n == 0) return after.fns.push_back([done] { done(size_t{0}); });
  s_->Submit(std::move(ops), Counted(std::move(done), n), &after.fns);
}

void Broker::Nack(const std::string& topic, const std::string& sub,
                  const std::vector<uint64_t>& ids, NackOutcome outcome, int64_t delay_ms,
                  const std::string& error, Callback<size_t> done) {
  if (delay_ms < 0) return done(Status::InvalidArgument("delay must not be negative"));
  After after;
  std::lock_guard l(s_->mu);
  auto s = s_->SubOrError(topic, sub);
  if (!s.ok()) return done(s.status());
  Subscription& subscription = **s;
  const int64_t now_ms = s_->now();
  const std::string why = error.empty() ? "nacked" : error;
  std::vector<Op> ops;
  size_t n = 0;
  for (uint64_t id : ids) {
    Entry* e = subscription.Find(id);
    if (!e || e->state != EntryState::kInFlight) continue;
    ++n;
    ++subscription.counters.nacked;
    if (outcome == NackOutcome::kDead || e->delivery_count >= subscription.options.max_deliveries) {
      for (Op& op : s_->DeadLetterOps(subscription, *e, why, now_ms)) ops.push_back(std::move(op));
      continue;
    }
    Op op = SubOp(OpType::kRetry, topic, sub, id);
    op.delivery_count = e->delivery_count;
    const int64_t wait = outcome == NackOutcome::kRetryAfter
                             ? delay_ms
                             : s_->Backoff(subscription.options, e->delivery_count);
    op.not_before_ms = wait > 0 ? now_ms + wait : 0;
    ops.push_back(op);
  }
  if (ops.empty()) return after.fns.push_back([done] { done(size_t{0}); });
  s_->Submit(std::move(ops), Counted(std::move(done), n), &after.fns);
}

Result<size_t> Broker::Extend(const std::string& topic, const std::string& sub,
                              const std::vector<uint64_t>& ids, int64_t visibility_ms) {
  if (visibility_ms <= 0) return Status::InvalidArgument("visibility must be positive");
  std::lock_guard l(s_->mu);
  auto s = s_->SubOrError(topic, sub);
  if (!s.ok()) return s.status();
  size_t n = 0;
  const int64_t now_ms = s_->now();
  for (uint64_t id : ids) {
    Entry* e = (*s)->Find(id);
    if (!e || e->state != EntryState::kInFlight || e->lease_until_ms <= now_ms) continue;
    (*s)->SetLease(*e, now_ms + visibility_ms);
    ++n;
  }
  return n;
}

std::string Broker::DeadLetterTopicOf(const std::string& topic, const std::string& sub) {
  std::lock_guard l(s_->mu);
  Subscription* s = s_->FindSub(topic, sub);
  return s ? s_->DeadLetterTopic(*s) : topic + "." + sub + ".dlq";
}

Result<std::vector<Delivery>> Broker::ListDead(const std::string& topic, const std::string& sub,
                                               size_t limit) {
  std::lock_guard l(s_->mu);
  auto s = s_->SubOrError(topic, sub);
  if (!s.ok()) return s.status();
  Subscription* dlq = s_->FindSub(s_->DeadLetterTopic(**s), kDefaultSubscription);
  std::vector<Delivery> out;
  for (const Entry* e : DeadEntries(dlq, OriginOf(topic, sub))) {
    if (out.size() >= limit) break;
    out.push_back(s_->DeliveryOf(*dlq, *e));
  }
  return out;
}

Result<Delivery> Broker::InspectDead(const std::string& topic, const std::string& sub,
                                     uint64_t id) {
  std::lock_guard l(s_->mu);
  auto s = s_->SubOrError(topic, sub);
  if (!s.ok()) return s.status();
  Subscription* dlq = s_->FindSub(s_->DeadLetterTopic(**s), kDefaultSubscription);
  Entry* e = dlq ? dlq->Find(id) : nullptr;
  if (!e || e->msg->dead_origin != OriginOf(topic, sub)) {
    return Status::NotFound("no dead letter " + std::to_string(id) + " for '" +
                            OriginOf(topic, sub) + "'");
  }
  return s_->DeliveryOf(*dlq, *e);
}

void Broker::Redrive(const std::string& topic, const std::string& sub,
                     const std::vector<uint64_t>& ids, Callback<size_t> done) {
  ResolveDead(topic, sub, ids, /*redrive=*/true, std::move(done));
}

void Broker::PurgeDead(const std::string& topic, const std::string& sub, Callback<size_t> done) {
  ResolveDead(topic, sub, {}, /*redrive=*/false, std::move(done));
}

void Broker::ResolveDead(const std::string& topic, const std::string& sub,
                         const std::vector<uint64_t>& ids, bool redrive, Callback<size_t> done) {
  After after;
  std::lock_guard l(s_->mu);
  auto s = s_->SubOrError(topic, sub);
  if (!s.ok()) return done(s.status());
  const std::string dlq_topic = s_->DeadLetterTopic(**s);
  std::vector<Op> ops;
  size_t n = 0;
  for (const Entry* e :
       DeadEntries(s_->FindSub(dlq_topic, kDefaultSubscription), OriginOf(topic, sub))) {
    if (!ids.empty() && std::find(ids.begin(), ids.end(), e->msg->id) == ids.end()) continue;
    ++n;
    ops.push_back(SubOp(OpType::kAck, dlq_topic, kDefaultSubscription, e->msg->id));
    if (!redrive) continue;
    // Back to the subscription it died in, with its priority and publish time.
    Op pub = SubOp(OpType::kPublish, topic, sub, s_->next_id++);
    pub.origin = PublishOrigin::kRedrive;
    pub.priority = e->msg->priority;
    pub.publish_ms = e->msg->publish_ms;
    pub.payload = s_->PayloadOf(*e->msg);
    for (const auto& h : e->msg->headers) {
      if (h.first.rfind("x-dead-", 0) != 0) pub.headers.push_back(h);
      if (h.first == "x-dead-original-priority") pub.priority = std::atoi(h.second.c_str());
      if (h.first == "x-dead-first-published-ms") pub.publish_ms = std::atoll(h.second.c_str());
    }
    ops.push_back(std::move(pub));
  }
  if (n == 0) return after.fns.push_back([done] { done(size_t{0}); });
  s_->Submit(std::move(ops), Counted(std::move(done), n), &after.fns);
}

std::vector<TopicStats> Broker::Stats() {
  std::lock_guard l(s_->mu);
  std::vector<TopicStats> out;
  const int64_t now_ms = s_->now();
  for (const auto& [name, t] : s_->topics) {
    TopicStats ts;
    ts.name = name;
    ts.options = t.options;
    ts.published = t.published;
    ts.duplicates = t.duplicates;
    for (const auto& [sn, sub] : t.subscriptions) {
      SubscriptionStats ss = sub.StatsAt(now_ms);
      if (Subscription* dlq = s_->FindSub(s_->DeadLetterTopic(sub), kDefaultSubscription)) {
        auto it = dlq->dead_by_origin.find(OriginOf(name, sn));
        if (it != dlq->dead_by_origin.end()) ss.dead = it->second;
      }
      ts.subscriptions.push_back(std::move(ss));
    }
    out.push_back(std::move(ts));
  }
  return out;
}

Result<TopicStats> Broker::StatsOf(const std::string& topic) {
  for (auto& t : Stats()) {
    if (t.name == topic) return t;
  }
  return Status::NotFound("no such topic '" + topic + "'");
}

QueueLogStats Broker::LogStats() {
  QueueLogStats q;
  if (s_->log) {
    auto l = s_->log->stats();
    q.frames = l.frames;
    q.bytes = l.bytes;
    q.fsyncs = l.fsyncs;
    q.segments = l.segments;
    q.corrupt_frames = l.corrupt_frames;
  }
  std::lock_guard l(s_->mu);
  q.resident_bytes = s_->resident_bytes;
  q.spilled_messages = s_->spilled;
  return q;
}

void Broker::Tick() {
  After after;
  std::lock_guard l(s_->mu);
  const int64_t now_ms = s_->now();
  for (auto& [tn, t] : s_->topics) {
    for (auto& [sn, sub] : t.subscriptions) {
      s_->Promote(sub, now_ms, &after.fns);
      sub.Sample(now_ms);
    }
    std::erase_if(t.dedup, [now_ms](const auto& d) { return d.second.second <= now_ms; });
  }
}

void Broker::SetReadyListener(
    std::function<void(const std::string& topic, const std::string& sub)> fn) {
  std::lock_guard l(s_->mu);
  s_->ready_listener = std::move(fn);
}

Result<std::vector<PublishResult>> Broker::PublishAndWait(std::vector<PublishRequest> batch) {
  std::promise<Result<std::vector<PublishResult>>> p;
  auto f = p.get_future();
  Publish(std::move(batch), [&p](auto r) { p.set_value(std::move(r)); });
  return f.get();
}

Result<size_t> Broker::AckAndWait(const std::string& topic, const std::string& sub,
                                  const std::vector<uint64_t>& ids) {
  std::promise<Result<size_t>> p;
  auto f = p.get_future();
  Ack(topic, sub, ids, [&p](auto r) { p.set_value(std::move(r)); });
  return f.get();
}

}  // namespace pier::queue
