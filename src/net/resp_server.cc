#include "pier/net/resp_server.h"

#include <sys/socket.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>

#include "net/resp_builtins.h"
#include "pier/base/logging.h"
#include "pier/base/strings.h"
#include "pier/net/http_guard.h"
#include "pier/net/tcp_listener.h"
#include "pier/net/tls.h"
#include "pier/net/tracer.h"

namespace asio = boost::asio;

namespace pier::net {

RespServer::RespServer(IoPool& pool, RespServerOptions options)
    : pool_(pool),
      options_(std::move(options)),
      pubsub_(options_.clock),
      builtins_(NewRespBuiltins()),
      has_password_(!options_.requirepass.empty()) {
  start_ = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  unix_offset_ms_ = UnixNowMs() - std::chrono::duration_cast<std::chrono::milliseconds>(
                                      options_.clock->Now().time_since_epoch())
                                      .count();
  router_.Add(builtins_.get());
}

RespServer::~RespServer() = default;

void RespServer::AddService(RespService* service) { router_.Add(service); }

int64_t RespServer::UnixMsAt(Clock::TimePoint t) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() +
         unix_offset_ms_;
}

Status RespServer::Start() {
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  if (options_.protected_mode && options_.requirepass.empty() && !IsLoopbackHost(options_.host)) {
    return Status::InvalidArgument(
        "refusing to listen on " + where +
        " without a password (protected mode): set --requirepass, or --protected-mode no to "
        "accept unauthenticated clients from other hosts");
  }
  if (options_.tls_port >= 0 && !options_.tls) {
    return Status::InvalidArgument("--tls-port needs --tls-cert-file and --tls-key-file");
  }
  ListenerOptions lo;
  lo.host = options_.host;
  lo.port = options_.port;
  lo.max_connections = options_.maxclients;
  lo.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout);
  auto serve = [this](Connection& c) { return Serve(c); };
  auto l = TcpListener::Bind(pool_, lo, serve);
  if (!l.ok()) return l.status();
  listener_ = *l;
  if (options_.tls_port >= 0) {
    lo.port = static_cast<uint16_t>(options_.tls_port);
    lo.tls = options_.tls;
    auto t = TcpListener::Bind(pool_, lo, serve);
    if (!t.ok()) return t.status();
    tls_listener_ = *t;
    tls_listener_->Start();
  }
  listener_->Start();
  return Status::Ok();
}

std::string RespServer::address() const { return listener_ ? listener_->address() : ""; }
std::string RespServer::tls_address() const {
  return tls_listener_ ? tls_listener_->address() : "";
}
uint16_t RespServer::port() const {
  return listener_ ? listener_->local_endpoint().port() : options_.port;
}

void RespServer::Shutdown() {
  stopping_ = true;
  if (listener_) listener_->Close();
  if (tls_listener_) tls_listener_->Close();
  // Idle clients would hold the drain until the deadline; Redis closes them on shutdown too.
  ForEachClient([](RespClient& c) {
    if (c.stop_reading) c.stop_reading();
  });
}

void RespServer::CloseAll() {
  if (listener_) listener_->CloseAll();
  if (tls_listener_) tls_listener_->CloseAll();
}

size_t RespServer::active_connections() const {
  return (listener_ ? listener_->active_connections() : 0) +
         (tls_listener_ ? tls_listener_->active_connections() : 0);
}

std::string RespServer::requirepass() const {
  std::lock_guard lock(config_mu_);
  return options_.requirepass;
}
Status RespServer::set_requirepass(std::string p) {
  if (p.empty() && options_.protected_mode && !IsLoopbackHost(options_.host)) {
    return Status::InvalidArgument("refusing to remove the password of a server listening on " +
                                   options_.host +
                                   " (protected mode): clients from other hosts would need none");
  }
  std::lock_guard lock(config_mu_);
  has_password_ = !p.empty();
  options_.requirepass = std::move(p);
  return Status::Ok();
}
bool RespServer::CheckPassword(std::string_view given) const {
  std::lock_guard lock(config_mu_);
  return TokensEqual(given, options_.requirepass);
}
RespLimits RespServer::limits() const {
  std::lock_guard lock(config_mu_);
  return options_.limits;
}
void RespServer::set_limits(RespLimits l) {
  std::lock_guard lock(config_mu_);
  options_.limits = l;
}

size_t RespServer::client_count() {
  std::lock_guard lock(clients_mu_);
  return clients_.size();
}

