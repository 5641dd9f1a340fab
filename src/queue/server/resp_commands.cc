#include "queue/server/resp_commands.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "pier/net/resp_writer.h"
#include "pier/queue/queue_server.h"

namespace asio = boost::asio;

namespace pier::queue {

namespace {

std::string ErrorReply(const Status& st, int protocol) {
  std::string out;
  std::string msg = st.message();
  if (msg.rfind("ERR ", 0) != 0) msg = "ERR " + msg;
  for (char& c : msg) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  net::RespWriter(&out, protocol).Error(msg);
  return out;
}

std::string IntegerReply(int64_t v, int protocol) {
  std::string out;
  net::RespWriter(&out, protocol).Integer(v);
  return out;
}

void WriteMessage(net::RespWriter& w, const Delivery& d) {
  w.MapHeader(7);
  w.Bulk("id");
  w.Integer(static_cast<int64_t>(d.id));
  w.Bulk("payload");
  w.Bulk(d.payload);
  w.Bulk("priority");
  w.Integer(d.priority);
  w.Bulk("deliveries");
  w.Integer(d.delivery_count);
  w.Bulk("published_ms");
  w.Integer(d.publish_ms);
  w.Bulk("lease_until_ms");
  w.Integer(d.lease_until_ms);
  w.Bulk("headers");
  w.MapHeader(static_cast<int64_t>(d.headers.size()));
  for (const auto& [k, v] : d.headers) {
    w.Bulk(k);
    w.Bulk(v);
  }
}

std::string MessagesReply(const std::vector<Delivery>& ds, int protocol) {
  std::string out;
  net::RespWriter w(&out, protocol);
  w.ArrayHeader(static_cast<int64_t>(ds.size()));
  for (const auto& d : ds) WriteMessage(w, d);
  return out;
}

void WriteStats(net::RespWriter& w, const SubscriptionStats& s) {
  const std::pair<const char*, double> numbers[] = {
      {"ready", double(s.ready)},
      {"in_flight", double(s.in_flight)},
      {"delayed", double(s.delayed)},
      {"dead", double(s.dead)},
      {"oldest_ready_age_ms", double(s.oldest_ready_age_ms)},
      {"published", double(s.published)},
      {"acked", double(s.acked)},
      {"nacked", double(s.nacked)},
      {"redelivered", double(s.redelivered)},
      {"dead_lettered", double(s.dead_lettered)},
  };
  const std::pair<const char*, double> rates[] = {
      {"publish_rate", s.publish_rate},
      {"ack_rate", s.ack_rate},
      {"nack_rate", s.nack_rate},
      {"redelivery_rate", s.redelivery_rate},
  };
  w.MapHeader(2 + std::size(numbers) + std::size(rates) + 1);
  w.Bulk("topic");
  w.Bulk(s.topic);
  w.Bulk("subscription");
  w.Bulk(s.name);
  for (const auto& [k, v] : numbers) {
    w.Bulk(k);
    w.Integer(static_cast<int64_t>(v));
  }
  for (const auto& [k, v] : rates) {
    w.Bulk(k);
    w.Double(v);
  }
  w.Bulk("deliveries_histogram");
  w.MapHeader(static_cast<int64_t>(s.delivery_counts.size()));
  for (const auto& [n, count] : s.delivery_counts) {
    w.Bulk(std::to_string(n));
    w.Integer(static_cast<int64_t>(count));
  }
}

// Completes `reply` with a count, or the error.
Broker::Callback<size_t> CountTo(std::shared_ptr<net::PendingReply> reply, int protocol) {
  return [reply, protocol](Result<size_t> r) {
    reply->Complete(r.ok() ? IntegerReply(static_cast<int64_t>(*r), protocol)
                           : ErrorReply(r.status(), protocol));
  };
}

Broker::Done OkTo(std::shared_ptr<net::PendingReply> reply, int protocol) {
  return [reply, protocol](Status st) {
    std::string out;
    if (st.ok()) {
      net::RespWriter(&out, protocol).Ok();
    } else {
      out = ErrorReply(st, protocol);
    }
    reply->Complete(std::move(out));
  };
}

asio::awaitable<void> BlockingConsume(QueueServer& server, QueueCommand c, int protocol,
                                      std::shared_ptr<net::PendingReply> reply) {
  auto r = co_await server.ConsumeWait(c.topic, c.sub, c.count, c.block_ms, c.visibility_ms);
  reply->Complete(r.ok() ? MessagesReply(*r, protocol) : ErrorReply(r.status(), protocol));
}

class QueueSession final : public net::RespService::Session {
 public:
  QueueSession(QueueServer& server, asio::any_io_executor ex) : server_(server), ex_(ex) {}
  ~QueueSession() override { Flush(); }

