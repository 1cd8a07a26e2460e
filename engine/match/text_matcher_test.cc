#include "engine/match/text_matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/match/scoped_matcher.h"
#include "engine/match/text_matcher_internal.h"
#include "engine/text/normalize.h"

namespace fedwall::match {
namespace {

using Anchor = TextMatcherBuilder::Anchor;
using Span = std::pair<uint32_t, uint32_t>;
using Hits = std::map<uint32_t, Span>;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

std::unique_ptr<const TextMatcher> Build(TextMatcherBuilder b, const MatcherOptions& o = {}) {
  absl::StatusOr<std::unique_ptr<const TextMatcher>> m = std::move(b).Build(o);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

Hits Scan(const TextMatcher& m, const text::NormalizedText& t, MatchScratch& scratch) {
  Hits hits;
  m.Scan(t, scratch, [&](uint32_t id, uint32_t start, uint32_t end) {
    EXPECT_TRUE(hits.emplace(id, Span{start, end}).second) << "id " << id << " reported twice";
  });
  return hits;
}

Hits Scan(const TextMatcher& m, std::string_view plain) {
  MatchScratch scratch;
  return Scan(m, text::Normalize(plain), scratch);
}

// A text with exactly these forms (for inputs Normalize would never produce).
text::NormalizedText Raw(std::string unfolded, std::string folded,
                         std::vector<uint32_t> breaks = {}) {
  return text::NormalizedText{std::move(unfolded), std::move(folded), std::move(breaks)};
}

std::unique_ptr<const TextMatcher> Literal(std::string_view pattern, bool whole_word,
                                           Anchor anchor = Anchor::kNone) {
  TextMatcherBuilder b;
  b.AddLiteral(7, text::Fold(pattern), whole_word, anchor);
  return Build(std::move(b));
}

// A literal used exactly as given (no folding), scanned over a raw folded text: tests the
// boundary rules without depending on the folding tables.
std::unique_ptr<const TextMatcher> RawLiteral(std::string pattern, bool whole_word) {
  TextMatcherBuilder b;
  b.AddLiteral(7, std::move(pattern), whole_word);
  return Build(std::move(b));
}

Hits ScanRaw(const TextMatcher& m, std::string folded, std::vector<uint32_t> breaks = {}) {
  MatchScratch scratch;
  return Scan(m, Raw("", std::move(folded), std::move(breaks)), scratch);
}

std::unique_ptr<const TextMatcher> Regex(std::string pattern, bool ignore_case = false) {
  TextMatcherBuilder b;
  b.AddRegex(7, std::move(pattern), ignore_case);
  return Build(std::move(b));
}

// ---------------------------------------------------------------------------------------------
// Literals

TEST(TextMatcherLiteralTest, HitAndMiss) {
  auto m = Literal("Free Crypto", false);
  EXPECT_THAT(Scan(*m, "Get FREE CRYPTO now"), ElementsAre(Pair(7, Span{4, 15})));
  EXPECT_THAT(Scan(*m, "ｆｒｅｅ ｃｒｙｐｔｏ"), ElementsAre(Pair(7, Span{0, 11})));
  EXPECT_THAT(Scan(*m, "fr\u0435e crypto"), ElementsAre(Pair(7, Span{0, 11})));  // Cyrillic е
  EXPECT_THAT(Scan(*m, "free  crypto"), ElementsAre(Pair(7, Span{0, 11})));
  EXPECT_THAT(Scan(*m, "free cryptx"), IsEmpty());
  EXPECT_THAT(Scan(*m, ""), IsEmpty());
  EXPECT_EQ(m->pattern_count(), 1u);
  EXPECT_EQ(m->fallback_count(), 0u);
}

TEST(TextMatcherLiteralTest, LeftmostOccurrence) {
  auto m = Literal("ab", false);
  EXPECT_THAT(Scan(*m, "xxab ab abab"), ElementsAre(Pair(7, Span{2, 4})));
  auto overlapping = Literal("aa", false);
  EXPECT_THAT(Scan(*overlapping, "baaaa"), ElementsAre(Pair(7, Span{1, 3})));
}

TEST(TextMatcherLiteralTest, ManyIdsShareOneLiteral) {
  TextMatcherBuilder b;
  for (uint32_t id = 0; id < 300; ++id) {
    b.AddLiteral(id, "crypto", id % 3 == 1, id % 3 == 2 ? Anchor::kEnd : Anchor::kNone);
  }
  b.AddLiteral(1000, "crypto", false);  // added twice with the same flags
  b.AddLiteral(1000, "crypto", false);
  auto m = Build(std::move(b));
  EXPECT_EQ(m->stats().unique_literals, 1u);
  EXPECT_EQ(m->pattern_count(), 302u);
  // "cryptocrypto crypto": plain -> 0; whole word -> 13; at the end -> 13.
  Hits hits = Scan(*m, "cryptocrypto crypto");
  ASSERT_EQ(hits.size(), 301u);
  for (uint32_t id = 0; id < 300; ++id) {
    EXPECT_EQ(hits[id], (id % 3 == 0 ? Span{0, 6} : Span{13, 19})) << id;
  }
  EXPECT_EQ(hits[1000], (Span{0, 6}));
  hits = Scan(*m, "cryptocrypto");
  EXPECT_EQ(hits.size(), 201u);  // no whole word
  EXPECT_EQ(hits.count(1), 0u);
  EXPECT_EQ(hits[2], (Span{6, 12}));
}

TEST(TextMatcherLiteralTest, IdWithSeveralLiteralsReportsLeftmost) {
  TextMatcherBuilder b;
  b.AddLiteral(1, "crypto", false);
  b.AddLiteral(1, "free", false);
  b.AddLiteral(1, "free crypto", false);
  auto m = Build(std::move(b));
  EXPECT_THAT(Scan(*m, "crypto, free crypto"), ElementsAre(Pair(1, Span{0, 6})));
  // Same start: the longest.
  EXPECT_THAT(Scan(*m, "free crypto"), ElementsAre(Pair(1, Span{0, 11})));
}

TEST(TextMatcherLiteralTest, WholeWordLatinAndDigits) {
  auto m = Literal("free", true);
  EXPECT_THAT(Scan(*m, "free"), ElementsAre(Pair(7, Span{0, 4})));
  EXPECT_THAT(Scan(*m, "FREE!"), ElementsAre(Pair(7, Span{0, 4})));
  EXPECT_THAT(Scan(*m, "(free)"), ElementsAre(Pair(7, Span{1, 5})));
  EXPECT_THAT(Scan(*m, "free-crypto"), ElementsAre(Pair(7, Span{0, 4})));
  EXPECT_THAT(Scan(*m, "free_crypto"), ElementsAre(Pair(7, Span{0, 4})));  // '_' is not a letter
  EXPECT_THAT(Scan(*m, "freedom"), IsEmpty());
  EXPECT_THAT(Scan(*m, "carefree"), IsEmpty());
  EXPECT_THAT(Scan(*m, "free2"), IsEmpty());
  EXPECT_THAT(Scan(*m, "2free"), IsEmpty());
  EXPECT_THAT(ScanRaw(*m, "\u00e9free"), IsEmpty());  // é is a letter
  EXPECT_THAT(ScanRaw(*m, "\u0436free"), IsEmpty());  // so is ж
  EXPECT_THAT(ScanRaw(*m, "free\u0301"), IsEmpty());  // and a combining mark is part of one
  EXPECT_THAT(ScanRaw(*m, "\u00bbfree\u00ab"), ElementsAre(Pair(7, Span{2, 6})));  // »free«
  EXPECT_THAT(ScanRaw(*m, "\U0001F642free\u3002"), ElementsAre(Pair(7, Span{4, 8})));

  auto digits = Literal("101", true);
  EXPECT_THAT(Scan(*digits, "cs 101."), ElementsAre(Pair(7, Span{3, 6})));
  EXPECT_THAT(Scan(*digits, "cs101"), IsEmpty());
  EXPECT_THAT(Scan(*digits, "1010"), IsEmpty());
  EXPECT_THAT(ScanRaw(*digits, "\u0663101"), IsEmpty());  // Arabic-Indic digit three

  auto phrase = Literal("free crypto", true);
  EXPECT_THAT(Scan(*phrase, "get free crypto."), ElementsAre(Pair(7, Span{4, 15})));
  EXPECT_THAT(Scan(*phrase, "get free cryptocurrency"), IsEmpty());

  // The pattern's own edge characters do not matter, only what is next to the match.
  auto hashtag = Literal("#tag", true);
  EXPECT_THAT(Scan(*hashtag, "a #tag."), ElementsAre(Pair(7, Span{2, 6})));
  EXPECT_THAT(Scan(*hashtag, "a#tag"), IsEmpty());
}

TEST(TextMatcherLiteralTest, WholeWordLeftmostValidOccurrence) {
  auto m = Literal("free", true);
  // The first two occurrences are inside words; the third counts.
  EXPECT_THAT(Scan(*m, "freedom carefree free"), ElementsAre(Pair(7, Span{17, 21})));
}

TEST(TextMatcherLiteralTest, WholeWordSpacelessScripts) {
  // Han next to Han: no boundary needed.
  auto tokyo = RawLiteral("東京", true);
  EXPECT_THAT(ScanRaw(*tokyo, "東京都に行く"), ElementsAre(Pair(7, Span{0, 6})));
  EXPECT_THAT(ScanRaw(*tokyo, "在東京"), ElementsAre(Pair(7, Span{3, 9})));
  // A Latin pattern next to Japanese text: the Japanese side needs no boundary ...
  auto latin = RawLiteral("tokyo", true);
  EXPECT_THAT(ScanRaw(*latin, "tokyoに行く"), ElementsAre(Pair(7, Span{0, 5})));
  EXPECT_THAT(ScanRaw(*latin, "東tokyo"), ElementsAre(Pair(7, Span{3, 8})));
  EXPECT_THAT(ScanRaw(*latin, "ラーメンtokyo"), ElementsAre(Pair(7, Span{12, 17})));
  // ... the Latin side still does.
  EXPECT_THAT(ScanRaw(*latin, "東tokyox"), IsEmpty());
  EXPECT_THAT(ScanRaw(*latin, "xtokyo東"), IsEmpty());
  // Katakana, including the prolonged sound mark (script Common, used by Hiragana/Katakana).
  auto ramen = RawLiteral("ラーメン", true);
  EXPECT_THAT(ScanRaw(*ramen, "とんこつラーメンです"), ElementsAre(Pair(7, Span{12, 24})));
  auto men = RawLiteral("メン", true);
  EXPECT_THAT(ScanRaw(*men, "ラーメン"), ElementsAre(Pair(7, Span{6, 12})));
  auto a = RawLiteral("a", true);
  EXPECT_THAT(ScanRaw(*a, "ーa"), ElementsAre(Pair(7, Span{3, 4})));
  // Thai, Lao, Khmer, Myanmar are written without spaces.
  auto thai = RawLiteral("สวัสดี", true);
  EXPECT_THAT(ScanRaw(*thai, "สวัสดีครับ"), ElementsAre(Pair(7, Span{0, 18})));
  auto lao = RawLiteral("ສະບາຍ", true);
  EXPECT_THAT(ScanRaw(*lao, "ສະບາຍດີ"), ElementsAre(Pair(7, Span{0, 15})));
  auto khmer = RawLiteral("សួស្តី", true);
  EXPECT_THAT(ScanRaw(*khmer, "ជំរាបសួរសួស្តី"), ElementsAre(Pair(7, Span{24, 42})));
  auto myanmar = RawLiteral("မင်္ဂလာ", true);
  EXPECT_THAT(ScanRaw(*myanmar, "မင်္ဂလာပါ"), ElementsAre(Pair(7, Span{0, 21})));
  // Hangul and Devanagari are written with spaces: boundaries apply.
  auto korean = RawLiteral("한국", true);
  EXPECT_THAT(ScanRaw(*korean, "한국어"), IsEmpty());
  EXPECT_THAT(ScanRaw(*korean, "한국 사람"), ElementsAre(Pair(7, Span{0, 6})));
  auto hindi = RawLiteral("हिन", true);
  EXPECT_THAT(ScanRaw(*hindi, "हिन्दी"), IsEmpty());  // followed by a virama (a mark)
  // Mixed: a Han edge in the pattern lifts the check at that edge only.
  auto mixed = RawLiteral("abc東", true);
  EXPECT_THAT(ScanRaw(*mixed, "abc東x"), ElementsAre(Pair(7, Span{0, 6})));
  EXPECT_THAT(ScanRaw(*mixed, "xabc東"), IsEmpty());
  // Through the whole pipeline (Normalize and Fold on both sides).
  EXPECT_THAT(Scan(*Literal("東京", true), "東京都"), ::testing::SizeIs(1));
  EXPECT_THAT(Scan(*Literal("tokyo", true), "TOKYOに"), ElementsAre(Pair(7, Span{0, 5})));
}

TEST(TextMatcherLiteralTest, WholeWordRemovedIgnorablesAreBoundaries) {
  text::NormalizedText t = text::Normalize("free\u200Bcrypto and fr\u00ADee");
  ASSERT_EQ(t.folded, "freecrypto and free");
  ASSERT_FALSE(t.folded_breaks.empty());
  MatchScratch scratch;
  EXPECT_THAT(Scan(*Literal("free", true), t, scratch), ElementsAre(Pair(7, Span{0, 4})));
  EXPECT_THAT(Scan(*Literal("crypto", true), t, scratch), ElementsAre(Pair(7, Span{4, 10})));
  EXPECT_THAT(Scan(*Literal("freecrypto", true), t, scratch), ElementsAre(Pair(7, Span{0, 10})));
  // The soft hyphen removed from "fr\u00ADee" makes "fr" a word too (the contract says so).
  EXPECT_THAT(Scan(*Literal("fr", true), t, scratch), ElementsAre(Pair(7, Span{15, 17})));
  EXPECT_THAT(Scan(*Literal("ee", true), t, scratch), ElementsAre(Pair(7, Span{17, 19})));
  // Without the break list, "free" inside "freecrypto" is not a word.
  text::NormalizedText no_breaks = Raw(t.unfolded, "freecrypto");
  EXPECT_THAT(Scan(*Literal("free", true), no_breaks, scratch), IsEmpty());
}

TEST(TextMatcherLiteralTest, Anchors) {
  auto start = Literal("free", false, Anchor::kStart);
  EXPECT_THAT(Scan(*start, "Free crypto free"), ElementsAre(Pair(7, Span{0, 4})));
  EXPECT_THAT(Scan(*start, "a free"), IsEmpty());
  EXPECT_THAT(Scan(*start, "  free "), ElementsAre(Pair(7, Span{0, 4})));  // trimmed
  auto end = Literal("ab", false, Anchor::kEnd);
  EXPECT_THAT(Scan(*end, "ab xab"), ElementsAre(Pair(7, Span{4, 6})));
  EXPECT_THAT(Scan(*end, "ab abx"), IsEmpty());
  auto whole = Literal("free crypto", false, Anchor::kWhole);
  EXPECT_THAT(Scan(*whole, "FREE  CRYPTO"), ElementsAre(Pair(7, Span{0, 11})));
  EXPECT_THAT(Scan(*whole, "free crypto!"), IsEmpty());
  EXPECT_THAT(Scan(*whole, "free"), IsEmpty());
  // Anchored and whole word together.
  auto start_word = Literal("free", true, Anchor::kStart);
  EXPECT_THAT(Scan(*start_word, "freedom"), IsEmpty());
  EXPECT_THAT(Scan(*start_word, "free dom"), ElementsAre(Pair(7, Span{0, 4})));
}

TEST(TextMatcherLiteralTest, EmptyLiteral) {
  TextMatcherBuilder b;
  b.AddLiteral(1, "", false, Anchor::kWhole);
  b.AddLiteral(2, "", false);
  b.AddLiteral(3, "", true, Anchor::kStart);
  b.AddLiteral(4, "x", false, Anchor::kWhole);
  auto m = Build(std::move(b));
  EXPECT_THAT(Scan(*m, ""), ElementsAre(Pair(1, Span{0, 0})));
  EXPECT_THAT(Scan(*m, "   "), ElementsAre(Pair(1, Span{0, 0})));  // trimmed to empty
  EXPECT_THAT(Scan(*m, "x"), ElementsAre(Pair(4, Span{0, 1})));
}

TEST(TextMatcherLiteralTest, NulAndArbitraryBytes) {
  TextMatcherBuilder b;
  b.AddLiteral(1, std::string("a\0b", 3), false);
  b.AddLiteral(2, "\xFF\xFE", false);
  auto m = Build(std::move(b));
  MatchScratch scratch;
  EXPECT_THAT(Scan(*m, Raw("", std::string("xa\0b\xFF\xFE", 6)), scratch),
              ElementsAre(Pair(1, Span{1, 4}), Pair(2, Span{4, 6})));
}

TEST(TextMatcherLiteralTest, InvalidUtf8AroundWholeWords) {
  auto m = Literal("free", true);
  MatchScratch scratch;
  // Invalid bytes next to the match read as U+FFFD: not a letter, so a boundary.
  EXPECT_THAT(Scan(*m,
                   Raw("",
                       "\xC3"
                       "free"
                       "\xE4\xB8"),
                   scratch),
              ElementsAre(Pair(7, Span{1, 5})));
  EXPECT_THAT(Scan(*m,
                   Raw("",
                       "\x80\x80\x80\x80"
                       "free\xF0\x9F"),
                   scratch),
              ElementsAre(Pair(7, Span{4, 8})));
  // Out-of-range breaks are harmless.
  EXPECT_THAT(Scan(*m, Raw("", "xfree", {1, 2, 1000}), scratch), ElementsAre(Pair(7, Span{1, 5})));
}

// ---------------------------------------------------------------------------------------------
// Regexes

TEST(TextMatcherRegexTest, HitsWithRe2Spans) {
  EXPECT_THAT(Scan(*Regex("b+"), "abbbc"), ElementsAre(Pair(7, Span{1, 4})));
  // Leftmost-first, as RE2 (and Perl) define it.
  EXPECT_THAT(Scan(*Regex("a|ab"), "xab"), ElementsAre(Pair(7, Span{1, 2})));
  EXPECT_THAT(Scan(*Regex("https?://bit\\.ly/\\w+"), "see https://bit.ly/abc!"),
              ElementsAre(Pair(7, Span{4, 22})));
  // Byte offsets into the unfolded text, which keeps case and accents.
  EXPECT_THAT(Scan(*Regex("Crypto"), "caf\u00e9 Crypto"), ElementsAre(Pair(7, Span{6, 12})));
  EXPECT_THAT(Scan(*Regex("crypto"), "caf\u00e9 Crypto"), IsEmpty());
  // Unfolded: NFKC and white space collapsed, but no confusable folding.
  EXPECT_THAT(Scan(*Regex("free crypto"), "ｆｒｅｅ\n\n crypto"),
              ElementsAre(Pair(7, Span{0, 11})));
  EXPECT_THAT(Scan(*Regex("free"), "fr\u0435e"), IsEmpty());
  EXPECT_THAT(Scan(*Regex("^free$"), "free"), ElementsAre(Pair(7, Span{0, 4})));
  EXPECT_THAT(Scan(*Regex("^free$"), "free crypto"), IsEmpty());
  EXPECT_THAT(Scan(*Regex("\\bcat\\b"), "concat cat"), ElementsAre(Pair(7, Span{7, 10})));
  // Large counted repetitions are widened for Hyperscan; RE2 still decides.
  auto big = Regex("^x{20,300}$");
  EXPECT_EQ(big->stats().regexes_widened, 1u);
  EXPECT_THAT(Scan(*big, std::string(100, 'x')), ElementsAre(Pair(7, Span{0, 100})));
  EXPECT_THAT(Scan(*big, std::string(301, 'x')), IsEmpty());
  EXPECT_THAT(Scan(*big, std::string(19, 'x')), IsEmpty());
}

TEST(TextMatcherRegexTest, IgnoreCase) {
  EXPECT_THAT(Scan(*Regex("free", true), "FrEe"), ElementsAre(Pair(7, Span{0, 4})));
  EXPECT_THAT(Scan(*Regex("(?i)free"), "FREE"), ElementsAre(Pair(7, Span{0, 4})));
  EXPECT_THAT(Scan(*Regex("free"), "FREE"), IsEmpty());
  EXPECT_THAT(Scan(*Regex("привет", true), "ПРИВЕТ"), ElementsAre(Pair(7, Span{0, 12})));
  EXPECT_THAT(Scan(*Regex("stra\u00dfe", true), "STRASSE"), IsEmpty());  // simple folding only
  EXPECT_THAT(Scan(*Regex("\u03c3", true), "\u03a3"), ElementsAre(Pair(7, Span{0, 2})));
}

// Hyperscan's case tables stop at Unicode 7.0: case-insensitive regexes are re-checked by RE2
// when the text has a newer cased character, and go to the fallback when the pattern names one.
TEST(TextMatcherRegexTest, CaseInsensitiveBeyondHyperscanTables) {
  // U+1C80 CYRILLIC SMALL LETTER ROUNDED VE folds to в (Unicode 9).
  auto m = Regex("привет", true);
  EXPECT_EQ(m->fallback_count(), 0u);
  EXPECT_EQ(m->stats().regexes_case_guarded, 1u);
  EXPECT_THAT(Scan(*m, "при\u1C80ет"), ElementsAre(Pair(7, Span{0, 13})));
  auto named = Regex("\\x{1C80}", true);
  EXPECT_EQ(named->fallback_count(), 1u);
  EXPECT_THAT(Scan(*named, "\u0432"), ElementsAre(Pair(7, Span{0, 2})));
  // RE2 folds K (Kelvin) and ſ into \w under (?i); Hyperscan does not. NFKC removes both from
  // normalized text; a raw text still gets RE2's answer.
  MatchScratch scratch;
  EXPECT_THAT(Scan(*Regex("x\\w", true), Raw("x\u212A", ""), scratch),
              ElementsAre(Pair(7, Span{0, 4})));
  EXPECT_THAT(Scan(*Regex("x[[:alpha:]]", true), Raw("x\u017F", ""), scratch),
              ElementsAre(Pair(7, Span{0, 3})));
}

TEST(TextMatcherRegexTest, HyperscanRefusalsGoToTheFallback) {
  TextMatcherBuilder b;
  b.AddRegex(1, "a\\Cb", false);        // \C: any byte; no Hyperscan equivalent
  b.AddRegex(2, "\\p{Greek}+", false);  // Unicode classes: RE2's tables
  b.AddRegex(3, "x\\pLy", false);
  b.AddRegex(4, "crypto", false);               // an ordinary one next to them
  b.AddRegex(5, "(?U)a+b", false);              // RE2's ungreedy flag: translated
  b.AddRegex(6, "a.{0,900}b.{0,900}c", false);  // Hyperscan refuses it as is ("too large")
  b.AddRegex(8, "(?:a|^)+b", false);
  auto m = Build(std::move(b));
  const TextMatcherStats st = m->stats();
  EXPECT_EQ(st.regexes, 7u);
  EXPECT_GE(m->fallback_count(), 3u);
  EXPECT_EQ(st.regexes_fallback + st.regexes_hyperscan, 7u);
  EXPECT_GE(st.regexes_widened, 1u);
  EXPECT_THAT(Scan(*m, "axb \u03b1\u03b2\u03b3 x\u00e9y crypto aab ab.c"),
              ElementsAre(Pair(1, Span{0, 3}), Pair(2, Span{4, 10}), Pair(3, Span{11, 15}),
                          Pair(4, Span{16, 22}), Pair(5, Span{23, 26}), Pair(6, Span{0, 31}),
                          Pair(8, Span{23, 26})));
  EXPECT_THAT(Scan(*m, "crypto"), ElementsAre(Pair(4, Span{0, 6})));
  EXPECT_THAT(Scan(*m, "nothing here"), IsEmpty());
}

TEST(TextMatcherRegexTest, EmptyMatchingRegexes) {
  TextMatcherBuilder b;
  b.AddRegex(1, "a*", false);
  b.AddRegex(2, "^$", false);
  b.AddRegex(3, "\\b", false);
  b.AddRegex(4, "", false);
  b.AddRegex(5, "(?:crypto)?$", false);
  auto m = Build(std::move(b));
  EXPECT_EQ(m->fallback_count(), 5u);
  EXPECT_THAT(Scan(*m, ""), ElementsAre(Pair(1, Span{0, 0}), Pair(2, Span{0, 0}),
                                        Pair(4, Span{0, 0}), Pair(5, Span{0, 0})));
  EXPECT_THAT(Scan(*m, "bbb"), ElementsAre(Pair(1, Span{0, 0}), Pair(3, Span{0, 0}),
                                           Pair(4, Span{0, 0}), Pair(5, Span{3, 3})));
  EXPECT_THAT(Scan(*m, "xaa crypto"), ElementsAre(Pair(1, Span{0, 0}), Pair(3, Span{0, 0}),
                                                  Pair(4, Span{0, 0}), Pair(5, Span{4, 10})));
  MatchScratch scratch;
  EXPECT_THAT(Scan(*m, Raw(" - ", ""), scratch),
              ElementsAre(Pair(1, Span{0, 0}), Pair(4, Span{0, 0}), Pair(5, Span{3, 3})));
}

TEST(TextMatcherRegexTest, InvalidUtf8Text) {
  TextMatcherBuilder b;
  b.AddRegex(1, "b+", false);
  b.AddRegex(2, "x.y", false);
  b.AddRegex(3, "\\C", false);
  auto m = Build(std::move(b));
  MatchScratch scratch;
  const std::string bad =
      "a\xFF"
      "bb x\xC3y \xE4\xB8";
  Hits hits = Scan(*m, Raw(bad, ""), scratch);
  // Exactly RE2's answers.
  for (const auto& [id, pattern] :
       std::vector<std::pair<uint32_t, std::string>>{{1, "b+"}, {2, "x.y"}, {3, "\\C"}}) {
    RE2 re(pattern);
    re2::StringPiece sp;
    if (re.Match(bad, 0, bad.size(), RE2::UNANCHORED, &sp, 1)) {
      const auto start = static_cast<uint32_t>(sp.data() - bad.data());
      EXPECT_EQ(hits[id], (Span{start, start + static_cast<uint32_t>(sp.size())})) << pattern;
    } else {
      EXPECT_EQ(hits.count(id), 0u) << pattern;
    }
  }
  EXPECT_EQ(hits[1], (Span{2, 4}));
}

TEST(TextMatcherTest, Errors) {
  {
    TextMatcherBuilder b;
    b.AddRegex(42, "a(b", false);
    auto m = std::move(b).Build({});
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(m.status().message(), HasSubstr("pattern 42"));
    EXPECT_THAT(m.status().message(), HasSubstr("missing )"));
  }
  {
    TextMatcherBuilder b;
    b.AddRegex(43, "(a)\\1", false);  // backreferences are not RE2
    EXPECT_FALSE(std::move(b).Build({}).ok());
  }
  {
    MatcherOptions o;
    o.max_pattern_bytes = 8;
    TextMatcherBuilder b;
    b.AddLiteral(1, "short", false);
    b.AddLiteral(9, "much too long", false);
    auto m = std::move(b).Build(o);
    ASSERT_FALSE(m.ok());
    EXPECT_THAT(m.status().message(), HasSubstr("pattern 9"));
    EXPECT_THAT(m.status().message(), HasSubstr("max_pattern_bytes"));
    TextMatcherBuilder r;
    r.AddRegex(10, "a{1,5}b{1,5}", false);
    EXPECT_THAT(std::move(r).Build(o).status().message(), HasSubstr("pattern 10"));
  }
  {
    TextMatcherBuilder b;
    b.AddLiteral(5, "x", false);
    b.AddRegex(5, "x", false);
    auto m = std::move(b).Build({});
    ASSERT_FALSE(m.ok());
    EXPECT_THAT(m.status().message(), HasSubstr("both a literal and a regex"));
  }
  {
    // RE2 refuses a regex that needs more than max_regex_memory.
    MatcherOptions o;
    o.max_regex_memory = 16 << 10;
    TextMatcherBuilder b;
    b.AddRegex(11, "(?:[a-z]{1,100}\\.){10}", false);
    auto m = std::move(b).Build(o);
    ASSERT_FALSE(m.ok());
    EXPECT_THAT(m.status().message(), HasSubstr("pattern 11"));
  }
}

TEST(TextMatcherTest, EmptyMatcherAndMovedFromBuilder) {
  TextMatcherBuilder b;
  auto m = Build(std::move(b));
  EXPECT_THAT(Scan(*m, "anything"), IsEmpty());
  EXPECT_EQ(m->pattern_count(), 0u);
  b.AddLiteral(1, "x", false);  // a moved-from builder starts again empty
  auto again = Build(std::move(b));
  EXPECT_THAT(Scan(*again, "x"), ElementsAre(Pair(1, Span{0, 1})));
}

TEST(TextMatcherTest, LiteralsAndRegexesTogetherAndScratchReuse) {
  TextMatcherBuilder a;
  a.AddLiteral(1, "crypto", true);
  a.AddRegex(2, "[0-9]{3,}", false);
  auto first = Build(std::move(a));
  TextMatcherBuilder b;
  for (uint32_t i = 0; i < 2000; ++i) b.AddLiteral(i, absl::StrCat("word", i), false);
  b.AddRegex(5000, "x+y", false);
  auto second = Build(std::move(b));
  MatchScratch scratch;  // one scratch, two matchers of different sizes, alternately
  for (int round = 0; round < 3; ++round) {
    EXPECT_THAT(Scan(*first, text::Normalize("Crypto 12345 crypto"), scratch),
                ElementsAre(Pair(1, Span{0, 6}), Pair(2, Span{7, 12})));
    EXPECT_THAT(
        Scan(*second, text::Normalize("word1999 xxy word12"), scratch),
        ElementsAre(Pair(1, Span{0, 5}), Pair(12, Span{13, 19}), Pair(19, Span{0, 6}),
                    Pair(199, Span{0, 7}), Pair(1999, Span{0, 8}), Pair(5000, Span{9, 12})));
  }
}

TEST(TextMatcherTest, NestedScanWithTheSameScratchReportsNothing) {
  auto m = Literal("crypto", false);
  MatchScratch scratch;
  MatchScratch other;
  const text::NormalizedText t = text::Normalize("crypto");
  int outer = 0;
  int nested_same = 0;
  int nested_other = 0;
  m->Scan(t, scratch, [&](uint32_t, uint32_t, uint32_t) {
    ++outer;
    m->Scan(t, scratch, [&](uint32_t, uint32_t, uint32_t) { ++nested_same; });
    m->Scan(t, other, [&](uint32_t, uint32_t, uint32_t) { ++nested_other; });
  });
  EXPECT_EQ(outer, 1);
  EXPECT_EQ(nested_same, 0);
  EXPECT_EQ(nested_other, 1);
  EXPECT_THAT(Scan(*m, t, scratch), ElementsAre(Pair(7, Span{0, 6})));  // usable again
}

// The shared regex compile failing on some patterns (made to fail through the test seam):
// those patterns move to PREFILTER or to the fallback, the others stay, and every regex keeps
// RE2's answer.
constexpr char kFailMarker[] = "zqzq";

hs_error_t HS_CDECL FailMarkedPatterns(const char* const* expressions, const unsigned int* flags,
                                       const unsigned int* ids, unsigned int elements,
                                       unsigned int mode, const hs_platform_info_t* platform,
                                       hs_database_t** db, hs_compile_error_t** error) {
  std::vector<const char*> replaced(expressions, expressions + elements);
  for (auto& e : replaced) {
    if (std::string_view(e).find(kFailMarker) != std::string_view::npos) e = "x$y";
  }
  return hs_compile_multi(replaced.data(), flags, ids, elements, mode, platform, db, error);
}

hs_error_t HS_CDECL FailWholeSet(const char* const* expressions, const unsigned int* flags,
                                 const unsigned int* ids, unsigned int elements, unsigned int mode,
                                 const hs_platform_info_t* platform, hs_database_t** db,
                                 hs_compile_error_t** error) {
  // A real error object, not attributed to any one expression.
  std::vector<const char*> replaced(expressions, expressions + elements);
  replaced[0] = "x$y";
  const hs_error_t err =
      hs_compile_multi(replaced.data(), flags, ids, elements, mode, platform, db, error);
  if (err != HS_SUCCESS && *error != nullptr) (*error)->expression = -1;
  return err;
}

struct SeamGuard {
  explicit SeamGuard(internal::HsCompileMultiFn fn) {
    internal::SetRegexCompileMultiForTesting(fn);
  }
  ~SeamGuard() { internal::SetRegexCompileMultiForTesting(nullptr); }
};

void ExpectRe2Answers(const TextMatcher& m, const std::vector<std::string>& patterns,
                      const std::vector<std::string>& texts) {
  MatchScratch scratch;
  for (const std::string& t : texts) {
    const Hits got = Scan(m, Raw(t, ""), scratch);
    for (size_t i = 0; i < patterns.size(); ++i) {
      RE2 re(patterns[i]);
      re2::StringPiece sp;
      auto it = got.find(static_cast<uint32_t>(i));
      if (re.Match(t, 0, t.size(), RE2::UNANCHORED, &sp, 1)) {
        const auto start = static_cast<uint32_t>(sp.data() - t.data());
        ASSERT_NE(it, got.end()) << patterns[i] << " on " << t;
        EXPECT_EQ(it->second, (Span{start, start + static_cast<uint32_t>(sp.size())}));
      } else {
        EXPECT_EQ(it, got.end()) << patterns[i] << " on " << t;
      }
    }
  }
}

TEST(TextMatcherRegexTest, SharedCompileFailuresMovePatternsOut) {
  const std::vector<std::string> patterns = {"abc+",    "zqzq\\d+",  "x[0-9]{2}y",
                                             "zqzqz?q", "(?i)hello", "w\\w+"};
  const std::vector<std::string> texts = {"abccc zqzq12", "x12y Hello zqzq", "zqzqq wow",
                                          "nothing"};
  {
    // Two failing patterns: each compiles alone (it fails only in company) and moves out.
    SeamGuard seam(&FailMarkedPatterns);
    TextMatcherBuilder b;
    for (size_t i = 0; i < patterns.size(); ++i)
      b.AddRegex(static_cast<uint32_t>(i), patterns[i], false);
    auto m = Build(std::move(b));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->fallback_count(), 2u);
    EXPECT_EQ(m->stats().regexes_hyperscan, 4u);
    ExpectRe2Answers(*m, patterns, texts);
  }
  {
    // Failures not attributed to a pattern: every pattern is compiled alone (they all pass
    // alone here), the shared compile fails again, and everything goes to the fallback.
    SeamGuard seam(&FailWholeSet);
    TextMatcherBuilder b;
    for (size_t i = 0; i < patterns.size(); ++i)
      b.AddRegex(static_cast<uint32_t>(i), patterns[i], false);
    auto m = Build(std::move(b));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->fallback_count(), patterns.size());
    ExpectRe2Answers(*m, patterns, texts);
  }
  {
    // Many failing patterns: after kMaxRegexRecompiles rounds every pattern is checked alone;
    // they all pass alone here, the shared compile still fails, and all go to the fallback.
    SeamGuard seam(&FailMarkedPatterns);
    TextMatcherBuilder b;
    std::vector<std::string> many = patterns;
    for (int i = 0; i < 6; ++i) many.push_back(absl::StrCat("zqzq", i));
    for (size_t i = 0; i < many.size(); ++i) b.AddRegex(static_cast<uint32_t>(i), many[i], false);
    auto m = Build(std::move(b));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->fallback_count(), many.size());
    ExpectRe2Answers(*m, many, {"zqzq3 abc", "zqzq5", "hello x55y"});
  }
}

