#include "engine/text/normalize.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/text/normalize_internal.h"
#include "engine/text/tables.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::text {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Utf8(char32_t c) {
  char buf[4];
  int32_t n = 0;
  U8_APPEND_UNSAFE(buf, n, static_cast<UChar32>(c));
  return std::string(buf, static_cast<size_t>(n));
}

// Checks the invariants of Fold's offsets for `unfolded`.
void ExpectOffsetsWellFormed(std::string_view unfolded) {
  std::vector<uint32_t> offsets;
  std::string folded = Fold(unfolded, &offsets);
  ASSERT_EQ(offsets.size(), folded.size() + 1) << unfolded;
  EXPECT_EQ(offsets.back(), unfolded.size()) << unfolded;
  for (size_t i = 0; i < folded.size(); ++i) {
    EXPECT_LE(offsets[i], offsets[i + 1]) << unfolded << " at " << i;
    ASSERT_LT(offsets[i], unfolded.size()) << unfolded << " at " << i;
    // Every offset is the start of a character.
    EXPECT_NE(static_cast<unsigned char>(unfolded[offsets[i]]) & 0xC0, 0x80)
        << unfolded << " at " << i;
  }
}

// ---------------------------------------------------------------------------------------
// Evasion: what a sender writes -> the folded text literal operators see.

struct FoldCase {
  const char* name;
  std::string input;
  std::string folded;
};

std::vector<FoldCase> EvasionCases() {
  return {
      {"upper case", "FREE CRYPTO", "free crypto"},
      {"mixed case", "FrEe CrYpTo", "free crypto"},
      {"fullwidth", "\uFF46\uFF52\uFF45\uFF45 \uFF43\uFF52\uFF59\uFF50\uFF54\uFF4F", "free crypto"},
      {"fullwidth upper, ideographic space",
       "\uFF26\uFF32\uFF25\uFF25\u3000\uFF23\uFF32\uFF39\uFF30\uFF34\uFF2F", "free crypto"},
      {"zero-width space in word", "fr\u200Bee crypto", "free crypto"},
      {"zero-width joiner and non-joiner", "f\u200Dr\u200Cee", "free"},
      {"soft hyphen", "fr\u00ADee cryp\u00ADto", "free crypto"},
      {"word joiner", "fr\u2060ee", "free"},
      {"byte order mark", "\uFEFFfree", "free"},
      {"bidi override", "\u202Efree\u202C crypto", "free crypto"},
      {"bidi isolates", "\u2066free\u2069 \u2067crypto\u2069", "free crypto"},
      {"LRM and RLM", "fr\u200Eee cr\u200Fypto", "free crypto"},
      {"variation selector", "fre\uFE0Fe", "free"},
      {"combining grapheme joiner", "fr\u034Fee", "free"},
      {"tag characters", "fr\U000E0041ee", "free"},
      {"Mongolian vowel separator", "fr\u180Eee", "free"},
      {"control characters",
       "fr\x01"
       "ee\x7F crypto",
       "free crypto"},
      {"Cyrillic ie", "fr\u0435\u0435 crypto", "free crypto"},
      {"Cyrillic paypal", "\u0440\u0430\u0443\u0440\u0430l", "paypal"},
      {"Cyrillic upper case", "\u0420\u0410\u0423\u0420\u0410L", "paypal"},
      {"Greek omicron", "g\u03BF\u03BFgle", "google"},
      {"Greek alpha and nu", "\u03B1ir\u03BDrop", "airvrop"},
      {"Cyrillic dotted i", "b\u0456tcoin", "bitcoin"},
      {"dotless i", "b\u0131tcoin", "bitcoin"},
      {"mathematical bold", "\U0001D41F\U0001D42B\U0001D41E\U0001D41E", "free"},
      {"mathematical bold upper", "\U0001D405\U0001D411\U0001D404\U0001D404", "free"},
      {"mathematical sans italic", "\U0001D627\U0001D633\U0001D626\U0001D626", "free"},
      {"mathematical double-struck", "\U0001D557\U0001D563\U0001D556\U0001D556", "free"},
      {"mathematical monospace digits", "\U0001D7F7\U0001D7F6\U0001D7F6", "100"},
      {"circled letters", "\u24D5\u24E1\u24D4\u24D4", "free"},
      {"circled upper letters", "\u24BB\u24C7\u24BA\u24BA", "free"},
      {"superscript letters", "\u1DA0\u02B3\u1D49\u1D49", "free"},
      {"ligature fi", "\uFB01nd", "find"},
      {"sharp s", "Stra\u00DFe", "strasse"},
      {"capital sharp s", "STRA\u1E9EE", "strasse"},
      {"long s", "fir\u017Ft", "first"},
      {"combining acute composes", "cafe\u0301", "caf\u00E9"},
      {"precomposed stays", "caf\u00E9", "caf\u00E9"},
      {"ignorable between base and mark", "cafe\u200B\u0301", "caf\u00E9"},
      {"multiple spaces", "free   crypto", "free crypto"},
      {"tabs and newlines", "free\t\n\r\n crypto", "free crypto"},
      {"no-break space", "free\u00A0crypto", "free crypto"},
      {"em space and thin space", "free\u2003\u2009crypto", "free crypto"},
      {"braille blank", "free\u2800crypto", "free crypto"},
      {"hangul filler", "free\u3164crypto", "free crypto"},
      {"halfwidth hangul filler", "free\uFFA0crypto", "free crypto"},
      {"hangul choseong filler", "free\u115Fcrypto", "free crypto"},
      {"trimmed", " \u2800 free crypto \u3164\n", "free crypto"},
      {"curly apostrophe", "don\u2019t", "don't"},
      {"curly quotes", "\u201Cfree\u201D", "\"free\""},
      {"ASCII m is not rn", "pom", "pom"},
      {"ASCII rn stays", "corn", "corn"},
      {"ASCII digits and letters", "CS101", "cs101"},
      {"zero stays", "0", "0"},
      {"one stays", "1", "1"},
      {"l stays", "l", "l"},
      {"I only lower-cased", "I", "i"},
      {"ASCII punctuation stays", "a|b `c` 1,000.5%", "a|b `c` 1,000.5%"},
      {"empty", "", ""},
      {"only ignorables", "\u200B\u200D\u00AD", ""},
  };
}