  std::shared_ptr<net::PendingReply> Start(const std::vector<std::string_view>& args,
                                           int protocol) {
    auto reply = std::make_shared<net::PendingReply>(ex_);
    auto c = ParseQueueCommand(args);
    if (!c.ok()) {
      reply->Complete(ErrorReply(c.status(), protocol));
    } else if (c->kind == CommandKind::kPublish) {
      // Checked now so one bad message fails alone, then held for the pipeline's batch.
      if (Status st = server_.broker().CheckPublish(c->publish[0]); !st.ok()) {
        reply->Complete(ErrorReply(st, protocol));
      } else {
        held_.push_back(std::move(c->publish[0]));
        held_replies_.emplace_back(reply, protocol);
      }
    } else {
      Flush();  // earlier publishes first: replies and effects keep request order
      Run(std::move(*c), protocol, reply);
    }
    return reply;
  }

  void Flush() override {
    if (held_.empty()) return;
    server_.broker().Publish(std::move(held_), [replies = std::move(held_replies_)](auto r) {
      for (size_t i = 0; i < replies.size(); ++i) {
        const auto& [reply, protocol] = replies[i];
        reply->Complete(r.ok() ? IntegerReply(static_cast<int64_t>((*r)[i].id), protocol)
                               : ErrorReply(r.status(), protocol));
      }
    });
    held_.clear();
    held_replies_.clear();
  }

 private:
  void Run(QueueCommand c, int protocol, std::shared_ptr<net::PendingReply> reply);

