// Internal to engine/match: the few Unicode facts the matchers need, on UTF-8 bytes.
//
//   - word characters and scripts written without spaces, for the `has` (whole word) check;
//   - the code points on which Hyperscan's case-insensitive matching may disagree with RE2's.
//
// Hyperscan 5.4 carries Unicode 7.0 case tables; RE2 and ICU are newer. A case-insensitive
// regex can therefore miss, in Hyperscan, a character whose case partner was added after
// Unicode 7.0 (Cyrillic U+1C80..U+1C88, Georgian Mtavruli U+1C90.., Cherokee lowercase
// U+AB70.., Latin U+A7AE.., Osage, Adlam, ...). Separately, Hyperscan does not fold U+017F
// (long s) and U+212A (Kelvin sign) into \w and the POSIX classes the way RE2 does.
// `IsCaseUnstable` is true for exactly those code points (assigned in Unicode 8.0 or later
// and case-sensitive, plus U+017F and U+212A); text_matcher_test.cc checks against the
// installed Hyperscan and RE2 that on every other code point the two agree.
//
// Every function here is thread-safe (the tables are built once, on first use).
//
// Example:
//   bool word = fedwall::match::internal::IsWordChar(
//       fedwall::match::internal::CodePointBefore(text, start));
#ifndef FEDWALL_ENGINE_MATCH_UNICODE_PROPS_H_
#define FEDWALL_ENGINE_MATCH_UNICODE_PROPS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fedwall::match::internal {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point starting at byte `i` of `s` (strict UTF-8). Returns the length of its
// encoding (1 to 4), or 0 if the bytes at `i` are not well-formed UTF-8 (or i >= s.size()).
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* c);

// The code point whose encoding ends right before byte `end` of `s` (end > 0), or U+FFFD when
// the bytes there are not valid UTF-8.
char32_t CodePointBefore(std::string_view s, size_t end);

// The code point that starts at byte `start` of `s` (start < s.size()), or U+FFFD when the
// bytes there are not valid UTF-8.
char32_t CodePointAt(std::string_view s, size_t start);

// A letter, mark or number (general category L*, M*, N*). Marks count because they are part
// of the letter they follow (Indic vowel signs, viramas).
bool IsWordChar(char32_t c);

// Han, Hiragana, Katakana, Thai, Lao, Khmer or Myanmar: by Script, or, for Common and
// Inherited characters, by Script_Extensions (so U+30FC KATAKANA-HIRAGANA PROLONGED SOUND
// MARK counts).
bool IsSpacelessScript(char32_t c);

// See the top of this file.
bool IsCaseUnstable(char32_t c);
// True if some code point in [lo, hi] IsCaseUnstable.
bool RangeHasCaseUnstable(char32_t lo, char32_t hi);

struct Utf8Facts {
  bool valid = true;               // well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF)
  bool has_case_unstable = false;  // only computed when asked for
};
// One pass over `s`. `want_case_unstable`: also look for IsCaseUnstable code points.
Utf8Facts ScanUtf8(std::string_view s, bool want_case_unstable);

}  // namespace fedwall::match::internal

#endif  // FEDWALL_ENGINE_MATCH_UNICODE_PROPS_H_
