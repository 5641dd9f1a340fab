#include "registry/server/health_checker.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <random>

#include "registry/definition_json.h"
#include "registry/server/registry_metric_names.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace pier::registry {

namespace {

constexpr size_t kMaxOutput = 4096;  // Consul's default OutputMaxSize

std::string ErrorText(const boost::system::error_code& ec, Duration timeout) {
  if (ec == beast::error::timeout) {
    return "timed out after " + FormatGoDuration(timeout);
  }
  return ec.message();
}

// Connects `stream` to host:port; the stream's expiry bounds the whole probe.
asio::awaitable<boost::system::error_code> Connect(beast::tcp_stream& stream,
                                                   const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  tcp::resolver resolver(co_await asio::this_coro::executor);
  const std::string service = std::to_string(port);
  auto endpoints =
      co_await resolver.async_resolve(host, service, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

asio::awaitable<ProbeResult> ProbeTcp(const CheckDefinition& def) {
  std::string prefix = "TCP connect " + def.tcp + ": ";
  size_t colon = def.tcp.rfind(':');
  std::string host = def.tcp.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = std::atoi(def.tcp.c_str() + colon + 1);
  if (port <= 0 || port > 65535)
    co_return ProbeResult{HealthStatus::kCritical, prefix + "bad port"};
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(def.timeout);
  auto ec = co_await Connect(stream, host, static_cast<uint16_t>(port));
  if (ec) co_return ProbeResult{HealthStatus::kCritical, prefix + ErrorText(ec, def.timeout)};
  co_return ProbeResult{HealthStatus::kPassing, prefix + "Success"};
}

asio::awaitable<ProbeResult> ProbeHttp(const CheckDefinition& def) {
  std::string prefix = "HTTP " + def.method + " " + def.http + ": ";
  auto url = ParseHttpUrl(def.http);
  if (!url.ok()) co_return ProbeResult{HealthStatus::kCritical, prefix + url.status().message()};
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(def.timeout);
  auto ec = co_await Connect(stream, url->host, url->port);
  if (ec) co_return ProbeResult{HealthStatus::kCritical, prefix + ErrorText(ec, def.timeout)};
  http::request<http::empty_body> req{http::string_to_verb(def.method), url->target, 11};
  if (req.method() == http::verb::unknown) req.method_string(def.method);
  req.set(http::field::host, url->host + ":" + std::to_string(url->port));
  req.set(http::field::user_agent, "Consul Health Check");  // what Consul sends
  req.set(http::field::accept, "text/plain, text/*, */*");
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : def.headers) req.insert(k, v);
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ProbeResult{HealthStatus::kCritical, prefix + ErrorText(ec, def.timeout)};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  parser.header_limit(16 * 1024);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec && !(ec == http::error::body_limit && parser.is_header_done())) {
    co_return ProbeResult{HealthStatus::kCritical, prefix + ErrorText(ec, def.timeout)};
  }
  const auto& res = parser.get();
  int code = static_cast<int>(res.result_int());
  std::string body = res.body().substr(0, kMaxOutput);
  std::string output =
      prefix + std::to_string(code) + " " + std::string(res.reason()) + " Output: " + body;
  HealthStatus status;
  if (def.expected_status != 0) {
    status = code == def.expected_status ? HealthStatus::kPassing : HealthStatus::kCritical;
  } else if (code >= 200 && code <= 299) {
    status = HealthStatus::kPassing;
  } else if (code == 429) {
    status = HealthStatus::kWarning;  // Too Many Requests: Consul's warning
  } else {
    status = HealthStatus::kCritical;
  }
  co_return ProbeResult{status, std::move(output)};
}

}  // namespace

asio::awaitable<ProbeResult> Probe(const CheckDefinition& def) {
  if (def.type == CheckType::kTcp) co_return co_await ProbeTcp(def);
  co_return co_await ProbeHttp(def);
}

struct HealthChecker::Loop {
  Loop(asio::any_io_executor ex, std::string id, uint64_t gen)
      : timer(ex), check_id(std::move(id)), generation(gen) {}
  asio::steady_timer timer;
  std::string check_id;
  uint64_t generation;
};

HealthChecker::HealthChecker(net::IoPool& pool, ServiceRegistry& registry)
    : pool_(pool), registry_(registry) {
  auto& m = metrics::Registry::Global();
  probe_seconds_ = &m.GetHistogram(metric_names::kProbeDurationSeconds,
                                   "Time an HTTP or TCP health probe took.", {}, 1e-9, 10, 36);
  lag_seconds_ =
      &m.GetHistogram(metric_names::kProbeLagSeconds,
                      "How late a probe started after its interval elapsed.", {}, 1e-9, 10, 36);
}

HealthChecker::~HealthChecker() { Stop(); }

void HealthChecker::Start(const std::string& check_id, uint64_t generation) {
  auto& io = pool_.Next();
  auto loop = std::make_shared<Loop>(io.get_executor(), check_id, generation);
  {
    std::lock_guard l(mu_);
    if (stopped_) return;
    loops_.insert(loop);
  }
  asio::co_spawn(io, Run(loop), asio::detached);
}

void HealthChecker::Stop() {
  std::lock_guard l(mu_);
  stopped_ = true;
  for (const auto& loop : loops_) {
    asio::post(loop->timer.get_executor(), [loop] { loop->timer.cancel(); });
  }
}

size_t HealthChecker::running() const {
  std::lock_guard l(mu_);
  return loops_.size();
}

asio::awaitable<void> HealthChecker::Run(std::shared_ptr<Loop> loop) {
  auto stopped = [this] {
    std::lock_guard l(mu_);
    return stopped_;
  };
  auto def = registry_.ProbeTarget(loop->check_id, loop->generation);
  if (def) {
    // Consul staggers the first run over the interval so thousands of checks do not fire
    // together.
    thread_local std::minstd_rand rng(std::random_device{}());
    auto stagger = Duration(std::uniform_int_distribution<int64_t>(
        0, std::max<int64_t>(0, def->interval.count() - 1))(rng));
    loop->timer.expires_after(stagger);
  }
  while (def && !stopped()) {
    boost::system::error_code ec;
    co_await loop->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    auto due = loop->timer.expiry();
    if (stopped()) break;
    def = registry_.ProbeTarget(loop->check_id, loop->generation);
    if (!def) break;
    auto start = std::chrono::steady_clock::now();
    if (start > due) lag_seconds_->Record(uint64_t((start - due).count()));
    ProbeResult r = co_await Probe(*def);
    probe_seconds_->Record(uint64_t((std::chrono::steady_clock::now() - start).count()));
    registry_.ReportProbe(loop->check_id, loop->generation, r.status, std::move(r.output));
    // The next run is an interval after this one was due (not after it finished), as a ticker.
    loop->timer.expires_at(std::max(due + def->interval, std::chrono::steady_clock::now()));
  }
  std::lock_guard l(mu_);
  loops_.erase(loop);
}

}  // namespace pier::registry
