#include "engine/match/regex_analysis.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "engine/match/unicode_props.h"

namespace fedwall::match::internal {
namespace {

bool IsAsciiAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsAsciiAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsOctal(unsigned char c) { return c >= '0' && c <= '7'; }
int HexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendHex(std::string* out, char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "\\x{%X}", static_cast<unsigned>(c));
  out->append(buf);
}

// RE2's spelling of \s.
constexpr std::string_view kSpaceItems = "\\x{9}\\x{A}\\x{C}\\x{D}\\x{20}";

// One pass over an RE2 pattern, writing the Hyperscan pattern (see regex_analysis.h). Mirrors
// the structure of RE2's parser (re2/parse.cc) closely enough to find atoms, classes, groups
// and counted repetitions; everything it does not recognise is a refusal, never a guess.
class Translator {
 public:
  Translator(std::string_view pattern, bool ignore_case) : p_(pattern) {
    a_.caseless = ignore_case;
  }

  RegexAnalysis Run() {
    frames_.push_back(Frame{});
    while (i_ < p_.size() && a_.hs_refusal.empty()) Step();
    if (a_.hs_refusal.empty() && frames_.size() != 1) Fail("unbalanced parentheses");
    if (a_.hs_refusal.empty()) a_.hs_pattern = std::move(out_);
    return std::move(a_);
  }

 private:
  struct Frame {
    uint64_t max_weight = 1;  // largest unrolled size of anything inside the group
  };

  void Fail(const char* why) {
    if (a_.hs_refusal.empty()) a_.hs_refusal = why;
  }

  void Atom(uint64_t weight) {
    last_weight_ = std::max<uint64_t>(weight, 1);
    frames_.back().max_weight = std::max(frames_.back().max_weight, last_weight_);
    quantifiable_ = true;
  }

  void Mention(char32_t c) {
    if (IsCaseUnstable(c)) a_.mentions_case_unstable = true;
  }
  void MentionRange(char32_t lo, char32_t hi) {
    if (RangeHasCaseUnstable(lo, hi)) a_.mentions_case_unstable = true;
  }

  // A literal code point outside a class.
  void EmitLiteral(char32_t c, std::string_view raw) {
    if (c < 0x80 && IsAsciiAlnum(static_cast<unsigned char>(c))) {
      out_ += static_cast<char>(c);
    } else if (c < 0x80) {
      AppendHex(&out_, c);
    } else {
      out_.append(raw);  // UTF-8 as written; Hyperscan reads it as one code point
    }
    Mention(c);
    Atom(1);
  }

  void Step() {
    const auto c = static_cast<unsigned char>(p_[i_]);
    switch (c) {
      case '\\':
        Escape();
        return;
      case '[':
        CharClass();
        return;
      case '(':
        OpenGroup();
        return;
      case ')': {
        if (frames_.size() < 2) return Fail("unbalanced parentheses");
        const uint64_t w = frames_.back().max_weight;
        frames_.pop_back();
        out_ += ')';
        ++i_;
        Atom(w);
        return;
      }
      case '|':
        out_ += '|';
        ++i_;
        quantifiable_ = false;
        return;
      case '*':
      case '+':
      case '?':
        if (!quantifiable_) return Fail("repetition of nothing");
        out_ += static_cast<char>(c);
        ++i_;
        if (i_ < p_.size() && p_[i_] == '?') {
          out_ += '?';
          ++i_;
        }
        quantifiable_ = false;
        return;
      case '{': {
        int lo = 0;
        int hi = 0;
        size_t len = 0;
        if (!ParseRepetition(&lo, &hi, &len)) {
          EmitLiteral('{', "{");  // RE2 reads a malformed repetition as a literal '{'
          ++i_;
          return;
        }
        if (!quantifiable_) return Fail("repetition of nothing");
        i_ += len;
        Repeat(lo, hi);
        if (i_ < p_.size() && p_[i_] == '?') {
          out_ += '?';
          ++i_;
        }
        quantifiable_ = false;
        return;
      }
      case '^':
      case '$':
      case '.':
        out_ += static_cast<char>(c);
        ++i_;
        Atom(1);
        return;
      default: {
        char32_t cp;
        const size_t len = DecodeUtf8(p_, i_, &cp);
        if (len == 0) return Fail("invalid UTF-8");
        EmitLiteral(cp, p_.substr(i_, len));
        i_ += len;
        return;
      }
    }
  }

