#include "pier/base/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace pier {
namespace {

TEST(LoggingTest, EventFieldsAreJsonKeysOrLogfmtPairs) {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "pier", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  spdlog::register_logger(logger);  // InitLogging takes the logger named pier
  ASSERT_TRUE(InitLogging("info", "json", "registry").ok());
  LogEvent(LogLevel::kWarn, "slow HTTP request",
           {{"method", "GET"}, {"path", "/a b\x1f"}, {"status", 200}, {"ms", 612.5}});
  LogEvent(LogLevel::kDebug, "not shown", {{"x", 1}});
  const auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["message"], "slow HTTP request");
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["module"], "registry");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/a b?");  // the separator byte cannot be smuggled in
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["ms"], 612.5);

  out.str("");
  ASSERT_TRUE(InitLogging("info", "text").ok());
  LogEvent(LogLevel::kInfo, "pier cache ready",
           {{"resp", "127.0.0.1:7379"}, {"note", "say \"hi\""}, {"empty", ""}, {"n", -3}});
  spdlog::info("plain {}", 1);
  const std::string text = out.str();
  EXPECT_NE(text.find(" info ["), std::string::npos) << text;
  EXPECT_NE(text.find("] pier cache ready resp=127.0.0.1:7379 note=\"say \\\"hi\\\"\" empty=\"\" "
                      "n=-3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("] plain 1\n"), std::string::npos) << text;
  spdlog::drop("pier");
}

}  // namespace
}  // namespace pier
