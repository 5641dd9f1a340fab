// File: strings.h
// Small string helpers every module needs: ASCII case-insensitive comparison and lowering.
//   if (EqualsIgnoreCase(name, "get")) ...;   std::string k = AsciiLower(key);
#pragma once

#include <string>
#include <string_view>

namespace pier {

// ASCII case-insensitive equality (protocol names, header names, command names).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
std::string AsciiLower(std::string_view s);

}  // namespace pier
