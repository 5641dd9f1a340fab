#include "pier/registry/registry.h"

#include <gtest/gtest.h>

namespace pier::registry {
namespace {

using namespace std::chrono_literals;

ServiceDefinition Web(const std::string& id, int port, std::vector<std::string> tags = {}) {
  ServiceDefinition d;
  d.id = id;
  d.name = "web";
  d.address = "127.0.0.1";
  d.port = port;
  d.tags = std::move(tags);
  CheckDefinition ttl;
  ttl.type = CheckType::kTtl;
  ttl.ttl = 10s;
  d.checks.push_back(ttl);
  return d;
}

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() {
    reg_.OnChange([this](const Change& c) { changes_.push_back(c); });
    reg_.OnProbe([this](const std::string& id, uint64_t gen) { probes_.emplace_back(id, gen); });
  }
  FakeClock clock_;
  ServiceRegistry reg_{clock_, nullptr, RegistryOptions{.flap = {.max_changes = 0}}};
  std::vector<Change> changes_;
  std::vector<std::pair<std::string, uint64_t>> probes_;
};

TEST_F(RegistryTest, RegisterFillsConsulDefaults) {
  ServiceDefinition d;
  d.name = "api";
  d.checks.resize(2);
  for (auto& c : d.checks) {
    c.type = CheckType::kTtl;
    c.ttl = 5s;
  }
  ASSERT_TRUE(reg_.Register(d).ok());
  auto v = reg_.Instance("api");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->checks[0].def.id, "service:api:1");
  EXPECT_EQ(v->checks[1].def.id, "service:api:2");
  EXPECT_EQ(v->checks[0].def.name, "Service 'api' check");
  EXPECT_EQ(v->status, HealthStatus::kCritical);  // Consul's initial check status
}

TEST_F(RegistryTest, ValidationUsesConsulsTexts) {
  ServiceDefinition d;
  EXPECT_EQ(reg_.Register(d).message(), "Missing service name");
  d.name = "x";
  d.checks.resize(1);
  d.checks[0].type = CheckType::kTtl;
  EXPECT_EQ(reg_.Register(d).message(), "Invalid check: TTL must be > 0 for TTL checks");
  d.checks[0].type = CheckType::kHttp;
  d.checks[0].http = "http://127.0.0.1:1/";
  EXPECT_NE(reg_.Register(d).message().find("Interval must be > 0"), std::string::npos);
  EXPECT_EQ(reg_.Deregister("nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_.UpdateTtl("nope", HealthStatus::kPassing, "").code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, RegisterIsIdempotentAndKeepsCheckStatus) {
  ASSERT_TRUE(reg_.Register(Web("web-1", 8001)).ok());
  ASSERT_TRUE(reg_.UpdateTtl("service:web-1", HealthStatus::kPassing, "up").ok());
  uint64_t index = reg_.index();
  size_t changes = changes_.size();
  ASSERT_TRUE(reg_.Register(Web("web-1", 8001)).ok());
  EXPECT_EQ(reg_.index(), index);  // nothing changed
  EXPECT_EQ(changes_.size(), changes);
  ASSERT_TRUE(reg_.Register(Web("web-1", 8002)).ok());  // the check is unchanged: keeps passing
  EXPECT_GT(reg_.index(), index);
  EXPECT_EQ(reg_.Instance("web-1")->status, HealthStatus::kPassing);
  EXPECT_EQ(reg_.Instance("web-1")->service.port, 8002);
}

TEST_F(RegistryTest, IndexesMoveOnlyForWhatChanged) {
  ASSERT_TRUE(reg_.Register(Web("web-1", 8001, {"v1"})).ok());
  ServiceDefinition db;
  db.name = "db";
  ASSERT_TRUE(reg_.Register(db).ok());
  uint64_t web = reg_.ServiceIndex("web"), catalog = reg_.CatalogIndex();
  // Health of db changes nothing about web or the catalog.
  changes_.clear();
  ASSERT_TRUE(reg_.Register(Web("web-2", 8002, {"v1"})).ok());
  EXPECT_GT(reg_.ServiceIndex("web"), web);
  EXPECT_GT(reg_.CatalogIndex(), catalog);  // a new instance
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].services, std::vector<std::string>{"web"});
  web = reg_.ServiceIndex("web");
  catalog = reg_.CatalogIndex();
  uint64_t db_index = reg_.ServiceIndex("db");
  ASSERT_TRUE(reg_.UpdateTtl("service:web-2", HealthStatus::kPassing, "").ok());
  EXPECT_GT(reg_.ServiceIndex("web"), web);
  EXPECT_EQ(reg_.CatalogIndex(), catalog);  // health is not the catalog
  EXPECT_EQ(reg_.ServiceIndex("db"), db_index);
  EXPECT_TRUE(changes_.back().checks);
  EXPECT_EQ(reg_.ServiceIndex("never-registered"), 1u);
}

