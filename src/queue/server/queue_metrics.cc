#include "queue/server/queue_metrics.h"

#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "pier/metrics/metrics.h"
#include "pier/queue/broker.h"

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
    {"pier_queue_ready_messages", "Messages ready for delivery.", "gauge",
     [](const SubscriptionStats& s) { return double(s.ready); }},
    {"pier_queue_in_flight_messages", "Messages leased to consumers.", "gauge",
     [](const SubscriptionStats& s) { return double(s.in_flight); }},
    {"pier_queue_delayed_messages", "Messages waiting for a delay or a retry backoff.", "gauge",
     [](const SubscriptionStats& s) { return double(s.delayed); }},
    {"pier_queue_dead_messages", "Dead letters held for this subscription.", "gauge",
     [](const SubscriptionStats& s) { return double(s.dead); }},
    {"pier_queue_oldest_ready_age_seconds", "Age of the oldest ready message.", "gauge",
     [](const SubscriptionStats& s) { return double(s.oldest_ready_age_ms) / 1000.0; }},
    {"pier_queue_published_total", "Messages that reached this subscription.", "counter",
     [](const SubscriptionStats& s) { return double(s.published); }},
    {"pier_queue_acked_total", "Messages acknowledged.", "counter",
     [](const SubscriptionStats& s) { return double(s.acked); }},
    {"pier_queue_nacked_total", "Messages negatively acknowledged.", "counter",
     [](const SubscriptionStats& s) { return double(s.nacked); }},
    {"pier_queue_redelivered_total", "Deliveries after the first.", "counter",
     [](const SubscriptionStats& s) { return double(s.redelivered); }},
    {"pier_queue_dead_lettered_total", "Messages moved to the dead-letter topic.", "counter",
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
  r.AddCallback("pier_queue_log_frames_total", "Frames written to the queue log.", "counter", {},
                log(&QueueLogStats::frames));
  r.AddCallback("pier_queue_log_bytes_total", "Bytes written to the queue log.", "counter", {},
                log(&QueueLogStats::bytes));
  r.AddCallback("pier_queue_log_fsyncs_total", "fdatasync calls on the queue log.", "counter", {},
                log(&QueueLogStats::fsyncs));
  r.AddCallback("pier_queue_log_segments", "Segment files of the queue log.", "gauge", {},
                log(&QueueLogStats::segments));
  r.AddCallback("pier_queue_resident_payload_bytes", "Message payload bytes held in memory.",
                "gauge", {}, log(&QueueLogStats::resident_bytes));
  RefreshQueueMetrics(broker);
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
    r.GetHistogram("pier_queue_deliveries_per_message",
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