// ---------------------------------------------------------------------------------------------
// Differential tests against naive references.

// Reference for `has`: written separately from the matcher, with ICU directly.
bool RefWordChar(UChar32 c) {
  return (U_GET_GC_MASK(c) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) != 0;
}
bool RefSpaceless(UChar32 c) {
  for (UScriptCode s : {USCRIPT_HAN, USCRIPT_HIRAGANA, USCRIPT_KATAKANA, USCRIPT_THAI, USCRIPT_LAO,
                        USCRIPT_KHMER, USCRIPT_MYANMAR}) {
    UErrorCode e = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript(c, &e);
    if (sc == s) return true;
    if ((sc == USCRIPT_COMMON || sc == USCRIPT_INHERITED) && uscript_hasScript(c, s)) return true;
  }
  return false;
}

std::optional<Span> RefLiteral(const text::NormalizedText& t, const std::string& lit,
                               bool whole_word, Anchor anchor) {
  const std::string& f = t.folded;
  if (lit.empty()) {
    if (anchor == Anchor::kWhole && f.empty()) return Span{0, 0};
    return std::nullopt;
  }
  for (size_t pos = f.find(lit); pos != std::string::npos; pos = f.find(lit, pos + 1)) {
    const size_t end = pos + lit.size();
    if ((anchor == Anchor::kStart || anchor == Anchor::kWhole) && pos != 0) continue;
    if ((anchor == Anchor::kEnd || anchor == Anchor::kWhole) && end != f.size()) continue;
    if (whole_word) {
      const auto* p = reinterpret_cast<const uint8_t*>(f.data());
      const auto n = static_cast<int32_t>(f.size());
      const auto* l = reinterpret_cast<const uint8_t*>(lit.data());
      const auto ln = static_cast<int32_t>(lit.size());
      auto broken = [&](size_t at) {
        return std::binary_search(t.folded_breaks.begin(), t.folded_breaks.end(), at);
      };
      bool ok = true;
      if (pos > 0 && !broken(pos)) {
        UChar32 before;
        int32_t i = static_cast<int32_t>(pos);
        U8_PREV_OR_FFFD(p, 0, i, before);
        UChar32 first;
        int32_t j = 0;
        U8_NEXT_OR_FFFD(l, j, ln, first);
        if (!RefSpaceless(first) && !RefSpaceless(before) && RefWordChar(before)) ok = false;
      }
      if (ok && end < f.size() && !broken(end)) {
        UChar32 after;
        int32_t i = static_cast<int32_t>(end);
        U8_NEXT_OR_FFFD(p, i, n, after);
        UChar32 last;
        int32_t j = ln;
        U8_PREV_OR_FFFD(l, 0, j, last);
        if (!RefSpaceless(last) && !RefSpaceless(after) && RefWordChar(after)) ok = false;
      }
      if (!ok) continue;
    }
    return Span{static_cast<uint32_t>(pos), static_cast<uint32_t>(end)};
  }
  return std::nullopt;
}

