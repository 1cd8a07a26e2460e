// Internal to engine/match: translating an RE2 regex into a Hyperscan prefilter pattern.
//
// RE2 defines what a regex means; Hyperscan only has to find every text that *might* match,
// since each Hyperscan hit is confirmed by RE2 (which also yields the reported span). So the
// pattern handed to Hyperscan must accept a superset of what RE2 accepts, and be cheap to
// compile. AnalyzeRegex walks the RE2 syntax once (the pattern must already be accepted by RE2)
// and writes an equivalent pattern in Hyperscan's dialect:
//
//   - every literal ASCII punctuation character, octal and hex escape becomes \x{..}, so the
//     two dialects cannot read it differently (RE2 `a{01}` is a literal, PCRE a repeat);
//   - \s and \S are spelled out as RE2 defines them ([\t\n\f\r ]; PCRE adds \v);
//   - \Q...\E becomes escaped literals; (?P<name> becomes (?:; the U (ungreedy) flag is dropped
//     (greediness does not change which texts match);
//   - large counted repetitions are widened: x{n,m} whose unrolled size (m, times that of x)
//     exceeds kMaxRepeatWeight, or that would push the pattern's total past
//     kMaxTotalRepeatWeight, becomes x{min(n,k),}. Hyperscan compiles big bounded repeats of
//     UTF-8 classes very slowly (`a.{0,200}b.{0,200}c`: 1.9 s; `.{50}x.{50}` is refused);
//     the unbounded form costs nothing and only lets more candidates through to RE2.
//
// Some constructs are not translated (`hs_refusal` says which): \p{..}/\P{..} (Hyperscan's
// Unicode 7.0 property tables are older than RE2's, and such classes compile slowly), \C (any
// byte), and anything unexpected. Those regexes go to the RE2::Set fallback.
//
// Case-insensitive regexes: see unicode_props.h. `caseless` and `mentions_case_unstable` let
// the matcher route them: a caseless regex that names a case-unstable character goes to the
// fallback; other caseless regexes are guarded (re-checked by RE2 when the text contains a
// case-unstable character).
//
// Thread-safe (pure function).
//
// Example:
//   RegexAnalysis a = AnalyzeRegex("\\bfoo\\s{2,500}bar", /*ignore_case=*/false);
//   // a.hs_pattern == "\\bfoo[\\x{9}\\x{A}\\x{C}\\x{D}\\x{20}]{2,}bar", a.widened == true
#ifndef FEDWALL_ENGINE_MATCH_REGEX_ANALYSIS_H_
#define FEDWALL_ENGINE_MATCH_REGEX_ANALYSIS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace fedwall::match::internal {

// Unrolled-size budget of one counted repetition, and of all of them in one pattern.
inline constexpr uint64_t kMaxRepeatWeight = 16;
inline constexpr uint64_t kMaxTotalRepeatWeight = 48;

struct RegexAnalysis {
  // Empty when `hs_pattern` is usable; otherwise why the regex cannot go to Hyperscan.
  std::string hs_refusal;
  // Hyperscan-dialect pattern (for HS_FLAG_UTF8, without UCP) accepting every RE2 match.
  std::string hs_pattern;
  // hs_pattern accepts strictly more than the regex (a repetition was widened).
  bool widened = false;
  // `ignore_case`, or an `i` flag anywhere in the pattern.
  bool caseless = false;
  // A literal character or class range of the pattern contains a case-unstable code point.
  bool mentions_case_unstable = false;
};

// `pattern` must be valid RE2 syntax (checked by the caller with RE2 itself).
RegexAnalysis AnalyzeRegex(std::string_view pattern, bool ignore_case);

}  // namespace fedwall::match::internal

#endif  // FEDWALL_ENGINE_MATCH_REGEX_ANALYSIS_H_
