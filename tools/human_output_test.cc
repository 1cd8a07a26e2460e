#include "tools/human_output.h"

#include <gtest/gtest.h>

namespace fedwall::tools {
namespace {

TEST(HumanOutputTest, PolicyPathJoinsTheDirectory) {
  EXPECT_EQ(PolicyPath("rules/", "spam.rules"), "rules/spam.rules");
  EXPECT_EQ(PolicyPath("rules", "lists/a.txt"), "rules/lists/a.txt");
  EXPECT_EQ(PolicyPath(".", "spam.rules"), "spam.rules");
  EXPECT_EQ(PolicyPath("./a/../rules", "x.rules"), "rules/x.rules");
  EXPECT_EQ(PolicyPath("/etc/fedwall", "x.rules"), "/etc/fedwall/x.rules");
  EXPECT_EQ(PolicyPath("rules", "/abs/x.rules"), "/abs/x.rules");
  EXPECT_EQ(PolicyPath("rules", ""), "rules");
  EXPECT_EQ(PolicyPath("missing/", "missing/"), "missing/");
}

TEST(HumanOutputTest, Diagnostics) {
  Diagnostic d{"spam.rules", 3, 7, Diagnostic::Severity::kError, "unknown field `txt`"};
  EXPECT_EQ(FormatDiagnostic("rules/", d, false),
            "rules/spam.rules:3:7: error: unknown field `txt`");
  std::string colored = FormatDiagnostic("rules/", d, true);
  EXPECT_NE(colored.find("\x1b["), std::string::npos);
  EXPECT_NE(colored.find("rules/spam.rules:3:7:"), std::string::npos);
  Diagnostic w{"lists/a.txt", 0, 0, Diagnostic::Severity::kWarning, "empty"};
  EXPECT_EQ(FormatDiagnostic("p", w, false), "p/lists/a.txt: warning: empty");
}

TEST(HumanOutputTest, RewritesOnlyKnownPaths) {
  lang::PolicyAst ast;
  ast.files.push_back({"spam.rules", ""});
  EXPECT_EQ(RewriteLeadingPath("rules", ast, "spam.rules:4:3: expected REJECT"),
            "rules/spam.rules:4:3: expected REJECT");
  EXPECT_EQ(RewriteLeadingPath("rules", ast, "other: thing"), "other: thing");
  EXPECT_EQ(RewriteLeadingPath("rules", ast, "no colon"), "no colon");
}

TEST(HumanOutputTest, Numbers) {
  EXPECT_EQ(FormatMilli(0), "0");
  EXPECT_EQ(FormatMilli(7500), "7.5");
  EXPECT_EQ(FormatMilli(-2000), "-2");
  EXPECT_EQ(FormatMilli(125), "0.125");
  EXPECT_EQ(FormatMilli(-1050), "-1.05");
  EXPECT_EQ(FormatMilli(INT64_MIN), "-9223372036854775.808");
  EXPECT_EQ(CountNoun(1, "rule", "rules"), "1 rule");
  EXPECT_EQ(CountNoun(0, "rule", "rules"), "0 rules");
  EXPECT_EQ(EffectNames(0), "");
  EXPECT_EQ(EffectNames(lang::kUnlist | lang::kStripMedia), "strip_media, unlist");
}

TEST(HumanOutputTest, PrintableNeverLetsControlCharactersThrough) {
  EXPECT_EQ(Printable("plain text"), "plain text");
  EXPECT_EQ(Printable("a\x1b[31mred"), "a?[31mred");
  EXPECT_EQ(Printable("x\x1ey"), "x | y");
  EXPECT_EQ(Printable("l1\nl2"), "l1\u21B5l2");
  EXPECT_EQ(Printable("c1 \xC2\x9B control"), "c1 ? control");
  EXPECT_EQ(Printable("caf\xC3\xA9"), "caf\xC3\xA9");
}

}  // namespace
}  // namespace fedwall::tools