std::optional<Span> RefRegex(const RE2& re, const std::string& text) {
  re2::StringPiece m;
  if (!re.Match(text, 0, text.size(), RE2::UNANCHORED, &m, 1)) return std::nullopt;
  const auto start = static_cast<uint32_t>(m.data() - text.data());
  return Span{start, start + static_cast<uint32_t>(m.size())};
}

// Keeps the better span for an id (leftmost, then longest), as the matcher does.
void Merge(Hits* hits, uint32_t id, std::optional<Span> s) {
  if (!s) return;
  auto [it, inserted] = hits->emplace(id, *s);
  if (!inserted && (s->first < it->second.first ||
                    (s->first == it->second.first && s->second > it->second.second))) {
    it->second = *s;
  }
}

const std::vector<std::string>& Vocabulary() {
  static const auto* const words = new std::vector<std::string>{
      "free",    "crypto",   "freedom", "carefree", "bitcoin", "coin",  "airdrop", "nft",
      "cs101",   "101",      "c++",     "#tag",     "tag",     "spam",  "spammer", "ham",
      "café",    "CAFÉ",     "naïve",   "привет",   "ПРИВЕТ",  "вет",   "при",     "東京",
      "東京都",  "ラーメン", "メン",    "สวัสดี",     "ครับ",     "한국",  "한국어",  "ß",
      "strasse", "Σίσυφος",  "σ",       "ｆｒｅｅ", "free_x",  "x",     "ab",      "aab",
      "🙂",    "😀crypto",  "2024",    "www",      "bit.ly",  "https", "EUR",     "€"};
  return *words;
}