void RespServer::RegisterClient(RespClient* c) {
  std::lock_guard lock(clients_mu_);
  clients_.push_back(c);
}

const std::shared_ptr<PubSubClient>& RespServer::PubSubOf(RespClient& client) {
  if (!client.pubsub) {
    auto p = std::make_shared<PubSubClient>(client.push_ready, client.kill);
    p->set_protocol(client.protocol);
    std::lock_guard lock(clients_mu_);
    client.pubsub = std::move(p);
  }
  return client.pubsub;
}

void RespServer::ReleaseClient(RespClient* c) {
  if (c->tracking) tracking_.Disable(c->id);
  if (c->pubsub) pubsub_.UnsubscribeAll(c->pubsub);
  std::lock_guard lock(clients_mu_);
  clients_.erase(std::remove(clients_.begin(), clients_.end(), c), clients_.end());
}

void RespServer::Init(RespClient& c, std::string addr) {
  c.id = next_client_id_++;
  c.addr = std::move(addr);
  c.created_ms = UnixNowMs();
  c.last_active_ms = c.created_ms;
  c.authenticated = requirepass().empty();
}

std::unique_ptr<RespClient> RespServer::NewClient(std::string addr) {
  auto c = std::make_unique<RespClient>();
  Init(*c, std::move(addr));
  RegisterClient(c.get());
  return c;
}

std::shared_ptr<PendingReply> RespServer::Execute(RespClient& client,
                                                  const std::vector<std::string_view>& args,
                                                  std::string* out, Clock::TimePoint* now) {
  std::vector<std::unique_ptr<RespService::Session>> sessions;
  auto reply = Execute(client, args, out, now, pool_.At(0).get_executor(), sessions);
  for (auto& s : sessions) {
    if (s) s->Flush();
  }
  if (client.pubsub) client.pubsub->TakeInto(*out);  // the harness has no connection to wake
  return reply;
}

std::shared_ptr<PendingReply> RespServer::Execute(
    RespClient& client, const std::vector<std::string_view>& args, std::string* out,
    Clock::TimePoint* now, asio::any_io_executor ex,
    std::vector<std::unique_ptr<RespService::Session>>& sessions) {
  if (args.empty()) return nullptr;
  if (EqualsIgnoreCase(args[0], "post") || EqualsIgnoreCase(args[0], "host:")) {
    // A web page talking to this port (cross-protocol scripting): close without answering, as
    // Redis does.
    LogEvent(LogLevel::kWarn,
             "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: "
             "commands to pier. This is likely due to an attacker attempting to use Cross "
             "Protocol Scripting to compromise your instance. Connection aborted.",
             {{"client", client.addr}});
    client.drop = true;
    return nullptr;
  }
  RespWriter w(out, client.protocol);
  const RespRouter::Route route = router_.Find(args[0]);
  if (route.command == nullptr) {
    std::string rest;
    for (size_t i = 1; i < args.size() && rest.size() < 128; ++i) {
      rest += "'" + std::string(args[i].substr(0, 128 - rest.size())) + "' ";
    }
    w.Error("ERR unknown command '" + std::string(args[0].substr(0, 128)) +
            "', with args beginning with: " + rest);
    if (client.multi) client.multi->failed = true;  // EXECABORT, as Redis
    return nullptr;
  }
  const RespCommand& command = *route.command;
  const int argc = static_cast<int>(args.size());
  if ((command.arity > 0 && argc != command.arity) || argc < -command.arity) {
    w.Error("ERR wrong number of arguments for '" + command.name + "' command");
    if (client.multi) client.multi->failed = true;
    return nullptr;
  }
  if (!(command.flags & RespCommand::kNoAuth) && !CheckAuth(client, w)) {
    if (client.multi) client.multi->failed = true;
    return nullptr;
  }
  if (busy_.load(std::memory_order_acquire) && !(command.flags & RespCommand::kAllowBusy)) {
    w.Error(
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
        "NOSAVE.");
    if (client.multi) client.multi->failed = true;
    return nullptr;
  }
  if (client.protocol == 2 && client.pubsub && client.pubsub->count() > 0 &&
      !(command.flags & RespCommand::kSubscriberOk)) {
    w.Error("ERR Can't execute '" + FullName(command, args) +
            "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
            "context");
    if (client.multi) client.multi->failed = true;
    return nullptr;
  }
  if (client.multi && !(command.flags & RespCommand::kNoQueue)) {
    Queue(client, args, w);
    return nullptr;
  }
  if (route.service == builtins_.get() && command.name == "exec") {
    return Exec(client, out, now, ex, sessions);
  }
  if (key_router_ && (command.first_key > 0 || command.numkeys_at > 0) &&
      !key_router_(command, args, w)) {
    return nullptr;
  }
  client.last_command.store(command.name.c_str(), std::memory_order_relaxed);
  const size_t at = route.service_index;
  if (sessions.size() <= at) sessions.resize(router_.services().size());
  const Clock::TimePoint start = *now;
  RespService::Call call{args, command, client, w, *now, ex, sessions[at], *this};
  RespClient& reader = client.script_caller ? *client.script_caller : client;
  KeyTracking::Writer writer(reader.id);       // NOLOOP: this client's own changes
  const bool traced = client.trace.sampled();  // CLIENT TRACEPARENT itself is not a span
  auto reply = route.service->Dispatch(call);
  if (reader.tracking) AfterTrackedCommand(reader, command, args, &reader == &client);
  if (*now == start) *now = options_.clock->Now();  // the service did not read the clock
  if (observer_) observer_(route.index, command, *now - start);
  NoteDuration(client, command, args, *now, *now - start);
  if (traced && client.trace.sampled() && options_.tracer != nullptr) {
    TraceCommand(client, command, *now - start);
  }
  return reply;
}