TEST(NormalizeTest, EvasionTable) {
  for (const FoldCase& c : EvasionCases()) {
    SCOPED_TRACE(c.name);
    NormalizedText t = Normalize(c.input);
    EXPECT_EQ(t.folded, c.folded);
    EXPECT_EQ(Fold(Unfold(c.input)), c.folded);
    EXPECT_EQ(t.unfolded, Unfold(c.input));
    // Folding is idempotent, so patterns folded at compile time match folded text.
    EXPECT_EQ(Fold(t.folded), t.folded);
    EXPECT_TRUE(IsValidUtf8(t.unfolded));
    EXPECT_TRUE(IsValidUtf8(t.folded));
    ExpectOffsetsWellFormed(t.unfolded);
  }
}

TEST(NormalizeTest, SpecExamplesAllFoldToTheSamePattern) {
  const std::string pattern = Fold("free crypto");
  EXPECT_EQ(pattern, "free crypto");
  for (const char* text :
       {"FREE CRYPTO", "\uFF46\uFF52\uFF45\uFF45 \uFF43\uFF52\uFF59\uFF50\uFF54\uFF4F",
        "fr\u200Bee crypto", "free  crypto", "fr\u0435\u0435 crypto"}) {
    EXPECT_EQ(Normalize(text).folded, pattern) << text;
  }
}

TEST(NormalizeTest, HeaderExample) {
  NormalizedText t = Normalize(HtmlToText("<p>FREE&nbsp;cr&#x443;pto</p>"));
  EXPECT_EQ(t.unfolded, "FREE cr\u0443pto");
  EXPECT_EQ(t.folded, "free crypto");
}

TEST(NormalizeTest, UnfoldKeepsCaseAndLookAlikes) {
  EXPECT_EQ(Unfold("FREE  Crypto\u200B"), "FREE Crypto");
  EXPECT_EQ(Unfold("fr\u0435\u0435"), "fr\u0435\u0435");  // homoglyphs are a Fold matter
  EXPECT_EQ(Unfold("\uFF26\uFF32\uFF25\uFF25"), "FREE");  // NFKC
  EXPECT_EQ(Unfold("\uFB01"), "fi");
  EXPECT_EQ(Unfold("\u2460"), "1");  // circled digit one
  EXPECT_EQ(Unfold("e\u200B\u0301"), "\u00E9");
  EXPECT_EQ(Unfold("line one\nline two\n\nthree"), "line one line two three");
  EXPECT_EQ(Unfold(" \n\t "), "");
  EXPECT_EQ(Unfold("\u00A8"), "\u0308");  // NFKC " \u0308", then trimmed
  EXPECT_EQ(Unfold("a\u00A8"), "a \u0308");
  EXPECT_EQ(Unfold("\u2800\u3164"), "");
}

