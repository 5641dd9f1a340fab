// File: resp_reply.h
// RespValue and RespReplyParser: a client's view of Redis replies (RESP2 and RESP3), with
// limits on sizes, element counts and nesting.
//   RespReplyParser p;  RespValue v;
//   if (p.Parse(buf, &v) == RespReplyParser::Result::kComplete) buf.erase(0, p.consumed());
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pier::net {

struct RespValue {
  enum class Type { kSimple, kError, kInteger, kBulk, kNull, kArray, kMap, kSet, kDouble, kBool };
  Type type = Type::kNull;
  std::string str;      // simple, error, bulk, double (as text), verbatim (without "txt:")
  int64_t integer = 0;  // integer, bool (0/1)
  std::vector<RespValue> elements;  // array, set; map as key, value, key, value...

  bool is_error() const { return type == Type::kError; }
  bool is_null() const { return type == Type::kNull; }
  static RespValue Error(std::string msg) { return {Type::kError, std::move(msg), 0, {}}; }
};

struct RespReplyLimits {
  size_t max_bulk_len = 512 * 1024 * 1024;
  size_t max_elements = 16 * 1024 * 1024;  // per aggregate
  int max_depth = 32;
  size_t max_line = 64 * 1024;
};

// Not thread-safe. Parses one reply from the front of a buffer; re-parses from the start when
// called again after kIncomplete (replies are read whole by a blocking client).
class RespReplyParser {
 public:
  enum class Result { kComplete, kIncomplete, kError };
  explicit RespReplyParser(RespReplyLimits limits = {}) : limits_(limits) {}

  Result Parse(std::string_view buf, RespValue* out);
  size_t consumed() const { return consumed_; }
  const std::string& error() const { return error_; }

 private:
  Result ParseAt(std::string_view buf, size_t* pos, RespValue* out, int depth);
  Result Fail(std::string msg) {
    error_ = std::move(msg);
    return Result::kError;
  }
  RespReplyLimits limits_;
  size_t consumed_ = 0;
  std::string error_;
};

// Appends a command as a RESP multibulk request.
void AppendCommand(std::string* out, const std::vector<std::string_view>& args);

}  // namespace pier::net
