#include "cache/server/scripting.h"

#include <openssl/sha.h>

#include <cstring>

#include "pier/base/logging.h"
#include "pier/base/status.h"  // PIER_CHECK
#include "pier/net/resp_reply.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
// Debian's lua-cjson and lua-bitop, linked in (Redis embeds the same libraries).
int luaopen_cjson(lua_State* L);
int luaopen_bit(lua_State* L);
}

namespace pier::cache::server {

std::string Sha1Hex(std::string_view data) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  static const char* hex = "0123456789abcdef";
  std::string out(2 * SHA_DIGEST_LENGTH, '0');
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  return out;
}

namespace {

constexpr const char* kEngineKey = "pier_engine";
constexpr int kMaxDepth = 64;  // nesting of tables converted either way

ScriptEngine* EngineOf(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kEngineKey);
  auto* e = static_cast<ScriptEngine*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return e;
}

// Pushes {field = text}.
void PushTable(lua_State* L, const char* field, std::string_view text) {
  lua_newtable(L);
  lua_pushlstring(L, text.data(), text.size());
  lua_setfield(L, -2, field);
}

// A reply as Redis converts it for Lua. RESP2: integers to numbers, bulks to strings, nil to
// false, arrays to tables, status to {ok=...}, errors to {err=...}. RESP3 (redis.setresp(3))
// adds: null to nil, booleans to booleans, doubles to {double=n}, maps to {map={k=v}}, sets to
// {set={m=true}}.
void PushReply(lua_State* L, const net::RespValue& v, int depth, int protocol) {
  lua_checkstack(L, 4);
  using T = net::RespValue::Type;
  const bool resp3 = protocol >= 3;
  switch (v.type) {
    case T::kInteger:
      lua_pushnumber(L, static_cast<lua_Number>(v.integer));
      return;
    case T::kBool:
      if (resp3) {
        lua_pushboolean(L, v.integer != 0);
      } else {
        lua_pushnumber(L, static_cast<lua_Number>(v.integer));
      }
      return;
    case T::kBulk:
      lua_pushlstring(L, v.str.data(), v.str.size());
      return;
    case T::kDouble:
      if (!resp3) {
        lua_pushlstring(L, v.str.data(), v.str.size());
        return;
      }
      lua_newtable(L);
      lua_pushnumber(L, std::strtod(v.str.c_str(), nullptr));
      lua_setfield(L, -2, "double");
      return;
    case T::kSimple:
      return PushTable(L, "ok", v.str);
    case T::kError:
      return PushTable(L, "err", v.str);
    case T::kNull:
      if (resp3) {
        lua_pushnil(L);
      } else {
        lua_pushboolean(L, 0);
      }
      return;
    case T::kMap:
    case T::kSet:
      if (resp3) {
        const bool map = v.type == T::kMap;
        lua_newtable(L);
        lua_newtable(L);
        for (size_t i = 0; i < v.elements.size() && depth < kMaxDepth; i += map ? 2 : 1) {
          PushReply(L, v.elements[i], depth + 1, protocol);
          if (map && i + 1 < v.elements.size()) {
            PushReply(L, v.elements[i + 1], depth + 1, protocol);
          } else {
            lua_pushboolean(L, 1);
          }
          if (lua_isnil(L, -2)) {
            lua_pop(L, 2);  // a nil key cannot be stored
          } else {
            lua_rawset(L, -3);
          }
        }
        lua_setfield(L, -2, map ? "map" : "set");
        return;
      }
      [[fallthrough]];
    case T::kArray:
      lua_createtable(L, static_cast<int>(v.elements.size()), 0);
      for (size_t i = 0; i < v.elements.size() && depth < kMaxDepth; ++i) {
        PushReply(L, v.elements[i], depth + 1, protocol);
        lua_rawseti(L, -2, static_cast<int>(i + 1));
      }
      return;
  }
}

