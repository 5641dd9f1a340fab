// ClusterClient against real pier servers running in this process.
#include "pier/cache/cluster_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "cache/server/database.h"
#include "pier/cache/cache_server.h"
#include "pier/cache/key_slot.h"

namespace pier::cache {
namespace {

using namespace std::chrono_literals;

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Three pier servers on one I/O pool, in cluster mode or as plain nodes.
class Nodes {
 public:
  // `ports` reuses earlier ports (a restart); `slots`, when given, assigns each node its ranges.
  explicit Nodes(bool cluster, std::vector<uint16_t> ports = {},
                 std::vector<std::string> slots = {}) {
    ports_ = ports;
    while (ports_.size() < 3) ports_.push_back(FreePort());
    if (cluster) {
      file_ = ::testing::TempDir() + "/nodes-" + std::to_string(getpid()) + ".yaml";
      std::ofstream out(file_);
      out << "nodes:\n";
      for (size_t i = 0; i < 3; ++i) {
        out << "  - '127.0.0.1:" << ports_[i] << (slots.empty() ? "" : " " + slots[i]) << "'\n";
      }
    }
    for (uint16_t p : ports_) {
      servers_.push_back(std::make_unique<CacheServer>(
          pool_, CacheServerOptions{.resp = {.port = p}, .cluster_file = file_}));
      PIER_CHECK(servers_.back()->Start().ok());
    }
    pool_.Start();
  }
  ~Nodes() {
    for (auto& s : servers_) {
      s->Shutdown();
      s->CloseAll();
    }
    pool_.Stop(false);  // drain: every connection coroutine ends while its server still exists
    pool_.Join();
    if (!file_.empty()) std::remove(file_.c_str());
  }
  std::vector<std::string> addresses() const {
    std::vector<std::string> a;
    for (uint16_t p : ports_) a.push_back("127.0.0.1:" + std::to_string(p));
    return a;
  }
  CacheServer& server(size_t i) { return *servers_[i]; }
  const std::vector<uint16_t>& ports() const { return ports_; }
  void Stop(size_t i) {
    servers_[i]->Shutdown();
    servers_[i]->CloseAll();
  }

