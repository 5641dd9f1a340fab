#include "pier/net/resp_parser.h"

#include <gtest/gtest.h>

#include "pier/net/resp_writer.h"

namespace pier::net {
namespace {

using R = RespParser::Result;

std::vector<std::string> Args(const std::vector<std::string_view>& v) {
  return {v.begin(), v.end()};
}

TEST(RespParser, MultibulkInOneGo) {
  RespParser p;
  std::vector<std::string_view> args;
  std::string buf = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n";
  ASSERT_EQ(p.Parse(buf, &args), R::kComplete);
  EXPECT_EQ(Args(args), (std::vector<std::string>{"GET", "k"}));
  size_t used = p.consumed();
  ASSERT_EQ(p.Parse(std::string_view(buf).substr(used), &args), R::kComplete);
  EXPECT_EQ(Args(args), (std::vector<std::string>{"PING"}));
}

TEST(RespParser, ByteByByteResumesWhereItStopped) {
  std::string req = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n";
  RespParser p;
  std::vector<std::string_view> args;
  for (size_t n = 1; n < req.size(); ++n) {
    ASSERT_EQ(p.Parse(std::string_view(req).substr(0, n), &args), R::kIncomplete) << n;
  }
  ASSERT_EQ(p.Parse(req, &args), R::kComplete);
  EXPECT_EQ(Args(args), (std::vector<std::string>{"SET", "k", "0123456789"}));
  EXPECT_EQ(p.consumed(), req.size());
}

TEST(RespParser, BeforeAuthOnlySmallRequests) {
  RespParser p;
  p.set_authenticated(false);
  std::vector<std::string_view> args;
  // A 512 MB bulk declared in 20 bytes is refused at its header, before any payload.
  EXPECT_EQ(p.Parse("*1\r\n$536870000\r\n", &args), R::kError);
  EXPECT_EQ(p.error(), "Protocol error: unauthenticated bulk length");
  RespParser q;
  q.set_authenticated(false);
  EXPECT_EQ(q.Parse("*11\r\n", &args), R::kError);
  EXPECT_EQ(q.error(), "Protocol error: unauthenticated multibulk length");
  RespParser ok;
  ok.set_authenticated(false);
  EXPECT_EQ(ok.Parse("*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", &args), R::kComplete);
  // Authenticated, the same header is only as large as proto-max-bulk-len allows; the parser
  // asks for the bytes it still needs and holds none of them.
  RespParser after;
  EXPECT_EQ(after.Parse("*1\r\n$536870000\r\n", &args), R::kIncomplete);
  EXPECT_EQ(after.wanted(), 536870002u);
}

TEST(RespParser, BinarySafeAndEmptyArgs) {
  std::string req = std::string("*2\r\n$0\r\n\r\n$3\r\na\0b\r\n", 20);
  RespParser p;
  std::vector<std::string_view> args;
  ASSERT_EQ(p.Parse(req, &args), R::kComplete);
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0], "");
  EXPECT_EQ(args[1], std::string_view("a\0b", 3));
}

TEST(RespParser, InlineCommands) {
  RespParser p;
  std::vector<std::string_view> args;
  ASSERT_EQ(p.Parse("SET  k \"hello world\"\r\n", &args), R::kComplete);
  EXPECT_EQ(Args(args), (std::vector<std::string>{"SET", "k", "hello world"}));
  ASSERT_EQ(p.Parse("PING\n", &args), R::kComplete);
  EXPECT_EQ(Args(args), (std::vector<std::string>{"PING"}));
  ASSERT_EQ(p.Parse("\r\n", &args), R::kComplete);
  EXPECT_TRUE(args.empty());
  EXPECT_EQ(p.Parse("GET k", &args), R::kIncomplete);
}

TEST(RespParser, RedisProtocolErrors) {
  struct Case {
    std::string in;
    std::string error;
  } cases[] = {
      {"*x\r\n", "Protocol error: invalid multibulk length"},
      {"*2000000\r\n", "Protocol error: invalid multibulk length"},
      {"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"},
      {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$600000000\r\n", "Protocol error: invalid bulk length"},
      {"SET k \"unterminated\r\n", "Protocol error: unbalanced quotes in request"},
      {std::string(70000, 'a'), "Protocol error: too big inline request"},
      {"*" + std::string(70000, '1'), "Protocol error: too big mbulk count string"},
      {"*1\r\n$" + std::string(70000, '1'), "Protocol error: too big bulk count string"},
  };
  for (const auto& c : cases) {
    RespParser p;
    std::vector<std::string_view> args;
    ASSERT_EQ(p.Parse(c.in, &args), R::kError) << c.in.substr(0, 40);
    EXPECT_EQ(p.error(), c.error);
  }
}

TEST(RespParser, EmptyMultibulkIsSkipped) {
  RespParser p;
  std::vector<std::string_view> args;
  ASSERT_EQ(p.Parse("*0\r\n", &args), R::kComplete);
  EXPECT_TRUE(args.empty());
  EXPECT_EQ(p.consumed(), 4u);
}

TEST(RespParser, WantedSizesTheBufferForBigArguments) {
  RespParser p;
  std::vector<std::string_view> args;
  EXPECT_EQ(p.Parse("*1\r\n$1000\r\nabc", &args), R::kIncomplete);
  EXPECT_EQ(p.wanted(), 1000u - 3u + 2u);
}

TEST(RespWriter, Resp2AndResp3Forms) {
  std::string out;
  RespWriter w2(&out, 2);
  w2.Null();
  w2.MapHeader(1);
  w2.Double(1.5);
  w2.Bool(true);
  w2.Error("ERR bad\r\nthing");
  EXPECT_EQ(out, "$-1\r\n*2\r\n$3\r\n1.5\r\n:1\r\n-ERR bad  thing\r\n");
  out.clear();
  RespWriter w3(&out, 3);
  w3.Null();
  w3.MapHeader(1);
  w3.Double(1.5);
  w3.Bool(false);
  w3.SetHeader(2);
  w3.Verbatim("x");
  EXPECT_EQ(out, "_\r\n%1\r\n,1.5\r\n#f\r\n~2\r\n=5\r\ntxt:x\r\n");
}

}  // namespace
}  // namespace pier::net
