#include "pier/cache/cache_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "cache/server/cluster.h"
#include "cache/server/command.h"
#include "cache/server/database.h"
#include "pier/base/strings.h"
#include "pier/net/http_guard.h"
#include "pier/net/resp_extension.h"
#include "pier/net/resp_writer.h"
#include "pier/net/tls.h"
#include "pier/perf/metrics.h"

namespace asio = boost::asio;

namespace pier::cache {

using server::ClientState;
using server::CommandContext;
using server::CommandSpec;
using server::CommandTable;

namespace {

// Per-command metrics, registered once per process in the global registry.
struct CommandMetrics {
  std::vector<perf::Counter*> calls;  // by command table index
  perf::Histogram* latency;
  static CommandMetrics& Get() {
    static CommandMetrics m = [] {
      CommandMetrics x;
      auto& r = perf::MetricsRegistry::Global();
      for (const auto& s : CommandTable::Get().all()) {
        x.calls.push_back(&r.GetCounter("pier_cache_commands_total",
                                        "Commands executed, by command.", {{"cmd", s.name}}));
      }
      x.latency = &r.GetHistogram("pier_cache_command_duration_seconds",
                                  "Time to parse and execute a command, excluding network I/O.", {},
                                  1e-9, 7, 30);
      return x;
    }();
    return m;
  }
};

}  // namespace

CacheServer::CacheServer(net::IoPool& pool, CacheServerOptions options)
    : pool_(pool), options_(std::move(options)), has_password_(!options_.requirepass.empty()) {
  size_t shards = options_.shards ? options_.shards : 16 * pool_.size();
  shards = std::min<size_t>(shards, 256);  // SCAN cursors keep the shard in 8 bits
  db_ = std::make_unique<server::Database>(shards, options_.clock, options_.shadow);
  start_ = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
}

CacheServer::~CacheServer() = default;

Status CacheServer::Start() {
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  if (options_.protected_mode && options_.requirepass.empty() &&
      !net::IsLoopbackHost(options_.host)) {
    return Status::InvalidArgument(
        "refusing to listen on " + where +
        " without a password (protected mode): set --requirepass, or --protected-mode no to "
        "accept unauthenticated clients from other hosts");
  }
  if (!options_.cluster_file.empty()) {
    auto c = server::LoadClusterConfig(options_.cluster_file, where);
    if (!c.ok()) return c.status();
    cluster_ = std::make_unique<server::ClusterConfig>(std::move(*c));
  }
  if (Status s = db_->SetPolicy(options_.policy); !s.ok()) {
    return Status::InvalidArgument("maxmemory-policy: " + s.message());
  }
  if (Status s = db_->SetMaxMemory(options_.maxmemory); !s.ok()) {
    return Status::InvalidArgument("maxmemory: " + s.message());
  }
  CommandMetrics::Get();
  auto& r = perf::MetricsRegistry::Global();
  r.AddCallback("pier_cache_keys", "Keys in the cache.", "gauge", {},
                [this] { return double(db_->KeyCount()); });
  r.AddCallback("pier_cache_used_memory_bytes", "Bytes held by the keyspace (INFO used_memory).",
                "gauge", {}, [this] { return double(db_->UsedBytes()); });
  r.AddCallback("pier_cache_maxmemory_bytes", "The maxmemory limit (0: none).", "gauge", {},
                [this] { return double(db_->maxmemory()); });
  r.AddCallback("pier_cache_keyspace_hits_total", "Lookups that found their key.", "counter", {},
                [this] { return double(db_->Stats().hits); });
  r.AddCallback("pier_cache_keyspace_misses_total", "Lookups that did not find their key.",
                "counter", {}, [this] { return double(db_->Stats().misses); });
  r.AddCallback("pier_cache_evicted_keys_total", "Keys evicted by maxmemory-policy.", "counter", {},
                [this] { return double(db_->Stats().evicted); });
  r.AddCallback("pier_cache_expired_keys_total", "Keys removed because their TTL passed.",
                "counter", {}, [this] { return double(db_->Stats().expired); });
  r.AddCallback("pier_cache_connected_clients", "Open client connections.", "gauge", {},
                [this] { return double(client_count()); });

  net::ListenerOptions lo;
  lo.host = options_.host;
  lo.port = options_.port;
  lo.max_connections = options_.maxclients;
  lo.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout);
  auto serve = [this](net::Connection& c) { return Serve(c); };
  auto l = net::TcpListener::Bind(pool_, lo, serve);
  if (!l.ok()) return l.status();
  listener_ = *l;
  if (options_.tls_port >= 0) {
    if (!options_.tls) {
      return Status::InvalidArgument("--tls-port needs --tls-cert-file and --tls-key-file");
    }
    lo.port = static_cast<uint16_t>(options_.tls_port);
    lo.tls = options_.tls;
    auto t = net::TcpListener::Bind(pool_, lo, serve);
    if (!t.ok()) return t.status();
    tls_listener_ = *t;
    tls_listener_->Start();
  }
  listener_->Start();
  ScheduleCron();
  return Status::Ok();
}

