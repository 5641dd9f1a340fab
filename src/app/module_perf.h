// File: module_perf.h
// Connects the servers to the analyzer and tuner. The cache: the analyzer's CacheView (policy,
// maxmemory and the miss-ratio shadow's predictions, SHARDS-adjusted with the server's own
// lookup count since the shadow's counts started over) and the knobs cache.policy and
// cache.maxmemory (objective: hit ratio; guard: command p99). The proxy: proxy.concurrency_limit
// for every cluster (objective: p99; guard: error ratio, which its 503s count in). The queue:
// queue.consume_batch, what a consume without a count gets (objective: acknowledgements/s;
// guard: the oldest ready message's age).
#pragma once

#include "pier/cache/cache_server.h"
#include "pier/perf/analyzer.h"
#include "pier/perf/tuner.h"
#include "pier/proxy/proxy_server.h"
#include "pier/queue/queue_server.h"

namespace pier::app {

void AttachCache(perf::Analyzer& analyzer, perf::Tuner& tuner, cache::CacheServer& server);
void AttachProxy(perf::Tuner& tuner, proxy::ProxyServer& proxy);
void AttachQueue(perf::Tuner& tuner, queue::QueueServer& queue);

}  // namespace pier::app
