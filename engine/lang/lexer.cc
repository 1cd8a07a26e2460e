#include "engine/lang/lexer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "engine/lang/strings.h"

namespace fedwall::lang {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsWordChar(char c) { return IsIdentChar(c) || IsUpper(c); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes the valid sequence of length `n` at s[i].
uint32_t DecodeUtf8(std::string_view s, size_t i, size_t n) {
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (n) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

// How a character that starts no token is named in a message.
std::string DescribeChar(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c >= 0x21 && c < 0x7F) return Cat("character '", std::string(1, c), "'");
  if (c < 0x80) return absl::StrFormat("byte 0x%02x", c);
  size_t n = Utf8SequenceLength(s, i);
  if (n == 0) return absl::StrFormat("byte 0x%02x (invalid UTF-8)", c);
  return absl::StrFormat("character U+%04X", DecodeUtf8(s, i, n));
}

}  // namespace

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  auto at = [&](size_t k) -> int {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : -1;
  };
  auto cont = [&](size_t k) {
    int c = at(k);
    return c >= 0x80 && c <= 0xBF;
  };
  int c = at(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    int c1 = at(1);
    if (c == 0xE0 && (c1 < 0xA0 || c1 > 0xBF)) return 0;  // overlong
    if (c == 0xED && (c1 < 0x80 || c1 > 0x9F)) return 0;  // surrogates
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    int c1 = at(1);
    if (c == 0xF0 && (c1 < 0x90 || c1 > 0xBF)) return 0;  // overlong
    if (c == 0xF4 && (c1 < 0x80 || c1 > 0x8F)) return 0;  // past U+10FFFF
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

const char* TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEnd:
      return "end of file";
    case TokenKind::kIdentifier:
      return "identifier";
    case TokenKind::kString:
      return "string";
    case TokenKind::kNumber:
      return "number";
    case TokenKind::kDuration:
      return "duration";
    case TokenKind::kRegex:
      return "regex";
    case TokenKind::kEq:
      return "'=='";
    case TokenKind::kNe:
      return "'!='";
    case TokenKind::kLt:
      return "'<'";
    case TokenKind::kLe:
      return "'<='";
    case TokenKind::kGt:
      return "'>'";
    case TokenKind::kGe:
      return "'>='";
    case TokenKind::kMatch:
      return "'~'";
    case TokenKind::kNotMatch:
      return "'!~'";
    case TokenKind::kAssign:
      return "'='";
    case TokenKind::kLParen:
      return "'('";
    case TokenKind::kRParen:
      return "')'";
    case TokenKind::kLBracket:
      return "'['";
    case TokenKind::kRBracket:
      return "']'";
    case TokenKind::kLBrace:
      return "'{'";
    case TokenKind::kRBrace:
      return "'}'";
    case TokenKind::kComma:
      return "','";
    case TokenKind::kSemicolon:
      return "';'";
    case TokenKind::kInvalid:
      return "invalid input";
  }
  return "token";
}

Lexer::Lexer(std::string_view source, uint32_t file, Reporter& reporter)
    : src_(source), file_(file), reporter_(reporter) {
  if (src_.substr(0, 3) == "\xEF\xBB\xBF") {
    pos_ = 3;
    line_start_ = 3;
  }
}

void Lexer::Report(uint32_t line, uint32_t column, std::string message) {
  reporter_.Error(SourceLocation{file_, line, column}, std::move(message));
}

void Lexer::SkipSpaceAndComments() {
  while (pos_ < src_.size()) {
    char c = src_[pos_];
    if (c == '\n') {
      ++pos_;
      ++line_;
      line_start_ = pos_;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++pos_;
    } else if (c == '#') {
      size_t nl = src_.find('\n', pos_);
      pos_ = nl == std::string_view::npos ? src_.size() : nl;
    } else {
      return;
    }
  }
}

