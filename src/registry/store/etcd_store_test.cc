#include "registry/store/etcd_store.h"

#include <gtest/gtest.h>

namespace pier::registry {
namespace {

TEST(EtcdStoreTest, Base64RoundTripsAndMatchesRfc4648) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string back;
  ASSERT_TRUE(Base64Decode(Base64Encode(all), &back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(Base64Decode("Zm9v!mFy", &back));
}

TEST(EtcdStoreTest, BadUrlsAreInvalidArguments) {
  EXPECT_EQ(EtcdStore::Open("redis://x:1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EtcdStore::Open("etcd://nohostport").status().code(), StatusCode::kInvalidArgument);
  // A valid URL where nothing listens is the environment's failure.
  EXPECT_EQ(EtcdStore::Open("etcd://127.0.0.1:1").status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace pier::registry
