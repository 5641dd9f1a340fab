// The queue's RESP command parser: any arguments (the input split at '\n') parse into a command
// or fail with an "ERR" text; a parsed command's fields hold what the parser promises.
#include <cstdint>
#include <string_view>
#include <vector>

#include "queue/server/command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  while (!in.empty() && args.size() < 64) {
    size_t nl = in.find('\n');
    args.push_back(in.substr(0, nl));
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  if (args.empty()) return 0;
  auto c = pier::queue::ParseQueueCommand(args);
  if (!c.ok()) {
    if (c.status().message().rfind("ERR ", 0) != 0) __builtin_trap();
    return 0;
  }
  using pier::queue::CommandKind;
  for (const auto& p : c->publish) {
    if (p.priority < 0 || p.priority > 255 || p.delay_ms < 0) __builtin_trap();
  }
  if ((c->kind == CommandKind::kPublish || c->kind == CommandKind::kMultiPublish) &&
      c->publish.empty()) {
    __builtin_trap();
  }
  if ((c->kind == CommandKind::kAck || c->kind == CommandKind::kNack) && c->ids.empty()) {
    __builtin_trap();
  }
  for (uint64_t id : c->ids) {
    if (id == 0) __builtin_trap();
  }
  // A consume's count is 0 (the server's consume batch) or what COUNT said; QDEAD LIST's not 0.
  if (c->count > 10000) __builtin_trap();
  if (c->kind == CommandKind::kDeadList && c->count == 0) {
    __builtin_trap();
  }
  return 0;
}
