// File: queue_perf.h
// The queue's analyzer source (queue_perf.cc; QueueServer::AttachTo registers it). Series
// queue.publish_per_s, queue.ack_per_s, queue.fsyncs_per_s, queue.messages_per_consume,
// queue.ready, queue.oldest_age_s, queue.dead, queue.consume_batch; rules: a growing backlog
// (add consumers), full consume batches while it grows (a bigger batch), a sync per message
// (group commit); score: full marks while the backlog does not grow.
#pragma once

#include <memory>

#include "pier/perf/source.h"

namespace pier::queue {

std::shared_ptr<perf::Source> PerfSource();

}  // namespace pier::queue
