// The YAML config reader: any bytes either load or fail with a message; reads never crash.
#include <cstdint>
#include <string_view>

#include "pier/base/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto doc = pier::ConfigDocument::LoadString(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  if (!doc.ok()) return 0;
  auto root = (*doc)->Root();
  std::string s;
  uint64_t u = 0;
  int64_t i = 0;
  bool b = false;
  double d = 0;
  std::vector<std::string> list;
  root.Read("listen", &s);
  root.Read("threads", &u, 0, 1024);
  auto cache = root.Section("cache");
  cache.Read("policy", &s);
  cache.Read("maxmemory", &i, 0, INT64_MAX);
  cache.Read("protected-mode", &b);
  cache.Read("ratio", &d);
  cache.Read("tags", &list);
  cache.Section("nested").Read("x", &s);
  (void)(*doc)->Finish();
  return 0;
}
