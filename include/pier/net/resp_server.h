// File: resp_server.h
// RespServer: a Redis-protocol listener that serves the commands of its services (RespService).
// It owns the connection loop (buffering, pipelining, replies in request order, moving a
// connection between threads), the client registry (CLIENT), AUTH and protected mode, the
// limits before AUTH, TLS, and the commands every Redis server has: PING ECHO HELLO AUTH SELECT
// QUIT RESET CLIENT INFO CONFIG TIME COMMAND.
//   RespServer resp(pool, {.port = 7379});
//   resp.AddService(&queue_commands);
//   resp.Start();  pool.Start();
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pier/base/clock.h"
#include "pier/base/status.h"
#include "pier/net/io_pool.h"
#include "pier/net/key_tracking.h"
#include "pier/net/pubsub.h"
#include "pier/net/resp_parser.h"
#include "pier/net/resp_service.h"
#include "pier/net/slow_log.h"

namespace pier::net {

class Tracer;

class Connection;
class TcpListener;
class TlsServerContext;

struct RespServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7379;
  // A second listener on `host` that speaks TLS (redis-server's tls-port; 0 picks a free port),
  // with `tls`'s certificate. -1: none.
  int tls_port = -1;
  std::shared_ptr<TlsServerContext> tls;
  std::string requirepass;     // empty: no AUTH needed
  bool protected_mode = true;  // refuse non-loopback binds without a password
  RespLimits limits;
  size_t maxclients = 10000;
  std::chrono::seconds timeout{0};  // idle client timeout; 0: none
  const Clock* clock = &Clock::Steady();
  std::string config_file;  // shown in INFO
  // Where the spans of commands under CLIENT TRACEPARENT go (not owned; null: nowhere).
  Tracer* tracer = nullptr;
};

// Thread-safe. Commands run on the I/O thread of their connection.
class RespServer {
 public:
  RespServer(IoPool& pool, RespServerOptions options);
  ~RespServer();

  // Adds a service's commands (before Start). A name two services have goes to the first.
  void AddService(RespService* service);
  // Called after each command that ran: its index in router() order and how long it took.
  using Observer = std::function<void(size_t index, const RespCommand&, Clock::Duration)>;
  void SetObserver(Observer observer) { observer_ = std::move(observer); }
  // Cluster mode: asked before every command that names keys (any service's, including the
  // builtins' SPUBLISH and SSUBSCRIBE); false when it answered instead (-MOVED, -CROSSSLOT).
  using KeyRouter =
      std::function<bool(const RespCommand&, const std::vector<std::string_view>&, RespWriter&)>;
  void SetKeyRouter(KeyRouter router) { key_router_ = std::move(router); }
  // Validates options (protected mode) and binds.
  Status Start();
  std::string address() const;
  uint16_t port() const;
  std::string tls_address() const;  // "" without a TLS listener
  // Stops accepting and stops reading from clients (a reply in flight is still sent).
  void Shutdown();
  void CloseAll();
  size_t active_connections() const;

  // Runs one request as `client`: a reply written to `out`, or a PendingReply. `now` is when it
  // starts and is set to when it ends (one clock read per command of a batch). The in-process
  // harness and the connections both come here.
  std::shared_ptr<PendingReply> Execute(RespClient& client,
                                        const std::vector<std::string_view>& args, std::string* out,
                                        Clock::TimePoint* now);
  // A client for the in-process harness (registered until ReleaseClient).
  std::unique_ptr<RespClient> NewClient(std::string addr = "harness");
  void ReleaseClient(RespClient* c);

  const RespRouter& router() const { return router_; }
  const RespServerOptions& options() const { return options_; }
  const Clock& clock() const { return *options_.clock; }
  // Unix ms at `t`, a time of the server's clock.
  int64_t UnixMsAt(Clock::TimePoint t) const;

  // For INFO, CONFIG and CLIENT.
  struct Stats {
    std::atomic<uint64_t> connections_received{0};
    std::atomic<uint64_t> commands_processed{0};
    std::atomic<uint64_t> rejected_connections{0};
    std::atomic<uint64_t> net_input_bytes{0};
    std::atomic<uint64_t> net_output_bytes{0};
  };
  Stats& stats() { return stats_; }
  std::string requirepass() const;
  // Refused (protected mode) when it would remove the password of a non-loopback listener.
  Status set_requirepass(std::string p);
  // Whether `given` is the password (constant time).
  bool CheckPassword(std::string_view given) const;
  RespLimits limits() const;
  void set_limits(RespLimits l);
  std::chrono::seconds start_time() const { return start_; }
  size_t io_threads() const { return pool_.size(); }

