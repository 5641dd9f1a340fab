// File: resp_writer.h
// RespWriter: appends Redis protocol replies to an output buffer, in RESP2 or RESP3.
//   RespWriter w(&out, 3);  w.ArrayHeader(2);  w.Bulk("a");  w.Null();
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace pier::net {

// Not thread-safe. RESP3-only types degrade to their RESP2 forms as Redis does: maps become
// flat arrays, sets arrays, doubles bulk strings, booleans integers, null "$-1".
class RespWriter {
 public:
  RespWriter(std::string* out, int protocol) : out_(out), protocol_(protocol) {}
  int protocol() const { return protocol_; }
  void set_protocol(int p) { protocol_ = p; }
  std::string* buffer() { return out_; }

  void Simple(std::string_view s);     // +OK
  void Error(std::string_view msg);    // -ERR ...  (msg includes the code word)
  void Integer(int64_t v);             // :1
  void Bulk(std::string_view s);       // $3\r\nabc
  void Null();                         // $-1 / _
  void NullArray();                    // *-1 / _
  void ArrayHeader(int64_t n);         // *n
  void MapHeader(int64_t pairs);       // %n / *2n
  void SetHeader(int64_t n);           // ~n / *n
  void PushHeader(int64_t n);          // >n / *n (pub/sub messages, out of band in RESP3)
  void Double(double v);               // ,v / bulk
  void Bool(bool v);                   // #t / :1
  void BigNumber(std::string_view s);  // (digits / bulk
  void Verbatim(std::string_view s);   // =len\r\ntxt:... / bulk
  void Ok() { Simple("OK"); }
  // An array of status lines (the HELP subcommands).
  void Lines(std::initializer_list<std::string_view> lines);

 private:
  void Header(char type, int64_t n);
  std::string* out_;
  int protocol_;
};

}  // namespace pier::net