// fn(text) when the table at the top of the stack has a string field `name`; whether it had.
template <typename Fn>
bool StringField(lua_State* L, const char* name, Fn&& fn) {
  lua_getfield(L, -1, name);
  const bool found = lua_type(L, -1) == LUA_TSTRING;
  if (found) {
    size_t n;
    const char* s = lua_tolstring(L, -1, &n);
    fn(std::string_view(s, n));
  }
  lua_pop(L, 1);
  return found;
}

// The table at the top of the stack's `field` when it is a table/number/string of that kind:
// {map=...}, {set=...}, {double=...}, {big_number=...} as Redis 7.0 writes them.
bool WriteTyped(lua_State* L, net::RespWriter& out, int depth);

// The Lua value at the top of the stack as a reply, as Redis converts it.
void WriteValue(lua_State* L, net::RespWriter& out, int depth) {
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t n;
      const char* s = lua_tolstring(L, -1, &n);
      return out.Bulk({s, n});
    }
    case LUA_TBOOLEAN:
      return lua_toboolean(L, -1) ? out.Integer(1) : out.Null();
    case LUA_TNUMBER: {  // truncated to an integer, as Redis (clamped: no undefined cast)
      const lua_Number n = lua_tonumber(L, -1);
      if (n != n) return out.Integer(0);
      if (n >= 9.2233720368547758e18) return out.Integer(INT64_MAX);
      if (n <= -9.2233720368547758e18) return out.Integer(INT64_MIN);
      return out.Integer(static_cast<int64_t>(n));
    }
    case LUA_TTABLE: {
      if (depth >= kMaxDepth) return out.Error("ERR reached lua stack limit");
      // {err='x'} is "-x" verbatim, as Redis; {ok='x'} is "+x".
      if (StringField(L, "err", [&](std::string_view err) { out.Error(err); })) return;
      if (StringField(L, "ok", [&](std::string_view ok) { out.Simple(ok); })) return;
      if (WriteTyped(L, out, depth)) return;
      int n = 0;
      for (;; ++n) {  // the array part, up to the first nil
        lua_rawgeti(L, -1, n + 1);
        const bool nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil) break;
      }
      out.ArrayHeader(n);
      lua_checkstack(L, 2);
      for (int i = 1; i <= n; ++i) {
        lua_rawgeti(L, -1, i);
        WriteValue(L, out, depth + 1);
        lua_pop(L, 1);
      }
      return;
    }
    default:
      return out.Null();
  }
}

bool WriteTyped(lua_State* L, net::RespWriter& out, int depth) {
  lua_getfield(L, -1, "double");
  if (lua_type(L, -1) == LUA_TNUMBER) {
    out.Double(lua_tonumber(L, -1));
    lua_pop(L, 1);
    return true;
  }
  lua_pop(L, 1);
  if (StringField(L, "big_number", [&](std::string_view s) { out.BigNumber(s); })) return true;
  for (const bool map : {true, false}) {
    lua_getfield(L, -1, map ? "map" : "set");
    if (lua_type(L, -1) != LUA_TTABLE) {
      lua_pop(L, 1);
      continue;
    }
    int64_t count = 0;
    for (lua_pushnil(L); lua_next(L, -2) != 0; lua_pop(L, 1)) ++count;
    if (map) {
      out.MapHeader(count);
    } else {
      out.SetHeader(count);
    }
    lua_checkstack(L, 4);
    for (lua_pushnil(L); lua_next(L, -2) != 0; lua_pop(L, 1)) {
      lua_pushvalue(L, -2);  // the key, written as a value (lua_next needs it untouched)
      WriteValue(L, out, depth + 1);
      lua_pop(L, 1);
      if (map) WriteValue(L, out, depth + 1);
    }
    lua_pop(L, 1);
    return true;
  }
  return false;
}

// The message handler of a script's pcall: {err = text with its error code, line = the script's
// line}, from an error raised by redis.call ({err=...}) or by Lua (a string).
int ErrorHandler(lua_State* L) {
  int line = 0;
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); ++level) {
    lua_getinfo(L, "Sl", &ar);
    if (std::strcmp(ar.source, "@user_script") == 0) {
      line = ar.currentline;
      break;
    }
  }
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "err");
  } else {
    lua_pushfstring(L, "ERR %s", lua_isstring(L, 1) ? lua_tostring(L, 1) : "unknown error");
  }
  lua_newtable(L);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "err");
  lua_pushinteger(L, line);
  lua_setfield(L, -2, "line");
  return 1;
}