Token Lexer::Next() {
  SkipSpaceAndComments();
  Token t;
  t.line = line_;
  t.column = ColumnOf(pos_);
  if (pos_ >= src_.size()) {
    t.kind = TokenKind::kEnd;
    t.at_line_start = line_ != last_token_line_;
    return t;
  }
  t.at_line_start = line_ != last_token_line_;
  last_token_line_ = line_;
  size_t start = pos_;
  char c = src_[pos_];
  char next = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
  auto single = [&](TokenKind k, size_t len) {
    t.kind = k;
    pos_ += len;
  };
  if (IsIdentStart(c) || IsUpper(c)) {
    LexWord(t);
  } else if (IsDigit(c) || (c == '-' && IsDigit(next))) {
    LexNumber(t);
  } else if (c == '"') {
    LexString(t);
  } else if (c == '/') {
    LexRegex(t);
  } else if (c == '=') {
    single(next == '=' ? TokenKind::kEq : TokenKind::kAssign, next == '=' ? 2 : 1);
  } else if (c == '!' && next == '=') {
    single(TokenKind::kNe, 2);
  } else if (c == '!' && next == '~') {
    single(TokenKind::kNotMatch, 2);
  } else if (c == '<') {
    single(next == '=' ? TokenKind::kLe : TokenKind::kLt, next == '=' ? 2 : 1);
  } else if (c == '>') {
    single(next == '=' ? TokenKind::kGe : TokenKind::kGt, next == '=' ? 2 : 1);
  } else if (c == '~') {
    single(TokenKind::kMatch, 1);
  } else if (c == '(') {
    single(TokenKind::kLParen, 1);
  } else if (c == ')') {
    single(TokenKind::kRParen, 1);
  } else if (c == '[') {
    single(TokenKind::kLBracket, 1);
  } else if (c == ']') {
    single(TokenKind::kRBracket, 1);
  } else if (c == '{') {
    single(TokenKind::kLBrace, 1);
  } else if (c == '}') {
    single(TokenKind::kRBrace, 1);
  } else if (c == ',') {
    single(TokenKind::kComma, 1);
  } else if (c == ';') {
    single(TokenKind::kSemicolon, 1);
  } else {
    LexInvalid(t);
  }
  t.text = src_.substr(start, pos_ - start);
  return t;
}

void Lexer::LexWord(Token& t) {
  size_t start = pos_;
  bool upper = false;
  while (true) {
    while (pos_ < src_.size() && IsWordChar(src_[pos_])) {
      upper = upper || IsUpper(src_[pos_]);
      ++pos_;
    }
    // A dot directly followed by a letter continues the name: `mentions.count`.
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' &&
        (IsIdentStart(src_[pos_ + 1]) || IsUpper(src_[pos_ + 1]))) {
      ++pos_;
      continue;
    }
    break;
  }
  t.value = std::string(src_.substr(start, pos_ - start));
  if (upper) {
    t.kind = TokenKind::kInvalid;
    std::string message = Cat("identifiers are lower-case: '", t.value, "'");
    if (t.value.find('.') == std::string::npos) {
      Append(&message, " (a string needs quotes: \"", t.value, "\")");
    }
    Report(t.line, t.column, std::move(message));
    return;
  }
  t.kind = TokenKind::kIdentifier;
}

