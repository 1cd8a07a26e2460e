// RunPolicyTests on fixture policies: passing tests, and the messages of failing ones.
#include "engine/policy/policy_tests.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "engine/policy/policy.h"
#include "engine/policy/policy_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Fixture(const char* name) {
  return std::string(FEDWALL_SOURCE_DIR) + "/tests/fixtures/policy/" + name;
}

std::shared_ptr<const Policy> CompileDir(const std::string& dir) {
  Compiler compiler;
  CompileResult r = compiler.Compile(dir);
  EXPECT_NE(r.policy, nullptr) << policy_testing::DiagnosticsText(r.diagnostics);
  return r.policy;
}

TEST(PolicyTestsTest, TheBasicPolicysTestsPass) {
  const std::string dir = Fixture("basic");
  std::shared_ptr<const Policy> policy = CompileDir(dir);
  ASSERT_NE(policy, nullptr);
  std::vector<PolicyTestResult> results = RunPolicyTests(*policy, dir);
  ASSERT_EQ(results.size(), 6u);
  for (const PolicyTestResult& r : results) {
    EXPECT_TRUE(r.passed) << r.path << ":" << r.line << " " << r.name << "\n"
                          << absl::StrJoin(r.failures, "\n");
  }
  EXPECT_EQ(results[0].name, "new accounts that mass-mention are rejected");
  EXPECT_EQ(results[0].path, "main.rules");
  EXPECT_GT(results[0].line, 0u);
  EXPECT_EQ(results[0].decision.verdict, Verdict::kReject);
  EXPECT_EQ(results[0].decision.matches.at(0).rule_id, "mention_spam");
  EXPECT_EQ(results[2].decision.effects, lang::kUnlist);
  EXPECT_EQ(results[3].decision.matches.at(0).rule_id, "blocklist:suspend");
  EXPECT_EQ(results[4].path, "more/extra.rules");
}

TEST(PolicyTestsTest, FailuresNameTheExpectationAndWhatFired) {
  const std::string dir = Fixture("failing");
  std::shared_ptr<const Policy> policy = CompileDir(dir);
  ASSERT_NE(policy, nullptr);
  std::vector<PolicyTestResult> results = RunPolicyTests(*policy, dir);
  ASSERT_EQ(results.size(), 4u);

  EXPECT_FALSE(results[0].passed);
  ASSERT_EQ(results[0].failures.size(), 1u);
  EXPECT_THAT(results[0].failures[0], StartsWith("main.rules:7:"));
  EXPECT_THAT(results[0].failures[0],
              HasSubstr("expected REJECT by link_spam, got FLAG (fired: link_spam, quiet "
                        "(monitor))"));

  EXPECT_FALSE(results[1].passed);
  ASSERT_EQ(results[1].failures.size(), 2u) << absl::StrJoin(results[1].failures, "\n");
  EXPECT_THAT(results[1].failures[0], StartsWith("main.rules:13:"));
  EXPECT_THAT(results[1].failures[0], HasSubstr("expected effects unlist, got no effects"));
  EXPECT_THAT(results[1].failures[1], StartsWith("main.rules:14:"));
  EXPECT_THAT(results[1].failures[1], HasSubstr("expected not link_spam, but it fired"));

  EXPECT_TRUE(results[2].passed) << absl::StrJoin(results[2].failures, "\n");

  EXPECT_FALSE(results[3].passed);
  ASSERT_EQ(results[3].failures.size(), 1u);
  EXPECT_THAT(results[3].failures[0], StartsWith("main.rules:23:"));
  EXPECT_THAT(results[3].failures[0], HasSubstr("cannot read activity \"nope.json\""));
}

}  // namespace
}  // namespace fedwall