TEST_F(RegistryTest, DiscoveryFiltersByHealthTagAndMetaInStableOrder) {
  auto a = Web("web-b", 8002, {"v2", "canary"});
  a.meta["version"] = "2.0";
  ASSERT_TRUE(reg_.Register(a).ok());
  ASSERT_TRUE(reg_.Register(Web("web-a", 8001, {"v1"})).ok());
  ASSERT_TRUE(reg_.Register(Web("web-c", 8003, {"v2"})).ok());
  ASSERT_TRUE(reg_.UpdateTtl("service:web-a", HealthStatus::kPassing, "").ok());
  ASSERT_TRUE(reg_.UpdateTtl("service:web-b", HealthStatus::kPassing, "").ok());
  ASSERT_TRUE(reg_.UpdateTtl("service:web-c", HealthStatus::kWarning, "slow").ok());
  auto all = reg_.Instances("web");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].service.id, "web-a");
  EXPECT_EQ(all[2].service.id, "web-c");
  auto passing = reg_.Instances("web", {.passing_only = true});
  ASSERT_EQ(passing.size(), 2u);  // warning is not passing
  auto v2 = reg_.Instances("web", {.tags = {"v2"}});
  EXPECT_EQ(v2.size(), 2u);
  auto canary = reg_.Instances("web", {.passing_only = true, .tags = {"v2", "canary"}});
  ASSERT_EQ(canary.size(), 1u);
  EXPECT_EQ(canary[0].service.id, "web-b");
  auto meta = reg_.Instances("web", {.meta = {{"version", "2.0"}}});
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_EQ(reg_.Services()["web"], (std::set<std::string>{"v1", "v2", "canary"}));
}

