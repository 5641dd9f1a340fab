#include "pier/queue/client.h"

#include <condition_variable>
#include <deque>
#include <thread>

#include "pier/net/resp_connection.h"
#include "pier/net/tcp_listener.h"

namespace pier::queue {

namespace {

using net::RespValue;

Result<std::unique_ptr<net::RespConnection>> Dial(const ClientOptions& o) {
  auto hp = net::ParseHostPort(o.address, "address");
  if (!hp.ok()) return hp.status();
  auto c = net::RespConnection::Connect(hp->first, hp->second, o.connect_timeout, o.tls);
  if (!c.ok() || o.password.empty()) return c;
  auto r = (*c)->Run({{"AUTH", o.password}}, o.io_timeout);
  if (!r.ok()) return r.status();
  if ((*r)[0].is_error()) return Status::InvalidArgument(o.address + ": " + (*r)[0].str);
  return c;
}

// One command on a connection: its reply, or the error reply as a Status.
Result<RespValue> Call(net::RespConnection& c, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout) {
  std::vector<std::string_view> views(args.begin(), args.end());
  auto r = c.Run({views}, timeout);
  if (!r.ok()) return r.status();
  RespValue v = std::move((*r)[0]);
  if (v.is_error()) return Status::InvalidArgument(v.str);
  return v;
}

std::vector<std::string> PublishArgs(const PublishRequest& r) {
  std::vector<std::string> a = {"QPUBLISH", r.topic, r.payload};
  if (r.priority) a.insert(a.end(), {"PRIORITY", std::to_string(r.priority)});
  if (r.delay_ms) a.insert(a.end(), {"DELAY", std::to_string(r.delay_ms)});
  if (!r.dedup_id.empty()) a.insert(a.end(), {"DEDUP", r.dedup_id});
  for (const auto& [k, v] : r.headers) a.insert(a.end(), {"HEADER", k, v});
  return a;
}

// A message map (RESP3) or flat field/value array (RESP2) as a Delivery.
Delivery ToDelivery(const RespValue& m, const ConsumerOptions& o) {
  Delivery d;
  d.topic = o.topic;
  d.subscription = o.subscription;
  for (size_t i = 0; i + 1 < m.elements.size(); i += 2) {
    const std::string& k = m.elements[i].str;
    const RespValue& v = m.elements[i + 1];
    if (k == "id")
      d.id = static_cast<uint64_t>(v.integer);
    else if (k == "payload")
      d.payload = v.str;
    else if (k == "priority")
      d.priority = static_cast<int>(v.integer);
    else if (k == "deliveries")
      d.delivery_count = static_cast<uint32_t>(v.integer);
    else if (k == "published_ms")
      d.publish_ms = v.integer;
    else if (k == "lease_until_ms")
      d.lease_until_ms = v.integer;
    else if (k == "headers") {
      for (size_t h = 0; h + 1 < v.elements.size(); h += 2) {
        d.headers.emplace_back(v.elements[h].str, v.elements[h + 1].str);
      }
    }
  }
  return d;
}

std::vector<std::string> WithIds(std::vector<std::string> a, const std::vector<uint64_t>& ids) {
  for (uint64_t id : ids) a.push_back(std::to_string(id));
  return a;
}

}  // namespace

Result<std::unique_ptr<Producer>> Producer::Connect(ClientOptions options) {
  std::unique_ptr<Producer> p(new Producer());
  p->options_ = std::move(options);
  auto c = Dial(p->options_);
  if (!c.ok()) return c.status();
  p->conn_ = std::move(*c);
  return p;
}

Producer::~Producer() = default;

Result<uint64_t> Producer::Publish(const PublishRequest& request) {
  auto ids = PublishBatch({request});
  if (!ids.ok()) return ids.status();
  return (*ids)[0];
}

Result<std::vector<uint64_t>> Producer::PublishBatch(const std::vector<PublishRequest>& requests) {
  if (!conn_ || conn_->broken()) {
    auto c = Dial(options_);
    if (!c.ok()) return c.status();
    conn_ = std::move(*c);
  }
  std::vector<std::vector<std::string>> args;
  for (const auto& r : requests) args.push_back(PublishArgs(r));
  std::vector<std::vector<std::string_view>> views;
  for (const auto& a : args) views.emplace_back(a.begin(), a.end());
  auto replies = conn_->Run(views, options_.io_timeout);
  if (!replies.ok()) return replies.status();
  std::vector<uint64_t> ids;
  for (const auto& v : *replies) {
    if (v.is_error()) return Status::InvalidArgument(v.str);
    ids.push_back(static_cast<uint64_t>(v.integer));
  }
  return ids;
}

Result<std::unique_ptr<Consumer>> Consumer::Connect(ConsumerOptions options) {
  if (options.topic.empty()) return Status::InvalidArgument("consumer: topic is required");
  if (options.concurrency == 0)
    return Status::InvalidArgument("consumer: concurrency must be >= 1");
  std::unique_ptr<Consumer> c(new Consumer());
  c->options_ = std::move(options);
  auto a = Dial(c->options_);
  if (!a.ok()) return a.status();
  auto b = Dial(c->options_);
  if (!b.ok()) return b.status();
  c->conn_ = std::move(*a);
  c->fetch_conn_ = std::move(*b);
  return c;
}

Consumer::~Consumer() = default;

Result<std::vector<Delivery>> Consumer::Fetch(size_t max, int64_t block_ms) {
  std::vector<std::string> a = {"QCONSUME", options_.topic,     "SUB", options_.subscription,
                                "COUNT",    std::to_string(max)};
  if (block_ms >= 0) a.insert(a.end(), {"BLOCK", std::to_string(std::max<int64_t>(block_ms, 1))});
  if (options_.visibility_ms > 0)
    a.insert(a.end(), {"VISIBILITY", std::to_string(options_.visibility_ms)});
  auto timeout = options_.io_timeout + std::chrono::milliseconds(std::max<int64_t>(block_ms, 0));
  auto v = Call(*fetch_conn_, a, timeout);
  if (!v.ok()) return v.status();
  std::vector<Delivery> out;
  for (const auto& m : v->elements) out.push_back(ToDelivery(m, options_));
  return out;
}

Result<size_t> Consumer::Count(std::vector<std::string> args) {
  std::lock_guard l(mu_);
  auto v = Call(*conn_, args, options_.io_timeout);
  if (!v.ok()) return v.status();
  return static_cast<size_t>(v->integer);
}

Result<size_t> Consumer::Ack(const std::vector<uint64_t>& ids) {
  return Count(WithIds({"QACK", options_.topic, options_.subscription}, ids));
}

Result<size_t> Consumer::Nack(const std::vector<uint64_t>& ids, NackOutcome outcome,
                              int64_t delay_ms, const std::string& error) {
  auto a = WithIds({"QNACK", options_.topic, options_.subscription}, ids);
  if (outcome == NackOutcome::kDead) a.push_back("DEAD");
  if (outcome == NackOutcome::kRetryAfter) a.insert(a.end(), {"DELAY", std::to_string(delay_ms)});
  if (!error.empty()) a.insert(a.end(), {"ERROR", error});
  return Count(std::move(a));
}

Result<size_t> Consumer::Extend(const std::vector<uint64_t>& ids, int64_t visibility_ms) {
  return Count(WithIds(
      {"QEXTEND", options_.topic, options_.subscription, std::to_string(visibility_ms)}, ids));
}

Status Consumer::Run(const Handler& handler) {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Delivery> work;
  size_t busy = 0;
  bool done = false;
  Status failure;
  auto worker = [&] {
    for (;;) {
      Delivery d;
      {
        std::unique_lock l(mu);
        cv.wait(l, [&] { return done || !work.empty(); });
        if (work.empty()) return;
        d = std::move(work.front());
        work.pop_front();
      }
      HandlerResult r;
      try {
        r = handler(d);
      } catch (const std::exception& e) {
        r = HandlerResult::Retry(e.what());
      }
      auto s = r.ack ? Ack({d.id}) : Nack({d.id}, r.outcome, r.delay_ms, r.error);
      handled_.fetch_add(1);
      std::lock_guard l(mu);
      if (!s.ok() && failure.ok()) failure = s.status();
      --busy;
      cv.notify_all();
    }
  };
  std::vector<std::thread> workers;
  for (size_t i = 0; i < options_.concurrency; ++i) workers.emplace_back(worker);
  while (!stop_) {
    size_t room;
    {
      std::unique_lock l(mu);
      // Fetch only what idle workers can start now: leases are not held by a backlog.
      cv.wait(l, [&] { return stop_ || busy < options_.concurrency || !failure.ok(); });
      if (!failure.ok()) break;
      room = options_.concurrency - busy;
    }
    if (stop_) break;
    auto batch = Fetch(room, options_.block_ms);
    if (!batch.ok()) {
      std::lock_guard l(mu);
      failure = batch.status();
      break;
    }
    std::lock_guard l(mu);
    for (auto& d : *batch) {
      work.push_back(std::move(d));
      ++busy;
    }
    cv.notify_all();
  }
  {
    std::lock_guard l(mu);
    done = true;
  }
  cv.notify_all();
  for (auto& t : workers) t.join();
  return failure;
}

}  // namespace pier::queue
