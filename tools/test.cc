// `fedwall test POLICY_DIR`: run every `test` block of a policy (docs/cli.md).
#include <ostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/policy/policy.h"
#include "engine/policy/policy_tests.h"
#include "tools/commands.h"
#include "tools/human_output.h"

namespace fedwall::tools {

int RunTest(const TestOptions& options, std::ostream& out, std::ostream& err) {
  const bool color = options.output.color;
  std::shared_ptr<const Policy> policy = LoadPolicyOrReport(
      "test", options.policy_dir, err, options.output.err_color, /*compile_seconds=*/nullptr);
  if (policy == nullptr) return 1;

  std::vector<PolicyTestResult> results = RunPolicyTests(*policy, options.policy_dir);
  uint64_t passed = 0;
  uint64_t failed = 0;
  for (const PolicyTestResult& r : results) {
    const std::string where = absl::StrCat(PolicyPath(options.policy_dir, r.path), ":", r.line);
    if (r.passed) {
      ++passed;
      if (options.verbose) {
        out << Paint(color, kBoldGreen, "PASS") << "  " << r.name << "  "
            << Paint(color, kDim, absl::StrCat("(", where, ")")) << "\n";
      }
      continue;
    }
    ++failed;
    out << Paint(color, kBoldRed, "FAIL") << "  " << r.name << "  "
        << Paint(color, kDim, absl::StrCat("(", where, ")")) << "\n";
    for (const std::string& f : r.failures) {
      out << "      " << RewriteLeadingPath(options.policy_dir, policy->ast(), f) << "\n";
    }
  }
  if (failed > 0 || options.verbose) out << "\n";
  // The last line is machine output: never coloured.
  out << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace fedwall::tools