  QueueServer& server_;
  asio::any_io_executor ex_;
  std::vector<PublishRequest> held_;
  std::vector<std::pair<std::shared_ptr<net::PendingReply>, int>> held_replies_;
};

}  // namespace

void RespCommands::ForEachCommand(const std::function<void(const net::RespCommand&)>& fn) const {
  // Arity here is the least a command takes; the parser checks the rest (command.cc).
  using F = net::RespCommand;
  static const std::vector<net::RespCommand> table = {
      {"qpublish", -3, F::kWrite | F::kDenyOom | F::kFast, 1, 1, 1, "queue",
       "Publishes a message to a topic.", "pier"},
      {"qmpublish", -3, F::kWrite | F::kDenyOom, 1, 1, 1, "queue",
       "Publishes messages to a topic in one durable batch.", "pier"},
      {"qconsume", -2, F::kWrite, 1, 1, 1, "queue",
       "Leases ready messages of a subscription, optionally waiting for them.", "pier"},
      {"qack", -4, F::kWrite | F::kFast, 1, 1, 1, "queue", "Acknowledges leased messages.", "pier"},
      {"qnack", -4, F::kWrite | F::kFast, 1, 1, 1, "queue",
       "Gives leased messages back: retry, delay or dead-letter.", "pier"},
      {"qextend", -5, F::kWrite | F::kFast, 1, 1, 1, "queue", "Extends messages' leases.", "pier"},
      {"qstats", -1, F::kReadonly, 0, 0, 0, "queue", "Returns topics' and subscriptions' stats.",
       "pier"},
      {"qdead", -4, F::kWrite, 1, 1, 1, "queue", "Lists, reads or purges dead letters.", "pier"},
      {"qredrive", -3, F::kWrite, 1, 1, 1, "queue",
       "Moves dead letters back to their subscription.", "pier"},
      {"qtopic", -2, F::kWrite, 0, 0, 0, "queue", "Creates, deletes or lists topics.", "pier"},
      {"qsub", -2, F::kWrite, 0, 0, 0, "queue", "Creates, deletes or lists subscriptions.", "pier"},
  };
  for (const auto& c : table) fn(c);
}

std::shared_ptr<net::PendingReply> RespCommands::Dispatch(Call& call) {
  if (!call.session) call.session = std::make_unique<QueueSession>(server_, call.executor);
  return static_cast<QueueSession&>(*call.session).Start(call.args, call.client.protocol);
}

void QueueSession::Run(QueueCommand c, int protocol, std::shared_ptr<net::PendingReply> reply) {
  Broker& b = server_.broker();
  auto ex = ex_;
  switch (c.kind) {
    case CommandKind::kPublish:
    case CommandKind::kMultiPublish: {
      const bool single = c.kind == CommandKind::kPublish;
      b.Publish(std::move(c.publish), [reply, protocol, single](auto r) {
        if (!r.ok()) return reply->Complete(ErrorReply(r.status(), protocol));
        std::string out;
        net::RespWriter w(&out, protocol);
        if (!single) w.ArrayHeader(static_cast<int64_t>(r->size()));
        for (const auto& p : *r) w.Integer(static_cast<int64_t>(p.id));
        reply->Complete(std::move(out));
      });
      return;
    }
    case CommandKind::kConsume: {
      if (c.block_ms < 0) {
        auto r = server_.Consume(c.topic, c.sub, c.count, c.visibility_ms);
        return reply->Complete(r.ok() ? MessagesReply(*r, protocol)
                                      : ErrorReply(r.status(), protocol));
      }
      asio::co_spawn(ex, BlockingConsume(server_, std::move(c), protocol, reply), asio::detached);
      return;
    }
    case CommandKind::kAck:
      return b.Ack(c.topic, c.sub, c.ids, CountTo(reply, protocol));
    case CommandKind::kNack:
      return b.Nack(c.topic, c.sub, c.ids, c.outcome, c.delay_ms, c.error,
                    CountTo(reply, protocol));
    case CommandKind::kExtend: {
      auto r = b.Extend(c.topic, c.sub, c.ids, c.visibility_ms);
      return reply->Complete(r.ok() ? IntegerReply(static_cast<int64_t>(*r), protocol)
                                    : ErrorReply(r.status(), protocol));
    }
    case CommandKind::kRedrive:
      return b.Redrive(c.topic, c.sub, c.ids, CountTo(reply, protocol));
    case CommandKind::kDeadPurge:
      return b.PurgeDead(c.topic, c.sub, CountTo(reply, protocol));
    case CommandKind::kDeadList: {
      auto r = b.ListDead(c.topic, c.sub, c.count);
      return reply->Complete(r.ok() ? MessagesReply(*r, protocol)
                                    : ErrorReply(r.status(), protocol));
    }
    case CommandKind::kDeadGet: {
      auto r = b.InspectDead(c.topic, c.sub, c.ids[0]);
      if (!r.ok()) {
        std::string out;
        net::RespWriter(&out, protocol).Null();
        return reply->Complete(
            r.status().code() == StatusCode::kNotFound ? out : ErrorReply(r.status(), protocol));
      }
      std::string out;
      net::RespWriter w(&out, protocol);
      WriteMessage(w, *r);
      return reply->Complete(std::move(out));
    }
    case CommandKind::kStats: {
      std::vector<TopicStats> topics;
      if (c.topic.empty()) {
        topics = b.Stats();
      } else {
        auto t = b.StatsOf(c.topic);
        if (!t.ok()) return reply->Complete(ErrorReply(t.status(), protocol));
        topics.push_back(std::move(*t));
      }
      std::string out;
      net::RespWriter w(&out, protocol);
      size_t n = 0;
      for (const auto& t : topics) n += t.subscriptions.size();
      w.ArrayHeader(static_cast<int64_t>(n));
      for (const auto& t : topics) {
        for (const auto& s : t.subscriptions) WriteStats(w, s);
      }
      return reply->Complete(std::move(out));
    }
    case CommandKind::kTopicCreate:
      return b.CreateTopic(c.topic, c.topic_options, c.default_subscription, OkTo(reply, protocol));
    case CommandKind::kTopicDelete:
      return b.DeleteTopic(c.topic, OkTo(reply, protocol));
    case CommandKind::kSubCreate:
      return b.CreateSubscription(c.topic, c.sub, c.sub_options, OkTo(reply, protocol));
    case CommandKind::kSubDelete:
      return b.DeleteSubscription(c.topic, c.sub, OkTo(reply, protocol));
    case CommandKind::kTopicList:
    case CommandKind::kSubList: {
      std::vector<std::string> names;
      for (const auto& t : b.Stats()) {
        if (c.kind == CommandKind::kTopicList) {
          names.push_back(t.name);
        } else if (t.name == c.topic) {
          for (const auto& s : t.subscriptions) names.push_back(s.name);
        }
      }
      std::string out;
      net::RespWriter w(&out, protocol);
      w.ArrayHeader(static_cast<int64_t>(names.size()));
      for (const auto& n : names) w.Bulk(n);
      return reply->Complete(std::move(out));
    }
  }
}

}  // namespace pier::queue
