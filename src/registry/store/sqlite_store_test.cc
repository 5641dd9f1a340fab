#include "pier/registry/sqlite_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "pier/registry/registry.h"

namespace pier::registry {
namespace {

using namespace std::chrono_literals;

// A fresh directory for the running test, removed when the test ends.
class TempDir {
 public:
  TempDir()
      : dir_(std::filesystem::temp_directory_path() /
             ("pier-store-test-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
  }
  ~TempDir() { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / "sub" / name).string(); }

 private:
  std::filesystem::path dir_;
};

TEST(SqliteStoreTest, RegistrationsSurviveReopening) {
  TempDir dir;
  std::string path = dir.Path("registry.db");
  FakeClock clock;
  {
    auto store = OpenSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ServiceRegistry reg(clock, store->get());
    ServiceDefinition d;
    d.name = "web";
    d.id = "web-1";
    d.port = 8080;
    d.tags = {"v1"};
    CheckDefinition c;
    c.type = CheckType::kTtl;
    c.ttl = 10s;
    d.checks.push_back(c);
    ASSERT_TRUE(reg.Register(d).ok());
    d.id = "web-2";
    ASSERT_TRUE(reg.Register(d).ok());
    ASSERT_TRUE(reg.UpdateTtl("service:web-1", HealthStatus::kPassing, "").ok());
    ASSERT_TRUE(reg.SetMaintenance("web-2", true, "upgrading").ok());
    d.id = "web-3";
    ASSERT_TRUE(reg.Register(d).ok());
    ASSERT_TRUE(reg.Deregister("web-3").ok());
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok());
  ServiceRegistry reg(clock, store->get());
  ASSERT_TRUE(reg.Load().ok());
  auto all = reg.Instances("web");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].service.id, "web-1");
  EXPECT_EQ(all[0].service.port, 8080);
  EXPECT_EQ(all[0].service.tags, std::vector<std::string>{"v1"});
  EXPECT_EQ(all[0].status, HealthStatus::kCritical);  // health is re-probed after a restart
  EXPECT_EQ(all[1].status, HealthStatus::kMaintenance);
  EXPECT_EQ(all[1].checks[0].def.notes, "upgrading");
}

TEST(SqliteStoreTest, UnopenablePathIsAnIoError) {
  auto store = OpenSqliteStore("/proc/pier-cannot-exist/registry.db");
  EXPECT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace pier::registry
