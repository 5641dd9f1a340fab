#include "pier/base/glob.h"

#include <cctype>

namespace pier {

namespace {

// Recursion only at '*', bounded by the pattern length; `skip` stops exponential retries on a
// long run of stars (Redis 7's fix for the same problem).
bool Match(const char* p, size_t plen, const char* s, size_t slen, bool nocase, int depth,
           bool* skip) {
  if (depth > 1000) return false;
  auto lower = [&](char c) {
    return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
  };
  while (plen > 0 && slen > 0) {
    switch (p[0]) {
      case '*':
        while (plen > 1 && p[1] == '*') {
          ++p;
          --plen;
        }
        if (plen == 1) return true;
        while (slen > 0) {
          if (Match(p + 1, plen - 1, s, slen, nocase, depth + 1, skip)) return true;
          if (*skip) return false;
          ++s;
          --slen;
        }
        *skip = true;
        return false;
      case '?':
        ++s;
        --slen;
        break;
      case '[': {
        ++p;
        --plen;
        bool negate = plen > 0 && p[0] == '^';
        if (negate) {
          ++p;
          --plen;
        }
        bool matched = false;
        while (plen > 0) {
          if (p[0] == '\\' && plen >= 2) {
            ++p;
            --plen;
            if (p[0] == s[0]) matched = true;
          } else if (p[0] == ']') {
            break;
          } else if (plen >= 3 && p[1] == '-') {
            char a = lower(p[0]), b = lower(p[2]), c = lower(s[0]);
            if (a > b) std::swap(a, b);
            if (c >= a && c <= b) matched = true;
            p += 2;
            plen -= 2;
          } else if (lower(p[0]) == lower(s[0])) {
            matched = true;
          }
          ++p;
          --plen;
        }
        if (plen == 0) {  // no closing bracket: Redis treats the end as the end of the class
          ++plen;
          --p;
        }
        if (negate) matched = !matched;
        if (!matched) return false;
        ++s;
        --slen;
        break;
      }
      case '\\':
        if (plen >= 2) {
          ++p;
          --plen;
        }
        [[fallthrough]];
      default:
        if (lower(p[0]) != lower(s[0])) return false;
        ++s;
        --slen;
        break;
    }
    ++p;
    --plen;
    if (slen == 0) {
      while (plen > 0 && p[0] == '*') {
        ++p;
        --plen;
      }
      break;
    }
  }
  return plen == 0 && slen == 0;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase) {
  bool skip = false;
  return Match(pattern.data(), pattern.size(), str.data(), str.size(), nocase, 0, &skip);
}

}  // namespace pier
