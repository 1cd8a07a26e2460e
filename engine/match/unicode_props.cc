#include "engine/match/unicode_props.h"

#include <unicode/uchar.h>
#include <unicode/uscript.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

namespace fedwall::match::internal {
namespace {

// Strict UTF-8 decoding of one code point at `p` (`n` > 0 bytes available). Returns the
// length of the sequence, or 0 if it is not well-formed.
int Decode(const unsigned char* p, size_t n, char32_t* out) {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) {
    *out = b0;
    return 1;
  }
  int len;
  char32_t c;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    c = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    c = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    c = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // > U+10FFFF
  } else {
    return 0;
  }
  if (n < static_cast<size_t>(len)) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  c = (c << 6) | (p[1] & 0x3F);
  for (int i = 2; i < len; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (p[i] & 0x3F);
  }
  *out = c;
  return len;
}

struct CaseUnstableTable {
  std::array<uint64_t, 1024> bmp{};                   // one bit per BMP code point
  std::vector<std::pair<char32_t, char32_t>> ranges;  // all of them, sorted, merged
};

const CaseUnstableTable& Table() {
  static const CaseUnstableTable* const table = [] {
    auto* t = new CaseUnstableTable;
    auto add = [t](char32_t c) {
      if (c < 0x10000) t->bmp[c >> 6] |= uint64_t{1} << (c & 63);
      if (!t->ranges.empty() && t->ranges.back().second + 1 == c) {
        t->ranges.back().second = c;
      } else {
        t->ranges.emplace_back(c, c);
      }
    };
    for (UChar32 c = 0x80; c <= 0x10FFFF; ++c) {
      if (c == 0xD800) c = 0xE000;
      if (c == 0x17F || c == 0x212A) {
        add(static_cast<char32_t>(c));
        continue;
      }
      UVersionInfo age;
      u_charAge(c, age);
      if (age[0] < 8) continue;
      if (u_hasBinaryProperty(c, UCHAR_CASE_SENSITIVE) || u_hasBinaryProperty(c, UCHAR_CASED) ||
          u_hasBinaryProperty(c, UCHAR_CHANGES_WHEN_CASEFOLDED) ||
          u_hasBinaryProperty(c, UCHAR_CHANGES_WHEN_CASEMAPPED)) {
        add(static_cast<char32_t>(c));
      }
    }
    return t;
  }();
  return *table;
}

constexpr std::array<UScriptCode, 7> kSpacelessScripts = {
    USCRIPT_HAN, USCRIPT_HIRAGANA, USCRIPT_KATAKANA, USCRIPT_THAI,
    USCRIPT_LAO, USCRIPT_KHMER,    USCRIPT_MYANMAR};

}  // namespace

size_t DecodeUtf8(std::string_view s, size_t i, char32_t* c) {
  if (i >= s.size()) return 0;
  return static_cast<size_t>(
      Decode(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i, c));
}

char32_t CodePointBefore(std::string_view s, size_t end) {
  if (end == 0 || end > s.size()) return kReplacementChar;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t start = end - 1;
  // Step back over at most three continuation bytes to the lead byte.
  while (start > 0 && end - start < 4 && (p[start] & 0xC0) == 0x80) --start;
  char32_t c;
  const int len = Decode(p + start, end - start, &c);
  if (len == 0 || start + static_cast<size_t>(len) != end) return kReplacementChar;
  return c;
}

char32_t CodePointAt(std::string_view s, size_t start) {
  if (start >= s.size()) return kReplacementChar;
  char32_t c;
  const int len =
      Decode(reinterpret_cast<const unsigned char*>(s.data()) + start, s.size() - start, &c);
  return len == 0 ? kReplacementChar : c;
}

bool IsWordChar(char32_t c) {
  if (c < 0x80) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) != 0;
}

bool IsSpacelessScript(char32_t c) {
  if (c < 0x80) return false;  // no ASCII character belongs to these scripts
  const auto cp = static_cast<UChar32>(c);
  UErrorCode status = U_ZERO_ERROR;
  const UScriptCode script = uscript_getScript(cp, &status);
  if (U_FAILURE(status)) return false;
  for (UScriptCode s : kSpacelessScripts) {
    if (script == s) return true;
  }
  if (script != USCRIPT_COMMON && script != USCRIPT_INHERITED) return false;
  for (UScriptCode s : kSpacelessScripts) {
    if (uscript_hasScript(cp, s)) return true;
  }
  return false;
}

bool IsCaseUnstable(char32_t c) {
  if (c < 0x80) return false;
  const CaseUnstableTable& t = Table();
  if (c < 0x10000) return (t.bmp[c >> 6] >> (c & 63)) & 1;
  return RangeHasCaseUnstable(c, c);
}

bool RangeHasCaseUnstable(char32_t lo, char32_t hi) {
  if (hi < lo) return false;
  const auto& ranges = Table().ranges;
  // First range whose end is >= lo.
  auto it = std::lower_bound(
      ranges.begin(), ranges.end(), lo,
      [](const std::pair<char32_t, char32_t>& r, char32_t v) { return r.second < v; });
  return it != ranges.end() && it->first <= hi;
}

Utf8Facts ScanUtf8(std::string_view s, bool want_case_unstable) {
  Utf8Facts facts;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    while (i < n && p[i] < 0x80) ++i;
    if (i >= n) break;
    char32_t c;
    const int len = Decode(p + i, n - i, &c);
    if (len == 0) {
      facts.valid = false;
      if (!want_case_unstable || facts.has_case_unstable) return facts;
      ++i;
      continue;
    }
    if (want_case_unstable && !facts.has_case_unstable && IsCaseUnstable(c)) {
      facts.has_case_unstable = true;
      if (!facts.valid) return facts;
    }
    i += static_cast<size_t>(len);
  }
  return facts;
}

}  // namespace fedwall::match::internal
