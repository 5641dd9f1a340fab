#include "pier/net/resp_parser.h"

#include <charconv>
#include <cstring>

namespace pier::net {

namespace {

// Redis's string2ll: optional '-', digits, no leading '+', no spaces, fits in int64.
bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

RespParser::Result RespParser::Parse(std::string_view buf, std::vector<std::string_view>* args) {
  consumed_ = 0;
  args->clear();
  if (remaining_ < 0 && pos_ == 0) {
    if (buf.empty()) return Result::kIncomplete;
    if (buf[0] != '*') return ParseInline(buf, args);
    // The multibulk header: *<count>\r\n
    const char* nl = static_cast<const char*>(std::memchr(buf.data(), '\r', buf.size()));
    if (nl == nullptr) {
      if (buf.size() > limits_.max_inline_len)
        return Fail("Protocol error: too big mbulk count string");
      return Result::kIncomplete;
    }
    size_t line_end = static_cast<size_t>(nl - buf.data());
    // The same error whether the line arrived whole or a byte at a time.
    if (line_end > limits_.max_inline_len) {
      return Fail("Protocol error: too big mbulk count string");
    }
    if (line_end + 1 >= buf.size()) return Result::kIncomplete;  // need the '\n'
    int64_t count = 0;
    if (!ParseInt(buf.substr(1, line_end - 1), &count) ||
        count > static_cast<int64_t>(limits_.max_args)) {
      return Fail("Protocol error: invalid multibulk length");
    }
    if (!authenticated_ && count > static_cast<int64_t>(limits_.unauthenticated_max_args)) {
      return Fail("Protocol error: unauthenticated multibulk length");
    }
    pos_ = line_end + 2;
    if (count <= 0) {  // "*0" and "*-1" are empty requests, skipped as Redis does
      consumed_ = pos_;
      Reset();
      return Result::kComplete;
    }
    remaining_ = count;
    offsets_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
  }
  while (remaining_ > 0) {
    // $<len>\r\n<bytes>\r\n
    if (pos_ >= buf.size()) return Result::kIncomplete;
    if (buf[pos_] != '$') {
      return Fail(std::string("Protocol error: expected '$', got '") + buf[pos_] + "'");
    }
    const char* nl =
        static_cast<const char*>(std::memchr(buf.data() + pos_, '\r', buf.size() - pos_));
    if (nl == nullptr) {
      if (buf.size() - pos_ > limits_.max_inline_len)
        return Fail("Protocol error: too big bulk count string");
      return Result::kIncomplete;
    }
    size_t line_end = static_cast<size_t>(nl - buf.data());
    if (line_end - pos_ > limits_.max_inline_len) {
      return Fail("Protocol error: too big bulk count string");
    }
    if (line_end + 1 >= buf.size()) return Result::kIncomplete;
    int64_t len = 0;
    if (!ParseInt(buf.substr(pos_ + 1, line_end - pos_ - 1), &len) || len < 0 ||
        static_cast<uint64_t>(len) > limits_.max_bulk_len) {
      return Fail("Protocol error: invalid bulk length");
    }
    if (!authenticated_ && static_cast<uint64_t>(len) > limits_.unauthenticated_max_bulk_len) {
      return Fail("Protocol error: unauthenticated bulk length");
    }
    size_t start = line_end + 2;
    size_t end = start + static_cast<size_t>(len);
    if (end + 2 > buf.size()) {
      wanted_ = end + 2 - buf.size();
      return Result::kIncomplete;  // resume at this argument's header next time
    }
    // Redis does not check the CRLF after the payload; it skips two bytes. So do we.
    offsets_.emplace_back(start, static_cast<size_t>(len));
    pos_ = end + 2;
    --remaining_;
    wanted_ = 0;
  }
  for (const auto& [off, len] : offsets_) args->emplace_back(buf.data() + off, len);
  consumed_ = pos_;
  Reset();
  return Result::kComplete;
}

RespParser::Result RespParser::ParseInline(std::string_view buf,
                                           std::vector<std::string_view>* args) {
  const char* nl = static_cast<const char*>(std::memchr(buf.data(), '\n', buf.size()));
  if (nl == nullptr) {
    if (buf.size() > limits_.max_inline_len) return Fail("Protocol error: too big inline request");
    return Result::kIncomplete;
  }
  size_t line_end = static_cast<size_t>(nl - buf.data());
  if (line_end > limits_.max_inline_len) return Fail("Protocol error: too big inline request");
  std::string_view line = buf.substr(0, line_end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // Split like Redis's sdssplitargs: blanks separate, "double" and 'single' quotes group.
  // Arguments stay views into the buffer, so backslash escapes inside double quotes (which
  // would need a rewritten copy) are answered with Redis's unbalanced-quotes error; this is the
  // one documented difference from Redis's inline syntax (docs/cache-server.md).
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) break;
    if (line[i] == '"' || line[i] == '\'') {
      char q = line[i++];
      size_t start = i;
      while (i < line.size() && line[i] != q) {
        if (line[i] == '\\' && q == '"')
          return Fail("Protocol error: unbalanced quotes in request");
        ++i;
      }
      if (i == line.size()) return Fail("Protocol error: unbalanced quotes in request");
      args->emplace_back(line.data() + start, i - start);
      ++i;
      if (i < line.size() && line[i] != ' ' && line[i] != '\t') {
        return Fail("Protocol error: unbalanced quotes in request");
      }
    } else {
      size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      args->emplace_back(line.data() + start, i - start);
    }
    if (args->size() > limits_.max_args) return Fail("Protocol error: invalid multibulk length");
  }
  consumed_ = line_end + 1;
  return Result::kComplete;
}

bool ParseRespInt(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s[0] == '+' || (s.size() > 1 && s[0] == '0') ||
      (s.size() > 2 && s[0] == '-' && s[1] == '0')) {
    return false;  // Redis rejects leading '+' and zeros
  }
  if (s == "-0" || s == "-") return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace pier::net
