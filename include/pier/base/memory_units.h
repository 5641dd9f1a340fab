// File: memory_units.h
// Redis's memory values: "100mb", "1gb", "512k" (k = 1000, kb = 1024, ...), and back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pier/base/status.h"

namespace pier {

Result<uint64_t> ParseMemory(std::string_view text);
std::string HumanBytes(uint64_t bytes);  // "1.50M", as Redis's bytesToHuman

}  // namespace pier