TEST(NormalizeTest, AsciiIsNeverRemapped) {
  // Every printable ASCII character folds to itself, lower-cased.
  for (char c = 0x20 + 1; c < 0x7F; ++c) {
    std::string s(1, c);
    std::string expected(1, (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
    EXPECT_EQ(Fold(s), expected) << s;
    EXPECT_EQ(Fold("x" + s + "x"), "x" + expected + "x") << s;
  }
  EXPECT_TRUE(internal::ConfusableReplacement('m').empty());
  EXPECT_TRUE(internal::ConfusableReplacement('0').empty());
}

TEST(NormalizeTest, ConfusablesOnlyInFoldNotInCaseFold) {
  EXPECT_EQ(CaseFold("\u0440\u0430\u0443\u0440\u0430l"), "\u0440\u0430\u0443\u0440\u0430l");
  EXPECT_EQ(Fold("\u0440\u0430\u0443\u0440\u0430l"), "paypal");
}

TEST(NormalizeTest, CaseFold) {
  EXPECT_EQ(CaseFold("Fediverse"), "fediverse");
  EXPECT_EQ(CaseFold("\u00C9COLE"), "\u00E9cole");
  EXPECT_EQ(CaseFold("\uFF26\uFF25\uFF24\uFF29"), "fedi");
  EXPECT_EQ(CaseFold("Stra\u00DFe"), "strasse");
  EXPECT_EQ(CaseFold("\u03A3\u039F\u03A3"), "\u03C3\u03BF\u03C3");
  EXPECT_EQ(CaseFold("a\u200Bb"), "ab");  // NFKC_Casefold removes default ignorables
  EXPECT_EQ(CaseFold(""), "");
  EXPECT_EQ(CaseFold("a\xFF"), "a\uFFFD");
}

// ---------------------------------------------------------------------------------------
// Offsets and breaks

TEST(FoldOffsetsTest, Ascii) {
  std::vector<uint32_t> offsets;
  EXPECT_EQ(Fold("ABC", &offsets), "abc");
  EXPECT_THAT(offsets, ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(Fold("", &offsets), "");
  EXPECT_THAT(offsets, ElementsAre(0));
}

TEST(FoldOffsetsTest, ExpansionSharpS) {
  std::vector<uint32_t> offsets;
  // S t r a ß(2 bytes) e -> s t r a s s e
  EXPECT_EQ(Fold("Stra\u00DFe", &offsets), "strasse");
  EXPECT_THAT(offsets, ElementsAre(0, 1, 2, 3, 4, 4, 6, 7));
  // U+1E9E is 3 bytes and becomes "ss".
  EXPECT_EQ(Fold("\u1E9Ex", &offsets), "ssx");
  EXPECT_THAT(offsets, ElementsAre(0, 0, 3, 4));
  EXPECT_EQ(Fold("\uFB01", &offsets), "fi");
  EXPECT_THAT(offsets, ElementsAre(0, 0, 3));
}

TEST(FoldOffsetsTest, Contraction) {
  std::vector<uint32_t> offsets;
  // Cyrillic ie (2 bytes) -> "e" (1 byte).
  EXPECT_EQ(Fold("fr\u0435e", &offsets), "free");
  EXPECT_THAT(offsets, ElementsAre(0, 1, 2, 4, 5));
  // Fullwidth (3 bytes each) -> ASCII.
  EXPECT_EQ(Fold("\uFF21\uFF22", &offsets), "ab");
  EXPECT_THAT(offsets, ElementsAre(0, 3, 6));
}

TEST(FoldOffsetsTest, Composition) {
  std::vector<uint32_t> offsets;
  // e + U+0301 (3 bytes) compose to é (2 bytes), credited to the 'e'.
  EXPECT_EQ(Fold("e\u0301x", &offsets), "\u00E9x");
  EXPECT_THAT(offsets, ElementsAre(0, 0, 3, 4));
  EXPECT_EQ(Fold("E\u0301\u0420", &offsets), "\u00E9p");
  EXPECT_THAT(offsets, ElementsAre(0, 0, 3, 5));
}

TEST(FoldOffsetsTest, UnchangedNonAsciiMapsToCharacterStart) {
  std::vector<uint32_t> offsets;
  EXPECT_EQ(Fold("\u65E5\u672C", &offsets), "\u65E5\u672C");
  EXPECT_THAT(offsets, ElementsAre(0, 0, 0, 3, 3, 3, 6));
}

TEST(FoldOffsetsTest, MatchMapsBackToEvidence) {
  const std::string unfolded =
      "Get \uFF23\uFF32\uFF39\uFF30\uFF34\uFF2F now, or \u0441r\u0443pt\u043E, or Stra\u00DFe!";
  std::vector<uint32_t> offsets;
  const std::string folded = Fold(unfolded, &offsets);
  EXPECT_EQ(folded, "get crypto now, or crypto, or strasse!");
  std::vector<std::string> evidence;
  for (size_t b = folded.find("crypto"); b != std::string::npos; b = folded.find("crypto", b + 1)) {
    const size_t e = b + 6;
    evidence.push_back(unfolded.substr(offsets[b], offsets[e] - offsets[b]));
  }
  EXPECT_THAT(evidence,
              ElementsAre("\uFF23\uFF32\uFF39\uFF30\uFF34\uFF2F", "\u0441r\u0443pt\u043E"));
  const size_t b = folded.find("strasse");
  EXPECT_EQ(unfolded.substr(offsets[b], offsets[b + 7] - offsets[b]), "Stra\u00DFe");
}

TEST(FoldOffsetsTest, WellFormedOnVariedText) {
  for (const char* s :
       {"", "a", "\u00DF\u00DF\u00DF", "e\u0301\u0302\u0323", "\u0301abc",
        "\uAC01\u1100\u1161\u11A8", "\U0001F389 \U0001F525 party",
        "\u0627\u0644\u0639\u0631\u0628\u064A\u0629", "\u0915\u093F\u0924\u093E\u092C", "\uFDFA",
        "\u2474\u33A1\u3392", "a\u0338\u0308b"}) {
    ExpectOffsetsWellFormed(s);
  }
}

TEST(FoldOffsetsTest, InvalidUtf8CreditsReplacementToBadBytes) {
  std::vector<uint32_t> offsets;
  EXPECT_EQ(Fold("A\xFF"
                 "B",
                 &offsets),
            "a\uFFFDb");
  EXPECT_THAT(offsets, ElementsAre(0, 1, 1, 1, 2, 3));
}

TEST(NormalizeBreaksTest, IgnorableBetweenLettersIsABreak) {
  NormalizedText t = Normalize("free\u200Bcrypto");
  EXPECT_EQ(t.unfolded, "freecrypto");
  EXPECT_EQ(t.folded, "freecrypto");
  EXPECT_THAT(t.folded_breaks, ElementsAre(4));
}

TEST(NormalizeBreaksTest, SeveralBreaksAndRunsOfIgnorables) {
  NormalizedText t = Normalize("a\u200Bb\u200C\u200Dc\u00ADd");
  EXPECT_EQ(t.folded, "abcd");
  EXPECT_THAT(t.folded_breaks, ElementsAre(1, 2, 3));
}

TEST(NormalizeBreaksTest, NoBreakAtEdgesOrNextToSpaces) {
  EXPECT_THAT(Normalize("\u200Bfree\u200B").folded_breaks, IsEmpty());
  EXPECT_THAT(Normalize("free \u200Bcrypto").folded_breaks, IsEmpty());
  EXPECT_THAT(Normalize("free\u200B crypto").folded_breaks, IsEmpty());
  EXPECT_THAT(Normalize("free crypto").folded_breaks, IsEmpty());
}

TEST(NormalizeBreaksTest, ControlCharactersAreBreaksToo) {
  NormalizedText t = Normalize(
      "free\x01"
      "crypto");
  EXPECT_EQ(t.folded, "freecrypto");
  EXPECT_THAT(t.folded_breaks, ElementsAre(4));
}

TEST(NormalizeBreaksTest, MappedThroughExpansionsAndContractions) {
  // U+1E9E (3 bytes) folds to "ss" (2 bytes): the break moves from 3 to 2.
  NormalizedText t = Normalize("\u1E9E\u200Bx");
  EXPECT_EQ(t.unfolded, "\u1E9Ex");
  EXPECT_EQ(t.folded, "ssx");
  EXPECT_THAT(t.folded_breaks, ElementsAre(2));
  // Cyrillic ie (2 bytes) folds to "e".
  t = Normalize("fr\u0435\u200Be");
  EXPECT_EQ(t.folded, "free");
  EXPECT_THAT(t.folded_breaks, ElementsAre(3));
  // Fullwidth letters (3 bytes each).
  t = Normalize("\uFF26\uFF32\uFF25\uFF25\u200B\uFF23");
  EXPECT_EQ(t.unfolded, "FREEC");
  EXPECT_EQ(t.folded, "freec");
  EXPECT_THAT(t.folded_breaks, ElementsAre(4));
}

TEST(NormalizeBreaksTest, BreakInsideAComposedCharacterDisappears) {
  // The ignorable sat between 'e' and its accent; they compose into one character.
  NormalizedText t = Normalize("cafe\u200B\u0301s");
  EXPECT_EQ(t.folded, "caf\u00E9s");
  EXPECT_THAT(t.folded_breaks, IsEmpty());
}

TEST(NormalizeBreaksTest, SlowPathAgreesWithFastPath) {
  // A combining mark elsewhere in the text sends it through ICU.
  // (q + U+0301 has no precomposed form, so it stays two characters.)
  NormalizedText t = Normalize("free\u200Bcrypto Q\u0301");
  EXPECT_EQ(t.unfolded, "freecrypto Q\u0301");
  EXPECT_EQ(t.folded, "freecrypto q\u0301");
  EXPECT_THAT(t.folded_breaks, ElementsAre(4));
  t = Normalize("\u1E9E\u200Bx q\u0301");
  EXPECT_EQ(t.folded, "ssx q\u0301");
  EXPECT_THAT(t.folded_breaks, ElementsAre(2));
}

// ---------------------------------------------------------------------------------------
// UTF-8

TEST(Utf8Test, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii text that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("\u00E9\u65E5\U0001F600"));
  EXPECT_TRUE(IsValidUtf8("\x7F"));
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));          // U+FFFF (a noncharacter, but valid)
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));  // NUL is valid UTF-8
  EXPECT_FALSE(IsValidUtf8("\x80"));                 // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xC3"));                 // truncated
  EXPECT_FALSE(IsValidUtf8("abcdefgh\xC3"));         // truncated after an ASCII block
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));             // truncated 3-byte sequence
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));             // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));             // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));         // overlong
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));     // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));         // U+D800 surrogate
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));         // U+DFFF surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));     // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));     // lead byte beyond U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFE"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Utf8Test, SanitizeUtf8) {
  EXPECT_EQ(SanitizeUtf8(""), "");
  EXPECT_EQ(SanitizeUtf8("caf\u00E9"), "caf\u00E9");
  EXPECT_EQ(SanitizeUtf8("a\xFF"
                         "b"),
            "a\uFFFDb");
  // One U+FFFD per maximal invalid subpart.
  EXPECT_EQ(SanitizeUtf8("\xE2\x82"
                         "x"),
            "\uFFFDx");
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\uFFFD\uFFFD");
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(SanitizeUtf8("\xF4\x90\x80\x80"), "\uFFFD\uFFFD\uFFFD\uFFFD");
  EXPECT_TRUE(IsValidUtf8(SanitizeUtf8("\x80\x81\xC3\xF0\x9F\x98")));
}