void Lexer::LexNumber(Token& t) {
  size_t start = pos_;
  bool negative = false;
  if (src_[pos_] == '-') {
    negative = true;
    ++pos_;
  }
  int64_t whole = 0;
  int digits = 0;
  bool too_large = false;
  while (pos_ < src_.size() && IsDigit(src_[pos_])) {
    if (++digits > kMaxIntegerDigits) too_large = true;
    if (!too_large) whole = whole * 10 + (src_[pos_] - '0');
    ++pos_;
  }
  int64_t fraction = 0;
  int fraction_digits = 0;
  bool has_fraction = false;
  if (pos_ + 1 < src_.size() && src_[pos_] == '.' && IsDigit(src_[pos_ + 1])) {
    has_fraction = true;
    ++pos_;
    while (pos_ < src_.size() && IsDigit(src_[pos_])) {
      if (++fraction_digits <= kMaxFractionDigits) fraction = fraction * 10 + (src_[pos_] - '0');
      ++pos_;
    }
  }
  size_t suffix_start = pos_;
  while (pos_ < src_.size() && IsWordChar(src_[pos_])) ++pos_;
  std::string_view suffix = src_.substr(suffix_start, pos_ - suffix_start);
  std::string_view written = src_.substr(start, pos_ - start);

  if (too_large) {
    Report(t.line, t.column,
           Cat("number too large: '", std::string(written), "' (at most ", kMaxIntegerDigits,
               " digits before the decimal point)"));
    whole = 0;
  }
  if (fraction_digits > kMaxFractionDigits) {
    Report(t.line, t.column,
           Cat("too many decimals in '", std::string(written), "': at most ", kMaxFractionDigits,
               " digits after the decimal point"));
  }
  for (int i = std::min(fraction_digits, kMaxFractionDigits); i < kMaxFractionDigits; ++i) {
    fraction *= 10;
  }
  int64_t milli = whole * 1000 + fraction;
  if (negative) milli = -milli;

  if (suffix.empty()) {
    t.kind = TokenKind::kNumber;
    t.milli = milli;
    t.number = static_cast<double>(milli) / 1000.0;
    t.integer = !has_fraction;
    return;
  }
  t.kind = TokenKind::kDuration;
  int64_t unit = 0;
  if (suffix == "s") unit = 1;
  if (suffix == "m") unit = 60;
  if (suffix == "h") unit = 3600;
  if (suffix == "d") unit = 86400;
  if (suffix == "w") unit = 7 * 86400;
  if (unit == 0) {
    Report(t.line, t.column,
           Cat("unknown unit '", std::string(suffix), "' in '", std::string(written),
               "' (durations are written 30s, 5m, 2h, 7d or 2w)"));
    return;
  }
  if (has_fraction) {
    Report(t.line, t.column,
           Cat("durations are whole numbers: '", std::string(written),
               "' (use a smaller unit, e.g. 90m for 1.5h)"));
    return;
  }
  if (negative) {
    Report(t.line, t.column, Cat("durations cannot be negative: '", std::string(written), "'"));
    return;
  }
  t.duration = absl::Seconds(whole) * unit;
  if (t.duration == absl::InfiniteDuration()) {
    Report(t.line, t.column, Cat("duration too large: '", std::string(written), "'"));
    t.duration = absl::ZeroDuration();
  }
}

void Lexer::LexString(Token& t) {
  ++pos_;  // opening quote
  bool bad_utf8_reported = false;
  while (true) {
    if (pos_ >= src_.size() || src_[pos_] == '\n') {
      Report(t.line, t.column, "unterminated string (strings end on their line; use \\n)");
      break;
    }
    char c = src_[pos_];
    if (c == '"') {
      ++pos_;
      break;
    }
    if (c == '\\') {
      uint32_t col = ColumnOf(pos_);
      char e = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
      if (e == '"' || e == '\\') {
        t.value.push_back(e);
        pos_ += 2;
      } else if (e == 'n') {
        t.value.push_back('\n');
        pos_ += 2;
      } else if (e == 'u') {
        pos_ += 2;
        bool ok = pos_ < src_.size() && src_[pos_] == '{';
        uint32_t cp = 0;
        int hex = 0;
        if (ok) {
          ++pos_;
          while (pos_ < src_.size() && HexValue(src_[pos_]) >= 0 && hex < 7) {
            cp = cp * 16 + static_cast<uint32_t>(HexValue(src_[pos_]));
            ++hex;
            ++pos_;
          }
          ok = hex >= 1 && hex <= 6 && pos_ < src_.size() && src_[pos_] == '}';
          if (ok) ++pos_;
        }
        if (!ok) {
          Report(t.line, col, "invalid escape: \\u must be followed by {1 to 6 hex digits}");
        } else if (cp == kTextSeparator) {
          Report(t.line, col,
                 "\\u{1E} is the separator between the parts of `text` and cannot appear in "
                 "a string");
        } else if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          Report(t.line, col,
                 absl::StrFormat("invalid escape \\u{%X}: not a Unicode scalar value other "
                                 "than U+0000",
                                 cp));
        } else {
          AppendUtf8(cp, t.value);
        }
      } else if (e == '\n' || e == '\0') {
        ++pos_;  // reported as unterminated on the next iteration
      } else {
        size_t n = Utf8SequenceLength(src_, pos_ + 1);
        std::string shown(src_.substr(pos_ + 1, n == 0 ? 1 : n));
        Report(t.line, col,
               Cat("invalid escape '\\", n == 0 ? "?" : shown,
                   "' (strings know \\\", \\\\, \\n and \\u{...})"));
        pos_ += 1 + (n == 0 ? 1 : n);
      }
      continue;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t') {
      Report(t.line, ColumnOf(pos_),
             absl::StrFormat("control character 0x%02x in string (use \\n or \\u{...})", u));
      ++pos_;
      continue;
    }
    size_t n = Utf8SequenceLength(src_, pos_);
    if (n == 0) {
      if (!bad_utf8_reported) {
        Report(t.line, ColumnOf(pos_), "invalid UTF-8 in string");
        bad_utf8_reported = true;
      }
      ++pos_;
      continue;
    }
    t.value.append(src_.substr(pos_, n));
    pos_ += n;
  }
  t.kind = TokenKind::kString;
}

