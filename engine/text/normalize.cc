// Text normalisation: see normalize.h for the contract.
//
// Shape of the work, per text:
//   Unfold:  one pass (Filter) that drops ignorables and controls, collapses and trims white
//            space, replaces invalid UTF-8, and writes each character's NFKC form from the
//            generated kUnfold table (tables.h). When a character's NFKC form depends on its
//            neighbours (combining marks, conjoining jamo, ...), the text instead goes
//            Filter -> ICU NFKC -> Filter (UnfoldSlow).
//   Fold:    ASCII is lower-cased; other characters get their whole fold (NFKC_Casefold,
//            confusables, NFKC_Casefold) from the kFold table, in one pass (FoldFast). When
//            a character's fold depends on its neighbours, the text instead goes through
//            ICU NFKC_Casefold -> confusables table -> ICU NFKC_Casefold (FoldWithIcu).
//   Normalize: both at once (NormalizeFast), when the tables suffice.
//   HtmlToText: one pass over the markup (HtmlToTextInto), which can also report where each
//            tag is (internal::HtmlToTextWithMarkup), for the activity parser's links.
// The tables are generated at build time from ICU's own data (gen_tables.cc), and the tests
// check that both paths agree for every code point. Pure-ASCII text never reaches ICU.
//
// Speed: runs of plain ASCII are copied and lower-cased 16 bytes at a time with SSE2 (every
// x86-64), else 8 at a time (SWAR); markup characters are searched the same way; common
// character references and well-formed UTF-8 are decoded inline; output buffers are sized
// once and written through, with growth checked but out of line.
//
// Offsets: every stage that can change lengths reports, for each output byte, the offset of
// the input character it came from (ICU's Edits for the ICU stages); stages compose by
// indexing. Breaks (where ignorables were removed) are carried as offsets through each stage.
#include "engine/text/normalize.h"

#include <unicode/bytestream.h>
#include <unicode/edits.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "engine/text/normalize_internal.h"
#include "engine/text/tables.h"

namespace fedwall::text {
namespace {

constexpr char kReplacementChar[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// ---------------------------------------------------------------------------------------
// ASCII helpers

bool IsAscii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if ((w & 0x8080808080808080ull) != 0) return false;
  }
  for (; i < n; ++i) {
    if (static_cast<unsigned char>(p[i]) >= 0x80) return false;
  }
  return true;
}

// Length of the leading run of ASCII bytes of s[i, n).
size_t AsciiRun(const char* p, size_t i, size_t n) {
  size_t start = i;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if ((w & 0x8080808080808080ull) != 0) break;
  }
  while (i < n && static_cast<unsigned char>(p[i]) < 0x80) ++i;
  return i - start;
}

// SWAR (8 bytes at a time) helpers. Masks have bit 7 set in the bytes that match, exactly
// (no borrow between bytes), so the first match is the lowest set byte (little-endian).
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighBits = kOnes * 0x80;
constexpr uint64_t kLow7Bits = kOnes * 0x7F;
constexpr bool kSwar = std::endian::native == std::endian::little;

uint64_t LoadWord(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Bytes equal to `c`.
uint64_t MatchByte(uint64_t w, unsigned char c) {
  const uint64_t x = w ^ (kOnes * c);
  return ~(((x & kLow7Bits) + kLow7Bits) | x) & kHighBits;
}

// Bytes that Filter cannot copy as they are: controls (< 0x20), DEL, non-ASCII, and spaces
// not followed by a plain visible character within the word (runs of spaces, a space at
// the end of the word).
uint64_t MatchFilterSpecial(uint64_t w) {
  const uint64_t control = ~((w & kLow7Bits) + kOnes * 0x60) & ~w & kHighBits;
  const uint64_t special = control | MatchByte(w, 0x7F) | (w & kHighBits);
  const uint64_t space = MatchByte(w, ' ');
  const uint64_t next_not_plain = ((special | space) >> 8) | (kHighBits & ~(kHighBits >> 8));
  return special | (space & next_not_plain);
}

// Index (0-7) of the first matching byte of a non-zero mask.
size_t FirstMatch(uint64_t mask) { return static_cast<size_t>(std::countr_zero(mask)) / 8; }

// 16 bytes at a time where SSE2 is there (every x86-64), else SWAR.
#if defined(__SSE2__)
inline __m128i Load16(const char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
inline void Store16(char* p, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); }
inline unsigned Mask16(__m128i v) { return static_cast<unsigned>(_mm_movemask_epi8(v)); }
#endif

// Index of the first byte of p[i, n) equal to `a` or `b`; n when there is none.
inline size_t FindEitherByte(const char* p, size_t i, size_t n, char a, char b) {
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = Load16(p + i);
    const unsigned m = Mask16(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)));
    if (m != 0) return i + static_cast<size_t>(std::countr_zero(m));
  }
#endif
  if constexpr (kSwar) {
    for (; i + 8 <= n; i += 8) {
      const uint64_t w = LoadWord(p + i);
      const uint64_t m =
          MatchByte(w, static_cast<unsigned char>(a)) | MatchByte(w, static_cast<unsigned char>(b));
      if (m != 0) return i + FirstMatch(m);
    }
  }
  while (i < n && p[i] != a && p[i] != b) ++i;
  return i;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Lower-cases the ASCII letters of dst[0, n) in place, 8 bytes at a time (other bytes,
// including non-ASCII ones, are unchanged).
void AsciiLowerInPlace(char* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, dst + i, 8);
    const uint64_t ascii = ~w & kHighBits;  // bit 7 set in the ASCII bytes
    const uint64_t low7 = w & (kOnes * 0x7F);
    // For ASCII byte b: (b + 0x3F) has bit 7 set iff b >= 'A'; (b + 0x25) iff b > 'Z'.
    const uint64_t ge_a = low7 + kOnes * (0x80 - 'A');
    const uint64_t gt_z = low7 + kOnes * (0x80 - 'Z' - 1);
    const uint64_t upper = ge_a & ~gt_z & ascii;
    w |= upper >> 2;  // 0x80 >> 2 == 0x20
    std::memcpy(dst + i, &w, 8);
  }
  for (; i < n; ++i) dst[i] = AsciiLower(dst[i]);
}

void AppendAsciiLower(std::string_view s, std::string* out) {
  const size_t old = out->size();
  out->append(s);
  AsciiLowerInPlace(out->data() + old, s.size());
}

// Copies `len` bytes; inlined for the 1-4 byte strings of a character.
inline void CopySmall(char* dst, const char* src, size_t len) {
  switch (len) {
    case 1:
      dst[0] = src[0];
      return;
    case 2:
      std::memcpy(dst, src, 2);
      return;
    case 3:
      std::memcpy(dst, src, 3);
      return;
    case 4:
      std::memcpy(dst, src, 4);
      return;
    default:
      std::memcpy(dst, src, len);
  }
}

// The code point starting at p[*i] (a non-ASCII byte), advancing *i past it, exactly as
// U8_NEXT does: a negative value for an invalid sequence, *i then past its maximal subpart.
// Well-formed two- and three-byte sequences (all of Latin, Greek, Cyrillic, CJK, ...) are
// decoded inline; U8_NEXT decides the rest.
inline UChar32 NextCodePoint(const char* p, size_t* i, size_t n) {
  const auto byte = [p](size_t k) { return static_cast<unsigned char>(p[k]); };
  const auto continuation = [&byte](size_t k) { return (byte(k) & 0xC0) == 0x80; };
  const size_t at = *i;
  const unsigned char b = byte(at);
  if (b >= 0xC2 && b <= 0xDF && at + 1 < n && continuation(at + 1)) {
    *i = at + 2;
    return static_cast<UChar32>(((b & 0x1Fu) << 6) | (byte(at + 1) & 0x3Fu));
  }
  if (b >= 0xE0 && b <= 0xEF && at + 2 < n && continuation(at + 1) && continuation(at + 2)) {
    const UChar32 c = static_cast<UChar32>(((b & 0x0Fu) << 12) | ((byte(at + 1) & 0x3Fu) << 6) |
                                           (byte(at + 2) & 0x3Fu));
    if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {  // not overlong, not a surrogate
      *i = at + 3;
      return c;
    }
  }
  int32_t j = static_cast<int32_t>(at);
  UChar32 c;
  U8_NEXT(p, j, static_cast<int32_t>(n), c);
  *i = static_cast<size_t>(j);
  return c;
}

// ---------------------------------------------------------------------------------------
// ICU normalisers

const icu::Normalizer2* Nfkc() {
  static const icu::Normalizer2* const kNfkc = [] {
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFKCInstance(err);
    return U_SUCCESS(err) ? n : nullptr;
  }();
  return kNfkc;
}

