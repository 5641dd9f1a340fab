// `pier demo-service`: a small HTTP service for demos and deployment tests. Every path answers
// JSON naming the service, its version and its address, after --latency-ms, and fails with 500
// for --error-rate of the requests (so a bad canary can be shown); /health answers "ok".
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "app/commands.h"
#include "app/server_runtime.h"
#include "pier/base/logging.h"

namespace pier::app {

namespace {

struct DemoFlags : ServerFlags {
  DemoFlags() { listen = "127.0.0.1:8080"; }
  std::string name = "demo";
  std::string version = "v1";
  double error_rate = 0;
  int64_t latency_ms = 0;
};

int RunDemo(const DemoFlags& f) {
  if (Status s = InitLogging(f.log_level); !s.ok()) return Fail("demo-service", s);
  if (f.error_rate < 0 || f.error_rate > 1) {
    return Fail("demo-service", Status::InvalidArgument("--error-rate: a share from 0 to 1, got " +
                                                        std::to_string(f.error_rate)));
  }
  if (f.latency_ms < 0 || f.latency_ms > 600000) {
    return Fail("demo-service", Status::InvalidArgument("--latency-ms: from 0 to 600000"));
  }
  ServerRuntime rt(f.threads == 0 ? 1 : f.threads);
  std::string address;
  auto handler = [&f,
                  &address](const net::HttpRequest&) -> boost::asio::awaitable<net::HttpResponse> {
    if (f.latency_ms > 0) {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                  std::chrono::milliseconds(f.latency_ms));
      boost::system::error_code ec;
      co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    thread_local std::minstd_rand rng{std::random_device{}()};
    const bool fail = std::uniform_real_distribution<double>(0, 1)(rng) < f.error_rate;
    nlohmann::json body = {{"service", f.name}, {"version", f.version}, {"address", address}};
    if (fail) body["error"] = "injected failure (--error-rate)";
    co_return net::HttpResponse::Json(fail ? 500 : 200, body.dump() + "\n");
  };
  if (Status s =
          rt.ListenHttp(f.listen, [&](net::HttpServer& h) { h.RoutePrefix("GET", "/", handler); });
      !s.ok()) {
    return Fail("demo-service", s);
  }
  address = rt.http().address();
  rt.Start();
  std::cout << "listening http=" << address << std::endl;
  rt.Wait(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_seconds * 1000)));
  return 0;
}

}  // namespace

void AddDemoServiceCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<DemoFlags>();
  CLI::App* sub = app.add_subcommand(
      "demo-service", "Run a small HTTP service for demos (version, injected errors, latency)");
  sub->add_option("--listen", f->listen, "HOST:PORT (port 0: a free one)")->capture_default_str();
  sub->add_option("--name", f->name, "Service name in every answer")->capture_default_str();
  sub->add_option("--version", f->version, "Version in every answer")->capture_default_str();
  sub->add_option("--error-rate", f->error_rate, "Share of requests answered with 500 (0-1)")
      ->capture_default_str();
  sub->add_option("--latency-ms", f->latency_ms, "Delay before each answer")->capture_default_str();
  sub->add_option("--threads", f->threads, "I/O threads (0: one)");
  sub->add_option("--log-level", f->log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  sub->callback([f, set_action] { set_action([f] { return RunDemo(*f); }); });
}

}  // namespace pier::app
