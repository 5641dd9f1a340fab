// Streams: XADD XRANGE XREVRANGE XLEN XDEL XTRIM, as Redis 7.0 (no consumer groups or XREAD
// yet). An emptied stream stays, as Redis's does.
#include "cache/server/collection_access.h"
#include "cache/server/stream.h"

namespace pier::cache::server {

namespace {

constexpr std::string_view kErrBadId = "ERR Invalid stream ID specified as stream command argument";

// MAXLEN|MINID [=|~] threshold [LIMIT count], as XADD and XTRIM take them.
struct TrimArgs {
  enum { kNone, kMaxLen, kMinId } strategy = kNone;
  bool approx = false;
  uint64_t maxlen = 0;
  StreamId min_id;
  int64_t limit = -1;       // -1: not given
  bool nomkstream = false;  // XADD only
};

// Parses trim options (and XADD's NOMKSTREAM) from args[*i] on, stopping at the first other
// argument (XADD's id). False after Redis's error.
bool ParseTrim(CommandContext& c, size_t* i, bool xadd, TrimArgs* t) {
  for (; *i < c.argc(); ++*i) {
    const std::string_view a = c.args[*i];
    const bool more = *i + 1 < c.argc();
    if (xadd && EqualsIgnoreCase(a, "NOMKSTREAM")) {
      t->nomkstream = true;
      continue;
    }
    if ((EqualsIgnoreCase(a, "MAXLEN") || EqualsIgnoreCase(a, "MINID")) && more) {
      const bool maxlen = EqualsIgnoreCase(a, "MAXLEN");
      if (t->strategy != TrimArgs::kNone) {
        c.out.Error(
            "ERR syntax error, MAXLEN and MINID options at the same time are not "
            "compatible");
        return false;
      }
      t->strategy = maxlen ? TrimArgs::kMaxLen : TrimArgs::kMinId;
      ++*i;
      if ((c.args[*i] == "~" || c.args[*i] == "=") && *i + 1 < c.argc()) {
        t->approx = c.args[*i] == "~";
        ++*i;
      }
      if (maxlen) {
        int64_t n;
        if (!ParseInt64(c.args[*i], &n)) {
          c.out.Error(kErrNotInteger);
          return false;
        }
        if (n < 0) {
          c.out.Error("ERR The MAXLEN argument must be >= 0.");
          return false;
        }
        t->maxlen = static_cast<uint64_t>(n);
      } else if (!ParseStreamId(c.args[*i], 0, &t->min_id)) {
        c.out.Error(kErrBadId);
        return false;
      }
      continue;
    }
    if (EqualsIgnoreCase(a, "LIMIT") && more) {
      if (!ParseInt64(c.args[++*i], &t->limit)) {
        c.out.Error(kErrNotInteger);
        return false;
      }
      if (t->limit < 0) {
        c.out.Error("ERR The LIMIT argument must be >= 0.");
        return false;
      }
      continue;
    }
    break;
  }
  if (t->limit >= 0 && t->strategy == TrimArgs::kNone) {
    c.out.Error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return false;
  }
  if (t->limit >= 0 && !t->approx) {
    c.out.Error("ERR syntax error, LIMIT cannot be used without the special ~ option");
    return false;
  }
  return true;
}

size_t ApplyTrim(StreamValue* s, const TrimArgs& t) {
  // Redis bounds an approximate trim to 100 nodes' worth of entries unless LIMIT says.
  const size_t limit = !t.approx      ? 0
                       : t.limit >= 0 ? static_cast<size_t>(t.limit)
                                      : 100 * StreamValue::kNodeEntries;
  if (t.strategy == TrimArgs::kMaxLen) return s->TrimLen(t.maxlen, t.approx, limit);
  if (t.strategy == TrimArgs::kMinId) return s->TrimMinId(t.min_id, t.approx, limit);
  return 0;
}

void XAdd(CommandContext& c) {
  size_t i = 2;
  TrimArgs trim;
  if (!ParseTrim(c, &i, true, &trim)) return;
  // The id, then field value pairs.
  if (i >= c.argc() || (c.argc() - i - 1) % 2 != 0 || c.argc() - i - 1 == 0) {
    return c.WrongArity();
  }
  const std::string_view id_arg = c.args[i];
  bool auto_seq = false, auto_id = id_arg == "*";
  StreamId id;
  if (!auto_id) {
    std::string_view text = id_arg;
    if (text.size() > 2 && text.substr(text.size() - 2) == "-*") {
      auto_seq = true;
      text.remove_suffix(2);
    }
    if (!ParseStreamId(text, 0, &id) || (auto_seq && text.find('-') != std::string_view::npos)) {
      return c.out.Error(kErrBadId);
    }
    if (!auto_seq && id == StreamId{}) {
      return c.out.Error("ERR The ID specified in XADD must be greater than 0-0");
    }
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Entry* e;
  if (trim.nomkstream) {
    bool wrong;
    e = FindAs<StreamValue>(c, k, &wrong, false);
    if (wrong) return;
    if (!e) return c.out.Null();
  } else {
    e = FindOrCreate<StreamValue>(c, k);
    if (!e) return;
  }
  auto* s = ValueOf<StreamValue>(e);
  const StreamId last = s->last_id();
  constexpr std::string_view kErrSmaller =
      "ERR The ID specified in XADD is equal or smaller than the target stream top item";
  if (auto_id) {
    const uint64_t now = static_cast<uint64_t>(c.now_ms);
    id = now > last.ms ? StreamId{now, 0} : StreamId{last.ms, last.seq + 1};
    if (now <= last.ms && last.seq == UINT64_MAX) id = {last.ms + 1, 0};
  } else if (auto_seq) {
    if (id.ms < last.ms || (id.ms == last.ms && last.seq == UINT64_MAX)) {
      return c.out.Error(kErrSmaller);
    }
    id.seq = id.ms == last.ms ? last.seq + 1 : 0;
  } else if (id <= last) {
    return c.out.Error(kErrSmaller);
  }
  Edit edit(c, k, e, Edit::kKeepEmpty);  // an emptied stream stays, as Redis
  PackedStrings fields;
  for (size_t f = i + 1; f < c.argc(); ++f) fields.PushBack(c.args[f]);
  s->Add(id, std::move(fields));
  if (ApplyTrim(s, trim) > 0) CommandEvents::Also(k.key, kNotifyStream, "xtrim");
  c.out.Bulk(id.ToString());
}

void WriteEntry(CommandContext& c, const StreamId& id, const StreamValue::Item& item) {
  c.out.ArrayHeader(2);
  c.out.Bulk(id.ToString());
  c.out.ArrayHeader(static_cast<int64_t>(item.fields.size()));
  item.fields.ForEach([&](std::string_view v) { c.out.Bulk(v); });
}

// XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n].
void RangeGeneric(CommandContext& c, bool rev) {
  const std::string_view lo_arg = c.args[rev ? 3 : 2], hi_arg = c.args[rev ? 2 : 3];
  StreamId lo, hi;
  auto bound = [&](std::string_view a, bool low, StreamId* id) {
    if (a == "-") return *id = StreamId{}, true;
    if (a == "+") return *id = StreamId::Max(), true;
    const bool excl = !a.empty() && a[0] == '(';
    if (excl) a.remove_prefix(1);
    if (!ParseStreamId(a, low ? 0 : UINT64_MAX, id)) {
      c.out.Error(kErrBadId);
      return false;
    }
    if (!excl) return true;
    if (low) {
      if (*id == StreamId::Max())
        return c.out.Error("ERR invalid start ID for the interval"), false;
      *id = id->seq == UINT64_MAX ? StreamId{id->ms + 1, 0} : StreamId{id->ms, id->seq + 1};
    } else {
      if (*id == StreamId{}) return c.out.Error("ERR invalid end ID for the interval"), false;
      *id = id->seq == 0 ? StreamId{id->ms - 1, UINT64_MAX} : StreamId{id->ms, id->seq - 1};
    }
    return true;
  };
  if (!bound(lo_arg, true, &lo) || !bound(hi_arg, false, &hi)) return;
  int64_t count = -1;
  if (c.argc() == 6 && EqualsIgnoreCase(c.args[4], "COUNT")) {
    if (!ParseInt64(c.args[5], &count)) return c.out.Error(kErrNotInteger);
    if (count < 0) count = 0;
  } else if (c.argc() != 4) {
    return c.out.Error(kErrSyntax);
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<StreamValue>(c, k, &wrong);
  if (wrong) return;
  if (count == 0) return c.out.NullArray();  // as Redis, for COUNT 0 or below
  if (!e || lo > hi) return c.out.ArrayHeader(0);
  const auto& all = ValueOf<StreamValue>(e)->entries();
  auto first = all.lower_bound(lo), last = all.upper_bound(hi);
  size_t n = static_cast<size_t>(std::distance(first, last));
  if (count > 0) n = std::min(n, static_cast<size_t>(count));
  c.out.ArrayHeader(static_cast<int64_t>(n));
  if (!rev) {
    for (auto it = first; n > 0; ++it, --n) WriteEntry(c, it->first, it->second);
  } else {
    for (auto it = std::make_reverse_iterator(last); n > 0; ++it, --n) {
      WriteEntry(c, it->first, it->second);
    }
  }
}
void XRange(CommandContext& c) { RangeGeneric(c, false); }
void XRevRange(CommandContext& c) { RangeGeneric(c, true); }

void XLen(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<StreamValue>(c, k, &wrong);
  if (!wrong) c.out.Integer(e ? static_cast<int64_t>(ValueOf<StreamValue>(e)->size()) : 0);
}

// Replies fn(stream), the entries it removed from args[1]'s stream (0 when absent).
template <typename Fn>
void RemoveFromStream(CommandContext& c, Fn&& fn) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<StreamValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return c.out.Integer(0);
  Edit edit(c, k, e, Edit::kKeepEmpty);  // an emptied stream stays, as Redis
  const size_t n = fn(ValueOf<StreamValue>(e));
  if (n == 0) edit.Unchanged();
  c.out.Integer(static_cast<int64_t>(n));
}

void XDel(CommandContext& c) {
  std::vector<StreamId> ids(c.argc() - 2);
  for (size_t i = 2; i < c.argc(); ++i) {
    if (!ParseStreamId(c.args[i], 0, &ids[i - 2])) return c.out.Error(kErrBadId);
  }
  RemoveFromStream(c, [&](StreamValue* s) {
    size_t n = 0;
    for (const StreamId& id : ids) n += s->Delete(id);
    return n;
  });
}

void XTrim(CommandContext& c) {
  size_t i = 2;
  TrimArgs trim;
  if (!ParseTrim(c, &i, false, &trim)) return;
  if (i < c.argc()) return c.out.Error(kErrSyntax);
  if (trim.strategy == TrimArgs::kNone) {
    return c.out.Error("ERR syntax error, XTRIM must be called with a trimming strategy");
  }
  RemoveFromStream(c, [&](StreamValue* s) { return ApplyTrim(s, trim); });
}

}  // namespace

void RegisterStreamCommands(CommandTable& t) {
  const uint32_t w = kWrite;
  t.Add({"xadd", -5, w | kDenyOom | kFast, 1, 1, 1, XAdd, "stream",
         "Appends a new message to a stream. Creates the key if it doesn't exist.", "5.0.0"});
  t.Add({"xrange", -4, kReadonly, 1, 1, 1, XRange, "stream",
         "Returns the messages from a stream within a range of IDs.", "5.0.0"});
  t.Add({"xrevrange", -4, kReadonly, 1, 1, 1, XRevRange, "stream",
         "Returns the messages from a stream within a range of IDs in reverse order.", "5.0.0"});
  t.Add({"xlen", 2, kReadonly | kFast, 1, 1, 1, XLen, "stream",
         "Return the number of messages in a stream.", "5.0.0"});
  t.Add({"xdel", -3, w | kFast, 1, 1, 1, XDel, "stream",
         "Returns the number of messages after removing them from a stream.", "5.0.0"});
  t.Add({"xtrim", -4, w, 1, 1, 1, XTrim, "stream",
         "Deletes messages from the beginning of a stream.", "5.0.0"});
}

}  // namespace pier::cache::server
