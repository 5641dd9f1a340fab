// `pier demo-service`: a small HTTP service for demos and deployment tests. Every path answers
// JSON naming the service, its version and its address, after --latency-ms, and fails with 500
// for --error-rate of the requests (so a bad canary can be shown); /health answers "ok".
// POST /control {"latency_ms": N, "error_rate": X} changes both while it runs (to degrade one
// instance of several, as the analyzer's demo does). With --call URL each answer first GETs URL
// (passing the request's trace context on, under a client span of its own when traced) and
// includes what it said, so a frontend can call a backend through pier's proxy
// (`--call http://${PIER_PROXY}/catalog/` under pier up).
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "app/commands.h"
#include "app/server_runtime.h"
#include "app/settings.h"
#include "pier/base/logging.h"
#include "pier/net/http_fetch.h"
#include "pier/net/trace_context.h"
#include "pier/net/tracer.h"

namespace pier::app {

namespace {

struct DemoFlags : ServerFlags {
  DemoFlags() { listen = "127.0.0.1:8080"; }
  std::string name = "demo";
  std::string version = "v1";
  double error_rate = 0;
  int64_t latency_ms = 0;
  std::string call;  // http://HOST:PORT/PATH
};

// GET `url` with the caller's trace context: {"url", "status", "body"} or {"url", "error"}.
// `traceparent` is the request's (its parent: this service's server span); when it is sampled
// and `tracer` is set, the call gets a client span of its own, which the callee's spans then
// hang under. Blocking: run off the I/O threads.
nlohmann::json CallOnce(const std::string& url, const net::HttpUrl& to, std::string traceparent,
                        net::Tracer* tracer) {
  nlohmann::json out = {{"url", url}};
  net::TraceParent context;
  std::optional<net::Span> span;
  if (tracer != nullptr && net::TraceParent::Parse(traceparent, &context) && context.sampled()) {
    span.emplace();
    span->kind = net::Span::Kind::kClient;
    span->trace_id = context.trace_id;
    span->parent_id = context.parent_id;
    span->span_id = net::Tracer::NewSpanId();
    span->start_unix_ns = net::Tracer::NowUnixNs();
    span->name = "GET " + to.host + ":" + std::to_string(to.port);
    context.parent_id = span->span_id;
    traceparent = context.Header();
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (!traceparent.empty()) headers.emplace_back("traceparent", traceparent);
  auto r = net::HttpFetch({.host = to.host,
                           .port = to.port,
                           .target = to.target.empty() ? "/" : to.target,
                           .headers = std::move(headers),
                           .timeout = std::chrono::seconds(2),
                           .max_body_bytes = 1 << 20,
                           .tls = {.enabled = to.tls, .what = "--call"}});
  if (span) {
    span->end_unix_ns = net::Tracer::NowUnixNs();
    span->strings = {{"http.method", "GET"}, {"http.url", url}};
    if (r.ok()) span->ints = {{"http.status_code", r->status}};
    span->error = !r.ok() || r->status >= 500;
    span->status_message = r.ok() ? "" : r.status().message();
    tracer->Record(std::move(*span));
  }
  if (!r.ok()) {
    out["error"] = r.status().message();
    return out;
  }
  out["status"] = r->status;
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  out["body"] = body.is_discarded() ? nlohmann::json(r->body) : body;
  return out;
}

int RunDemo(const DemoFlags& f, const Settings& settings, const CLI::App& sub) {
  if (Status s = settings.Apply("", sub); !s.ok()) return Fail("demo-service", s);
  if (Status s = InitLogging(f.log_level, f.log_format, "demo-service"); !s.ok())
    return Fail("demo-service", s);
  ServerRuntime rt(f.threads == 0 ? 1 : f.threads, "demo-service");
  if (Status s = rt.ConfigureSecurity(f.security, "", f.listen, /*token_file=*/false); !s.ok()) {
    return Fail("demo-service", s);
  }
  net::HttpUrl call;  // --call, parsed once
  if (!f.call.empty()) {
    auto url = net::ParseHttpUrl(f.call, "--call");
    if (!url.ok()) return Fail("demo-service", url.status());
    call = *url;
  }
  std::string address;
  std::atomic<int64_t> latency_ms{f.latency_ms};
  std::atomic<double> error_rate{f.error_rate};
  boost::asio::thread_pool calls(2);  // --call's requests wait here, not on the I/O thread
  auto handler = [&f, &call, &address, &latency_ms, &error_rate, &calls,
                  &rt](const net::HttpRequest& req) -> boost::asio::awaitable<net::HttpResponse> {
    if (const int64_t delay = latency_ms.load(); delay > 0) {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                  std::chrono::milliseconds(delay));
      boost::system::error_code ec;
      co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    thread_local std::minstd_rand rng{std::random_device{}()};
    const bool fail = std::uniform_real_distribution<double>(0, 1)(rng) < error_rate.load();
    nlohmann::json body = {{"service", f.name}, {"version", f.version}, {"address", address}};
    if (!f.call.empty()) {
      const auto io = co_await boost::asio::this_coro::executor;
      const std::string traceparent(req["traceparent"]);
      co_await boost::asio::post(calls.get_executor(), boost::asio::use_awaitable);
      nlohmann::json called = CallOnce(f.call, call, traceparent, rt.tracer());
      co_await boost::asio::post(io, boost::asio::use_awaitable);
      body["calls"] = nlohmann::json::array({std::move(called)});
    }
    if (fail) body["error"] = "injected failure (--error-rate)";
    co_return net::HttpResponse::Json(fail ? 500 : 200, body.dump() + "\n");
  };
  if (Status s = rt.ListenHttp(
          f.listen,
          [&](net::HttpServer& h) {
            h.RoutePrefix("GET", "/", handler);
            h.Route("POST", "/control", [&](const net::HttpRequest& req) {
              auto j = nlohmann::json::parse(req.body(), nullptr, false);
              if (!j.is_object()) {
                return net::HttpResponse::Error(400,
                                                "body: {\"latency_ms\": N, \"error_rate\": X}");
              }
              if (j.contains("latency_ms") && j["latency_ms"].is_number_integer() &&
                  j["latency_ms"].get<int64_t>() >= 0) {
                latency_ms = j["latency_ms"].get<int64_t>();
              }
              if (j.contains("error_rate") && j["error_rate"].is_number() &&
                  j["error_rate"].get<double>() >= 0 && j["error_rate"].get<double>() <= 1) {
                error_rate = j["error_rate"].get<double>();
              }
              return net::HttpResponse::Json(200, nlohmann::json{{"latency_ms", latency_ms.load()},
                                                                 {"error_rate", error_rate.load()}}
                                                      .dump());
            });
          });
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
  auto settings = std::make_shared<Settings>("demo-service");
  CLI::App* sub = app.add_subcommand(
      "demo-service", "Run a small HTTP service for demos (version, injected errors, latency)");
  settings->In(Settings::Scope::kFlagOnly)
      .Text("listen", &f->listen, "HOST:PORT (port 0: a free one)")
      .Text("name", &f->name, "Service name in every answer")
      .Text("version", &f->version, "Version in every answer")
      .Number("error-rate", &f->error_rate, "Share of requests answered with 500 (0-1)", 0, 1)
      .Integer("latency-ms", &f->latency_ms, "Delay before each answer", 0, 600000)
      .Text("call", &f->call,
            "GET this http://HOST:PORT/PATH before each answer and include its reply (the "
            "request's traceparent passed on)")
      .Count("threads", &f->threads, "I/O threads (0: one)", 0, 1024)
      .Text("log-level", &f->log_level, "trace, debug, info, warn, error, critical, off")
      .Text("log-format", &f->log_format, "text, or json (one object a line)");
  f->security.AddTo(*settings, /*resp=*/false);
  settings->AddTo(sub);
  sub->callback([f, settings, sub, set_action] {
    set_action([f, settings, sub] { return RunDemo(*f, *settings, *sub); });
  });
}

}  // namespace pier::app
