#include "pier/net/tracer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pier::net {
namespace {

TEST(TraceParentTest, AcceptsWhatW3CAcceptsOnly) {
  TraceParent tp;
  ASSERT_TRUE(TraceParent::Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &tp));
  EXPECT_EQ(tp.trace(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(tp.parent(), "00f067aa0ba902b7");
  EXPECT_TRUE(tp.sampled());
  EXPECT_EQ(tp.Header(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  // A later version may carry more after the flags, after a '-'.
  EXPECT_TRUE(TraceParent::Parse(
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes", &tp));
  EXPECT_FALSE(tp.sampled());
  for (const char* bad :
       {"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00 is 55 long
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",        // uppercase
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",        // zero trace
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",        // zero parent
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // version ff
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01"}) {
    EXPECT_FALSE(TraceParent::Parse(bad, &tp)) << bad;
  }
}

TEST(TracerTest, OtlpJsonIsTheProtocolsJsonEncoding) {
  Span s;
  s.trace_id = Tracer::NewTraceId();
  s.span_id = Tracer::NewSpanId();
  s.name = "GET /";
  s.kind = Span::Kind::kClient;
  s.start_unix_ns = 1796656496123000000;
  s.end_unix_ns = s.start_unix_ns + 1500;
  s.strings = {{"net.peer.name", "127.0.0.1:1"}};
  s.ints = {{"http.status_code", 503}};
  s.error = true;
  s.status_message = "answered \"503\"\x01";  // escaped, and the JSON still parses
  const auto j = nlohmann::json::parse(Tracer::OtlpJson({s}, "pier-proxy"));
  const auto& rs = j["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0]["value"]["stringValue"], "pier-proxy");
  const auto& span = rs["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["traceId"].get<std::string>().size(), 32u);
  EXPECT_EQ(span["spanId"].get<std::string>().size(), 16u);
  EXPECT_FALSE(span.contains("parentSpanId"));  // a root span
  EXPECT_EQ(span["kind"], 3);
  EXPECT_EQ(span["startTimeUnixNano"], "1796656496123000000");  // 64-bit integers as strings
  EXPECT_EQ(span["attributes"][1]["value"]["intValue"], "503");
  EXPECT_EQ(span["status"]["code"], 2);
  EXPECT_EQ(span["status"]["message"], "answered \"503\"\x01");
  EXPECT_NE(Tracer::NewSpanId(), Tracer::NewSpanId());
}

TEST(TracerTest, EndpointMustBeAnHttpOrHttpsUrl) {
  auto bad = Tracer::Create("grpc://collector:4317", "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--otlp-endpoint: give http[s]://HOST:PORT[/PATH]"),
            std::string::npos);
  EXPECT_FALSE(Tracer::Create("http://nohost", "x").ok());
  EXPECT_TRUE(Tracer::Create("http://127.0.0.1:4318/prefix/", "x").ok());
  EXPECT_TRUE(Tracer::Create("https://127.0.0.1:4318", "x").ok());
}

}  // namespace
}  // namespace pier::net
