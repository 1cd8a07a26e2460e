// TextMatcher: every literal and regex of a policy for one text field, matched in one scan.
//
// The compiler gives each pattern an id and adds it to the builder of the field it applies to
// (content, summary, name, text, actor.name, actor.bio). Build() compiles:
//   - literals (already folded by the compiler with text::Fold) into one Hyperscan database
//     scanned over the *folded* text (hs_compile_lit_multi: no regex parsing, any bytes);
//   - regexes into one Hyperscan database in UTF-8 mode (HS_FLAG_UTF8, without UCP) scanned
//     over the *unfolded* text; each Hyperscan hit is confirmed by RE2, which defines the
//     semantics. A regex Hyperscan cannot take exactly is compiled with HS_FLAG_PREFILTER
//     (then RE2 confirms); one Hyperscan refuses even so goes to a per-field RE2::Set. One
//     hard pattern never sends the whole set to a slow path.
// Whole-word literals (`has`) are checked on match: no letter or digit directly before or
// after, except at an edge where the pattern's edge character or the adjacent text character
// is Han, Hiragana, Katakana, Thai, Lao, Khmer or Myanmar; NormalizedText::folded_breaks
// (removed ignorables) count as boundaries. "Letter or digit" is Unicode's L*, N* and also M*
// (a combining mark or Indic vowel sign belongs to the letter before it); `_` and all
// punctuation are boundaries. Scripts are taken from Script, or Script_Extensions for Common
// and Inherited characters (U+30FC ー counts as Japanese). Bytes that are not valid UTF-8 read
// as U+FFFD, a boundary.
//
// Build() is called once; afterwards the TextMatcher is immutable and thread-safe; each
// thread scans with its own MatchScratch (Hyperscan scratch is never shared).
//
// How the pieces fit (details in text_matcher.cc, regex_analysis.h, unicode_props.h):
//   - Literals are deduplicated: many ids may share one string (and one string may be used
//     plain, as a whole word and anchored); Hyperscan sees each distinct string once.
//   - Hyperscan only finds candidates. Each regex is handed to it as a pattern that accepts a
//     superset of RE2's matches (RE2 escapes spelled out, big counted repeats widened); every
//     hit is confirmed by RE2, which also gives the reported span. Regexes Hyperscan refuses
//     exactly are compiled with HS_FLAG_PREFILTER; regexes it refuses even so, or that use
//     \p{..}/\C, or can match the empty string, go to the RE2::Set fallback (matched on
//     every scan). Each regex is checked alone (RE2, hs_expression_info) before the shared
//     database is compiled; should that compile still fail on one pattern, that pattern moves
//     to PREFILTER or the fallback and the rest is compiled again.
//   - Hyperscan's case tables are Unicode 7.0: case-insensitive regexes are re-checked by RE2
//     when the text holds a character whose case partners are newer (unicode_props.h).
//   - Text that is not valid UTF-8 (Normalize never produces it) is not given to Hyperscan's
//     UTF-8 regex database: every regex is then run by RE2 alone.
//
// Limits: MatcherOptions bounds each pattern's length and each RE2's memory (so the memory
// of regex matching is at most about (regexes + 2) * max_regex_memory). Texts over 4 GiB are
// not scanned.
//
// Example:
//   fedwall::match::TextMatcherBuilder b;
//   b.AddLiteral(0, fedwall::text::Fold("free crypto"), /*whole_word=*/true);
//   b.AddRegex(1, "https?://bit\\.ly/", /*ignore_case=*/false);
//   absl::StatusOr<std::unique_ptr<const fedwall::match::TextMatcher>> m = std::move(b).Build({});
//   fedwall::match::MatchScratch scratch;
//   (*m)->Scan(fedwall::text::Normalize("FREE crypto at https://bit.ly/x"), scratch,
//              [](uint32_t id, uint32_t start, uint32_t end) { ... });
#ifndef FEDWALL_ENGINE_MATCH_TEXT_MATCHER_H_
#define FEDWALL_ENGINE_MATCH_TEXT_MATCHER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "engine/text/normalize.h"

