// The sorted-set range parsers: any arguments (the input split at '\n') either parse into a
// range or fail with an "ERR" text; a parsed range, applied to a fixed sorted set, returns only
// members inside it, in the order it promises.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cache/server/zset_range.h"

using pier::cache::server::CollectRange;
using pier::cache::server::ParseZRange;
using pier::cache::server::ZRangeSpec;
using pier::cache::server::ZSetValue;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The same members packed (listpack) and in the tree (skiplist: a long member came and went).
  static const ZSetValue* zsets[2] = {nullptr, nullptr};
  if (!zsets[0]) {
    for (int form = 0; form < 2; ++form) {
      auto* z = new ZSetValue();
      const char* members[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
      const double scores[] = {-INFINITY, -1.5, 0, 0, 1, 2.5, 1e300, INFINITY};
      if (form == 1) z->Set(std::string(100, 'z'), 0);
      for (int i = 0; i < 8; ++i) z->Set(members[i], scores[i]);
      if (form == 1) z->Remove(std::string(100, 'z'));
      zsets[form] = z;
    }
  }
  if (size == 0) return 0;
  const ZSetValue* zset = zsets[(data[0] >> 1) & 1];
  const bool store = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> args;
  while (args.size() < 16) {
    size_t nl = in.find('\n');
    args.push_back(in.substr(0, nl));
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  ZRangeSpec spec;
  pier::Status st = ParseZRange(args, 0, store, &spec);
  if (!st.ok()) {
    if (st.message().rfind("ERR ", 0) != 0) __builtin_trap();
    return 0;
  }
  if (spec.kind == ZRangeSpec::kAuto || spec.direction == ZRangeSpec::kAutoDirection) {
    __builtin_trap();
  }
  if (store && spec.withscores) __builtin_trap();
  auto items = CollectRange(*zset, spec);
  if (items.size() > zset->size()) __builtin_trap();
  if (spec.limit >= 0 && spec.kind != ZRangeSpec::kRank && items.size() > size_t(spec.limit)) {
    __builtin_trap();
  }
  const bool rev = spec.direction == ZRangeSpec::kReverse;
  for (size_t i = 0; i < items.size(); ++i) {
    if (spec.kind == ZRangeSpec::kScore && !spec.score.Contains(items[i].score)) __builtin_trap();
    if (spec.kind == ZRangeSpec::kLex && !spec.lex.Contains(items[i].member)) __builtin_trap();
    if (i > 0) {
      const bool ascending =
          items[i - 1].score < items[i].score ||
          (items[i - 1].score == items[i].score && items[i - 1].member < items[i].member);
      if (ascending == rev) __builtin_trap();
    }
  }
  return 0;
}
