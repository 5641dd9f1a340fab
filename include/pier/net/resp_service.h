// File: resp_service.h
// RespService: a module's commands on a RespServer (the cache's keyspace, the queue's Q*
// commands). The server parses requests, routes each to the service whose table has the command
// (RespRouter), checks its arity and AUTH, and dispatches it. A command replies at once (into
// `call.out`) or returns a PendingReply that completes later, from any thread: a write once
// durable, a blocking command once woken (its waker is typically a net::WaitHub topic). That is
// the one way to park a connection; replies still go out in request order.
//   class Keys : public RespService {
//     void ForEachCommand(const std::function<void(const RespCommand&)>& fn) const override;
//     std::shared_ptr<PendingReply> Dispatch(Call& call) override;
//   };
//   server.AddService(&keys);
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on
#include <algorithm>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pier/base/clock.h"
#include "pier/base/status.h"
#include "pier/net/resp_parser.h"  // ParseRespInt
#include "pier/net/resp_writer.h"
#include "pier/net/trace_context.h"

namespace pier::net {

class RespServer;
class PubSubClient;

// A command as COMMAND INFO reports it; the server checks arity and AUTH from it.
struct RespCommand {
  enum Flag : uint32_t {
    kWrite = 1 << 0,
    kReadonly = 1 << 1,
    kDenyOom = 1 << 2,  // may grow memory: refused with -OOM when nothing can be evicted
    kAdmin = 1 << 3,
    kNoAuth = 1 << 4,  // allowed before AUTH
    kFast = 1 << 5,
    kLoading = 1 << 6,
    kStale = 1 << 7,
    kNoQueue = 1 << 8,  // runs at once inside MULTI instead of queuing (EXEC, DISCARD, WATCH...)
    kSubscriberOk = 1 << 9,  // allowed to a RESP2 client in subscriber mode ((P|S)(UN)SUBSCRIBE)
    kAllowBusy = 1 << 10,    // runs while a script is over busy-reply-threshold (SCRIPT KILL)
  };
  std::string name;  // lowercase
  int arity = -1;    // > 0: exactly; < 0: at least -arity
  uint32_t flags = 0;
  int first_key = 0, last_key = 0, step = 0;
  std::string group;  // COMMAND DOCS
  std::string summary;
  std::string since;
  // > 0: more keys follow a numkeys argument at this index (LMPOP, ZUNIONSTORE, SINTERCARD), as
  // Redis's movable keys; cluster mode checks their slots too.
  int numkeys_at = 0;
};

// fn(key) for each key a call of `command` names (first_key..last_key by step, then the keys
// after a numkeys argument), while fn returns true; false when fn stopped.
template <typename Fn>
bool ForEachKey(const RespCommand& command, const std::vector<std::string_view>& args, Fn&& fn) {
  const int argc = static_cast<int>(args.size());
  if (command.first_key > 0) {
    const int last =
        command.last_key < 0 ? argc + command.last_key : std::min(command.last_key, argc - 1);
    for (int i = command.first_key; i <= last; i += std::max(command.step, 1)) {
      if (!fn(args[i])) return false;
    }
  }
  int64_t numkeys = 0;
  if (command.numkeys_at > 0 && command.numkeys_at < argc &&
      ParseRespInt(args[command.numkeys_at], &numkeys)) {
    const int64_t last = std::min<int64_t>(command.numkeys_at + numkeys, argc - 1);
    for (int64_t i = command.numkeys_at + 1; i <= last; ++i) {
      if (!fn(args[static_cast<size_t>(i)])) return false;
    }
  }
  return true;
}

// What the server knows of one connection (CLIENT LIST fields, protocol, auth). Owned by its
// connection; CLIENT LIST/KILL read it from other threads under the server's client-registry
// lock, so the fields they read are either atomic or written under that lock.
struct RespClient {
  uint64_t id = 0;
  std::string addr;  // "127.0.0.1:50000"
  std::string laddr;
  std::string name;  // CLIENT SETNAME (under the registry lock)
  int protocol = 2;  // HELLO 3 switches to RESP3
  bool authenticated = false;
  int64_t created_ms = 0;
  std::atomic<int64_t> last_active_ms{0};
  std::atomic<const char*> last_command{"NULL"};  // a command table name
  bool close_after_reply = false;                 // QUIT, protocol errors
  // CLIENT TRACEPARENT: the W3C context the following commands are traced under (a span each
  // when sampled and the server exports spans); flags 0 (the default): none.
  TraceParent trace;
  bool drop = false;  // close at once, without the replies of this batch (HTTP-looking input)
  std::function<void()> kill;          // closes the connection from any thread
  std::function<void()> stop_reading;  // shutdown: the reply in flight is sent, then it closes
  // A pub/sub message waits in `pubsub`'s outbox: the connection writes it (from any thread).
  std::function<void()> push_ready;
  // SUBSCRIBE and friends: the client's subscriptions and unsent messages (null until then).
  std::shared_ptr<PubSubClient> pubsub;

