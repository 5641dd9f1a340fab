// File: proxy_perf.h
// The proxy's analyzer source (proxy_perf.cc; ProxyServer::AttachTo registers it). Series
// proxy.rps, proxy.error_ratio, proxy.rejected_per_s, proxy.p50_ms, proxy.p99_ms,
// proxy.in_flight, proxy.ejected_hosts, proxy.host.rps{CLUSTER/HOST},
// proxy.host.p99_ms{CLUSTER/HOST}, proxy.breaker_transitions{CLUSTER/HOST}; rules: requests
// queueing (with an adaptive concurrency limit when the latency gradient says so), a p99 that
// stepped up, flapping breakers, a host much slower than its peers, errors above the target;
// score: latency and error samples.
#pragma once

#include <memory>

#include "pier/perf/source.h"

namespace pier::proxy {

std::shared_ptr<perf::Source> PerfSource();

}  // namespace pier::proxy
