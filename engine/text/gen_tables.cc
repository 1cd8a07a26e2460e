// gen_tables: writes the Unicode tables declared in tables.h as C++ source.
//
// Usage: gen_tables OUTPUT.cc           (writes the tables)
//        gen_tables --list-confusables  (prints "U+XXXX<TAB>char<TAB>replacement" lines, to
//                                        review the confusables table)
//
// Run at build time (see CMakeLists.txt). It asks ICU for the properties, normal forms and
// UTS #39 skeleton of every code point once, so the engine never calls uspoof per post and
// rarely calls the ICU normalisers. The output depends only on the ICU data it is linked
// with: code points are visited in order and every choice is a deterministic tie-break, so
// two runs give the same bytes.
//
// Three tables, each mapping a code point to an Entry (tables.h):
//
// kUnfold: what Unfold does with a character. kSpace and kDrop as defined by ClassOf below;
//   otherwise its NFKC form when NFKC of a text is the concatenation of NFKC of its
//   characters around it (NFKC has a boundary before it) and that form contains no space or
//   removable character; otherwise kSlow (Unfold then runs ICU on the whole text).
//
// kConfusable: the confusables mapping, applied to non-ASCII characters of NFKC_Casefold-ed
//   text. How the replacement for code point c is chosen:
//   1. Skip c when it is ASCII, cannot occur in NFKC_Casefold-ed text
//      (Changes_When_NFKC_Casefolded), is not kept by Unfold (class kSpace or kDrop), is
//      unassigned or private use, or when its skeleton equals its NFD (it imitates nothing).
//   2. Split the skeleton into pieces, each either the skeleton of one ASCII character or a
//      single code point, choosing the split with the fewest pieces and then the best ranked
//      ASCII characters (lower-case letters, upper-case letters, digits, other). So a skeleton
//      "rn" becomes "m" (skeleton("m") == "rn"), "l" becomes "l" rather than "1" or "I", and
//      "''" becomes "\"".
//   3. NFKC_Casefold the result, then re-apply the table to the non-ASCII characters of the
//      result and NFKC_Casefold again until it is stable, so folding is idempotent.
//   4. Drop the entry when the result is c itself, is empty, contains white space or
//      removable characters, or would move a word boundary (see Acceptable below).
//
// kFold: the whole of Fold for one character, F(c) = NFKC_CF(T(NFKC_CF(c))) with T the
//   confusables table, when Fold of a text is the concatenation of F of its characters:
//   NFKC_Casefold has a boundary before c and before the first character of T(NFKC_CF(c)).
//   Otherwise (and when F(c) is empty) kSlow: Fold then runs the ICU pipeline on the text.
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uspoof.h>
#include <unicode/utf8.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace {

// Entry encoding: see tables.h.
constexpr uint32_t kTagKeep = 0;
constexpr uint32_t kTagSlow = 1;
constexpr uint32_t kTagSpace = 2;
constexpr uint32_t kTagDrop = 3;
constexpr UChar32 kMaxCodePoint = 0x10FFFF;

// What Unfold does with a character before normalisation.
uint32_t ClassOf(UChar32 c) {
  // Blank-looking fillers separate words, whatever their properties.
  if (c == 0x2800 || c == 0x3164 || c == 0x115F || c == 0x1160 || c == 0xFFA0) return kTagSpace;
  if (u_isUWhiteSpace(c)) return kTagSpace;
  if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) return kTagDrop;
  if (u_charType(c) == U_CONTROL_CHAR) return kTagDrop;
  return kTagKeep;
}

std::string Utf8Of(UChar32 c) {
  char buf[U8_MAX_LENGTH];
  int32_t n = 0;
  U8_APPEND_UNSAFE(buf, n, c);
  return std::string(buf, static_cast<size_t>(n));
}

// The code points of valid UTF-8 `s`.
std::vector<UChar32> CodePoints(const std::string& s) {
  std::vector<UChar32> out;
  int32_t i = 0;
  const int32_t n = static_cast<int32_t>(s.size());
  while (i < n) {
    UChar32 c;
    U8_NEXT(s.data(), i, n, c);
    out.push_back(c);
  }
  return out;
}

bool IsSurrogate(UChar32 c) { return c >= 0xD800 && c <= 0xDFFF; }

// Strings stored once each in one pool.
class Pool {
 public:
  // The encoded keep entry for `s` (non-empty, at most 255 bytes).
  uint32_t Add(const std::string& s) {
    auto [it, inserted] = offsets_.emplace(s, pool_.size());
    if (inserted) pool_ += s;
    return static_cast<uint32_t>((it->second << 8 | s.size()) << 2) | kTagKeep;
  }
  const std::string& bytes() const { return pool_; }

