#include "pier/deploy/spec.h"

#include <gtest/gtest.h>

namespace pier::deploy {
namespace {

std::string ErrorOf(const std::string& yaml) {
  auto a = ParseArchitecture(yaml, "pier.yaml");
  return a.ok() ? "ok" : a.status().message();
}

TEST(DeploySpec, UpdatePolicyAndRestartParse) {
  auto a = ParseArchitecture(
      "services:\n  api:\n    command: [x]\n    restart: on-failure\n"
      "    update: {strategy: canary, steps: [10, 50, 100], step_time: 2s, max_error_rate: 2,\n"
      "             max_p99_ratio: 1.5, min_requests: 50, min_ready: 1s}\n",
      "pier.yaml");
  ASSERT_TRUE(a.ok()) << a.status().message();
  const Service& s = a->services[0];
  EXPECT_EQ(s.restart, "on-failure");
  EXPECT_EQ(s.update.strategy, UpdatePolicy::Strategy::kCanary);
  EXPECT_EQ(s.update.steps, (std::vector<uint32_t>{10, 50, 100}));
  EXPECT_EQ(s.update.step_ms, 2000);
  EXPECT_EQ(s.update.min_ready_ms, 1000);
  EXPECT_DOUBLE_EQ(s.update.max_error_rate, 2);
  EXPECT_EQ(s.update.min_requests, 50u);
}

TEST(DeploySpec, UpdatePolicyErrorsNameTheField) {
  const std::string svc = "services:\n  api:\n    command: [x]\n";
  EXPECT_EQ(ErrorOf(svc + "    update: {strategy: big-bang}\n"),
            "pier.yaml:4:24: services.api.update.strategy: use rolling, blue-green or canary, got "
            "'big-bang'");
  EXPECT_EQ(ErrorOf(svc + "    update: {steps: [50, 20, 100]}\n"),
            "pier.yaml:4:21: services.api.update.steps: percents must rise from 1 to 100, e.g. "
            "[5, 25, 50, 100]");
  EXPECT_EQ(ErrorOf(svc + "    update: {steps: [5, 50]}\n"),
            "pier.yaml:4:21: services.api.update.steps: the last step must be 100");
  EXPECT_EQ(ErrorOf(svc + "    update: {max_surge: 0, max_unavailable: 0}\n"),
            "pier.yaml:4:25: services.api.update.max_surge: max_surge and max_unavailable cannot "
            "both be 0 (nothing could move)");
  EXPECT_EQ(ErrorOf(svc + "    restart: sometimes\n"),
            "pier.yaml:4:14: services.api.restart: use no, always, on-failure or unless-stopped, "
            "got 'sometimes'");
}

TEST(DeploySpec, NamesThatBecomePathsAreChecked) {
  EXPECT_EQ(ErrorOf("services:\n  ../etc:\n    command: [x]\n"),
            "pier.yaml:3:5: services.../etc: service name '../etc' does not start with a letter or "
            "digit (use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit)");
  EXPECT_EQ(ErrorOf("services:\n  api:\n    command: [x]\n    version: v1/../../x\n"),
            "pier.yaml:4:14: services.api.version: version 'v1/../../x' has a character not "
            "allowed (use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit)");
  EXPECT_EQ(ErrorOf("name: \"a b\"\nservices:\n  api:\n    command: [x]\n"),
            "pier.yaml:1:7: name: system name 'a b' has a character not allowed (use 1-63 "
            "letters, digits, '.', '_' or '-', starting with a letter or digit)");
}

}  // namespace
}  // namespace pier::deploy
