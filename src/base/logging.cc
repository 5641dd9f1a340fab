#include "pier/base/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

namespace pier {
namespace {

// An event's fields travel in the message payload after the message: each as
// US key RS type value, type 's' (string) or 'n' (number). The formatters take them apart.
constexpr char kFieldSep = '\x1f', kValueSep = '\x1e';

struct Parsed {
  std::string_view message;
  std::vector<std::tuple<std::string_view, char, std::string_view>> fields;
};

Parsed Split(std::string_view payload) {
  Parsed p;
  size_t at = payload.find(kFieldSep);
  p.message = payload.substr(0, at);
  while (at != std::string_view::npos) {
    const size_t next = payload.find(kFieldSep, at + 1);
    const std::string_view f = payload.substr(
        at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1);
    const size_t rs = f.find(kValueSep);
    if (rs != std::string_view::npos && rs + 1 < f.size()) {
      p.fields.emplace_back(f.substr(0, rs), f[rs + 1], f.substr(rs + 2));
    }
    at = next;
  }
  return p;
}

// Text: the message, then ` key=value` (quoted, as logfmt, when empty or holding a space, a
// quote or a backslash).
class TextFields final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const Parsed p = Split(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(p.message.data(), p.message.data() + p.message.size());
    for (const auto& [key, type, value] : p.fields) {
      dest.push_back(' ');
      dest.append(key.data(), key.data() + key.size());
      dest.push_back('=');
      const bool quote = type == 's' && (value.empty() ||
                                         value.find_first_of(" \"\\=\n") != std::string_view::npos);
      if (quote) dest.push_back('"');
      for (char c : value) {
        if (quote && (c == '"' || c == '\\')) dest.push_back('\\');
        if (c == '\n') {
          dest.append(std::string_view("\\n"));
          continue;
        }
        dest.push_back(c);
      }
      if (quote) dest.push_back('"');
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextFields>();
  }
};

// One JSON object a line: {"time","level","module","thread","message"}, time in RFC 3339 (UTC,
// milliseconds). Invalid UTF-8 in a message becomes U+FFFD so every line stays valid JSON.
class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string module) : module_(std::move(module)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json line;
    line["time"] = Rfc3339(msg.time);
    const auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string(level.data(), level.size());
    line["module"] = module_;
    line["thread"] = msg.thread_id;
    const Parsed p = Split(std::string_view(msg.payload.data(), msg.payload.size()));
    line["message"] = std::string(p.message);
    for (const auto& [key, type, value] : p.fields) {
      auto& v = line[std::string(key)];
      if (type == 'n') {
        v = nlohmann::ordered_json::parse(value, nullptr, false);
        if (!v.is_discarded()) continue;
      }
      v = std::string(value);
    }
    const std::string text =
        line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(module_);
  }

 private:
  static std::string Rfc3339(spdlog::log_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(buf, n) + fmt::format(".{:03}Z", ms.count() % 1000);
  }

  std::string module_;
};

}  // namespace

Status InitLogging(std::string_view level, std::string_view format, std::string_view module) {
  auto lvl = spdlog::level::from_str(std::string(level));
  // from_str maps anything unknown to "off"; only accept "off" when it was asked for.
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("--log-level: unknown level '" + std::string(level) +
                                   "' (use trace, debug, info, warn, error, critical or off)");
  }
  if (format != "text" && format != "json") {
    return Status::InvalidArgument("--log-format: unknown format '" + std::string(format) +
                                   "' (use text or json)");
  }
  auto logger = spdlog::get("pier");
  if (!logger) logger = spdlog::stderr_color_mt("pier");
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  if (format == "json") {
    spdlog::set_formatter(std::make_unique<JsonFormatter>(std::string(module)));
  } else {
    auto text = std::make_unique<spdlog::pattern_formatter>();
    text->add_flag<TextFields>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %*");
    spdlog::set_formatter(std::move(text));
  }
  return Status::Ok();
}

LogField::LogField(std::string_view k, double v) : key(k), number(true) {
  value = std::isfinite(v) ? fmt::format("{}", v) : "null";
}

namespace {

template <typename Fields>
void LogFields(LogLevel level, std::string_view message, const Fields& fields) {
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  const auto lvl = kLevels[static_cast<int>(level)];
  if (!spdlog::should_log(lvl)) return;
  std::string payload(message);
  for (const LogField& f : fields) {
    payload += kFieldSep;
    payload += f.key;
    payload += kValueSep;
    payload += f.number ? 'n' : 's';
    for (char c : f.value) payload += (c == kFieldSep || c == kValueSep) ? '?' : c;
  }
  spdlog::log(lvl, "{}", payload);
}

}  // namespace

void LogEvent(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  LogFields(level, message, fields);
}

void LogEvent(LogLevel level, std::string_view message, const std::vector<LogField>& fields) {
  LogFields(level, message, fields);
}

}  // namespace pier