TEST_F(RegistryTest, MaintenanceDrainsAndAddsConsulsCheck) {
  ASSERT_TRUE(reg_.Register(Web("web-1", 8001)).ok());
  ASSERT_TRUE(reg_.UpdateTtl("service:web-1", HealthStatus::kPassing, "").ok());
  ASSERT_TRUE(reg_.SetMaintenance("web-1", true, "").ok());
  auto v = reg_.Instance("web-1");
  EXPECT_EQ(v->status, HealthStatus::kMaintenance);
  ASSERT_EQ(v->checks.size(), 2u);
  EXPECT_EQ(v->checks[0].def.id, "_service_maintenance:web-1");
  EXPECT_EQ(v->checks[0].def.notes, kDefaultMaintenanceReason);
  EXPECT_TRUE(reg_.Instances("web", {.passing_only = true}).empty());
  ASSERT_TRUE(reg_.Register(Web("web-1", 8001)).ok());  // re-registering keeps maintenance
  EXPECT_EQ(reg_.Instance("web-1")->status, HealthStatus::kMaintenance);
  ASSERT_TRUE(reg_.SetMaintenance("web-1", false, "").ok());
  EXPECT_EQ(reg_.Instance("web-1")->status, HealthStatus::kPassing);
  EXPECT_EQ(reg_.SetMaintenance("nope", true, "").code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, TickExpiresTtlAndDeregistersLongCriticalServices) {
  auto d = Web("web-1", 8001);
  d.checks[0].deregister_critical_after = 60s;
  ASSERT_TRUE(reg_.Register(d).ok());
  ASSERT_TRUE(reg_.UpdateTtl("service:web-1", HealthStatus::kPassing, "").ok());
  clock_.Advance(11s);
  reg_.Tick();
  EXPECT_EQ(reg_.Instance("web-1")->status, HealthStatus::kCritical);
  EXPECT_EQ(reg_.Instance("web-1")->checks[0].output, "TTL expired");
  clock_.Advance(59s);
  reg_.Tick();
  EXPECT_TRUE(reg_.Instance("web-1").has_value());
  clock_.Advance(1s);
  reg_.Tick();
  EXPECT_FALSE(reg_.Instance("web-1").has_value());
}

TEST_F(RegistryTest, ProbesRunOnlyForTheCurrentGeneration) {
  ServiceDefinition d;
  d.name = "api";
  CheckDefinition http;
  http.type = CheckType::kHttp;
  http.http = "http://127.0.0.1:1/health";
  http.interval = 1s;
  d.checks.push_back(http);
  ASSERT_TRUE(reg_.Register(d).ok());
  ASSERT_EQ(probes_.size(), 1u);
  auto [id, gen] = probes_[0];
  EXPECT_TRUE(reg_.ProbeTarget(id, gen).has_value());
  reg_.ReportProbe(id, gen, HealthStatus::kPassing, "HTTP GET: 200 OK");
  EXPECT_EQ(reg_.Instance("api")->status, HealthStatus::kPassing);
  d.checks[0].interval = 2s;  // a new definition: a new probe loop
  ASSERT_TRUE(reg_.Register(d).ok());
  ASSERT_EQ(probes_.size(), 2u);
  EXPECT_FALSE(reg_.ProbeTarget(id, gen).has_value());
  reg_.ReportProbe(id, gen, HealthStatus::kCritical, "stale");  // ignored
  EXPECT_EQ(reg_.Instance("api")->checks[0].output, "");
  ASSERT_TRUE(reg_.Deregister("api").ok());
  EXPECT_FALSE(reg_.ProbeTarget(probes_[1].first, probes_[1].second).has_value());
}

TEST_F(RegistryTest, ABatchAppliesInOrderWithOneIndexAndPerWriteStatus) {
  using W = ServiceRegistry::Write;
  ServiceDefinition nameless;
  changes_.clear();
  auto results = reg_.ApplyWrites({W::Register(Web("web-1", 8001)), W::Register(nameless),
                                   W::Maintenance("web-1", true, "drain"), W::Deregister("web-1"),
                                   W::Register(Web("web-2", 8002)), W::Deregister("web-9")});
  ASSERT_EQ(results.size(), 6u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].message(), "Missing service name");
  EXPECT_TRUE(results[2].ok());  // sees web-1 registered earlier in the batch
  EXPECT_TRUE(results[3].ok());
  EXPECT_TRUE(results[4].ok());
  EXPECT_EQ(results[5].code(), StatusCode::kNotFound);
  EXPECT_FALSE(reg_.Instance("web-1").has_value());
  EXPECT_TRUE(reg_.Instance("web-2").has_value());
  ASSERT_EQ(changes_.size(), 1u);  // one index for the whole batch
}

TEST_F(RegistryTest, ACheckIdBelongsToOneService) {
  ASSERT_TRUE(reg_.Register(Web("web-1", 8001)).ok());
  auto other = Web("web-2", 8002);
  other.checks[0].id = "service:web-1";
  EXPECT_EQ(reg_.Register(other).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pier::registry
