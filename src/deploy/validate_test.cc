#include "pier/deploy/validate.h"

#include <gtest/gtest.h>

namespace pier::deploy {
namespace {

const ValidateOptions kMachine{.capacity = {.cpus = 2, .memory_bytes = 4ull << 30}};

// The one problem a spec has, formatted; fails the test when it has none or several.
std::string OnlyProblem(const std::string& yaml) {
  auto a = ParseArchitecture(yaml, "pier.yaml");
  EXPECT_TRUE(a.ok()) << a.status().message();
  if (!a.ok()) return "";
  auto problems = Validate(*a, kMachine);
  std::string all;
  for (const auto& p : problems) all += FormatProblem(p);
  EXPECT_EQ(problems.size(), 1u) << all;
  return all;
}

void Contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "missing '" << part << "' in:\n" << text;
}

constexpr const char* kGood = R"(name: shop
platform:
  proxy: {listen: 127.0.0.1:7080}
  cache: {policy: allkeys-s3fifo, memory: 64mb}
  queue: {topics: [orders]}
services:
  api:
    version: v2
    command: [pier, demo-service]
    replicas: 2
    ports: ["80"]
    env: {LOG: debug}
    resources: {cpu: 0.5, memory: 256mb, pids: 100}
    health: {http: /health, port: 80, interval: 5s, timeout: 1s, retries: 3, start_period: 2s}
    depends_on: {db: {condition: healthy}}
    calls: [{service: db, timeout: 1s, retries: 1}]
  db:
    image: local/db:1
    ports: ["15432:5432"]
    health: {tcp: 5432}
routes:
  - {host: shop.local, path_prefix: /, service: api, policy: least_request, timeout: 5s, retries: 2}
)";

TEST(DeploySpec, AGoodSpecParsesAndHasNoProblems) {
  auto a = ParseArchitecture(kGood, "pier.yaml");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->name, "shop");
  ASSERT_EQ(a->services.size(), 2u);
  const Service& api = a->services[0];
  EXPECT_EQ(api.version, "v2");
  EXPECT_EQ(api.replicas, 2u);
  EXPECT_EQ(api.memory, 256u << 20);
  EXPECT_EQ(api.health.kind, HealthCheck::Kind::kHttp);
  EXPECT_EQ(api.health.interval_ms, 5000);
  EXPECT_EQ(api.depends_on[0].condition, Dependency::Condition::kHealthy);
  EXPECT_EQ(api.calls[0].timeout_ms, 1000);
  EXPECT_EQ(a->services[1].ports[0].host, 15432);
  EXPECT_TRUE(a->platform.cache && a->platform.queue);
  EXPECT_EQ(a->routes[0].retries, 2u);
  EXPECT_TRUE(Validate(*a, kMachine).empty());
}

TEST(DeploySpec, TheBuilderMakesTheSameModel) {
  auto built = MicroserviceBuilder("shop")
                   .Service("api")
                   .Version("v2")
                   .Command({"pier", "demo-service"})
                   .Replicas(2)
                   .Cpu(0.5)
                   .Memory(256u << 20)
                   .HttpHealth("/health", 80)
                   .DependsOn("db", Dependency::Condition::kHealthy)
                   .Calls("db", 1000, 1)
                   .Service("db")
                   .Image("local/db:1")
                   .Port(15432, 5432)
                   .TcpHealth(5432)
                   .Route("shop.local", "/", "api", 5000, 2)
                   .Build();
  auto parsed = *ParseArchitecture(kGood, "pier.yaml");
  ASSERT_EQ(built.services.size(), parsed.services.size());
  EXPECT_EQ(built.services[0].cpu, parsed.services[0].cpu);
  EXPECT_EQ(built.services[0].memory, parsed.services[0].memory);
  EXPECT_EQ(built.services[1].ports[0].host, parsed.services[1].ports[0].host);
  EXPECT_TRUE(Validate(built, kMachine).empty());
}

TEST(DeploySpec, SchemaErrorsNameFileLineColumnAndField) {
  auto a = ParseArchitecture("services:\n  api:\n    image: x\n    replicas: many\n", "pier.yaml");
  ASSERT_FALSE(a.ok());
  Contains(a.status().message(), "pier.yaml:4:15: services.api.replicas");
  a = ParseArchitecture("services:\n  api:\n    image: x\n    helth: {tcp: 80}\n", "pier.yaml");
  ASSERT_FALSE(a.ok());
  Contains(a.status().message(), "pier.yaml:4:5: unknown key 'services.api.helth'");
  a = ParseArchitecture("services:\n  api: {replicas: 1}\n", "pier.yaml");
  ASSERT_FALSE(a.ok());
  Contains(a.status().message(), "a service runs an image or a command");
}