const icu::Normalizer2* NfkcCasefold() {
  static const icu::Normalizer2* const kNfkcCf = [] {
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFKCCasefoldInstance(err);
    return U_SUCCESS(err) ? n : nullptr;
  }();
  return kNfkcCf;
}

icu::StringPiece Piece(std::string_view s) {
  return icu::StringPiece(s.data(), static_cast<int32_t>(s.size()));
}

// Normalises valid UTF-8 `in` into `out`. When `edits` is given it receives ICU's record of
// the changes. Returns false (and leaves `out` = `in`) if ICU fails, which it does not for
// valid input short of memory exhaustion.
bool IcuNormalize(const icu::Normalizer2* n, std::string_view in, std::string* out,
                  icu::Edits* edits) {
  out->clear();
  if (n != nullptr) {
    out->reserve(in.size() + in.size() / 8 + 16);
    icu::StringByteSink<std::string> sink(out, static_cast<int32_t>(in.size()));
    UErrorCode err = U_ZERO_ERROR;
    n->normalizeUTF8(0, Piece(in), sink, edits, err);
    if (U_SUCCESS(err)) return true;
  }
  out->assign(in);
  if (edits != nullptr) edits->reset();
  return false;
}

bool IcuIsNormalized(const icu::Normalizer2* n, std::string_view s) {
  if (n == nullptr) return true;
  UErrorCode err = U_ZERO_ERROR;
  bool yes = n->isNormalizedUTF8(Piece(s), err);
  return U_FAILURE(err) || yes;
}

// For each byte of `dst` (the result of the normalisation recorded in `edits`), the source
// offset of the character it belongs to, plus a final entry `src_size`. Bytes of a changed
// span all map to the start of that span (ICU's fine iterator reports one span per
// normalisation segment); bytes of an unchanged character map to that character's start.
void EditsToOffsets(const icu::Edits& edits, size_t src_size, std::string_view dst,
                    std::vector<uint32_t>* map) {
  const size_t dst_size = dst.size();
  map->resize(dst_size + 1);
  uint32_t* m = map->data();
  icu::Edits::Iterator it = edits.getFineIterator();
  UErrorCode err = U_ZERO_ERROR;
  size_t last_dst = 0;
  while (it.next(err)) {
    const size_t src = static_cast<size_t>(it.sourceIndex());
    const size_t d = static_cast<size_t>(it.destinationIndex());
    const size_t len = static_cast<size_t>(it.newLength());
    if (it.hasChange()) {
      for (size_t k = 0; k < len; ++k) m[d + k] = static_cast<uint32_t>(src);
    } else {
      for (size_t k = 0; k < len; ++k) {
        const bool continuation = (static_cast<unsigned char>(dst[d + k]) & 0xC0) == 0x80;
        m[d + k] = continuation && k > 0 ? m[d + k - 1] : static_cast<uint32_t>(src + k);
      }
    }
    last_dst = d + len;
  }
  // Without any recorded span (empty input) or on an iterator error, fall back to identity
  // for whatever is left; never leave entries uninitialised.
  for (size_t k = last_dst; k < dst_size; ++k) {
    m[k] = static_cast<uint32_t>(std::min(k, src_size));
  }
  m[dst_size] = static_cast<uint32_t>(src_size);
}

