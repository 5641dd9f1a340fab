// File: perf_routes.h
// The analyzer's HTTP API on a server's admin listener, and the dashboard:
//   GET  /perf/snapshot                latest value of every series, the cache's curves, cost
//   GET  /perf/history?series=NAME     [[t_ms, value], ...]; without series: the names
//   GET  /perf/suggestions             suggestions with evidence, effect and confidence
//   GET  /perf/score                   0-100 with a breakdown per area
//   GET  /perf/tuner                   knobs, the running trial, the log, baselines
//   POST /perf/tuner                   {"knob": K, "auto": true|false} or {"knob": K, "value": V}
//   POST /perf/baselines?name=S        records scenario S's means
//   GET  /ui                           the dashboard (assets built into the binary)
#pragma once

#include "pier/net/http_server.h"
#include "pier/perf/analyzer.h"
#include "pier/perf/tuner.h"

namespace pier::app {

void AddPerfRoutes(net::HttpServer& http, perf::Analyzer& analyzer, perf::Tuner& tuner);

}  // namespace pier::app
