// Running a policy's `test` blocks (what `fedwall test` does).
//
// Each test evaluates its activities in order with fresh state (counters, when they exist),
// using the request facts of its `with` line: `actor.age = D` sets created_at = now - D,
// `actor.followers = N` sets followers_count, `origin.domain = "x"` the sender domain,
// `received_at = "RFC 3339"` the delivery time. "now" is received_at when given, else the
// activity object's `published`, else the wall clock. Expectations apply to the decision on
// the last activity: `expect VERDICT [by RULE, ...]`, `expect effects E, ...`,
// `expect not RULE, ...` (the rule must not fire, in either mode).
//
// Activity paths are relative to the rule file of the test (PolicyAst resolves them relative
// to the policy directory).
//
// Example:
//   std::vector<fedwall::PolicyTestResult> results = fedwall::RunPolicyTests(*policy, "rules/");
//   for (const auto& r : results) if (!r.passed) std::cerr << r.failures[0] << "\n";
#ifndef FEDWALL_ENGINE_POLICY_POLICY_TESTS_H_
#define FEDWALL_ENGINE_POLICY_POLICY_TESTS_H_

#include <string>
#include <vector>

#include "engine/policy/policy.h"

namespace fedwall {

struct PolicyTestResult {
  std::string name;  // the test's name string
  std::string path;  // rule file, relative to the policy directory
  uint32_t line = 0;
  bool passed = false;
  // One line per failed expectation or unreadable activity, as
  // "path:line:col: expected REJECT by mention_spam, got FLAG (fired: link_spam)".
  std::vector<std::string> failures;
  Decision decision;  // the decision on the last activity (when it could be evaluated)
};

// Runs every test of `policy` in policy order. `directory` is the policy directory the tests'
// activity paths are resolved against.
std::vector<PolicyTestResult> RunPolicyTests(const Policy& policy, const std::string& directory);

}  // namespace fedwall

#endif  // FEDWALL_ENGINE_POLICY_POLICY_TESTS_H_
