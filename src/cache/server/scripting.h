// File: scripting.h
// Scripts: Redis's EVAL on Lua 5.1 (Debian's liblua5.1, the version Redis embeds). One Lua
// state per server, used by one script at a time (a script runs holding every shard, so it is
// atomic); scripts are cached by SHA1 as compiled functions. The Lua API is Redis's:
// redis.call/pcall (through the RESP server, so a script reaches every command a client can),
// error_reply, status_reply, sha1hex, log, setresp (2 or 3); KEYS and ARGV; cjson and bit from
// Debian's lua-cjson and lua-bitop; the globals table is read-only, as Redis 7.0's.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pier/base/clock.h"
#include "pier/net/resp_reply.h"
#include "pier/net/resp_writer.h"

struct lua_State;
struct lua_Debug;

namespace pier::cache::server {

std::string Sha1Hex(std::string_view data);

// Redis's reply conversions (exposed for the fuzz target): a reply (read in `protocol`) as a Lua
// value pushed on the stack, and the Lua value on top of the stack written as a reply.
void PushLuaReply(lua_State* L, const net::RespValue& v, int protocol = 2);
void WriteLuaValue(lua_State* L, net::RespWriter& out);

class ScriptEngine {
 public:
  enum class CallStatus { kOk, kUnknown, kWrongArity, kNotAllowed, kWriteInReadOnly };  // in order
  // Runs one command for a script: its reply in `protocol` (2, or 3 after redis.setresp(3))
  // into *out, `*write` set when the command writes. Refused (nothing run) when unknown, of the
  // wrong arity, not for scripts, or a write in a read-only script (EVAL_RO).
  using Caller =
      std::function<CallStatus(const std::vector<std::string_view>& args, std::string* out,
                               bool* write, bool read_only, int protocol)>;

  explicit ScriptEngine(const Clock* clock);
  ~ScriptEngine();
  ScriptEngine(const ScriptEngine&) = delete;
  ScriptEngine& operator=(const ScriptEngine&) = delete;

  // SCRIPT LOAD: compiles and caches; the SHA1, or false after writing Redis's compile error.
  bool Load(std::string_view body, std::string* sha, net::RespWriter& out);
  bool Exists(std::string_view sha);
  void Flush();

  struct Call {
    std::string_view sha;  // lowercase hex, cached
    std::vector<std::string_view> keys, argv;
    bool read_only = false;  // EVAL_RO: write commands fail
    Caller caller;
  };
  // Runs a cached script, writing its reply (in the client's protocol) or its error.
  void Run(const Call& call, net::RespWriter& out);

  // busy-reply-threshold (ms) and SCRIPT KILL: a script running longer than the threshold is
  // busy (on_busy is told); Kill() stops it unless it has written (then it answers UNKILLABLE).
  void set_busy_threshold_ms(int64_t ms) { busy_threshold_ms_ = ms; }
  int64_t busy_threshold_ms() const { return busy_threshold_ms_; }
  // Told when a script turns busy and when it ends (the RESP server answers BUSY meanwhile).
  void set_on_busy(std::function<void(bool)> fn) { on_busy_ = std::move(fn); }
  // "" when killed; otherwise Redis's error text (NOTBUSY, UNKILLABLE).
  std::string Kill();
  // redis.setresp(protocol) of the script running in L.
  static void SetProtocol(lua_State* L, int protocol);

 private:
  static int RedisCall(lua_State* L);
  static int RedisPCall(lua_State* L);
  static int Dispatch(lua_State* L, bool raise);
  static void Hook(lua_State* L, lua_Debug* ar);
  void Setup();

  const Clock* clock_;
  lua_State* L_ = nullptr;
  std::mutex mu_;                                   // one script at a time
  std::unordered_map<std::string, int> functions_;  // sha -> registry reference
  // The running script's state (under mu_).
  const Call* current_ = nullptr;
  std::atomic<bool> wrote_{false};
  int resp_ = 2;  // redis.setresp: the protocol of the running script's redis.call replies
  Clock::TimePoint started_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> kill_{false};
  std::atomic<bool> running_{false};
  std::atomic<int64_t> busy_threshold_ms_{5000};
  std::function<void(bool)> on_busy_;
};

}  // namespace pier::cache::server
