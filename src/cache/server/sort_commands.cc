// Commands over every type: SORT SORT_RO (BY, GET, LIMIT, ASC|DESC, ALPHA, STORE), OBJECT
// ENCODING|REFCOUNT|FREQ|IDLETIME|HELP, COPY and MOVE, as Redis 7.0.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "cache/server/collection_access.h"

namespace pier::cache::server {

namespace {

// The elements of a list, set or sorted set (in its order); false after WRONGTYPE.
bool ElementsOf(CommandContext& c, Entry* e, std::vector<std::string>* out) {
  if (!e) return true;
  switch (e->type) {
    case ValueType::kList: {
      ValueOf<ListValue>(e)->ForEach(0, [&](size_t, std::string_view v) {
        out->emplace_back(v);
        return true;
      });
      return true;
    }
    case ValueType::kSet:
      *out = ValueOf<SetValue>(e)->Members();
      return true;
    case ValueType::kZSet:
      ValueOf<ZSetValue>(e)->ForEach(0, [&](ScoreMemberView v) {
        out->emplace_back(v.member);
        return true;
      });
      return true;
    default:
      c.out.Error(kErrWrongType);
      return false;
  }
}

// Redis's lookupKeyByPattern: the first '*' in `pattern` becomes `elem`; "key->field" reads a
// hash field. "#" is the element itself.
std::optional<std::string> ByPattern(CommandContext& c, std::string_view pattern,
                                     const std::string& elem) {
  if (pattern == "#") return elem;
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return std::nullopt;
  std::string_view field;
  const size_t arrow = pattern.find("->", star);
  std::string_view key_pat = pattern;
  if (arrow != std::string_view::npos && arrow + 2 < pattern.size()) {
    field = pattern.substr(arrow + 2);
    key_pat = pattern.substr(0, arrow);
  }
  std::string key(key_pat.substr(0, star));
  key += elem;
  key += key_pat.substr(star + 1);
  KeyRef k(key);
  Entry* e = c.db.ShardFor(k).Find(k.key, k.hash, c.now_ms);
  if (!e) return std::nullopt;
  if (!field.empty()) {
    if (e->type != ValueType::kHash) return std::nullopt;
    auto v = e->hash()->Get(field);
    return v ? std::optional<std::string>(*v) : std::nullopt;
  }
  if (e->type != ValueType::kString) return std::nullopt;
  return std::string(e->str());
}

void SortGeneric(CommandContext& c, bool readonly) {
  std::string_view by;
  std::vector<std::string_view> gets;
  int64_t offset = 0, count = -1;
  bool desc = false, alpha = false, nosort = false;
  std::string_view store;
  for (size_t i = 2; i < c.argc(); ++i) {
    const size_t left = c.argc() - i - 1;
    std::string_view a = c.args[i];
    if (EqualsIgnoreCase(a, "ASC")) {
      desc = false;
    } else if (EqualsIgnoreCase(a, "DESC")) {
      desc = true;
    } else if (EqualsIgnoreCase(a, "ALPHA")) {
      alpha = true;
    } else if (EqualsIgnoreCase(a, "LIMIT") && left >= 2) {
      if (!ParseInt64(c.args[i + 1], &offset) || !ParseInt64(c.args[i + 2], &count)) {
        return c.out.Error(kErrNotInteger);
      }
      i += 2;
    } else if (!readonly && EqualsIgnoreCase(a, "STORE") && left >= 1) {
      store = c.args[++i];
    } else if (EqualsIgnoreCase(a, "BY") && left >= 1) {
      by = c.args[++i];
      if (by.find('*') == std::string_view::npos) nosort = true;
    } else if (EqualsIgnoreCase(a, "GET") && left >= 1) {
      gets.push_back(c.args[++i]);
    } else {
      return c.out.Error(kErrSyntax);
    }
  }
  // Patterns may name keys in any shard: take them all. Otherwise the key and the destination.
  ShardLock lock;
  KeyRef keys[2] = {KeyRef(c.args[1]), KeyRef(store.empty() ? c.args[1] : store)};
  if (!gets.empty() || (!by.empty() && !nosort)) {
    lock = c.db.LockAll();
  } else {
    lock = c.db.Lock(keys, 2);
  }
  std::vector<std::string> elems;
  if (!ElementsOf(c, c.db.ShardFor(keys[0]).Lookup(keys[0].key, keys[0].hash, c.now_ms), &elems)) {
    return;
  }
  if (!nosort) {
    struct Item {
      std::string elem;
      double score = 0;
      std::optional<std::string> weight;
    };
    std::vector<Item> items;
    items.reserve(elems.size());
    for (auto& el : elems) {
      Item it{std::move(el), 0, std::nullopt};
      it.weight = by.empty() ? std::optional<std::string>(it.elem) : ByPattern(c, by, it.elem);
      if (!alpha && it.weight) {
        std::string copy = *it.weight;
        char* end = nullptr;
        errno = 0;
        it.score = std::strtod(copy.c_str(), &end);
        if (copy.empty() || *end != '\0' || errno == ERANGE || std::isnan(it.score)) {
          return c.out.Error("ERR One or more scores can't be converted into double");
        }
      }
      items.push_back(std::move(it));
    }
    std::sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
      int cmp;
      if (alpha) {
        const std::string empty;
        const std::string& x = a.weight ? *a.weight : empty;
        const std::string& y = b.weight ? *b.weight : empty;
        if (!by.empty() && (!a.weight || !b.weight)) {
          cmp = a.weight ? 1 : b.weight ? -1 : 0;
        } else {
          cmp = x.compare(y);
        }
      } else {
        cmp = a.score < b.score ? -1 : a.score > b.score ? 1 : 0;
      }
      if (cmp == 0) cmp = a.elem.compare(b.elem);
      return desc ? cmp > 0 : cmp < 0;
    });
    elems.clear();
    for (auto& it : items) elems.push_back(std::move(it.elem));
  }
  // Redis's LIMIT arithmetic.
  const auto len = static_cast<int64_t>(elems.size());
  int64_t start = offset < 0 ? 0 : offset;
  int64_t end = count < 0 ? len - 1 : start + count - 1;
  if (start >= len) {
    start = len - 1;
    end = len - 2;
  }
  if (end >= len) end = len - 1;
  std::vector<std::optional<std::string>> out;
  for (int64_t i = start; i <= end && i >= 0; ++i) {
    const std::string& el = elems[static_cast<size_t>(i)];
    if (gets.empty()) {
      out.emplace_back(el);
    } else {
      for (std::string_view g : gets) out.push_back(ByPattern(c, g, el));
    }
  }
  if (store.empty()) {
    c.out.ArrayHeader(static_cast<int64_t>(out.size()));
    for (const auto& v : out) {
      if (v) {
        c.out.Bulk(*v);
      } else {
        c.out.Null();
      }
    }
    return;
  }
  Keyspace& ks = c.db.ShardFor(keys[1]);
  if (Entry* old = ks.Find(keys[1].key, keys[1].hash, c.now_ms)) ks.Delete(old);
  if (!out.empty()) {
    auto l = std::make_unique<ListValue>();
    for (const auto& v : out) l->Push(false, v ? *v : std::string());
    ks.CreateObject(keys[1].key, keys[1].hash, std::move(l));
  }
  c.out.Integer(static_cast<int64_t>(out.size()));
}
void Sort(CommandContext& c) { SortGeneric(c, false); }
void SortRo(CommandContext& c) { SortGeneric(c, true); }

