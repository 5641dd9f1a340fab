// File: queue_metrics.h
// The queue's Prometheus metrics: per topic and subscription, gauges (ready, in flight,
// delayed, dead, oldest ready age), counters (published, acked, nacked, redelivered, dead
// lettered) and a histogram of the deliveries acked messages needed; plus the log's frames,
// bytes, fsyncs, segments and resident payload bytes. Values come from a snapshot the queue's
// ticker refreshes once a second, so a scrape costs no broker work.
#pragma once

namespace pier::queue {

class Broker;

// Registers the log metrics; call RefreshQueueMetrics() periodically for the rest.
void RegisterQueueMetrics(Broker& broker);
void RefreshQueueMetrics(Broker& broker);

}  // namespace pier::queue