// Maps sorted source offsets through `edits`: an offset at the start of a span or inside an
// unchanged span maps to the corresponding destination offset; one strictly inside a changed
// span (characters that merged) is dropped.
std::vector<uint32_t> MapThroughEdits(const icu::Edits& edits, const std::vector<uint32_t>& in) {
  std::vector<uint32_t> out;
  out.reserve(in.size());
  size_t k = 0;
  icu::Edits::Iterator it = edits.getFineIterator();
  UErrorCode err = U_ZERO_ERROR;
  size_t src_end = 0, dst_end = 0;
  while (k < in.size() && it.next(err)) {
    const size_t src = static_cast<size_t>(it.sourceIndex());
    const size_t dst = static_cast<size_t>(it.destinationIndex());
    const size_t old_len = static_cast<size_t>(it.oldLength());
    src_end = src + old_len;
    dst_end = dst + static_cast<size_t>(it.newLength());
    while (k < in.size() && in[k] < src_end) {
      if (in[k] == src) {
        out.push_back(static_cast<uint32_t>(dst));
      } else if (!it.hasChange()) {
        out.push_back(static_cast<uint32_t>(dst + (in[k] - src)));
      }
      ++k;
    }
  }
  for (; k < in.size(); ++k) {
    if (in[k] == src_end) out.push_back(static_cast<uint32_t>(dst_end));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Filter: ignorables and white space

// What Filter does with an ASCII byte (the generated kUnfold table agrees; a test checks).
enum AsciiClass : uint8_t { kAsciiKeep, kAsciiSpace, kAsciiDrop };

constexpr std::array<AsciiClass, 128> MakeAsciiClass() {
  std::array<AsciiClass, 128> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = kAsciiDrop;       // C0 controls
  for (int c = 0x09; c <= 0x0D; ++c) t[c] = kAsciiSpace;  // TAB LF VT FF CR (White_Space)
  t[0x20] = kAsciiSpace;
  t[0x7F] = kAsciiDrop;  // DEL
  return t;
}
constexpr std::array<AsciiClass, 128> kAsciiClass = MakeAsciiClass();

// Writes `in` to `out` (replacing its contents) with Default_Ignorable code points and
// controls removed, every run of white space collapsed to one ' ', trimmed, and every invalid
// UTF-8 sequence replaced by U+FFFD (see tables.h for the classes). With `nfkc`, also
// replaces each character by its NFKC form from the kUnfold table; then it returns false
// (leaving `out` unspecified) as soon as it meets a character whose NFKC form depends on its
// neighbours. Returns true otherwise.
// `in_breaks` (sorted offsets into `in`) are positions where something was already removed;
// `out_breaks`, if given, receives the offsets in `out` where something removed sat between
// two kept characters (no break is recorded next to a space).
bool Filter(std::string_view in, bool nfkc, const std::vector<uint32_t>& in_breaks,
            std::string* out, std::vector<uint32_t>* out_breaks) {
  const char* p = in.data();
  const size_t n = in.size();
  if (out_breaks != nullptr) out_breaks->clear();
  // Without NFKC the output is never longer than the input, except for U+FFFD replacing
  // shorter invalid sequences; those and NFKC expansions grow the buffer as needed.
  out->resize(n + 16);
  char* dst = out->data();
  size_t o = 0;
  auto reserve = [&](size_t more) {
    if (o + more + 8 > out->size()) {
      out->resize(std::max(out->size() * 2, o + more + 16));
      dst = out->data();
    }
  };
  size_t next_break_index = 0;
  size_t next_break = in_breaks.empty() ? n + 1 : in_breaks[0];
  bool pending_space = false;
  bool pending_break = false;
  // Called before writing a kept character: emits the pending space or records the break.
  auto flush = [&] {
    if (o != 0) {
      if (pending_space) {
        dst[o++] = ' ';
      } else if (pending_break && out_breaks != nullptr) {
        out_breaks->push_back(static_cast<uint32_t>(o));
      }
    }
    pending_space = false;
    pending_break = false;
  };
  size_t i = 0;
  while (i < n) {
    if (i >= next_break) {
      pending_break = true;
      while (next_break_index < in_breaks.size() && in_breaks[next_break_index] <= i) {
        ++next_break_index;
      }
      next_break = next_break_index < in_breaks.size() ? in_breaks[next_break_index] : n + 1;
    }
    const unsigned char b = static_cast<unsigned char>(p[i]);
    if (b < 0x80) {
      const AsciiClass cls = kAsciiClass[b];
      if (cls == kAsciiKeep) {
        flush();
        // Copy the run of plain ASCII characters and single spaces between them, 8 bytes at
        // a time while possible.
        const size_t limit = std::min(n, next_break);
        if constexpr (kSwar) {
          if (o + 16 > out->size()) reserve(16);
          while (i + 8 <= limit && o + 8 <= out->size()) {
            const uint64_t w = LoadWord(p + i);
            std::memcpy(dst + o, &w, 8);
            const uint64_t special = MatchFilterSpecial(w);
            if (special != 0) {
              const size_t k = FirstMatch(special);
              i += k;
              o += k;
              break;
            }
            i += 8;
            o += 8;
          }
        }
        while (i < limit && static_cast<unsigned char>(p[i]) < 0x80 &&
               kAsciiClass[static_cast<unsigned char>(p[i])] == kAsciiKeep) {
          if (o + 1 > out->size()) reserve(1);
          dst[o++] = p[i++];
        }
      } else {
        (cls == kAsciiSpace ? pending_space : pending_break) = true;
        ++i;
      }
      continue;
    }
    const size_t start = i;
    int32_t j = static_cast<int32_t>(i);
    UChar32 c;
    U8_NEXT(p, j, static_cast<int32_t>(n), c);
    i = static_cast<size_t>(j);
    if (c < 0) {
      flush();
      reserve(3);
      std::memcpy(dst + o, kReplacementChar, 3);
      o += 3;
      continue;
    }
    const internal::Entry e = internal::UnfoldEntry(static_cast<uint32_t>(c));
    switch (internal::TagOf(e)) {
      case internal::kSpace:
        pending_space = true;
        break;
      case internal::kDrop:
        pending_break = true;
        break;
      case internal::kSlow:
        if (nfkc) return false;
        [[fallthrough]];
      case internal::kKeep: {
        flush();
        std::string_view rep = nfkc ? internal::ReplacementOf(e) : std::string_view();
        if (rep.empty()) rep = std::string_view(p + start, i - start);
        if (o + rep.size() + 8 > out->size()) reserve(rep.size());
        CopySmall(dst + o, rep.data(), rep.size());
        o += rep.size();
        break;
      }
    }
  }
  out->resize(o);
  return true;
}

const std::vector<uint32_t> kNoBreaks;

// Unfold with ICU: filter, let ICU normalise the whole text, and filter again (NFKC can
// produce spaces: U+00A8 -> " \u0308"). Ignorables are removed before NFKC so that
// "e<ZWSP>\u0301" composes to "é".
std::string UnfoldSlow(std::string_view plain, std::vector<uint32_t>* breaks) {
  std::string out;
  std::string filtered;
  std::vector<uint32_t> filtered_breaks;
  Filter(plain, /*nfkc=*/false, kNoBreaks, &filtered,
         breaks != nullptr ? &filtered_breaks : nullptr);
  std::string nfkc;
  icu::Edits edits;
  const bool want_edits = breaks != nullptr && !filtered_breaks.empty();
  IcuNormalize(Nfkc(), filtered, &nfkc, want_edits ? &edits : nullptr);
  std::vector<uint32_t> nfkc_breaks;
  if (want_edits) nfkc_breaks = MapThroughEdits(edits, filtered_breaks);
  Filter(nfkc, /*nfkc=*/false, nfkc_breaks, &out, breaks);
  return out;
}

// Unfold of any input (invalid UTF-8 becomes U+FFFD), with break offsets (into the result)
// when `breaks` is given.
std::string UnfoldImpl(std::string_view plain, std::vector<uint32_t>* breaks) {
  std::string out;
  // Fast path: NFKC character by character from the table; ICU when some character
  // composes or reorders with its neighbours.
  if (Filter(plain, /*nfkc=*/true, kNoBreaks, &out, breaks)) return out;
  return UnfoldSlow(plain, breaks);
}

// ---------------------------------------------------------------------------------------
// Confusables

// Applies the confusables table to the non-ASCII characters of `in` (valid UTF-8). Returns
// false, leaving `out` and `map` untouched, when nothing changes. `map`, when given, receives
// for each output byte the offset of its source character in `in`, plus a final entry.
bool ApplyConfusables(std::string_view in, std::string* out, std::vector<uint32_t>* map) {
  const char* p = in.data();
  const size_t n = in.size();
  size_t i = AsciiRun(p, 0, n);
  // Find the first character with a replacement, so unchanged text costs no copy.
  size_t first = n;
  while (i < n) {
    int32_t j = static_cast<int32_t>(i);
    UChar32 c;
    U8_NEXT(p, j, static_cast<int32_t>(n), c);
    if (c >= 0 && !internal::ConfusableReplacement(static_cast<uint32_t>(c)).empty()) {
      first = i;
      break;
    }
    i = static_cast<size_t>(j);
    i += AsciiRun(p, i, n);
  }
  if (first == n) return false;
  out->clear();
  out->reserve(n + n / 4);
  out->append(p, first);
  if (map != nullptr) {
    map->clear();
    map->reserve(n + n / 4 + 1);
    for (size_t k = 0; k < first; ++k) {
      const bool continuation = (static_cast<unsigned char>(p[k]) & 0xC0) == 0x80;
      map->push_back(continuation ? map->back() : static_cast<uint32_t>(k));
    }
  }
  i = first;
  while (i < n) {
    const size_t start = i;
    if (static_cast<unsigned char>(p[i]) < 0x80) {
      i += AsciiRun(p, i, n);
      out->append(p + start, i - start);
      if (map != nullptr) {
        for (size_t k = start; k < i; ++k) map->push_back(static_cast<uint32_t>(k));
      }
      continue;
    }
    int32_t j = static_cast<int32_t>(i);
    UChar32 c;
    U8_NEXT(p, j, static_cast<int32_t>(n), c);
    i = static_cast<size_t>(j);
    std::string_view rep =
        c >= 0 ? internal::ConfusableReplacement(static_cast<uint32_t>(c)) : std::string_view();
    if (rep.empty()) {
      out->append(p + start, i - start);
      if (map != nullptr) {
        for (size_t k = start; k < i; ++k) map->push_back(static_cast<uint32_t>(start));
      }
    } else {
      out->append(rep);
      if (map != nullptr) map->insert(map->end(), rep.size(), static_cast<uint32_t>(start));
    }
  }
  if (map != nullptr) map->push_back(static_cast<uint32_t>(n));
  return true;
}

// `outer` maps bytes of C to bytes of B, `inner` maps bytes of B to bytes of A; on return
// `outer` maps bytes of C to bytes of A.
void ComposeOffsets(const std::vector<uint32_t>& inner, std::vector<uint32_t>* outer) {
  for (uint32_t& o : *outer) o = inner[o];
}

// Fold character by character from the kFold table. Returns false (leaving the outputs
// unspecified) when some character's fold depends on its neighbours. `in` must be valid.
// `offsets`: as for Fold. `breaks`: sorted offsets of character starts in `in`; each is
// mapped to the offset in `out` where that character's fold starts, into `out_breaks`.
bool FoldFast(std::string_view in, std::string* out, std::vector<uint32_t>* offsets,
              const std::vector<uint32_t>& breaks, std::vector<uint32_t>* out_breaks) {
  const char* p = in.data();
  const size_t n = in.size();
  out->resize(n + n / 4 + 16);
  char* dst = out->data();
  uint32_t* off = nullptr;
  if (offsets != nullptr) {
    offsets->resize(out->size() + 1);
    off = offsets->data();
  }
  size_t o = 0;
  size_t next_break_index = 0;
  auto grow = [&](size_t more) {
    out->resize(std::max(out->size() * 2, o + more + 16));
    dst = out->data();
    if (offsets != nullptr) {
      offsets->resize(out->size() + 1);
      off = offsets->data();
    }
  };
  size_t next_break = breaks.empty() ? n + 1 : breaks[0];
  size_t i = 0;
  while (i < n) {
    if (next_break <= i) {
      // Breaks at or before i (breaks are at character starts, never inside a character).
      while (next_break_index < breaks.size() && breaks[next_break_index] <= i) {
        if (out_breaks != nullptr) out_breaks->push_back(static_cast<uint32_t>(o));
        ++next_break_index;
      }
      next_break = next_break_index < breaks.size() ? breaks[next_break_index] : n + 1;
    }
    if (static_cast<unsigned char>(p[i]) < 0x80) {
      // ASCII, lower-cased 8 bytes at a time while possible, up to the next break.
      const size_t limit = std::min(n, next_break);
      if (o + (limit - i) + 8 > out->size()) grow(limit - i);
      if constexpr (kSwar) {
        while (i + 8 <= limit) {
          uint64_t w = LoadWord(p + i);
          if ((w & kHighBits) != 0) break;
          const uint64_t ge_a = w + kOnes * (0x80 - 'A');
          const uint64_t gt_z = w + kOnes * (0x80 - 'Z' - 1);
          w |= (ge_a & ~gt_z & kHighBits) >> 2;
          std::memcpy(dst + o, &w, 8);
          if (off != nullptr) {
            for (size_t k = 0; k < 8; ++k) off[o + k] = static_cast<uint32_t>(i + k);
          }
          i += 8;
          o += 8;
        }
      }
      while (i < limit && static_cast<unsigned char>(p[i]) < 0x80) {
        if (off != nullptr) off[o] = static_cast<uint32_t>(i);
        dst[o++] = AsciiLower(p[i++]);
      }
      continue;
    }
    const size_t start = i;
    UChar32 c;
    U8_NEXT_UNSAFE(p, i, c);
    const internal::Entry e = internal::FoldEntry(static_cast<uint32_t>(c));
    if (internal::TagOf(e) != internal::kKeep) return false;
    std::string_view rep = internal::ReplacementOf(e);
    if (rep.empty()) rep = std::string_view(p + start, i - start);
    if (o + rep.size() + 8 > out->size()) grow(rep.size());
    CopySmall(dst + o, rep.data(), rep.size());
    if (off != nullptr) {
      for (size_t k = 0; k < rep.size(); ++k) off[o + k] = static_cast<uint32_t>(start);
    }
    o += rep.size();
  }
  out->resize(o);
  if (offsets != nullptr) {
    offsets->resize(o + 1);
    (*offsets)[o] = static_cast<uint32_t>(n);
  }
  return true;
}

// Unfold and Fold in one pass, from the kUnfold and kFold tables, for Normalize. Returns
// false (leaving `t` unspecified) when some character's NFKC form or fold depends on its
// neighbours; the caller then takes the general path. Same results as Filter with NFKC
// followed by FoldFast, with the breaks recorded directly at their folded offsets.
bool NormalizeFast(std::string_view in, NormalizedText* t) {
  const char* p = in.data();
  const size_t n = in.size();
  std::string& unf = t->unfolded;
  std::string& fold = t->folded;
  unf.resize(n + 16);
  fold.resize(n + n / 4 + 16);
  size_t uo = 0;  // bytes written to unf
  size_t fo = 0;  // bytes written to fold
  bool pending_space = false;
  bool pending_break = false;
  auto flush = [&] {
    if (uo != 0) {
      if (pending_space) {
        unf[uo++] = ' ';
        fold[fo++] = ' ';
      } else if (pending_break) {
        t->folded_breaks.push_back(static_cast<uint32_t>(fo));
      }
    }
    pending_space = false;
    pending_break = false;
  };
  // Room for `u` more bytes of unf and `f` of fold, plus 8 for word-sized stores. The check
  // is inlined at every character; growing (rare) is not.
  auto grow = [&](size_t u, size_t f) {
    if (uo + u + 9 > unf.size()) unf.resize(std::max(unf.size() * 2, uo + u + 16));
    if (fo + f + 9 > fold.size()) fold.resize(std::max(fold.size() * 2, fo + f + 16));
  };
  auto ensure = [&](size_t u, size_t f) {
    if (uo + u + 9 > unf.size() || fo + f + 9 > fold.size()) grow(u, f);
  };
  // Appends the fold of one non-ASCII code point; false if it needs ICU.
  auto append_fold = [&](UChar32 c, const char* bytes, size_t len) {
    const internal::Entry e = internal::FoldEntry(static_cast<uint32_t>(c));
    if (internal::TagOf(e) != internal::kKeep) return false;
    std::string_view rep = internal::ReplacementOf(e);
    if (rep.empty()) rep = std::string_view(bytes, len);
    ensure(0, rep.size());
    CopySmall(fold.data() + fo, rep.data(), rep.size());
    fo += rep.size();
    return true;
  };
  size_t i = 0;
  while (i < n) {
    const unsigned char b = static_cast<unsigned char>(p[i]);
    if (b < 0x80) {
      const AsciiClass cls = kAsciiClass[b];
      if (cls != kAsciiKeep) {
        (cls == kAsciiSpace ? pending_space : pending_break) = true;
        ++i;
        continue;
      }
      flush();
      // Plain ASCII and single spaces between them, 16 or 8 bytes at a time while possible.
#if defined(__SSE2__)
      bool stopped = false;  // at a byte the loops below cannot copy either
      ensure(32, 32);
      while (i + 16 <= n && uo + 17 <= unf.size() && fo + 17 <= fold.size()) {
        const __m128i v = Load16(p + i);
        // As MatchFilterSpecial: controls and non-ASCII (negative as signed bytes), DEL, and
        // spaces not followed by a plain character of these 16.
        const unsigned special = Mask16(_mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                                     _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F))));
        const unsigned space = Mask16(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
        const unsigned stop = special | (space & (((special | space) >> 1) | 0x8000u));
        const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                                            _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
        Store16(unf.data() + uo, v);
        Store16(fold.data() + fo, _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20))));
        const size_t k = stop != 0 ? static_cast<size_t>(std::countr_zero(stop)) : 16;
        i += k;
        uo += k;
        fo += k;
        if (k < 16) {
          stopped = true;
          break;
        }
      }
      if (stopped) continue;
