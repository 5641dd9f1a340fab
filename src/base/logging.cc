#include "pier/base/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace pier {
namespace {

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
    line["message"] = std::string(msg.payload.data(), msg.payload.size());
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
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
  }
  return Status::Ok();
}

}  // namespace pier
