#include "proxy/http_head.h"

#include <charconv>
#include <cstring>

namespace pier::proxy {

namespace {

// RFC 9110 token characters.
bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTchar(c)) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(token) for each comma-separated element of a list header.
template <typename Fn>
void ForEachListItem(std::string_view v, Fn fn) {
  while (!v.empty()) {
    const size_t comma = v.find(',');
    std::string_view item = Trim(v.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

std::string Where(size_t line) { return "line " + std::to_string(line) + ": "; }

// Parses "HTTP/1.x"; false otherwise.
bool ParseVersion(std::string_view v, int* minor) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1." || v[7] < '0' || v[7] > '9') return false;
  *minor = v[7] - '0';
  return true;
}

// Finds the head's end; kComplete sets *size.
HeadParse FindEnd(std::string_view buf, size_t max_bytes, size_t* size) {
  const size_t limit = buf.size() < max_bytes ? buf.size() : max_bytes;
  const void* p = memmem(buf.data(), limit, "\r\n\r\n", 4);
  if (p != nullptr) {
    *size = static_cast<const char*>(p) - buf.data() + 4;
    return HeadParse::kComplete;
  }
  return buf.size() >= max_bytes ? HeadParse::kTooLarge : HeadParse::kIncomplete;
}

// Parses the header lines after the start line (`rest` excludes the final blank line's CRLF)
// and derives framing. Returns false with *error set on a malformed field.
bool ParseFields(std::string_view rest, bool request, HttpHead* h, std::string* error) {
  size_t line_no = 1;
  while (!rest.empty()) {
    ++line_no;
    const size_t eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 2);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      *error = Where(line_no) + "obsolete line folding is not accepted";
      return false;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
      *error = Where(line_no) + "malformed header field";
      return false;
    }
    HeaderField f{line.substr(0, colon), Trim(line.substr(colon + 1))};
    for (char c : f.value) {
      if (c == '\r' || c == '\n' || c == '\0') {
        *error = Where(line_no) + "invalid character in the value of " + std::string(f.name);
        return false;
      }
    }
    if (h->headers.size() == kMaxHeaderFields) {
      *error = "more than " + std::to_string(kMaxHeaderFields) + " header fields";
      return false;
    }
    h->headers.push_back(f);
    if (EqualsIgnoreCase(f.name, "content-length")) {
      int64_t n = -1;
      auto [end, ec] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), n);
      if (ec != std::errc() || end != f.value.data() + f.value.size() || n < 0 ||
          (h->content_length >= 0 && h->content_length != n)) {
        *error = Where(line_no) + "invalid Content-Length '" + std::string(f.value) + "'";
        return false;
      }
      h->content_length = n;
    } else if (EqualsIgnoreCase(f.name, "transfer-encoding")) {
      bool last_chunked = false;
      ForEachListItem(f.value, [&](std::string_view item) {
        if (last_chunked) h->other_coding = true;  // chunked must be the last coding
        last_chunked = EqualsIgnoreCase(item, "chunked");
        if (!last_chunked) h->other_coding = true;
      });
      h->chunked = last_chunked;
    } else if (EqualsIgnoreCase(f.name, "connection")) {
      ForEachListItem(f.value, [&](std::string_view item) {
        h->connection_tokens.push_back(item);
        if (EqualsIgnoreCase(item, "close")) h->close = true;
        if (EqualsIgnoreCase(item, "upgrade")) h->upgrade = true;
      });
    } else if (request && EqualsIgnoreCase(f.name, "host")) {
      if (!h->host.empty()) {
        *error = Where(line_no) + "more than one Host header";
        return false;
      }
      h->host = f.value;
    }
  }
  if (h->chunked || h->other_coding) {
    if (h->content_length >= 0) {
      // RFC 9112 section 6.1: a request with both is a smuggling attempt; reject it.
      *error = "both Transfer-Encoding and Content-Length";
      return false;
    }
  }
  if (h->upgrade && h->Find("upgrade").empty()) h->upgrade = false;
  if (h->minor_version == 0) {
    bool keep_alive = false;
    for (auto t : h->connection_tokens) keep_alive |= EqualsIgnoreCase(t, "keep-alive");
    if (!keep_alive) h->close = true;
  }
  return true;
}

}  // namespace

void HttpHead::Clear() {
  headers.clear();
  connection_tokens.clear();
  method = target = reason = host = {};
  status = 0;
  minor_version = 1;
  content_length = -1;
  chunked = other_coding = close = upgrade = false;
  size = 0;
}

std::string_view HttpHead::Find(std::string_view name) const {
  for (const auto& f : headers) {
    if (EqualsIgnoreCase(f.name, name)) return f.value;
  }
  return {};
}

bool HttpHead::IsHopByHop(std::string_view name) const {
  static constexpr std::string_view kFixed[] = {
      "connection", "keep-alive",        "proxy-connection",   "te",
      "upgrade",    "transfer-encoding", "proxy-authenticate", "proxy-authorization"};
  for (auto f : kFixed) {
    if (EqualsIgnoreCase(name, f)) return true;
  }
  for (auto t : connection_tokens) {
    if (EqualsIgnoreCase(name, t)) return true;
  }
  return false;
}