  // MULTI: the commands queued for EXEC (owned copies), their bytes, and whether one failed to
  // queue (EXEC then answers EXECABORT). Null outside a transaction.
  struct Transaction {
    std::vector<std::vector<std::string>> queued;
    size_t bytes = 0;
    bool failed = false;
  };
  std::unique_ptr<Transaction> multi;
  // WATCH: a service's record of the keys this client watches; EXEC runs only while none of
  // them changed. Destroying it stops the watch.
  class Watch {
   public:
    virtual ~Watch() = default;
    // True when a watched key was written, deleted or expired since WATCH (`now_ms`: unix ms).
    // Called while every service is held for the transaction.
    virtual bool Changed(int64_t now_ms) = 0;
  };
  std::unique_ptr<Watch> watch;
  // CLIENT TRACKING on: the client's mode (null: off), as CLIENT TRACKINGINFO shows it, and
  // CLIENT CACHING's word for its next command (-1 none, 0 no, 1 yes).
  struct Tracking {
    bool bcast = false, optin = false, optout = false, noloop = false;
    uint64_t redirect = 0;  // 0: its own connection (RESP3 pushes)
    std::vector<std::string> prefixes;
    int caching = -1;
  };
  std::unique_ptr<Tracking> tracking;
  // Set while the server runs this client's EXEC: commands must not block (a blocking command
  // answers as if it timed out) and effects on other clients wait for the end (as Redis).
  bool in_transaction = false;
  // A script's client: the EVAL's caller while the script runs. Its CLIENT TRACKING remembers
  // the keys the script reads, and NOLOOP counts the script's writes as its own (as Redis).
  RespClient* script_caller = nullptr;
};

// A reply that is ready now or later. Complete() may run on any thread; Wait() runs on the
// connection's executor.
class PendingReply : public std::enable_shared_from_this<PendingReply> {
 public:
  explicit PendingReply(boost::asio::any_io_executor ex) : timer_(ex) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }
  // Ignored when the reply was already completed or cancelled.
  void Complete(std::string reply);
  // The connection is gone: runs the on-cancel hook (a blocked command leaves its queue) and
  // ends Wait() with an empty reply. No-op once completed.
  void Cancel();
  // Runs on Cancel (on the cancelling thread), unless the reply completed first.
  void OnCancel(std::function<void()> fn);
  // A blocking command's reply: the connection runs none of the commands behind it until this
  // one completes (Redis's blocked client), instead of pipelining past it.
  void set_blocks_pipeline() { blocks_pipeline_ = true; }
  bool blocks_pipeline() const { return blocks_pipeline_; }
  boost::asio::awaitable<void> Wait();
  // The reply (valid once Wait() returned or ready() is true).
  const std::string& reply() const { return reply_; }
  bool ready() const;

