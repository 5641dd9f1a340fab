// The queue's HTTP/JSON API under /v1/queue (docs/queue.md lists every route).

// GCC 12 inlines asio's coroutine frame deallocation into these handlers and then warns that
// it does not match the allocation (a false positive, GCC bug 109224).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "pier/base/base64.h"
#include "pier/net/http_query.h"
#include "pier/net/http_server.h"
#include "pier/net/resp_service.h"
#include "pier/queue/queue_server.h"

namespace asio = boost::asio;
using json = nlohmann::json;

namespace pier::queue {

namespace {

using net::HttpRequest;
using net::HttpResponse;

HttpResponse ErrorFor(const Status& st) {
  int code = 500;
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
      code = 400;
      break;
    case StatusCode::kNotFound:
      code = 404;
      break;
    case StatusCode::kAlreadyExists:
      code = 409;
      break;
    case StatusCode::kResourceExhausted:
      code = 413;
      break;
    default:
      break;
  }
  return HttpResponse::Error(code, st.message());
}

HttpResponse JsonOk(const json& j, int code = 200) {
  return HttpResponse::Json(code, j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
}

bool ValidUtf8(std::string_view s) {
  try {
    (void)json(std::string(s)).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

json MessageJson(const Delivery& d) {
  json h = json::object();
  for (const auto& [k, v] : d.headers) h[k] = v;
  json m = {{"id", d.id},
            {"topic", d.topic},
            {"subscription", d.subscription},
            {"priority", d.priority},
            {"deliveries", d.delivery_count},
            {"published_ms", d.publish_ms},
            {"lease_until_ms", d.lease_until_ms},
            {"headers", h}};
  if (ValidUtf8(d.payload)) {
    m["payload"] = d.payload;
  } else {
    m["payload_base64"] = Base64Encode(d.payload);
  }
  return m;
}

json MessagesJson(const std::vector<Delivery>& ds) {
  json a = json::array();
  for (const auto& d : ds) a.push_back(MessageJson(d));
  return {{"messages", a}};
}

json StatsJson(const SubscriptionStats& s) {
  json hist = json::object();
  for (const auto& [n, c] : s.delivery_counts) hist[std::to_string(n)] = c;
  return {{"topic", s.topic},
          {"subscription", s.name},
          {"ready", s.ready},
          {"in_flight", s.in_flight},
          {"delayed", s.delayed},
          {"dead", s.dead},
          {"oldest_ready_age_ms", s.oldest_ready_age_ms},
          {"published", s.published},
          {"acked", s.acked},
          {"nacked", s.nacked},
          {"redelivered", s.redelivered},
          {"dead_lettered", s.dead_lettered},
          {"publish_rate", s.publish_rate},
          {"ack_rate", s.ack_rate},
          {"nack_rate", s.nack_rate},
          {"redelivery_rate", s.redelivery_rate},
          {"deliveries_histogram", hist},
          {"visibility_timeout_ms", s.options.visibility_timeout_ms},
          {"max_deliveries", s.options.max_deliveries},
          {"backoff_base_ms", s.options.backoff_base_ms},
          {"backoff_max_ms", s.options.backoff_max_ms}};
}

json TopicJson(const TopicStats& t) {
  json subs = json::array();
  for (const auto& s : t.subscriptions) subs.push_back(StatsJson(s));
  return {{"name", t.name},
          {"published", t.published},
          {"duplicates", t.duplicates},
          {"max_priority", t.options.max_priority},
          {"dedup_window_ms", t.options.dedup_window_ms},
          {"subscriptions", subs}};
}

// The body as a JSON object ({} when empty), or a 400 naming the problem.
Result<json> BodyObject(const HttpRequest& req) {
  if (req.body().empty()) return json::object();
  json j = json::parse(req.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("request body must be a JSON object");
  }
  return j;
}

// Reads an optional integer field in [lo, hi].
Status IntField(const json& j, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  if (!j.contains(name)) return Status::Ok();
  const json& v = j[name];
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Status::InvalidArgument(std::string("field '") + name + "' must be an integer from " +
                                   std::to_string(lo) + " to " + std::to_string(hi));
  }
  *out = v.get<int64_t>();
  return Status::Ok();
}

// Reads an optional integer query parameter in [lo, hi].
Status QueryInt(const net::HttpQuery& q, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  if (!q.Has(name)) return Status::Ok();
  std::string v = q.Get(name);
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (ec != std::errc() || p != v.data() + v.size() || *out < lo || *out > hi) {
    return Status::InvalidArgument(std::string("query parameter '") + name +
                                   "' must be an integer from " + std::to_string(lo) + " to " +
                                   std::to_string(hi));
  }
  return Status::Ok();
}

constexpr int64_t kMaxMs = 365LL * 24 * 3600 * 1000;

Result<TopicOptions> TopicOptionsOf(const json& body) {
  TopicOptions o;
  int64_t prio = o.max_priority;
  PIER_RETURN_IF_ERROR(IntField(body, "max_priority", 0, 255, &prio));
  o.max_priority = static_cast<int>(prio);
  PIER_RETURN_IF_ERROR(IntField(body, "dedup_window_ms", 0, kMaxMs, &o.dedup_window_ms));
  return o;
}

Result<SubscriptionOptions> SubscriptionOptionsOf(const json& body) {
  SubscriptionOptions o;
  int64_t max_deliveries = o.max_deliveries;
  PIER_RETURN_IF_ERROR(
      IntField(body, "visibility_timeout_ms", 1, kMaxMs, &o.visibility_timeout_ms));
  PIER_RETURN_IF_ERROR(IntField(body, "max_deliveries", 1, 1000000, &max_deliveries));
  PIER_RETURN_IF_ERROR(IntField(body, "backoff_base_ms", 0, kMaxMs, &o.backoff_base_ms));
  PIER_RETURN_IF_ERROR(IntField(body, "backoff_max_ms", 0, kMaxMs, &o.backoff_max_ms));
  o.max_deliveries = static_cast<uint32_t>(max_deliveries);
  o.dead_letter_topic = body.value("dead_letter_topic", "");
  return o;
}

// POST .../consume's query: max 0 is the server's consume batch, wait_ms -1 its default.
struct ConsumeArgs {
  int64_t max = 0, wait_ms = -1, visibility_ms = 0;
};

Result<ConsumeArgs> ConsumeArgsOf(const net::HttpQuery& q) {
  ConsumeArgs a;
  PIER_RETURN_IF_ERROR(QueryInt(q, "max", 1, 10000, &a.max));
  PIER_RETURN_IF_ERROR(QueryInt(q, "wait_ms", 0, kMaxMs, &a.wait_ms));
  PIER_RETURN_IF_ERROR(QueryInt(q, "visibility_ms", 1, kMaxMs, &a.visibility_ms));
  return a;
}

// POST .../nack's body: outcome retry (after delay_ms when given) or dead, and the error text.
struct NackArgs {
  NackOutcome outcome = NackOutcome::kRetry;
  int64_t delay_ms = 0;
  std::string error;
};

Result<NackArgs> NackArgsOf(const json& body) {
  NackArgs a;
  if (body.contains("delay_ms")) {
    a.outcome = NackOutcome::kRetryAfter;
    PIER_RETURN_IF_ERROR(IntField(body, "delay_ms", 0, kMaxMs, &a.delay_ms));
  }
  const std::string outcome = body.value("outcome", "retry");
  if (outcome == "dead") {
    a.outcome = NackOutcome::kDead;
  } else if (outcome != "retry") {
    return Status::InvalidArgument("field 'outcome' must be retry or dead");
  }
  a.error = body.value("error", "");
  return a;
}

Result<PublishRequest> ParseMessage(const json& m, const std::string& topic, size_t i) {
  const std::string where = "messages[" + std::to_string(i) + "]";
  if (!m.is_object()) return Status::InvalidArgument(where + " must be an object");
  PublishRequest r;
  r.topic = topic;
  if (m.contains("payload")) {
    if (!m["payload"].is_string())
      return Status::InvalidArgument(where + ".payload must be a string");
    r.payload = m["payload"].get<std::string>();
  } else if (m.contains("payload_base64")) {
    if (!m["payload_base64"].is_string() ||
        !Base64Decode(m["payload_base64"].get<std::string>(), &r.payload)) {
      return Status::InvalidArgument(where + ".payload_base64 is not base64");
    }
  } else {
    return Status::InvalidArgument(where + " needs payload or payload_base64");
  }
  int64_t v = 0;
  if (Status s = IntField(m, "priority", 0, 255, &v); !s.ok()) {
    return Status::InvalidArgument(where + ": " + s.message());
  }
  r.priority = static_cast<int>(v);
  if (Status s = IntField(m, "delay_ms", 0, kMaxMs, &r.delay_ms); !s.ok()) {
    return Status::InvalidArgument(where + ": " + s.message());
  }
  if (m.contains("dedup_id")) {
    if (!m["dedup_id"].is_string())
      return Status::InvalidArgument(where + ".dedup_id must be a string");
    r.dedup_id = m["dedup_id"].get<std::string>();
  }
  if (m.contains("headers")) {
    if (!m["headers"].is_object())
      return Status::InvalidArgument(where + ".headers must be an object");
    for (const auto& [k, hv] : m["headers"].items()) {
      if (!hv.is_string())
        return Status::InvalidArgument(where + ".headers." + k + " must be a string");
      r.headers.emplace_back(k, hv.get<std::string>());
    }
  }
  return r;
}

Result<std::vector<uint64_t>> Ids(const json& body) {
  std::vector<uint64_t> ids;
  if (!body.contains("ids") || !body["ids"].is_array()) {
    return Status::InvalidArgument("field 'ids' must be an array of message ids");
  }
  for (const auto& v : body["ids"]) {
    if (!v.is_number_unsigned())
      return Status::InvalidArgument("field 'ids' must hold positive integers");
    ids.push_back(v.get<uint64_t>());
  }
  return ids;
}

// Runs a callback-style broker call and waits for it on this connection's executor.
template <typename T, typename Start>
asio::awaitable<Result<T>> Await(Start start) {
  auto ex = co_await asio::this_coro::executor;
  auto done = std::make_shared<net::PendingReply>(ex);
  auto result = std::make_shared<std::optional<Result<T>>>();
  start([done, result](Result<T> r) {
    *result = std::move(r);
    done->Complete("");
  });
  co_await done->Wait();
  co_return std::move(**result);
}

net::HttpQuery Query(const HttpRequest& req) {
  return net::ParseQuery(std::string_view(req.target().data(), req.target().size()));
}

// Path segments after /v1/queue/topics/.
std::vector<std::string> Segments(const HttpRequest& req) {
  auto q = Query(req);
  std::string_view rest(q.path);
  rest.remove_prefix(std::string_view("/v1/queue/topics/").size());
  std::vector<std::string> out;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    out.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return out;
}

class HttpApi {
 public:
  explicit HttpApi(QueueServer& q) : q_(q), b_(q.broker()) {}

  asio::awaitable<HttpResponse> Post(const HttpRequest& req) {
    auto seg = Segments(req);
    auto body = BodyObject(req);
    if (!body.ok()) co_return ErrorFor(body.status());
    if (seg.size() == 2 && seg[1] == "publish") {
      co_return co_await Publish(seg[0], *body, std::string(req["traceparent"]));
    }
    if (seg.size() != 4 || seg[1] != "subscriptions") co_return NotFound(req);
    const std::string &topic = seg[0], &sub = seg[2], &verb = seg[3];
    auto q = Query(req);
    if (verb == "consume") {
      auto a = ConsumeArgsOf(q);
      if (!a.ok()) co_return ErrorFor(a.status());
      auto r = co_await q_.ConsumeWait(topic, sub, static_cast<size_t>(a->max), a->wait_ms,
                                       a->visibility_ms);
      if (!r.ok()) co_return ErrorFor(r.status());
      co_return JsonOk(MessagesJson(*r));
    }
    if (verb == "extend") {
      auto ids = Ids(*body);
      if (!ids.ok()) co_return ErrorFor(ids.status());
      int64_t vis = 30000;
      if (Status st = IntField(*body, "visibility_ms", 1, kMaxMs, &vis); !st.ok()) {
        co_return ErrorFor(st);
      }
      auto r = b_.Extend(topic, sub, *ids, vis);
      if (!r.ok()) co_return ErrorFor(r.status());
      co_return JsonOk({{"extended", *r}});
    }
    if (verb == "ack" || verb == "nack" || verb == "redrive") {
      std::vector<uint64_t> ids;
      if (verb != "redrive" || body->contains("ids")) {
        auto r = Ids(*body);
        if (!r.ok()) co_return ErrorFor(r.status());
        ids = std::move(*r);
      }
      Result<size_t> n = size_t{0};
      if (verb == "ack") {
        n = co_await Await<size_t>([&](auto cb) { b_.Ack(topic, sub, ids, cb); });
      } else if (verb == "redrive") {
        n = co_await Await<size_t>([&](auto cb) { b_.Redrive(topic, sub, ids, cb); });
      } else {
        auto a = NackArgsOf(*body);
        if (!a.ok()) co_return ErrorFor(a.status());
        n = co_await Await<size_t>(
            [&](auto cb) { b_.Nack(topic, sub, ids, a->outcome, a->delay_ms, a->error, cb); });
      }
      if (!n.ok()) co_return ErrorFor(n.status());
      co_return JsonOk({{verb == "ack" ? "acked" : verb == "nack" ? "nacked" : "redriven", *n}});
    }
    co_return NotFound(req);
  }

  asio::awaitable<HttpResponse> Put(const HttpRequest& req) {
    auto seg = Segments(req);
    auto body = BodyObject(req);
    if (!body.ok()) co_return ErrorFor(body.status());
    Result<bool> r = false;
    if (seg.size() == 1) {
      auto o = TopicOptionsOf(*body);
      if (!o.ok()) co_return ErrorFor(o.status());
      const bool def = body->value("default_subscription", true);
      r = co_await Await<bool>([&](auto cb) {
        b_.CreateTopic(seg[0], *o, def, [cb](Status s) { cb(s.ok() ? Result<bool>(true) : s); });
      });
    } else if (seg.size() == 3 && seg[1] == "subscriptions") {
      auto o = SubscriptionOptionsOf(*body);
      if (!o.ok()) co_return ErrorFor(o.status());
      r = co_await Await<bool>([&](auto cb) {
        b_.CreateSubscription(seg[0], seg[2], *o,
                              [cb](Status s) { cb(s.ok() ? Result<bool>(true) : s); });
      });
    } else {
      co_return NotFound(req);
    }
    if (!r.ok()) co_return ErrorFor(r.status());
    co_return JsonOk({{"created", true}}, 201);
  }

  asio::awaitable<HttpResponse> Delete(const HttpRequest& req) {
    auto seg = Segments(req);
    Result<size_t> r = size_t{0};
    if (seg.size() == 1) {
      r = co_await Await<size_t>([&](auto cb) {
        b_.DeleteTopic(seg[0], [cb](Status s) { cb(s.ok() ? Result<size_t>(1) : s); });
      });
    } else if (seg.size() == 3 && seg[1] == "subscriptions") {
      r = co_await Await<size_t>([&](auto cb) {
        b_.DeleteSubscription(seg[0], seg[2],
                              [cb](Status s) { cb(s.ok() ? Result<size_t>(1) : s); });
      });
    } else if (seg.size() == 4 && seg[1] == "subscriptions" && seg[3] == "dead") {
      r = co_await Await<size_t>([&](auto cb) { b_.PurgeDead(seg[0], seg[2], cb); });
      if (r.ok()) co_return JsonOk({{"purged", *r}});
    } else {
      co_return NotFound(req);
    }
    if (!r.ok()) co_return ErrorFor(r.status());
    co_return JsonOk({{"deleted", true}});
  }

  asio::awaitable<HttpResponse> Get(const HttpRequest& req) {
    auto seg = Segments(req);
    if (seg.size() == 1) {
      auto t = b_.StatsOf(seg[0]);
      if (!t.ok()) co_return ErrorFor(t.status());
      co_return JsonOk(TopicJson(*t));
    }
    if (seg.size() >= 4 && seg[1] == "subscriptions" && seg[3] == "dead") {
      if (seg.size() == 5) {
        uint64_t id = 0;
        auto [p, ec] = std::from_chars(seg[4].data(), seg[4].data() + seg[4].size(), id);
        if (ec != std::errc() || p != seg[4].data() + seg[4].size()) {
          co_return ErrorFor(Status::InvalidArgument("'" + seg[4] + "' is not a message id"));
        }
        auto d = b_.InspectDead(seg[0], seg[2], id);
        if (!d.ok()) co_return ErrorFor(d.status());
        co_return JsonOk(MessageJson(*d));
      }
      int64_t limit = 100;
      if (Status st = QueryInt(Query(req), "limit", 1, 10000, &limit); !st.ok()) {
        co_return ErrorFor(st);
      }
      auto d = b_.ListDead(seg[0], seg[2], static_cast<size_t>(limit));
      if (!d.ok()) co_return ErrorFor(d.status());
      co_return JsonOk(MessagesJson(*d));
    }
    co_return NotFound(req);
  }

  HttpResponse Stats() {
    json topics = json::array();
    for (const auto& t : b_.Stats()) topics.push_back(TopicJson(t));
    auto l = b_.LogStats();
    return JsonOk({{"topics", topics},
                   {"log",
                    {{"frames", l.frames},
                     {"bytes", l.bytes},
                     {"fsyncs", l.fsyncs},
                     {"segments", l.segments},
                     {"resident_payload_bytes", l.resident_bytes},
                     {"spilled_messages", l.spilled_messages}}}});
  }

 private:
  // `traceparent`: the request's (naming its server span as the parent), given to each message
  // that does not carry its own, so the consumer's span joins the publisher's trace.
  asio::awaitable<HttpResponse> Publish(const std::string& topic, const json& body,
                                        const std::string& traceparent) {
    std::vector<PublishRequest> batch;
    if (body.contains("messages")) {
      if (!body["messages"].is_array() || body["messages"].empty()) {
        co_return ErrorFor(Status::InvalidArgument("field 'messages' must be a non-empty array"));
      }
      for (size_t i = 0; i < body["messages"].size(); ++i) {
        auto m = ParseMessage(body["messages"][i], topic, i);
        if (!m.ok()) co_return ErrorFor(m.status());
        batch.push_back(std::move(*m));
      }
    } else {
      auto m = ParseMessage(body, topic, 0);
      if (!m.ok()) co_return ErrorFor(m.status());
      batch.push_back(std::move(*m));
    }
    if (!traceparent.empty()) {
      for (PublishRequest& m : batch) {
        const bool has = std::any_of(m.headers.begin(), m.headers.end(),
                                     [](const auto& h) { return h.first == "traceparent"; });
        if (!has) m.headers.emplace_back("traceparent", traceparent);
      }
    }
    auto r = co_await Await<std::vector<PublishResult>>(
        [&](auto cb) { b_.Publish(std::move(batch), cb); });
    if (!r.ok()) co_return ErrorFor(r.status());
    json ids = json::array(), dups = json::array();
    for (const auto& p : *r) {
      ids.push_back(p.id);
      dups.push_back(p.duplicate);
    }
    co_return JsonOk({{"ids", ids}, {"duplicates", dups}});
  }

  static HttpResponse NotFound(const HttpRequest& req) {
    return HttpResponse::Error(404, "no queue endpoint " + std::string(req.method_string()) + " " +
                                        std::string(req.target()));
  }

  QueueServer& q_;
  Broker& b_;
};

}  // namespace

void QueueServer::AddRoutes(net::HttpServer& http) {
  auto api = std::make_shared<HttpApi>(*this);
  http.Route("GET", "/v1/queue/stats", [api](const HttpRequest&) { return api->Stats(); });
  http.RoutePrefix("POST", "/v1/queue/topics/",
                   [api](const HttpRequest& r) { return api->Post(r); });
  http.RoutePrefix("PUT", "/v1/queue/topics/", [api](const HttpRequest& r) { return api->Put(r); });
  http.RoutePrefix("DELETE", "/v1/queue/topics/",
                   [api](const HttpRequest& r) { return api->Delete(r); });
  http.RoutePrefix("GET", "/v1/queue/topics/", [api](const HttpRequest& r) { return api->Get(r); });
}

}  // namespace pier::queue
