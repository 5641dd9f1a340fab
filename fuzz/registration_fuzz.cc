// The Consul registration body: any bytes either parse into a definition that survives a round
// trip through pier's own JSON form, or fail with a message; never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "registry/definition_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto def = pier::registry::ParseServiceRegistration(body);
  if (!def.ok()) {
    if (def.status().message().empty()) std::abort();  // every error says what is wrong
    return 0;
  }
  auto back = pier::registry::ServiceFromJson(pier::registry::ServiceToJson(*def));
  if (!back.ok() || !(*back == *def)) std::abort();
  for (const auto& c : def->checks) {
    (void)pier::FormatGoDuration(c.interval);
    if (!c.http.empty()) (void)pier::registry::ParseHttpUrl(c.http);
  }
  return 0;
}
