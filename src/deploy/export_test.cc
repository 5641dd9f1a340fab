#include "pier/deploy/export.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace pier::deploy {
namespace {

Architecture Shop() {
  return MicroserviceBuilder("shop")
      .Service("api")
      .Version("v2")
      .Command({"pier", "demo-service"})
      .Replicas(3)
      .Port(0, 8080)
      .Env("LOG", "debug")
      .Cpu(0.5)
      .Memory(256u << 20)
      .Pids(100)
      .HttpHealth("/health", 8080)
      .DependsOn("db", Dependency::Condition::kHealthy)
      .Calls("db", 1000, 1)
      .Service("db")
      .Image("local/db:1")
      .Port(15432, 5432)
      .TcpHealth(5432)
      .Route("shop.local", "/", "api")
      .Build();
}

bool Mentions(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines) {
    if (l.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(ExportCompose, ServicesWithHealthDependenciesAndResources) {
  auto out = ExportCompose(Shop());
  YAML::Node doc = YAML::Load(out.text);
  auto api = doc["services"]["api"];
  EXPECT_EQ(api["image"].as<std::string>(), "pier-api:v2");
  EXPECT_EQ(api["deploy"]["replicas"].as<int>(), 3);
  EXPECT_EQ(api["deploy"]["resources"]["limits"]["cpus"].as<std::string>(), "0.5");
  EXPECT_EQ(api["deploy"]["resources"]["limits"]["memory"].as<std::string>(), "268435456b");
  EXPECT_EQ(api["pids_limit"].as<int>(), 100);
  EXPECT_EQ(api["healthcheck"]["test"][0].as<std::string>(), "CMD-SHELL");
  EXPECT_NE(api["healthcheck"]["test"][1].as<std::string>().find("http://127.0.0.1:8080/health"),
            std::string::npos);
  EXPECT_EQ(api["depends_on"]["db"]["condition"].as<std::string>(), "service_healthy");
  EXPECT_EQ(api["environment"]["LOG"].as<std::string>(), "debug");
  EXPECT_EQ(doc["services"]["db"]["ports"][0].as<std::string>(), "15432:5432");
  EXPECT_TRUE(Mentions(out.unsupported, "services.api: runs a command, not an image"));
  EXPECT_TRUE(Mentions(out.unsupported, "routes: Compose has no HTTP routing"));
  EXPECT_TRUE(Mentions(out.unsupported, "services.api.calls"));
}

TEST(ExportCompose, RestartPolicyAndStrategiesComposeCannotRun) {
  auto a = Shop();
  a.services[0].restart = "on-failure";
  a.services[0].update.strategy = UpdatePolicy::Strategy::kCanary;
  auto out = ExportCompose(a);
  YAML::Node doc = YAML::Load(out.text);
  EXPECT_EQ(doc["services"]["api"]["restart"].as<std::string>(), "on-failure");
  EXPECT_FALSE(doc["services"]["db"]["restart"]);
  EXPECT_TRUE(Mentions(out.unsupported,
                       "services.api.update: Compose replaces containers in "
                       "place; canary needs pier deploy"));
  EXPECT_TRUE(Mentions(ExportKubernetes(a).unsupported,
                       "services.api.update: a Deployment rolls; canary needs two Deployments"));
}

TEST(ExportKubernetes, DeploymentsWithRollingUpdateProbesResourcesServicesAndConfigMaps) {
  auto out = ExportKubernetes(Shop(), {.max_surge = "1", .max_unavailable = "0"});
  auto docs = YAML::LoadAll(out.text);
  std::map<std::string, YAML::Node> by;  // "Kind/name"
  for (const auto& d : docs) {
    by[d["kind"].as<std::string>() + "/" + d["metadata"]["name"].as<std::string>()] = d;
  }
  ASSERT_TRUE(by.count("Deployment/api") && by.count("Service/api") &&
              by.count("ConfigMap/api-env") && by.count("Deployment/db") && by.count("Service/db"));
  auto spec = by["Deployment/api"]["spec"];
  EXPECT_EQ(spec["replicas"].as<int>(), 3);
  EXPECT_EQ(spec["strategy"]["rollingUpdate"]["maxSurge"].as<std::string>(), "1");
  auto c = spec["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/health");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"].as<int>(), 8080);
  EXPECT_EQ(c["resources"]["limits"]["cpu"].as<std::string>(), "0.5");
  EXPECT_EQ(c["envFrom"][0]["configMapRef"]["name"].as<std::string>(), "api-env");
  EXPECT_EQ(spec["selector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(), "api");
  EXPECT_EQ(by["Deployment/db"]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
              ["tcpSocket"]["port"]
                  .as<int>(),
            5432);
  EXPECT_TRUE(Mentions(out.unsupported, "host port 15432 is not published"));
  EXPECT_TRUE(Mentions(out.unsupported, "resources.pids"));
  EXPECT_TRUE(Mentions(out.unsupported, "services.api.depends_on: Kubernetes has no start order"));
}

}  // namespace
}  // namespace pier::deploy
