// File: glob.h
// Redis's glob-style pattern matching for KEYS, SCAN MATCH and HSCAN MATCH: * ? [abc] [^a]
// [a-z] and backslash escapes, as Redis's stringmatchlen.
#pragma once

#include <string_view>

namespace pier::cache::server {

bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase = false);

}  // namespace pier::cache::server