namespace fedwall::match {

struct MatcherOptions {
  size_t max_regex_memory = 8 << 20;  // RE2 max_mem per regex, and for each RE2::Set
  size_t max_pattern_bytes = 4096;    // longer literals (after folding) and regexes: an error
};

// What Build() made of the patterns (for `fedwall check`, logs and benchmarks).
struct TextMatcherStats {
  size_t literals = 0;                // AddLiteral calls
  size_t unique_literals = 0;         // distinct non-empty strings in the literal database
  size_t regexes = 0;                 // AddRegex calls
  size_t regexes_hyperscan = 0;       // prefiltered by the Hyperscan regex database
  size_t regexes_prefilter = 0;       //   of which compiled with HS_FLAG_PREFILTER
  size_t regexes_widened = 0;         //   of which given to Hyperscan with widened repeats
  size_t regexes_case_guarded = 0;    //   of which case-insensitive (re-checked, see above)
  size_t regexes_fallback = 0;        // matched by the RE2::Set fallback on every scan
  size_t literal_database_bytes = 0;  // hs_database_size
  size_t regex_database_bytes = 0;
};

// Per-thread state for scanning. Reusable across matchers and policies (it grows to fit the
// largest database it has scanned with). Not thread-safe: never share one between threads
// (each thread, e.g. each Evaluator, owns its own). Misuse is detected, not undefined: a scan
// started while another scan (on another thread, or from inside on_match) holds the scratch
// reports nothing. Growing it for a database it has not seen yet costs microseconds to
// milliseconds (hs_alloc_scratch), once per database.
class MatchScratch {
 public:
  MatchScratch();
  ~MatchScratch();
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;

  struct Impl;
  Impl* impl() { return impl_.get(); }

 private:
  std::unique_ptr<Impl> impl_;
};

class TextMatcher {
 public:
  virtual ~TextMatcher() = default;

  // Calls `on_match(id, start, end)` once per pattern that matches, with the span of its first
  // (leftmost) match: byte offsets into text.folded for literals, into text.unfolded for
  // regexes. Order of calls is unspecified. Never fails: a pattern that cannot be evaluated
  // (e.g. RE2 out of memory) does not match.
  //
  // Literals: the leftmost occurrence that satisfies the literal's whole-word and anchor
  // conditions (an occurrence failing them does not hide a later one). Regexes: RE2's
  // leftmost-first match of a search over the whole unfolded text. An id added with several
  // patterns reports the leftmost of their spans (the longest on a tie).
  // `on_match` runs after the scan proper; a Scan() it makes with the same `scratch` reports
  // nothing (use another scratch).
  virtual void Scan(
      const text::NormalizedText& text, MatchScratch& scratch,
      absl::FunctionRef<void(uint32_t id, uint32_t start, uint32_t end)> on_match) const = 0;

  // Number of patterns (AddLiteral and AddRegex calls), and how many regexes are matched by the
  // RE2::Set fallback instead of through Hyperscan.
  virtual size_t pattern_count() const = 0;
  virtual size_t fallback_count() const = 0;

  // Everything Build() decided; see TextMatcherStats.
  virtual TextMatcherStats stats() const { return {}; }
};

class TextMatcherBuilder {
 public:
  TextMatcherBuilder();
  ~TextMatcherBuilder();
  TextMatcherBuilder(TextMatcherBuilder&&) noexcept;
  TextMatcherBuilder& operator=(TextMatcherBuilder&&) noexcept;

  // A literal, already folded (text::Fold). `whole_word`: the `has` boundary rule. `anchor`:
  // kStart/kEnd/kWhole require the match to start at 0 / end at the end / cover the whole
  // folded text (used for `startswith`, `endswith`, `==` on text fields).
  // The empty literal matches only with kWhole, on an empty text (`field == ""`); with any
  // other anchor it never matches.
  // One id may be given several literals (`contains_any`), but not both literals and regexes.
  enum class Anchor { kNone, kStart, kEnd, kWhole };
  void AddLiteral(uint32_t id, std::string folded, bool whole_word, Anchor anchor = Anchor::kNone);

  // An RE2-syntax regex searched in the unfolded text.
  void AddRegex(uint32_t id, std::string pattern, bool ignore_case);

  // Compiles everything added. Errors only for a regex RE2 refuses (RE2's own message; the
  // front end has already reported those), a pattern over max_pattern_bytes, an id used for
  // both a literal and a regex, or when Hyperscan fails on literals (resource exhaustion),
  // naming the pattern id. The builder is consumed (a moved-from builder starts empty).
  absl::StatusOr<std::unique_ptr<const TextMatcher>> Build(const MatcherOptions& options) &&;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedwall::match

#endif  // FEDWALL_ENGINE_MATCH_TEXT_MATCHER_H_
