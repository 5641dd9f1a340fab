#include "pier/base/config.h"

#include <gtest/gtest.h>

namespace pier {
namespace {

TEST(Config, ReadsTypedValues) {
  auto doc = ConfigDocument::LoadString(
      "listen: 127.0.0.1:7379\nthreads: 4\ncache:\n  policy: s3fifo\n  ratio: 0.5\n"
      "  enabled: yes\n  tags: [a, b]\n",
      "pier.yaml");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  auto root = (*doc)->Root();
  std::string listen;
  uint64_t threads = 0;
  root.Read("listen", &listen);
  root.Read("threads", &threads, 1, 256);
  auto cache = root.Section("cache");
  std::string policy = "lru";
  double ratio = 0;
  bool enabled = false;
  std::vector<std::string> tags;
  cache.Read("policy", &policy);
  cache.Read("ratio", &ratio);
  cache.Read("enabled", &enabled);
  cache.Read("tags", &tags);
  std::string untouched = "default";
  cache.Read("absent", &untouched);
  EXPECT_TRUE((*doc)->Finish().ok()) << (*doc)->Finish().message();
  EXPECT_EQ(listen, "127.0.0.1:7379");
  EXPECT_EQ(threads, 4u);
  EXPECT_EQ(policy, "s3fifo");
  EXPECT_DOUBLE_EQ(ratio, 0.5);
  EXPECT_TRUE(enabled);
  EXPECT_EQ(tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(untouched, "default");
}

TEST(Config, UnknownKeyIsReportedWithFileLineAndPath) {
  auto doc = ConfigDocument::LoadString("cache:\n  policy: lru\n  polcy: lfu\n", "pier.yaml");
  ASSERT_TRUE(doc.ok());
  auto cache = (*doc)->Root().Section("cache");
  std::string policy;
  cache.Read("policy", &policy);
  Status s = (*doc)->Finish();
  EXPECT_EQ(s.message(), "pier.yaml:3:3: unknown key 'cache.polcy'");
}

TEST(Config, BadValuesAreReportedWithFileLineAndField) {
  auto doc = ConfigDocument::LoadString("threads: lots\n", "pier.yaml");
  ASSERT_TRUE(doc.ok());
  uint64_t threads = 1;
  (*doc)->Root().Read("threads", &threads, 1, 256);
  EXPECT_EQ((*doc)->Finish().message(),
            "pier.yaml:1:10: threads: expected a non-negative integer, got 'lots'");
  EXPECT_EQ(threads, 1u);

  auto range = ConfigDocument::LoadString("threads: 1000\n", "p.yaml");
  (*range)->Root().Read("threads", &threads, 1, 256);
  EXPECT_EQ((*range)->Finish().message(),
            "p.yaml:1:10: threads: value 1000 is out of range [1, 256]");

  auto notmap = ConfigDocument::LoadString("cache: 3\n", "p.yaml");
  (*notmap)->Root().Section("cache");
  EXPECT_NE((*notmap)->Finish().message().find("cache: expected a mapping"), std::string::npos);
}

TEST(Config, SyntaxErrorsAndLimits) {
  auto bad = ConfigDocument::LoadString("a: [1, 2\n", "x.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("x.yaml:", 0), 0u);
  auto deep = ConfigDocument::LoadString(std::string(100, '[') + std::string(100, ']'), "d.yaml");
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nesting deeper"), std::string::npos);
  auto big = ConfigDocument::LoadString(std::string(kMaxConfigBytes + 1, ' '), "b.yaml");
  EXPECT_FALSE(big.ok());
  auto list = ConfigDocument::LoadString("- a\n- b\n", "l.yaml");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("top level must be a mapping"), std::string::npos);
  auto missing = ConfigDocument::LoadFile("/nonexistent/pier.yaml");
  EXPECT_FALSE(missing.ok());
}

TEST(Config, EmptyDocumentIsFine) {
  auto doc = ConfigDocument::LoadString("", "e.yaml");
  ASSERT_TRUE(doc.ok());
  std::string x = "d";
  (*doc)->Root().Read("x", &x);
  EXPECT_TRUE((*doc)->Finish().ok());
}

TEST(Config, ListsOfMappingsAndMapsByNameAreCheckedToo) {
  auto doc = ConfigDocument::LoadString(
      "routes:\n  - path: /a\n    cluster: web\n  - path: /b\n    clustr: api\n"
      "clusters:\n  web: {policy: maglev}\n  api: {}\n",
      "proxy.yaml");
  ASSERT_TRUE(doc.ok());
  auto root = (*doc)->Root();
  auto routes = root.List("routes");
  ASSERT_EQ(routes.size(), 2u);
  std::string path, cluster;
  for (auto& r : routes) {
    r.Read("path", &path);
    r.Read("cluster", &cluster);
  }
  EXPECT_EQ(routes[1].path(), "routes[1]");
  EXPECT_EQ(routes[1].Where(), "proxy.yaml:4:5");
  auto clusters = root.Section("clusters");
  EXPECT_EQ(clusters.Keys(), (std::vector<std::string>{"web", "api"}));
  for (const auto& k : clusters.Keys()) {
    std::string policy;
    clusters.Section(k).Read("policy", &policy);
  }
  EXPECT_EQ((*doc)->Finish().message(), "proxy.yaml:5:5: unknown key 'routes[1].clustr'");
  auto bad = ConfigDocument::LoadString("routes: 3\n", "p.yaml");
  (*bad)->Root().List("routes");
  EXPECT_EQ((*bad)->Finish().message(), "p.yaml:1:9: routes: expected a list");
}

}  // namespace
}  // namespace pier
