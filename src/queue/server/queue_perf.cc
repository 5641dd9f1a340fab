// The queue's analyzer source (queue_perf.h) and QueueServer::AttachTo, which registers it and
// the tuning knob queue.consume_batch.
#include "queue/server/queue_perf.h"

#include <algorithm>
#include <cmath>

#include "pier/perf/analyzer.h"
#include "pier/perf/trend.h"
#include "pier/perf/tuner.h"
#include "pier/queue/queue_server.h"
#include "queue/server/queue_metric_names.h"

namespace pier::queue {

namespace {

namespace names = metric_names;

// The stages of pier_queue_stage_seconds, with what each measures and what grows it.
const std::vector<perf::Stage> kStages = {
    {"written", "received to in the log file",
     "the log writer falls behind (CPU, or slow writes to the disk)"},
    {"durable", "received to synced", "fdatasync takes longer: the disk is slower or busier"},
    {"delivered", "received to handed to a consumer",
     "messages wait for consumers: add consumers or raise the consume batch"},
    {"acked", "delivered to acknowledged", "consumers take longer to handle a message"},
};
using perf::EvidenceOf;
using perf::Fmt;
using perf::Input;
using perf::Mean;
using perf::Slope;

class Source : public perf::Source {
 public:
  Source() {
    inputs = {{names::kPublishedTotal, "queue.published"},
              {names::kAckedTotal, "queue.acked"},
              {names::kLogFsyncsTotal, "queue.fsyncs"},
              {names::kConsumeCallsTotal, "queue.consume_calls"},
              {names::kConsumedMessagesTotal, "queue.consumed"},
              {names::kConsumeBatch, "queue.consume_batch", Input::kGauge},
              {names::kReadyMessages, "queue.ready", Input::kGauge},
              {names::kOldestReadyAgeSeconds, "queue.oldest_age_s", Input::kMax},
              {names::kDeadMessages, "queue.dead", Input::kGauge}};
    perf::AddStageInputs(*this, names::kStageSeconds, "queue", kStages);
  }

  void Derive(perf::Sampling& s) const override {
    perf::RecordStages(s, "queue", kStages);
    if (!s.Has("queue.published")) return;
    s.Record("queue.publish_per_s", s.Rate("queue.published"));
    s.Record("queue.ack_per_s", s.Rate("queue.acked"));
    s.Record("queue.fsyncs_per_s", s.Rate("queue.fsyncs"));
    if (const double calls = s.Delta("queue.consume_calls"); calls > 0) {
      s.Record("queue.messages_per_consume", s.Delta("queue.consumed") / calls);
    }
  }

