// File: notify.h
// Keyspace notifications (Redis's notify-keyspace-events): what changed in the keyspace is
// published to `__keyspace@0__:<key>` (the event as message) and `__keyevent@0__:<event>` (the
// key as message).
//
// One mechanism for every command: while a command runs, the keyspace records which keys it
// created, changed, deleted or gave a TTL (CommandEvents); when the command ends, each key's
// record becomes Redis's events ("new" when the key is added, then per key in the order the
// command names them: the command's event, "expire" or "persist", "del"), named by the
// command's rule (notify.cc). Expiry, eviction and key misses are published where they happen.
// Nothing is recorded while notifications are off.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pier::net {
class PubSub;
}

namespace pier::cache::server {

struct CommandSpec;

// Event classes, as Redis's NOTIFY_* flags.
enum NotifyClass : uint32_t {
  kNotifyKeyspace = 1 << 0,  // K
  kNotifyKeyevent = 1 << 1,  // E
  kNotifyGeneric = 1 << 2,   // g
  kNotifyString = 1 << 3,    // $
  kNotifyList = 1 << 4,      // l
  kNotifySet = 1 << 5,       // s
  kNotifyHash = 1 << 6,      // h
  kNotifyZset = 1 << 7,      // z
  kNotifyExpired = 1 << 8,   // x
  kNotifyEvicted = 1 << 9,   // e
  kNotifyStream = 1 << 10,   // t
  kNotifyKeyMiss = 1 << 11,  // m (not part of A)
  kNotifyModule = 1 << 13,   // d (no modules here: accepted, never sent)
  kNotifyNew = 1 << 14,      // n (not part of A)
  kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet | kNotifyHash |
               kNotifyZset | kNotifyExpired | kNotifyEvicted | kNotifyStream | kNotifyModule,
};

// "KEA"-style class strings, as CONFIG SET/GET notify-keyspace-events read and show them.
std::optional<uint32_t> ParseKeyspaceEvents(std::string_view classes);
std::string FormatKeyspaceEvents(uint32_t flags);

// A command's event for one key: its class and name (class 0: the command names no event).
struct NotifyEvent {
  uint32_t type = 0;
  std::string_view name;
  // The event stands for the key's removal too (RENAME's rename_from): no "del" follows.
  bool replaces_del = false;
};
// `key_at`: the key's argument index (args.size() when the arguments do not name it).
using NotifyEventFn = NotifyEvent (*)(const std::vector<std::string_view>& args, size_t key_at);
// A command's events: one for every key, or one that depends on the key and the arguments.
struct NotifyRule {
  NotifyEvent fixed;
  NotifyEventFn fn = nullptr;
  // A key deleted and created again by the command is "new" (RENAME, COPY and RESTORE remove
  // and add, as Redis's dbDelete + dbAdd); otherwise that is an overwrite (the STORE commands).
  bool readds = false;
  // The destination's events come before the source's (LMOVE pushes, then reports its pop).
  bool destination_first = false;
  NotifyEvent For(const std::vector<std::string_view>& args, size_t key_at) const {
    return fn ? fn(args, key_at) : fixed;
  }
};
// The rule of the command `name` in `group` with `flags` (CommandTable::Add assigns it): write
// commands send their own name in their group's class unless notify.cc says otherwise.
NotifyRule NotifyRuleFor(std::string_view name, std::string_view group, uint32_t flags);

// Where events go. Thread-safe.
class Notifier {
 public:
  void set_pubsub(net::PubSub* pubsub) { pubsub_ = pubsub; }
  uint32_t flags() const { return flags_.load(std::memory_order_relaxed); }
  void set_flags(uint32_t f) { flags_.store(f, std::memory_order_relaxed); }
  // Whether events of `type` are published (a class and K or E are on).
  bool Wants(uint32_t type) const {
    const uint32_t f = flags();
    return (f & type) != 0 && (f & (kNotifyKeyspace | kNotifyKeyevent)) != 0 && pubsub_;
  }
  // Whether any command event may be published (commands record their changes then).
  bool Active() const { return Wants(~(kNotifyKeyspace | kNotifyKeyevent)); }
  void Emit(uint32_t type, std::string_view event, std::string_view key) const;

 private:
  std::atomic<uint32_t> flags_{0};
  net::PubSub* pubsub_ = nullptr;
};

// What a keyspace mutation did to a key.
enum class KeyChange : uint8_t { kCreated, kChanged, kDeleted, kExpireSet, kPersisted };

// Records one command's key changes on this thread while alive (when the notifier is active) and
// publishes their events at its end. Scopes nest (a script's redis.call, EXEC's commands): the
// inner one records its own command's changes.
class CommandEvents {
 public:
  CommandEvents(const Notifier& notifier, const CommandSpec& spec,
                const std::vector<std::string_view>& args);
  ~CommandEvents();
  CommandEvents(const CommandEvents&) = delete;
  CommandEvents& operator=(const CommandEvents&) = delete;

  // A further event of the running command on a key it changed (XADD's "xtrim"); `event` must
  // outlive the command (a literal).
  static void Also(std::string_view key, uint32_t type, std::string_view event);
  // From the keyspace: `key` changed so (nothing when no scope records on this thread).
  static void Record(std::string_view key, KeyChange change) {
    if (current_ != nullptr) current_->Add(key, change);
  }

 private:
  struct KeyRecord {
    std::string key;
    bool added = false;         // it did not exist before the command
    bool written = false;       // created or changed
    bool deleted_last = false;  // the command left it deleted
    bool expire_set = false, persisted = false;
    std::vector<NotifyEvent> extra;  // after the command's event
  };
  KeyRecord& Find(std::string_view key);  // created when absent
  void Add(std::string_view key, KeyChange change);
  void Publish();

  static thread_local CommandEvents* current_;
  const Notifier* notifier_ = nullptr;  // null: not recording
  const CommandSpec* spec_ = nullptr;
  const std::vector<std::string_view>* args_ = nullptr;
  CommandEvents* outer_ = nullptr;
  std::vector<KeyRecord> keys_;
};

}  // namespace pier::cache::server
