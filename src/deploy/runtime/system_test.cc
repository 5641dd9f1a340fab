// System on a fake Driver and a fake clock: instances are in-process HTTP servers whose /health
// passes or fails by version, registered with a real in-process registry and routed by a real
// proxy, so a deploy is judged by the same health checks as under `pier up`; its deadlines are
// on the fake clock, which the test moves past them. Deploys that add and remove services,
// failed steps, and rollback from each state.
#include "pier/deploy/runtime/system.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "pier/net/http_server.h"
#include "pier/registry/registry_server.h"

namespace pier::deploy::runtime {
namespace {

using namespace std::chrono_literals;

// Runs each instance as an HTTP server on its host port; versions in `unhealthy` answer /health
// with 500.
class FakeDriver : public Driver {
 public:
  explicit FakeDriver(std::set<std::string> unhealthy) : unhealthy_(std::move(unhealthy)) {
    pool_.Start();
  }
  ~FakeDriver() override {
    {
      std::lock_guard l(mu_);
      for (auto& [id, s] : running_) s->Shutdown();
      running_.clear();
    }
    pool_.Stop(true);
    pool_.Join();
  }
  std::string name() const override { return "fake"; }
  Status Start(const InstanceSpec& spec) override {
    net::HttpServerOptions o;
    o.listen.host = "127.0.0.1";
    o.listen.port = spec.host_port;
    auto http = std::make_unique<net::HttpServer>(pool_, o);
    const bool healthy = !unhealthy_.count(spec.version);
    http->Route("GET", "/health", [healthy](const net::HttpRequest&) {
      return healthy ? net::HttpResponse::Text(200, "ok") : net::HttpResponse::Error(500, "sick");
    });
    http->Route("GET", "/", [v = spec.version](const net::HttpRequest&) {
      return net::HttpResponse::Text(200, v);
    });
    PIER_RETURN_IF_ERROR(http->Start());
    std::lock_guard l(mu_);
    running_[spec.id] = std::move(http);
    started_.push_back(spec.id);
    return Status::Ok();
  }
  Status Stop(const std::string& id, std::chrono::milliseconds) override {
    std::unique_ptr<net::HttpServer> s;
    {
      std::lock_guard l(mu_);
      auto it = running_.find(id);
      if (it == running_.end()) return Status::NotFound("no instance " + id);
      s = std::move(it->second);
      running_.erase(it);
    }
    s->Shutdown();
    s->CloseAll();
    return Status::Ok();
  }
  Result<InstanceState> Inspect(const std::string& id) override {
    std::lock_guard l(mu_);
    if (!running_.count(id)) return Status::NotFound("no instance " + id);
    return InstanceState{.running = true, .handle = id};
  }
  Result<std::string> Logs(const std::string&, size_t) override { return std::string(); }

  std::set<std::string> Running() {
    std::lock_guard l(mu_);
    std::set<std::string> out;
    for (const auto& [id, _] : running_) out.insert(id);
    return out;
  }

 private:
  std::set<std::string> unhealthy_;
  net::IoPool pool_{1};
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<net::HttpServer>> running_;
  std::vector<std::string> started_;
};

// A service in the spec: two replicas, checked every 100 ms (real time: the registry probes
// them), ready within 10 minutes (on the fake clock).
std::string ServiceYaml(const std::string& name, const std::string& version,
                        const std::string& update = "") {
  return "  " + name + ":\n    version: " + version +
         "\n    command: [fake]\n    replicas: 2\n"
         "    health: {http: /health, interval: 100ms, timeout: 1s, retries: 1}\n"
         "    update: {progress_deadline: 10m" +
         update + "}\n";
}

Architecture Spec(const std::string& services, const std::string& routes) {
  auto a = ParseArchitecture("name: t\nplatform: {proxy: {listen: 127.0.0.1:0}}\nservices:\n" +
                                 services + "routes:\n" + routes,
                             "test");
  EXPECT_TRUE(a.ok()) << a.status().message();
  return a.ok() ? *a : Architecture{};
}

std::string Route(const std::string& prefix, const std::string& service) {
  return "  - {path_prefix: " + prefix + ", service: " + service + "}\n";
}

class SystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.Open().ok());
    net::HttpServerOptions o;
    o.listen.host = "127.0.0.1";
    o.security.token = "system-test-token";
    http_ = std::make_unique<net::HttpServer>(pool_, o);
    registry_.AddRoutes(*http_);
    ASSERT_TRUE(http_->Start().ok());
    pool_.Start();
    registry_.Start();
    client_ = std::make_unique<registry::Client>(
        registry::ClientOptions{.address = http_->address(), .token = "system-test-token"});
    system_ = std::make_unique<System>(driver_, *client_, proxy_,
                                       SystemOptions{.registry_address = http_->address(),
                                                     .registry_token = "system-test-token",
                                                     .now_ms = [this] { return now_ms_.load(); }});
  }
  void TearDown() override {
    system_->StopAll();
    system_.reset();
    proxy_.Shutdown();
    registry_.Shutdown();
    http_->Shutdown();
    http_->CloseAll();
    pool_.Stop(false);
    pool_.Join();
  }

  void Up(const Architecture& a) {
    ASSERT_TRUE(system_->StartProxy(a).ok());
    ASSERT_TRUE(system_->Up().ok());
  }
  // Deploys `a` and waits for the rollout's end (it waits on the instances' health checks);
  // returns its final state.
  std::string Deploy(const Architecture& a) {
    EXPECT_TRUE(system_->BeginDeploy(a).ok());
    return Finished();
  }
  // Deploys a spec with a version that never gets healthy: while its instances run, the fake
  // clock moves a minute per poll, past the progress deadline.
  std::string DeployBroken(const Architecture& a) {
    EXPECT_TRUE(system_->BeginDeploy(a).ok());
    return Finished(/*advance_while_broken=*/true);
  }
  bool RunsBroken() {
    for (const auto& id : driver_.Running()) {
      if (id.find("-broken-") != std::string::npos) return true;
    }
    return false;
  }
  std::string Finished(bool advance_while_broken = false) {
    for (int i = 0; i < 3000; ++i) {
      const std::string state = system_->DeployState(0)["state"];
      if (state != "running") return state;
      if (advance_while_broken && RunsBroken()) now_ms_ += 60 * 1000;
      std::this_thread::sleep_for(10ms);  // polling a rollout on another thread
    }
    return "still running";
  }
  // service -> its stable version.
  std::map<std::string, std::string> Stable() {
    std::map<std::string, std::string> out;
    const nlohmann::json d = system_->Describe();
    for (const auto& s : d["services"]) {
      out[s["name"].get<std::string>()] = s["stable"].get<std::string>();
    }
    return out;
  }
  size_t Instances() { return driver_.Running().size(); }

  std::atomic<int64_t> now_ms_{1'000'000};
  FakeDriver driver_{{"broken"}};
  net::IoPool pool_{2};
  registry::RegistryServer registry_{pool_, {}};
  std::unique_ptr<net::HttpServer> http_;
  std::unique_ptr<registry::Client> client_;
  proxy::ProxyServer proxy_{pool_};
  std::unique_ptr<System> system_;
};

