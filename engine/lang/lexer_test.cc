#include "engine/lang/lexer.h"

#include <random>
#include <string>
#include <vector>

#include "engine/lang/lang_test_util.h"
#include "engine/lang/report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::lang {
namespace {

using ::fedwall::lang::testing::Diags;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

struct Lexed {
  std::vector<Token> tokens;  // without the final kEnd
  std::vector<std::string> diagnostics;
};

Lexed Lex(std::string_view source) {
  std::vector<SourceFile> files = {{"a.rules", std::string(source)}};
  Reporter reporter(files, 1000);
  Lexer lexer(files[0].bytes, 0, reporter);
  Lexed out;
  for (Token t = lexer.Next(); t.kind != TokenKind::kEnd; t = lexer.Next()) {
    out.tokens.push_back(t);
    if (out.tokens.size() > 100000) break;
  }
  out.diagnostics = Diags(std::move(reporter).Finish());
  return out;
}

std::vector<TokenKind> Kinds(const Lexed& l) {
  std::vector<TokenKind> out;
  for (const Token& t : l.tokens) out.push_back(t.kind);
  return out;
}

TEST(LexerTest, IdentifiersAndDottedPaths) {
  Lexed l = Lex("rule mention_spam actor.domain.severity mentions.count _x a1");
  ASSERT_THAT(l.tokens, SizeIs(6));
  EXPECT_THAT(l.diagnostics, IsEmpty());
  EXPECT_EQ(l.tokens[0].value, "rule");
  EXPECT_EQ(l.tokens[1].value, "mention_spam");
  EXPECT_EQ(l.tokens[2].value, "actor.domain.severity");
  EXPECT_EQ(l.tokens[3].value, "mentions.count");
  EXPECT_EQ(l.tokens[4].value, "_x");
  EXPECT_EQ(l.tokens[5].value, "a1");
  for (const Token& t : l.tokens) EXPECT_EQ(t.kind, TokenKind::kIdentifier);
}

TEST(LexerTest, UpperCaseWordIsAnErrorWithAHint) {
  Lexed l = Lex("type == Create");
  EXPECT_THAT(Kinds(l), ElementsAre(TokenKind::kIdentifier, TokenKind::kEq, TokenKind::kInvalid));
  EXPECT_THAT(l.diagnostics,
              ElementsAre("a.rules:1:9: error: identifiers are lower-case: 'Create' (a string "
                          "needs quotes: \"Create\")"));
}

TEST(LexerTest, LinesColumnsAndLineStarts) {
  Lexed l = Lex("rule a {\n  when  sensitive # comment\n\tthen flag }\n");
  ASSERT_THAT(l.tokens, SizeIs(8));
  EXPECT_EQ(l.tokens[0].line, 1u);
  EXPECT_EQ(l.tokens[0].column, 1u);
  EXPECT_TRUE(l.tokens[0].at_line_start);
  EXPECT_EQ(l.tokens[2].column, 8u);  // {
  EXPECT_FALSE(l.tokens[2].at_line_start);
  EXPECT_EQ(l.tokens[3].line, 2u);
  EXPECT_EQ(l.tokens[3].column, 3u);
  EXPECT_TRUE(l.tokens[3].at_line_start);
  EXPECT_EQ(l.tokens[4].column, 9u);  // sensitive
  EXPECT_EQ(l.tokens[5].line, 3u);
  EXPECT_EQ(l.tokens[5].column, 2u);  // after a tab: byte column
  EXPECT_EQ(l.tokens[6].value, "flag");
}

TEST(LexerTest, ColumnsAreBytes) {
  Lexed l = Lex("\"é\" x");
  ASSERT_THAT(l.tokens, SizeIs(2));
  EXPECT_EQ(l.tokens[1].column, 6u);  // " é(2 bytes) " space x
}

TEST(LexerTest, ByteOrderMarkIsSkipped) {
  Lexed l = Lex("\xEF\xBB\xBFrule");
  ASSERT_THAT(l.tokens, SizeIs(1));
  EXPECT_EQ(l.tokens[0].value, "rule");
  EXPECT_EQ(l.tokens[0].column, 1u);
}

TEST(LexerTest, Operators) {
  Lexed l = Lex("== != < <= > >= ~ !~ = ( ) [ ] { } , ;");
  EXPECT_THAT(l.diagnostics, IsEmpty());
  EXPECT_THAT(Kinds(l),
              ElementsAre(TokenKind::kEq, TokenKind::kNe, TokenKind::kLt, TokenKind::kLe,
                          TokenKind::kGt, TokenKind::kGe, TokenKind::kMatch, TokenKind::kNotMatch,
                          TokenKind::kAssign, TokenKind::kLParen, TokenKind::kRParen,
                          TokenKind::kLBracket, TokenKind::kRBracket, TokenKind::kLBrace,
                          TokenKind::kRBrace, TokenKind::kComma, TokenKind::kSemicolon));
}

TEST(LexerTest, OperatorsWithoutSpaces) {
  Lexed l = Lex("a>=5");
  EXPECT_THAT(Kinds(l), ElementsAre(TokenKind::kIdentifier, TokenKind::kGe, TokenKind::kNumber));
}

TEST(LexerTest, LoneBangIsAnError) {
  Lexed l = Lex("! a");
  EXPECT_THAT(Kinds(l), ElementsAre(TokenKind::kInvalid, TokenKind::kIdentifier));
  EXPECT_THAT(l.diagnostics,
              ElementsAre("a.rules:1:1: error: unexpected character '!' (use 'not', '!=' or "
                          "'!~')"));
}

TEST(LexerTest, Comments) {
  Lexed l = Lex("# whole line\na # rest \"not a string\n# end");
  ASSERT_THAT(l.tokens, SizeIs(1));
  EXPECT_EQ(l.tokens[0].value, "a");
  EXPECT_THAT(l.diagnostics, IsEmpty());
}

TEST(LexerTest, Numbers) {
  Lexed l = Lex("5 0 2.5 -3 -0.125 1.1 999999999999999");
  EXPECT_THAT(l.diagnostics, IsEmpty());
  ASSERT_THAT(l.tokens, SizeIs(7));
  EXPECT_EQ(l.tokens[0].milli, 5000);
  EXPECT_TRUE(l.tokens[0].integer);
  EXPECT_EQ(l.tokens[1].milli, 0);
  EXPECT_EQ(l.tokens[2].milli, 2500);
  EXPECT_DOUBLE_EQ(l.tokens[2].number, 2.5);
  EXPECT_FALSE(l.tokens[2].integer);
  EXPECT_EQ(l.tokens[3].milli, -3000);
  EXPECT_EQ(l.tokens[4].milli, -125);
  EXPECT_EQ(l.tokens[5].milli, 1100);
  EXPECT_EQ(l.tokens[6].milli, int64_t{999999999999999} * 1000);
}

TEST(LexerTest, TooManyDecimalsIsAnError) {
  Lexed l = Lex("x 1.2345");
  EXPECT_THAT(l.diagnostics,
              ElementsAre("a.rules:1:3: error: too many decimals in '1.2345': at most 3 digits "
                          "after the decimal point"));
}

TEST(LexerTest, NumberTooLarge) {
  Lexed l = Lex("1234567890123456");
  EXPECT_THAT(l.diagnostics, ElementsAre(::testing::HasSubstr("1:1: error: number too large")));
}

TEST(LexerTest, Durations) {
  Lexed l = Lex("30s 5m 2h 7d 2w 0s");
  EXPECT_THAT(l.diagnostics, IsEmpty());
  ASSERT_THAT(l.tokens, SizeIs(6));
  for (const Token& t : l.tokens) EXPECT_EQ(t.kind, TokenKind::kDuration);
  EXPECT_EQ(l.tokens[0].duration, absl::Seconds(30));
  EXPECT_EQ(l.tokens[1].duration, absl::Minutes(5));
  EXPECT_EQ(l.tokens[2].duration, absl::Hours(2));
  EXPECT_EQ(l.tokens[3].duration, absl::Hours(24 * 7));
  EXPECT_EQ(l.tokens[4].duration, absl::Hours(24 * 14));
  EXPECT_EQ(l.tokens[5].duration, absl::ZeroDuration());
}

TEST(LexerTest, BadDurations) {
  Lexed l = Lex("5ms 1.5h -2d 5x");
  EXPECT_THAT(l.diagnostics,
              ElementsAre("a.rules:1:1: error: unknown unit 'ms' in '5ms' (durations are written "
                          "30s, 5m, 2h, 7d or 2w)",
                          "a.rules:1:5: error: durations are whole numbers: '1.5h' (use a "
                          "smaller unit, e.g. 90m for 1.5h)",
                          "a.rules:1:10: error: durations cannot be negative: '-2d'",
                          "a.rules:1:14: error: unknown unit 'x' in '5x' (durations are written "
                          "30s, 5m, 2h, 7d or 2w)"));
  EXPECT_THAT(l.tokens, SizeIs(4));  // still tokens: the parser goes on
}

TEST(LexerTest, StringsAndEscapes) {
  Lexed l = Lex(R"("plain" "a\"b" "back\\slash" "line\nbreak" "\u{e9}\u{1F600}" "")");
  EXPECT_THAT(l.diagnostics, IsEmpty());
  ASSERT_THAT(l.tokens, SizeIs(6));
  EXPECT_EQ(l.tokens[0].value, "plain");
  EXPECT_EQ(l.tokens[1].value, "a\"b");
  EXPECT_EQ(l.tokens[2].value, "back\\slash");
  EXPECT_EQ(l.tokens[3].value, "line\nbreak");
  EXPECT_EQ(l.tokens[4].value, "\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(l.tokens[5].value, "");
  EXPECT_EQ(l.tokens[5].kind, TokenKind::kString);
}

TEST(LexerTest, StringsKeepRawUtf8AndHash) {
  Lexed l = Lex("\"#nsfw ｆｒｅｅ\"");
  ASSERT_THAT(l.tokens, SizeIs(1));
  EXPECT_EQ(l.tokens[0].value, "#nsfw ｆｒｅｅ");
}

TEST(LexerTest, InvalidEscapes) {
  Lexed l = Lex(R"(x "a\tb" "\u{110000}" "\u{D800}" "\u{0}" "\u41" "\u{1234567}")");
  EXPECT_THAT(
      l.diagnostics,
      ElementsAre(
          "a.rules:1:5: error: invalid escape '\\t' (strings know \\\", \\\\, \\n and \\u{...})",
          "a.rules:1:11: error: invalid escape \\u{110000}: not a Unicode scalar value other than "
          "U+0000",
          "a.rules:1:24: error: invalid escape \\u{D800}: not a Unicode scalar value other than "
          "U+0000",
          "a.rules:1:35: error: invalid escape \\u{0}: not a Unicode scalar value other than "
          "U+0000",
          "a.rules:1:43: error: invalid escape: \\u must be followed by {1 to 6 hex digits}",
          "a.rules:1:50: error: invalid escape: \\u must be followed by {1 to 6 hex digits}"));
}

TEST(LexerTest, TextSeparatorIsRefusedInStrings) {
  Lexed l = Lex(R"("a\u{1E}b" "a\u{1F}b")");
  EXPECT_THAT(l.diagnostics,
              ElementsAre("a.rules:1:3: error: \\u{1E} is the separator between the parts of "
                          "`text` and cannot appear in a string"));
}

TEST(LexerTest, UnterminatedString) {
  Lexed l = Lex("list x = [\"abc\nrule");
  EXPECT_THAT(l.diagnostics,
              ElementsAre("a.rules:1:11: error: unterminated string (strings end on their line; "
                          "use \\n)"));
  ASSERT_THAT(l.tokens, SizeIs(6));
  EXPECT_EQ(l.tokens[4].value, "abc");
  EXPECT_EQ(l.tokens[5].value, "rule");
  EXPECT_EQ(l.tokens[5].line, 2u);
}

TEST(LexerTest, UnterminatedStringAtEndOfFile) {
  Lexed l = Lex("\"abc\\");
  EXPECT_THAT(l.diagnostics, ElementsAre(::testing::HasSubstr("1:1: error: unterminated string")));
}

TEST(LexerTest, InvalidUtf8InString) {
  Lexed l =
      Lex("x \"ab\xFF\xFE"
          "cd\" \"\xC0\xAF\" \"\xED\xA0\x80\"");
  EXPECT_THAT(l.diagnostics, ElementsAre("a.rules:1:6: error: invalid UTF-8 in string",
                                         "a.rules:1:13: error: invalid UTF-8 in string",
                                         "a.rules:1:18: error: invalid UTF-8 in string"));
  ASSERT_THAT(l.tokens, SizeIs(4));
  EXPECT_EQ(l.tokens[1].value, "abcd");
}

TEST(LexerTest, ControlCharacterInString) {
  Lexed l = Lex("\"a\x01\"");
  EXPECT_THAT(l.diagnostics,
              ElementsAre("a.rules:1:3: error: control character 0x01 in string (use \\n or "
                          "\\u{...})"));
}

TEST(LexerTest, Regexes) {
  Lexed l = Lex(R"(~ /bit\.ly\/[a-z]+/ !~ /FREE/i /a\\/ /\d{3}/)");
  EXPECT_THAT(l.diagnostics, IsEmpty());
  ASSERT_THAT(l.tokens, SizeIs(6));
  EXPECT_EQ(l.tokens[1].kind, TokenKind::kRegex);
  EXPECT_EQ(l.tokens[1].value, "bit\\.ly/[a-z]+");  // \/ unescaped, \. kept
  EXPECT_FALSE(l.tokens[1].ignore_case);
  EXPECT_EQ(l.tokens[3].value, "FREE");
  EXPECT_TRUE(l.tokens[3].ignore_case);
  EXPECT_EQ(l.tokens[4].value, "a\\\\");
  EXPECT_EQ(l.tokens[5].value, "\\d{3}");
}

TEST(LexerTest, SlashInsideAClassEndsTheRegex) {
  // Documented: a '/' always ends the regex, even inside [...]; write [\/].
  Lexed l = Lex(R"(/[\/]x/ /[/)");
  ASSERT_THAT(l.tokens, SizeIs(2));
  EXPECT_EQ(l.tokens[0].value, "[/]x");
  EXPECT_EQ(l.tokens[1].value, "[");
  EXPECT_THAT(l.diagnostics, IsEmpty());
}

TEST(LexerTest, RegexErrors) {
  Lexed l = Lex("/abc\n// x\n/a/x /a/ii");
  EXPECT_THAT(l.diagnostics,
              ElementsAre("a.rules:1:1: error: unterminated regex (a regex ends with '/' on its "
                          "line)",
                          "a.rules:2:1: error: empty regex '//' (comments start with '#')",
                          "a.rules:3:4: error: unknown regex flag 'x' (the only flag is i)",
                          "a.rules:3:10: error: unknown regex flag 'i' (the only flag is i)"));
}

TEST(LexerTest, InvalidUtf8InRegex) {
  Lexed l = Lex("/a\xFF/");
  EXPECT_THAT(l.diagnostics, ElementsAre("a.rules:1:3: error: invalid UTF-8 in regex"));
}

TEST(LexerTest, UnexpectedCharactersAreOneErrorPerRun) {
  Lexed l = Lex("a @@$ b \xC3\xA9 c \xFF");
  EXPECT_THAT(Kinds(l),
              ElementsAre(TokenKind::kIdentifier, TokenKind::kInvalid, TokenKind::kIdentifier,
                          TokenKind::kInvalid, TokenKind::kIdentifier, TokenKind::kInvalid));
  EXPECT_THAT(l.diagnostics,
              ElementsAre("a.rules:1:3: error: unexpected character '@'",
                          "a.rules:1:9: error: unexpected character U+00E9",
                          "a.rules:1:14: error: unexpected byte 0xff (invalid UTF-8)"));
}

TEST(LexerTest, NoInputNoTokens) {
  EXPECT_THAT(Lex("").tokens, IsEmpty());
  EXPECT_THAT(Lex("   \n\n # only a comment").tokens, IsEmpty());
}

TEST(LexerTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::string garbage(1 + rng() % 400, '\0');
    for (char& c : garbage) c = static_cast<char>(rng() & 0xFF);
    Lexed l = Lex(garbage);
    for (const Token& t : l.tokens) {
      EXPECT_GE(t.line, 1u);
      EXPECT_GE(t.column, 1u);
    }
  }
}

TEST(LexerTest, Utf8SequenceLength) {
  EXPECT_EQ(Utf8SequenceLength("a", 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xC3\xA9", 0), 2u);
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80", 0), 4u);
  EXPECT_EQ(Utf8SequenceLength("\xC0\x80", 0), 0u);          // overlong
  EXPECT_EQ(Utf8SequenceLength("\xE0\x80\x80", 0), 0u);      // overlong
  EXPECT_EQ(Utf8SequenceLength("\xED\xA0\x80", 0), 0u);      // surrogate
  EXPECT_EQ(Utf8SequenceLength("\xF4\x90\x80\x80", 0), 0u);  // > U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82", 0), 0u);          // truncated
  EXPECT_EQ(Utf8SequenceLength("\x80", 0), 0u);              // continuation byte
}

}  // namespace
}  // namespace fedwall::lang
