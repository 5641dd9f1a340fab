#include "pier/net/resp_reply.h"

#include <gtest/gtest.h>

namespace pier::net {
namespace {

using R = RespReplyParser::Result;
using T = RespValue::Type;

TEST(RespReplyParser, Resp2Types) {
  RespReplyParser p;
  RespValue v;
  ASSERT_EQ(p.Parse("+OK\r\n", &v), R::kComplete);
  EXPECT_EQ(v.type, T::kSimple);
  EXPECT_EQ(v.str, "OK");
  ASSERT_EQ(p.Parse("-ERR bad\r\n", &v), R::kComplete);
  EXPECT_TRUE(v.is_error());
  ASSERT_EQ(p.Parse(":-42\r\n", &v), R::kComplete);
  EXPECT_EQ(v.integer, -42);
  ASSERT_EQ(p.Parse("$-1\r\n", &v), R::kComplete);
  EXPECT_TRUE(v.is_null());
  ASSERT_EQ(p.Parse("*2\r\n$1\r\na\r\n*1\r\n:1\r\n+rest", &v), R::kComplete);
  ASSERT_EQ(v.elements.size(), 2u);
  EXPECT_EQ(v.elements[0].str, "a");
  EXPECT_EQ(v.elements[1].elements[0].integer, 1);
  EXPECT_EQ(p.consumed(), 19u);
}

TEST(RespReplyParser, Resp3Types) {
  RespReplyParser p;
  RespValue v;
  ASSERT_EQ(p.Parse("%1\r\n$1\r\nk\r\n#t\r\n", &v), R::kComplete);
  EXPECT_EQ(v.type, T::kMap);
  EXPECT_EQ(v.elements[1].integer, 1);
  ASSERT_EQ(p.Parse("=7\r\ntxt:abc\r\n", &v), R::kComplete);
  EXPECT_EQ(v.str, "abc");
  ASSERT_EQ(p.Parse("_\r\n", &v), R::kComplete);
  EXPECT_TRUE(v.is_null());
}

TEST(RespReplyParser, IncompleteAndErrors) {
  RespReplyParser p;
  RespValue v;
  EXPECT_EQ(p.Parse("$5\r\nab", &v), R::kIncomplete);
  EXPECT_EQ(p.Parse("*3\r\n:1\r\n", &v), R::kIncomplete);
  EXPECT_EQ(p.Parse("?x\r\n", &v), R::kError);
  EXPECT_EQ(p.Parse(":12a\r\n", &v), R::kError);
  RespReplyParser small({.max_bulk_len = 4, .max_elements = 2, .max_depth = 2, .max_line = 16});
  EXPECT_EQ(small.Parse("$5\r\nhello\r\n", &v), R::kError);
  EXPECT_EQ(small.Parse("*3\r\n", &v), R::kError);
  EXPECT_EQ(small.Parse("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", &v), R::kError);
  EXPECT_EQ(small.Parse(std::string(20, '+'), &v), R::kError);
}

TEST(AppendCommand, WritesMultibulk) {
  std::string out;
  AppendCommand(&out, {"SET", "k", ""});
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

}  // namespace
}  // namespace pier::net
