// Client connections moving between the I/O threads of an elastic pool keep their state.
#include <gtest/gtest.h>

#include "cache/server/live_server_test.h"

namespace pier::cache {
namespace {

using namespace std::chrono_literals;

class ThreadMoveTest : public LiveServerTest {
 protected:
  ThreadMoveTest() : LiveServerTest(1) {}
  static std::string Reply(net::RespConnection& c, std::vector<std::string_view> cmd) {
    auto r = c.Run({cmd}, 5s);
    PIER_CHECK(r.ok());
    const net::RespValue& v = r->at(0);
    return v.is_error()                               ? "ERR:" + v.str
           : v.type == net::RespValue::Type::kInteger ? std::to_string(v.integer)
                                                      : v.str;
  }
};

TEST_F(ThreadMoveTest, ConnectionsSpreadWhenAThreadJoinsAndComeBackWhenItLeaves) {
  auto a = Connect();
  auto b = Connect();
  EXPECT_EQ(Reply(*a, {"CLIENT", "SETNAME", "alpha"}), "OK");
  EXPECT_EQ(Reply(*b, {"CLIENT", "SETNAME", "beta"}), "OK");
  EXPECT_EQ(Reply(*a, {"SET", "k", "1"}), "OK");
  EXPECT_EQ(pool_.connections(0), 2u);
  EXPECT_EQ(pool_.connections(1), 0u);

  // After a change of active threads each connection looks after answering a request; two
  // requests each make sure it has looked. Both keep their state wherever they went.
  int counter = 1;
  auto exchange = [&](size_t active, size_t on_0, size_t on_1) {
    pool_.SetActive(active);
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(Reply(*a, {"INCR", "k"}), std::to_string(++counter));
      EXPECT_EQ(Reply(*b, {"PING"}), "PONG");
    }
    EXPECT_EQ(pool_.connections(0), on_0);
    EXPECT_EQ(pool_.connections(1), on_1);
    EXPECT_EQ(Reply(*a, {"CLIENT", "GETNAME"}), "alpha");
    EXPECT_EQ(Reply(*b, {"CLIENT", "GETNAME"}), "beta");
  };
  exchange(2, 1, 1);  // a thread joins: one moves there
  exchange(1, 2, 0);  // it leaves: that one comes back
  EXPECT_NE(Reply(*a, {"INFO", "clients"}).find("connected_clients:2"), std::string::npos);

  // CLIENT KILL reaches a connection wherever it went.
  pool_.SetActive(2);
  for (int i = 0; i < 2; ++i) Reply(*b, {"PING"});
  EXPECT_EQ(pool_.connections(1), 1u);
  const std::string b_id = Reply(*b, {"CLIENT", "ID"});
  EXPECT_EQ(Reply(*a, {"CLIENT", "KILL", "ID", b_id}), "1");
  auto r = b->Run({{"PING"}}, 5s);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace pier::cache
