#include "pier/base/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace pier {

Status InitLogging(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  // from_str maps anything unknown to "off"; only accept "off" when it was asked for.
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("--log-level: unknown level '" + std::string(level) +
                                   "' (use trace, debug, info, warn, error, critical or off)");
  }
  auto logger = spdlog::get("pier");
  if (!logger) logger = spdlog::stderr_color_mt("pier");
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
  return Status::Ok();
}

}  // namespace pier
