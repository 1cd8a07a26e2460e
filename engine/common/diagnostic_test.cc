#include "engine/common/diagnostic.h"

#include <gtest/gtest.h>

namespace fedwall {
namespace {

TEST(DiagnosticTest, FormatsLikeACompiler) {
  Diagnostic d{"rules/spam.rules", 12, 7, Diagnostic::Severity::kError, "unknown field 'txt'"};
  EXPECT_EQ(d.ToString(), "rules/spam.rules:12:7: error: unknown field 'txt'");
}

TEST(DiagnosticTest, LeavesOutUnknownLineAndColumn) {
  Diagnostic whole{"a.csv", 0, 0, Diagnostic::Severity::kWarning, "empty file"};
  EXPECT_EQ(whole.ToString(), "a.csv: warning: empty file");
  Diagnostic line_only{"a.csv", 4, 0, Diagnostic::Severity::kWarning, "bad row"};
  EXPECT_EQ(line_only.ToString(), "a.csv:4: warning: bad row");
}

TEST(DiagnosticTest, HasErrorsIgnoresWarnings) {
  std::vector<Diagnostic> diags{{"x", 1, 1, Diagnostic::Severity::kWarning, "w"}};
  EXPECT_FALSE(HasErrors(diags));
  diags.push_back({"x", 2, 1, Diagnostic::Severity::kError, "e"});
  EXPECT_TRUE(HasErrors(diags));
}

}  // namespace
}  // namespace fedwall