  // RE2's MaybeParseRepetition: {n}, {n,}, {n,m}; no leading zeros; else not a repetition.
  bool ParseRepetition(int* lo, int* hi, size_t* len) const {
    size_t j = i_ + 1;
    auto parse_int = [&](int* v) {
      if (j >= p_.size() || p_[j] < '0' || p_[j] > '9') return false;
      if (j + 1 < p_.size() && p_[j] == '0' && p_[j + 1] >= '0' && p_[j + 1] <= '9') {
        return false;
      }
      int n = 0;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') {
        if (n >= 100000000) return false;
        n = n * 10 + (p_[j] - '0');
        ++j;
      }
      *v = n;
      return true;
    };
    if (!parse_int(lo)) return false;
    if (j >= p_.size()) return false;
    if (p_[j] == ',') {
      ++j;
      if (j >= p_.size()) return false;
      if (p_[j] == '}') {
        *hi = -1;
      } else if (!parse_int(hi)) {
        return false;
      }
    } else {
      *hi = *lo;
    }
    if (j >= p_.size() || p_[j] != '}') return false;
    *len = j + 1 - i_;
    return true;
  }

  void Repeat(int lo, int hi) {
    const uint64_t op = last_weight_;
    const uint64_t copies = static_cast<uint64_t>(hi >= 0 ? hi : lo);
    const uint64_t weight = copies * op;
    if (weight <= kMaxRepeatWeight && total_weight_ + weight <= kMaxTotalRepeatWeight) {
      total_weight_ += weight;
      frames_.back().max_weight = std::max(frames_.back().max_weight, weight);
      out_ += '{';
      out_ += std::to_string(lo);
      if (hi != lo) {
        out_ += ',';
        if (hi >= 0) out_ += std::to_string(hi);
      }
      out_ += '}';
      return;
    }
    a_.widened = true;
    uint64_t new_lo = 0;
    if (lo > 0) {
      new_lo = std::min<uint64_t>(static_cast<uint64_t>(lo),
                                  std::max<uint64_t>(1, kMaxRepeatWeight / op));
    }
    total_weight_ += new_lo * op;
    frames_.back().max_weight = std::max(frames_.back().max_weight, new_lo * op);
    out_ += '{';
    out_ += std::to_string(new_lo);
    out_ += ",}";
  }

