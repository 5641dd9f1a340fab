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

std::string LineOf(const AccessRecord& r, const std::string& spec) {
  auto f = LineFormat::Parse(spec);
  EXPECT_TRUE(f.ok()) << f.status().message();
  return f.ok() ? f->Line(r) : "";
}

TEST(AccessLogTest, JsonLineIsValidWhateverBytesTheClientSent) {
  const std::string line = LineOf(Sample(), "json");
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
  EXPECT_EQ(LineOf(Sample(), "combined"),
            "10.0.0.7 - - [07/Dec/2026:15:14:56 +0000] \"GET /a?\\\"q\\\"=\\x01\\xff HTTP/1.1\" "
            "502 99 \"-\" \"curl/7.88\"\n");
}

TEST(AccessLogTest, WritesEveryLineAndReopensAfterARename) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("pier-access-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "a.log").string();
  {
    auto log = AccessLog::Open(path, *LineFormat::Parse("combined"));
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
  auto bad = AccessLog::Open("/nonexistent-dir/a.log", *LineFormat::Parse("json"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "access_log: cannot open '/nonexistent-dir/a.log': No such file or directory");
}

TEST(AccessLogTest, ConfigNamesTheBadField) {
  // The error for a listener whose access_log (line 3 of the file) is `log`.
  auto error_for = [](const std::string& log) {
    auto c = ParseProxyConfig("listeners:\n  - listen: 127.0.0.1:0\n    access_log: " + log +
                                  "\n    routes: [{cluster: a}]\nclusters:\n  a: {endpoints: "
                                  "[\"127.0.0.1:1\"]}\n",
                              "p.yaml");
    EXPECT_FALSE(c.ok());
    const std::string m = c.ok() ? "" : c.status().message();
    EXPECT_EQ(m.find("p.yaml:3:"), 0u) << m;
    return m;
  };
  EXPECT_NE(error_for("{path: /tmp/x.log, format: xml}")
                .find("use json, combined, or a template with $fields, got 'xml'"),
            std::string::npos);
  EXPECT_NE(error_for("{path: /tmp/x.log, sample: 1.5}").find("above 0 and at most 1"),
            std::string::npos);
}

TEST(AccessLogTest, TemplateWritesTheNamedFields) {
  AccessRecord r = Sample();
  r.upstream_response_us = 1234;
  EXPECT_EQ(LineOf(r,
                   "$client ${method}:$path $status $duration_ms ms $upstream_connect_ms "
                   "$upstream_response_ms $$ $route [$time]"),
            "10.0.0.7:5123 GET:/a?\\\"q\\\"=\\x01\\xff 502 1.500 ms - 1.234 $ - "
            "[2026-12-07T15:14:56.123Z]\n");
  auto bad = LineFormat::Parse("$client $stauts");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind(
                "template column 9: unknown field '$stauts' (fields: time, client, method", 0),
            0u)
      << bad.status().message();
  EXPECT_FALSE(LineFormat::Parse("${client").ok());
  EXPECT_FALSE(LineFormat::Parse("cost $").ok());
  EXPECT_FALSE(LineFormat::Parse(std::string(LineFormat::kMaxSpec + 1, '$')).ok());
}

TEST(AccessLogTest, FilterKeepsErrorsAndSlowRequestsAndSamplesTheRest) {
  AccessRecord ok = Sample();
  ok.status = 200;
  ok.error.clear();
  ok.duration_us = 1000;
  AccessRecord slow = ok;
  slow.duration_us = 300000;
  AccessRecord retried = ok;
  retried.retries = 1;
  const AccessFilter all;
  EXPECT_TRUE(all.Keep(ok, 0.99));
  const AccessFilter errors{.errors_only = true};
  EXPECT_FALSE(errors.Keep(ok, 0));
  EXPECT_FALSE(errors.Keep(slow, 0));
  EXPECT_TRUE(errors.Keep(Sample(), 0.99));  // a 502
  EXPECT_TRUE(errors.Keep(retried, 0.99));
  const AccessFilter errors_or_slow{.errors_only = true, .slower_than_us = 250000};
  EXPECT_TRUE(errors_or_slow.Keep(slow, 0));
  EXPECT_FALSE(errors_or_slow.Keep(ok, 0));
  const AccessFilter sampled{.sample = 0.25};
  EXPECT_TRUE(sampled.Keep(ok, 0.2));
  EXPECT_FALSE(sampled.Keep(ok, 0.3));
  EXPECT_TRUE(sampled.Keep(Sample(), 0.99));  // errors are never sampled away
}

}  // namespace
}  // namespace pier::proxy