std::string_view StringEncoding(std::string_view s) {
  int64_t v;
  if (s.size() <= 20 && ParseInt64(s, &v)) return "int";
  return s.size() <= 44 ? "embstr" : "raw";
}

void Object(CommandContext& c) {
  const std::string sub = Lower(c.args[1]);
  if (sub == "help") {
    c.out.Lines(
        {"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "ENCODING <key>",
         "    Return the kind of internal representation used in order to store the value",
         "    associated with a <key>.", "FREQ <key>",
         "    Return the access logarithmic access frequency counter of a <key>.", "IDLETIME <key>",
         "    Return the idle time of a <key>, that is the approximated number of",
         "    seconds elapsed since the last access to the key.", "REFCOUNT <key>",
         "    Return the number of references of the value associated with the specified",
         "    <key>.", "HELP", "    Print this help."});
    return;
  }
  if (sub != "encoding" && sub != "refcount" && sub != "freq" && sub != "idletime") {
    return c.out.Error("ERR unknown subcommand '" + std::string(c.args[1]) + "'. Try OBJECT HELP.");
  }
  if (c.argc() != 3) {
    return c.out.Error("ERR wrong number of arguments for 'object|" + sub + "' command");
  }
  KeyRef k(c.args[2]);
  auto lock = c.db.Lock(k);
  Entry* e = c.db.ShardFor(k).Find(k.key, k.hash, c.now_ms);
  if (!e) return c.out.Null();
  if (sub == "encoding") {
    return c.out.Bulk(e->type == ValueType::kString ? StringEncoding(e->str())
                                                    : e->object()->encoding());
  }
  if (sub == "refcount") return c.out.Integer(1);
  // pier's policies keep their own metadata (sketches, queues), not Redis's per-key clock.
  c.out.Error("ERR OBJECT " + Lower(sub) +
              " is not supported by pier: its eviction policies keep no per-key access clock");
}

