// Commands through the in-process harness (harness_test.h), compared as raw RESP.
#include <gtest/gtest.h>

#include "cache/server/harness_test.h"

namespace pier::cache {
namespace {

using namespace std::chrono_literals;

TEST_F(Harness, StringBasics) {
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(Run({"get", "k"}), "$1\r\nv\r\n");
  EXPECT_EQ(Run({"GET", "missing"}), "$-1\r\n");
  EXPECT_EQ(Run({"APPEND", "k", "alue"}), ":5\r\n");
  EXPECT_EQ(Run({"STRLEN", "k"}), ":5\r\n");
  EXPECT_EQ(Run({"GETRANGE", "k", "1", "-2"}), "$3\r\nalu\r\n");
  EXPECT_EQ(Run({"SETRANGE", "k", "7", "X"}), ":8\r\n");
  EXPECT_EQ(Run({"GET", "k"}), std::string("$8\r\nvalue\0\0X\r\n", 14));
  EXPECT_EQ(Run({"GETDEL", "k"}), std::string("$8\r\nvalue\0\0X\r\n", 14));
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0\r\n");
}

TEST_F(Harness, SetOptions) {
  EXPECT_EQ(Run({"SET", "k", "1", "NX"}), "+OK\r\n");
  EXPECT_EQ(Run({"SET", "k", "2", "NX"}), "$-1\r\n");
  EXPECT_EQ(Run({"SET", "k", "3", "XX", "GET"}), "$1\r\n1\r\n");
  EXPECT_EQ(Run({"SET", "nope", "3", "XX"}), "$-1\r\n");
  EXPECT_EQ(Run({"SET", "k", "v", "NX", "XX"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "0"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "-5"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "x"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10", "PX", "5"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10"}), "+OK\r\n");
  EXPECT_EQ(Run({"TTL", "k"}), ":10\r\n");
  EXPECT_EQ(Run({"SET", "k", "w", "KEEPTTL"}), "+OK\r\n");
  EXPECT_EQ(Run({"TTL", "k"}), ":10\r\n");
  EXPECT_EQ(Run({"SET", "k", "w"}), "+OK\r\n");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1\r\n");
}

TEST_F(Harness, ExpiryOnTheFakeClock) {
  Run({"SET", "k", "v", "PX", "1500"});
  EXPECT_EQ(Run({"PTTL", "k"}), ":1500\r\n");
  clock_.Advance(1s);
  EXPECT_EQ(Run({"TTL", "k"}), ":1\r\n");  // 500 ms left rounds to 1 s, as Redis
  clock_.Advance(500ms);
  EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(Run({"TTL", "k"}), ":-2\r\n");
  Run({"SET", "a", "1"});
  EXPECT_EQ(Run({"EXPIRE", "a", "100", "XX"}), ":0\r\n");
  EXPECT_EQ(Run({"EXPIRE", "a", "100", "NX"}), ":1\r\n");
  EXPECT_EQ(Run({"EXPIRE", "a", "50", "GT"}), ":0\r\n");
  EXPECT_EQ(Run({"EXPIRE", "a", "50", "LT"}), ":1\r\n");
  EXPECT_EQ(Run({"EXPIRE", "a", "50", "NX", "XX"}),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
  EXPECT_EQ(Run({"PERSIST", "a"}), ":1\r\n");
  EXPECT_EQ(Run({"EXPIRE", "a", "-1"}), ":1\r\n");  // a past time deletes
  EXPECT_EQ(Run({"EXISTS", "a"}), ":0\r\n");
  // Active expiry removes keys nobody reads.
  for (int i = 0; i < 50; ++i) Run({"SET", "t" + std::to_string(i), "v", "PX", "10"});
  clock_.Advance(20ms);
  EXPECT_EQ(server_.Cron(), 50u);
  EXPECT_EQ(Run({"DBSIZE"}), ":0\r\n");
}

TEST_F(Harness, Counters) {
  EXPECT_EQ(Run({"INCR", "n"}), ":1\r\n");
  EXPECT_EQ(Run({"INCRBY", "n", "10"}), ":11\r\n");
  EXPECT_EQ(Run({"DECRBY", "n", "20"}), ":-9\r\n");
  EXPECT_EQ(Run({"SET", "big", "9223372036854775807"}), "+OK\r\n");
  EXPECT_EQ(Run({"INCR", "big"}), "-ERR increment or decrement would overflow\r\n");
  EXPECT_EQ(Run({"SET", "s", "abc"}), "+OK\r\n");
  EXPECT_EQ(Run({"INCR", "s"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"SET", "f", "10.50"}), "+OK\r\n");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "0.1"}), "$4\r\n10.6\r\n");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "x"}), "-ERR value is not a valid float\r\n");
}

