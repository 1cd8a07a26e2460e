// Lexer: the bytes of one rule file -> tokens, pulled one at a time by the parser.
//
// Tokens (docs/rules.md, "Expressions"):
//   identifier  [a-z_][a-z0-9_]* , with dotted continuations folded into one token when the
//               dot is directly followed by a letter or '_' (`mentions.count`,
//               `actor.domain.severity`). Keywords are identifiers; the parser tells them apart.
//               A word with upper-case letters is an error ("identifiers are lower-case").
//   string      "..." with the escapes \" \\ \n \u{1-6 hex digits}; no raw line breaks (use \n);
//               the raw bytes and the decoded value must be valid UTF-8; \u{0}, surrogates,
//               raw control characters other than tab, and \u{1E} (the separator between the
//               parts of the `text` field) are refused.
//   number      digits [ '.' 1-3 digits ], optionally preceded by '-' (no space): `5`, `2.5`,
//               `-0.125`; at most 15 integer digits. Kept exact in thousandths (`milli`).
//   duration    integer directly followed by a unit s m h d w: `30s 5m 2h 7d 2w`; not negative.
//   regex       /.../ with optional flag `i` directly after the closing slash. There is no
//               division in the language, so a '/' always starts a regex. `\/` stands for '/'
//               (the slash is unescaped in the token's value); every other backslash sequence
//               is kept as written for RE2. A regex ends on its line.
//   operators   == != < <= > >= ~ !~ and '=' (assignment in `list`, `macro`, `with`)
//   punctuation ( ) [ ] { } , ;
// '#' starts a comment to the end of the line. Spaces, tabs, CR and LF separate tokens; a UTF-8
// byte order mark at the start of the file is skipped.
//
// Errors are reported to the Reporter with the file's line and 1-based byte column. The lexer
// then goes on: a string or number with a bad part is still returned (so the parser continues
// normally), while an unexpected character, or a run of them, becomes one kInvalid token (the
// parser does not report it a second time).
//
// Cost: linear in the input; one token of lookahead is all the lexer keeps.
//
// Not thread-safe; one per file. The source must outlive the lexer and its tokens (`text`
// points into it).
//
// Example:
//   Lexer lexer(source, /*file=*/0, reporter);
//   for (Token t = lexer.Next(); t.kind != TokenKind::kEnd; t = lexer.Next()) use(t);
#ifndef FEDWALL_ENGINE_LANG_LEXER_H_
#define FEDWALL_ENGINE_LANG_LEXER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "engine/lang/ast.h"
#include "engine/lang/report.h"

namespace fedwall::lang {

enum class TokenKind {
  kEnd,         // end of input
  kIdentifier,  // name or keyword, possibly dotted
  kString,
  kNumber,
  kDuration,
  kRegex,
  kEq,        // ==
  kNe,        // !=
  kLt,        // <
  kLe,        // <=
  kGt,        // >
  kGe,        // >=
  kMatch,     // ~
  kNotMatch,  // !~
  kAssign,    // =
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kLBrace,
  kRBrace,
  kComma,
  kSemicolon,
  kInvalid,  // characters that start no token (already reported)
};

// "identifier", "string", "'=='", ... for messages.
const char* TokenKindName(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::kEnd;
  uint32_t line = 1;
  uint32_t column = 1;
  bool at_line_start = false;  // no other token before it on its line
  std::string_view text;       // the source bytes of the token
  std::string value;           // kString: decoded; kRegex: the pattern; kIdentifier: the name
  bool ignore_case = false;    // kRegex with flag i
  double number = 0;           // kNumber
  int64_t milli = 0;           // kNumber: the value in thousandths, exact
  bool integer = false;        // kNumber without a fraction
  absl::Duration duration;     // kDuration

  bool Is(TokenKind k) const { return kind == k; }
  // An identifier spelled exactly `word`.
  bool IsWord(std::string_view word) const {
    return kind == TokenKind::kIdentifier && value == word;
  }
};

// U+001E, which joins the parts of the `text` field: no literal may contain it.
inline constexpr uint32_t kTextSeparator = 0x1E;

// The largest number accepted: 15 integer digits keep thousandths exact in an int64.
inline constexpr int kMaxIntegerDigits = 15;
inline constexpr int kMaxFractionDigits = 3;

class Lexer {
 public:
  // `file` is the index of the file in PolicyAst::files (for locations).
  Lexer(std::string_view source, uint32_t file, Reporter& reporter);

  // The next token; kEnd forever once the input is exhausted.
  Token Next();

 private:
  void Report(uint32_t line, uint32_t column, std::string message);
  void SkipSpaceAndComments();
  void LexWord(Token& t);
  void LexNumber(Token& t);
  void LexString(Token& t);
  void LexRegex(Token& t);
  void LexInvalid(Token& t);
  uint32_t ColumnOf(size_t pos) const { return static_cast<uint32_t>(pos - line_start_ + 1); }

  std::string_view src_;
  uint32_t file_;
  Reporter& reporter_;
  size_t pos_ = 0;
  size_t line_start_ = 0;
  uint32_t line_ = 1;
  uint32_t last_token_line_ = 0;
};

// Whether `c` may start / continue an identifier.
inline bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
inline bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid (overlong,
// surrogate, past U+10FFFF, truncated).
size_t Utf8SequenceLength(std::string_view s, size_t i);

}  // namespace fedwall::lang

#endif  // FEDWALL_ENGINE_LANG_LEXER_H_
