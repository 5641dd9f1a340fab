// The TCP (L4) side of a proxy listener: each client connection is tunnelled to one upstream
// host picked by the cluster's policy; a host that refuses is reported to outlier detection
// and another one is tried.

#include <chrono>

#include "pier/base/clock.h"
#include "pier/base/hash.h"
#include "pier/base/logging.h"
#include "proxy/io.h"
#include "proxy/session.h"

namespace pier::proxy {

namespace {
constexpr int kConnectAttempts = 3;
}  // namespace

awaitable<void> ServeTcp(net::Connection& conn, const SessionEnv& env) {
  auto rt = env.runtime();
  auto it = rt->listeners.find(env.listener);
  if (it == rt->listeners.end() || it->second.tcp_cluster == nullptr) co_return;
  Cluster& cluster = *it->second.tcp_cluster;
  const ClusterConfig& cc = cluster.config();
  auto& io = static_cast<boost::asio::io_context&>(conn.socket().get_executor().context());
  Worker& worker = env.worker(io);
  balance::PickContext ctx;
  if (cc.hash_key.kind == HashKey::Kind::kClientAddress) {
    error_code ec;
    auto ep = conn.socket().remote_endpoint(ec);
    ctx.hash = HashBytes(ec ? std::string() : ep.address().to_string());
    ctx.has_hash = true;
  }
  std::vector<const balance::Host*> tried;
  for (int attempt = 0; attempt < kConnectAttempts; ++attempt) {
    ctx.exclude = tried.empty() ? nullptr : &tried;
    std::string why;
    std::shared_ptr<balance::Host> h = cluster.Pick(ctx, &why);
    if (h == nullptr) {
      LogEvent(LogLevel::kDebug, "no upstream for a connection",
               {{"listener", env.listener}, {"client", conn.RemoteAddress()}, {"error", why}});
      co_return;
    }
    const int64_t t0 = SteadyNowUs();
    std::string error;
    bool timed_out = false;
    auto up = co_await ConnectUpstream(worker, h->address(), cc.connect_timeout_ms,
                                       {cluster.tls_context(), &cc.tls}, &error, &timed_out);
    const int64_t connect_us = SteadyNowUs() - t0;
    if (up == nullptr) {
      LogEvent(LogLevel::kDebug, "upstream connect failed",
               {{"listener", env.listener}, {"upstream", h->address()}, {"error", error}});
      cluster.Report(*h, 0, connect_us);
      tried.push_back(h.get());
      continue;
    }
    const std::function<void()> touch = [&conn] { conn.Touch(); };
    const std::string_view none;
    co_await Tunnel(conn.stream(), up->stream, none, none, touch, env.tunnel_idle_ms);
    // A connection that was made counts as a success; its latency is the time to connect.
    cluster.Report(*h, 200, connect_us);
    co_return;
  }
}

}  // namespace pier::proxy
