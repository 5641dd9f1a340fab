#include "cache/server/zset_range.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "pier/base/strings.h"
#include "pier/net/resp_parser.h"

namespace pier::cache::server {

namespace {
constexpr size_t kMaxNumber = 5 * 1024;  // longer is no number (and strtod's copy stays small)

// strtod over the whole of `s`; Redis's range parsing accepts what strtod consumes entirely
// (leading spaces and "" included), never NaN.
bool WholeStrtod(std::string_view s, double* out) {
  if (s.size() > kMaxNumber || s.find('\0') != std::string_view::npos) return false;
  std::string copy(s);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (*end != '\0' || std::isnan(v)) return false;
  *out = v;
  return true;
}

bool ParseBound(std::string_view s, double* v, bool* ex) {
  *ex = !s.empty() && s[0] == '(';
  return WholeStrtod(*ex ? s.substr(1) : s, v);
}

bool ParseLexBound(std::string_view s, LexBound* b) {
  if (s.empty()) return false;
  switch (s[0]) {
    case '+':
      if (s.size() != 1) return false;
      b->kind = LexBound::kPosInf;
      return true;
    case '-':
      if (s.size() != 1) return false;
      b->kind = LexBound::kNegInf;
      return true;
    case '(':
      b->kind = LexBound::kExclusive;
      b->value.assign(s.substr(1));
      return true;
    case '[':
      b->kind = LexBound::kInclusive;
      b->value.assign(s.substr(1));
      return true;
    default:
      return false;
  }
}
}  // namespace

bool ParseScore(std::string_view s, double* out) {
  if (s.empty() || s.size() > kMaxNumber || std::isspace(static_cast<unsigned char>(s[0])) ||
      s.find('\0') != std::string_view::npos) {
    return false;
  }
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(copy.c_str(), &end);
  if (*end != '\0' || std::isnan(v)) return false;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)) return false;
  *out = v;
  return true;
}

bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* out) {
  return ParseBound(min, &out->min, &out->min_ex) && ParseBound(max, &out->max, &out->max_ex);
}

bool ParseLexRange(std::string_view min, std::string_view max, LexRange* out) {
  return ParseLexBound(min, &out->min) && ParseLexBound(max, &out->max);
}

bool LexRange::AboveMin(std::string_view m) const {
  switch (min.kind) {
    case LexBound::kNegInf:
      return true;
    case LexBound::kPosInf:
      return false;
    case LexBound::kInclusive:
      return m >= min.value;
    case LexBound::kExclusive:
      return m > min.value;
  }
  return false;
}

bool LexRange::BelowMax(std::string_view m) const {
  switch (max.kind) {
    case LexBound::kNegInf:
      return false;
    case LexBound::kPosInf:
      return true;
    case LexBound::kInclusive:
      return m <= max.value;
    case LexBound::kExclusive:
      return m < max.value;
  }
  return false;
}