std::string RandomText(std::mt19937& rng, size_t words) {
  static const std::vector<std::string> kSeparators = {
      " ", " ", " ", "  ", ", ", ". ", "!", "-", "_", "\u200B", "\u00AD", "\n", "", "1", "é"};
  const auto& vocab = Vocabulary();
  std::string s;
  for (size_t i = 0; i < words; ++i) {
    std::string w = vocab[rng() % vocab.size()];
    if (rng() % 8 == 0) {
      for (char& c : w) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      }
    }
    s += w;
    s += kSeparators[rng() % kSeparators.size()];
  }
  return s;
}

TEST(TextMatcherDifferentialTest, TenThousandLiteralsAndThousandRegexes) {
  std::mt19937 rng(20240611);
  const auto& vocab = Vocabulary();
  struct Lit {
    uint32_t id;
    std::string folded;
    bool whole_word;
    Anchor anchor;
  };
  std::vector<Lit> lits;
  TextMatcherBuilder b;
  for (uint32_t i = 0; i < 10000; ++i) {
    std::string raw;
    switch (rng() % 4) {
      case 0:
        raw = vocab[rng() % vocab.size()];
        break;
      case 1:
        raw = vocab[rng() % vocab.size()] + " " + vocab[rng() % vocab.size()];
        break;
      case 2: {  // a piece of a word: hits inside words
        const std::string& w = vocab[rng() % vocab.size()];
        const size_t from = rng() % w.size();
        raw = w.substr(from, 1 + rng() % (w.size() - from));
        break;
      }
      default:
        raw = absl::StrCat("w", rng() % 5000);  // mostly misses
    }
    std::string folded = text::Fold(raw);
    const bool whole_word = rng() % 2 == 0;
    const Anchor anchor = rng() % 10 == 0 ? static_cast<Anchor>(1 + rng() % 3) : Anchor::kNone;
    // 5% share the id of an earlier literal (contains_any).
    const uint32_t id = (i > 0 && rng() % 20 == 0) ? lits[rng() % lits.size()].id : i;
    lits.push_back({id, folded, whole_word, anchor});
    b.AddLiteral(id, folded, whole_word, anchor);
  }
  struct Rx {
    uint32_t id;
    std::unique_ptr<RE2> re;
  };
  std::vector<Rx> rxs;
  const std::vector<std::string> shapes = {"\\b{w}\\s+{v}\\b",
                                           "{w}.{0,20}{v}",
                                           "{w}[ _-]?{v}",
                                           "(?:{w}|{v})s?\\b",
                                           "[0-9]{2,}\\s*{w}",
                                           "^{w}",
                                           "{w}$",
                                           "(?i){w}",
                                           "{w}\\W+{v}",
                                           "{w}(?:.{0,40}){v}",
                                           "\\Q{r}\\E[^a-z]{1,3}",
                                           "(?s){w}.*{v}"};
  for (uint32_t i = 0; i < 1000; ++i) {
    std::string p = shapes[rng() % shapes.size()];
    auto word = [&] { return RE2::QuoteMeta(vocab[rng() % vocab.size()]); };
    for (size_t at; (at = p.find("{w}")) != std::string::npos;) p.replace(at, 3, word());
    for (size_t at; (at = p.find("{v}")) != std::string::npos;) p.replace(at, 3, word());
    for (size_t at; (at = p.find("{r}")) != std::string::npos;) {
      p.replace(at, 3, vocab[rng() % vocab.size()]);  // raw inside \Q...\E
    }
    const bool icase = rng() % 4 == 0;
    RE2::Options o;
    o.set_case_sensitive(!icase);
    auto re = std::make_unique<RE2>(p, o);
    ASSERT_TRUE(re->ok()) << p;
    b.AddRegex(100000 + i, p, icase);
    rxs.push_back({100000 + i, std::move(re)});
  }
  auto m = Build(std::move(b));
  ASSERT_NE(m, nullptr);
  const TextMatcherStats st = m->stats();
  EXPECT_EQ(st.literals, 10000u);
  EXPECT_EQ(st.regexes, 1000u);
  EXPECT_GT(st.regexes_hyperscan, 900u) << st.regexes_fallback << " in the fallback";

  MatchScratch scratch;
  size_t total_hits = 0;
  for (int round = 0; round < 150; ++round) {
    const text::NormalizedText t = text::Normalize(RandomText(rng, 1 + rng() % 40));
    Hits want;
    for (const Lit& l : lits) Merge(&want, l.id, RefLiteral(t, l.folded, l.whole_word, l.anchor));
    for (const Rx& r : rxs) Merge(&want, r.id, RefRegex(*r.re, t.unfolded));
    const Hits got = Scan(*m, t, scratch);
    total_hits += got.size();
    ASSERT_EQ(got, want) << "text: " << t.unfolded << "\nfolded: " << t.folded;
  }
  EXPECT_GT(total_hits, 1000u);  // the test exercises matches, not only misses
}