  // The client registry (CLIENT LIST/KILL, INFO clients).
  template <typename Fn>
  void ForEachClient(Fn&& fn) {
    std::lock_guard lock(clients_mu_);
    for (auto* c : clients_) fn(*c);
  }
  std::mutex& clients_mutex() { return clients_mu_; }
  size_t client_count();

  // A script has run past busy-reply-threshold: commands without kAllowBusy answer BUSY.
  void set_busy(bool busy) { busy_.store(busy, std::memory_order_release); }

  // Pub/sub channels and patterns of this server's clients.
  PubSub& pubsub() { return pubsub_; }
  // `client`'s pub/sub record and outbox, created (on its own thread, under the registry lock,
  // so CLIENT TRACKING REDIRECT can read another client's) when first needed.
  const std::shared_ptr<PubSubClient>& PubSubOf(RespClient& client);
  // CLIENT TRACKING's tables; services report changed keys to it.
  KeyTracking& tracking() { return tracking_; }
  // SLOWLOG and LATENCY: every command that ran is offered to both.
  SlowLog& slowlog() { return slowlog_; }
  LatencyMonitor& latency_monitor() { return latency_; }

 private:
  struct ConnectionState;
  void RegisterClient(RespClient* c);
  boost::asio::awaitable<void> Serve(Connection& conn);
  // Runs a routed command, with the connection's sessions.
  std::shared_ptr<PendingReply> Execute(
      RespClient& client, const std::vector<std::string_view>& args, std::string* out,
      Clock::TimePoint* now, boost::asio::any_io_executor ex,
      std::vector<std::unique_ptr<RespService::Session>>& sessions);
  // MULTI: queues a command for EXEC (resp_transaction.cc).
  void Queue(RespClient& client, const std::vector<std::string_view>& args, RespWriter& w);
  // EXEC: runs the queued commands as one, holding every service meanwhile.
  std::shared_ptr<PendingReply> Exec(RespClient& client, std::string* out, Clock::TimePoint* now,
                                     boost::asio::any_io_executor ex,
                                     std::vector<std::unique_ptr<RespService::Session>>& sessions);
  // The command's name as Redis's errors give it: `config|get` for a container's subcommand.
  static std::string FullName(const RespCommand& command,
                              const std::vector<std::string_view>& args);
  // CLIENT TRACKING: a read's keys are remembered for the client (and CLIENT CACHING's word
  // is used up by the client's own command, not by the reads of a script it runs).
  // A span for a command that ran under the client's sampled CLIENT TRACEPARENT.
  void TraceCommand(const RespClient& client, const RespCommand& command, Clock::Duration took);
  // Offers a command that ran to the slow log and the latency monitor.
  void NoteDuration(RespClient& client, const RespCommand& command,
                    const std::vector<std::string_view>& args, Clock::TimePoint end,
                    Clock::Duration took);
  void AfterTrackedCommand(RespClient& client, const RespCommand& command,
                           const std::vector<std::string_view>& args, bool own_command);
  // NOAUTH for a client that has not authenticated (false after writing it).
  bool CheckAuth(RespClient& client, RespWriter& w);
  void Init(RespClient& c, std::string addr);

  IoPool& pool_;
  RespServerOptions options_;
  PubSub pubsub_;
  KeyTracking tracking_{pubsub_};
  SlowLog slowlog_;
  LatencyMonitor latency_;
  std::atomic<bool> busy_{false};
  std::unique_ptr<RespService> builtins_;  // the commands every Redis server has
  RespRouter router_;
  Observer observer_;
  KeyRouter key_router_;
  std::shared_ptr<TcpListener> listener_;
  std::shared_ptr<TcpListener> tls_listener_;
  Stats stats_;
  std::chrono::seconds start_;
  int64_t unix_offset_ms_;
  mutable std::mutex config_mu_;
  std::atomic<uint64_t> next_client_id_{1};
  std::mutex clients_mu_;
  std::vector<RespClient*> clients_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> has_password_;  // requirepass is set (read per request, without the lock)
};

}  // namespace pier::net