int Sha1HexLua(lua_State* L) {
  if (lua_gettop(L) != 1) {
    lua_pushstring(L, "wrong number of arguments");
    return lua_error(L);
  }
  size_t n;
  const char* s = lua_tolstring(L, 1, &n);
  char hex[41];
  const std::string sha = Sha1Hex({s ? s : "", s ? n : 0});
  std::memcpy(hex, sha.c_str(), 41);
  lua_pushstring(L, hex);
  return 1;
}

// redis.error_reply(text) / redis.status_reply(text): {err = text} / {ok = text}.
template <const char* kField>
int FieldReply(lua_State* L) {
  if (lua_gettop(L) != 1 || !lua_isstring(L, 1)) {
    lua_pushstring(L, "wrong number or type of arguments");
    return lua_error(L);
  }
  lua_newtable(L);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, kField);
  return 1;
}
constexpr char kErrField[] = "err";
constexpr char kOkField[] = "ok";

int Log(lua_State* L) {
  const int n = lua_gettop(L);
  if (n < 2) {
    lua_pushstring(L, "redis.log() requires two arguments or more.");
    return lua_error(L);
  }
  const int level = static_cast<int>(lua_tonumber(L, 1));
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 2; i <= n; ++i) {
    if (i > 2) luaL_addchar(&b, ' ');
    size_t len;
    const char* s = lua_tolstring(L, i, &len);
    if (s) luaL_addlstring(&b, s, len);
  }
  luaL_pushresult(&b);
  const char* msg = lua_tostring(L, -1);
  if (level <= 0) {
    LogEvent(LogLevel::kDebug, "script log", {{"text", msg}});
  } else if (level == 3) {
    LogEvent(LogLevel::kWarn, "script log", {{"text", msg}});
  } else {
    LogEvent(LogLevel::kInfo, "script log", {{"text", msg}});
  }
  return 0;
}

int SetResp(lua_State* L) {
  if (lua_gettop(L) != 1) {
    lua_pushstring(L, "redis.setresp() requires one argument.");
    return lua_error(L);
  }
  const lua_Number v = lua_tonumber(L, 1);
  if (v != 2 && v != 3) {
    lua_pushstring(L, "RESP version must be 2 or 3.");
    return lua_error(L);
  }
  ScriptEngine::SetProtocol(L, static_cast<int>(v));
  return 0;
}

// Redis 7.0's read-only globals, so a script cannot leak state into the next.
constexpr const char* kProtectGlobals = R"(
local dbg = debug
setmetatable(_G, {
  __newindex = function(t, k, v) error("Attempt to modify a readonly table", 2) end,
  __index = function(t, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
})
)";

}  // namespace

ScriptEngine::ScriptEngine(const Clock* clock) : clock_(clock) { Setup(); }

ScriptEngine::~ScriptEngine() {
  if (L_ != nullptr) lua_close(L_);
}