// Random regexes over a tricky alphabet, each compared with RE2 on random texts: the
// translation to Hyperscan, the routing and the fallbacks must never change an answer.
class RegexGen {
 public:
  explicit RegexGen(uint32_t seed) : rng_(seed) {}

  std::string Regex(int depth = 0) {
    std::string out;
    const int alternatives = 1 + static_cast<int>(rng_() % (depth == 0 ? 2 : 3));
    for (int a = 0; a < alternatives; ++a) {
      if (a > 0) out += '|';
      const int pieces = 1 + static_cast<int>(rng_() % 4);
      for (int i = 0; i < pieces; ++i) out += Piece(depth);
    }
    return out;
  }

  std::string Text() {
    std::string s;
    const int n = static_cast<int>(rng_() % 24);
    for (int i = 0; i < n; ++i) s += Pick(kTextChars);
    if (rng_() % 4 == 0) {  // long runs, for the big counted repetitions
      const std::string chunk = s.substr(0, 1 + rng_() % 3);
      const int copies = static_cast<int>(rng_() % 120);
      for (int i = 0; i < copies; ++i) s += chunk;
      s += Pick(kTextChars);
    }
    return s;
  }

  uint32_t Next() { return rng_(); }

 private:
  static constexpr const char* kChars[] = {
      "a",       "b",     "c",     "A",   "B",   "k",   "s", "0", "7",   " ",   "é",   "É",   "в",
      "В",       "ß",     "ς",     "Σ",   "中",  "ア",  "ſ", "K", "ᲀ", "Ɪ", "\\.", "\\-", "\\n",
      "\\x{e9}", "\\x41", "\\101", "\\0", "\\v", "\\t", "-", "_", "#",   "\\{", "}",   "]"};
  static constexpr const char* kTextChars[] = {"a",
                                               "b",
                                               "c",
                                               "A",
                                               "B",
                                               "k",
                                               "K",
                                               "s",
                                               "S",
                                               "0",
                                               "7",
                                               " ",
                                               " ",
                                               "é",
                                               "É",
                                               "в",
                                               "В",
                                               "ᲀ",
                                               "ß",
                                               "ẞ",
                                               "ς",
                                               "σ",
                                               "Σ",
                                               "中",
                                               "ア",
                                               "ſ",
                                               "K",
                                               "ɪ",
                                               "Ɪ",
                                               "\n",
                                               "\v",
                                               "\t",
                                               "\r",
                                               "-",
                                               "_",
                                               "#",
                                               "{",
                                               "}",
                                               ".",
                                               "\x01",
                                               "\xF0\x9F\x98\x80"};
  static constexpr const char* kAtoms[] = {".",
                                           "\\s",
                                           "\\S",
                                           "\\d",
                                           "\\D",
                                           "\\w",
                                           "\\W",
                                           "\\b",
                                           "\\B",
                                           "^",
                                           "$",
                                           "\\A",
                                           "\\z",
                                           "[abc]",
                                           "[^a-c]",
                                           "[a-zé]",
                                           "[\\s\\d]",
                                           "[^\\S]",
                                           "[\\S]",
                                           "[[:alpha:]]",
                                           "[[:^space:]]",
                                           "[\\x{400}-\\x{4ff}]",
                                           "[-a]",
                                           "[]a]",
                                           "[^\\w\\s]",
                                           "\\Q.a\\E",
                                           "[[:upper:]]",
                                           "[[:word:]]",
                                           "\\pL",
                                           "\\p{Greek}",
                                           "\\C",
                                           "[k-s]",
                                           "a{,3}",
                                           "a{01}"};

