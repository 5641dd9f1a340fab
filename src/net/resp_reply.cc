#include "pier/net/resp_reply.h"

#include <charconv>
#include <cstring>

namespace pier::net {

namespace {

bool ParseInt(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

RespReplyParser::Result RespReplyParser::Parse(std::string_view buf, RespValue* out) {
  size_t pos = 0;
  *out = RespValue{};
  Result r = ParseAt(buf, &pos, out, 0);
  consumed_ = r == Result::kComplete ? pos : 0;
  return r;
}

RespReplyParser::Result RespReplyParser::ParseAt(std::string_view buf, size_t* pos, RespValue* out,
                                                 int depth) {
  if (depth > limits_.max_depth)
    return Fail("reply nested deeper than " + std::to_string(limits_.max_depth));
  if (*pos >= buf.size()) return Result::kIncomplete;
  const char type = buf[*pos];
  const char* cr =
      static_cast<const char*>(std::memchr(buf.data() + *pos, '\r', buf.size() - *pos));
  if (cr == nullptr || static_cast<size_t>(cr - buf.data()) + 1 >= buf.size()) {
    if (buf.size() - *pos > limits_.max_line)
      return Fail("reply line longer than " + std::to_string(limits_.max_line));
    return Result::kIncomplete;
  }
  const size_t end = static_cast<size_t>(cr - buf.data());
  if (buf[end + 1] != '\n') return Fail("reply line not terminated by CRLF");
  std::string_view line = buf.substr(*pos + 1, end - *pos - 1);
  *pos = end + 2;
  int64_t n = 0;
  using T = RespValue::Type;
  switch (type) {
    case '+':
      out->type = T::kSimple;
      out->str.assign(line);
      return Result::kComplete;
    case '-':
      out->type = T::kError;
      out->str.assign(line);
      return Result::kComplete;
    case ',':
      out->type = T::kDouble;
      out->str.assign(line);
      return Result::kComplete;
    case '_':
      out->type = T::kNull;
      return Result::kComplete;
    case '#':
      if (line != "t" && line != "f") return Fail("bad boolean reply");
      out->type = T::kBool;
      out->integer = line == "t";
      return Result::kComplete;
    case ':':
      if (!ParseInt(line, &n)) return Fail("bad integer reply");
      out->type = T::kInteger;
      out->integer = n;
      return Result::kComplete;
    case '$':
    case '=':
    case '!': {
      if (!ParseInt(line, &n) || n < -1) return Fail("bad bulk length");
      if (n == -1) {
        out->type = T::kNull;
        return Result::kComplete;
      }
      if (static_cast<uint64_t>(n) > limits_.max_bulk_len)
        return Fail("bulk reply larger than the limit");
      if (buf.size() - *pos < static_cast<size_t>(n) + 2) return Result::kIncomplete;
      std::string_view body = buf.substr(*pos, static_cast<size_t>(n));
      if (type == '=' && body.size() >= 4) body.remove_prefix(4);  // "txt:"
      out->type = type == '!' ? T::kError : T::kBulk;
      out->str.assign(body);
      *pos += static_cast<size_t>(n) + 2;
      return Result::kComplete;
    }
    case '*':
    case '~':
    case '%':
    case '>': {
      if (!ParseInt(line, &n) || n < -1) return Fail("bad aggregate length");
      if (n == -1) {
        out->type = T::kNull;
        return Result::kComplete;
      }
      const uint64_t count = type == '%' ? 2 * static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
      if (count > limits_.max_elements) return Fail("reply with more elements than the limit");
      out->type = type == '%' ? T::kMap : type == '~' ? T::kSet : T::kArray;
      out->elements.reserve(std::min<uint64_t>(count, 1024));  // the length is untrusted
      for (uint64_t i = 0; i < count; ++i) {
        RespValue v;
        Result r = ParseAt(buf, pos, &v, depth + 1);
        if (r != Result::kComplete) return r;
        out->elements.push_back(std::move(v));
      }
      return Result::kComplete;
    }
    default:
      return Fail(std::string("unknown reply type '") + type + "'");
  }
}

void AppendCommand(std::string* out, const std::vector<std::string_view>& args) {
  out->append("*" + std::to_string(args.size()) + "\r\n");
  for (std::string_view a : args) {
    out->append("$" + std::to_string(a.size()) + "\r\n");
    out->append(a);
    out->append("\r\n");
  }
}

}  // namespace pier::net
