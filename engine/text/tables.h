// Internal to engine/text: Unicode tables generated at build time by gen_tables.cc from the
// ICU data the engine links with (the generated tables.cc lives in the build tree). Not a
// public header: include it only from engine/text and its tests.
//
// Each table maps a code point to a 32-bit Entry through two levels (block c >> 8, then
// c & 0xFF; identical rows are shared). An Entry is a tag in its low two bits and a payload:
//   kKeep  (0): payload 0 = the character stays as it is; otherwise the character becomes the
//               string at kTablePool + (payload >> 8), length payload & 0xFF.
//   kSlow  (1): the character's result depends on its neighbours; run ICU on the text.
//   kSpace (2): white space for Unfold (only in kUnfold).
//   kDrop  (3): removed by Unfold (only in kUnfold).
//
// kUnfold: kSpace for White_Space and the blank-looking fillers U+2800 BRAILLE PATTERN
//   BLANK, U+3164 HANGUL FILLER, U+115F/U+1160 HANGUL CHOSEONG/JUNGSEONG FILLER and U+FFA0
//   HALFWIDTH HANGUL FILLER (four of which Unicode calls Default_Ignorable; the contract
//   wants them to separate words); kDrop for Default_Ignorable_Code_Point (ZWSP, ZWJ, ZWNJ,
//   soft hyphen, bidi controls, word joiner, variation selectors, tags, ...) and other
//   control characters (Cc); otherwise the character's NFKC form when that does not depend
//   on its neighbours, else kSlow.
//
// kConfusable: the UTS #39 confusables mapping for non-ASCII characters of NFKC_Casefold-ed
//   text: U+0435 CYRILLIC SMALL LETTER IE -> "e", U+03BF GREEK SMALL LETTER OMICRON -> "o",
//   U+201C LEFT DOUBLE QUOTATION MARK -> "\"". Skeleton pieces that are the skeleton of an
//   ASCII character are written as that character (an m look-alike becomes "m", never the
//   skeleton's "rn"); replacements are NFKC_Casefold-ed, stable (the table maps none of their
//   characters) and never move a word boundary. Never kSlow. ASCII is never remapped.
//
// kFold: the whole of Fold for one non-ASCII character (NFKC_Casefold, confusables,
//   NFKC_Casefold) when Fold of a text is the concatenation of the results for its
//   characters, else kSlow. Not defined for ASCII (Fold lower-cases it).
#ifndef FEDWALL_ENGINE_TEXT_TABLES_H_
#define FEDWALL_ENGINE_TEXT_TABLES_H_

#include <cstdint>
#include <string_view>

namespace fedwall::text::internal {

inline constexpr uint32_t kTableBlockCount = 0x110000 >> 8;

using Entry = uint32_t;
enum EntryTag : uint32_t { kKeep = 0, kSlow = 1, kSpace = 2, kDrop = 3 };

extern const char kTablePool[];
extern const uint16_t kUnfoldBlocks[kTableBlockCount];
extern const uint32_t kUnfoldRows[][256];
extern const uint16_t kConfusableBlocks[kTableBlockCount];
extern const uint32_t kConfusableRows[][256];
extern const uint16_t kFoldBlocks[kTableBlockCount];
extern const uint32_t kFoldRows[][256];
// Number of code points with a confusables replacement (for tests and diagnostics).
extern const uint32_t kConfusableCount;
// The Unicode version of the ICU data the tables come from.
extern const char kUnicodeVersion[];

inline EntryTag TagOf(Entry e) { return static_cast<EntryTag>(e & 3); }

// For a kKeep entry: the replacement string, "" when the character stays as it is.
inline std::string_view ReplacementOf(Entry e) {
  const uint32_t payload = e >> 2;
  return std::string_view(kTablePool + (payload >> 8), payload & 0xFF);
}

// Entries of code point `c` (at most U+10FFFF).
inline Entry UnfoldEntry(uint32_t c) { return kUnfoldRows[kUnfoldBlocks[c >> 8]][c & 0xFF]; }
inline Entry FoldEntry(uint32_t c) { return kFoldRows[kFoldBlocks[c >> 8]][c & 0xFF]; }

// The confusables replacement of `c` (at most U+10FFFF), or "" when it is not remapped.
inline std::string_view ConfusableReplacement(uint32_t c) {
  return ReplacementOf(kConfusableRows[kConfusableBlocks[c >> 8]][c & 0xFF]);
}

}  // namespace fedwall::text::internal

#endif  // FEDWALL_ENGINE_TEXT_TABLES_H_
