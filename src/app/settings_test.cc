// The settings table: one row gives the flag, the file's key, the default and the checks.
#include "app/settings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace pier::app {
namespace {

struct SettingsTest : ::testing::Test {
  std::string listen = "127.0.0.1:7379", policy = "lru", queue = "no", memory = "0", mode = "a";
  std::string log_level = "info";
  uint64_t maxclients = 10000, threads = 0;
  int64_t port = -1;
  double wait = 60;
  Settings s{"cache"};
  CLI::App app;

  SettingsTest() {
    s.In(Settings::Scope::kTop)
        .Count("threads", &threads, "I/O threads", 0, 1024)
        .In(Settings::Scope::kFlagOnly)
        .Number("wait", &wait, "Seconds", 0, 100)
        .In(Settings::Scope::kSection)
        .Text("listen", &listen, "HOST:PORT")
        .Text("policy", &policy, "lru or lfu",
              [](const std::string& v) {
                return v == "lru" || v == "lfu" ? Status::Ok()
                                                : Status::InvalidArgument("unknown '" + v + "'");
              })
        .YesNo("queue", &queue, "yes: also the queue")
        .Text("maxmemory", &memory, "e.g. 100mb", Settings::Memory(0, 1 << 30))
        .Choice("mode", &mode, "a, b or c", {"a", "b", "c"})
        .Count("maxclients", &maxclients, "clients", 1, 1000000)
        .Integer("tls-port", &port, "port", -1, 65535);
    s.AddTo(&app);
  }
  // Parses `args` (and the file `yaml`, when given) from the defaults.
  Status Run(std::vector<std::string> args, const std::string& yaml = "") {
    listen = "127.0.0.1:7379", policy = "lru", queue = "no", memory = "0", mode = "a";
    maxclients = 10000, threads = 0, port = -1;
    std::string file;
    if (!yaml.empty()) {
      file = ::testing::TempDir() + "/settings-" + std::to_string(getpid()) + ".yaml";
      std::ofstream(file) << yaml;
    }
    std::vector<const char*> argv = {"pier"};
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      return Status::InvalidArgument(e.what());
    }
    return s.Apply(file, app);
  }
};

TEST_F(SettingsTest, FlagsFillTheirFieldsAndDefaultsStay) {
  ASSERT_TRUE(Run({"--listen", "0.0.0.0:1", "--queue", "yes", "--tls-port", "0"}).ok());
  EXPECT_EQ(listen, "0.0.0.0:1");
  EXPECT_EQ(queue, "yes");
  EXPECT_EQ(port, 0);
  EXPECT_EQ(policy, "lru");
  EXPECT_EQ(maxclients, 10000u);
  EXPECT_NE(app.help().find("--maxclients UINT:UINT in [1 - 1000000]=10000"), std::string::npos)
      << app.help();
}

TEST_F(SettingsTest, TheFileFillsWhatNoFlagGaveAndFlagsWin) {
  const Status st = Run({"--policy", "lfu"},
                        "threads: 3\ncache:\n  listen: 10.0.0.1:7\n  policy: lru\n"
                        "  queue: true\n  maxclients: 5\n");
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(threads, 3u);  // a top-level key
  EXPECT_EQ(listen, "10.0.0.1:7");
  EXPECT_EQ(policy, "lfu");  // the flag wins
  EXPECT_EQ(queue, "yes");   // a YAML boolean
  EXPECT_EQ(maxclients, 5u);
}

TEST_F(SettingsTest, BadValuesNameTheFlagOrTheFileLineAndKey) {
  EXPECT_EQ(Run({"--policy", "mru"}).message(), "--policy: unknown 'mru'");
  EXPECT_EQ(Run({"--queue", "maybe"}).message(), "--queue: use yes or no, got 'maybe'");
  EXPECT_EQ(Run({"--mode", "d"}).message(), "--mode: use a, b or c, got 'd'");
  EXPECT_NE(Run({"--maxmemory", "2gb"}).message().find("--maxmemory: 2gb is out of range"),
            std::string::npos);
  EXPECT_NE(Run({"--maxclients", "0"}).message().find("not in range"), std::string::npos);
}

TEST_F(SettingsTest, BadFileValuesNameTheFileLineAndKey) {
  const std::string m = Run({}, "cache:\n  listen: x\n  policy: mru\n").message();
  EXPECT_NE(m.find(".yaml:3:"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown 'mru'"), std::string::npos) << m;
  const std::string r = Run({}, "cache:\n  maxclients: 0\n").message();
  EXPECT_NE(r.find(".yaml:2:"), std::string::npos) << r;
  const std::string u = Run({}, "cache:\n  wait: 3\n").message();  // flag only
  EXPECT_NE(u.find("unknown key"), std::string::npos) << u;
}

}  // namespace
}  // namespace pier::app