  template <size_t N>
  const char* Pick(const char* const (&arr)[N]) {
    return arr[rng_() % N];
  }

  std::string Quantifier() {
    switch (rng_() % 12) {
      case 0:
        return "*";
      case 1:
        return "+";
      case 2:
        return "?";
      case 3:
        return "*?";
      case 4:
        return absl::StrCat("{", rng_() % 4, "}");
      case 5:
        return absl::StrCat("{", rng_() % 3, ",}");
      case 6: {
        const uint32_t lo = rng_() % 3;
        return absl::StrCat("{", lo, ",", lo + rng_() % 4, "}");
      }
      case 7: {
        const uint32_t lo = rng_() % 40;
        return absl::StrCat("{", lo, ",", lo + rng_() % 200, "}");
      }
      default:
        return "";
    }
  }

  std::string Piece(int depth) {
    std::string atom;
    const uint32_t kind = rng_() % 10;
    if (kind < 4) {
      atom = Pick(kChars);
    } else if (kind < 7) {
      atom = Pick(kAtoms);
    } else if (kind < 9 && depth < 3) {
      static constexpr const char* kOpen[] = {"(", "(?:", "(?i:", "(?P<n>", "(?s:", "(?-i:"};
      atom = absl::StrCat(Pick(kOpen), Regex(depth + 1), ")");
    } else {
      static constexpr const char* kFlags[] = {"(?i)", "(?s)", "(?m)", "(?U)", "(?-i)"};
      return Pick(kFlags);  // not quantifiable
    }
    return atom + Quantifier();
  }

