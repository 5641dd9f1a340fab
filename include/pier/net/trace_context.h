// File: trace_context.h
// W3C Trace Context: the `traceparent` header a traced request carries (version 00), parsed
// strictly as the specification says and written back.
//   TraceParent tp;  if (TraceParent::Parse(req["traceparent"], &tp) && tp.sampled()) ...
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pier::net {

// W3C Trace Context's traceparent: "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>".
struct TraceParent {
  std::array<char, 32> trace_id{};
  std::array<char, 16> parent_id{};
  uint8_t flags = 0;  // bit 0: sampled

  std::string_view trace() const { return {trace_id.data(), trace_id.size()}; }
  std::string_view parent() const { return {parent_id.data(), parent_id.size()}; }
  bool sampled() const { return (flags & 1) != 0; }
  // False for anything the specification says to ignore: not lowercase hex, an all-zero id,
  // version ff, a version-00 value that is not exactly 55 characters, a later version's value
  // without '-' after the flags.
  static bool Parse(std::string_view value, TraceParent* out);
  std::string Header() const;  // version 00
};

}  // namespace pier::net
