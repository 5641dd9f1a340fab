// File: logging.h
// Structured logging through spdlog, configured once at start-up.
//   PIER_RETURN_IF_ERROR(pier::InitLogging("info"));  spdlog::info("listening on {}", addr);
#pragma once

#include <string_view>

#include "pier/base/status.h"

namespace pier {

// Sets the global log level: trace, debug, info, warn, error, critical or off.
// Logs go to stderr as "time level [thread] message". Not thread-safe: call before threads start.
Status InitLogging(std::string_view level);

}  // namespace pier
