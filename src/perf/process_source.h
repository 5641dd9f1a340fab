// File: process_source.h
// The analyzer's own source (analyzer.cc registers it first): the process metrics every
// Prometheus client exports, the series process.cpu_cores, process.rss_bytes, process.threads
// and process.fds, the CPU-bound rule and the score's resources area.
#pragma once

#include <memory>

#include "pier/perf/source.h"

namespace pier::perf {

std::shared_ptr<Source> ProcessSource();

}  // namespace pier::perf