 private:
  mutable std::mutex mu_;
  bool done_ = false;
  std::string reply_;
  std::function<void()> on_cancel_;
  bool blocks_pipeline_ = false;  // set before the reply is handed out
  boost::asio::steady_timer timer_;
};

// A CONFIG GET/SET parameter. `set` is empty for a read-only one; its error message follows
// "ERR CONFIG SET failed (possibly related to argument 'name') - ".
struct RespConfigParam {
  std::string name;
  std::function<std::string()> get;
  std::function<Status(std::string_view)> set;
};

class RespService {
 public:
  // A service's state for one connection (writes held until the pipeline is read, ...). Used
  // by that connection's coroutine only; destroyed with the connection.
  class Session {
   public:
    virtual ~Session() = default;
    // Submits whatever the service held back; runs before the connection waits for replies.
    virtual void Flush() {}
  };

  // One command to run. `args` are valid only during Dispatch.
  struct Call {
    const std::vector<std::string_view>& args;
    const RespCommand& command;
    RespClient& client;
    RespWriter& out;  // the reply, unless Dispatch returns a PendingReply
    // When the command started (the server's clock): every expiry check of one command sees
    // this time; a service that reads the clock again at its end sets it (the next command's
    // start), so a command costs one clock read.
    Clock::TimePoint& now;
    boost::asio::any_io_executor executor;  // the connection's (PendingReply, timers)
    std::unique_ptr<Session>& session;      // this service's, created by it when needed
    RespServer& server;
    size_t argc() const { return args.size(); }
  };

  virtual ~RespService() = default;
  // Every command this service serves, in table order (read once, by RespServer::AddService;
  // the commands must outlive the server).
  virtual void ForEachCommand(const std::function<void(const RespCommand&)>& fn) const = 0;
  // Runs the command. nullptr: the reply is in call.out; else it completes later.
  virtual std::shared_ptr<PendingReply> Dispatch(Call& call) = 0;
  // INFO: appends the lines (`key:value\r\n`) this service adds to `section` ("server",
  // "clients", "memory", "stats", "cluster", "keyspace"); true when the service has that section
  // (even without lines now). A section neither the server nor a service has is left out.
  virtual bool AppendInfo(std::string_view /*section*/, std::string* /*out*/) { return false; }
  // CONFIG GET/SET parameters this service owns.
  virtual std::vector<RespConfigParam> ConfigParams() { return {}; }
  // CONFIG RESETSTAT.
  virtual void ResetStats() {}
  // CLIENT UNBLOCK: ends the blocking command client `id` waits in, with its timeout reply or
  // (error) Redis's -UNBLOCKED error; true when this service had it blocked.
  virtual bool Unblock(uint64_t /*client_id*/, bool /*error*/) { return false; }
  // Clients parked in this service's blocking commands (INFO's blocked_clients).
  virtual size_t BlockedClients() const { return 0; }
  // EXEC: holds this service's state still against every other client, on every thread, until
  // the returned guard is destroyed; this thread's commands run meanwhile (nullptr: nothing to
  // hold). The guard's end runs what the transaction deferred (serving blocked clients).
  virtual std::shared_ptr<void> BeginTransaction() { return nullptr; }
};

// Composes services: a command goes to the first service that has it. One hash lookup per
// request, case-insensitive.
class RespRouter {
 public:
  struct Route {
    RespService* service = nullptr;
    const RespCommand* command = nullptr;  // nullptr: no service has it
    size_t index = 0;                      // the command's position in commands()
    size_t service_index = 0;              // the service's position in services()
  };
  void Add(RespService* service);
  Route Find(std::string_view name) const;
  const std::vector<RespService*>& services() const { return services_; }
  // Every routed command, in the order services were added.
  const std::vector<const RespCommand*>& commands() const { return commands_; }

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<RespService*> services_;
  std::vector<const RespCommand*> commands_;
  std::unordered_map<std::string, Route, NameHash, std::equal_to<>> by_name_;
};

}  // namespace pier::net
