#include "app/server_runtime.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "app/perf_routes.h"
#include "pier/base/logging.h"
#include "pier/base/systemd_notify.h"
#include "pier/metrics/metrics.h"
#include "pier/net/auth_token.h"
#include "pier/net/tls.h"

namespace pier::app {

std::string OtlpEndpoint(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  return env != nullptr ? env : "";
}

ServerRuntime::ServerRuntime(size_t threads, std::string name)
    : pool_(threads),
      analyzer_(metrics::Registry::Global(), {}),
      tuner_(analyzer_, {}),
      name_(std::move(name)) {
  analyzer_.OnSample([this] { tuner_.Tick(); });
  // A server takes SIGHUP as "reload" and SIGUSR1 as "reopen log files" in Wait(): block them
  // here, before any of its threads start (they inherit the mask). Other commands keep their
  // default (a hangup ends them).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ServerRuntime::~ServerRuntime() {
  analyzer_.Stop();
  pool_.Stop(true);
  pool_.Join();
}

Status ServerRuntime::ConfigureSecurity(const SecurityFlags& f, const std::string& data_dir,
                                        const std::string& http, bool token_file) {
  if (Status s = f.Check(); !s.ok()) return s;
  auto hp = net::ParseHostPort(http, "--http");
  if (!hp.ok()) return hp.status();
  // A generated token is for loopback only: a server reachable from other hosts is told its
  // token, which its remote clients need anyway.
  auto token = net::ResolveToken({.flag = f.token,
                                  .file = f.token_file,
                                  .data_dir = !token_file        ? ""
                                              : data_dir.empty() ? "pier-data"
                                                                 : data_dir,
                                  .create = net::IsLoopbackHost(hp->first)});
  if (!token.ok()) return token.status();
  security_.token = *token;
  security_.protected_mode = f.protected_mode == "yes";
  security_.allowed_origins = f.Origins();
  security_.allowed_hosts = f.Hosts();
  metrics_auth_ = f.metrics_auth == "yes";
  http_tls_ = f.http_tls == "yes";
  slow_request_ = std::chrono::microseconds(static_cast<int64_t>(f.slow_request_ms * 1000));
  if (const std::string endpoint = OtlpEndpoint(f.otlp_endpoint); !endpoint.empty()) {
    const char* service = std::getenv("OTEL_SERVICE_NAME");
    auto tracer = net::Tracer::Create(
        endpoint, service != nullptr && *service != '\0' ? service : "pier-" + name_);
    if (!tracer.ok()) return tracer.status();
    tracer_ = std::move(*tracer);
  }
  if (f.tls.enabled()) {
    auto tls = net::TlsServerContext::Create(f.tls);
    if (!tls.ok()) return tls.status();
    tls_ = *tls;
  }
  return Status::Ok();
}

Status ServerRuntime::ListenHttp(const std::string& host_port,
                                 const std::function<void(net::HttpServer&)>& add_routes) {
  auto hp = net::ParseHostPort(host_port, "--http");
  if (!hp.ok()) return hp.status();
  net::HttpServerOptions o;
  o.listen.host = hp->first;
  o.listen.port = hp->second;
  o.listen.idle_timeout = std::chrono::seconds(60);
  if (http_tls_) o.listen.tls = tls_;
  o.security = security_;
  o.slow_request = slow_request_;
  o.tracer = tracer_.get();
  http_ = std::make_unique<net::HttpServer>(pool_, o);
  http_->Route(
      "GET", "/health",
      [](const net::HttpRequest&) { return net::HttpResponse::Json(200, "{\"status\":\"ok\"}\n"); },
      net::Access::kOpen);
  http_->Route(
      "GET", "/metrics",
      [](const net::HttpRequest&) {
        net::HttpResponse r =
            net::HttpResponse::Text(200, metrics::Registry::Global().RenderPrometheus());
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return r;
      },
      metrics_auth_ ? net::Access::kRead : net::Access::kOpen);
  AddPerfRoutes(*http_, analyzer_, tuner_);
  http_->Route("GET", "/ui/apis", [this](const net::HttpRequest&) {
    std::string body = "[";
    for (size_t i = 0; i < ui_apis_.size(); ++i) {
      body += (i ? ",\"" : "\"") + ui_apis_[i] + "\"";
    }
    return net::HttpResponse::Json(200, body + "]");
  });
  if (add_routes) add_routes(*http_);
  Status s = http_->Start();
  if (!s.ok()) return s;
  OnShutdown([this] { http_->Shutdown(); });
  OnForceClose([this] { http_->CloseAll(); });
  CountConnections([this] { return http_->active_connections(); });
  return Status::Ok();
}

void ServerFlags::AddTo(Settings& s, const std::string& section) {
  s.In(Settings::Scope::kTop)
      .Count("threads", &threads, "I/O threads (0: one per core)", 0, 1024)
      .Text("log-level", &log_level, "trace, debug, info, warn, error, critical, off")
      .Text("log-format", &log_format, "text, or json (one object a line)")
      .In(Settings::Scope::kFlagOnly);
  if (!section.empty()) {
    s.Text("config", &config,
           "YAML config file (its `" + section + ":` section); flags override it");
  }
  s.Number("shutdown-timeout", &shutdown_seconds, "Seconds in-flight requests get on SIGTERM", 0,
           3600)
      .In(Settings::Scope::kSection);
}

void PerfFlags::AddTo(Settings& s) {
  s.In(Settings::Scope::kFlagOnly)
      .Text("tune", &knobs,
            "Knobs to auto-tune with guarded trials (off by default), e.g. cache.policy")
      .Number("tune-settle", &settle_seconds, "Seconds after a change before measuring", 0, 86400)
      .Number("tune-measure", &measure_seconds, "Seconds a trial measures", 0, 86400)
      .Text("perf-history", &history,
            "File the analyzer's history is kept in across restarts (saved each minute)")
      .In(Settings::Scope::kSection);
}

namespace {
// Writes `text` to `path` through a temporary file and a rename: a crash leaves the old file.
Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Status::IoError("--perf-history: cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IoError("--perf-history: cannot rename " + tmp + " to " + path + ": " +
                           std::strerror(errno));
  }
  return Status::Ok();
}
}  // namespace