  std::mt19937 rng_;
};

TEST(TextMatcherDifferentialTest, RandomRegexesAgreeWithRe2) {
  RegexGen gen(7);
  int compared = 0;
  int matched = 0;
  size_t fallback = 0;
  size_t widened = 0;
  for (int batch = 0; batch < 6; ++batch) {
    TextMatcherBuilder b;
    std::vector<std::pair<uint32_t, std::unique_ptr<RE2>>> refs;
    std::vector<std::string> sources;
    while (refs.size() < 150) {
      const std::string p = gen.Regex();
      const bool icase = gen.Next() % 3 == 0;
      RE2::Options o;
      o.set_case_sensitive(!icase);
      o.set_log_errors(false);
      auto re = std::make_unique<RE2>(p, o);
      if (!re->ok()) continue;
      const auto id = static_cast<uint32_t>(refs.size());
      b.AddRegex(id, p, icase);
      refs.emplace_back(id, std::move(re));
      sources.push_back(absl::StrCat("/", p, "/", icase ? "i" : ""));
    }
    auto m = Build(std::move(b));
    ASSERT_NE(m, nullptr);
    fallback += m->fallback_count();
    widened += m->stats().regexes_widened;
    MatchScratch scratch;
    for (int t = 0; t < 60; ++t) {
      const std::string text = gen.Text();
      const Hits got = Scan(*m, Raw(text, ""), scratch);
      for (const auto& [id, re] : refs) {
        const std::optional<Span> want = RefRegex(*re, text);
        auto it = got.find(id);
        const std::optional<Span> have =
            it == got.end() ? std::nullopt : std::optional<Span>(it->second);
        ASSERT_EQ(have, want) << sources[id] << " on \"" << text << "\"";
        ++compared;
        matched += want.has_value();
      }
    }
  }
  EXPECT_GT(matched, compared / 10);
  EXPECT_GT(fallback, 0u);
  EXPECT_GT(widened, 0u);
}

TEST(TextMatcherConcurrencyTest, TwoThreadsScanOneMatcher) {
  TextMatcherBuilder b;
  std::mt19937 rng(99);
  const auto& vocab = Vocabulary();
  for (uint32_t i = 0; i < 500; ++i) {
    b.AddLiteral(i, text::Fold(vocab[i % vocab.size()]), i % 2 == 0);
  }
  for (uint32_t i = 0; i < 50; ++i) {
    b.AddRegex(1000 + i, absl::StrCat(RE2::QuoteMeta(vocab[i % vocab.size()]), "\\W+\\w"),
               i % 2 == 0);
  }
  b.AddRegex(2000, "\\p{Han}+", false);  // fallback set, shared too
  auto m = Build(std::move(b));
  std::vector<text::NormalizedText> texts;
  for (int i = 0; i < 200; ++i) texts.push_back(text::Normalize(RandomText(rng, 30)));
  std::vector<Hits> expected;
  {
    MatchScratch scratch;
    for (const auto& t : texts) expected.push_back(Scan(*m, t, scratch));
  }
  std::vector<int> mismatches(2, 0);
  std::vector<std::thread> threads;
  for (int th = 0; th < 2; ++th) {
    threads.emplace_back([&, th] {
      MatchScratch scratch;  // one per thread
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t k = th == 0 ? i : texts.size() - 1 - i;
          Hits got;
          m->Scan(texts[k], scratch, [&](uint32_t id, uint32_t s, uint32_t e) {
            got.emplace(id, Span{s, e});
          });
          if (got != expected[k]) ++mismatches[th];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches[0], 0);
  EXPECT_EQ(mismatches[1], 0);
  size_t total = 0;
  for (const auto& h : expected) total += h.size();
  EXPECT_GT(total, 200u);
}

// ---------------------------------------------------------------------------------------------
// Scoped patterns and segmented scans (scoped_matcher.h): one matcher for a text of parts and
// for the fields that are its parts must report exactly what one matcher per field reports.

// A text joined from non-empty parts with '\x1e', as Activity::text is.
text::NormalizedText JoinParts(const std::vector<text::NormalizedText>& parts,
                               std::vector<TextSegment>* segments) {
  text::NormalizedText whole;
  segments->clear();
  for (const text::NormalizedText& p : parts) {
    if (p.unfolded.empty() && p.folded.empty()) continue;
    if (!segments->empty()) {
      whole.unfolded.push_back('\x1e');
      whole.folded.push_back('\x1e');
    }
    TextSegment seg;
    seg.folded_begin = static_cast<uint32_t>(whole.folded.size());
    seg.unfolded_begin = static_cast<uint32_t>(whole.unfolded.size());
    for (uint32_t b : p.folded_breaks) whole.folded_breaks.push_back(seg.folded_begin + b);
    whole.unfolded += p.unfolded;
    whole.folded += p.folded;
    seg.folded_end = static_cast<uint32_t>(whole.folded.size());
    seg.unfolded_end = static_cast<uint32_t>(whole.unfolded.size());
    segments->push_back(seg);
  }
  if (segments->empty()) segments->push_back(TextSegment{});
  return whole;
}

Hits ScanSeg(const TextMatcher& m, const text::NormalizedText& whole,
             const std::vector<TextSegment>& segments, bool whole_scope, MatchScratch& scratch) {
  Hits hits;
  ScanSegments(m, whole, segments, whole_scope, scratch,
               [&](uint32_t id, uint32_t start, uint32_t end) {
                 EXPECT_TRUE(hits.emplace(id, Span{start, end}).second) << "id " << id;
               });
  return hits;
}

TEST(ScopedTextMatcherTest, SegmentsMatchLikeOneMatcherPerField) {
  std::mt19937 rng(77);
  // Words with folding, ignorables (word breaks), spaceless scripts, case-unstable letters
  // (U+1C90 is the capital of U+10D0 only since Unicode 11) and digits.
  const std::vector<std::string> words = {"free",
                                          "FREE",
                                          "crypto",
                                          "cr\u200Bypto",
                                          "\uFF23\uFF32\uFF39\uFF30\uFF34\uFF2F",
                                          "stra\u00DFe",
                                          "strasse",
                                          "\u65E5\u672C",
                                          "\u8A9E",
                                          "coin",
                                          "coins",
                                          "x1",
                                          "x22",
                                          "na\u00EFve",
                                          "e\u0301t\u00E9",
                                          "\u1C90",
                                          "\u10D0",
                                          "a",
                                          "aa",
                                          "-",
                                          "!"};
  auto plain = [&](int max_words) {
    std::string s;
    const int n = static_cast<int>(rng() % (max_words + 1));
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&s, i == 0 ? "" : rng() % 4 == 0 ? "" : " ", words[rng() % words.size()]);
    }
    return s;
  };
  struct Lit {
    uint32_t id, scope;
    std::string folded;
    bool whole_word;
    Anchor anchor;
  };
  struct Rx {
    uint32_t id, scope;
    std::string pattern;
    bool icase;
  };
  // Scope-0 regexes never match '\x1e' (no `.`, \S, \W or negated class), so that the whole
  // text reference needs no part logic.
  const std::vector<std::string> regexes = {"^free",
                                            "crypto$",
                                            "\\bcoin\\b",
                                            "FREE\\s+crypto",
                                            "x\\d+",
                                            "\\p{Han}+",
                                            "a*",
                                            "^$",
                                            "\u10D0",
                                            "(?:coin|free)s?\\b",
                                            "stra(?:ss|\u00DF)e",
                                            "^\\p{Han}",
                                            "\\d$"};
  std::vector<Lit> lits;
  std::vector<Rx> rxs;
  ScopedTextMatcherBuilder scoped;
  uint32_t id = 0;
  for (uint32_t scope = 0; scope < 4; ++scope) {
    for (int i = 0; i < 40; ++i, ++id) {
      std::string folded = text::Fold(words[rng() % words.size()]);
      if (rng() % 3 == 0) folded = text::Fold(absl::StrCat(folded, " ", words[rng() % 5]));
      const bool whole_word = rng() % 2 == 0;
      const Anchor anchor = rng() % 4 == 0 ? static_cast<Anchor>(1 + rng() % 3) : Anchor::kNone;
      lits.push_back({id, scope, folded, whole_word, anchor});
      scoped.AddLiteral(id, folded, whole_word, anchor, scope);
    }
    lits.push_back({id, scope, "", false, Anchor::kWhole});  // `== ""`
    scoped.AddLiteral(id, "", false, Anchor::kWhole, scope);
    ++id;
    for (size_t i = 0; i < regexes.size(); ++i, ++id) {
      const bool icase = rng() % 3 == 0;
      rxs.push_back({id, scope, regexes[i], icase});
      scoped.AddRegex(id, regexes[i], icase, scope);
    }
  }
  absl::StatusOr<std::unique_ptr<const TextMatcher>> built = std::move(scoped).Build({});
  ASSERT_TRUE(built.ok()) << built.status();
  const TextMatcher& m = **built;
  // The reference: one plain matcher per scope.
  std::vector<std::unique_ptr<const TextMatcher>> alone;
  for (uint32_t scope = 0; scope < 4; ++scope) {
    TextMatcherBuilder b;
    for (const Lit& l : lits) {
      if (l.scope == scope) b.AddLiteral(l.id, l.folded, l.whole_word, l.anchor);
    }
    for (const Rx& r : rxs) {
      if (r.scope == scope) b.AddRegex(r.id, r.pattern, r.icase);
    }
    alone.push_back(Build(std::move(b)));
    ASSERT_NE(alone.back(), nullptr);
  }
  MatchScratch scratch, reference_scratch;
  size_t part_hits = 0, whole_hits = 0;
  for (int round = 0; round < 300; ++round) {
    // Parts: three part fields (scopes 1-3, any of them empty) and one more part of no field.
    std::vector<text::NormalizedText> parts;
    for (int k = 0; k < 4; ++k) {
      parts.push_back(text::Normalize(rng() % 4 == 0 ? std::string() : plain(6)));
    }
    std::vector<TextSegment> segments;
    text::NormalizedText whole = JoinParts(parts, &segments);
    // Scopes for the non-empty part fields, in order.
    Hits expected = Scan(*alone[0], whole, reference_scratch);
    whole_hits += expected.size();
    size_t seg = 0;
    for (uint32_t k = 0; k < 4; ++k) {
      if (parts[k].unfolded.empty() && parts[k].folded.empty()) {
        continue;
      }
      if (k < 3) segments[seg].scope = k + 1;
      ++seg;
    }
    for (uint32_t k = 0; k < 3; ++k) {
      const bool in_whole = !(parts[k].unfolded.empty() && parts[k].folded.empty());
      Hits part = Scan(*alone[k + 1], parts[k], reference_scratch);
      // A part field outside the whole text is scanned alone, with its scope only.
      if (!in_whole) {
        std::vector<TextSegment> own(1);
        own[0].folded_end = static_cast<uint32_t>(parts[k].folded.size());
        own[0].unfolded_end = static_cast<uint32_t>(parts[k].unfolded.size());
        own[0].scope = k + 1;
        EXPECT_EQ(ScanSeg(m, parts[k], own, /*whole_scope=*/false, scratch), part)
            << "part " << k << " alone: '" << parts[k].unfolded << "'";
        continue;
      }
      part_hits += part.size();
      expected.insert(part.begin(), part.end());
    }
    EXPECT_EQ(ScanSeg(m, whole, segments, /*whole_scope=*/true, scratch), expected)
        << "whole: '" << whole.unfolded << "'";
    // Each part field alone, as the evaluator scans one it could not find in the whole text.
    for (uint32_t k = 0; k < 3; ++k) {
      std::vector<TextSegment> own(1);
      own[0].folded_end = static_cast<uint32_t>(parts[k].folded.size());
      own[0].unfolded_end = static_cast<uint32_t>(parts[k].unfolded.size());
      own[0].scope = k + 1;
      EXPECT_EQ(ScanSeg(m, parts[k], own, /*whole_scope=*/false, scratch),
                Scan(*alone[k + 1], parts[k], reference_scratch))
          << "part " << k << ": '" << parts[k].unfolded << "'";
    }
    // The plain Scan sees only scope 0.
    EXPECT_EQ(Scan(m, whole, scratch), Scan(*alone[0], whole, reference_scratch));
  }
  EXPECT_GT(part_hits, 1000u);  // not vacuous
  EXPECT_GT(whole_hits, 300u);
}

