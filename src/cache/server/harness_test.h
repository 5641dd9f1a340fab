// File: harness_test.h
// The in-process harness: commands go through CacheServer::Execute as one client (or more, by
// NewClient) on a fake clock, and replies are compared as raw RESP, the way a client sees them.
#pragma once

#include <gtest/gtest.h>

#include "cache/server/client.h"
#include "cache/server/database.h"
#include "pier/cache/cache_server.h"

namespace pier::cache {

class Harness : public ::testing::Test {
 protected:
  Harness() : server_(pool_, {.resp = {.clock = &clock_}}) { client_ = server_.NewClient(); }
  ~Harness() override { server_.ReleaseClient(client_.get()); }

  std::string Run(std::vector<std::string> args) { return RunAs(*client_, std::move(args)); }
  std::string RunAs(server::ClientState& client, std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string out;
    server_.Execute(client, views, &out);
    return out;
  }

  net::IoPool pool_{1};
  FakeClock clock_;
  CacheServer server_;
  std::unique_ptr<server::ClientState> client_;
};

}  // namespace pier::cache