TEST(Utf8Test, EveryFunctionAcceptsInvalidInput) {
  const std::string bad =
      "fr\xC3"
      "ee \xED\xA0\x80 <b>cr\xFFypto</b>";
  EXPECT_TRUE(IsValidUtf8(HtmlToText(bad)));
  EXPECT_EQ(Unfold("fr\xFF"
                   "ee"),
            "fr\uFFFDee");
  NormalizedText t = Normalize(bad);
  EXPECT_TRUE(IsValidUtf8(t.unfolded));
  EXPECT_TRUE(IsValidUtf8(t.folded));
  EXPECT_TRUE(IsValidUtf8(Fold(bad)));
  EXPECT_TRUE(IsValidUtf8(CaseFold(bad)));
}

// ---------------------------------------------------------------------------------------
// HTML

struct HtmlCase {
  const char* html;
  const char* text;
};

TEST(HtmlToTextTest, Table) {
  const HtmlCase cases[] = {
      {"plain text", "plain text"},
      {"<p>Hello <b>world</b></p>", "Hello world"},
      {"fr<span>ee</span> cr<em>ypto</em>", "free crypto"},
      {"<a href=\"https://x.example/\">link</a>", "link"},
      // Entities.
      {"&amp; &lt; &gt; &quot; &apos; &#39;", "& < > \" ' '"},
      {"a&nbsp;b", "a\u00A0b"},
      {"&hellip;&mdash;&ndash;&laquo;x&raquo;&lsquo;&rsquo;&ldquo;&rdquo;&bull;&trade;&euro;",
       "\u2026\u2014\u2013\u00ABx\u00BB\u2018\u2019\u201C\u201D\u2022\u2122\u20AC"},
      {"&copy; &reg; &deg; &times; &divide; &eacute;&Eacute; &szlig;",
       "\u00A9 \u00AE \u00B0 \u00D7 \u00F7 \u00E9\u00C9 \u00DF"},
      {"&#65;&#x42;&#X43;&#128512;", "ABC\U0001F600"},
      {"&#65&#x42 x", "AB x"},  // numeric without ';'
      {"&#0;&#xD800;&#x110000;&#99999999999999;", "\uFFFD\uFFFD\uFFFD\uFFFD"},
      {"&#150;&#128;", "\u2013\u20AC"},  // windows-1252 remapping
      {"&#;&#x;&#xZ;", "&#;&#x;&#xZ;"},  // not references
      {"&amp &lt3 &gt", "& <3 >"},       // legacy names without ';'
      {"AT&T and R&D", "AT&T and R&D"},
      {"&copy2024 &notit; &ampx", "\u00A92024 \u00ACit; &x"},
      {"&unknown; &hellip &", "&unknown; &hellip &"},  // unknown; non-legacy without ';'
      {"&AMP; &Amp;", "& &Amp;"},                      // names are case-sensitive
      {"&lt;b&gt;not a tag&lt;/b&gt;", "<b>not a tag</b>"},
      {"&amp;lt;", "&lt;"},  // decoded once
      // Line breaks and blocks.
      {"a<br>b<br/>c<BR />d<br \n>e", "a\nb\nc\nd\ne"},
      {"a<br><br>b", "a\n\nb"},
      {"<p>a</p><p>b</p>", "a\nb"},
      {"<div>a<div>b</div></div>c", "a\nb\nc"},
      {"<ul><li>one</li><li>two</li></ul>", "one\ntwo"},
      {"<ol><li>1</li></ol><h1>T</h1><h6>t</h6>", "1\nT\nt"},
      {"x<blockquote>q</blockquote><pre>p</pre>y", "x\nq\np\ny"},
      {"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a\nb\nc"},
      {"<section>s</section><article>a</article><header>h</header><footer>f</footer>",
       "s\na\nh\nf"},
      {"a<hr>b", "a\nb"},
      {"<P CLASS=x>a</P>b", "a\nb"},
      // Dropped content.
      {"a<script>var s = '<p>x</p>';</script>b", "ab"},
      {"a<style>p { color: red }</style>b", "ab"},
      {"<SCRIPT type=\"text/javascript\">x</SCRIPT >y", "y"},
      {"a<script>if (a </b) {}</scripty></script>b", "ab"},
      {"a<script>never closed", "a"},
      {"a</script>b", "ab"},
      {"a<!-- hidden <b>x</b> -->b", "ab"},
      {"a<!---->b<!-->c<!--->d", "abcd"},
      {"a<!-- unterminated", "a"},
      {"<!DOCTYPE html><html><body>x</body></html>", "x"},
      {"a<![CDATA[x]]>b", "ab"},  // a bogus comment up to the first '>', as in browsers
      {"a<![CDATA[x>y]]>b", "ay]]>b"},
      {"a<?xml version=\"1.0\"?>b", "ab"},
      // Attributes.
      {"<a title=\"a>b\" href='c>d'>t</a>", "t"},
      {"<img alt=\"hidden text\" src=x>y", "y"},
      {"<a title=x\"y>t</a>", "t"},
      // Malformed markup.
      {"a <b", "a "},
      {"text <a href=\"x", "text "},
      {"a < b", "a < b"},
      {"1<2 and 3>2", "1<2 and 3>2"},
      {"<3 <= >=", "<3 <= >="},
      {"a</>b", "ab"},
      {"a</ 3>b", "ab"},
      {"<<b>>", "<>"},
      {"", ""},
      {"<p></p><br>", ""},
  };
  for (const HtmlCase& c : cases) {
    EXPECT_EQ(HtmlToText(c.html), c.text) << c.html;
  }
}

