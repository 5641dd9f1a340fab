// The proxy's YAML config: any text parses into a config whose routes all name a cluster that
// exists (or split over existing clusters with weights that do not all add to 0), or fails
// with a message that names the file. An access log's format parses again and renders a line.
#include <cstdint>
#include <string_view>

#include "pier/proxy/config.h"
#include "proxy/access_line.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = pier::proxy::ParseProxyConfig(text, "fuzz.yaml");
  if (!c.ok()) {
    if (c.status().message().rfind("fuzz.yaml", 0) != 0) __builtin_trap();
    return 0;
  }
  if (c->listeners.empty()) __builtin_trap();
  for (const auto& l : c->listeners) {
    if (!l.access_log_path.empty()) {
      auto format = pier::proxy::LineFormat::Parse(l.access_log_format);
      if (!format.ok()) __builtin_trap();
      pier::proxy::AccessRecord r;
      r.target = l.access_log_format;
      if (format->Line(r).back() != '\n') __builtin_trap();
    }
    for (const auto& r : l.routes) {
      if (r.path_prefix.empty() || r.path_prefix[0] != '/') __builtin_trap();
      if (r.split.empty()) {
        if (!c->FindCluster(r.cluster)) __builtin_trap();
        continue;
      }
      uint64_t total = 0;
      for (const auto& w : r.split) {
        if (!c->FindCluster(w.cluster)) __builtin_trap();
        total += w.weight;
      }
      if (total == 0 || !r.cluster.empty()) __builtin_trap();
    }
  }
  for (const auto& cl : c->clusters) {
    if (cl.endpoints.empty() == cl.service.empty()) __builtin_trap();
  }
  return 0;
}
