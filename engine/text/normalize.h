// Text normalisation: how fedwall turns what a sender wrote into what rules match.
//
// The contract (docs/rules.md, "Text normalisation") has two forms of every text field:
//
//   unfolded: HTML -> plain text (tags removed, entities decoded, block elements and <br> as
//             line breaks), Unicode NFKC, default-ignorable code points removed (zero-width
//             spaces and joiners, soft hyphens, bidi controls, ...), every run of white space
//             (including U+2800 BRAILLE BLANK and U+3164 HANGUL FILLER) collapsed to one
//             space, trimmed. Regexes and evidence see this form.
//   folded:   NFKC case folding of the unfolded text, then the UTS #39 confusables mapping
//             applied to non-ASCII characters only (ASCII letters and digits are never
//             remapped), then NFKC case folding again. Literal operators see this form, and
//             literal patterns are folded the same way at compile time.
//
// The confusables mapping is a table generated at build time from ICU's own data and applied
// in one pass (never uspoof per post), so folding costs about as much as case folding.
//
// Thread safety: every function here is thread-safe (no shared mutable state).
//
// Example:
//   std::string plain = fedwall::text::HtmlToText("<p>FREE&nbsp;cr&#x443;pto</p>");
//   fedwall::text::NormalizedText t = fedwall::text::Normalize(plain);
//   // t.unfolded == "FREE cr\u0443pto", t.folded == "free crypto"
#ifndef FEDWALL_ENGINE_TEXT_NORMALIZE_H_
#define FEDWALL_ENGINE_TEXT_NORMALIZE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fedwall::text {

// HTML (or plain text) -> plain text. Tags are removed; character references (named,
// decimal, hex) decoded; <br>, and the start and end of block elements (p, div, li, h1-h6,
// blockquote, pre, tr, ...) become '\n'; the contents of <script> and <style> are dropped.
// Never fails: malformed markup is read as leniently as a browser would, invalid UTF-8 is
// replaced by U+FFFD. Linear in the input.
std::string HtmlToText(std::string_view html);

// Both forms of one text (see the top of this file).
struct NormalizedText {
  std::string unfolded;
  std::string folded;
  // Byte offsets into `folded` where default-ignorable code points were removed between two
  // kept characters, sorted ascending and distinct. The `has` operator treats them as word
  // boundaries ("free\u200Bcrypto" has the word "free").
  std::vector<uint32_t> folded_breaks;
};

// Plain text -> both forms. Invalid UTF-8 is replaced by U+FFFD first.
NormalizedText Normalize(std::string_view plain);

// Plain text -> unfolded form only.
std::string Unfold(std::string_view plain);

// Unfolded text -> folded form. `offsets`, when given, receives for each byte of the result
// the byte offset in `unfolded` of the character it came from, plus one final entry equal to
// unfolded.size(), so that a match [b, e) in the folded text maps to
// [(*offsets)[b], (*offsets)[e]) in the unfolded text (used for evidence).
std::string Fold(std::string_view unfolded, std::vector<uint32_t>* offsets = nullptr);

// Folding for short keyword values (hashtags, emoji shortcodes): NFKC case folding only.
std::string CaseFold(std::string_view s);

// True if `s` is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view s);

}  // namespace fedwall::text

#endif  // FEDWALL_ENGINE_TEXT_NORMALIZE_H_