void RespServer::TraceCommand(const RespClient& client, const RespCommand& command,
                              Clock::Duration took) {
  Span span;
  span.kind = Span::Kind::kServer;
  span.trace_id = client.trace.trace_id;
  span.parent_id = client.trace.parent_id;
  span.span_id = Tracer::NewSpanId();
  span.end_unix_ns = Tracer::NowUnixNs();
  span.start_unix_ns =
      span.end_unix_ns - std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  span.name = command.name;
  for (char& ch : span.name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  span.strings = {{"db.system", "redis"},
                  {"db.operation", span.name},
                  {"net.peer.name", client.addr},
                  {"net.host.name", options_.host + ":" + std::to_string(options_.port)}};
  options_.tracer->Record(std::move(span));
}

void RespServer::NoteDuration(RespClient& client, const RespCommand& command,
                              const std::vector<std::string_view>& args, Clock::TimePoint end,
                              Clock::Duration took) {
  const int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  const bool slow = slowlog_.Wants(micros), spike = latency_.Wants(micros / 1000);
  if (!slow && !spike) return;
  const int64_t unix_s = UnixMsAt(end) / 1000;
  if (spike) {
    latency_.Add(command.flags & RespCommand::kFast ? "fast-command" : "command", unix_s,
                 micros / 1000);
  }
  if (!slow) return;
  std::string name;
  {
    std::lock_guard lock(clients_mu_);
    name = client.name;
  }
  slowlog_.Add(unix_s, micros, SlowLog::Shorten(args), client.addr, std::move(name));
}

std::string RespServer::FullName(const RespCommand& command,
                                 const std::vector<std::string_view>& args) {
  // Redis names a container command's subcommand with it (`config|get`) in errors.
  static constexpr std::string_view kContainers[] = {"pubsub", "config",  "client", "command",
                                                     "object", "cluster", "script", "function"};
  if (args.size() < 2 || std::find(std::begin(kContainers), std::end(kContainers), command.name) ==
                             std::end(kContainers)) {
    return command.name;
  }
  return command.name + "|" + AsciiLower(args[1]);
}

void RespServer::AfterTrackedCommand(RespClient& client, const RespCommand& command,
                                     const std::vector<std::string_view>& args, bool own_command) {
  RespClient::Tracking& t = *client.tracking;
  if (command.name == "client" && args.size() > 1 && EqualsIgnoreCase(args[1], "caching")) return;
  const bool cache = t.optin ? t.caching == 1 : t.optout ? t.caching != 0 : true;
  if (own_command) t.caching = -1;  // CLIENT CACHING counts for one command
  if (t.bcast || !cache || !(command.flags & RespCommand::kReadonly)) return;
  ForEachKey(command, args, [&](std::string_view key) {
    tracking_.Remember(client.id, key);
    return true;
  });
}

bool RespServer::CheckAuth(RespClient& client, RespWriter& w) {
  if (client.authenticated) return true;
  if (!has_password_.load(std::memory_order_relaxed)) {
    client.authenticated = true;  // the password was removed by CONFIG SET
    return true;
  }
  w.Error("NOAUTH Authentication required.");
  return false;
}

namespace {

// A connection's read buffer starts at this size, and returns to it when it empties after a
// request larger than kKeepBuffer (a client sending many large values keeps its buffer).
constexpr size_t kIdleBuffer = 16 * 1024;
constexpr size_t kKeepBuffer = 1024 * 1024;

}  // namespace

// What a client connection keeps while its handler moves between I/O threads.
struct RespServer::ConnectionState {
  ConnectionState(RespServer* server, const RespLimits& limits)
      : server(server), limits(limits), parser(limits) {}
  ~ConnectionState() { server->ReleaseClient(&client); }
  RespServer* server;
  RespLimits limits;
  RespClient client;
  RespParser parser;
  std::vector<char> buf = std::vector<char>(kIdleBuffer);
  size_t begin = 0, end = 0;
  std::string out;
  std::vector<std::string_view> args;
  // Replies that complete later, in this batch: where in `out` each goes, and the reply.
  std::vector<std::pair<size_t, std::shared_ptr<PendingReply>>> pending;
  std::vector<std::unique_ptr<RespService::Session>> services;  // by router service index
  // Pub/sub: the loop waits in a read (a message arriving cancels it), and a message waits.
  bool reading = false;
  bool push_ready = false;
  bool has_sessions() const {
    for (const auto& s : services) {
      if (s) return true;
    }
    return false;
  }
};

namespace {

// While a reply waits (a blocked BLPOP), nobody reads the socket: watch it, so a client that
// hangs up or is killed leaves its queue (its reply is cancelled) instead of being handed an
// element it will never read. Data arriving (a pipelined command) ends the watch.
void CancelOnHangup(asio::ip::tcp::socket& socket, std::shared_ptr<PendingReply> reply) {
  socket.async_wait(asio::socket_base::wait_read,
                    [&socket, reply = std::move(reply)](boost::system::error_code ec) {
                      if (reply->ready()) return;
                      if (!ec) {
                        char b;
                        const ssize_t n =
                            ::recv(socket.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
                        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) return;
                      }
                      reply->Cancel();
                    });
}

}  // namespace

asio::awaitable<void> RespServer::Serve(Connection& conn) {
  std::shared_ptr<void>& state = conn.handler_state();
  if (!state) {
    if (stopping_) co_return;
    auto s = std::make_shared<ConnectionState>(this, limits());
    RespClient& client = s->client;
    Init(client, conn.RemoteAddress());
    boost::system::error_code ec;
    auto local = conn.socket().local_endpoint(ec);
    if (!ec) client.laddr = local.address().to_string() + ":" + std::to_string(local.port());
    client.kill = [weak = conn.weak_from_this()] {
      if (auto c = weak.lock()) c->Post([](Connection& c) { c.Close(); });
    };
    client.push_ready = [weak = conn.weak_from_this()] {
      if (auto c = weak.lock()) {
        c->Post([](Connection& c) {
          auto* st = static_cast<ConnectionState*>(c.handler_state().get());
          if (st == nullptr) return;
          st->push_ready = true;
          boost::system::error_code ignored;
          if (st->reading) c.socket().cancel(ignored);  // the loop writes, then reads again
        });
      }
    };
    client.stop_reading = [weak = conn.weak_from_this()] {
      if (auto c = weak.lock()) {
        c->Post([](Connection& c) {
          boost::system::error_code ignored;
          c.socket().shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
        });
      }
    };
    RegisterClient(&client);
    stats_.connections_received.fetch_add(1, std::memory_order_relaxed);
    state = std::move(s);
  }
  ConnectionState& s = *static_cast<ConnectionState*>(state.get());
  // The session ends with this call unless the connection moves to another thread.
  bool moving = false;
  struct End {
    std::shared_ptr<void>& state;
    const bool& moving;
    ~End() {
      if (!moving) state.reset();
    }
  } end_session{state, moving};

  RespClient& client = s.client;
  RespParser& parser = s.parser;
  std::vector<char>& buf = s.buf;
  size_t& begin = s.begin;
  size_t& end = s.end;
  std::string& out = s.out;
  auto& pending = s.pending;
  const auto ex = conn.socket().get_executor();
  boost::system::error_code ec;
  bool blocked = false;
  for (;;) {
    // A connection with service state (held writes, a session's executor, subscriptions)
    // stays put.
    if (pending.empty() && !blocked && !s.has_sessions() && !client.pubsub && !stopping_ &&
        conn.ShouldMove()) {
      moving = true;
      co_return;
    }
    // Make room: compact, then grow toward what the current request needs, but at most to
    // twice the bytes that arrived: a client's declared length reserves nothing (CVE-2021-32675).
    if (begin > 0 && (end == buf.size() || begin == end)) {
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    if (end == 0 && buf.size() > kKeepBuffer) std::vector<char>(kIdleBuffer).swap(buf);
    const size_t need = std::max<size_t>(parser.wanted(), 4096);
    if (buf.size() - end < need) {
      const size_t target = std::min(end + need, std::max(2 * end, end + 4096));
      if (target > buf.size()) buf.resize(target);
    }
    if (!blocked && !s.push_ready) {  // after a blocking command, its pipeline runs first
      s.reading = true;
      size_t n =
          co_await conn.stream().async_read_some(asio::buffer(buf.data() + end, buf.size() - end),
                                                 asio::redirect_error(asio::use_awaitable, ec));
      s.reading = false;
      if (ec == asio::error::operation_aborted && s.push_ready) {
        ec = {};  // woken to write pub/sub messages
        n = 0;
      }
      if (ec) co_return;
      end += n;
      conn.Touch();
      stats_.net_input_bytes.fetch_add(n, std::memory_order_relaxed);
    }
    blocked = false;
    if (end - begin > s.limits.max_query_buffer) {
      LogEvent(LogLevel::kWarn, "closing a client that reached the max query buffer length",
               {{"client", client.addr}, {"limit_bytes", s.limits.max_query_buffer}});
      co_return;
    }
    uint64_t commands = 0;
    bool close = false;
    Clock::TimePoint now = options_.clock->Now();
    while (begin < end && !close) {
      parser.set_authenticated(client.authenticated ||
                               !has_password_.load(std::memory_order_relaxed));
      auto r = parser.Parse(std::string_view(buf.data() + begin, end - begin), &s.args);
      if (r == RespParser::Result::kIncomplete) break;
      if (r == RespParser::Result::kError) {
        RespWriter(&out, client.protocol).Error("ERR " + parser.error());
        close = true;
        break;
      }
      if (!s.args.empty()) {
        const size_t at = out.size();
        if (auto reply = Execute(client, s.args, &out, &now, ex, s.services)) {
          // A blocked command holds the commands behind it, as Redis does.
          blocked = reply->blocks_pipeline();
          pending.emplace_back(at, std::move(reply));
        }
        ++commands;
        close = client.close_after_reply;
        if (client.drop) co_return;
      }
      begin += parser.consumed();
      if (blocked) break;
    }
    if (begin == end) begin = end = 0;
    if (commands > 0) {
      stats_.commands_processed.fetch_add(commands, std::memory_order_relaxed);
      client.last_active_ms.store(UnixMsAt(now), std::memory_order_relaxed);
    }
    if (!pending.empty() && !close && !blocked && pending.size() < 4096 &&
        out.size() < (1u << 20)) {
      // More of the pipeline is already here: read it before flushing, so its writes go to the
      // log as one batch (bounded, so a client that never pauses still gets its replies).
      if (conn.stream().available() > 0) continue;
    }
    if (!pending.empty()) {  // splice the later replies in, in request order
      for (auto& session : s.services) {
        if (session) session->Flush();
      }
      std::string merged;
      size_t pos = 0;
      for (auto& [at, reply] : pending) {
        merged.append(out, pos, at - pos);
        // Only a parked command can wait without bound; a durable write completes anyway.
        const bool watch = reply->blocks_pipeline() && !reply->ready();
        if (watch) CancelOnHangup(conn.socket(), reply);
        co_await reply->Wait();
        if (watch) conn.socket().cancel(ec);
        merged += reply->reply();
        pos = at;
      }
      merged.append(out, pos, std::string::npos);
      out.swap(merged);
      pending.clear();
    }
    if (client.pubsub) {
      s.push_ready = false;
      client.pubsub->TakeInto(out);
      if (client.pubsub->killed()) co_return;  // over client-output-buffer-limit pubsub
    }
    if (!out.empty()) {
      co_await asio::async_write(conn.stream(), asio::buffer(out),
                                 asio::redirect_error(asio::use_awaitable, ec));
      stats_.net_output_bytes.fetch_add(out.size(), std::memory_order_relaxed);
      // Keep a modest buffer between batches; drop a huge one (KEYS *, big MGET).
      if (out.capacity() > 1024 * 1024) std::string().swap(out);
      out.clear();
      if (ec) co_return;
    }
    if (close) co_return;
  }
}

}  // namespace pier::net