#endif
      if constexpr (kSwar) {
        ensure(16, 16);
        while (i + 8 <= n && uo + 9 <= unf.size() && fo + 9 <= fold.size()) {
          uint64_t w = LoadWord(p + i);
          const uint64_t special = MatchFilterSpecial(w);
          std::memcpy(unf.data() + uo, &w, 8);
          const uint64_t ge_a = w + kOnes * (0x80 - 'A');
          const uint64_t gt_z = w + kOnes * (0x80 - 'Z' - 1);
          w |= (ge_a & ~gt_z & ~w & kHighBits) >> 2;
          std::memcpy(fold.data() + fo, &w, 8);
          if (special != 0) {
            const size_t k = FirstMatch(special);
            i += k;
            uo += k;
            fo += k;
            break;
          }
          i += 8;
          uo += 8;
          fo += 8;
        }
      }
      while (i < n && static_cast<unsigned char>(p[i]) < 0x80 &&
             kAsciiClass[static_cast<unsigned char>(p[i])] == kAsciiKeep) {
        ensure(1, 1);
        unf[uo++] = p[i];
        fold[fo++] = AsciiLower(p[i]);
        ++i;
      }
      continue;
    }
    const size_t start = i;
    const UChar32 c = NextCodePoint(p, &i, n);
    if (c < 0) {
      flush();
      ensure(3, 3);
      std::memcpy(unf.data() + uo, kReplacementChar, 3);
      uo += 3;
      if (!append_fold(0xFFFD, kReplacementChar, 3)) return false;
      continue;
    }
    const internal::Entry e = internal::UnfoldEntry(static_cast<uint32_t>(c));
    switch (internal::TagOf(e)) {
      case internal::kSpace:
        pending_space = true;
        continue;
      case internal::kDrop:
        pending_break = true;
        continue;
      case internal::kSlow:
        return false;
      case internal::kKeep:
        break;
    }
    flush();
    const std::string_view rep = internal::ReplacementOf(e);
    if (rep.empty()) {  // NFKC leaves it as it is
      ensure(i - start, 0);
      CopySmall(unf.data() + uo, p + start, i - start);
      uo += i - start;
      if (!append_fold(c, p + start, i - start)) return false;
      continue;
    }
    ensure(rep.size(), rep.size());
    CopySmall(unf.data() + uo, rep.data(), rep.size());
    uo += rep.size();
    // Fold each character of the NFKC form (e.g. fullwidth 'Ａ' -> 'A' -> 'a').
    for (size_t k = 0; k < rep.size();) {
      const unsigned char d = static_cast<unsigned char>(rep[k]);
      if (d < 0x80) {
        fold[fo++] = AsciiLower(static_cast<char>(d));
        ++k;
        continue;
      }
      const size_t rstart = k;
      UChar32 rc;
      U8_NEXT_UNSAFE(rep.data(), k, rc);
      if (!append_fold(rc, rep.data() + rstart, k - rstart)) return false;
    }
  }
  unf.resize(uo);
  fold.resize(fo);
  return true;
}

// Breaks as NormalizedText wants them: inside the folded text (not at either end), sorted,
// distinct.
std::vector<uint32_t> CleanBreaks(const std::vector<uint32_t>& mapped, size_t folded_size) {
  std::vector<uint32_t> out;
  for (uint32_t f : mapped) {
    if (f == 0 || f >= folded_size) continue;
    if (!out.empty() && out.back() >= f) continue;
    out.push_back(f);
  }
  return out;
}

// Maps breaks (offsets into the unfolded text) to the folded text through Fold's `offsets`:
// a break before unfolded byte b is before the first folded byte that comes from b or
// later (offsets never decrease).
std::vector<uint32_t> MapBreaks(const std::vector<uint32_t>& breaks,
                                const std::vector<uint32_t>& offsets) {
  std::vector<uint32_t> mapped;
  for (uint32_t b : breaks) {
    auto it = std::lower_bound(offsets.begin(), offsets.end() - 1, b);
    mapped.push_back(static_cast<uint32_t>(it - offsets.begin()));
  }
  return CleanBreaks(mapped, offsets.size() - 1);
}

}  // namespace