TEST(HtmlToTextTest, MastodonPost) {
  const std::string html =
      "<p>Hello <span class=\"h-card\" translate=\"no\"><a href=\"https://example.social/@bob\" "
      "class=\"u-url mention\">@<span>bob</span></a></span> &amp; friends, see "
      "<a href=\"https://example.com/x?a=1&amp;b=2\" rel=\"nofollow noopener\" target=\"_blank\">"
      "<span class=\"invisible\">https://</span><span class=\"\">example.com/x</span></a></p>"
      "<p>Second paragraph<br />with a break &#128512;</p>";
  EXPECT_EQ(HtmlToText(html),
            "Hello @bob & friends, see https://example.com/x\nSecond paragraph\nwith a break "
            "\U0001F600");
  EXPECT_EQ(Normalize(HtmlToText(html)).folded,
            "hello @bob & friends, see https://example.com/x second paragraph with a break "
            "\U0001F600");
}

TEST(HtmlToTextTest, InvalidUtf8IsReplaced) {
  EXPECT_EQ(HtmlToText("<p>a\xFF</p>b"), "a\uFFFD\nb");
}

// ---------------------------------------------------------------------------------------
// The one-pass variant for the activity parser: text and where the markup is.

class RecordingVisitor : public internal::HtmlMarkupVisitor {
 public:
  void OnTag(size_t begin, size_t end, bool end_tag, std::string_view name) override {
    events.push_back((end_tag ? "/" : "") + std::string(name) + "@" + std::to_string(begin) + "-" +
                     std::to_string(end));
  }
  void OnOtherMarkup(size_t begin, size_t end) override {
    events.push_back("other@" + std::to_string(begin) + "-" + std::to_string(end));
  }
  std::vector<std::string> events;
};

