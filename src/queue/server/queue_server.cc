#include "pier/queue/queue_server.h"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pier/metrics/metrics.h"
#include "pier/net/tracer.h"
#include "pier/net/wait_hub.h"
#include "pier/perf/tuner.h"
#include "queue/server/queue_metric_names.h"
#include "queue/server/queue_metrics.h"
#include "queue/server/resp_commands.h"

namespace asio = boost::asio;

namespace pier::queue {

struct QueueServer::Impl {
  net::WaitHub hub;
  std::shared_ptr<asio::steady_timer> ticker;
  std::unique_ptr<RespCommands> resp;
  bool stopping = false;
  std::atomic<size_t> consume_batch{1};
  metrics::Counter* consume_calls = nullptr;
  metrics::Counter* consumed = nullptr;
  metrics::Gauge* batch_gauge = nullptr;
};

namespace {
std::string HubTopic(const std::string& topic, const std::string& sub) { return topic + "/" + sub; }
}  // namespace

QueueServer::QueueServer(net::IoPool& pool, QueueServerOptions options)
    : pool_(pool), options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

QueueServer::~QueueServer() = default;

Status QueueServer::Start(std::vector<std::string>* report) {
  BrokerOptions bo = options_.broker;
  if (!bo.stage_observer) bo.stage_observer = StageHistograms();
  auto b = Broker::Open(std::move(bo), report);
  if (!b.ok()) return b.status();
  broker_ = std::move(*b);
  broker_->SetReadyListener([this](const std::string& topic, const std::string& sub) {
    impl_->hub.Notify(HubTopic(topic, sub));
  });
  impl_->resp = std::make_unique<RespCommands>(*this);
  RegisterQueueMetrics(*broker_);
  auto& m = metrics::Registry::Global();
  impl_->consume_calls = &m.GetCounter(metric_names::kConsumeCallsTotal,
                                       "Consume calls (QCONSUME, HTTP consume) that got messages.");
  impl_->consumed =
      &m.GetCounter(metric_names::kConsumedMessagesTotal, "Messages handed out by consume calls.");
  impl_->batch_gauge =
      &m.GetGauge(metric_names::kConsumeBatch,
                  "Messages a consume call without COUNT (or max) may get at most.");
  impl_->batch_gauge->Set(static_cast<double>(impl_->consume_batch.load()));
  impl_->ticker = std::make_shared<asio::steady_timer>(pool_.At(0));
  asio::co_spawn(
      pool_.At(0),
      [this, t = impl_->ticker]() -> asio::awaitable<void> {
        for (int64_t ticks = 1;; ++ticks) {
          t->expires_after(std::chrono::milliseconds(options_.tick_ms));
          boost::system::error_code ec;
          co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec || impl_->stopping) co_return;
          broker_->Tick();
          if (ticks % std::max<int64_t>(1, 1000 / options_.tick_ms) == 0) {
            RefreshQueueMetrics(*broker_);
          }
        }
      },
      asio::detached);
  return Status::Ok();
}

void QueueServer::Shutdown() {
  impl_->stopping = true;
  if (auto t = impl_->ticker) asio::post(t->get_executor(), [t] { t->cancel(); });
  impl_->hub.Close();
}

net::RespService& QueueServer::resp() { return *impl_->resp; }

Status QueueServer::SetConsumeBatch(size_t n) {
  if (n < 1 || n > kMaxConsumeBatch) {
    return Status::InvalidArgument("a consume batch is 1 to " + std::to_string(kMaxConsumeBatch) +
                                   " messages, not " + std::to_string(n));
  }
  impl_->consume_batch.store(n);
  if (impl_->batch_gauge) impl_->batch_gauge->Set(static_cast<double>(n));
  return Status::Ok();
}

size_t QueueServer::consume_batch() const { return impl_->consume_batch.load(); }

Result<std::vector<Delivery>> QueueServer::Consume(const std::string& topic, const std::string& sub,
                                                   size_t count, int64_t visibility_ms) {
  auto r = broker_->Consume(topic, sub, count == 0 ? consume_batch() : count, visibility_ms);
  if (r.ok() && !r->empty() && impl_->consume_calls) {
    impl_->consume_calls->Inc();
    impl_->consumed->Inc(r->size());
  }
  if (r.ok() && options_.tracer != nullptr) {
    for (const Delivery& d : *r) RecordDelivery(d);
  }
  return r;
}

void QueueServer::RecordDelivery(const Delivery& d) const {
  net::TraceParent context;
  for (const auto& [key, value] : d.headers) {
    if (key != "traceparent") continue;
    if (!net::TraceParent::Parse(value, &context) || !context.sampled()) return;
    net::Span span;
    span.kind = net::Span::Kind::kConsumer;
    span.trace_id = context.trace_id;
    span.parent_id = context.parent_id;
    span.span_id = net::Tracer::NewSpanId();
    span.start_unix_ns = span.end_unix_ns = net::Tracer::NowUnixNs();
    span.name = d.topic + " receive";
    span.strings = {{"messaging.system", "pier"},
                    {"messaging.destination.name", d.topic},
                    {"messaging.message.id", std::to_string(d.id)},
                    {"pier.subscription", d.subscription}};
    span.ints = {{"messaging.delivery_count", d.delivery_count},
                 {"pier.queue_wait_ms", span.start_unix_ns / 1000000 - d.publish_ms}};
    options_.tracer->Record(std::move(span));
    return;
  }
}

asio::awaitable<Result<std::vector<Delivery>>> QueueServer::ConsumeWait(
    std::string topic, std::string sub, size_t count, int64_t block_ms, int64_t visibility_ms) {
  auto r = Consume(topic, sub, count, visibility_ms);
  if (!r.ok() || !r->empty() || block_ms < 0) co_return r;
  const int64_t wait_ms =
      block_ms == 0 ? options_.max_block_ms : std::min(block_ms, options_.max_block_ms);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  const std::string key = HubTopic(topic, sub);
  std::function<bool()> ready = [&] { return broker_->HasReady(topic, sub); };
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) co_return r;
    if (!co_await impl_->hub.Wait(key, ready, left)) co_return r;  // timed out or closed
    r = Consume(topic, sub, count, visibility_ms);
    if (!r.ok() || !r->empty()) co_return r;  // else another consumer was faster: wait again
  }
}

}  // namespace pier::queue
