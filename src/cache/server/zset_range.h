// File: zset_range.h
// The argument parsers of sorted-set ranges, as Redis 7.0 reads them: scores (`1.5`, `(1.5`
// exclusive, `inf`, `-inf`, `+inf`), lex bounds (`[a`, `(a`, `-`, `+`), and the ZRANGE family's
// options (BYSCORE, BYLEX, REV, LIMIT, WITHSCORES). Pure functions over strings, fuzzed by
// fuzz/zset_range_fuzz.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cache/server/collections.h"
#include "pier/base/status.h"

namespace pier::cache::server {

// Redis's string2d: a double, no spaces, no NaN (ZADD's scores, WEIGHTS).
bool ParseScore(std::string_view s, double* out);

struct ScoreRange {
  double min = 0, max = 0;
  bool min_ex = false, max_ex = false;
  bool Contains(double v) const {
    return (min_ex ? v > min : v >= min) && (max_ex ? v < max : v <= max);
  }
};
// False on a bad bound ("ERR min or max is not a float").
bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* out);

struct LexBound {
  enum Kind { kNegInf, kPosInf, kInclusive, kExclusive } kind = kNegInf;
  std::string value;
};
struct LexRange {
  LexBound min, max;
  bool AboveMin(std::string_view m) const;
  bool BelowMax(std::string_view m) const;
  bool Contains(std::string_view m) const { return AboveMin(m) && BelowMax(m); }
};
// False on a bad bound ("ERR min or max not valid string range item").
bool ParseLexRange(std::string_view min, std::string_view max, LexRange* out);

// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES], and the older
// forms (ZRANGEBYSCORE...) which fix the kind and direction.
struct ZRangeSpec {
  enum Kind { kAuto, kRank, kScore, kLex } kind = kAuto;
  enum Direction { kAutoDirection, kForward, kReverse } direction = kAutoDirection;
  int64_t start = 0, stop = 0;  // kRank
  ScoreRange score;
  LexRange lex;
  int64_t offset = 0, limit = -1;
  bool withscores = false;
};
// args: the whole command; `first` is the index of the first range argument (start/min); options
// follow the two range arguments. `store`: ZRANGESTORE (no WITHSCORES). Errors are Redis's texts.
Status ParseZRange(const std::vector<std::string_view>& args, size_t first, bool store,
                   ZRangeSpec* spec);

// The members of `z` in the range, in reply order.
std::vector<ScoreMemberView> CollectRange(const ZSetValue& z, const ZRangeSpec& spec);

}  // namespace pier::cache::server
