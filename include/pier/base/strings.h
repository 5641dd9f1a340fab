// File: strings.h
// Small string helpers every module needs: ASCII case-insensitive comparison and lowering.
//   if (EqualsIgnoreCase(name, "get")) ...;   std::string k = AsciiLower(key);
#pragma once

#include <string>
#include <string_view>

#include "pier/base/status.h"

namespace pier {

// ASCII case-insensitive equality (protocol names, header names, command names).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
std::string AsciiLower(std::string_view s);

// `s` as a JSON string, quotes included: quotes, backslashes and control characters escaped,
// bytes of 0x7f and above as \u00XX, so the text is valid JSON whatever bytes a client sent.
void AppendJsonString(std::string& out, std::string_view s);

// Names that become parts of paths and identifiers (services, versions, instances: log files,
// cgroups, data directories): 1-63 of [A-Za-z0-9._-], starting with a letter or digit, so never
// "/", "..", spaces or control characters. The error says what `kind` is wrong and why.
Status CheckName(std::string_view kind, std::string_view name);

}  // namespace pier