TEST(HtmlToTextWithMarkupTest, ReportsEachPieceOfMarkupWhereItIs) {
  const std::string html = "<p>a <A HREF=\"x>y\">b</a><br/><!-- c --><script>d</script>e</ 3>";
  RecordingVisitor visitor;
  std::string text = "left over from an earlier call";
  internal::HtmlToTextWithMarkup(html, &text, &visitor);
  EXPECT_EQ(text, "a b\ne");
  EXPECT_EQ(text, HtmlToText(html));
  // Names lower-cased; a quoted '>' does not end a tag; script's raw text is skipped whole.
  EXPECT_THAT(visitor.events, ElementsAre("p@0-3", "a@5-19", "/a@20-24", "br@24-29", "other@29-39",
                                          "script@39-47", "other@58-63"));
}

TEST(HtmlToTextWithMarkupTest, TextIsHtmlToTextAndTheMarkupTilesTheRest) {
  // Valid UTF-8 fragments of markup (the function's precondition), joined at random.
  const std::vector<std::string> pool = {
      "<", ">", "&", "#", "x", ";", "amp", "lt", "p", "a", "br", "/", "!--", "--", "\"", "'",
      "=", " ", "\n", "\v", "script", "style", "?", "!", "Z", "0", "\u00E9", "\u200B",
      "<a href=\"h\">", "</a>", "<span class=x>", "</span>", "&nbsp;", "&#x41;"};
  std::mt19937 rng(11);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_int_distribution<int> length(0, 30);
  std::string text;  // reused, as the activity parser does
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    for (int k = length(rng); k > 0; --k) s += pool[pick(rng)];
    struct Range {
      size_t begin, end;
    };
    std::vector<Range> ranges;
    class Collector : public internal::HtmlMarkupVisitor {
     public:
      explicit Collector(std::vector<Range>* r) : r_(r) {}
      void OnTag(size_t b, size_t e, bool, std::string_view) override { r_->push_back({b, e}); }
      void OnOtherMarkup(size_t b, size_t e) override { r_->push_back({b, e}); }

     private:
      std::vector<Range>* r_;
    } collector(&ranges);
    internal::HtmlToTextWithMarkup(s, &text, &collector);
    ASSERT_EQ(text, HtmlToText(s)) << s;
    size_t last_end = 0;
    for (const Range& r : ranges) {
      ASSERT_EQ(s[r.begin], '<') << s;
      ASSERT_LE(last_end, r.begin) << s;
      ASSERT_LT(r.begin, r.end) << s;
      ASSERT_LE(r.end, s.size()) << s;
      last_end = r.end;
    }
  }
}

TEST(NormalizeIntoTest, ReusedBuffersGiveWhatNormalizeGives) {
  const std::vector<std::string> pool = {
      "Free ", "CRYPTO", "  ", "\n", "\t", "\x01", "\u200B", "\u00AD", "\u0435", "\uFF21",
      "\u00DF", "e\u0301", "\u1100\u1161", "\U0001F600", "\xFF", "\xE2\x82", "\u2800", "x",
      "abcdefghijklmnopqrstuvwxyz"};
  std::mt19937 rng(5);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_int_distribution<int> length(0, 20);
  NormalizedText reused;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    for (int k = length(rng); k > 0; --k) s += pool[pick(rng)];
    internal::NormalizeInto(s, &reused);
    const NormalizedText fresh = Normalize(s);
    ASSERT_EQ(reused.unfolded, fresh.unfolded) << s;
    ASSERT_EQ(reused.folded, fresh.folded) << s;
    ASSERT_EQ(reused.folded_breaks, fresh.folded_breaks) << s;
  }
}

