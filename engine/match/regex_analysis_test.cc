// Tests of the internals of engine/match: the RE2 -> Hyperscan translation, the Unicode
// helpers, and the facts about the installed Hyperscan and RE2 that they rely on.
#include "engine/match/regex_analysis.h"

#include <gtest/gtest.h>
#include <hs/hs.h>
#include <re2/re2.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <string>
#include <vector>

#include "engine/match/unicode_props.h"

namespace fedwall::match::internal {
namespace {

std::string Utf8(char32_t c) {
  char buf[4];
  int32_t n = 0;
  U8_APPEND_UNSAFE(buf, n, static_cast<UChar32>(c));
  return std::string(buf, static_cast<size_t>(n));
}

TEST(AnalyzeRegexTest, SpellsOutEscapesAndPunctuation) {
  RegexAnalysis a = AnalyzeRegex("a.b\\.c", false);
  EXPECT_EQ(a.hs_refusal, "");
  EXPECT_EQ(a.hs_pattern, "a.b\\x{2E}c");
  EXPECT_FALSE(a.widened);
  EXPECT_FALSE(a.caseless);

  EXPECT_EQ(AnalyzeRegex("\\x41\\x{1F600}\\101\\0\\n", false).hs_pattern,
            "\\x{41}\\x{1F600}\\x{41}\\x{0}\\x{A}");
  EXPECT_EQ(AnalyzeRegex("\\s\\S", false).hs_pattern,
            "[\\x{9}\\x{A}\\x{C}\\x{D}\\x{20}][^\\x{9}\\x{A}\\x{C}\\x{D}\\x{20}]");
  EXPECT_EQ(AnalyzeRegex("\\bfoo\\B\\d\\w\\A\\z", false).hs_pattern, "\\bfoo\\B\\d\\w\\A\\z");
  // A NUL byte in the pattern cannot reach Hyperscan's NUL-terminated API as is.
  EXPECT_EQ(AnalyzeRegex(std::string("a\0b", 3), false).hs_pattern, "a\\x{0}b");
}

TEST(AnalyzeRegexTest, LiteralBracesAsRe2ReadsThem) {
  // RE2: `{,3}` and `{01}` are literals, `{2}` a repetition.
  EXPECT_EQ(AnalyzeRegex("a{,3}", false).hs_pattern, "a\\x{7B}\\x{2C}3\\x{7D}");
  EXPECT_EQ(AnalyzeRegex("a{01}", false).hs_pattern, "a\\x{7B}01\\x{7D}");
  EXPECT_EQ(AnalyzeRegex("a{2}b{2,}c{2,3}", false).hs_pattern, "a{2}b{2,}c{2,3}");
}

TEST(AnalyzeRegexTest, QuoteGroupsAndFlags) {
  EXPECT_EQ(AnalyzeRegex("\\Qa.b\\E+", false).hs_pattern, "a\\x{2E}b+");
  EXPECT_EQ(AnalyzeRegex("(?P<word>ab)(?:c)(d)", false).hs_pattern, "(?:ab)(?:c)(d)");
  RegexAnalysis a = AnalyzeRegex("(?U)a+(?sU:b)(?-U)c", false);
  EXPECT_EQ(a.hs_refusal, "");
  EXPECT_EQ(a.hs_pattern, "a+(?s:b)c");
  EXPECT_FALSE(a.caseless);
  EXPECT_TRUE(AnalyzeRegex("a(?i)b", false).caseless);
  EXPECT_TRUE(AnalyzeRegex("(?mi:b)", false).caseless);
  EXPECT_FALSE(AnalyzeRegex("(?-i:b)", false).caseless);
  EXPECT_TRUE(AnalyzeRegex("b", true).caseless);
}

TEST(AnalyzeRegexTest, Classes) {
  EXPECT_EQ(AnalyzeRegex("[a-c]", false).hs_pattern, "[\\x{61}-\\x{63}]");
  EXPECT_EQ(AnalyzeRegex("[]a-]", false).hs_pattern, "[\\x{5D}\\x{61}\\x{2D}]");
  EXPECT_EQ(AnalyzeRegex("[^\\d-z]", false).hs_pattern, "[^\\d\\x{2D}\\x{7A}]");
  EXPECT_EQ(AnalyzeRegex("[[:alpha:]_]", false).hs_pattern, "[[:alpha:]\\x{5F}]");
  EXPECT_EQ(AnalyzeRegex("[\\s]", false).hs_pattern, "[\\x{9}\\x{A}\\x{C}\\x{D}\\x{20}]");
  EXPECT_EQ(AnalyzeRegex("[\\S]", false).hs_pattern, "[\\S\\x{B}]");
  EXPECT_EQ(AnalyzeRegex("[^\\S]", false).hs_pattern, "[^\\S]");
  EXPECT_EQ(AnalyzeRegex("[а-я]", false).hs_pattern, "[\\x{430}-\\x{44F}]");
}

TEST(AnalyzeRegexTest, WidensLargeRepeats) {
  RegexAnalysis a = AnalyzeRegex("a.{0,200}b.{0,200}c", false);
  EXPECT_TRUE(a.widened);
  EXPECT_EQ(a.hs_pattern, "a.{0,}b.{0,}c");
  a = AnalyzeRegex("x{1000}", false);
  EXPECT_EQ(a.hs_pattern, "x{16,}");
  // Nested: the inner repeat fits, the outer one multiplies it past the budget.
  a = AnalyzeRegex("(?:[a-z]{2,6}\\.){3}", false);
  EXPECT_EQ(a.hs_pattern, "(?:[\\x{61}-\\x{7A}]{2,6}\\x{2E}){2,}");
  EXPECT_TRUE(a.widened);
  // Small repeats stay exact.
  a = AnalyzeRegex("\\d{3}-\\d{4}", false);
  EXPECT_FALSE(a.widened);
  EXPECT_EQ(a.hs_pattern, "\\d{3}\\x{2D}\\d{4}");
  // The total budget: later repeats are widened once it is spent.
  a = AnalyzeRegex("a{16}b{16}c{16}d{16}", false);
  EXPECT_EQ(a.hs_pattern, "a{16}b{16}c{16}d{16,}");
}

TEST(AnalyzeRegexTest, Refusals) {
  EXPECT_NE(AnalyzeRegex("\\pL", false).hs_refusal, "");
  EXPECT_NE(AnalyzeRegex("[\\p{Greek}a]", false).hs_refusal, "");
  EXPECT_NE(AnalyzeRegex("\\P{Han}", false).hs_refusal, "");
  EXPECT_NE(AnalyzeRegex("a\\Cb", false).hs_refusal, "");
  EXPECT_EQ(AnalyzeRegex("a\\\\Cb", false).hs_refusal, "");  // an escaped backslash, then C
}

TEST(AnalyzeRegexTest, MentionsCaseUnstable) {
  EXPECT_FALSE(AnalyzeRegex("привет", true).mentions_case_unstable);
  EXPECT_TRUE(AnalyzeRegex("\\x{1C80}", true).mentions_case_unstable);
  EXPECT_TRUE(AnalyzeRegex("[\\x{1C00}-\\x{1CFF}]", true).mentions_case_unstable);
  EXPECT_TRUE(AnalyzeRegex("[a-\\x{10FFFF}]", true).mentions_case_unstable);
  EXPECT_TRUE(AnalyzeRegex(Utf8(0xA7AE), true).mentions_case_unstable);
  EXPECT_FALSE(AnalyzeRegex("[a-z]", true).mentions_case_unstable);
}

TEST(UnicodePropsTest, Decoding) {
  const std::string s =
      "a\xC3\xA9"
      "\xE4\xB8\xAD"
      "\xF0\x9F\x98\x80";  // a é 中 😀
  EXPECT_EQ(CodePointAt(s, 0), U'a');
  EXPECT_EQ(CodePointAt(s, 1), U'\u00E9');
  EXPECT_EQ(CodePointAt(s, 3), U'\u4E2D');
  EXPECT_EQ(CodePointAt(s, 6), U'\U0001F600');
  EXPECT_EQ(CodePointAt(s, 2), kReplacementChar);  // a continuation byte
  EXPECT_EQ(CodePointBefore(s, 1), U'a');
  EXPECT_EQ(CodePointBefore(s, 3), U'\u00E9');
  EXPECT_EQ(CodePointBefore(s, 6), U'\u4E2D');
  EXPECT_EQ(CodePointBefore(s, 10), U'\U0001F600');
  EXPECT_EQ(CodePointBefore(s, 9), kReplacementChar);  // inside the emoji
  EXPECT_EQ(CodePointBefore("\xC3", 1), kReplacementChar);
  EXPECT_EQ(CodePointAt("\xED\xA0\x80", 0), kReplacementChar);  // a surrogate
  EXPECT_EQ(CodePointAt("\xC0\x80", 0), kReplacementChar);      // overlong
  EXPECT_TRUE(ScanUtf8(s, false).valid);
  EXPECT_FALSE(ScanUtf8("abc\xFF", false).valid);
  EXPECT_FALSE(ScanUtf8("abcdefghijk\xE4\xB8", false).valid);
}

TEST(UnicodePropsTest, WordCharsAndScripts) {
  EXPECT_TRUE(IsWordChar(U'a'));
  EXPECT_TRUE(IsWordChar(U'7'));
  EXPECT_FALSE(IsWordChar(U'_'));
  EXPECT_FALSE(IsWordChar(U'-'));
  EXPECT_TRUE(IsWordChar(U'\u00E9'));
  EXPECT_TRUE(IsWordChar(U'\u0416'));   // Ж
  EXPECT_TRUE(IsWordChar(U'\u094D'));   // Devanagari virama (Mn)
  EXPECT_TRUE(IsWordChar(U'\u0663'));   // Arabic-Indic three
  EXPECT_FALSE(IsWordChar(U'\u3002'));  // ideographic full stop
  EXPECT_FALSE(IsWordChar(kReplacementChar));
  EXPECT_TRUE(IsSpacelessScript(U'\u4E2D'));  // 中
  EXPECT_TRUE(IsSpacelessScript(U'\u3042'));  // あ
  EXPECT_TRUE(IsSpacelessScript(U'\u30A2'));  // ア
  EXPECT_TRUE(IsSpacelessScript(U'\u30FC'));  // ー (Common, scx Hira Kana)
  EXPECT_TRUE(IsSpacelessScript(U'\u0E01'));  // Thai
  EXPECT_TRUE(IsSpacelessScript(U'\u0E81'));  // Lao
  EXPECT_TRUE(IsSpacelessScript(U'\u1780'));  // Khmer
  EXPECT_TRUE(IsSpacelessScript(U'\u1000'));  // Myanmar
  EXPECT_FALSE(IsSpacelessScript(U'a'));
  EXPECT_FALSE(IsSpacelessScript(U'\uAC00'));  // Hangul is written with spaces
  EXPECT_FALSE(IsSpacelessScript(U'\u0416'));
}

TEST(UnicodePropsTest, CaseUnstable) {
  EXPECT_TRUE(IsCaseUnstable(0x1C80));   // Cyrillic rounded ve (Unicode 9)
  EXPECT_TRUE(IsCaseUnstable(0x1C90));   // Georgian Mtavruli (Unicode 11)
  EXPECT_TRUE(IsCaseUnstable(0xAB70));   // Cherokee small a (Unicode 8)
  EXPECT_TRUE(IsCaseUnstable(0x104B0));  // Osage (Unicode 9)
  EXPECT_TRUE(IsCaseUnstable(0x17F));
  EXPECT_TRUE(IsCaseUnstable(0x212A));
  EXPECT_FALSE(IsCaseUnstable(U'k'));
  EXPECT_FALSE(IsCaseUnstable(0x432));  // в
  EXPECT_FALSE(IsCaseUnstable(0x4E2D));
  EXPECT_FALSE(IsCaseUnstable(0x1F600));  // emoji: new, but without case
  EXPECT_TRUE(RangeHasCaseUnstable(0x1C00, 0x1CFF));
  EXPECT_FALSE(RangeHasCaseUnstable(0x400, 0x4FF));
  EXPECT_TRUE(ScanUtf8("abc \xE1\xB2\x80", true).has_case_unstable);
  EXPECT_FALSE(ScanUtf8("abc \xD0\xB2", true).has_case_unstable);
}

// ---------------------------------------------------------------------------------------------
// The assumptions, checked against the installed libraries. If Hyperscan or RE2 change (another
// version, vectorscan), these say so before a rule silently stops matching.

struct HsHits {
  std::vector<std::vector<size_t>> by_pattern;  // pattern -> end offsets
};

int CollectHit(unsigned int id, unsigned long long /*from*/, unsigned long long to,
               unsigned int /*flags*/, void* ctx) {
  static_cast<HsHits*>(ctx)->by_pattern[id].push_back(static_cast<size_t>(to));
  return 0;
}

// Scans `text` with `patterns` compiled together (UTF-8, optionally caseless).
HsHits HsScanAll(const std::vector<std::string>& patterns, unsigned int flags,
                 const std::string& text) {
  std::vector<const char*> exprs;
  std::vector<unsigned int> fl;
  std::vector<unsigned int> ids;
  for (size_t i = 0; i < patterns.size(); ++i) {
    exprs.push_back(patterns[i].c_str());
    fl.push_back(HS_FLAG_UTF8 | flags);
    ids.push_back(static_cast<unsigned int>(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  HsHits hits;
  hits.by_pattern.resize(patterns.size());
  if (hs_compile_multi(exprs.data(), fl.data(), ids.data(), static_cast<unsigned int>(exprs.size()),
                       HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    ADD_FAILURE() << "hs_compile_multi: " << (err ? err->message : "?");
    hs_free_compile_error(err);
    return hits;
  }
  hs_scratch_t* scratch = nullptr;
  EXPECT_EQ(hs_alloc_scratch(db, &scratch), HS_SUCCESS);
  EXPECT_EQ(hs_scan(db, text.data(), static_cast<unsigned int>(text.size()), 0, scratch,
                    &CollectHit, &hits),
            HS_SUCCESS);
  hs_free_scratch(scratch);
  hs_free_database(db);
  return hits;
}

// Every case-sensitive code point, once, each followed by a space; `owner[end]` says which
// code point ends at byte `end`.
struct CodePointText {
  std::string text;
  std::vector<char32_t> owner;
};
CodePointText AllCodePoints(bool (*keep)(UChar32)) {
  CodePointText t;
  for (UChar32 c = 0; c <= 0x10FFFF; ++c) {
    if (c == 0xD800) c = 0xE000;
    if (!keep(c)) continue;
    t.text += Utf8(static_cast<char32_t>(c));
    t.owner.resize(t.text.size() + 1, 0);
    t.owner[t.text.size()] = static_cast<char32_t>(c);
    t.text += ' ';
  }
  t.owner.resize(t.text.size() + 1, 0);
  return t;
}

bool CaseSensitive(UChar32 c) {
  return c != ' ' && (u_hasBinaryProperty(c, UCHAR_CASE_SENSITIVE) ||
                      u_hasBinaryProperty(c, UCHAR_CHANGES_WHEN_CASEFOLDED));
}

// On code points that are not case-unstable, a caseless single-character pattern matches the
// same code points in Hyperscan as in RE2 (Hyperscan may only ever match more).
TEST(LibraryAssumptionsTest, CaselessLiteralsAgreeOnStableCodePoints) {
  const CodePointText all = AllCodePoints(&CaseSensitive);
  std::vector<char32_t> chars;
  std::vector<std::string> patterns;
  for (size_t end = 0; end < all.owner.size(); ++end) {
    const char32_t c = all.owner[end];
    if (c == 0 || IsCaseUnstable(c)) continue;
    chars.push_back(c);
    char buf[24];
    std::snprintf(buf, sizeof(buf), "\\x{%X}", static_cast<unsigned>(c));
    patterns.push_back(buf);
  }
  ASSERT_GT(patterns.size(), 2000u);
  const HsHits hs = HsScanAll(patterns, HS_FLAG_CASELESS, all.text);
  int misses = 0;
  for (size_t i = 0; i < patterns.size() && misses < 10; ++i) {
    RE2::Options o;
    o.set_case_sensitive(false);
    RE2 re(patterns[i], o);
    ASSERT_TRUE(re.ok());
    re2::StringPiece in(all.text);
    re2::StringPiece m;
    size_t pos = 0;
    while (pos < all.text.size() &&
           re.Match(all.text, pos, all.text.size(), RE2::UNANCHORED, &m, 1)) {
      const size_t end = static_cast<size_t>(m.data() - all.text.data()) + m.size();
      const char32_t t = all.owner[end];
      const auto& got = hs.by_pattern[i];
      if (!IsCaseUnstable(t) && std::find(got.begin(), got.end(), end) == got.end()) {
        ADD_FAILURE() << "RE2 (?i)U+" << std::hex << static_cast<unsigned>(chars[i])
                      << " matches U+" << static_cast<unsigned>(t) << ", Hyperscan does not";
        ++misses;
      }
      pos = end;
    }
  }
}

bool AnyAssigned(UChar32 c) { return c != ' ' && u_charType(c) != U_UNASSIGNED; }

// The same for classes, in both case modes: over every assigned code point that is not
// case-unstable, Hyperscan (given the translated pattern) matches at least what RE2 matches.
TEST(LibraryAssumptionsTest, ClassesAgreeOnStableCodePoints) {
  const CodePointText all = AllCodePoints(&AnyAssigned);
  const std::vector<std::string> regexes = {".",
                                            "\\w",
                                            "\\W",
                                            "\\d",
                                            "\\D",
                                            "\\s",
                                            "\\S",
                                            "[^a]",
                                            "[[:alpha:]]",
                                            "[[:^alpha:]]",
                                            "[[:upper:]]",
                                            "[[:lower:]]",
                                            "[[:^upper:]]",
                                            "[[:word:]]",
                                            "[[:space:]]",
                                            "[[:punct:]]",
                                            "[[:^print:]]",
                                            "[a-z]",
                                            "[^a-z]",
                                            "[\\x{400}-\\x{4FF}]",
                                            "[^\\S]",
                                            "[\\S]",
                                            "[^\\d\\s]",
                                            "(?s:.)",
                                            "\\x{DF}",
                                            "[\\x{370}-\\x{3FF}]",
                                            "[^\\x{370}-\\x{3FF}]",
                                            "[k]",
                                            "[s]",
                                            "[\\x{C5}]"};
  for (bool caseless : {false, true}) {
    std::vector<std::string> translated;
    for (const std::string& r : regexes) {
      RegexAnalysis a = AnalyzeRegex(r, caseless);
      ASSERT_EQ(a.hs_refusal, "") << r;
      translated.push_back(a.hs_pattern);
    }
    const HsHits hs = HsScanAll(translated, caseless ? HS_FLAG_CASELESS : 0, all.text);
    for (size_t i = 0; i < regexes.size(); ++i) {
      RE2::Options o;
      o.set_case_sensitive(!caseless);
      RE2 re(regexes[i], o);
      ASSERT_TRUE(re.ok()) << regexes[i];
      // Every character RE2 matches must end at a Hyperscan hit.
      std::vector<size_t> got = hs.by_pattern[i];
      std::sort(got.begin(), got.end());
      int misses = 0;
      int matched = 0;
      for (size_t end = 1; end < all.owner.size() && misses < 5; ++end) {
        const char32_t c = all.owner[end];
        if (c == 0 || IsCaseUnstable(c)) continue;
        if (!RE2::FullMatch(Utf8(c), re)) continue;
        ++matched;
        if (!std::binary_search(got.begin(), got.end(), end)) {
          ADD_FAILURE() << "/" << regexes[i] << "/" << (caseless ? "i" : "") << " U+" << std::hex
                        << static_cast<unsigned>(c) << ": RE2 matches, Hyperscan does not";
          ++misses;
        }
      }
      EXPECT_GT(matched, 0) << regexes[i];
    }
  }
}

}  // namespace
}  // namespace fedwall::match::internal
