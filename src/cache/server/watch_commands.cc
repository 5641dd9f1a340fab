// WATCH: the keys an EXEC depends on (net's MULTI/EXEC runs the transaction). Each shard keeps,
// per watched key, the flags of the clients watching it; every mutation of the key sets them
// (Keyspace::Touch), and so do its expiry and eviction, as Redis 7.0.
#include "cache/server/command.h"

namespace pier::cache::server {

namespace {

class KeyWatch final : public net::RespClient::Watch {
 public:
  explicit KeyWatch(Database& db) : db_(db) {}
  ~KeyWatch() override {
    for (const std::string& key : keys_) {
      const KeyRef k(key);
      auto lock = db_.Lock(k);
      db_.ShardFor(k).Unwatch(key, &changed_);
    }
  }

  void Add(std::string_view key, int64_t now_ms) {
    const KeyRef k(key);
    auto lock = db_.Lock(k);
    for (const std::string& w : keys_) {
      if (w == key) return;
    }
    Keyspace& ks = db_.ShardFor(k);
    ks.Find(key, k.hash, now_ms);  // a key whose TTL already passed goes first: no change later
    ks.Watch(key, &changed_);
    keys_.emplace_back(key);
  }

  bool Changed(int64_t now_ms) override {
    // A watched key whose TTL passed since counts as changed even before anything deleted it:
    // looking it up deletes it, which sets the flag.
    for (const std::string& key : keys_) {
      const KeyRef k(key);
      auto lock = db_.Lock(k);
      db_.ShardFor(k).Find(key, k.hash, now_ms);
    }
    return changed_.load(std::memory_order_relaxed);
  }

 private:
  Database& db_;
  std::vector<std::string> keys_;
  std::atomic<bool> changed_{false};
};

void Watch(CommandContext& c) {
  if (c.client.multi) return c.out.Error("ERR WATCH inside MULTI is not allowed");
  auto* w = dynamic_cast<KeyWatch*>(c.client.watch.get());
  if (w == nullptr) {
    auto fresh = std::make_unique<KeyWatch>(c.db);
    w = fresh.get();
    c.client.watch = std::move(fresh);
  }
  for (size_t i = 1; i < c.argc(); ++i) w->Add(c.args[i], c.now_ms);
  c.out.Ok();
}

}  // namespace

void RegisterWatchCommands(CommandTable& t) {
  t.Add({"watch", -2, net::RespCommand::kNoQueue | kFast | kLoading | kStale, 1, -1, 1, Watch,
         "transaction", "Monitors changes to keys to determine the execution of a transaction.",
         "2.2.0"});
}

}  // namespace pier::cache::server