TEST(NormalizeTest, OnePassAgreesWithUnfoldAndFoldOnInvalidUtf8) {
  // Normalize decodes UTF-8 itself (well-formed sequences inline); Unfold and Fold go through
  // ICU's U8_NEXT. Both must replace the same maximal invalid subparts.
  const std::vector<std::string> pool = {
      "a", " ", "\xC2", "\xC1", "\xDF", "\xE0", "\xED", "\xEF", "\xF0", "\xF4", "\xF5", "\x80",
      "\x9F", "\xA0", "\xBF", "\xFF", "\u00E9", "\u0800", "\uFFFF", "\U00010000"};
  std::mt19937 rng(3);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_int_distribution<int> length(0, 8);
  for (int iter = 0; iter < 50000; ++iter) {
    std::string s;
    for (int k = length(rng); k > 0; --k) s += pool[pick(rng)];
    const NormalizedText t = Normalize(s);
    ASSERT_EQ(t.unfolded, Unfold(s)) << s;
    ASSERT_EQ(t.folded, Fold(t.unfolded)) << s;
  }
}

// ---------------------------------------------------------------------------------------
// Size: everything is linear; these would time out if it were not.

TEST(LargeInputTest, OneMegabyteHtml) {
  std::string html;
  while (html.size() < (1 << 20)) html += "<p>fr<b>ee</b> &amp; cr&#x443;pto</p>";
  const std::string text = HtmlToText(html);
  const size_t units = html.size() / std::string("<p>fr<b>ee</b> &amp; cr&#x443;pto</p>").size();
  EXPECT_EQ(text.size(), units * std::string("free & cr\u0443pto\n").size() - 1);
  NormalizedText t = Normalize(text);
  EXPECT_EQ(t.folded.substr(0, 24), "free & crypto free & cry");
}

TEST(LargeInputTest, PathologicalMarkup) {
  const size_t n = 1 << 20;
  EXPECT_EQ(HtmlToText(std::string(n, '<')), std::string(n, '<'));
  EXPECT_EQ(HtmlToText(std::string(n, '&')), std::string(n, '&'));
  std::string s;
  while (s.size() < n) s += "<a title=\"";
  EXPECT_EQ(HtmlToText(s), "");
  s.clear();
  while (s.size() < n) s += "<script></scrip";
  EXPECT_EQ(HtmlToText(s), "");
  s.clear();
  while (s.size() < n) s += "&#x0000000000000041";
  EXPECT_EQ(HtmlToText(s), std::string(n / 19 + (n % 19 != 0), 'A'));
  s.clear();
  while (s.size() < n) s += "<!-- a ";
  EXPECT_EQ(HtmlToText(s), "");
  s.clear();
  while (s.size() < n) s += "<div>";
  EXPECT_EQ(HtmlToText(s), "");
}

TEST(LargeInputTest, OneMegabyteText) {
  std::string mixed;
  while (mixed.size() < (1 << 20)) {
    mixed += "Caf\u00E9 \u041F\u0440\u0438\u0432\u0435\u0442 \u65E5\u672C fr\u200Bee  e\u0301 ";
  }
  NormalizedText t = Normalize(mixed);
  EXPECT_TRUE(IsValidUtf8(t.folded));
  EXPECT_GT(t.folded.size(), mixed.size() / 2);
  EXPECT_FALSE(t.folded_breaks.empty());
  std::string spaces(1 << 20, ' ');
  EXPECT_EQ(Unfold(spaces), "");
  std::string ignorables;
  while (ignorables.size() < (1 << 20)) ignorables += "a\u200B";
  EXPECT_EQ(Normalize(ignorables).folded_breaks.size(), ignorables.size() / 4 - 1);
}

// ---------------------------------------------------------------------------------------
// The generated tables against ICU, and the fast paths against the ICU paths.

TEST(TablesTest, ClassesAgreeWithIcuProperties) {
  for (UChar32 c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const internal::EntryTag tag = internal::TagOf(internal::UnfoldEntry(static_cast<uint32_t>(c)));
    const bool filler = c == 0x2800 || c == 0x3164 || c == 0x115F || c == 0x1160 || c == 0xFFA0;
    if (filler || u_isUWhiteSpace(c)) {
      ASSERT_EQ(tag, internal::kSpace) << std::hex << c;
    } else if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
               u_charType(c) == U_CONTROL_CHAR) {
      ASSERT_EQ(tag, internal::kDrop) << std::hex << c;
    } else {
      ASSERT_TRUE(tag == internal::kKeep || tag == internal::kSlow) << std::hex << c;
    }
  }
}