void Lexer::LexRegex(Token& t) {
  ++pos_;  // opening slash
  bool bad_utf8_reported = false;
  bool terminated = false;
  while (pos_ < src_.size() && src_[pos_] != '\n') {
    char c = src_[pos_];
    if (c == '/') {
      ++pos_;
      terminated = true;
      break;
    }
    if (c == '\\' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '/') {
      t.value.push_back('/');
      pos_ += 2;
      continue;
    }
    if (c == '\\' && pos_ + 1 < src_.size() && src_[pos_ + 1] != '\n') {
      t.value.push_back('\\');
      ++pos_;
      c = src_[pos_];
    }
    size_t n = Utf8SequenceLength(src_, pos_);
    if (n == 0) {
      if (!bad_utf8_reported) {
        Report(t.line, ColumnOf(pos_), "invalid UTF-8 in regex");
        bad_utf8_reported = true;
      }
      ++pos_;
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      Report(t.line, ColumnOf(pos_),
             absl::StrFormat("control character 0x%02x in regex (use \\x{...})",
                             static_cast<unsigned char>(c)));
      ++pos_;
      continue;
    }
    t.value.append(src_.substr(pos_, n));
    pos_ += n;
  }
  t.kind = TokenKind::kRegex;
  if (!terminated) {
    Report(t.line, t.column, "unterminated regex (a regex ends with '/' on its line)");
    return;
  }
  if (t.value.empty()) {
    Report(t.line, t.column, "empty regex '//' (comments start with '#')");
  }
  while (pos_ < src_.size() && IsWordChar(src_[pos_])) {
    if (src_[pos_] == 'i' && !t.ignore_case) {
      t.ignore_case = true;
    } else {
      Report(t.line, ColumnOf(pos_),
             Cat("unknown regex flag '", std::string(1, src_[pos_]), "' (the only flag is i)"));
    }
    ++pos_;
  }
}

void Lexer::LexInvalid(Token& t) {
  t.kind = TokenKind::kInvalid;
  std::string what = DescribeChar(src_, pos_);
  if (src_[pos_] == '!') what += " (use 'not', '!=' or '!~')";
  Report(t.line, t.column, Cat("unexpected ", what));
  // Swallow the whole run of characters that start no token: one error for a run of garbage.
  auto starts_token = [&](size_t i) {
    char c = src_[i];
    char n = i + 1 < src_.size() ? src_[i + 1] : '\0';
    if (IsSpace(c) || c == '#') return true;
    if (IsWordChar(c) || IsDigit(c) || (c == '-' && IsDigit(n))) return true;
    if (c == '!') return n == '=' || n == '~';
    return std::string_view("\"/=<>~()[]{},;").find(c) != std::string_view::npos;
  };
  do {
    size_t n = Utf8SequenceLength(src_, pos_);
    pos_ += n == 0 ? 1 : n;
  } while (pos_ < src_.size() && !starts_token(pos_));
}

}  // namespace fedwall::lang