TEST_F(SystemTest, ADeployAddsAndRemovesServicesWithoutARestart) {
  Up(Spec(ServiceYaml("api", "v1"), Route("/", "api")));
  EXPECT_EQ(Instances(), 2u);
  ASSERT_EQ(Deploy(Spec(ServiceYaml("api", "v1") + ServiceYaml("web", "v1"),
                        Route("/web", "web") + Route("/", "api"))),
            "succeeded");
  EXPECT_EQ(Stable(), (std::map<std::string, std::string>{{"api", "v1"}, {"web", "v1"}}));
  EXPECT_EQ(Instances(), 4u);
  ASSERT_EQ(Deploy(Spec(ServiceYaml("web", "v1"), Route("/", "web"))), "succeeded");
  EXPECT_EQ(Stable(), (std::map<std::string, std::string>{{"web", "v1"}}));
  EXPECT_EQ(Instances(), 2u);
}

TEST_F(SystemTest, AFailedStepLeavesWhatRunsAndCanBeSentAgain) {
  Up(Spec(ServiceYaml("api", "v1"), Route("/", "api")));
  // api moves to v2, then the new service never gets healthy: it is removed again, and the
  // running spec says api v2 (what runs), not the deploy's.
  const auto next = Spec(ServiceYaml("api", "v2") + ServiceYaml("web", "broken"),
                         Route("/web", "web") + Route("/", "api"));
  EXPECT_EQ(DeployBroken(next), "rolled_back");
  EXPECT_EQ(Stable(), (std::map<std::string, std::string>{{"api", "v2"}}));
  EXPECT_EQ(Instances(), 2u);
  // The same deploy again: the same outcome, nothing left behind.
  EXPECT_EQ(DeployBroken(next), "rolled_back");
  EXPECT_EQ(Stable(), (std::map<std::string, std::string>{{"api", "v2"}}));
  EXPECT_EQ(Instances(), 2u);
  // A version that never gets healthy rolls back to the one that serves.
  EXPECT_EQ(DeployBroken(Spec(ServiceYaml("api", "broken"), Route("/", "api"))), "rolled_back");
  EXPECT_EQ(Stable(), (std::map<std::string, std::string>{{"api", "v2"}}));
  EXPECT_EQ(Instances(), 2u);
}

TEST_F(SystemTest, RollbackFromEveryState) {
  Up(Spec(ServiceYaml("api", "v1"), Route("/", "api")));
  // Idle, before any deploy: nothing to roll back.
  EXPECT_EQ(system_->BeginRollback().code(), StatusCode::kFailedPrecondition);
  // After a deploy: the spec before it comes back.
  ASSERT_EQ(Deploy(Spec(ServiceYaml("api", "v2"), Route("/", "api"))), "succeeded");
  ASSERT_TRUE(system_->BeginRollback().ok());
  EXPECT_EQ(Finished(), "succeeded");
  EXPECT_EQ(Stable()["api"], "v1");
  // While a rollout runs (a canary waiting at its first step): it rolls back at once.
  ASSERT_TRUE(system_
                  ->BeginDeploy(Spec(ServiceYaml("api", "v3",
                                                 ", strategy: canary, steps: [50, 100], "
                                                 "step_time: 1h"),
                                     Route("/", "api")))
                  .ok());
  for (int i = 0; i < 3000 && Stable().count("api") &&
                  system_->Describe()["services"][0]["versions"].size() < 2;
       ++i) {
    std::this_thread::sleep_for(10ms);  // until the canary's instances exist
  }
  EXPECT_EQ(system_->BeginDeploy(Architecture{}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(system_->BeginRollback().ok());
  EXPECT_EQ(Finished(), "rolled_back");
  EXPECT_EQ(Stable()["api"], "v1");
  EXPECT_EQ(Instances(), 2u);
  // After a failed deploy: rollback goes to the spec before the last successful deploy.
  EXPECT_EQ(DeployBroken(Spec(ServiceYaml("api", "broken"), Route("/", "api"))), "rolled_back");
  ASSERT_TRUE(system_->BeginRollback().ok());
  EXPECT_EQ(Finished(), "succeeded");
  EXPECT_EQ(Stable()["api"], "v2");
}

}  // namespace
}  // namespace pier::deploy::runtime
