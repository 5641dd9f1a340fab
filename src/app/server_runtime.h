// File: server_runtime.h
// ServerRuntime: what every `pier <server>` command shares: the I/O pool, the admin HTTP
// listener (/metrics, /health, the analyzer's /perf/* and the /ui dashboard), the performance
// analyzer and tuner, SIGINT/SIGTERM handling and a graceful drain with a deadline.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/security_flags.h"
#include "pier/base/status.h"
#include "pier/net/http_server.h"
#include "pier/net/io_pool.h"
#include "pier/perf/analyzer.h"
#include "pier/perf/tuner.h"

namespace pier::app {

// --otlp-endpoint, or OpenTelemetry's OTEL_EXPORTER_OTLP_ENDPOINT when the flag is not given.
std::string OtlpEndpoint(const std::string& flag);

// Flags every server command takes (the command-line conventions in the design).
struct ServerFlags {
  std::string listen;
  std::string http;
  uint64_t threads = 0;
  std::string config;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string data_dir;
  double shutdown_seconds = 10;
  SecurityFlags security;
  // The settings every server shares: threads and log-level (top-level keys of the file),
  // --config (the file with a `section:` of this server's keys; none when `section` is empty)
  // and --shutdown-timeout (flags only). Each command adds listen, http and data-dir.
  void AddTo(Settings& s, const std::string& section);
};

// The analyzer's and tuner's flags (--tune, --tune-settle, --tune-measure, --perf-history) for
// commands that have knobs.
struct PerfFlags {
  std::string knobs;  // comma-separated knobs to auto-tune, e.g. cache.policy,cache.maxmemory
  double settle_seconds = 10;
  double measure_seconds = 30;
  std::string history;      // a file the analyzer's history is loaded from and saved to
  void AddTo(Settings& s);  // flags only
};

// Runs on the main thread: Start(), then Wait() blocks until a signal and drains.
class ServerRuntime {
 public:
  // `name`: the server's module (registry, queue...), naming its spans' service pier-NAME
  // unless OTEL_SERVICE_NAME says otherwise.
  explicit ServerRuntime(size_t threads, std::string name = "server");
  ~ServerRuntime();

  net::IoPool& pool() { return pool_; }
  // Samples every module's metrics each second from Start() on (perf_routes.cc serves it).
  perf::Analyzer& analyzer() { return analyzer_; }
  perf::Tuner& tuner() { return tuner_; }
  // Tells the dashboard which module APIs this server has (GET /ui/apis), so it asks only
  // those: /v1/status, /v1/proxy/clusters, /v1/queue/stats.
  void ShowInUi(std::string api_path) { ui_apis_.push_back(std::move(api_path)); }
  // Applies --tune* (after the command added its knobs: an unknown knob is an error) and
  // --perf-history: loads the file when there is one, then saves it every minute and at
  // shutdown. A file that does not load is set aside as FILE.bad (said on stderr), not lost.
  Status ConfigurePerf(const PerfFlags& flags);
  net::HttpServer& http() { return *http_; }
  // Where spans go (--otlp-endpoint; null: nowhere), set by ConfigureSecurity.
  net::Tracer* tracer() { return tracer_.get(); }
  // Resolves the API token (--token, PIER_TOKEN, --token-file, DATA_DIR/token, which is created
  // when `http` is a loopback address; DATA_DIR defaults to pier-data) and loads the TLS
  // certificate, which SIGHUP reloads. Call before ListenHttp.
  // `token_file`: false for a server that keeps no files (the demo service): its token comes
  // from --token, PIER_TOKEN or --token-file only.
  Status ConfigureSecurity(const SecurityFlags& flags, const std::string& data_dir,
                           const std::string& http, bool token_file = true);
  const std::string& token() const { return security_.token; }
  // The certificate for RESP TLS listeners (null without --tls-cert-file).
  std::shared_ptr<net::TlsServerContext> tls() const { return tls_; }
  // Binds the HTTP listener with /health and /metrics, plus the routes `add_routes` adds (a
  // module's API), all behind the security layer. Call before Start().
  Status ListenHttp(const std::string& host_port,
                    const std::function<void(net::HttpServer&)>& add_routes = {});
  // Called on shutdown before the drain: stop accepting, stop timers.
  void OnShutdown(std::function<void()> fn) { on_shutdown_.push_back(std::move(fn)); }
  // Called when the drain deadline passes: close whatever is left.
  void OnForceClose(std::function<void()> fn) { on_force_close_.push_back(std::move(fn)); }
  // Called on SIGHUP (from the main thread), after the TLS certificates are re-read.
  void OnReload(std::function<void()> fn) { on_reload_.push_back(std::move(fn)); }
  // Called on SIGUSR1 (from the main thread): reopen log files by their paths (logrotate).
  void OnReopenLogs(std::function<void()> fn) { on_reopen_logs_.push_back(std::move(fn)); }
  // Connections still open, summed over listeners, for the drain.
  void CountConnections(std::function<size_t()> fn) { counters_.push_back(std::move(fn)); }

  void Start();
  // Blocks until SIGINT or SIGTERM (running the reload handler on each SIGHUP), then shuts down:
  // in-flight requests get `deadline` to finish.
  void Wait(std::chrono::milliseconds deadline);

 private:
  net::IoPool pool_;
  perf::Analyzer analyzer_;
  perf::Tuner tuner_;
  const std::string name_;
  std::unique_ptr<net::Tracer> tracer_;  // before http_, which points to it
  std::unique_ptr<net::HttpServer> http_;
  std::vector<std::string> ui_apis_;  // set before Start(); read by /ui/apis afterwards
  std::vector<std::function<void()>> on_shutdown_;
  std::vector<std::function<void()>> on_force_close_;
  std::vector<std::function<size_t()>> counters_;
  std::vector<std::function<void()>> on_reload_;
  std::vector<std::function<void()>> on_reopen_logs_;
  net::HttpSecurityOptions security_;
  bool http_tls_ = false;
  std::chrono::microseconds slow_request_{0};
  bool metrics_auth_ = false;
  std::shared_ptr<net::TlsServerContext> tls_;
  Status LoadHistory(const std::string& path);
  void SaveHistory();
  std::string history_file_;
};

}  // namespace pier::app