  // RE2's ParseEscape for a single code point: octal, hex, C escapes, escaped punctuation.
  // On entry p_[i_] == '\\'. Returns false (and refuses) on anything else.
  bool EscapedCodePoint(char32_t* out) {
    if (i_ + 1 >= p_.size()) {
      Fail("trailing backslash");
      return false;
    }
    const auto d = static_cast<unsigned char>(p_[i_ + 1]);
    size_t j = i_ + 2;
    if (d < 0x80 && !IsAsciiAlpha(d) && !(d >= '0' && d <= '9')) {
      *out = d;
      i_ = j;
      return true;
    }
    if (d >= '1' && d <= '7' && (j >= p_.size() || !IsOctal(static_cast<unsigned char>(p_[j])))) {
      Fail("backreference");
      return false;
    }
    if (d >= '0' && d <= '7') {
      char32_t code = d - '0';
      for (int k = 0; k < 2 && j < p_.size() && IsOctal(static_cast<unsigned char>(p_[j])); ++k) {
        code = code * 8 + static_cast<char32_t>(p_[j] - '0');
        ++j;
      }
      *out = code;
      i_ = j;
      return true;
    }
    switch (d) {
      case 'x': {
        if (j < p_.size() && p_[j] == '{') {
          ++j;
          char32_t code = 0;
          int digits = 0;
          while (j < p_.size() && HexValue(static_cast<unsigned char>(p_[j])) >= 0) {
            code = code * 16 + static_cast<char32_t>(HexValue(static_cast<unsigned char>(p_[j])));
            if (code > 0x10FFFF) break;
            ++digits;
            ++j;
          }
          if (digits == 0 || code > 0x10FFFF || j >= p_.size() || p_[j] != '}') {
            Fail("bad \\x escape");
            return false;
          }
          *out = code;
          i_ = j + 1;
          return true;
        }
        if (j + 1 < p_.size() && HexValue(static_cast<unsigned char>(p_[j])) >= 0 &&
            HexValue(static_cast<unsigned char>(p_[j + 1])) >= 0) {
          *out = static_cast<char32_t>(HexValue(static_cast<unsigned char>(p_[j])) * 16 +
                                       HexValue(static_cast<unsigned char>(p_[j + 1])));
          i_ = j + 2;
          return true;
        }
        Fail("bad \\x escape");
        return false;
      }
      case 'n':
        *out = '\n';
        break;
      case 'r':
        *out = '\r';
        break;
      case 't':
        *out = '\t';
        break;
      case 'a':
        *out = '\a';
        break;
      case 'f':
        *out = '\f';
        break;
      case 'v':
        *out = '\v';
        break;
      default:
        Fail("unsupported escape");
        return false;
    }
    i_ = j;
    return true;
  }

  void Escape() {
    if (i_ + 1 >= p_.size()) return Fail("trailing backslash");
    const char d = p_[i_ + 1];
    switch (d) {
      case 'b':
      case 'B':
      case 'A':
      case 'z':
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        out_ += '\\';
        out_ += d;
        i_ += 2;
        Atom(1);
        return;
      case 's':
        out_ += '[';
        out_ += kSpaceItems;
        out_ += ']';
        i_ += 2;
        Atom(1);
        return;
      case 'S':
        out_ += "[^";
        out_ += kSpaceItems;
        out_ += ']';
        i_ += 2;
        Atom(1);
        return;
      case 'C':
        return Fail("\\C (any byte)");
      case 'p':
      case 'P':
        return Fail("Unicode class \\p");
      case 'Q': {
        i_ += 2;
        while (i_ < p_.size()) {
          if (p_.substr(i_, 2) == "\\E") {
            i_ += 2;
            break;
          }
          char32_t cp;
          const size_t len = DecodeUtf8(p_, i_, &cp);
          if (len == 0) return Fail("invalid UTF-8");
          EmitLiteral(cp, p_.substr(i_, len));
          i_ += len;
        }
        return;
      }
      default: {
        char32_t cp;
        if (!EscapedCodePoint(&cp)) return;
        // Always spelled as \x{..}: exact in both dialects whatever the code point.
        AppendHex(&out_, cp);
        Mention(cp);
        Atom(1);
        return;
      }
    }
  }

  // One code point inside a class: an escape or a literal character.
  bool ClassCodePoint(char32_t* out) {
    if (i_ >= p_.size()) {
      Fail("missing ]");
      return false;
    }
    if (p_[i_] == '\\') return EscapedCodePoint(out);
    const size_t len = DecodeUtf8(p_, i_, out);
    if (len == 0) {
      Fail("invalid UTF-8");
      return false;
    }
    i_ += len;
    return true;
  }