 private:
  std::string pool_;
  std::map<std::string, size_t> offsets_;
};

class Generator {
 public:
  bool Init() {
    UErrorCode err = U_ZERO_ERROR;
    spoof_ = uspoof_open(&err);
    nfd_ = icu::Normalizer2::getNFDInstance(err);
    nfkc_ = icu::Normalizer2::getNFKCInstance(err);
    nfkc_cf_ = icu::Normalizer2::getNFKCCasefoldInstance(err);
    if (U_FAILURE(err)) {
      std::fprintf(stderr, "gen_tables: ICU init failed: %s\n", u_errorName(err));
      return false;
    }
    for (int a = 0x20; a < 0x7F; ++a) ascii_skeleton_[a] = Skeleton(Utf8Of(a));
    return true;
  }
  ~Generator() {
    if (spoof_ != nullptr) uspoof_close(spoof_);
  }

  std::string Skeleton(const std::string& s) {
    UErrorCode err = U_ZERO_ERROR;
    char buf[256];
    int32_t n = uspoof_getSkeletonUTF8(spoof_, 0, s.data(), static_cast<int32_t>(s.size()), buf,
                                       sizeof buf, &err);
    if (U_FAILURE(err)) return s;
    return std::string(buf, static_cast<size_t>(n));
  }

  static std::string Normalize(const icu::Normalizer2* n, const std::string& s) {
    std::string out;
    icu::StringByteSink<std::string> sink(&out);
    UErrorCode err = U_ZERO_ERROR;
    n->normalizeUTF8(0, icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink, nullptr,
                     err);
    return U_FAILURE(err) ? s : out;
  }

  static int Rank(int a) {
    if (a >= 'a' && a <= 'z') return 0;
    if (a >= 'A' && a <= 'Z') return 1;
    if (a >= '0' && a <= '9') return 2;
    return 3;
  }

  // Step 2: the skeleton rewritten with ASCII characters wherever a piece is the skeleton
  // of one.
  std::string Rewrite(const std::string& skel) {
    struct Best {
      int pieces = 1 << 20;
      int rank = 1 << 20;
      std::string piece;  // what to emit for the chosen piece
      size_t next = 0;
    };
    const size_t n = skel.size();
    std::vector<Best> best(n + 1);
    best[n].pieces = 0;
    best[n].rank = 0;
    for (size_t i = n; i-- > 0;) {
      auto consider = [&](size_t end, int rank, std::string piece) {
        if (best[end].pieces >= (1 << 20)) return;
        int pieces = best[end].pieces + 1;
        int total = best[end].rank + rank;
        if (pieces < best[i].pieces || (pieces == best[i].pieces && total < best[i].rank)) {
          best[i].pieces = pieces;
          best[i].rank = total;
          best[i].piece = std::move(piece);
          best[i].next = end;
        }
      };
      // A single code point starting at i (only at code point boundaries).
      if ((static_cast<unsigned char>(skel[i]) & 0xC0) != 0x80) {
        int32_t j = static_cast<int32_t>(i);
        UChar32 c;
        U8_NEXT(skel.data(), j, static_cast<int32_t>(n), c);
        if (c >= 0) {
          consider(static_cast<size_t>(j), c < 0x80 ? Rank(c) : 4,
                   skel.substr(i, static_cast<size_t>(j) - i));
        }
      }
      for (int a = 0x20; a < 0x7F; ++a) {
        const std::string& s = ascii_skeleton_[a];
        if (!s.empty() && skel.compare(i, s.size(), s) == 0) {
          consider(i + s.size(), Rank(a), std::string(1, static_cast<char>(a)));
        }
      }
    }
    std::string out;
    for (size_t i = 0; i < n; i = best[i].next) out += best[i].piece;
    return out;
  }

  // Steps 2-3 for one code point before the fixed point; "" when it is not remapped.
  std::string ReplacementFor(UChar32 c) {
    std::string self = Utf8Of(c);
    std::string skel = Skeleton(self);
    if (skel == Normalize(nfd_, self)) return "";
    return Normalize(nfkc_cf_, Rewrite(skel));
  }

  // `s` with the non-ASCII characters that have a replacement in `table` replaced.
  static std::string ApplyTable(const std::map<UChar32, std::string>& table, const std::string& s) {
    std::string out;
    for (UChar32 c : CodePoints(s)) {
      auto it = c >= 0x80 ? table.find(c) : table.end();
      out += it != table.end() ? it->second : Utf8Of(c);
    }
    return out;
  }

  static bool Skip(UChar32 c) {
    if (IsSurrogate(c)) return true;
    int8_t type = u_charType(c);
    if (type == U_UNASSIGNED || type == U_PRIVATE_USE_CHAR) return true;
    if (u_hasBinaryProperty(c, UCHAR_CHANGES_WHEN_NFKC_CASEFOLDED)) return true;
    return ClassOf(c) != kTagKeep;
  }

