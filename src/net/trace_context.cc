#include "pier/net/trace_context.h"

namespace pier::net {

namespace {

bool LowerHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

bool TraceParent::Parse(std::string_view v, TraceParent* out) {
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  const std::string_view version = v.substr(0, 2), trace = v.substr(3, 32),
                         parent = v.substr(36, 16), flags = v.substr(53, 2);
  if (!LowerHex(version) || !LowerHex(trace) || !LowerHex(parent) || !LowerHex(flags)) {
    return false;
  }
  if (version == "ff" || (version == "00" && v.size() != 55)) return false;
  if (v.size() > 55 && v[55] != '-') return false;
  if (trace.find_first_not_of('0') == std::string_view::npos ||
      parent.find_first_not_of('0') == std::string_view::npos) {
    return false;
  }
  trace.copy(out->trace_id.data(), 32);
  parent.copy(out->parent_id.data(), 16);
  out->flags = static_cast<uint8_t>(std::stoi(std::string(flags), nullptr, 16));
  return true;
}

std::string TraceParent::Header() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string h = "00-";
  h.append(trace()).push_back('-');
  h.append(parent()).push_back('-');
  h.push_back(kHex[flags >> 4]);
  h.push_back(kHex[flags & 15]);
  return h;
}

}  // namespace pier::net