// COPY source destination [DB destination-db] [REPLACE]
void Copy(CommandContext& c) {
  bool replace = false;
  for (size_t i = 3; i < c.argc(); ++i) {
    if (EqualsIgnoreCase(c.args[i], "REPLACE")) {
      replace = true;
    } else if (EqualsIgnoreCase(c.args[i], "DB") && i + 1 < c.argc()) {
      int64_t db;
      if (!ParseInt64(c.args[++i], &db)) return c.out.Error(kErrNotInteger);
      if (db != 0) return c.out.Error("ERR DB index is out of range");
    } else {
      return c.out.Error(kErrSyntax);
    }
  }
  KeyRef keys[2] = {KeyRef(c.args[1]), KeyRef(c.args[2])};
  if (keys[0].key == keys[1].key) {
    return c.out.Error("ERR source and destination objects are the same");
  }
  auto lock = c.db.Lock(keys, 2);
  Entry* src = c.db.ShardFor(keys[0]).Find(keys[0].key, keys[0].hash, c.now_ms);
  if (!src) return c.out.Integer(0);
  Keyspace& dst = c.db.ShardFor(keys[1]);
  if (Entry* old = dst.Find(keys[1].key, keys[1].hash, c.now_ms)) {
    if (!replace) return c.out.Integer(0);
    dst.Delete(old);
  }
  if (!c.db.MakeRoom(&keys[1], 1)) return c.out.Error(kErrOom);
  Entry* n = dst.CopyValue(src, keys[1].key, keys[1].hash);
  if (src->expire_ms != 0) dst.SetExpire(n, src->expire_ms, false);
  c.out.Integer(1);
}

// MOVE key db: pier has database 0 only.
void Move(CommandContext& c) {
  int64_t db;
  if (!ParseInt64(c.args[2], &db)) return c.out.Error(kErrNotInteger);
  if (db == 0) return c.out.Error("ERR source and destination objects are the same");
  c.out.Error("ERR DB index is out of range");
}

}  // namespace

void RegisterSortCommands(CommandTable& t) {
  t.Add({"sort", -2, kWrite | kDenyOom, 1, 1, 1, Sort, "generic",
         "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
         "1.0.0"});
  t.Add({"sort_ro", -2, kReadonly, 1, 1, 1, SortRo, "generic",
         "Returns the sorted elements of a list, a set, or a sorted set.", "7.0.0"});
  t.Add({"object", -2, kReadonly, 2, 2, 1, Object, "generic",
         "A container for object introspection commands.", "2.2.3"});
  t.Add({"copy", -3, kWrite | kDenyOom, 1, 2, 1, Copy, "generic",
         "Copies the value of a key to a new key.", "6.2.0"});
  t.Add({"move", 3, kWrite | kFast, 1, 1, 1, Move, "generic", "Moves a key to another database.",
         "1.0.0"});
}

}  // namespace pier::cache::server