std::string CacheServer::address() const { return listener_ ? listener_->address() : ""; }
std::string CacheServer::tls_address() const {
  return tls_listener_ ? tls_listener_->address() : "";
}
uint16_t CacheServer::port() const {
  return listener_ ? listener_->local_endpoint().port() : options_.port;
}

void CacheServer::Shutdown() {
  stopping_ = true;
  if (listener_) listener_->Close();
  if (tls_listener_) tls_listener_->Close();
  if (cron_timer_) {
    auto t = std::static_pointer_cast<asio::steady_timer>(cron_timer_);
    asio::post(t->get_executor(), [t] { t->cancel(); });
  }
  // Idle clients would hold the drain until the deadline; Redis closes them on shutdown too.
  ForEachClient([](ClientState& c) {
    if (c.stop_reading) c.stop_reading();
  });
}

void CacheServer::CloseAll() {
  if (listener_) listener_->CloseAll();
  if (tls_listener_) tls_listener_->CloseAll();
}

size_t CacheServer::active_connections() const {
  return (listener_ ? listener_->active_connections() : 0) +
         (tls_listener_ ? tls_listener_->active_connections() : 0);
}

std::string CacheServer::requirepass() const {
  std::lock_guard lock(config_mu_);
  return options_.requirepass;
}
Status CacheServer::set_requirepass(std::string p) {
  if (p.empty() && options_.protected_mode && !net::IsLoopbackHost(options_.host)) {
    return Status::InvalidArgument("refusing to remove the password of a server listening on " +
                                   options_.host +
                                   " (protected mode): clients from other hosts would need none");
  }
  std::lock_guard lock(config_mu_);
  has_password_ = !p.empty();
  options_.requirepass = std::move(p);
  return Status::Ok();
}
bool CacheServer::CheckPassword(std::string_view given) const {
  std::lock_guard lock(config_mu_);
  return net::TokensEqual(given, options_.requirepass);
}
net::RespLimits CacheServer::limits() const {
  std::lock_guard lock(config_mu_);
  return options_.limits;
}
void CacheServer::set_limits(net::RespLimits l) {
  std::lock_guard lock(config_mu_);
  options_.limits = l;
}

size_t CacheServer::client_count() {
  std::lock_guard lock(clients_mu_);
  return clients_.size();
}

void CacheServer::RegisterClient(ClientState* c) {
  std::lock_guard lock(clients_mu_);
  clients_.push_back(c);
}

void CacheServer::ReleaseClient(ClientState* c) {
  std::lock_guard lock(clients_mu_);
  clients_.erase(std::remove(clients_.begin(), clients_.end(), c), clients_.end());
}

std::unique_ptr<ClientState> CacheServer::NewClient(std::string addr) {
  auto c = std::make_unique<ClientState>();
  c->id = next_client_id_++;
  c->addr = std::move(addr);
  c->created_ms = UnixNowMs();
  c->last_active_ms = c->created_ms;
  c->authenticated = requirepass().empty();
  RegisterClient(c.get());
  return c;
}

void CacheServer::Execute(ClientState& client, const std::vector<std::string_view>& args,
                          std::string* out) {
  Clock::TimePoint now = db_->Now();
  Execute(client, args, out, &now);
}