TEST_F(Harness, MultiKey) {
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2"}), "+OK\r\n");
  EXPECT_EQ(Run({"MGET", "a", "b", "c"}), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n");
  EXPECT_EQ(Run({"MSET", "a", "1", "b"}), "-ERR wrong number of arguments for 'mset' command\r\n");
  EXPECT_EQ(Run({"MSETNX", "c", "3", "a", "9"}), ":0\r\n");
  EXPECT_EQ(Run({"EXISTS", "a", "a", "c"}), ":2\r\n");
  EXPECT_EQ(Run({"DEL", "a", "b", "c"}), ":2\r\n");
  EXPECT_EQ(Run({"RENAME", "a", "z"}), "-ERR no such key\r\n");
}

TEST_F(Harness, RenameAcrossShardsKeepsTtl) {
  for (int i = 0; i < 40; ++i) {
    std::string k = "src" + std::to_string(i), d = "dst" + std::to_string(i);
    Run({"SET", k, "v" + std::to_string(i), "EX", "100"});
    ASSERT_EQ(Run({"RENAME", k, d}), "+OK\r\n");
    ASSERT_EQ(Run({"GET", d}), "$" + std::to_string(("v" + std::to_string(i)).size()) + "\r\nv" +
                                   std::to_string(i) + "\r\n");
    ASSERT_EQ(Run({"TTL", d}), ":100\r\n");
    ASSERT_EQ(Run({"EXISTS", k}), ":0\r\n");
  }
}

TEST_F(Harness, Hashes) {
  EXPECT_EQ(Run({"HSET", "h", "a", "1", "b", "2"}), ":2\r\n");
  EXPECT_EQ(Run({"HSET", "h", "a", "3"}), ":0\r\n");
  EXPECT_EQ(Run({"HGET", "h", "a"}), "$1\r\n3\r\n");
  EXPECT_EQ(Run({"HGETALL", "h"}), "*4\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n");
  EXPECT_EQ(Run({"HINCRBY", "h", "a", "5"}), ":8\r\n");
  EXPECT_EQ(Run({"HLEN", "h"}), ":2\r\n");
  EXPECT_EQ(Run({"TYPE", "h"}), "+hash\r\n");
  EXPECT_EQ(Run({"GET", "h"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(Run({"HDEL", "h", "a", "b"}), ":2\r\n");
  EXPECT_EQ(Run({"EXISTS", "h"}), ":0\r\n");  // empty hashes disappear
  Run({"SET", "s", "x"});
  EXPECT_EQ(Run({"HSET", "s", "f", "v"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
}

TEST_F(Harness, Resp3Hello) {
  std::string r = Run({"HELLO", "3"});
  EXPECT_EQ(r.substr(0, 4), "%7\r\n");
  EXPECT_EQ(Run({"GET", "missing"}), "_\r\n");
  Run({"HSET", "h", "f", "v"});
  EXPECT_EQ(Run({"HGETALL", "h"}), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
  EXPECT_EQ(Run({"HELLO", "4"}), "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ(Run({"RESET"}), "+RESET\r\n");
  EXPECT_EQ(Run({"GET", "missing"}), "$-1\r\n");
}

TEST_F(Harness, ErrorsMatchRedis) {
  EXPECT_EQ(Run({"NOSUCH", "a", "b"}),
            "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n");
  EXPECT_EQ(Run({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(Run({"SELECT", "1"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(Run({"SELECT", "0"}), "+OK\r\n");
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(Run({"PING", "hi"}), "$2\r\nhi\r\n");
}

TEST_F(Harness, AuthWithRequirePass) {
  EXPECT_EQ(Run({"AUTH", "x"}),
            "-ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "requirepass", "secret"}), "+OK\r\n");
  auto other = server_.NewClient();
  std::string out;
  std::vector<std::string_view> get = {"GET", "k"};
  server_.Execute(*other, get, &out);
  EXPECT_EQ(out, "-NOAUTH Authentication required.\r\n");
  out.clear();
  std::vector<std::string_view> bad = {"AUTH", "wrong"};
  server_.Execute(*other, bad, &out);
  EXPECT_EQ(out, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  out.clear();
  std::vector<std::string_view> good = {"AUTH", "secret"};
  server_.Execute(*other, good, &out);
  EXPECT_EQ(out, "+OK\r\n");
  server_.ReleaseClient(other.get());
}

TEST_F(Harness, MaxmemoryNoevictionAnswersOom) {
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "200kb"}), "+OK\r\n");
  std::string value(1000, 'x');
  std::string last;
  for (int i = 0;
       i < 1000 && last != "-OOM command not allowed when used memory > 'maxmemory'.\r\n"; ++i) {
    last = Run({"SET", "k" + std::to_string(i), value});
  }
  EXPECT_EQ(last, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  EXPECT_EQ(Run({"GET", "k0"}).substr(0, 6), "$1000\r");  // reads still work
  EXPECT_EQ(Run({"DEL", "k0"}), ":1\r\n");                // and deletes
}

TEST_F(Harness, MaxmemoryEvictsWithEveryPolicy) {
  for (const char* policy : {"allkeys-lru", "allkeys-lfu", "allkeys-random", "allkeys-fifo",
                             "allkeys-s3fifo", "allkeys-sieve", "allkeys-wtinylfu"}) {
    Run({"FLUSHALL"});
    ASSERT_EQ(Run({"CONFIG", "SET", "maxmemory-policy", policy}), "+OK\r\n");
    ASSERT_EQ(Run({"CONFIG", "SET", "maxmemory", "1mb"}), "+OK\r\n");
    std::string value(100, 'x');
    for (int i = 0; i < 30000; ++i)
      ASSERT_EQ(Run({"SET", "k" + std::to_string(i), value}), "+OK\r\n") << policy;
    EXPECT_LE(server_.keyspace_info().used_bytes, 1024u * 1024u + 64 * 1024u) << policy;
    EXPECT_GT(server_.keyspace_info().evicted, 10000u) << policy;
  }
  EXPECT_EQ(Run({"CONFIG", "GET", "maxmemory-policy"}),
            "*2\r\n$16\r\nmaxmemory-policy\r\n$16\r\nallkeys-wtinylfu\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory-policy", "bogus"}).substr(0, 60),
            "-ERR CONFIG SET failed (possibly related to argument 'maxmem");
}

TEST_F(Harness, KeysScanAndRandomKey) {
  for (int i = 0; i < 500; ++i) Run({"SET", "user:" + std::to_string(i), "v"});
  Run({"HSET", "hash:1", "f", "v"});
  std::string keys = Run({"KEYS", "hash:*"});
  EXPECT_EQ(keys, "*1\r\n$6\r\nhash:1\r\n");
  // SCAN until the cursor returns to 0 and count what came back.
  size_t seen = 0;
  std::string cursor = "0";
  int calls = 0;
  do {
    std::string r = Run({"SCAN", cursor, "COUNT", "50", "MATCH", "user:*"});
    size_t p = r.find("$", 4);
    size_t nl = r.find("\r\n", p);
    size_t len = std::stoul(r.substr(p + 1, nl - p - 1));
    cursor = r.substr(nl + 2, len);
    size_t star = r.find('*', nl + 2 + len);
    seen += std::stoul(r.substr(star + 1));
    ++calls;
  } while (cursor != "0" && calls < 1000);
  EXPECT_EQ(seen, 500u);
  EXPECT_GT(calls, 5);
  EXPECT_EQ(Run({"SCAN", "x"}), "-ERR invalid cursor\r\n");
  EXPECT_EQ(Run({"RANDOMKEY"}).substr(0, 1), "$");
}

TEST_F(Harness, ClientCommands) {
  EXPECT_EQ(Run({"CLIENT", "SETNAME", "worker-1"}), "+OK\r\n");
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), "$8\r\nworker-1\r\n");
  EXPECT_EQ(Run({"CLIENT", "SETNAME", "has space"}),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
  EXPECT_NE(Run({"CLIENT", "LIST"}).find("name=worker-1"), std::string::npos);
  EXPECT_EQ(Run({"CLIENT", "FOO"}), "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "1.2.3.4:5"}), "-ERR No such client\r\n");
}

TEST_F(Harness, ClientKillFiltersAsRedis) {
  auto other = server_.NewClient("10.0.0.2:4000");
  int kills = 0;
  other->kill = [&] { ++kills; };
  EXPECT_EQ(Run({"CLIENT", "KILL", "SKIPME", "maybe"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "TYPE", "robot"}), "-ERR Unknown client type 'robot'\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "USER", "bob"}), "-ERR No such user 'bob'\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "TYPE", "pubsub"}), ":0\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "ADDR", "10.0.0.9:1"}), ":0\r\n");
  EXPECT_EQ(kills, 0);
  // No other filter: every client but the caller.
  EXPECT_EQ(Run({"CLIENT", "KILL", "SKIPME", "yes"}), ":1\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "TYPE", "normal", "USER", "default"}), ":1\r\n");
  EXPECT_EQ(kills, 2);
  EXPECT_FALSE(client_->close_after_reply);
  // SKIPME no: the caller too, after its reply.
  EXPECT_EQ(Run({"CLIENT", "KILL", "SKIPME", "no"}), ":2\r\n");
  EXPECT_TRUE(client_->close_after_reply);
  server_.ReleaseClient(other.get());
}

TEST_F(Harness, InfoAndCommand) {
  Run({"SET", "k", "v"});
  Run({"GET", "k"});
  Run({"GET", "nope"});
  std::string info = Run({"INFO"});
  EXPECT_NE(info.find("keyspace_hits:1\r\n"), std::string::npos);
  EXPECT_NE(info.find("keyspace_misses:1\r\n"), std::string::npos);
  EXPECT_NE(info.find("db0:keys=1,expires=0"), std::string::npos);
  EXPECT_NE(info.find("used_memory:"), std::string::npos);
  EXPECT_EQ(Run({"INFO", "nosuchsection"}), "$0\r\n\r\n");
  EXPECT_EQ(Run({"COMMAND", "INFO", "get"}).substr(0, 20), "*1\r\n*10\r\n$3\r\nget\r\n:2");
  EXPECT_EQ(Run({"CONFIG", "GET", "save"}), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
}

}  // namespace
}  // namespace pier::cache
