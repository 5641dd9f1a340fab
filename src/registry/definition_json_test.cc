#include "registry/definition_json.h"

#include <gtest/gtest.h>

namespace pier::registry {
namespace {

using namespace std::chrono_literals;

TEST(DefinitionJsonTest, ParsesConsulsRegistrationBody) {
  auto d = ParseServiceRegistration(R"({
    "ID": "web-1", "Name": "web", "Tags": ["v1", "primary"], "Address": "127.0.0.1",
    "Port": 8080, "Meta": {"version": "1.2"}, "Weights": {"Passing": 10, "Warning": 1},
    "EnableTagOverride": false,
    "Check": {"HTTP": "http://127.0.0.1:8080/health", "Method": "HEAD", "Interval": "1s",
              "Timeout": "500ms", "Header": {"X-Probe": ["pier"]},
              "DeregisterCriticalServiceAfter": "1m30s", "SuccessBeforePassing": 2,
              "FailuresBeforeCritical": 3},
    "Checks": [{"TCP": "127.0.0.1:8080", "Interval": "10s"}, {"TTL": "15s", "Status": "passing"}]
  })");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->id, "web-1");
  EXPECT_EQ(d->tags, (std::vector<std::string>{"v1", "primary"}));
  EXPECT_EQ(d->meta.at("version"), "1.2");
  EXPECT_EQ(d->weights.passing, 10);
  ASSERT_EQ(d->checks.size(), 3u);
  const auto& http = d->checks[0];
  EXPECT_EQ(http.type, CheckType::kHttp);
  EXPECT_EQ(http.method, "HEAD");
  EXPECT_EQ(http.interval, 1s);
  EXPECT_EQ(http.timeout, 500ms);
  EXPECT_EQ(http.deregister_critical_after, 90s);
  EXPECT_EQ(http.success_before_passing, 2);
  EXPECT_EQ(http.failures_before_critical, 3);
  EXPECT_EQ(http.headers.at(0), (std::pair<std::string, std::string>{"X-Probe", "pier"}));
  EXPECT_EQ(d->checks[1].type, CheckType::kTcp);
  EXPECT_EQ(d->checks[2].type, CheckType::kTtl);
  EXPECT_EQ(d->checks[2].initial_status, HealthStatus::kPassing);
}

TEST(DefinitionJsonTest, KeysMatchInAnyCaseAndSnakeCase) {
  // python-consul sends lower-case keys.
  auto d = ParseServiceRegistration(
      R"({"name": "api", "id": "api-1", "port": 1, "check": {"ttl": "10s",
          "deregister_critical_service_after": "5m"}})");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->id, "api-1");
  EXPECT_EQ(d->checks.at(0).ttl, 10s);
  EXPECT_EQ(d->checks.at(0).deregister_critical_after, 5min);
}

TEST(DefinitionJsonTest, ErrorsNameTheField) {
  auto err = [](const char* body) { return ParseServiceRegistration(body).status().message(); };
  EXPECT_EQ(err(R"({"Name": "a", "Check": {"TTL": "10s", "Interval": "abc"}})"),
            "Request decode failed: Check.Interval: time: invalid duration \"abc\"");
  EXPECT_EQ(err(R"({"Name": "a", "Port": "80"})"),
            "Request decode failed: Port: expected an integer, got string");
  EXPECT_EQ(err(R"({"Name": "a", "Port": 70000})"),
            "Request decode failed: Port: out of range 0..65535");
  EXPECT_EQ(err(R"({"Name": "a", "Weights": {"Passing": 0}})"),
            "Request decode failed: Weights.Passing: out of range 1..1073741824");
  EXPECT_EQ(err(R"({"Name": "a", "Colour": "red"})"),
            "Request decode failed: Colour: unknown field");
  EXPECT_EQ(err(R"({"Name": "a", "Checks": [{"TTL": "1s"}, {"Interval": "1s"}]})"),
            "Invalid check: Checks[1] needs exactly one of HTTP, TCP or TTL");
  EXPECT_NE(err(R"({"Name": "a", "Check": {"Args": ["/bin/true"], "Interval": "1s"}})")
                .find("not supported"),
            std::string::npos);
  EXPECT_NE(err(R"({"Name": "a", "Check": {"HTTP": "https://x/", "Interval": "1s"}})")
                .find("https checks are not supported"),
            std::string::npos);
  EXPECT_EQ(err("{\"Name\": ").rfind("Request decode failed: ", 0), 0u);
  EXPECT_EQ(err("[1]"), "Request decode failed: body: expected an object, got array");
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_NE(err(deep.c_str()).find("nested deeper"), std::string::npos);
}

TEST(DefinitionJsonTest, MetaLimitsAreConsuls) {
  std::string body = R"({"Name": "a", "Meta": {)";
  for (int i = 0; i < 65; ++i) body += (i ? "," : "") + ("\"k" + std::to_string(i) + "\": \"v\"");
  body += "}}";
  EXPECT_NE(ParseServiceRegistration(body).status().message().find("64 key/value pairs"),
            std::string::npos);
}

TEST(DefinitionJsonTest, RoundTrips) {
  auto d = ParseServiceRegistration(R"({"ID": "w", "Name": "web", "Tags": ["a"], "Port": 9,
      "Checks": [{"HTTP": "http://h:1/x", "Interval": "1m30s", "Header": {"A": ["1", "2"]},
                  "ExpectedStatus": 204},
                 {"TCP": "h:2", "Interval": "250ms", "FailuresBeforeCritical": 2},
                 {"TTL": "10s", "CheckID": "t"},
                 {"TTL": "1h30m", "Interval": "1.5s", "Timeout": "3s", "CheckID": "u"}]})");
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto back = ServiceFromJson(ServiceToJson(*d));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, *d);
}

TEST(DefinitionJsonTest, HttpUrls) {
  auto u = ParseHttpUrl("http://127.0.0.1:8080/health?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/health?x=1");
  u = ParseHttpUrl("http://localhost");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  u = ParseHttpUrl("http://[::1]:81/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_FALSE(ParseHttpUrl("http://h:0/").ok());
  EXPECT_FALSE(ParseHttpUrl("ftp://h/").ok());
  EXPECT_FALSE(ParseHttpUrl("http:///x").ok());
}

}  // namespace
}  // namespace pier::registry
