#include "proxy/access_line.h"

#include <fmt/format.h>

#include <ctime>
#include <iterator>

#include "pier/base/strings.h"

namespace pier::proxy {
namespace {

// The fields, in the JSON line's order; a template names them the same way.
enum Field {
  kTime,
  kClient,
  kMethod,
  kAuthority,
  kPath,
  kProtocol,
  kStatus,
  kBytesIn,
  kBytesOut,
  kDurationMs,
  kListener,
  kRoute,
  kCluster,
  kUpstream,
  kUpstreamConnectMs,
  kUpstreamResponseMs,
  kRetries,
  kTraceId,
  kError,
  kUserAgent,
  kReferer,
  kFieldCount
};
constexpr std::string_view kNames[kFieldCount] = {"time",
                                                  "client",
                                                  "method",
                                                  "authority",
                                                  "path",
                                                  "protocol",
                                                  "status",
                                                  "bytes_in",
                                                  "bytes_out",
                                                  "duration_ms",
                                                  "listener",
                                                  "route",
                                                  "cluster",
                                                  "upstream",
                                                  "upstream_connect_ms",
                                                  "upstream_response_ms",
                                                  "retries",
                                                  "trace_id",
                                                  "error",
                                                  "user_agent",
                                                  "referer"};

// A text field of a text format: "-" when empty; quotes and backslashes escaped with a
// backslash, bytes that are not printable ASCII as \xhh.
void AppendText(std::string& out, std::string_view s) {
  if (s.empty()) return out.push_back('-');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

// "2026-12-07T15:14:56.123Z": the seconds part is formatted once per second per thread.
void AppendRfc3339(std::string& out, int64_t unix_ms) {
  thread_local int64_t cached_secs = -1;
  thread_local char cached[24];
  const int64_t secs = unix_ms / 1000;
  if (secs != cached_secs) {
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
    cached_secs = secs;
  }
  fmt::format_to(std::back_inserter(out), "{}.{:03}Z", cached, unix_ms % 1000);
}

std::string ClfTime(int64_t unix_ms) {  // [10/Oct/2000:13:55:36 +0000]
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof(buf), "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
  return std::string(buf, n);
}

std::string_view TextOf(int field, const AccessRecord& r) {
  switch (field) {
    case kClient:
      return r.client;
    case kMethod:
      return r.method;
    case kAuthority:
      return r.authority;
    case kPath:
      return r.target;
    case kListener:
      return r.listener;
    case kRoute:
      return r.route;
    case kCluster:
      return r.cluster;
    case kUpstream:
      return r.upstream;
    case kTraceId:
      return r.trace_id;
    case kError:
      return r.error;
    case kUserAgent:
      return r.user_agent;
    case kReferer:
      return r.referer;
    default:
      return {};
  }
}

// One field's value: JSON (strings quoted, a missing time null) or text (as AppendText, "-").
void AppendValue(std::string& out, int field, const AccessRecord& r, bool json) {
  auto number = [&out](int64_t v) { fmt::format_to(std::back_inserter(out), "{}", v); };
  auto millis = [&out, json](int64_t us) {
    if (us < 0) return void(out += json ? "null" : "-");
    fmt::format_to(std::back_inserter(out), "{}.{:03}", us / 1000, us % 1000);
  };
  switch (field) {
    case kTime:
      if (json) out.push_back('"');
      AppendRfc3339(out, r.start_unix_ms);
      if (json) out.push_back('"');
      return;
    case kProtocol:
      if (json) out.push_back('"');
      fmt::format_to(std::back_inserter(out), "HTTP/1.{}", r.http_minor);
      if (json) out.push_back('"');
      return;
    case kStatus:
      return number(r.status);
    case kBytesIn:
      return number(static_cast<int64_t>(r.bytes_in));
    case kBytesOut:
      return number(static_cast<int64_t>(r.bytes_out));
    case kRetries:
      return number(r.retries);
    case kDurationMs:
      return millis(r.duration_us);
    case kUpstreamConnectMs:
      return millis(r.upstream_connect_us);
    case kUpstreamResponseMs:
      return millis(r.upstream_response_us);
    default:
      if (json) return AppendJsonString(out, TextOf(field, r));
      return AppendText(out, TextOf(field, r));
  }
}

std::string CombinedLine(const AccessRecord& r) {
  std::string out;
  out.reserve(200 + r.target.size());
  const size_t colon = r.client.rfind(':');
  AppendText(out, colon == std::string::npos ? r.client : r.client.substr(0, colon));
  out += " - - " + ClfTime(r.start_unix_ms) + " \"";
  AppendText(out, r.method);
  out.push_back(' ');
  AppendText(out, r.target);
  out += fmt::format(" HTTP/1.{}\" {} {} \"", r.http_minor, r.status, r.bytes_out);
  AppendText(out, r.referer);
  out += "\" \"";
  AppendText(out, r.user_agent);
  out += "\"\n";
  return out;
}

bool IsNameChar(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

}  // namespace

Result<LineFormat> LineFormat::Parse(const std::string& spec) {
  LineFormat f;
  f.spec_ = spec;
  if (spec == "json") return f;
  if (spec == "combined") {
    f.kind_ = Kind::kCombined;
    return f;
  }
  if (spec.size() > kMaxSpec) {
    return Status::InvalidArgument("the template is longer than " + std::to_string(kMaxSpec) +
                                   " bytes");
  }
  if (spec.find('$') == std::string::npos) {
    return Status::InvalidArgument("use json, combined, or a template with $fields, got '" + spec +
                                   "'");
  }
  f.kind_ = Kind::kTemplate;
  Piece piece;
  for (size_t i = 0; i < spec.size();) {
    if (spec[i] != '$') {
      piece.literal.push_back(spec[i++]);
      continue;
    }
    if (i + 1 < spec.size() && spec[i + 1] == '$') {
      piece.literal.push_back('$');
      i += 2;
      continue;
    }
    const bool braced = i + 1 < spec.size() && spec[i + 1] == '{';
    size_t begin = i + (braced ? 2 : 1), end = begin;
    while (end < spec.size() && IsNameChar(spec[end])) ++end;
    const std::string name = spec.substr(begin, end - begin);
    if (braced && (end >= spec.size() || spec[end] != '}')) {
      return Status::InvalidArgument("template column " + std::to_string(i + 1) + ": '${" + name +
                                     "' has no closing }");
    }
    if (name.empty()) {
      return Status::InvalidArgument("template column " + std::to_string(i + 1) +
                                     ": '$' names no field (write $$ for a dollar sign)");
    }
    int field = -1;
    for (int k = 0; k < kFieldCount; ++k) {
      if (kNames[k] == name) field = k;
    }
    if (field < 0) {
      std::string known;
      for (auto n : kNames) known += (known.empty() ? "" : ", ") + std::string(n);
      return Status::InvalidArgument("template column " + std::to_string(i + 1) +
                                     ": unknown field '$" + name + "' (fields: " + known + ")");
    }
    piece.field = field;
    f.pieces_.push_back(std::move(piece));
    piece = Piece{};
    i = end + (braced ? 1 : 0);
  }
  piece.literal.push_back('\n');
  f.pieces_.push_back(std::move(piece));
  return f;
}

std::string LineFormat::Line(const AccessRecord& r) const {
  if (kind_ == Kind::kCombined) return CombinedLine(r);
  std::string out;
  out.reserve(320 + r.target.size());
  if (kind_ == Kind::kTemplate) {
    for (const Piece& p : pieces_) {
      out += p.literal;
      if (p.field >= 0) AppendValue(out, p.field, r, false);
    }
    return out;
  }
  for (int k = 0; k < kFieldCount; ++k) {
    out += k == 0 ? "{\"" : ",\"";
    out += kNames[k];
    out += "\":";
    AppendValue(out, k, r, true);
  }
  out += "}\n";
  return out;
}

bool AccessFilter::IsError(const AccessRecord& r) {
  return r.status >= 500 || !r.error.empty() || r.retries > 0;
}

bool AccessFilter::Keep(const AccessRecord& r, double uniform01) const {
  if (IsError(r)) return true;
  if (errors_only || slower_than_us > 0) {
    if (slower_than_us == 0 || r.duration_us < slower_than_us) return false;
  }
  return sample >= 1.0 || uniform01 < sample;
}

}  // namespace pier::proxy
