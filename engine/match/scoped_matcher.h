// Internal to the engine (engine/match and engine/policy): one TextMatcher for a text made of
// parts and for the fields that are those parts, so that the text is scanned once.
//
// Activity::text is content, summary, name, ... joined with a separator; a policy with
// patterns on `text` and on `content` would otherwise scan the content twice, once per field,
// each time with its own database (with 100k keywords, the scans are most of a decision).
// Instead, the compiler builds one matcher in which every pattern has a *scope*: scope 0 is
// the whole text (`text`), scope k >= 1 one part field (say 1 = content). The evaluator then
// cuts the whole text into segments (its parts) and tells the matcher which segment is which
// part field; each segment is scanned once, and a pattern counts in a segment when its scope is
// 0 or the segment's scope.
//
// The semantics are exactly those of a TextMatcher per field (text_matcher.h):
//   - scope 0: as if Scan(whole) were called with only the scope-0 patterns, provided the
//     segments cover `whole` in order, each one part or several consecutive parts, cut at a
//     separator byte that is neither a letter nor a digit and that no literal contains. Spans
//     are offsets into `whole`. One difference, for regexes only: each segment is scanned
//     alone, so a regex whose every match spans a separator between two segments may not be
//     reported (Scan(whole) reports it); a regex with a match inside one segment is reported
//     as Scan(whole) reports it, with RE2's leftmost match on the whole text, which may span
//     a separator. A caller that, like the evaluator, does not accept matches across the
//     separator (it re-searches such a span within each part) gets the same results either
//     way.
//   - scope k: as if Scan(part) were called with only the scope-k patterns, where `part` is
//     the text whose folded and unfolded forms are the segment's byte ranges of `whole` and
//     whose folded_breaks are those of `whole` within the segment (the caller checks that the
//     part field's text is exactly that). Spans are offsets into the part. Anchors and `has`
//     boundaries are taken at the segment's edges, regexes are confirmed by RE2 on the
//     segment alone.
// A scope given to no segment matches nothing; a scope given to several segments counts only
// in the first. An empty part field (not among the parts of `whole`) is matched by an extra
// empty segment with its scope, anywhere in the list (e.g. [0, 0)): that changes nothing for
// scope 0. With a single segment covering `whole` and scope 0, ScanSegments is Scan.
//
// Thread-safety and scratch: as for TextMatcher::Scan.
//
// Example (the evaluator's use):
//   fedwall::match::ScopedTextMatcherBuilder b;
//   b.AddLiteral(0, "crypto", /*whole_word=*/true, Anchor::kNone, /*scope=*/0);   // text has
//   b.AddLiteral(1, "free", /*whole_word=*/false, Anchor::kStart, /*scope=*/1);   // content
//   auto m = std::move(b).Build({});
//   // activity.text = content + "\x1e" + summary; content is scope 1, summary no scope.
//   fedwall::match::TextSegment segs[2] = {{0, 10, 0, 10, 1}, {11, 20, 11, 20, 0}};
//   fedwall::match::ScanSegments(**m, activity.text, segs, /*whole_scope=*/true, scratch,
//                                [](uint32_t id, uint32_t start, uint32_t end) { ... });
#ifndef FEDWALL_ENGINE_MATCH_SCOPED_MATCHER_H_
#define FEDWALL_ENGINE_MATCH_SCOPED_MATCHER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "engine/match/text_matcher.h"
#include "engine/text/normalize.h"

namespace fedwall::match {

// Scopes are 0 .. kMaxScopes - 1.
inline constexpr uint32_t kMaxScopes = 8;

// TextMatcherBuilder with a scope per pattern (TextMatcherBuilder adds everything with scope
// 0). Ids are shared by all scopes: one id belongs to one scope. Build() errors as
// TextMatcherBuilder::Build, and also for a scope >= kMaxScopes or an id used in two scopes.
class ScopedTextMatcherBuilder {
 public:
  ScopedTextMatcherBuilder();
  ~ScopedTextMatcherBuilder();
  ScopedTextMatcherBuilder(ScopedTextMatcherBuilder&&) noexcept;
  ScopedTextMatcherBuilder& operator=(ScopedTextMatcherBuilder&&) noexcept;

  void AddLiteral(uint32_t id, std::string folded, bool whole_word,
                  TextMatcherBuilder::Anchor anchor, uint32_t scope);
  void AddRegex(uint32_t id, std::string pattern, bool ignore_case, uint32_t scope);
  absl::StatusOr<std::unique_ptr<const TextMatcher>> Build(const MatcherOptions& options) &&;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// One segment of the whole text: byte ranges in its folded and unfolded forms, and the scope
// of the part field it is (0: none).
struct TextSegment {
  uint32_t folded_begin = 0;
  uint32_t folded_end = 0;
  uint32_t unfolded_begin = 0;
  uint32_t unfolded_end = 0;
  uint32_t scope = 0;
};

// Scans `segments` of `whole` (see the top of this file); scope-0 patterns count only when
// `whole_scope`. Ranges outside `whole` are ignored. `matcher` must come from a
// TextMatcherBuilder or ScopedTextMatcherBuilder.
void ScanSegments(const TextMatcher& matcher, const text::NormalizedText& whole,
                  std::span<const TextSegment> segments, bool whole_scope, MatchScratch& scratch,
                  absl::FunctionRef<void(uint32_t id, uint32_t start, uint32_t end)> on_match);

}  // namespace fedwall::match

#endif  // FEDWALL_ENGINE_MATCH_SCOPED_MATCHER_H_
