#include "cache/server/cluster.h"

#include <gtest/gtest.h>

namespace pier::cache::server {
namespace {

TEST(KeySlot, MatchesRedisCrc16AndHashTags) {
  EXPECT_EQ(KeySlot("123456789"), 0x31C3 % 16384);  // CRC16/XMODEM check value
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(KeySlot("{user1000}.followers"), KeySlot("{user1000}.following"));
  EXPECT_EQ(KeySlot("foo{}{bar}"), KeySlot("foo{}{bar}"));  // empty tag: the whole key
  EXPECT_NE(KeySlot("foo{}{bar}"), KeySlot("bar"));
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));
}

TEST(ClusterConfig, EvenSplitAndSelf) {
  auto c =
      ParseClusterConfig("nodes:\n  - 127.0.0.1:7001\n  - 127.0.0.1:7002\n  - 127.0.0.1:7003\n",
                         "nodes.yaml", "127.0.0.1:7002");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->self, 1u);
  EXPECT_EQ(c->nodes[0].ranges[0], std::make_pair(0, 5460));
  EXPECT_EQ(c->nodes[1].ranges[0], std::make_pair(5461, 10921));
  EXPECT_EQ(c->nodes[2].ranges[0], std::make_pair(10922, 16383));
  EXPECT_EQ(c->nodes[0].id.size(), 40u);
  EXPECT_NE(c->nodes[0].id, c->nodes[1].id);
  EXPECT_TRUE(c->Owns(6000));
  EXPECT_FALSE(c->Owns(0));
}

TEST(ClusterConfig, ExplicitSlotsAndErrors) {
  auto ok = ParseClusterConfig("nodes: ['127.0.0.1:1 0-100,200-16383', '127.0.0.1:2 101-199']\n",
                               "n.yaml", "127.0.0.1:2");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(ok->Owns(150));
  auto gap = ParseClusterConfig("nodes: ['127.0.0.1:1 0-100']\n", "n.yaml", "127.0.0.1:1");
  EXPECT_EQ(gap.status().message(), "n.yaml: slot 101 is not assigned to any node");
  auto overlap = ParseClusterConfig("nodes: ['127.0.0.1:1 0-16383', '127.0.0.1:2 5']\n", "n.yaml",
                                    "127.0.0.1:1");
  EXPECT_NE(overlap.status().message().find("slot 5 is assigned to both"), std::string::npos);
  auto notme = ParseClusterConfig("nodes: ['127.0.0.1:1']\n", "n.yaml", "127.0.0.1:9");
  EXPECT_NE(notme.status().message().find("--listen 127.0.0.1:9 is not one of"), std::string::npos);
  auto bad = ParseClusterConfig("nodes: ['127.0.0.1:1 5-3']\n", "n.yaml", "127.0.0.1:1");
  EXPECT_NE(bad.status().message().find("slots must look like"), std::string::npos);
  auto unknown = ParseClusterConfig("nodez: []\n", "n.yaml", "127.0.0.1:1");
  EXPECT_NE(unknown.status().message().find("unknown key 'nodez'"), std::string::npos);
}

}  // namespace
}  // namespace pier::cache::server