Status ParseZRange(const std::vector<std::string_view>& args, size_t first, bool store,
                   ZRangeSpec* spec) {
  const Status syntax = Status::InvalidArgument("ERR syntax error");
  if (args.size() < first + 2) return syntax;
  for (size_t j = first + 2; j < args.size(); ++j) {
    const std::string_view a = args[j];
    const size_t left = args.size() - j - 1;
    if (!store && EqualsIgnoreCase(a, "WITHSCORES")) {
      spec->withscores = true;
    } else if (EqualsIgnoreCase(a, "LIMIT") && left >= 2) {
      if (!net::ParseRespInt(args[j + 1], &spec->offset) ||
          !net::ParseRespInt(args[j + 2], &spec->limit)) {
        return Status::InvalidArgument("ERR value is not an integer or out of range");
      }
      j += 2;
    } else if (spec->direction == ZRangeSpec::kAutoDirection && EqualsIgnoreCase(a, "REV")) {
      spec->direction = ZRangeSpec::kReverse;
    } else if (spec->kind == ZRangeSpec::kAuto && EqualsIgnoreCase(a, "BYLEX")) {
      spec->kind = ZRangeSpec::kLex;
    } else if (spec->kind == ZRangeSpec::kAuto && EqualsIgnoreCase(a, "BYSCORE")) {
      spec->kind = ZRangeSpec::kScore;
    } else {
      return syntax;
    }
  }
  if (spec->direction == ZRangeSpec::kAutoDirection) spec->direction = ZRangeSpec::kForward;
  if (spec->kind == ZRangeSpec::kAuto) spec->kind = ZRangeSpec::kRank;
  if (spec->limit != -1 && spec->kind == ZRangeSpec::kRank) {
    return Status::InvalidArgument(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (spec->withscores && spec->kind == ZRangeSpec::kLex) {
    return Status::InvalidArgument(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  std::string_view lo = args[first], hi = args[first + 1];
  if (spec->direction == ZRangeSpec::kReverse && spec->kind != ZRangeSpec::kRank) {
    std::swap(lo, hi);  // given as max, min
  }
  switch (spec->kind) {
    case ZRangeSpec::kRank:
      if (!net::ParseRespInt(lo, &spec->start) || !net::ParseRespInt(hi, &spec->stop)) {
        return Status::InvalidArgument("ERR value is not an integer or out of range");
      }
      break;
    case ZRangeSpec::kScore:
      if (!ParseScoreRange(lo, hi, &spec->score)) {
        return Status::InvalidArgument("ERR min or max is not a float");
      }
      break;
    case ZRangeSpec::kLex:
      if (!ParseLexRange(lo, hi, &spec->lex)) {
        return Status::InvalidArgument("ERR min or max not valid string range item");
      }
      break;
    case ZRangeSpec::kAuto:
      break;
  }
  return Status::Ok();
}

std::vector<ScoreMemberView> CollectRange(const ZSetValue& z, const ZRangeSpec& spec) {
  std::vector<ScoreMemberView> out;
  const bool rev = spec.direction == ZRangeSpec::kReverse;
  const size_t n = z.size();
  if (spec.kind == ZRangeSpec::kRank) {
    int64_t start = spec.start, stop = spec.stop;
    const auto len = static_cast<int64_t>(n);
    if (start < 0) start += len;
    if (stop < 0) stop += len;
    if (start < 0) start = 0;
    if (start > stop || start >= len) return out;
    if (stop >= len) stop = len - 1;
    out.reserve(static_cast<size_t>(stop - start + 1));
    // Reversed ranks count from the top: collect ascending, then turn around.
    const auto first = static_cast<size_t>(rev ? len - 1 - stop : start);
    const auto count = static_cast<size_t>(stop - start + 1);
    z.ForEach(first, [&](ScoreMemberView v) {
      out.push_back(v);
      return out.size() < count;
    });
    if (rev) std::reverse(out.begin(), out.end());
    return out;
  }
  if (spec.offset < 0) return out;
  // Ascending candidates, then direction, offset and limit.
  std::vector<ScoreMemberView> all;
  if (spec.kind == ZRangeSpec::kScore) {
    z.ForEachFromScore(spec.score.min, spec.score.min_ex, [&](ScoreMemberView v) {
      if (!spec.score.Contains(v.score)) return false;
      all.push_back(v);
      return true;
    });
  } else {
    z.ForEach(0, [&](ScoreMemberView v) {
      if (!spec.lex.AboveMin(v.member)) return true;
      if (!spec.lex.BelowMax(v.member)) return false;
      all.push_back(v);
      return true;
    });
  }
  if (rev) std::reverse(all.begin(), all.end());
  const auto offset = static_cast<size_t>(spec.offset);
  if (offset >= all.size()) return out;
  size_t count = all.size() - offset;
  if (spec.limit >= 0) count = std::min<size_t>(count, static_cast<size_t>(spec.limit));
  out.assign(all.begin() + static_cast<ptrdiff_t>(offset),
             all.begin() + static_cast<ptrdiff_t>(offset + count));
  return out;
}

}  // namespace pier::cache::server