void ScriptEngine::Setup() {
  L_ = luaL_newstate();
  lua_State* L = L_;
  const std::pair<const char*, lua_CFunction> libs[] = {{"", luaopen_base},
                                                        {LUA_TABLIBNAME, luaopen_table},
                                                        {LUA_STRLIBNAME, luaopen_string},
                                                        {LUA_MATHLIBNAME, luaopen_math},
                                                        {LUA_DBLIBNAME, luaopen_debug}};
  for (const auto& [name, open] : libs) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
  }
  const std::pair<const char*, lua_CFunction> modules[] = {{"cjson", luaopen_cjson},
                                                           {"bit", luaopen_bit}};
  for (const auto& [name, open] : modules) {
    lua_pushcfunction(L, open);
    lua_call(L, 0, 1);
    lua_setglobal(L, name);
  }
  for (const char* unsafe : {"loadfile", "dofile"}) {
    lua_pushnil(L);
    lua_setglobal(L, unsafe);
  }
  lua_pushlightuserdata(L, this);
  lua_setfield(L, LUA_REGISTRYINDEX, kEngineKey);
  lua_newtable(L);
  const std::pair<const char*, lua_CFunction> api[] = {{"call", RedisCall},
                                                       {"pcall", RedisPCall},
                                                       {"sha1hex", Sha1HexLua},
                                                       {"error_reply", FieldReply<kErrField>},
                                                       {"status_reply", FieldReply<kOkField>},
                                                       {"log", Log},
                                                       {"setresp", SetResp}};
  for (const auto& [name, fn] : api) {
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, name);
  }
  const std::pair<const char*, int> levels[] = {
      {"LOG_DEBUG", 0}, {"LOG_VERBOSE", 1}, {"LOG_NOTICE", 2}, {"LOG_WARNING", 3}};
  for (const auto& [name, level] : levels) {
    lua_pushinteger(L, level);
    lua_setfield(L, -2, name);
  }
  lua_setglobal(L, "redis");
  lua_pushcfunction(L, ErrorHandler);
  lua_setfield(L, LUA_REGISTRYINDEX, "pier_error_handler");
  PIER_CHECK(luaL_dostring(L, kProtectGlobals) == 0);
}

bool ScriptEngine::Load(std::string_view body, std::string* sha, net::RespWriter& out) {
  *sha = Sha1Hex(body);
  std::lock_guard lock(mu_);
  if (functions_.count(*sha)) return true;
  if (luaL_loadbuffer(L_, body.data(), body.size(), "@user_script") != 0) {
    std::string err = lua_tostring(L_, -1);
    lua_pop(L_, 1);
    out.Error("ERR Error compiling script (new function): " + err);
    return false;
  }
  functions_[*sha] = luaL_ref(L_, LUA_REGISTRYINDEX);
  return true;
}

bool ScriptEngine::Exists(std::string_view sha) {
  std::lock_guard lock(mu_);
  return functions_.count(std::string(sha)) > 0;
}

void ScriptEngine::Flush() {
  std::lock_guard lock(mu_);
  for (const auto& [sha, ref] : functions_) luaL_unref(L_, LUA_REGISTRYINDEX, ref);
  functions_.clear();
  lua_gc(L_, LUA_GCCOLLECT, 0);
}

std::string ScriptEngine::Kill() {
  if (!running_.load()) return "NOTBUSY No scripts in execution right now.";
  if (wrote_) {
    return "UNKILLABLE Sorry the script already executed write commands against the dataset. You "
           "can either wait the script termination or kill the server in a hard way using the "
           "SHUTDOWN NOSAVE command.";
  }
  kill_ = true;
  return "";
}

void ScriptEngine::Hook(lua_State* L, lua_Debug* /*ar*/) {
  ScriptEngine* e = EngineOf(L);
  if (!e->busy_.load(std::memory_order_relaxed) &&
      e->clock_->Now() - e->started_ >= std::chrono::milliseconds(e->busy_threshold_ms_.load())) {
    e->busy_.store(true, std::memory_order_release);
    if (e->on_busy_) e->on_busy_(true);
    LogEvent(LogLevel::kWarn, "a script is over busy-reply-threshold: other clients get BUSY",
             {{"threshold_ms", e->busy_threshold_ms_.load()}});
  }
  if (e->kill_.load()) {
    lua_pushstring(L, "Script killed by user with SCRIPT KILL...");
    lua_error(L);
  }
}