TEST(ScopedTextMatcherTest, AnchorsBoundariesAndRegexesAreTakenAtTheSegmentEdges) {
  ScopedTextMatcherBuilder b;
  b.AddLiteral(1, "free", false, Anchor::kStart, 1);  // content startswith
  b.AddLiteral(2, "crypto", false, Anchor::kEnd, 1);  // content endswith
  b.AddLiteral(3, "coin", false, Anchor::kWhole, 2);  // summary == "coin"
  b.AddLiteral(4, "coin", true, Anchor::kNone, 2);    // summary has "coin"
  b.AddLiteral(5, "crypto", false, Anchor::kEnd, 0);  // text endswith: not at a part's end
  b.AddLiteral(6, "coin", false, Anchor::kStart, 0);  // text startswith: not at a part's start
  b.AddRegex(7, "crypto$", false, 1);                 // $ at the end of content
  b.AddRegex(8, "^coin", false, 2);                   // ^ at the start of summary
  b.AddRegex(9, "crypto$", false, 0);                 // $ only at the end of the whole text
  b.AddRegex(10, "o.c", false, 0);                    // spans the separator: whole-text RE2
  b.AddLiteral(11, "", false, Anchor::kWhole, 3);     // name == "" (no segment: nothing)
  absl::StatusOr<std::unique_ptr<const TextMatcher>> m = std::move(b).Build({});
  ASSERT_TRUE(m.ok()) << m.status();
  // content "free crypto", summary "coin", then an alt text "x".
  const text::NormalizedText whole =
      Raw("Free crypto\x1e"
          "coin\x1ex",
          "free crypto\x1e"
          "coin\x1ex");
  const std::vector<TextSegment> segments = {
      {0, 11, 0, 11, 1}, {12, 16, 12, 16, 2}, {17, 18, 17, 18, 0}};
  MatchScratch scratch;
  Hits hits = ScanSeg(**m, whole, segments, /*whole_scope=*/true, scratch);
  EXPECT_THAT(hits, ElementsAre(Pair(1, Span{0, 4}), Pair(2, Span{5, 11}), Pair(3, Span{0, 4}),
                                Pair(4, Span{0, 4}), Pair(7, Span{5, 11}), Pair(8, Span{0, 4})));
  // Without the whole scope, only the part fields count.
  hits = ScanSeg(**m, whole, segments, /*whole_scope=*/false, scratch);
  EXPECT_EQ(hits.count(5) + hits.count(6) + hits.count(9), 0u);
  EXPECT_EQ(hits.size(), 6u);
  // A scope given twice counts in its first segment only; ranges outside the text are ignored.
  const std::vector<TextSegment> odd = {
      {12, 16, 12, 16, 2}, {0, 11, 0, 11, 2}, {17, 99, 17, 99, 1}, {0, 11, 0, 11, 9}};
  hits = ScanSeg(**m, whole, odd, /*whole_scope=*/false, scratch);
  EXPECT_THAT(hits, ElementsAre(Pair(3, Span{0, 4}), Pair(4, Span{0, 4}), Pair(8, Span{0, 4})));
}

TEST(ScopedTextMatcherTest, BuildErrors) {
  {
    ScopedTextMatcherBuilder b;
    b.AddLiteral(1, "a", false, Anchor::kNone, kMaxScopes);
    absl::StatusOr<std::unique_ptr<const TextMatcher>> m = std::move(b).Build({});
    EXPECT_FALSE(m.ok());
  }
  {
    ScopedTextMatcherBuilder b;
    b.AddLiteral(1, "a", false, Anchor::kNone, 1);
    b.AddLiteral(1, "b", false, Anchor::kNone, 2);
    absl::StatusOr<std::unique_ptr<const TextMatcher>> m = std::move(b).Build({});
    ASSERT_FALSE(m.ok());
    EXPECT_THAT(m.status().message(), HasSubstr("two scopes"));
  }
  {
    ScopedTextMatcherBuilder b;
    b.AddLiteral(1, "a", false, Anchor::kNone, 1);
    b.AddRegex(1, "b", false, 1);
    EXPECT_FALSE(std::move(b).Build({}).ok());
  }
}

}  // namespace
}  // namespace fedwall::match
