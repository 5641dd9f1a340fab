// The architecture spec: any text parses into a model that Validate checks and both exports
// write without crashing, or fails with a message that names the file.
#include <cstdint>
#include <string_view>

#include "pier/deploy/export.h"
#include "pier/deploy/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = pier::deploy::ParseArchitecture(text, "fuzz.yaml");
  if (!a.ok()) {
    if (a.status().message().rfind("fuzz.yaml", 0) != 0) __builtin_trap();
    return 0;
  }
  auto problems = pier::deploy::Validate(*a, {.capacity = {.cpus = 2, .memory_bytes = 1 << 30}});
  for (const auto& p : problems) {
    if (p.message.empty() || p.fix.empty()) __builtin_trap();
  }
  if (pier::deploy::ExportCompose(*a).text.empty()) __builtin_trap();
  if (pier::deploy::ExportKubernetes(*a).text.empty()) __builtin_trap();
  return 0;
}
