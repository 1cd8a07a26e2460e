// `fedwall check POLICY_DIR`: compile a policy and report every diagnostic (docs/cli.md).
#include <algorithm>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "engine/policy/policy.h"
#include "tools/commands.h"
#include "tools/human_output.h"

namespace fedwall::tools {

int RunCheck(const CheckOptions& options, std::ostream& out, std::ostream& /*err*/) {
  const bool color = options.output.color;
  Compiler compiler;
  CompileResult result = compiler.Compile(options.policy_dir);

  uint64_t errors = 0;
  uint64_t warnings = 0;
  for (const Diagnostic& d : result.diagnostics) {
    out << FormatDiagnostic(options.policy_dir, d, color) << "\n";
    (d.severity == Diagnostic::Severity::kError ? errors : warnings) += 1;
  }
  const bool ok = result.policy != nullptr && errors == 0;
  if (!ok) {
    out << options.policy_dir << ": "
        << Paint(color, kBoldRed, CountNoun(std::max<uint64_t>(errors, 1), "error", "errors"));
    if (warnings > 0) out << ", " << CountNoun(warnings, "warning", "warnings");
    out << "; not compiled\n";
    return 1;
  }

  const Policy& policy = *result.policy;
  const lang::PolicyAst& ast = policy.ast();
  size_t monitor = 0;
  for (const lang::RuleDecl& r : ast.rules) monitor += r.monitor ? 1 : 0;
  std::string rules = CountNoun(policy.rule_count(), "rule", "rules");
  if (monitor > 0) absl::StrAppend(&rules, " (", monitor, " in monitor mode)");
  out << options.policy_dir << ": " << rules << ", "
      << CountNoun(policy.pattern_count(), "pattern", "patterns") << ", "
      << CountNoun(policy.domain_count(), "domain", "domains") << ", "
      << CountNoun(ast.tests.size(), "test", "tests") << " in "
      << CountNoun(ast.files.size(), "file", "files") << "; compiled in "
      << FormatSeconds(result.compile_seconds) << "\n";
  out << "policy version " << policy.version() << "\n";
  out << Paint(color, kBoldGreen, "ok");
  if (warnings > 0)
    out << ", " << Paint(color, kBoldYellow, CountNoun(warnings, "warning", "warnings"));
  out << "\n";
  return 0;
}

}  // namespace fedwall::tools
