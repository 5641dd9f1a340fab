// File: glob.h
// Redis's glob-style pattern matching (KEYS, SCAN MATCH, CONFIG GET): * ? [abc] [^a]
// [a-z] and backslash escapes, as Redis's stringmatchlen.
#pragma once

#include <string_view>

namespace pier {

bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase = false);

}  // namespace pier
