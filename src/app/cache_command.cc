// `pier cache`: the Redis-compatible cache server.
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/commands.h"
#include "app/server_runtime.h"
#include "pier/base/config.h"
#include "pier/base/logging.h"

namespace pier::app {

namespace {

struct CacheFlags : ServerFlags {
  CacheFlags() {
    listen = "127.0.0.1:7379";
    http = "127.0.0.1:7900";
  }
};

int RunCache(CacheFlags f) {
  if (Status s = InitLogging(f.log_level); !s.ok()) {
    std::cerr << "pier cache: " << s.message() << "\n";
    return s.ExitCode();
  }
  ServerRuntime rt(f.threads);
  if (Status s = rt.ListenHttp(f.http); !s.ok()) {
    std::cerr << "pier cache: " << s.message() << "\n";
    return s.ExitCode();
  }
  rt.Start();
  std::cout << "listening http=" << rt.http().address() << std::endl;
  rt.Wait(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_seconds * 1000)));
  return 0;
}

}  // namespace

void AddCacheCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<CacheFlags>();
  CLI::App* sub = app.add_subcommand("cache", "Run the Redis-compatible cache server");
  sub->add_option("--listen", f->listen, "RESP listener HOST:PORT (port 0 picks a free one)")->capture_default_str();
  sub->add_option("--http", f->http, "HTTP admin listener HOST:PORT (/metrics, /health)")->capture_default_str();
  sub->add_option("--threads", f->threads, "I/O threads (0: one per core)");
  sub->add_option("--log-level", f->log_level, "trace, debug, info, warn, error, critical, off")->capture_default_str();
  sub->callback([f, set_action] { set_action([f] { return RunCache(*f); }); });
}

}  // namespace pier::app