 private:
  net::IoPool pool_{2};
  std::string file_;  // the cluster's nodes file, removed with the nodes
  std::vector<uint16_t> ports_;
  std::vector<std::unique_ptr<CacheServer>> servers_;
};

TEST(ClusterClient, ClusterModeLearnsSlotsFromOneSeedAndRoutesEveryKey) {
  Nodes nodes(true);
  auto c = ClusterClient::Connect(
      {.seeds = {nodes.addresses()[1]}, .mode = ClusterClient::Mode::kCluster});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ((*c)->node_count(), 3u);
  for (int i = 0; i < 300; ++i)
    ASSERT_TRUE((*c)->Set("key:" + std::to_string(i), "v" + std::to_string(i)).ok());
  for (int i = 0; i < 300; ++i) {
    auto v = (*c)->Get("key:" + std::to_string(i));
    ASSERT_TRUE(v.ok() && v->has_value()) << i;
    EXPECT_EQ(**v, "v" + std::to_string(i));
  }
  for (int n = 0; n < 3; ++n)
    EXPECT_GT(nodes.server(n).keyspace_info().keys, 60u);  // spread by slot
  EXPECT_EQ((*c)->stats().redirects, 0u);
  auto missing = (*c)->Get("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(*(*c)->Del("key:1"), 1);
}

TEST(ClusterClient, MGetIsOneRoundTripPerNode) {
  Nodes nodes(true);
  auto c =
      ClusterClient::Connect({.seeds = nodes.addresses(), .mode = ClusterClient::Mode::kCluster});
  ASSERT_TRUE(c.ok());
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    keys.push_back("m" + std::to_string(i));
    if (i % 2 == 0) {
      ASSERT_TRUE((*c)->Set(keys.back(), "x").ok());
    }
  }
  uint64_t before = (*c)->stats().round_trips;
  auto values = (*c)->MGet(keys);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ((*c)->stats().round_trips - before, 3u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ((*values)[i].has_value(), i % 2 == 0) << i;
  }
  // Pipeline keeps command order across nodes.
  auto replies = (*c)->Pipeline({{"SET", "p1", "a"}, {"GET", "p1"}, {"INCR", "p2"}, {"GET", "m0"}});
  ASSERT_TRUE(replies.ok());
  EXPECT_EQ((*replies)[1].str, "a");
  EXPECT_EQ((*replies)[2].integer, 1);
  EXPECT_EQ((*replies)[3].str, "x");
}

TEST(ClusterClient, FailedNodeIsSkippedUntilRetryTime) {
  Nodes nodes(true);
  FakeClock clock;
  auto c = ClusterClient::Connect({.seeds = nodes.addresses(),
                                   .mode = ClusterClient::Mode::kCluster,
                                   .connect_timeout = 500ms,
                                   .io_timeout = 500ms,
                                   .retry_after = 5s,
                                   .clock = &clock});
  ASSERT_TRUE(c.ok());
  // A key owned by node 0 and one owned by node 1.
  std::string on0, on1;
  for (int i = 0; on0.empty() || on1.empty(); ++i) {
    std::string k = "f" + std::to_string(i);
    int slot = KeySlot(k);
    if (slot <= 5460 && on0.empty()) on0 = k;
    if (slot > 5460 && slot <= 10921 && on1.empty()) on1 = k;
  }
  ASSERT_TRUE((*c)->Set(on0, "a").ok());
  nodes.Stop(0);
  auto r = (*c)->Get(on0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  uint64_t failures = (*c)->stats().failures;
  EXPECT_GE(failures, 1u);
  // Within the retry time the node is not even tried.
  EXPECT_NE((*c)->Get(on0).status().message().find("marked down"), std::string::npos);
  EXPECT_EQ((*c)->stats().failures, failures);
  // Other nodes keep working.
  EXPECT_TRUE((*c)->Set(on1, "b").ok());
  clock.Advance(6s);  // retry time passed: the client tries (and fails) again
  EXPECT_FALSE((*c)->Get(on0).ok());
  EXPECT_GT((*c)->stats().failures, failures);
}

TEST(ClusterClient, ConsistentHashingOverPlainNodesFailsOver) {
  Nodes nodes(false);
  FakeClock clock;
  auto c = ClusterClient::Connect({.seeds = nodes.addresses(),
                                   .mode = ClusterClient::Mode::kConsistentHash,
                                   .connect_timeout = 500ms,
                                   .io_timeout = 500ms,
                                   .retry_after = 5s,
                                   .clock = &clock});
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE((*c)->Set("h" + std::to_string(i), "v").ok());
  for (int n = 0; n < 3; ++n) EXPECT_GT(nodes.server(n).keyspace_info().keys, 50u);
  nodes.Stop(2);
  // Keys of the stopped node: the first call fails and marks it down; then they route to the
  // next node on the ring, where a cache-aside client refills them.
  int failed = 0;
  for (int i = 0; i < 300; ++i) failed += !(*c)->Get("h" + std::to_string(i)).ok();
  EXPECT_GE(failed, 1);
  EXPECT_LE(failed, 2);  // one failure marks it down (two: a pooled and a fresh connection)
  for (int i = 0; i < 300; ++i) {
    std::string k = "h" + std::to_string(i);
    auto v = (*c)->Get(k);
    ASSERT_TRUE(v.ok()) << k << ": " << v.status().message();
    if (!v->has_value()) {
      ASSERT_TRUE((*c)->Set(k, "v").ok());
    }
  }
}

TEST(ClusterClient, LocalCacheBoundsStalenessByItsTtl) {
  Nodes nodes(true);
  FakeClock clock;
  auto reader = ClusterClient::Connect({.seeds = nodes.addresses(),
                                        .local_cache_entries = 100,
                                        .local_tracking = false,
                                        .local_ttl = 2s,
                                        .clock = &clock});
  auto writer = ClusterClient::Connect({.seeds = nodes.addresses()});
  ASSERT_TRUE(reader.ok() && writer.ok());
  ASSERT_TRUE((*writer)->Set("cfg", "v1").ok());
  EXPECT_EQ(**(*reader)->Get("cfg"), "v1");
  uint64_t trips = (*reader)->stats().round_trips;
  EXPECT_EQ(**(*reader)->Get("cfg"), "v1");  // served locally
  EXPECT_EQ((*reader)->stats().round_trips, trips);
  EXPECT_EQ((*reader)->stats().local_hits, 1u);
  ASSERT_TRUE((*writer)->Set("cfg", "v2").ok());
  EXPECT_EQ(**(*reader)->Get("cfg"), "v1");  // stale, within the bound
  clock.Advance(2s);
  EXPECT_EQ(**(*reader)->Get("cfg"), "v2");  // the bound passed
  ASSERT_TRUE((*reader)->Set("cfg", "v3").ok());
  EXPECT_EQ(**(*reader)->Get("cfg"), "v3");  // its own writes invalidate
}

// Waits (bounded) for a condition another thread makes true: a network event, not a timer.
template <typename Fn>
bool Eventually(Fn&& fn) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!fn()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(ClusterClient, LocalCacheFollowsOtherClientsWritesByTracking) {
  Nodes nodes(true);
  auto reader = ClusterClient::Connect(
      {.seeds = nodes.addresses(), .local_cache_entries = 100, .local_ttl = 3600s});
  auto writer = ClusterClient::Connect({.seeds = nodes.addresses()});
  ASSERT_TRUE(reader.ok() && writer.ok());
  ClusterClient& r = **reader;
  ASSERT_TRUE(Eventually([&] { return r.stats().local_tracking_up; }));
  // Each write reaches the reader as an invalidation; wait for it before reading (a read that
  // overlaps an invalidation is not cached, by design).
  auto write = [&](std::string_view v) {
    const uint64_t before = r.stats().local_invalidations;
    ASSERT_TRUE((*writer)->Set("cfg", v).ok());
    ASSERT_TRUE(Eventually([&] { return r.stats().local_invalidations > before; }));
  };
  write("v1");
  EXPECT_EQ(**r.Get("cfg"), "v1");
  EXPECT_EQ(**r.Get("cfg"), "v1");
  EXPECT_EQ(r.stats().local_hits, 1u);  // cached: no TTL will end it within the test
  write("v2");
  EXPECT_EQ(**r.Get("cfg"), "v2");  // the other client's write reached the local cache
  EXPECT_EQ(**r.Get("cfg"), "v2");
  EXPECT_EQ(r.stats().local_hits, 2u);
  const uint64_t before = r.stats().local_invalidations;
  ASSERT_TRUE((*writer)->Del("cfg").ok());
  ASSERT_TRUE(Eventually([&] { return r.stats().local_invalidations > before; }));
  EXPECT_FALSE(r.Get("cfg")->has_value());
}

TEST(ClusterClient, MovedAfterReshardingRefreshesTheSlotMap) {
  FakeClock clock;
  std::vector<uint16_t> ports;
  std::unique_ptr<ClusterClient> c;
  {
    Nodes before(true);
    ports = before.ports();
    auto made = ClusterClient::Connect({.seeds = before.addresses(),
                                        .mode = ClusterClient::Mode::kCluster,
                                        .retry_after = 1s,
                                        .clock = &clock});
    ASSERT_TRUE(made.ok());
    c = std::move(*made);
    ASSERT_TRUE(c->Set("foo", "1").ok());  // slot 12182: the third node
  }
  // The same three nodes come back with the slots rotated: 12182 now belongs to the first.
  Nodes after(true, ports, {"10923-16383", "0-5460", "5461-10922"});
  clock.Advance(2s);    // past the retry time of nodes marked down
  (void)c->Get("foo");  // may fail once: pooled connections died
  clock.Advance(2s);
  auto r = c->Command({"SET", "foo", "2"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->str, "OK");
  EXPECT_GE(c->stats().redirects, 1u);
  EXPECT_EQ(after.server(0).keyspace_info().keys, 1u);  // the write went to the new owner
  auto v = c->Get("foo");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(**v, "2");
}

TEST(ClusterClient, BadSeedsAreErrors) {
  EXPECT_FALSE(ClusterClient::Connect({}).ok());
  EXPECT_FALSE(ClusterClient::Connect({.seeds = {"nonsense"}}).ok());
  auto down = ClusterClient::Connect({.seeds = {"127.0.0.1:1"}, .connect_timeout = 200ms});
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.status().message().find("cannot read the slot map"), std::string::npos);
}

}  // namespace
}  // namespace pier::cache
