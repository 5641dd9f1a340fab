#include "proxy/access_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "pier/proxy/config.h"

namespace pier::proxy {
namespace {

AccessRecord Sample() {
  AccessRecord r;
  r.start_unix_ms = 1796656496123;  // 2026-12-07T15:14:56.123Z
  r.client = "10.0.0.7:5123";
  r.method = "GET";
  r.target = "/a?\"q\"=\x01\xff";
  r.authority = "example.com";
  r.status = 502;
  r.bytes_out = 99;
  r.duration_us = 1500;
  r.user_agent = "curl/7.88";
  r.error = "upstream 127.0.0.1:1 (cluster 'x') failed";
  return r;
}

TEST(AccessLogTest, JsonLineIsValidWhateverBytesTheClientSent) {
  const std::string line = AccessLog::FormatLine(Sample(), AccessLog::Format::kJson);
  ASSERT_EQ(line.back(), '\n');
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2026-12-07T15:14:56.123Z");
  EXPECT_EQ(j["path"], "/a?\"q\"=\x01\xc3\xbf");  // 0xff as \u00ff
  EXPECT_EQ(j["status"], 502);
  EXPECT_EQ(j["duration_ms"], 1.5);
  EXPECT_TRUE(j["upstream_connect_ms"].is_null());  // no upstream was reached
  EXPECT_EQ(j["error"], "upstream 127.0.0.1:1 (cluster 'x') failed");
}

TEST(AccessLogTest, CombinedLineEscapesAsApache) {
  EXPECT_EQ(AccessLog::FormatLine(Sample(), AccessLog::Format::kCombined),
            "10.0.0.7 - - [07/Dec/2026:15:14:56 +0000] \"GET /a?\\\"q\\\"=\\x01\\xff HTTP/1.1\" "
            "502 99 \"-\" \"curl/7.88\"\n");
}

TEST(AccessLogTest, WritesEveryLineAndReopensAfterARename) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pier-access-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "a.log").string();
  {
    auto log = AccessLog::Open(path, AccessLog::Format::kCombined);
    ASSERT_TRUE(log.ok()) << log.status().message();
    for (int i = 0; i < 1000; ++i) (*log)->Write(Sample());
    std::filesystem::rename(path, path + ".1");
    (*log)->Reopen();
    for (int i = 0; i < 10; ++i) (*log)->Write(Sample());
  }  // the destructor writes what is buffered
  auto lines = [](const std::string& p) {
    std::ifstream in(p);
    size_t n = 0;
    for (std::string l; std::getline(in, l);) ++n;
    return n;
  };
  EXPECT_EQ(lines(path) + lines(path + ".1"), 1010u);
  EXPECT_TRUE(std::filesystem::exists(path));
  std::filesystem::remove_all(dir);
  auto bad = AccessLog::Open("/nonexistent-dir/a.log", AccessLog::Format::kJson);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "access_log: cannot open '/nonexistent-dir/a.log': No such file or directory");
}

TEST(AccessLogTest, ConfigNamesTheBadField) {
  auto c = ParseProxyConfig(R"(listeners:
  - listen: 127.0.0.1:0
    access_log: {path: /tmp/x.log, format: xml}
    routes: [{cluster: a}]
clusters:
  a: {endpoints: ["127.0.0.1:1"]}
)",
                            "p.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("p.yaml:3:"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("use json or combined, got 'xml'"), std::string::npos);
}

}  // namespace
}  // namespace pier::proxy