namespace internal {

std::string UnfoldWithIcu(std::string_view plain) { return UnfoldSlow(plain, nullptr); }

NormalizedText NormalizeWithIcu(std::string_view plain) {
  NormalizedText t;
  std::vector<uint32_t> breaks;
  t.unfolded = UnfoldSlow(plain, &breaks);
  std::vector<uint32_t> offsets;
  t.folded = FoldWithIcu(t.unfolded, &offsets);
  t.folded_breaks = MapBreaks(breaks, offsets);
  return t;
}

// The ICU pipeline: NFKC_Casefold, confusables, NFKC_Casefold. `unfolded` must be valid.
std::string FoldWithIcu(std::string_view unfolded, std::vector<uint32_t>* offsets) {
  // Stage 1: NFKC_Casefold. ASCII letters are lower-cased first (same result: NFKC_Casefold
  // maps character by character before composing), which spares ICU most of its changes.
  std::string lowered;
  AppendAsciiLower(unfolded, &lowered);
  std::string s1;
  icu::Edits edits;
  IcuNormalize(NfkcCasefold(), lowered, &s1, offsets != nullptr ? &edits : nullptr);
  if (offsets != nullptr) EditsToOffsets(edits, unfolded.size(), s1, offsets);
  // Stage 2: confusables.
  std::string s2;
  std::vector<uint32_t> map2;
  if (!ApplyConfusables(s1, &s2, offsets != nullptr ? &map2 : nullptr)) return s1;
  if (offsets != nullptr) {
    ComposeOffsets(*offsets, &map2);
    offsets->swap(map2);
  }
  // Stage 3: NFKC_Casefold again (replacements may start with a combining mark, or be
  // followed by one, and then compose).
  if (IcuIsNormalized(NfkcCasefold(), s2)) return s2;
  std::string s3;
  IcuNormalize(NfkcCasefold(), s2, &s3, offsets != nullptr ? &edits : nullptr);
  if (offsets != nullptr) {
    std::vector<uint32_t> map3;
    EditsToOffsets(edits, s2.size(), s3, &map3);
    ComposeOffsets(*offsets, &map3);
    offsets->swap(map3);
  }
  return s3;
}

}  // namespace internal