Status ServerRuntime::LoadHistory(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Ok();  // the first run: nothing saved yet
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (Status s = analyzer_.LoadHistory(text); !s.ok()) {
    const std::string aside = path + ".bad";
    std::rename(path.c_str(), aside.c_str());
    LogEvent(LogLevel::kWarn, "--perf-history: unreadable, starting with an empty history",
             {{"path", path}, {"error", s.message()}, {"moved_to", aside}});
  }
  // Can the file be written? Better said now than a minute later.
  return WriteAtomically(path, analyzer_.SaveHistory());
}

void ServerRuntime::SaveHistory() {
  if (history_file_.empty()) return;
  if (Status s = WriteAtomically(history_file_, analyzer_.SaveHistory()); !s.ok()) {
    LogEvent(LogLevel::kWarn, "--perf-history: cannot save", {{"error", s.message()}});
  }
}

Status ServerRuntime::ConfigurePerf(const PerfFlags& f) {
  if (f.settle_seconds < 0 || f.measure_seconds < 1) {
    return Status::InvalidArgument("--tune-settle must be >= 0 and --tune-measure >= 1 seconds");
  }
  perf::TunerOptions o;
  o.settle_ms = static_cast<int64_t>(f.settle_seconds * 1000);
  o.measure_ms = static_cast<int64_t>(f.measure_seconds * 1000);
  o.baseline_ms = o.measure_ms;
  tuner_.SetOptions(o);
  if (!f.history.empty()) {
    if (Status s = LoadHistory(f.history); !s.ok()) return s;
    history_file_ = f.history;
    analyzer_.OnSample([this, n = 0]() mutable {
      if (++n % 60 == 0) SaveHistory();
    });
  }
  std::string rest = f.knobs;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string knob = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    if (knob.empty()) continue;
    if (Status s = tuner_.SetAuto(knob, true); !s.ok()) {
      return Status::InvalidArgument("--tune: " + s.message());
    }
  }
  return Status::Ok();
}

void ServerRuntime::Start() {
  pool_.Start();
  analyzer_.Start();
  OnShutdown([this] {
    analyzer_.Stop();
    SaveHistory();
  });
}

void ServerRuntime::Wait(std::chrono::milliseconds deadline) {
  // Signals are blocked in every thread (see main) and taken here synchronously.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  // Under systemd (Type=notify): ready now; WATCHDOG=1 at half the interval it asked for, from
  // this loop, so a main thread that stops taking signals is restarted.
  NotifySystemd("READY=1\nSTATUS=serving\nMAINPID=" + std::to_string(getpid()));
  const auto watchdog = SystemdWatchdogInterval();
  int sig = 0;
  for (;;) {
    if (watchdog.count() > 0) {
      timespec half{};
      half.tv_sec = static_cast<time_t>(watchdog.count() / 2 / 1000000);
      half.tv_nsec = static_cast<long>(watchdog.count() / 2 % 1000000 * 1000);
      sig = sigtimedwait(&set, nullptr, &half);
      if (sig < 0) {
        NotifySystemd("WATCHDOG=1");
        continue;
      }
    } else {
      sigwait(&set, &sig);
    }
    if (sig == SIGUSR1) {
      for (auto& fn : on_reopen_logs_) fn();
      spdlog::info(on_reopen_logs_.empty() ? "SIGUSR1: this server writes no log file to reopen"
                                           : "SIGUSR1: reopening the log files");
      continue;
    }
    if (sig != SIGHUP) break;
    NotifySystemd("RELOADING=1");
    if (tls_) {
      if (Status s = tls_->Reload(); s.ok()) {
        spdlog::info("SIGHUP: reloaded the TLS certificate and key");
      } else {
        LogEvent(LogLevel::kError, "SIGHUP: keeping the TLS certificate in use",
                 {{"error", s.message()}});
      }
    }
    for (auto& fn : on_reload_) fn();
    if (!tls_ && on_reload_.empty()) {
      spdlog::info("received SIGHUP: this server has nothing to reload");
    }
    NotifySystemd("READY=1");
  }
  NotifySystemd("STOPPING=1");
  LogEvent(LogLevel::kInfo, "shutting down",
           {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}, {"deadline_ms", deadline.count()}});
  for (auto& fn : on_shutdown_) fn();
  auto open = [this] {
    size_t n = 0;
    for (auto& c : counters_) n += c();
    return n;
  };
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (open() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(10));  // polling a drain, not a timer test
  }
  if (size_t left = open(); left > 0) {
    LogEvent(LogLevel::kWarn, "connections still open after the deadline: closing them",
             {{"connections", left}});
    for (auto& fn : on_force_close_) fn();
  }
  // Let every coroutine finish on its own thread (closed sockets end their reads), so nothing
  // pending outlives the servers it points to.
  pool_.Stop(false);
  if (!pool_.JoinFor(std::chrono::seconds(5))) {
    spdlog::error("I/O threads did not finish within 5 s of shutdown; exiting without cleanup");
    std::fflush(nullptr);
    std::_Exit(0);
  }
  spdlog::info("stopped");
}

}  // namespace pier::app