TEST(DeployValidate, UnknownServiceInADependencyCallOrRoute) {
  Contains(OnlyProblem("services:\n  api:\n    image: x\n    depends_on: {dbb: {}}\n"),
           "pier.yaml:4:23: services.api.depends_on.dbb: 'dbb' is not a service\n  fix: name "
           "one of the services (api)");
  Contains(OnlyProblem("services:\n  api:\n    image: x\n    calls: [{service: nope}]\n"),
           "services.api.calls: 'nope' is not a service");
  Contains(OnlyProblem("services:\n  api: {image: x}\nroutes:\n  - {service: apj}\n"),
           "routes.service: 'apj' is not a service");
}

TEST(DeployValidate, DependencyCyclesArePrinted) {
  Contains(OnlyProblem(R"(services:
  a: {image: x, depends_on: {b: {}}}
  b: {image: x, depends_on: {c: {}}}
  c: {image: x, depends_on: {a: {}}}
)"),
           "a dependency cycle: a -> b -> c -> a\n  fix: remove one of these depends_on entries");
}

TEST(DeployValidate, DuplicateServiceNamesAndRoutes) {
  Contains(OnlyProblem("services:\n  api: {image: x}\n  api: {image: y}\n"),
           "the service name 'api' is used twice");
  Contains(OnlyProblem("services:\n  api: {image: x}\nroutes:\n  - {service: api}\n  - {service: "
                       "api}\n"),
           "a second route for host '' and path '/'");
}

TEST(DeployValidate, HostPortClashesWithServicesReplicasAndThePlatform) {
  Contains(OnlyProblem("services:\n  a: {image: x, ports: [\"8080:80\"]}\n  b: {image: x, "
                       "ports: [\"8080:81\"]}\n"),
           "host port 8080 is taken by service a");
  Contains(OnlyProblem("services:\n  a: {image: x, ports: [\"7080:80\"]}\n"),
           "host port 7080 is taken by the pier proxy");
  Contains(OnlyProblem("services:\n  a: {image: x, replicas: 3, ports: [\"9000:80\"]}\n"),
           "3 replicas of a would all bind host port 9000");
}

TEST(DeployValidate, ResourcesBeyondTheMachine) {
  Contains(OnlyProblem("services:\n  a: {image: x, resources: {cpu: 4}}\n"),
           "a asks for 4 cores; this machine has 2");
  Contains(OnlyProblem("services:\n  a: {image: x, replicas: 3, resources: {cpu: 1}}\n"),
           "the services ask for 3 cores in all (cpu x replicas); this machine has 2");
  Contains(OnlyProblem("services:\n  a: {image: x, replicas: 3, resources: {memory: 2gb}}\n"),
           "the services ask for 6.00G of memory in all");
}

TEST(DeployValidate, HealthyDependencyNeedsAHealthCheck) {
  Contains(OnlyProblem("services:\n  api: {image: x, depends_on: {db: {condition: healthy}}}\n  "
                       "db: {image: y}\n"),
           "api waits for db to be healthy, but db has no health check\n  fix: add a health: "
           "section to db, or use condition: started");
}

TEST(DeployValidate, RetriesMultiplyAlongCallChains) {
  const std::string p = OnlyProblem(R"(services:
  web: {image: x, calls: [{service: api, timeout: 1s, retries: 2}]}
  api: {image: x, calls: [{service: db, timeout: 100ms, retries: 2}]}
  db: {image: x}
routes:
  - {service: web, retries: 2, timeout: 30s}
)");
  Contains(p,
           "services.api.calls.db.retries: retries multiply along route / -> web -> api -> db: "
           "one request can reach db 27 times (3 x 3 x 3)");
  Contains(p, "fix: retry at one layer only");
}

TEST(DeployValidate, CallTimeoutsMustFitTheCallersTimeout) {
  Contains(OnlyProblem(R"(services:
  api: {image: x, calls: [{service: db, timeout: 2s, retries: 2}]}
  db: {image: x}
routes:
  - {service: api, timeout: 5s}
)"),
           "api may wait 3 x 2s = 6s for db, but the route / gives api only 5s\n  fix: make "
           "timeout x (retries + 1) fit: timeout: 1666ms with retries: 2");
}

}  // namespace
}  // namespace pier::deploy