namespace {

std::string FoldValid(std::string_view unfolded, std::vector<uint32_t>* offsets) {
  std::string out;
  if (IsAscii(unfolded)) {
    AppendAsciiLower(unfolded, &out);
    if (offsets != nullptr) {
      offsets->resize(unfolded.size() + 1);
      for (size_t k = 0; k <= unfolded.size(); ++k) (*offsets)[k] = static_cast<uint32_t>(k);
    }
    return out;
  }
  if (FoldFast(unfolded, &out, offsets, kNoBreaks, nullptr)) return out;
  return internal::FoldWithIcu(unfolded, offsets);
}

// ---------------------------------------------------------------------------------------
// HTML

struct Entity {
  std::string_view name;
  uint32_t cp1;
  uint32_t cp2;  // 0 when the entity is one code point
  bool legacy;   // recognised without the trailing ';' (the HTML 4 / Latin-1 set)
};

// Sorted by name (byte order), case-sensitive as in HTML.
constexpr Entity kEntities[] = {
    {"AElig", 0xC6, 0, true},      {"AMP", 0x26, 0, true},        {"Aacute", 0xC1, 0, true},
    {"Acirc", 0xC2, 0, true},      {"Agrave", 0xC0, 0, true},     {"Alpha", 0x391, 0, false},
    {"Aring", 0xC5, 0, true},      {"Atilde", 0xC3, 0, true},     {"Auml", 0xC4, 0, true},
    {"Beta", 0x392, 0, false},     {"COPY", 0xA9, 0, true},       {"Ccedil", 0xC7, 0, true},
    {"Chi", 0x3A7, 0, false},      {"Dagger", 0x2021, 0, false},  {"Delta", 0x394, 0, false},
    {"ETH", 0xD0, 0, true},        {"Eacute", 0xC9, 0, true},     {"Ecirc", 0xCA, 0, true},
    {"Egrave", 0xC8, 0, true},     {"Epsilon", 0x395, 0, false},  {"Eta", 0x397, 0, false},
    {"Euml", 0xCB, 0, true},       {"GT", 0x3E, 0, true},         {"Gamma", 0x393, 0, false},
    {"Iacute", 0xCD, 0, true},     {"Icirc", 0xCE, 0, true},      {"Igrave", 0xCC, 0, true},
    {"Iota", 0x399, 0, false},     {"Iuml", 0xCF, 0, true},       {"Kappa", 0x39A, 0, false},
    {"LT", 0x3C, 0, true},         {"Lambda", 0x39B, 0, false},   {"Mu", 0x39C, 0, false},
    {"NewLine", 0x0A, 0, false},   {"Ntilde", 0xD1, 0, true},     {"Nu", 0x39D, 0, false},
    {"OElig", 0x152, 0, false},    {"Oacute", 0xD3, 0, true},     {"Ocirc", 0xD4, 0, true},
    {"Ograve", 0xD2, 0, true},     {"Omega", 0x3A9, 0, false},    {"Omicron", 0x39F, 0, false},
    {"Oslash", 0xD8, 0, true},     {"Otilde", 0xD5, 0, true},     {"Ouml", 0xD6, 0, true},
    {"Phi", 0x3A6, 0, false},      {"Pi", 0x3A0, 0, false},       {"Prime", 0x2033, 0, false},
    {"Psi", 0x3A8, 0, false},      {"QUOT", 0x22, 0, true},       {"REG", 0xAE, 0, true},
    {"Rho", 0x3A1, 0, false},      {"Scaron", 0x160, 0, false},   {"Sigma", 0x3A3, 0, false},
    {"THORN", 0xDE, 0, true},      {"TRADE", 0x2122, 0, false},   {"Tab", 0x09, 0, false},
    {"Tau", 0x3A4, 0, false},      {"Theta", 0x398, 0, false},    {"Uacute", 0xDA, 0, true},
    {"Ucirc", 0xDB, 0, true},      {"Ugrave", 0xD9, 0, true},     {"Upsilon", 0x3A5, 0, false},
    {"Uuml", 0xDC, 0, true},       {"Xi", 0x39E, 0, false},       {"Yacute", 0xDD, 0, true},
    {"Yuml", 0x178, 0, false},     {"Zeta", 0x396, 0, false},     {"aacute", 0xE1, 0, true},
    {"acirc", 0xE2, 0, true},      {"acute", 0xB4, 0, true},      {"aelig", 0xE6, 0, true},
    {"agrave", 0xE0, 0, true},     {"alefsym", 0x2135, 0, false}, {"alpha", 0x3B1, 0, false},
    {"amp", 0x26, 0, true},        {"and", 0x2227, 0, false},     {"ang", 0x2220, 0, false},
    {"apos", 0x27, 0, false},      {"aring", 0xE5, 0, true},      {"ast", 0x2A, 0, false},
    {"asymp", 0x2248, 0, false},   {"atilde", 0xE3, 0, true},     {"auml", 0xE4, 0, true},
    {"bdquo", 0x201E, 0, false},   {"beta", 0x3B2, 0, false},     {"brvbar", 0xA6, 0, true},
    {"bsol", 0x5C, 0, false},      {"bull", 0x2022, 0, false},    {"bullet", 0x2022, 0, false},
    {"cap", 0x2229, 0, false},     {"ccedil", 0xE7, 0, true},     {"cedil", 0xB8, 0, true},
    {"cent", 0xA2, 0, true},       {"check", 0x2713, 0, false},   {"checkmark", 0x2713, 0, false},
    {"chi", 0x3C7, 0, false},      {"circ", 0x2C6, 0, false},     {"clubs", 0x2663, 0, false},
    {"colon", 0x3A, 0, false},     {"comma", 0x2C, 0, false},     {"commat", 0x40, 0, false},
    {"cong", 0x2245, 0, false},    {"copy", 0xA9, 0, true},       {"crarr", 0x21B5, 0, false},
    {"cross", 0x2717, 0, false},   {"cup", 0x222A, 0, false},     {"curren", 0xA4, 0, true},
    {"dArr", 0x21D3, 0, false},    {"dagger", 0x2020, 0, false},  {"darr", 0x2193, 0, false},
    {"dash", 0x2010, 0, false},    {"deg", 0xB0, 0, true},        {"delta", 0x3B4, 0, false},
    {"diams", 0x2666, 0, false},   {"divide", 0xF7, 0, true},     {"dollar", 0x24, 0, false},
    {"eacute", 0xE9, 0, true},     {"ecirc", 0xEA, 0, true},      {"egrave", 0xE8, 0, true},
    {"empty", 0x2205, 0, false},   {"emsp", 0x2003, 0, false},    {"ensp", 0x2002, 0, false},
    {"epsilon", 0x3B5, 0, false},  {"equals", 0x3D, 0, false},    {"equiv", 0x2261, 0, false},
    {"eta", 0x3B7, 0, false},      {"eth", 0xF0, 0, true},        {"euml", 0xEB, 0, true},
    {"euro", 0x20AC, 0, false},    {"excl", 0x21, 0, false},      {"exist", 0x2203, 0, false},
    {"female", 0x2640, 0, false},  {"fnof", 0x192, 0, false},     {"forall", 0x2200, 0, false},
    {"frac12", 0xBD, 0, true},     {"frac14", 0xBC, 0, true},     {"frac34", 0xBE, 0, true},
    {"frasl", 0x2044, 0, false},   {"gamma", 0x3B3, 0, false},    {"ge", 0x2265, 0, false},
    {"grave", 0x60, 0, false},     {"gt", 0x3E, 0, true},         {"hArr", 0x21D4, 0, false},
    {"hairsp", 0x200A, 0, false},  {"harr", 0x2194, 0, false},    {"hearts", 0x2665, 0, false},
    {"hellip", 0x2026, 0, false},  {"horbar", 0x2015, 0, false},  {"hyphen", 0x2010, 0, false},
    {"iacute", 0xED, 0, true},     {"icirc", 0xEE, 0, true},      {"iexcl", 0xA1, 0, true},
    {"igrave", 0xEC, 0, true},     {"image", 0x2111, 0, false},   {"infin", 0x221E, 0, false},
    {"int", 0x222B, 0, false},     {"iota", 0x3B9, 0, false},     {"iquest", 0xBF, 0, true},
    {"isin", 0x2208, 0, false},    {"iuml", 0xEF, 0, true},       {"kappa", 0x3BA, 0, false},
    {"lArr", 0x21D0, 0, false},    {"lambda", 0x3BB, 0, false},   {"lang", 0x27E8, 0, false},
    {"laquo", 0xAB, 0, true},      {"larr", 0x2190, 0, false},    {"lbrace", 0x7B, 0, false},
    {"lbrack", 0x5B, 0, false},    {"lceil", 0x2308, 0, false},   {"lcub", 0x7B, 0, false},
    {"ldquo", 0x201C, 0, false},   {"le", 0x2264, 0, false},      {"lfloor", 0x230A, 0, false},
    {"lowast", 0x2217, 0, false},  {"lowbar", 0x5F, 0, false},    {"loz", 0x25CA, 0, false},
    {"lpar", 0x28, 0, false},      {"lrm", 0x200E, 0, false},     {"lsaquo", 0x2039, 0, false},
    {"lsqb", 0x5B, 0, false},      {"lsquo", 0x2018, 0, false},   {"lt", 0x3C, 0, true},
    {"macr", 0xAF, 0, true},       {"male", 0x2642, 0, false},    {"mdash", 0x2014, 0, false},
    {"micro", 0xB5, 0, true},      {"middot", 0xB7, 0, true},     {"minus", 0x2212, 0, false},
    {"mu", 0x3BC, 0, false},       {"nabla", 0x2207, 0, false},   {"nbsp", 0xA0, 0, true},
    {"ndash", 0x2013, 0, false},   {"ne", 0x2260, 0, false},      {"ni", 0x220B, 0, false},
    {"not", 0xAC, 0, true},        {"notin", 0x2209, 0, false},   {"nsub", 0x2284, 0, false},
    {"ntilde", 0xF1, 0, true},     {"nu", 0x3BD, 0, false},       {"num", 0x23, 0, false},
    {"oacute", 0xF3, 0, true},     {"ocirc", 0xF4, 0, true},      {"oelig", 0x153, 0, false},
    {"ograve", 0xF2, 0, true},     {"oline", 0x203E, 0, false},   {"omega", 0x3C9, 0, false},
    {"omicron", 0x3BF, 0, false},  {"oplus", 0x2295, 0, false},   {"or", 0x2228, 0, false},
    {"ordf", 0xAA, 0, true},       {"ordm", 0xBA, 0, true},       {"oslash", 0xF8, 0, true},
    {"otilde", 0xF5, 0, true},     {"otimes", 0x2297, 0, false},  {"ouml", 0xF6, 0, true},
    {"para", 0xB6, 0, true},       {"part", 0x2202, 0, false},    {"percnt", 0x25, 0, false},
    {"period", 0x2E, 0, false},    {"permil", 0x2030, 0, false},  {"perp", 0x22A5, 0, false},
    {"phi", 0x3C6, 0, false},      {"pi", 0x3C0, 0, false},       {"piv", 0x3D6, 0, false},
    {"plus", 0x2B, 0, false},      {"plusmn", 0xB1, 0, true},     {"pound", 0xA3, 0, true},
    {"prime", 0x2032, 0, false},   {"prod", 0x220F, 0, false},    {"prop", 0x221D, 0, false},
    {"psi", 0x3C8, 0, false},      {"quest", 0x3F, 0, false},     {"quot", 0x22, 0, true},
    {"rArr", 0x21D2, 0, false},    {"radic", 0x221A, 0, false},   {"rang", 0x27E9, 0, false},
    {"raquo", 0xBB, 0, true},      {"rarr", 0x2192, 0, false},    {"rbrace", 0x7D, 0, false},
    {"rbrack", 0x5D, 0, false},    {"rceil", 0x2309, 0, false},   {"rcub", 0x7D, 0, false},
    {"rdquo", 0x201D, 0, false},   {"real", 0x211C, 0, false},    {"reg", 0xAE, 0, true},
    {"rfloor", 0x230B, 0, false},  {"rho", 0x3C1, 0, false},      {"rlm", 0x200F, 0, false},
    {"rpar", 0x29, 0, false},      {"rsaquo", 0x203A, 0, false},  {"rsqb", 0x5D, 0, false},
    {"rsquo", 0x2019, 0, false},   {"sbquo", 0x201A, 0, false},   {"scaron", 0x161, 0, false},
    {"sdot", 0x22C5, 0, false},    {"sect", 0xA7, 0, true},       {"semi", 0x3B, 0, false},
    {"shy", 0xAD, 0, true},        {"sigma", 0x3C3, 0, false},    {"sigmaf", 0x3C2, 0, false},
    {"sim", 0x223C, 0, false},     {"sol", 0x2F, 0, false},       {"spades", 0x2660, 0, false},
    {"sqrt", 0x221A, 0, false},    {"star", 0x2606, 0, false},    {"starf", 0x2605, 0, false},
    {"sub", 0x2282, 0, false},     {"sube", 0x2286, 0, false},    {"sum", 0x2211, 0, false},
    {"sup", 0x2283, 0, false},     {"sup1", 0xB9, 0, true},       {"sup2", 0xB2, 0, true},
    {"sup3", 0xB3, 0, true},       {"supe", 0x2287, 0, false},    {"szlig", 0xDF, 0, true},
    {"tau", 0x3C4, 0, false},      {"there4", 0x2234, 0, false},  {"theta", 0x3B8, 0, false},
    {"thetasym", 0x3D1, 0, false}, {"thinsp", 0x2009, 0, false},  {"thorn", 0xFE, 0, true},
    {"tilde", 0x2DC, 0, false},    {"times", 0xD7, 0, true},      {"trade", 0x2122, 0, false},
    {"uArr", 0x21D1, 0, false},    {"uacute", 0xFA, 0, true},     {"uarr", 0x2191, 0, false},
    {"ucirc", 0xFB, 0, true},      {"ugrave", 0xF9, 0, true},     {"uml", 0xA8, 0, true},
    {"upsih", 0x3D2, 0, false},    {"upsilon", 0x3C5, 0, false},  {"uuml", 0xFC, 0, true},
    {"verbar", 0x7C, 0, false},    {"vert", 0x7C, 0, false},      {"weierp", 0x2118, 0, false},
    {"xi", 0x3BE, 0, false},       {"yacute", 0xFD, 0, true},     {"yen", 0xA5, 0, true},
    {"yuml", 0xFF, 0, true},       {"zeta", 0x3B6, 0, false},     {"zwj", 0x200D, 0, false},
    {"zwnj", 0x200C, 0, false},
};
constexpr size_t kMaxLegacyEntityLength = 6;
static_assert(std::is_sorted(std::begin(kEntities), std::end(kEntities),
                             [](const Entity& a, const Entity& b) { return a.name < b.name; }));

const Entity* FindEntity(std::string_view name) {
  const Entity* begin = std::begin(kEntities);
  const Entity* end = std::end(kEntities);
  const Entity* it = std::lower_bound(
      begin, end, name, [](const Entity& e, std::string_view n) { return e.name < n; });
  if (it != end && it->name == name) return it;
  return nullptr;
}

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c); }
bool IsHtmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
char LowerAscii(char c) { return AsciiLower(c); }

