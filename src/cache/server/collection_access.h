// File: collection_access.h
// What the list, set and sorted-set commands share: finding a key as a given type (WRONGTYPE
// otherwise), creating it for a write (after making room under maxmemory), accounting a change
// and deleting a collection left empty (as Redis deletes empty lists, sets and sorted sets),
// range arithmetic, and blocking on keys.
#pragma once

#include <string_view>
#include <vector>

#include "cache/server/collections.h"
#include "cache/server/command.h"

namespace pier::cache::server {

// The entry of `k` if it holds a T; nullptr when absent. `*wrong` is set (and WRONGTYPE replied)
// when it holds another type. `lookup`: count a hit or miss (reads).
template <typename T>
Entry* FindAs(CommandContext& c, const KeyRef& k, bool* wrong, bool lookup = true) {
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = lookup ? ks.Lookup(k.key, k.hash, c.now_ms) : ks.Find(k.key, k.hash, c.now_ms);
  *wrong = e != nullptr && e->type != T::kType;
  if (*wrong) {
    c.out.Error(kErrWrongType);
    return nullptr;
  }
  return e;
}

// For a pop that may answer a parked client: the entry of `k` if it holds a T, else nullptr.
// Another type answers WRONGTYPE on the command's first try (`*answered` is set), and is skipped
// when serving a parked client (as Redis 7.0).
template <typename T>
Entry* FindToPop(CommandContext& c, const KeyRef& k, bool first, bool* answered) {
  Entry* e = c.db.ShardFor(k).Find(k.key, k.hash, c.now_ms);
  *answered = false;
  if (e && e->type != T::kType) {
    if (first) c.out.Error(kErrWrongType);
    *answered = first;
    return nullptr;
  }
  return e;
}

template <typename T>
T* ValueOf(Entry* e) {
  return e ? static_cast<T*>(e->object()) : nullptr;
}

// The entry of `k` as a T for writing, created empty when absent; nullptr after replying
// WRONGTYPE or OOM.
template <typename T>
Entry* FindOrCreate(CommandContext& c, const KeyRef& k) {
  if (!c.db.MakeRoom(&k, 1)) {
    c.out.Error(kErrOom);
    return nullptr;
  }
  bool wrong;
  Entry* e = FindAs<T>(c, k, &wrong, false);
  if (wrong) return nullptr;
  return e ? e : c.db.ShardFor(k).CreateObject(k.key, k.hash, std::make_unique<T>());
}

// Accounts one command's change of a collection when it ends, deleting it when left empty
// (unless kKeepEmpty: streams stay).
class Edit {
 public:
  enum EmptyPolicy { kDeleteEmpty, kKeepEmpty };
  Edit(CommandContext& c, const KeyRef& k, Entry* e, EmptyPolicy empty = kDeleteEmpty)
      : ks_(c.db.ShardFor(k)),
        e_(e),
        before_(e ? e->object()->MemoryBytes() : 0),
        delete_empty_(empty == kDeleteEmpty) {}
  ~Edit() { Done(); }
  Edit(const Edit&) = delete;
  Edit& operator=(const Edit&) = delete;
  // The command changed nothing after all (SREM of a non-member, LSET out of range): a WATCH
  // on the key stays intact and no notification names it.
  void Unchanged() { changed_ = false; }
  // Ends the edit early (before the entry may be replaced).
  void Done() {
    if (e_ == nullptr) return;
    ks_.ObjectChanged(e_, before_, changed_);
    if (delete_empty_ && e_->object()->size() == 0) ks_.Delete(e_);
    e_ = nullptr;
  }

 private:
  Keyspace& ks_;
  Entry* e_;
  size_t before_;
  bool delete_empty_;
  bool changed_ = true;
};

// Redis's start/stop index arithmetic (LRANGE, ZRANGE, LTRIM): negative counts from the end;
// false when the range is empty. On true, 0 <= *start <= *stop < len.
bool ClampRange(int64_t start, int64_t stop, size_t len, size_t* out_start, size_t* out_stop);

// Parses a timeout in seconds (fractions allowed) into ms; false after Redis's error.
bool ParseTimeout(CommandContext& c, std::string_view arg, int64_t* ms);

// Parses numkeys at args[at] with Redis's errors ("numkeys should be greater than 0", "Number of
// keys can't be greater than number of args").
bool ParseNumKeys(CommandContext& c, size_t at, size_t* n);

// [B]LMPOP and [B]ZMPOP: [timeout] numkeys key... LEFT|RIGHT (MIN|MAX) [COUNT n], numkeys at
// args[at]; false after Redis's error.
struct MPopArgs {
  std::vector<std::string> keys;
  bool first_end = true;  // LEFT / MIN
  int64_t count = 1;
};
bool ParseMPop(CommandContext& c, size_t at, std::string_view first_end, std::string_view last_end,
               MPopArgs* a);
// The same for a parked command, whose arguments parsed before it parked.
MPopArgs ReparseMPop(CommandContext& c, size_t at, std::string_view first_end,
                     std::string_view last_end);

// A blocking command: serve(c, key, first) tries to answer from one key into c.out (see
// BlockingKeys::Serve). BlockOn answers at once when a key serves; else parks the client
// (c.later) until `timeout_ms` (0: forever). Later tries run on the thread that made a key
// ready, with a context holding a copy of the command's arguments.
using BlockServe = bool (*)(CommandContext& c, std::string_view key, bool first);
void BlockOn(CommandContext& c, std::vector<std::string> keys, int64_t timeout_ms, BlockServe serve,
             bool null_array);

}  // namespace pier::cache::server
