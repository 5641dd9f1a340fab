#include "queue/server/queue_metrics.h"

#include <array>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "pier/metrics/metrics.h"
#include "pier/queue/broker.h"
#include "queue/server/queue_metric_names.h"

namespace pier::queue {

namespace {

struct Snapshot {
  std::mutex mu;
  std::map<std::pair<std::string, std::string>, SubscriptionStats> subs;
  std::set<std::pair<std::string, std::string>> registered;
  std::map<std::pair<std::string, std::string>, std::map<uint32_t, uint64_t>> recorded;
  QueueLogStats log;

  static Snapshot& Get() {
    static Snapshot s;
    return s;
  }
  double Sub(const std::pair<std::string, std::string>& key,
             double (*field)(const SubscriptionStats&)) {
    std::lock_guard l(mu);
    auto it = subs.find(key);
    return it == subs.end() ? 0.0 : field(it->second);
  }
};

using Field = double (*)(const SubscriptionStats&);
struct SubMetric {
  const char* name;
  const char* help;
  const char* type;
  Field field;
};

const SubMetric kSubMetrics[] = {
    {metric_names::kReadyMessages, "Messages ready for delivery.", "gauge",
     [](const SubscriptionStats& s) { return double(s.ready); }},
    {metric_names::kInFlightMessages, "Messages leased to consumers.", "gauge",
     [](const SubscriptionStats& s) { return double(s.in_flight); }},
    {metric_names::kDelayedMessages, "Messages waiting for a delay or a retry backoff.", "gauge",
     [](const SubscriptionStats& s) { return double(s.delayed); }},
    {metric_names::kDeadMessages, "Dead letters held for this subscription.", "gauge",
     [](const SubscriptionStats& s) { return double(s.dead); }},
    {metric_names::kOldestReadyAgeSeconds, "Age of the oldest ready message.", "gauge",
     [](const SubscriptionStats& s) { return double(s.oldest_ready_age_ms) / 1000.0; }},
    {metric_names::kPublishedTotal, "Messages that reached this subscription.", "counter",
     [](const SubscriptionStats& s) { return double(s.published); }},
    {metric_names::kAckedTotal, "Messages acknowledged.", "counter",
     [](const SubscriptionStats& s) { return double(s.acked); }},
    {metric_names::kNackedTotal, "Messages negatively acknowledged.", "counter",
     [](const SubscriptionStats& s) { return double(s.nacked); }},
    {metric_names::kRedeliveredTotal, "Deliveries after the first.", "counter",
     [](const SubscriptionStats& s) { return double(s.redelivered); }},
    {metric_names::kDeadLetteredTotal, "Messages moved to the dead-letter topic.", "counter",
     [](const SubscriptionStats& s) { return double(s.dead_lettered); }},
};

}  // namespace

void RegisterQueueMetrics(Broker& broker) {
  auto& r = metrics::Registry::Global();
  auto& snap = Snapshot::Get();
  auto log = [&snap](uint64_t QueueLogStats::*field) {
    return [&snap, field] {
      std::lock_guard l(snap.mu);
      return double(snap.log.*field);
    };
  };
  r.AddCallback(metric_names::kLogFramesTotal, "Frames written to the queue log.", "counter", {},
                log(&QueueLogStats::frames));
  r.AddCallback(metric_names::kLogBytesTotal, "Bytes written to the queue log.", "counter", {},
                log(&QueueLogStats::bytes));
  r.AddCallback(metric_names::kLogFsyncsTotal, "fdatasync calls on the queue log.", "counter", {},
                log(&QueueLogStats::fsyncs));
  r.AddCallback(metric_names::kLogSegments, "Segment files of the queue log.", "gauge", {},
                log(&QueueLogStats::segments));
  r.AddCallback(metric_names::kResidentPayloadBytes, "Message payload bytes held in memory.",
                "gauge", {}, log(&QueueLogStats::resident_bytes));
  RefreshQueueMetrics(broker);
}

std::function<void(Stage, int64_t, uint64_t)> StageHistograms() {
  auto& r = metrics::Registry::Global();
  std::array<metrics::Histogram*, 4> h{};
  for (Stage s : {Stage::kWritten, Stage::kDurable, Stage::kDelivered, Stage::kAcked}) {
    // 1 us to about 69 s (2^10 to 2^36 ns).
    h[static_cast<size_t>(s)] = &r.GetHistogram(
        metric_names::kStageSeconds,
        "Message latency by stage: received to written to the log file, to durable (confirmed), "
        "to first delivered; delivered to acked.",
        {{"stage", StageName(s)}}, 1e-9, 10, 36);
  }
  return [h](Stage s, int64_t nanos, uint64_t count) {
    h[static_cast<size_t>(s)]->Record(static_cast<uint64_t>(nanos), count);
  };
}

void RefreshQueueMetrics(Broker& broker) {
  auto& snap = Snapshot::Get();
  auto stats = broker.Stats();
  auto log = broker.LogStats();
  using Key = std::pair<std::string, std::string>;
  std::vector<Key> fresh;
  std::vector<std::tuple<Key, uint32_t, uint64_t>> samples;  // (sub, deliveries, new acks)
  {
    std::lock_guard l(snap.mu);
    snap.log = log;
    snap.subs.clear();
    for (auto& t : stats) {
      for (auto& s : t.subscriptions) {
        Key key(t.name, s.name);
        if (snap.registered.insert(key).second) fresh.push_back(key);
        auto& seen = snap.recorded[key];
        for (auto [deliveries, n] : s.delivery_counts) {
          if (n > seen[deliveries]) samples.emplace_back(key, deliveries, n - seen[deliveries]);
          seen[deliveries] = n;
        }
        snap.subs[key] = std::move(s);
      }
    }
  }
  // The registry's lock is taken only outside the snapshot's (a scrape takes them the other way).
  auto& r = metrics::Registry::Global();
  for (const auto& [key, deliveries, n] : samples) {
    r.GetHistogram(metric_names::kDeliveriesPerMessage,
                   "Deliveries an acknowledged message needed.",
                   {{"topic", key.first}, {"subscription", key.second}}, 1.0, 0, 5)
        .Record(deliveries, n);
  }
  for (const auto& key : fresh) {
    for (const auto& m : kSubMetrics) {
      r.AddCallback(m.name, m.help, m.type, {{"topic", key.first}, {"subscription", key.second}},
                    [key, f = m.field] { return Snapshot::Get().Sub(key, f); });
    }
  }
}

}  // namespace pier::queue