void CacheServer::Execute(ClientState& client, const std::vector<std::string_view>& args,
                          std::string* out, Clock::TimePoint* now) {
  if (args.empty()) return;
  if (EqualsIgnoreCase(args[0], "post") || EqualsIgnoreCase(args[0], "host:")) {
    // A web page talking to this port (cross-protocol scripting): close without answering, as
    // Redis does.
    spdlog::warn(
        "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: "
        "commands to pier cache from {}. This is likely due to an attacker attempting to use "
        "Cross Protocol Scripting to compromise your instance. Connection aborted.",
        client.addr);
    client.drop = true;
    return;
  }
  net::RespWriter w(out, client.protocol);
  const CommandSpec* spec = CommandTable::Get().Find(args[0]);
  if (spec == nullptr) {
    std::string rest;
    for (size_t i = 1; i < args.size() && rest.size() < 128; ++i) {
      rest += "'" + std::string(args[i].substr(0, 128 - rest.size())) + "' ";
    }
    w.Error("ERR unknown command '" + std::string(args[0].substr(0, 128)) +
            "', with args beginning with: " + rest);
    return;
  }
  const int argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
    w.Error("ERR wrong number of arguments for '" + spec->name + "' command");
    return;
  }
  if (!options_.keyspace && spec->group != "connection" && spec->group != "server") {
    w.Error("ERR unknown command '" + std::string(args[0].substr(0, 128)) +
            "' (this listener serves the queue only: start `pier cache` for keys)");
    return;
  }
  if (!(spec->flags & server::kNoAuth) && !CheckAuth(client, w)) return;
  if (cluster_ && spec->first_key > 0 && !RouteToSlot(*spec, args, w)) return;
  client.last_command.store(spec->name.c_str(), std::memory_order_relaxed);
  auto& metrics = CommandMetrics::Get();
  CommandContext ctx{args, w, client, *this, *db_, db_->UnixMsAt(*now)};
  spec->handler(ctx);
  const Clock::TimePoint end = db_->Now();
  metrics.latency->Record(static_cast<uint64_t>(std::max<int64_t>(0, (end - *now).count())));
  *now = end;
  metrics.calls[static_cast<size_t>(spec - CommandTable::Get().all().data())]->Inc();
}

bool CacheServer::CheckAuth(ClientState& client, net::RespWriter& w) {
  if (client.authenticated) return true;
  if (requirepass().empty()) {
    client.authenticated = true;  // the password was removed by CONFIG SET
    return true;
  }
  w.Error("NOAUTH Authentication required.");
  return false;
}

bool CacheServer::RouteToSlot(const CommandSpec& spec, const std::vector<std::string_view>& args,
                              net::RespWriter& w) {
  const int argc = static_cast<int>(args.size());
  const int last = spec.last_key < 0 ? argc + spec.last_key : std::min(spec.last_key, argc - 1);
  int slot = -1;
  for (int i = spec.first_key; i <= last; i += spec.step) {
    int s = server::KeySlot(args[i]);
    if (slot >= 0 && s != slot) {
      w.Error("CROSSSLOT Keys in request don't hash to the same slot");
      return false;
    }
    slot = s;
  }
  if (slot < 0 || cluster_->Owns(slot)) return true;
  const server::ClusterNode& n = cluster_->nodes[cluster_->owner[slot]];
  w.Error("MOVED " + std::to_string(slot) + " " + n.host + ":" + std::to_string(n.port));
  return false;
}

namespace {

// A connection's read buffer starts at this size, and returns to it when it empties after a
// request larger than kKeepBuffer (a client sending many large values keeps its buffer).
constexpr size_t kIdleBuffer = 16 * 1024;
constexpr size_t kKeepBuffer = 1024 * 1024;

// What a client connection keeps while its handler moves between I/O threads.
struct Session {
  Session(CacheServer* server, const net::RespLimits& limits)
      : server(server), limits(limits), parser(limits) {}
  ~Session() { server->ReleaseClient(&client); }
  CacheServer* server;
  net::RespLimits limits;
  ClientState client;
  net::RespParser parser;
  std::vector<char> buf = std::vector<char>(kIdleBuffer);
  size_t begin = 0, end = 0;
  std::string out;
  std::vector<std::string_view> args;
  // Extension commands of this batch: where in `out` each reply goes, and the reply.
  std::vector<std::pair<size_t, std::shared_ptr<net::PendingReply>>> pending;
  std::unique_ptr<net::RespExtension::Session> extension;  // opened at the first such command
};

}  // namespace