  void Suggest(const perf::Analyzer& a, std::vector<perf::Suggestion>* out) const override {
    const size_t w = a.options().window;
    const int64_t iv = a.options().interval_ms;
    const auto ready = a.Recent("queue.ready", w);
    const auto pub = a.Recent("queue.publish_per_s", w), ack = a.Recent("queue.ack_per_s", w);
    const bool growing = ready.size() >= 10 && Slope(ready) > 0;

    // A backlog growing because consumers drain slower than producers publish.
    if (growing && Mean(pub) > 1.05 * Mean(ack) && Mean(pub) > 0) {
      perf::Suggestion s;
      s.area = "queue";
      const double factor = Mean(ack) > 0 ? Mean(pub) / Mean(ack) : 0;
      s.title = factor > 0 ? Fmt("add consumers: about %.1fx the ones running",
                                 std::ceil(factor * 10) / 10)
                           : "start consumers: nothing acknowledges";
      s.why = Fmt("the backlog grows by %.1f messages/s (%.0f -> %.0f); publish %.1f/s",
                  Slope(ready) * 1000 / static_cast<double>(iv), ready.front(), ready.back(),
                  Mean(pub)) +
              Fmt(", acknowledge %.1f/s", Mean(ack));
      s.effect = "the backlog stops growing and drains";
      s.confidence = std::min(1.0, static_cast<double>(ready.size()) / static_cast<double>(w));
      s.evidence = {EvidenceOf("queue.ready", ready, iv),
                    EvidenceOf("queue.publish_per_s", pub, iv),
                    EvidenceOf("queue.ack_per_s", ack, iv)};
      out->push_back(s);
    }

    // Consumers that drain one full batch per call while the backlog grows: bigger batches
    // cut the round trips per message.
    const auto per_call = a.Recent("queue.messages_per_consume", w);
    const auto batch = a.Recent("queue.consume_batch", 1);
    if (growing && per_call.size() >= 5 && !batch.empty() && batch.back() < 1000 &&
        Mean(per_call) >= 0.9 * batch.back()) {
      perf::Suggestion s;
      s.area = "queue";
      const double next = std::min(1000.0, batch.back() * 4);
      s.title = Fmt("raise the consume batch from %.0f to %.0f messages", batch.back(), next);
      s.why = Fmt("consume calls return full batches (%.1f messages per call, the batch is %.0f)",
                  Mean(per_call), batch.back()) +
              Fmt(" while the backlog grows (%.0f -> %.0f)", ready.front(), ready.back());
      s.effect = "fewer round trips per message: more acknowledgements per second";
      s.confidence = 0.6;
      s.evidence = {EvidenceOf("queue.messages_per_consume", per_call, iv),
                    EvidenceOf("queue.ready", ready, iv), EvidenceOf("queue.ack_per_s", ack, iv)};
      s.knob = "queue.consume_batch";
      s.value = Fmt("%.0f", next);
      out->push_back(s);
    }

    if (auto s = perf::StageRule(a, "queue", kStages)) out->push_back(*s);

    // I/O: the log syncs nearly once per message (no group commit).
    const auto fsyncs = a.Recent("queue.fsyncs_per_s", w);
    if (pub.size() >= 5 && Mean(pub) >= 100 && Mean(fsyncs) >= 0.5 * Mean(pub)) {
      perf::Suggestion s;
      s.area = "io";
      s.title = "queue: let publishes share fsyncs (raise --batch-delay-us, or --fsync batch)";
      s.why = Fmt("%.0f fsyncs/s for %.0f messages/s: %.2f syncs per message", Mean(fsyncs),
                  Mean(pub), Mean(fsyncs) / Mean(pub));
      s.effect = "fewer syncs per message: more throughput at the same durability";
      s.confidence = 0.7;
      s.evidence = {EvidenceOf("queue.fsyncs_per_s", fsyncs, iv),
                    EvidenceOf("queue.publish_per_s", pub, iv)};
      out->push_back(s);
    }
  }

  void Score(const perf::Analyzer& a, perf::ScoreCard* card) const override {
    const auto ready = a.Recent("queue.ready", a.options().window);
    if (ready.size() < 2) return;
    const double growth =
        Slope(ready) * static_cast<double>(ready.size()) / std::max(1.0, Mean(ready));
    card->areas["queue"] = {std::clamp(1 - growth, 0.0, 1.0), 10};
    card->notes.push_back("queue: full marks while the backlog does not grow over the window");
  }
};

}  // namespace

std::shared_ptr<perf::Source> PerfSource() { return std::make_shared<Source>(); }

void QueueServer::AttachTo(perf::Analyzer& analyzer, perf::Tuner& tuner) {
  analyzer.AddSource(PerfSource());
  tuner.AddKnob({.name = "queue.consume_batch",
                 .get = [this] { return std::to_string(consume_batch()); },
                 .set =
                     [this](const std::string& v) {
                       auto n = perf::ParseCount("queue.consume_batch", v);
                       return n.ok() ? SetConsumeBatch(*n) : n.status();
                     },
                 .objective = "queue.ack_per_s",
                 .guards = {"queue.oldest_age_s"},
                 .guard_slack = 1,
                 .min_gain_ratio = 0.05});
}

}  // namespace pier::queue
