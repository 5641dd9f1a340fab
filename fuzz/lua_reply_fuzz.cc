// Redis's reply conversions for scripts: any reply redis.call could hand a script becomes a Lua
// value and back without a crash, and the result is a well-formed reply; a RESP2 reply of
// simple strings, errors, bulks, null bulks, arrays and integers a double holds exactly comes
// back byte for byte (what a script returning redis.call's result sends its client).
#include <cstdint>
#include <string>
#include <string_view>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

#include "cache/server/scripting.h"
#include "pier/base/status.h"

namespace {

// Whether v survives the round trip exactly (see above).
bool Exact(const pier::net::RespValue& v) {
  using T = pier::net::RespValue::Type;
  switch (v.type) {
    case T::kSimple:
    case T::kError:  // a line's CR and LF become spaces (as Redis writes them)
      return v.str.find_first_of("\r\n") == std::string::npos;
    case T::kBulk:
      return true;
    case T::kInteger:
      return v.integer > -(int64_t{1} << 53) && v.integer < (int64_t{1} << 53);
    case T::kArray:
      for (const auto& e : v.elements) {
        if (e.type == T::kNull || !Exact(e)) return false;
      }
      return true;
    default:
      return false;
  }
}

bool Same(const pier::net::RespValue& a, const pier::net::RespValue& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
      a.elements.size() != b.elements.size()) {
    return false;
  }
  for (size_t i = 0; i < a.elements.size(); ++i) {
    if (!Same(a.elements[i], b.elements[i])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lua_State* L = luaL_newstate();
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  pier::net::RespReplyParser parser;
  pier::net::RespValue v;
  if (parser.Parse(in, &v) != pier::net::RespReplyParser::Result::kComplete) return 0;
  pier::cache::server::PushLuaReply(L, v);
  std::string out;
  pier::net::RespWriter w(&out, 2);
  pier::cache::server::WriteLuaValue(L, w);
  lua_settop(L, 0);
  pier::net::RespReplyParser again;
  pier::net::RespValue back;
  PIER_CHECK(again.Parse(out, &back) == pier::net::RespReplyParser::Result::kComplete);
  PIER_CHECK(again.consumed() == out.size());
  if (Exact(v)) PIER_CHECK(Same(v, back));
  // RESP3 (redis.setresp(3), a HELLO 3 caller): maps, sets, doubles and nulls take their Lua
  // forms and come back as one well-formed reply (map order is Lua's, so no exact comparison).
  pier::cache::server::PushLuaReply(L, v, 3);
  std::string out3;
  pier::net::RespWriter w3(&out3, 3);
  pier::cache::server::WriteLuaValue(L, w3);
  lua_settop(L, 0);
  pier::net::RespReplyParser third;
  PIER_CHECK(third.Parse(out3, &back) == pier::net::RespReplyParser::Result::kComplete);
  PIER_CHECK(third.consumed() == out3.size());
  return 0;
}
