// File: cache_perf.h
// Connects a cache server to the analyzer and tuner: the analyzer's CacheView (policy,
// maxmemory and the miss-ratio shadow's predictions, SHARDS-adjusted with the server's own
// lookup count since the shadow's counts started over) and two knobs, cache.policy and
// cache.maxmemory, whose objective is the hit ratio and whose guard is the command p99.
#pragma once

#include "pier/cache/cache_server.h"
#include "pier/perf/analyzer.h"
#include "pier/perf/tuner.h"

namespace pier::app {

void AttachCache(perf::Analyzer& analyzer, perf::Tuner& tuner, cache::CacheServer& server);

}  // namespace pier::app