TEST(TablesTest, ConfusableReplacementsAreStableAndFolded) {
  EXPECT_GT(internal::kConfusableCount, 1000u);
  uint32_t count = 0;
  for (UChar32 c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    std::string_view rep = internal::ConfusableReplacement(static_cast<uint32_t>(c));
    if (rep.empty()) continue;
    ++count;
    ASSERT_GE(c, 0x80);
    ASSERT_TRUE(IsValidUtf8(rep)) << std::hex << c;
    ASSERT_NE(rep, Utf8(static_cast<char32_t>(c)));
    // Stable: folding the replacement changes nothing.
    ASSERT_EQ(Fold(rep), rep) << std::hex << c;
  }
  EXPECT_EQ(count, internal::kConfusableCount);
  EXPECT_EQ(internal::ConfusableReplacement(0x0435), "e");
  EXPECT_EQ(internal::ConfusableReplacement(0x0440), "p");
  EXPECT_EQ(internal::ConfusableReplacement(0x03BF), "o");
  EXPECT_EQ(internal::ConfusableReplacement(0x2014), "");  // em dash: not a Katakana letter
}

TEST(TablesTest, FastPathsAgreeWithIcuForEveryCodePoint) {
  // Each code point between ASCII letters, and after a combining mark, as Fold and Unfold
  // see it through the tables and through ICU.
  for (UChar32 c = 0x80; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const std::string s = "a" + Utf8(static_cast<char32_t>(c)) + "b";
    ASSERT_EQ(Unfold(s), internal::UnfoldWithIcu(s)) << std::hex << c;
    const std::string u = internal::UnfoldWithIcu(s);
    ASSERT_EQ(Fold(u), internal::FoldWithIcu(u, nullptr)) << std::hex << c;
  }
}

TEST(TablesTest, FastPathsAgreeWithIcuOnRandomText) {
  // Random strings over a pool of interesting characters (ASCII, look-alikes, combining
  // marks, Hangul jamo, ignorables, spaces, compatibility characters).
  const std::vector<std::string> pool = {
      "a",      "E",          "s",          " ",      "  ",     "\n",     "\u00E9",
      "\u0301", "\u0308",     "\u0323",     "\u0435", "\u0440", "\u03BF", "\u00DF",
      "\u1E9E", "\u200B",     "\u00AD",     "\u202E", "\uFF21", "\uFB01", "\u2460",
      "\u1100", "\u1161",     "\u11A8",     "\uAC00", "\u3164", "\u2800", "\u00A8",
      "\uFDFA", "\u0627",     "\u0644",     "\u0915", "\u093C", "\u65E5", "\u30C6",
      "\u3099", "\U0001D41F", "\U0001F600", "\u0130", "\u03A3", "\u0345", "\u1F80",
      "\xFF",   "\x01",       "\u0338",     "\u00C5", "\u212B", "\u0106", "\u0149"};
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_int_distribution<int> length(0, 12);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    for (int k = length(rng); k > 0; --k) s += pool[pick(rng)];
    const std::string unfolded = Unfold(s);
    ASSERT_EQ(unfolded, internal::UnfoldWithIcu(s)) << s;
    std::vector<uint32_t> fast_offsets, icu_offsets;
    const std::string folded = Fold(unfolded, &fast_offsets);
    ASSERT_EQ(folded, internal::FoldWithIcu(unfolded, &icu_offsets)) << s;
    ASSERT_EQ(fast_offsets.size(), folded.size() + 1) << s;
    ASSERT_EQ(Fold(folded), folded) << s;  // idempotent
    const NormalizedText t = Normalize(s);
    const NormalizedText reference = internal::NormalizeWithIcu(s);
    ASSERT_EQ(t.unfolded, reference.unfolded) << s;
    ASSERT_EQ(t.folded, reference.folded) << s;
    ASSERT_EQ(t.folded, folded) << s;
    ASSERT_EQ(t.folded_breaks, reference.folded_breaks) << s;
  }
}

TEST(RobustnessTest, RandomBytesNeverBreakTheContracts) {
  // Fragments of markup, references, multi-byte characters cut anywhere, and invalid bytes.
  const std::vector<std::string> pool = {
      "<", ">", "&", "#", "x", ";", "amp", "lt", "p", "br", "/", "!--", "--", "\"", "'", "=",
      "script", "a", "Z", "0", " ", "\n", "\xC3", "\xA9", "\xE2", "\x80", "\x8B", "\xFF",
      "\xF0\x9F", "\xED\xA0\x80", "\u200B", "\u0301", "\u0435", "\uFF21", "\u00DF", "\x00"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_int_distribution<int> length(0, 24);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s;
    for (int k = length(rng); k > 0; --k) s += pool[pick(rng)];
    const std::string text = HtmlToText(s);
    ASSERT_TRUE(IsValidUtf8(text)) << s;
    const NormalizedText t = Normalize(s);
    ASSERT_TRUE(IsValidUtf8(t.unfolded)) << s;
    ASSERT_TRUE(IsValidUtf8(t.folded)) << s;
    ASSERT_EQ(t.folded, Fold(t.unfolded)) << s;
    for (uint32_t b : t.folded_breaks) ASSERT_LT(b, t.folded.size()) << s;
    std::vector<uint32_t> offsets;
    const std::string folded = Fold(s, &offsets);
    ASSERT_TRUE(IsValidUtf8(folded)) << s;
    ASSERT_EQ(offsets.size(), folded.size() + 1) << s;
    ASSERT_EQ(offsets.back(), s.size()) << s;
    ASSERT_TRUE(IsValidUtf8(CaseFold(s))) << s;
    ASSERT_EQ(SanitizeUtf8(s) == s, IsValidUtf8(s)) << s;
  }
}

}  // namespace
}  // namespace fedwall::text