HeadParse ParseRequestHead(std::string_view buf, size_t max_bytes, HttpHead* out,
                           std::string* error) {
  out->Clear();
  size_t size = 0;
  if (HeadParse r = FindEnd(buf, max_bytes, &size); r != HeadParse::kComplete) return r;
  std::string_view head = buf.substr(0, size - 2);  // keep the last field's CRLF
  const size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    *error = "line 1: malformed request line";
    return HeadParse::kError;
  }
  out->method = line.substr(0, sp1);
  out->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!IsToken(out->method) || out->target.empty()) {
    *error = "line 1: malformed request line";
    return HeadParse::kError;
  }
  for (char c : out->target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      *error = "line 1: invalid character in the request target";
      return HeadParse::kError;
    }
  }
  if (!ParseVersion(line.substr(sp2 + 1), &out->minor_version)) {
    *error = "line 1: unsupported HTTP version '" + std::string(line.substr(sp2 + 1)) + "'";
    return HeadParse::kError;
  }
  if (!ParseFields(head.substr(eol + 2), true, out, error)) return HeadParse::kError;
  if (out->other_coding) {
    *error = "a request Transfer-Encoding other than chunked";
    return HeadParse::kError;
  }
  if (out->minor_version >= 1 && out->host.empty()) {
    *error = "no Host header in an HTTP/1.1 request";
    return HeadParse::kError;
  }
  out->size = size;
  return HeadParse::kComplete;
}

HeadParse ParseResponseHead(std::string_view buf, size_t max_bytes, HttpHead* out,
                            std::string* error) {
  out->Clear();
  size_t size = 0;
  if (HeadParse r = FindEnd(buf, max_bytes, &size); r != HeadParse::kComplete) return r;
  std::string_view head = buf.substr(0, size - 2);
  const size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // HTTP/1.1 200 OK
  if (line.size() < 12 || line[8] != ' ' || !ParseVersion(line.substr(0, 8), &out->minor_version) ||
      (line.size() > 12 && line[12] != ' ')) {
    *error = "malformed status line";
    return HeadParse::kError;
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      *error = "malformed status code";
      return HeadParse::kError;
    }
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100) {
    *error = "malformed status code";
    return HeadParse::kError;
  }
  out->status = status;
  out->reason = line.size() > 13 ? line.substr(13) : std::string_view();
  if (!ParseFields(head.substr(eol + 2), false, out, error)) return HeadParse::kError;
  out->size = size;
  return HeadParse::kComplete;
}

ChunkedDecoder::Step ChunkedDecoder::Feed(std::string_view data,
                                          std::vector<std::string_view>* payload) {
  Step st;
  size_t i = 0;
  auto fail = [&](const char* what) {
    st.consumed = i;
    st.error = true;
    st.what = what;
    return st;
  };
  while (i < data.size() && state_ != State::kDone) {
    const char c = data[i];
    switch (state_) {
      case State::kSize: {
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        if (v >= 0) {
          if (++digits_ > 15) return fail("chunk size too large");
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(v);
          ++i;
        } else if (digits_ == 0) {
          return fail("malformed chunk size");
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kExt;
          ++i;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++i;
        } else {
          return fail("malformed chunk size");
        }
        break;
      }
      case State::kExt:
        if (c == '\r') state_ = State::kSizeLf;
        if (c == '\n') return fail("bare LF in a chunk extension");
        if (++trailer_bytes_ > 4096) return fail("chunk extension too long");
        ++i;
        break;
      case State::kSizeLf:
        if (c != '\n') return fail("missing LF after the chunk size");
        ++i;
        trailer_bytes_ = 0;
        state_ = remaining_ == 0 ? State::kTrailer : State::kData;
        break;
      case State::kData: {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(remaining_, static_cast<uint64_t>(data.size() - i)));
        if (payload != nullptr) payload->push_back(data.substr(i, n));
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c != '\r') return fail("missing CRLF after chunk data");
        ++i;
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return fail("missing CRLF after chunk data");
        ++i;
        digits_ = 0;
        state_ = State::kSize;
        break;
      case State::kTrailer:  // at the start of a trailer line (or the final CRLF)
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else {
          state_ = State::kTrailerLine;
        }
        ++i;
        break;
      case State::kTrailerLine:
        if (++trailer_bytes_ > 16384) return fail("trailer section too long");
        if (c == '\n') state_ = State::kTrailer;
        ++i;
        break;
      case State::kTrailerLf:
        if (c != '\n') return fail("missing LF at the end of the chunked body");
        ++i;
        state_ = State::kDone;
        break;
      case State::kDone:
        break;
    }
  }
  st.consumed = i;
  st.done = state_ == State::kDone;
  return st;
}

}  // namespace pier::proxy