void ScriptEngine::Run(const Call& call, net::RespWriter& out) {
  std::lock_guard lock(mu_);
  auto fn = functions_.find(std::string(call.sha));
  if (fn == functions_.end()) return out.Error("NOSCRIPT No matching script. Please use EVAL.");
  lua_State* L = L_;
  current_ = &call;
  resp_ = 2;  // each script starts in RESP2, as Redis
  wrote_ = false;
  kill_ = false;
  started_ = clock_->Now();
  running_ = true;
  lua_sethook(L, &ScriptEngine::Hook, LUA_MASKCOUNT, 100000);
  // KEYS and ARGV, set past the read-only guard.
  for (const auto& [name, list] : {std::pair{"KEYS", &call.keys}, std::pair{"ARGV", &call.argv}}) {
    lua_pushstring(L, name);
    lua_createtable(L, static_cast<int>(list->size()), 0);
    for (size_t i = 0; i < list->size(); ++i) {
      lua_pushlstring(L, (*list)[i].data(), (*list)[i].size());
      lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    lua_rawset(L, LUA_GLOBALSINDEX);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "pier_error_handler");
  const int handler = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn->second);
  if (lua_pcall(L, 0, 1, handler) == 0) {
    WriteValue(L, out, 0);
  } else if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "err");
    lua_getfield(L, -2, "line");
    const std::string err = lua_isstring(L, -2) ? lua_tostring(L, -2) : "ERR unknown error";
    const int line = static_cast<int>(lua_tointeger(L, -1));
    lua_pop(L, 2);
    out.Error(err + " script: " + std::string(call.sha) +
              ", on @user_script:" + std::to_string(line) + ".");
  } else {
    out.Error(std::string("ERR ") + (lua_isstring(L, -1) ? lua_tostring(L, -1) : "script error"));
  }
  lua_settop(L, 0);
  lua_sethook(L, nullptr, 0, 0);
  running_ = false;
  if (busy_.exchange(false) && on_busy_) on_busy_(false);
  current_ = nullptr;
  lua_gc(L, LUA_GCSTEP, 1);
}

void PushLuaReply(lua_State* L, const net::RespValue& v, int protocol) {
  PushReply(L, v, 0, protocol);
}

void ScriptEngine::SetProtocol(lua_State* L, int protocol) { EngineOf(L)->resp_ = protocol; }
void WriteLuaValue(lua_State* L, net::RespWriter& out) { WriteValue(L, out, 0); }

int ScriptEngine::RedisCall(lua_State* L) { return Dispatch(L, true); }
int ScriptEngine::RedisPCall(lua_State* L) { return Dispatch(L, false); }

int ScriptEngine::Dispatch(lua_State* L, bool raise) {
  // The C++ work happens in a scope that ends before lua_error (a longjmp) may run.
  bool failed = false;
  {
    ScriptEngine* e = EngineOf(L);
    const int argc = lua_gettop(L);
    std::vector<std::string_view> args;
    std::string error;
    for (int i = 1; i <= argc && error.empty(); ++i) {
      size_t n;
      const int t = lua_type(L, i);
      const char* s = (t == LUA_TSTRING || t == LUA_TNUMBER) ? lua_tolstring(L, i, &n) : nullptr;
      if (s == nullptr) {
        error = "ERR Lua redis lib command arguments must be strings or integers";
      } else {
        args.emplace_back(s, n);
      }
    }
    if (argc == 0) error = "ERR Please specify at least one argument for this redis lib call";
    std::string out;
    if (error.empty()) {
      bool write = false;
      const CallStatus st =
          e->current_->caller(args, &out, &write, e->current_->read_only, e->resp_);
      if (write && st == CallStatus::kOk) e->wrote_ = true;
      static constexpr const char* kRefused[] = {
          "",  // kOk
          "ERR Unknown Redis command called from script",
          "ERR Wrong number of args calling Redis command from script",
          "ERR This Redis command is not allowed from script",
          "ERR Write commands are not allowed from read-only scripts."};
      error = kRefused[static_cast<int>(st)];
    }
    if (error.empty()) {
      net::RespReplyParser parser;
      net::RespValue v;
      if (parser.Parse(out, &v) != net::RespReplyParser::Result::kComplete) {
        error = "ERR the command's reply could not be read: " + parser.error();
      } else {
        PushReply(L, v, 0, e->resp_);
        failed = raise && v.is_error();
      }
    }
    if (!error.empty()) {
      PushTable(L, "err", error);
      failed = raise;
    }
  }
  if (failed) return lua_error(L);
  return 1;
}

}  // namespace pier::cache::server
