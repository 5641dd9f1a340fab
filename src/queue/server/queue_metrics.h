// File: queue_metrics.h
// The queue's Prometheus metrics: per topic and subscription, gauges (ready, in flight,
// delayed, dead, oldest ready age), counters (published, acked, nacked, redelivered, dead
// lettered) and a histogram of the deliveries acked messages needed; plus the log's frames,
// bytes, fsyncs, segments and resident payload bytes; and the stage latencies of every message
// (pier_queue_stage_seconds{stage=written|durable|delivered|acked}). Values come from a snapshot
// the queue's ticker refreshes once a second, so a scrape costs no broker work.
#pragma once

#include <cstdint>
#include <functional>

#include "pier/queue/broker.h"

namespace pier::queue {

// Registers the log metrics; call RefreshQueueMetrics() periodically for the rest.
void RegisterQueueMetrics(Broker& broker);
void RefreshQueueMetrics(Broker& broker);
// A BrokerOptions::stage_observer that records into pier_queue_stage_seconds.
std::function<void(Stage, int64_t, uint64_t)> StageHistograms();

}  // namespace pier::queue
