// Helpers for the human-readable output of the rule-authoring commands (check, test, eval,
// replay): colour only when asked (a terminal without NO_COLOR), paths a user can open,
// diagnostics in the `path:line:col: error: message` form editors understand, and loading a
// policy the same way in every command.
//
// Example:
//   std::shared_ptr<const Policy> p = LoadPolicyOrReport("eval", "rules/", err, true, &secs);
//   if (!p) return 1;      // the diagnostics are already on `err`
//   out << Paint(color, kBoldRed, "REJECT") << "\n";
//
// Functions only; thread-safe.
#ifndef FEDWALL_TOOLS_HUMAN_OUTPUT_H_
#define FEDWALL_TOOLS_HUMAN_OUTPUT_H_

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/diagnostic.h"
#include "engine/policy/policy.h"

namespace fedwall::tools {

// ANSI SGR sequences.
inline constexpr char kBold[] = "\x1b[1m";
inline constexpr char kDim[] = "\x1b[2m";
inline constexpr char kRed[] = "\x1b[31m";
inline constexpr char kBoldRed[] = "\x1b[1;31m";
inline constexpr char kGreen[] = "\x1b[32m";
inline constexpr char kBoldGreen[] = "\x1b[1;32m";
inline constexpr char kYellow[] = "\x1b[33m";
inline constexpr char kBoldYellow[] = "\x1b[1;33m";
inline constexpr char kMagenta[] = "\x1b[35m";
inline constexpr char kCyan[] = "\x1b[36m";
inline constexpr char kReset[] = "\x1b[0m";

// `text` wrapped in `sgr` ... reset when `color`, else `text` unchanged.
std::string Paint(bool color, const char* sgr, std::string_view text);

// A path inside the policy directory as the user can open it from the current directory:
// `dir` as given joined with `relative` ("rules/" + "spam.rules" -> "rules/spam.rules");
// absolute paths and "" are left alone ("" -> `dir`).
std::string PolicyPath(const std::string& dir, const std::string& relative);

// "rules/spam.rules:12:3: error: message", with "error:"/"warning:" coloured when `color`.
std::string FormatDiagnostic(const std::string& dir, const Diagnostic& d, bool color);

// Rewrites a leading "path:" of a message whose path is relative to the policy directory
// (as RunPolicyTests reports failures) into PolicyPath(dir, path).
std::string RewriteLeadingPath(const std::string& dir, const lang::PolicyAst& ast,
                               const std::string& message);

// "3 errors", "1 warning".
std::string CountNoun(uint64_t n, std::string_view singular, std::string_view plural);

// A score in thousandths as a decimal: 7500 -> "7.5", -2000 -> "-2", 125 -> "0.125".
std::string FormatMilli(int64_t milli);

// "186 ms", "2.41 s".
std::string FormatSeconds(double seconds);

// "strip_media, unlist" (the rule language's effect names), or "" for none.
std::string EffectNames(uint8_t effects);

// The colour of a verdict name (REJECT red, FLAG yellow, ACCEPT green).
const char* VerdictColor(Verdict v);

// Compiles `dir` for a command that needs a working policy. On errors, prints every
// diagnostic and "fedwall CMD: POLICY_DIR does not compile (N errors)" to `err` and returns
// null; warnings are not printed (`fedwall check` shows them).
std::shared_ptr<const Policy> LoadPolicyOrReport(std::string_view command, const std::string& dir,
                                                 std::ostream& err, bool err_color,
                                                 double* compile_seconds);

// Untrusted text made safe to print on a terminal on one line: control characters (C0, DEL,
// C1, so no escape sequence from an activity reaches the terminal) become '?', a line break
// becomes U+21B5 and kTextSeparator (between the parts of `text`) becomes " | ".
std::string Printable(std::string_view text);

// The one-line message of a status, without the canonical code prefix.
std::string StatusLine(const absl::Status& status);

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_HUMAN_OUTPUT_H_