  void CharClass() {
    out_ += '[';
    ++i_;
    bool negated = false;
    if (i_ < p_.size() && p_[i_] == '^') {
      negated = true;
      out_ += '^';
      ++i_;
    }
    bool first = true;  // ']' is a literal as the first item
    while (i_ < p_.size() && (p_[i_] != ']' || first)) {
      first = false;
      // [:alpha:] and friends (ASCII in both dialects), copied as written.
      if (p_.size() - i_ > 2 && p_[i_] == '[' && p_[i_ + 1] == ':') {
        const size_t close = p_.find(":]", i_ + 2);
        if (close != std::string_view::npos) {
          out_.append(p_.substr(i_, close + 2 - i_));
          i_ = close + 2;
          continue;
        }
      }
      if (p_[i_] == '\\' && i_ + 1 < p_.size()) {
        const char d = p_[i_ + 1];
        if (d == 'p' || d == 'P') return Fail("Unicode class \\p");
        if (d == 'd' || d == 'D' || d == 'w' || d == 'W') {
          out_ += '\\';
          out_ += d;
          i_ += 2;
          continue;
        }
        if (d == 's') {
          out_ += kSpaceItems;
          i_ += 2;
          continue;
        }
        if (d == 'S') {
          // RE2's \S includes \v, PCRE's does not. In a positive class add it back; in a
          // negated class PCRE's \S removes less, which only widens the class.
          out_ += negated ? "\\S" : "\\S\\x{B}";
          i_ += 2;
          continue;
        }
      }
      char32_t lo;
      if (!ClassCodePoint(&lo)) return;
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        char32_t hi;
        if (!ClassCodePoint(&hi)) return;
        if (hi < lo) return Fail("bad class range");
        AppendHex(&out_, lo);
        out_ += '-';
        AppendHex(&out_, hi);
        MentionRange(lo, hi);
      } else {
        AppendHex(&out_, lo);
        Mention(lo);
      }
    }
    if (i_ >= p_.size()) return Fail("missing ]");
    out_ += ']';
    ++i_;
    Atom(1);
  }

  void OpenGroup() {
    if (i_ + 1 < p_.size() && p_[i_ + 1] == '?') {
      // (?P<name>expr): captures mean nothing to Hyperscan.
      if (i_ + 3 < p_.size() && p_[i_ + 2] == 'P' && p_[i_ + 3] == '<') {
        const size_t gt = p_.find('>', i_ + 4);
        if (gt == std::string_view::npos) return Fail("bad named group");
        out_ += "(?:";
        i_ = gt + 1;
        frames_.push_back(Frame{});
        quantifiable_ = false;
        return;
      }
      // Flags: (?flags) or (?flags:expr), flags from [imsU] with at most one '-'.
      std::string on;
      std::string off;
      bool negated = false;
      size_t j = i_ + 2;
      char term = 0;
      for (; j < p_.size(); ++j) {
        const char f = p_[j];
        if (f == ':' || f == ')') {
          term = f;
          break;
        }
        if (f == '-') {
          if (negated) return Fail("bad flags");
          negated = true;
          continue;
        }
        if (f != 'i' && f != 'm' && f != 's' && f != 'U') return Fail("bad flags");
        if (f == 'i' && !negated) a_.caseless = true;
        if (f == 'U') continue;  // ungreedy: irrelevant to which texts match
        (negated ? off : on) += f;
      }
      if (term == 0) return Fail("bad flags");
      std::string flags = on;
      if (!off.empty()) flags += "-" + off;
      i_ = j + 1;
      if (term == ')') {
        if (!flags.empty()) out_ += "(?" + flags + ")";
        quantifiable_ = false;
        return;
      }
      out_ += "(?" + flags + ":";
      frames_.push_back(Frame{});
      quantifiable_ = false;
      return;
    }
    out_ += '(';
    ++i_;
    frames_.push_back(Frame{});
    quantifiable_ = false;
  }

  std::string_view p_;
  size_t i_ = 0;
  std::string out_;
  RegexAnalysis a_;
  std::vector<Frame> frames_;
  uint64_t last_weight_ = 1;
  uint64_t total_weight_ = 0;
  bool quantifiable_ = false;
};

}  // namespace

RegexAnalysis AnalyzeRegex(std::string_view pattern, bool ignore_case) {
  return Translator(pattern, ignore_case).Run();
}

}  // namespace fedwall::match::internal
