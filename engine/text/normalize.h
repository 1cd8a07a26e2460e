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
// Details the contract leaves open, decided here:
//   - Line breaks are white space: the unfolded form is one line ("a\nb" -> "a b").
//   - Control characters (Cc) other than white space are removed like default ignorables
//     (and, like them, leave a word boundary in folded_breaks).
//   - U+2800, U+3164, U+115F, U+1160 and U+FFA0 (blank-looking fillers) are white space,
//     although Unicode calls four of them Default_Ignorable.
//   - A confusable is written as the ASCII character it imitates when there is one
//     (Cyrillic "е" -> "e", an m look-alike -> "m", never UTS #39's "rn"); a replacement
//     never turns a letter or digit into punctuation or the reverse, except that a symbol
//     may become its ASCII look-alike ("×" -> "x", "“" -> "\""), so word boundaries stay
//     where the sender put them. Non-Latin scripts are folded too (UTS #39 maps, e.g.,
//     Cyrillic "в" to "ʙ"), so compare folded text only with folded patterns. The
//     generated table is reviewable: `fedwall_gen_tables --list-confusables`.
//   - Fold is idempotent: Fold(Fold(x)) == Fold(x).
//
// Cost: pure-ASCII text never reaches ICU (NFKC is the identity there and NFKC_Casefold is
// lower-casing). Other text is normalised character by character from tables generated at
// build time from ICU's data; only text whose normalisation depends on neighbouring
// characters (combining marks, conjoining jamo, ...) goes through ICU's normalisers. All
// functions are linear in their input. Inputs must be smaller than 2 GiB.
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
// More precisely, as in the HTML tokenizer:
//   - '<' starts a tag only before a letter, '/', '!' or '?'; otherwise it is text
//     ("a < b", "<3"). A tag left open at the end of the input is dropped ("a <b" -> "a ").
//     Quoted attribute values may contain '>'.
//   - Comments (<!-- ... -->, to the end when unterminated) are dropped, and so are
//     "<!..." and "<?..." up to the next '>' (<!DOCTYPE html>; as in browsers, CDATA
//     sections are not special in HTML content).
//   - References: the HTML 4 set and common HTML5 names (&apos; &hellip; &mdash; &nbsp; ...),
//     case-sensitive; the Latin-1 legacy names also without ';' ("&amp", "&copy2024"),
//     others need it. Numeric references follow HTML5: 0, surrogates and values above
//     U+10FFFF give U+FFFD, 0x80-0x9F are read as windows-1252 (&#150; -> "–").
//   - Line breaks are not doubled: block boundaries give one '\n' between text, each <br>
//     one more; none at the start or end. Other white space is kept as written.
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
// The offsets never decrease. Every byte of an expansion maps to its source character
// ("ß" -> "ss": both bytes map to the "ß"), and characters that compose map to the first of
// them ("e\u0301" -> "é": maps to the "e"); so a match that ends inside an expansion maps to
// an end at the start of that character. Invalid UTF-8 is replaced by U+FFFD, credited to
// the bytes it replaces.
//   std::vector<uint32_t> off;
//   std::string f = Fold("Get ＣＲＹＰＴＯ", &off);  // "get crypto"
//   // f.find("crypto") == 4; the evidence is unfolded[off[4], off[10]) == "ＣＲＹＰＴＯ"
std::string Fold(std::string_view unfolded, std::vector<uint32_t>* offsets = nullptr);

// Folding for short keyword values (hashtags, emoji shortcodes): NFKC case folding only (no
// confusables, no white space handling). Invalid UTF-8 is replaced by U+FFFD first.
std::string CaseFold(std::string_view s);

// True if `s` is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` with every invalid UTF-8 sequence replaced by U+FFFD: one U+FFFD per maximal invalid
// subpart, as the WHATWG Encoding standard and ICU do ("\xE2\x82x" -> "\uFFFDx").
std::string SanitizeUtf8(std::string_view s);

}  // namespace fedwall::text

#endif  // FEDWALL_ENGINE_TEXT_NORMALIZE_H_
