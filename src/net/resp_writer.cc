#include "pier/net/resp_writer.h"

#include <charconv>
#include <cmath>

namespace pier::net {

void RespWriter::Header(char type, int64_t n) {
  char buf[24];
  buf[0] = type;
  auto [p, ec] = std::to_chars(buf + 1, buf + sizeof buf - 2, n);
  *p++ = '\r';
  *p++ = '\n';
  out_->append(buf, static_cast<size_t>(p - buf));
}

void RespWriter::Simple(std::string_view s) {
  out_->push_back('+');
  // A status line cannot hold CR/LF either (a script's {ok=...} can): spaces, as Redis.
  if (s.find_first_of("\r\n") == std::string_view::npos) {
    out_->append(s);
  } else {
    for (char c : s) out_->push_back(c == '\r' || c == '\n' ? ' ' : c);
  }
  out_->append("\r\n", 2);
}

void RespWriter::Error(std::string_view msg) {
  out_->push_back('-');
  // An error line cannot hold CR/LF; Redis replaces them with spaces.
  for (char c : msg) out_->push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_->append("\r\n", 2);
}

void RespWriter::Integer(int64_t v) { Header(':', v); }

void RespWriter::Bulk(std::string_view s) {
  Header('$', static_cast<int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n", 2);
}

void RespWriter::Null() {
  if (protocol_ >= 3)
    out_->append("_\r\n", 3);
  else
    out_->append("$-1\r\n", 5);
}

void RespWriter::NullArray() {
  if (protocol_ >= 3)
    out_->append("_\r\n", 3);
  else
    out_->append("*-1\r\n", 5);
}

void RespWriter::ArrayHeader(int64_t n) { Header('*', n); }
void RespWriter::MapHeader(int64_t pairs) {
  if (protocol_ >= 3)
    Header('%', pairs);
  else
    Header('*', 2 * pairs);
}
void RespWriter::SetHeader(int64_t n) { Header(protocol_ >= 3 ? '~' : '*', n); }

void RespWriter::Lines(std::initializer_list<std::string_view> lines) {
  ArrayHeader(static_cast<int64_t>(lines.size()));
  for (std::string_view l : lines) Simple(l);
}

void RespWriter::PushHeader(int64_t n) { Header(protocol_ == 3 ? '>' : '*', n); }

void RespWriter::BigNumber(std::string_view s) {
  if (protocol_ < 3) return Bulk(s);
  out_->push_back('(');
  out_->append(s);
  out_->append("\r\n");
}

void RespWriter::Double(double v) {
  // Redis prints doubles with %.17g, and inf/-inf/nan by name.
  char buf[64];
  int n;
  if (std::isinf(v)) {
    n = std::snprintf(buf, sizeof buf, "%s", v > 0 ? "inf" : "-inf");
  } else if (std::isnan(v)) {
    n = std::snprintf(buf, sizeof buf, "nan");
  } else {
    n = std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  if (protocol_ >= 3) {
    out_->push_back(',');
    out_->append(buf, static_cast<size_t>(n));
    out_->append("\r\n", 2);
  } else {
    Bulk(std::string_view(buf, static_cast<size_t>(n)));
  }
}

void RespWriter::Bool(bool v) {
  if (protocol_ >= 3)
    out_->append(v ? "#t\r\n" : "#f\r\n", 4);
  else
    Integer(v ? 1 : 0);
}

void RespWriter::Verbatim(std::string_view s) {
  if (protocol_ >= 3) {
    Header('=', static_cast<int64_t>(s.size() + 4));
    out_->append("txt:", 4);
    out_->append(s);
    out_->append("\r\n", 2);
  } else {
    Bulk(s);
  }
}

}  // namespace pier::net
