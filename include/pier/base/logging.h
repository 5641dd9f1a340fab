// File: logging.h
// Structured logging through spdlog, configured once at start-up.
//   PIER_RETURN_IF_ERROR(pier::InitLogging("info"));  spdlog::info("listening on {}", addr);
#pragma once

#include <string_view>

#include "pier/base/status.h"

namespace pier {

// Sets the global log level (trace, debug, info, warn, error, critical or off) and format. Logs
// go to stderr, as "time level [thread] message" (text) or one JSON object a line (json: time
// in RFC 3339 UTC with ms, level, module, thread, message). Not thread-safe: call before
// threads start.
Status InitLogging(std::string_view level, std::string_view format = "text",
                   std::string_view module = "pier");

}  // namespace pier