asio::awaitable<void> CacheServer::Serve(net::Connection& conn) {
  std::shared_ptr<void>& state = conn.handler_state();
  if (!state) {
    if (stopping_) co_return;
    auto s = std::make_shared<Session>(this, limits());
    ClientState& client = s->client;
    client.id = next_client_id_++;
    client.addr = conn.RemoteAddress();
    boost::system::error_code ec;
    auto local = conn.socket().local_endpoint(ec);
    if (!ec) client.laddr = local.address().to_string() + ":" + std::to_string(local.port());
    client.created_ms = UnixNowMs();
    client.last_active_ms = client.created_ms;
    client.authenticated = requirepass().empty();
    client.kill = [weak = conn.weak_from_this()] {
      if (auto c = weak.lock()) c->Post([](net::Connection& c) { c.Close(); });
    };
    client.stop_reading = [weak = conn.weak_from_this()] {
      if (auto c = weak.lock()) {
        c->Post([](net::Connection& c) {
          boost::system::error_code ignored;
          c.socket().shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
        });
      }
    };
    RegisterClient(&client);
    stats_.connections_received.fetch_add(1, std::memory_order_relaxed);
    state = std::move(s);
  }
  Session& s = *static_cast<Session*>(state.get());
  // The session ends with this call unless the connection moves to another thread.
  bool moving = false;
  struct End {
    std::shared_ptr<void>& state;
    const bool& moving;
    ~End() {
      if (!moving) state.reset();
    }
  } end_session{state, moving};

  ClientState& client = s.client;
  net::RespParser& parser = s.parser;
  std::vector<char>& buf = s.buf;
  size_t& begin = s.begin;
  size_t& end = s.end;
  std::string& out = s.out;
  std::vector<std::string_view>& args = s.args;
  auto& pending = s.pending;
  auto& session = s.extension;
  boost::system::error_code ec;
  for (;;) {
    if (pending.empty() && !session && !stopping_ && conn.ShouldMove()) {
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
    size_t n =
        co_await conn.stream().async_read_some(asio::buffer(buf.data() + end, buf.size() - end),
                                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    end += n;
    conn.Touch();
    stats_.net_input_bytes.fetch_add(n, std::memory_order_relaxed);
    if (end - begin > s.limits.max_query_buffer) {
      spdlog::warn("closing client {} that reached max query buffer length ({} bytes)", client.addr,
                   s.limits.max_query_buffer);
      co_return;
    }
    uint64_t commands = 0;
    bool close = false;
    Clock::TimePoint now = db_->Now();
    while (begin < end && !close) {
      parser.set_authenticated(client.authenticated ||
                               !has_password_.load(std::memory_order_relaxed));
      auto r = parser.Parse(std::string_view(buf.data() + begin, end - begin), &args);
      if (r == net::RespParser::Result::kIncomplete) break;
      if (r == net::RespParser::Result::kError) {
        net::RespWriter(&out, client.protocol).Error("ERR " + parser.error());
        close = true;
        break;
      }
      if (!args.empty()) {
        if (extension_ && extension_->Handles(args[0])) {
          net::RespWriter w(&out, client.protocol);
          if (CheckAuth(client, w)) {
            if (!session) session = extension_->NewSession(conn.socket().get_executor());
            pending.emplace_back(out.size(), session->Start(args, client.protocol));
          }
          now = db_->Now();
        } else {
          Execute(client, args, &out, &now);
        }
        ++commands;
        close = client.close_after_reply;
        if (client.drop) co_return;
      }
      begin += parser.consumed();
    }
    if (begin == end) begin = end = 0;
    if (commands > 0) {
      stats_.commands_processed.fetch_add(commands, std::memory_order_relaxed);
      client.last_active_ms.store(db_->UnixMsAt(now), std::memory_order_relaxed);
    }
    if (!pending.empty() && !close && pending.size() < 4096 && out.size() < (1u << 20)) {
      // More of the pipeline is already here: read it before flushing, so its writes go to the
      // log as one batch (bounded, so a client that never pauses still gets its replies).
      if (conn.stream().available() > 0) continue;
    }
    if (!pending.empty()) {  // splice the extension's replies in, in request order
      session->Flush();
      std::string merged;
      size_t pos = 0;
      for (auto& [at, reply] : pending) {
        merged.append(out, pos, at - pos);
        co_await reply->Wait();
        merged += reply->reply();
        pos = at;
      }
      merged.append(out, pos, std::string::npos);
      out.swap(merged);
      pending.clear();
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

size_t CacheServer::Cron() {
  size_t removed = db_->ActiveExpire(64);
  uint64_t used = db_->UsedBytes();
  if (used > stats_.peak_memory.load()) stats_.peak_memory = used;
  return removed;
}

void CacheServer::ScheduleCron() {
  auto timer = std::make_shared<asio::steady_timer>(pool_.At(0));
  cron_timer_ = timer;
  asio::co_spawn(
      pool_.At(0),
      [this, timer]() -> asio::awaitable<void> {
        for (;;) {
          // Redis's active expiry runs at hz 10; when a pass hit its bound, run again soon.
          size_t removed = Cron();
          auto wait = removed >= db_->shard_count() * 32 ? std::chrono::milliseconds(1)
                                                         : std::chrono::milliseconds(100);
          timer->expires_after(wait);
          boost::system::error_code ec;
          co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec || stopping_) co_return;
        }
      },
      asio::detached);
}

}  // namespace pier::cache
