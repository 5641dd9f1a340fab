// File: logging.h
// Structured logging through spdlog, configured once at start-up.
//   PIER_RETURN_IF_ERROR(pier::InitLogging("info"));  spdlog::info("listening on {}", addr);
//   pier::LogEvent(pier::LogLevel::kWarn, "slow HTTP request", {{"path", path}, {"ms", 612}});
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "pier/base/status.h"

namespace pier {

// Sets the global log level (trace, debug, info, warn, error, critical or off) and format. Logs
// go to stderr, as "time level [thread] message key=value..." (text) or one JSON object a line
// (json: time in RFC 3339 UTC with ms, level, module, thread, message, then the event's fields
// as keys of their own). Not thread-safe: call before threads start.
Status InitLogging(std::string_view level, std::string_view format = "text",
                   std::string_view module = "pier");

// One field of a logged event: a string, or a number that stays a number in JSON.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral T>
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)), number(true) {}
  LogField(std::string_view k, double v);

  std::string key;
  std::string value;
  bool number = false;
};

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// An event: a short fixed message (what happened) and its fields (the details), so a JSON
// reader can filter on them (jq 'select(.path == "/v1/kv")') and a text reader sees
// `message key=value key="a b"`. Field names must not be time, level, module, thread or message.
void LogEvent(LogLevel level, std::string_view message, std::initializer_list<LogField> fields);
void LogEvent(LogLevel level, std::string_view message, const std::vector<LogField>& fields);

}  // namespace pier