  // Letters, digits and combining marks: the characters `has` treats as part of a word.
  static bool IsWordChar(UChar32 c) {
    return u_isalnum(c) || (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0;
  }

  // Step 4: a replacement must not change where words start and end. A word character must
  // become word characters only (no U+0660 ARABIC-INDIC DIGIT ZERO -> "."); a symbol or
  // punctuation mark may become an ASCII look-alike ("×" -> "x", "“" -> "\"") but not a
  // non-ASCII letter (no "—" -> "ー" KATAKANA-HIRAGANA PROLONGED SOUND MARK).
  static bool Acceptable(UChar32 source, const std::string& rep) {
    if (rep.empty() || rep.size() > 255) return false;
    const bool word = IsWordChar(source);
    for (UChar32 c : CodePoints(rep)) {
      if (c < 0 || ClassOf(c) != kTagKeep) return false;
      if (word && !IsWordChar(c)) return false;
      if (!word && c >= 0x80 && u_isalnum(c)) return false;
    }
    return true;
  }

  std::map<UChar32, std::string> BuildConfusables() {
    std::map<UChar32, std::string> table;
    for (UChar32 c = 0x80; c <= kMaxCodePoint; ++c) {
      if (Skip(c)) continue;
      std::string rep = ReplacementFor(c);
      if (!rep.empty()) table.emplace(c, std::move(rep));
    }
    // Step 3: make every replacement stable under the table itself.
    for (int round = 0; round < 8; ++round) {
      bool changed = false;
      for (auto& [c, rep] : table) {
        std::string next = Normalize(nfkc_cf_, ApplyTable(table, rep));
        if (next != rep) {
          rep = std::move(next);
          changed = true;
        }
      }
      if (!changed) break;
    }
    // Step 4.
    std::map<UChar32, std::string> out;
    for (auto& [c, rep] : table) {
      if (rep != Utf8Of(c) && Acceptable(c, rep)) out.emplace(c, rep);
    }
    return out;
  }

  uint32_t UnfoldEntry(UChar32 c, Pool* pool) const {
    if (IsSurrogate(c)) return kTagKeep;  // never seen in valid UTF-8
    const uint32_t cls = ClassOf(c);
    if (cls != kTagKeep) return cls;
    if (!nfkc_->hasBoundaryBefore(c)) return kTagSlow;
    const std::string self = Utf8Of(c);
    const std::string nfkc = Normalize(nfkc_, self);
    if (nfkc == self) return kTagKeep;
    if (nfkc.empty() || nfkc.size() > 255) return kTagSlow;
    for (UChar32 d : CodePoints(nfkc)) {
      if (ClassOf(d) != kTagKeep) return kTagSlow;
    }
    return pool->Add(nfkc);
  }

  uint32_t FoldEntry(UChar32 c, const std::map<UChar32, std::string>& confusables,
                     Pool* pool) const {
    if (IsSurrogate(c)) return kTagKeep;  // never seen in valid UTF-8
    if (!nfkc_cf_->hasBoundaryBefore(c)) return kTagSlow;
    const std::string self = Utf8Of(c);
    const std::string mapped = ApplyTable(confusables, Normalize(nfkc_cf_, self));
    if (mapped.empty()) return kTagSlow;
    UChar32 first;
    U8_GET_UNSAFE(mapped.data(), 0, first);
    if (!nfkc_cf_->hasBoundaryBefore(first)) return kTagSlow;
    const std::string folded = Normalize(nfkc_cf_, mapped);
    if (folded == self) return kTagKeep;
    if (folded.empty() || folded.size() > 255) return kTagSlow;
    return pool->Add(folded);
  }

  const icu::Normalizer2* nfkc() const { return nfkc_; }

 private:
  USpoofChecker* spoof_ = nullptr;
  const icu::Normalizer2* nfd_ = nullptr;
  const icu::Normalizer2* nfkc_ = nullptr;
  const icu::Normalizer2* nfkc_cf_ = nullptr;
  std::string ascii_skeleton_[0x80];
};

// A two-level table: blocks of 256 code points share identical rows.
struct Table {
  std::vector<uint16_t> blocks;
  std::vector<std::vector<uint32_t>> rows;
};

// Builds a Table from one entry per code point (0..U+10FFFF); row 0 is all kTagKeep.
Table Compress(const std::vector<uint32_t>& entries) {
  Table t;
  std::map<std::vector<uint32_t>, uint16_t> row_index;
  std::vector<uint32_t> zero(256, kTagKeep);
  t.rows.push_back(zero);
  row_index.emplace(zero, 0);
  for (size_t block = 0; block < (kMaxCodePoint + 1) / 256; ++block) {
    std::vector<uint32_t> row(entries.begin() + static_cast<ptrdiff_t>(block * 256),
                              entries.begin() + static_cast<ptrdiff_t>(block * 256 + 256));
    auto [it, inserted] = row_index.emplace(row, static_cast<uint16_t>(t.rows.size()));
    if (inserted) t.rows.push_back(std::move(row));
    t.blocks.push_back(it->second);
  }
  return t;
}

void EmitTable(FILE* f, const char* name, const Table& t) {
  std::fprintf(f, "const uint16_t k%sBlocks[kTableBlockCount] = {\n", name);
  for (size_t i = 0; i < t.blocks.size(); ++i) {
    std::fprintf(f, "%s%u,%s", i % 16 == 0 ? "    " : "", static_cast<unsigned>(t.blocks[i]),
                 i % 16 == 15 ? "\n" : " ");
  }
  std::fprintf(f, "};\n\nconst uint32_t k%sRows[][256] = {\n", name);
  for (const auto& row : t.rows) {
    std::fprintf(f, "    {\n");
    for (size_t i = 0; i < row.size(); ++i) {
      std::fprintf(f, "%s%uu,%s", i % 8 == 0 ? "        " : "", static_cast<unsigned>(row[i]),
                   i % 8 == 7 ? "\n" : " ");
    }
    std::fprintf(f, "    },\n");
  }
  std::fprintf(f, "};\n\n");
}

bool Emit(const char* path, const std::map<UChar32, std::string>& confusables, const Table& unfold,
          const Table& confusable, const Table& fold, const Pool& pool) {
  if (pool.bytes().size() >= (1u << 22)) {
    std::fprintf(stderr, "gen_tables: string pool too large\n");
    return false;
  }
  const std::string tmp = std::string(path) + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    std::perror(tmp.c_str());
    return false;
  }
  std::fprintf(f,
               "// Generated by engine/text/gen_tables.cc from ICU %s data. Do not edit.\n"
               "#include \"engine/text/tables.h\"\n\n"
               "namespace fedwall::text::internal {\n\n",
               U_ICU_VERSION);
  std::fprintf(f, "const char kUnicodeVersion[] = \"%s\";\n\n", U_UNICODE_VERSION);
  std::fprintf(f, "const uint32_t kConfusableCount = %zu;\n\n", confusables.size());
  std::fprintf(f, "const char kTablePool[] = {\n");
  const std::string& bytes = pool.bytes();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::fprintf(f, "%s'\\x%02x',%s", i % 16 == 0 ? "    " : "",
                 static_cast<unsigned char>(bytes[i]), i % 16 == 15 ? "\n" : " ");
  }
  std::fprintf(f, "'\\0'};\n\n");
  EmitTable(f, "Unfold", unfold);
  EmitTable(f, "Confusable", confusable);
  EmitTable(f, "Fold", fold);
  std::fprintf(f, "}  // namespace fedwall::text::internal\n");
  if (std::fclose(f) != 0) {
    std::perror(tmp.c_str());
    return false;
  }
  if (std::rename(tmp.c_str(), path) != 0) {
    std::perror(path);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.cc | --list-confusables\n", argv[0]);
    return 2;
  }
  Generator gen;
  if (!gen.Init()) return 1;
  const std::map<UChar32, std::string> confusables = gen.BuildConfusables();
  if (std::string(argv[1]) == "--list-confusables") {
    for (const auto& [c, rep] : confusables) {
      std::printf("U+%04X\t%s\t%s\n", static_cast<unsigned>(c), Utf8Of(c).c_str(), rep.c_str());
    }
    return 0;
  }
  Pool pool;
  std::vector<uint32_t> unfold(kMaxCodePoint + 1, kTagKeep);
  std::vector<uint32_t> confusable(kMaxCodePoint + 1, kTagKeep);
  std::vector<uint32_t> fold(kMaxCodePoint + 1, kTagKeep);
  for (UChar32 c = 0; c <= kMaxCodePoint; ++c) {
    unfold[static_cast<size_t>(c)] = gen.UnfoldEntry(c, &pool);
  }
  for (const auto& [c, rep] : confusables) confusable[static_cast<size_t>(c)] = pool.Add(rep);
  // ASCII is handled by the callers (Fold lower-cases it); the table covers U+0080 and up.
  for (UChar32 c = 0x80; c <= kMaxCodePoint; ++c) {
    fold[static_cast<size_t>(c)] = gen.FoldEntry(c, confusables, &pool);
  }
  return Emit(argv[1], confusables, Compress(unfold), Compress(confusable), Compress(fold), pool)
             ? 0
             : 1;
}
