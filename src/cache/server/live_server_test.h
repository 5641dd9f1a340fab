// File: live_server_test.h
// A CacheServer on a two-thread I/O pool and an ephemeral loopback port, for tests that talk to
// it over real connections (thread moves, blocked clients).
#pragma once

#include <gtest/gtest.h>

#include "pier/cache/cache_server.h"
#include "pier/net/io_pool.h"
#include "pier/net/resp_connection.h"
#include "pier/net/tcp_listener.h"

namespace pier::cache {

class LiveServerTest : public ::testing::Test {
 protected:
  explicit LiveServerTest(size_t active_threads, const Clock* clock = &Clock::Steady())
      : server_(pool_, {.resp = {.port = 0, .clock = clock}}) {
    pool_.SetActive(active_threads);
    PIER_CHECK(server_.Start().ok());
    pool_.Start();
  }
  ~LiveServerTest() override {
    server_.Shutdown();
    server_.CloseAll();
    pool_.Stop(false);
    pool_.Join();
  }
  std::unique_ptr<net::RespConnection> Connect() {
    auto [host, port] = *net::ParseHostPort(server_.address(), "address");
    auto c = net::RespConnection::Connect(host, port, std::chrono::seconds(5));
    PIER_CHECK(c.ok());
    return std::move(*c);
  }

  net::IoPool pool_{2};
  CacheServer server_;
};

}  // namespace pier::cache