// HTML5's remapping of numeric references 0x80-0x9F (windows-1252); 0 = keep as is.
constexpr uint16_t kWindows1252[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

// Most bytes one character reference writes: two code points of at most 4 bytes each.
constexpr size_t kMaxReferenceBytes = 8;

// Writes the UTF-8 form of `c` (a valid scalar value) to dst; returns its length.
inline size_t PutCodePoint(UChar32 c, char* dst) {
  size_t n = 0;
  U8_APPEND_UNSAFE(dst, n, c);
  return n;
}

// The references nearly every post uses, recognised before the table search. Each is in
// kEntities with the same value (checked below, at compile time).
constexpr uint32_t CommonEntity(std::string_view name) {
  switch (name.size()) {
    case 2:
      if (name[1] == 't') {
        if (name[0] == 'l') return '<';
        if (name[0] == 'g') return '>';
      }
      return 0;
    case 3:
      return name == "amp" ? '&' : 0;
    case 4:
      if (name == "quot") return '"';
      if (name == "apos") return '\'';
      if (name == "nbsp") return 0xA0;
      return 0;
    default:
      return 0;
  }
}

constexpr bool SameAsTable(std::string_view name) {
  for (const Entity& e : kEntities) {
    if (e.name == name) return e.cp1 == CommonEntity(name) && e.cp2 == 0;
  }
  return false;
}
static_assert(SameAsTable("lt") && SameAsTable("gt") && SameAsTable("amp") && SameAsTable("quot") &&
              SameAsTable("apos") && SameAsTable("nbsp"));

// Decodes the character reference at html[i] == '&'. Writes the decoded text (or the '&'
// itself when it is not a reference) to dst, at most kMaxReferenceBytes, adding its length
// to *o; returns the index after what was consumed.
size_t DecodeReference(std::string_view html, size_t i, char* dst, size_t* o) {
  const size_t n = html.size();
  size_t j = i + 1;
  if (j < n && html[j] == '#') {
    ++j;
    bool hex = false;
    if (j < n && (html[j] == 'x' || html[j] == 'X')) {
      hex = true;
      ++j;
    }
    const size_t digits_start = j;
    uint32_t value = 0;
    while (j < n) {
      const char c = html[j];
      uint32_t d;
      if (IsAsciiDigit(c)) {
        d = static_cast<uint32_t>(c - '0');
      } else if (hex && c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (hex && c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        break;
      }
      value = std::min<uint32_t>(value * (hex ? 16 : 10) + d, 0x110000);  // saturate
      ++j;
    }
    if (j == digits_start) {  // "&#" or "&#x" without digits: not a reference
      dst[(*o)++] = '&';
      return i + 1;
    }
    if (j < n && html[j] == ';') ++j;
    UChar32 c = static_cast<UChar32>(value);
    if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      c = 0xFFFD;
    } else if (c >= 0x80 && c <= 0x9F && kWindows1252[c - 0x80] != 0) {
      c = kWindows1252[c - 0x80];
    }
    *o += PutCodePoint(c, dst + *o);
    return j;
  }
  while (j < n && IsAsciiAlnum(html[j]) && j - i <= 32) ++j;
  std::string_view name = html.substr(i + 1, j - i - 1);
  if (!name.empty()) {
    if (j < n && html[j] == ';') {
      if (const uint32_t common = CommonEntity(name); common != 0) {
        *o += PutCodePoint(static_cast<UChar32>(common), dst + *o);
        return j + 1;
      }
      if (const Entity* e = FindEntity(name)) {
        *o += PutCodePoint(static_cast<UChar32>(e->cp1), dst + *o);
        if (e->cp2 != 0) *o += PutCodePoint(static_cast<UChar32>(e->cp2), dst + *o);
        return j + 1;
      }
    }
    // Legacy references are recognised without ';' and as a prefix ("&copy2023",
    // "&notit" -> "¬it"), as browsers do in text.
    for (size_t len = std::min(name.size(), kMaxLegacyEntityLength); len >= 2; --len) {
      const Entity* e = FindEntity(name.substr(0, len));
      if (e != nullptr && e->legacy) {
        *o += PutCodePoint(static_cast<UChar32>(e->cp1), dst + *o);
        return i + 1 + len;
      }
    }
  }
  dst[(*o)++] = '&';
  return i + 1;
}

// Bytes that end a tag name: HTML white space, '/' and '>'.
constexpr std::array<bool, 256> MakeEndsTagName() {
  std::array<bool, 256> t{};
  for (unsigned char c : {' ', '\t', '\n', '\r', '\f', '/', '>'}) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kEndsTagName = MakeEndsTagName();

enum class TagKind { kInline, kBreak, kBlock, kRawText };

// Elements whose start and end break the line. Sorted (binary search).
constexpr std::string_view kBlockElements[] = {
    "address", "article", "aside",  "blockquote", "caption",  "dd",         "details",
    "dialog",  "div",     "dl",     "dt",         "fieldset", "figcaption", "figure",
    "footer",  "form",    "h1",     "h2",         "h3",       "h4",         "h5",
    "h6",      "header",  "hgroup", "hr",         "li",       "main",       "nav",
    "ol",      "p",       "pre",    "section",    "summary",  "table",      "tbody",
    "td",      "tfoot",   "th",     "thead",      "tr",       "ul"};
static_assert(std::is_sorted(std::begin(kBlockElements), std::end(kBlockElements)));

bool IsBlockElement(std::string_view lower_name) {
  return std::binary_search(std::begin(kBlockElements), std::end(kBlockElements), lower_name);
}

inline TagKind KindOfTag(std::string_view lower_name) {
  // The tags of nearly every post (p, a, span, br, ...) without a search. Of the one-letter
  // names only "p" is a block; "br" is the only break.
  switch (lower_name.size()) {
    case 0:
      return TagKind::kInline;
    case 1:
      return lower_name[0] == 'p' ? TagKind::kBlock : TagKind::kInline;
    case 2:
      if (lower_name == "br") return TagKind::kBreak;
      break;
    case 4:
      if (lower_name == "span") return TagKind::kInline;
      break;
    case 5:
      if (lower_name == "style") return TagKind::kRawText;
      break;
    case 6:
      if (lower_name == "script") return TagKind::kRawText;
      break;
    default:
      break;
  }
  return IsBlockElement(lower_name) ? TagKind::kBlock : TagKind::kInline;
}

// Skips attributes up to and including the '>' closing a tag; `i` is just after the tag
// name. A quote right after '=' (white space and further '=' may come between) opens a
// value, which may contain '>'; a quote anywhere else is an ordinary character. Returns
// html.size() when the tag is not closed (browsers then drop it).
size_t SkipTagRest(std::string_view html, size_t i) {
  const char* p = html.data();
  const size_t n = html.size();
  while (i < n) {
    // The next '>' or '=': nothing else matters until then.
    i = FindEitherByte(p, i, n, '>', '=');
    if (i >= n) return n;
    if (p[i] == '>') return i + 1;
    // '=': a quote after it (and after white space or more '=') opens a value.
    ++i;
    while (i < n && (IsHtmlSpace(p[i]) || p[i] == '=')) ++i;
    if (i < n && (p[i] == '"' || p[i] == '\'')) {
      i = FindEitherByte(p, i + 1, n, p[i], p[i]);
      if (i >= n) return n;
      ++i;
    }
  }
  return n;
}

// Index just past the end tag "</name ...>" that closes raw text started at `i`, or
// html.size() when there is none.
size_t SkipRawText(std::string_view html, size_t i, std::string_view lower_name) {
  const size_t n = html.size();
  while (true) {
    size_t lt = html.find("</", i);
    if (lt == std::string_view::npos) return n;
    size_t j = lt + 2;
    size_t k = 0;
    while (k < lower_name.size() && j + k < n && LowerAscii(html[j + k]) == lower_name[k]) ++k;
    if (k == lower_name.size() &&
        (j + k == n || IsHtmlSpace(html[j + k]) || html[j + k] == '/' || html[j + k] == '>')) {
      return SkipTagRest(html, j + k);
    }
    i = lt + 2;
  }
}

// The visitor of HtmlToText, which wants the text only.
struct NoMarkupVisitor {
  void OnTag(size_t, size_t, bool, std::string_view) {}
  void OnOtherMarkup(size_t, size_t) {}
};

// HtmlToText of valid UTF-8 into *out (its contents replaced; its capacity reused), telling
// `visitor` about the markup (see internal::HtmlMarkupVisitor).
template <typename Visitor>
void HtmlToTextInto(std::string_view html, std::string* out, Visitor* visitor) {
  const char* p = html.data();
  const size_t n = html.size();
  // The text is never longer than the markup (every reference is at least as long as what
  // it decodes to, every line break comes from a longer tag), but growth is checked anyway.
  out->resize(n + 2 * kMaxReferenceBytes);
  char* dst = out->data();
  size_t o = 0;
  auto ensure = [&](size_t more) {
    if (o + more > out->size()) {
      out->resize(std::max(out->size() * 2, o + more));
      dst = out->data();
    }
  };
  size_t pending_newlines = 0;
  auto flush = [&] {
    if (pending_newlines > 0 && o != 0) {
      ensure(pending_newlines);
      std::memset(dst + o, '\n', pending_newlines);
      o += pending_newlines;
    }
    pending_newlines = 0;
  };
  size_t i = 0;
  while (i < n) {
    // Plain text up to the next markup character.
    const size_t next = FindEitherByte(p, i, n, '<', '&');
    if (next > i) {
      flush();
      const size_t len = next - i;
      ensure(16 + len);
      if (len <= 16 && i + 16 <= n) {
        std::memcpy(dst + o, p + i, 16);  // a fixed size is a couple of moves, not a call
      } else {
        std::memcpy(dst + o, p + i, len);
      }
      o += len;
      i = next;
      if (i == n) break;
    }
    if (p[i] == '&') {
      flush();
      ensure(kMaxReferenceBytes);
      i = DecodeReference(html, i, dst, &o);
      continue;
    }
    // p[i] == '<'
    const size_t lt = i;
    const char c = i + 1 < n ? p[i + 1] : '\0';
    if (c == '!') {
      if (html.substr(i, 4) == "<!--") {
        // Comment; "<!-->" and "<!--->" are (abruptly closed) empty comments.
        size_t j = i + 4;
        if (j < n && p[j] == '>') {
          i = j + 1;
        } else if (html.substr(j, 2) == "->") {
          i = j + 2;
        } else {
          size_t end = html.find("-->", j);
          i = end == std::string_view::npos ? n : end + 3;
        }
      } else {
        size_t end = html.find('>', i + 2);  // <!DOCTYPE>, <![CDATA[...]]>: bogus comment
        i = end == std::string_view::npos ? n : end + 1;
      }
      visitor->OnOtherMarkup(lt, i);
      continue;
    }
    if (c == '?') {
      size_t end = html.find('>', i + 2);
      i = end == std::string_view::npos ? n : end + 1;
      visitor->OnOtherMarkup(lt, i);
      continue;
    }
    const bool end_tag = c == '/';
    const size_t name_start = i + (end_tag ? 2 : 1);
    if (name_start >= n || !IsAsciiAlpha(p[name_start])) {
      if (end_tag) {
        // "</>" is dropped; "</3" and the like are bogus comments up to '>'.
        size_t end = html.find('>', i + 2);
        i = end == std::string_view::npos ? n : end + 1;
        visitor->OnOtherMarkup(lt, i);
      } else {
        flush();
        ensure(1);
        dst[o++] = '<';  // "a < b", "<3": just text
        ++i;
      }
      continue;
    }
    size_t j = name_start;
    char name_buf[16];
    size_t name_len = 0;
    while (j < n && !kEndsTagName[static_cast<unsigned char>(p[j])]) {
      if (name_len < sizeof name_buf) name_buf[name_len] = LowerAscii(p[j]);
      ++name_len;
      ++j;
    }
    std::string_view name =
        name_len <= sizeof name_buf ? std::string_view(name_buf, name_len) : std::string_view();
    i = j < n && p[j] == '>' ? j + 1 : SkipTagRest(html, j);
    visitor->OnTag(lt, i, end_tag, name);
    switch (KindOfTag(name)) {
      case TagKind::kInline:
        break;
      case TagKind::kBreak:
        ++pending_newlines;
        break;
      case TagKind::kBlock:
        pending_newlines = std::max<size_t>(pending_newlines, 1);
        break;
      case TagKind::kRawText:
        if (!end_tag && i < n) i = SkipRawText(html, i, name);
        break;
    }
  }
  out->resize(o);
}

}  // namespace

// -----------------------------------------------------------------------------------------
// Public API

bool IsValidUtf8(std::string_view s) {
  const char* p = s.data();
  const int32_t n = static_cast<int32_t>(s.size());
  size_t i = AsciiRun(p, 0, s.size());
  while (i < s.size()) {
    int32_t j = static_cast<int32_t>(i);
    UChar32 c;
    U8_NEXT(p, j, n, c);
    if (c < 0) return false;
    i = static_cast<size_t>(j);
    i += AsciiRun(p, i, s.size());
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 16);
  const char* p = s.data();
  const int32_t n = static_cast<int32_t>(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t run = AsciiRun(p, i, s.size());
    out.append(p + i, run);
    i += run;
    if (i >= s.size()) break;
    int32_t j = static_cast<int32_t>(i);
    UChar32 c;
    U8_NEXT(p, j, n, c);  // on an invalid sequence, skips its maximal subpart
    if (c < 0) {
      out += kReplacementChar;
    } else {
      out.append(p + i, static_cast<size_t>(j) - i);
    }
    i = static_cast<size_t>(j);
  }
  return out;
}

std::string HtmlToText(std::string_view html) {
  std::string out;
  NoMarkupVisitor visitor;
  if (IsValidUtf8(html)) {
    HtmlToTextInto(html, &out, &visitor);
  } else {
    HtmlToTextInto(SanitizeUtf8(html), &out, &visitor);
  }
  return out;
}

namespace internal {

void HtmlToTextWithMarkup(std::string_view html, std::string* text, HtmlMarkupVisitor* visitor) {
  HtmlToTextInto(html, text, visitor);
}

}  // namespace internal

std::string Unfold(std::string_view plain) { return UnfoldImpl(plain, nullptr); }

std::string Fold(std::string_view unfolded, std::vector<uint32_t>* offsets) {
  if (IsValidUtf8(unfolded)) return FoldValid(unfolded, offsets);
  // Invalid input: each U+FFFD is credited to the start of the bytes it replaced.
  std::string valid = SanitizeUtf8(unfolded);
  if (offsets == nullptr) return FoldValid(valid, nullptr);
  std::vector<uint32_t> sanitize_map;
  sanitize_map.reserve(valid.size() + 1);
  {
    const char* p = unfolded.data();
    const int32_t n = static_cast<int32_t>(unfolded.size());
    int32_t i = 0;
    while (i < n) {
      const int32_t start = i;
      UChar32 c;
      U8_NEXT(p, i, n, c);
      const size_t len = c < 0 ? 3 : static_cast<size_t>(i - start);
      sanitize_map.insert(sanitize_map.end(), len, static_cast<uint32_t>(start));
    }
    sanitize_map.push_back(static_cast<uint32_t>(unfolded.size()));
  }
  std::string folded = FoldValid(valid, offsets);
  ComposeOffsets(sanitize_map, offsets);
  return folded;
}

std::string CaseFold(std::string_view s) {
  std::string valid = SanitizeUtf8(s);
  if (IsAscii(valid)) {
    std::string out;
    AppendAsciiLower(valid, &out);
    return out;
  }
  std::string out;
  IcuNormalize(NfkcCasefold(), valid, &out, nullptr);
  return out;
}

NormalizedText Normalize(std::string_view plain) {
  NormalizedText t;
  internal::NormalizeInto(plain, &t);
  return t;
}

namespace internal {

void NormalizeInto(std::string_view plain, NormalizedText* t) {
  t->folded_breaks.clear();
  if (NormalizeFast(plain, t)) return;
  t->folded_breaks.clear();
  std::vector<uint32_t> breaks;
  t->unfolded = UnfoldImpl(plain, &breaks);
  if (breaks.empty()) {
    t->folded = FoldValid(t->unfolded, nullptr);
    return;
  }
  std::vector<uint32_t> mapped;
  if (FoldFast(t->unfolded, &t->folded, nullptr, breaks, &mapped)) {
    t->folded_breaks = CleanBreaks(mapped, t->folded.size());
  } else {
    std::vector<uint32_t> offsets;
    t->folded = internal::FoldWithIcu(t->unfolded, &offsets);
    t->folded_breaks = MapBreaks(breaks, offsets);
  }
}

}  // namespace internal

}  // namespace fedwall::text
