#include "engine/match/text_matcher.h"

#include <hs/hs.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/match/regex_analysis.h"
#include "engine/match/scoped_matcher.h"
#include "engine/match/text_matcher_internal.h"
#include "engine/match/unicode_props.h"

namespace fedwall::match {
namespace {

using Anchor = TextMatcherBuilder::Anchor;

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
// Texts longer than this are not scanned (hs_scan takes an unsigned int length; spans are
// uint32_t).
constexpr size_t kMaxTextBytes = std::numeric_limits<uint32_t>::max() - 1;
// Times the shared regex database is recompiled after moving one failing pattern out, before
// every pattern is compiled alone to find all the failing ones at once.
constexpr int kMaxRegexRecompiles = 3;
// Database serials a scratch remembers having been grown for (then it forgets them all; a
// forgotten database costs one more hs_alloc_scratch).
constexpr size_t kMaxPreparedSerials = 64;

std::atomic<uint64_t> g_next_serial{1};
std::atomic<internal::HsCompileMultiFn> g_compile_multi{&hs_compile_multi};

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
using HsDatabasePtr = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;

struct HsCompileErrorDeleter {
  void operator()(hs_compile_error_t* e) const { hs_free_compile_error(e); }
};
using HsCompileErrorPtr = std::unique_ptr<hs_compile_error_t, HsCompileErrorDeleter>;

// A compiled Hyperscan database with a process-unique serial (the scratch remembers serials,
// never addresses, which could be reused).
struct Database {
  HsDatabasePtr db;
  uint64_t serial = 0;
  size_t bytes = 0;

  explicit operator bool() const { return db != nullptr; }
  void Set(hs_database_t* d) {
    db.reset(d);
    serial = g_next_serial.fetch_add(1, std::memory_order_relaxed);
    bytes = 0;
    if (d != nullptr) hs_database_size(d, &bytes);
  }
};

std::string Abbreviate(std::string_view s) {
  constexpr size_t kMax = 80;
  if (s.size() <= kMax) return std::string(s);
  return absl::StrCat(absl::string_view(s.data(), kMax), "...");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MatchScratch

struct MatchScratch::Impl {
  ~Impl() {
    if (hs != nullptr) hs_free_scratch(hs);
  }

  // Grows `hs` for `db` unless already done. False if Hyperscan cannot allocate.
  bool Prepare(const Database& db) {
    for (uint64_t s : prepared) {
      if (s == db.serial) return true;
    }
    if (hs_alloc_scratch(db.db.get(), &hs) != HS_SUCCESS) return false;
    if (prepared.size() >= kMaxPreparedSerials) prepared.clear();
    prepared.push_back(db.serial);
    return true;
  }

  void Offer(uint32_t slot, uint32_t start, uint32_t end) {
    if (slot >= slot_start.size()) {
      slot_start.resize(slot + 1, kNone);
      slot_end.resize(slot + 1, 0);
    }
    uint32_t& s = slot_start[slot];
    if (s == kNone) {
      slot_touched.push_back(slot);
    } else if (start > s || (start == s && end <= slot_end[slot])) {
      return;
    }
    s = start;
    slot_end[slot] = end;
  }

  void Candidate(uint32_t regex) {
    if (regex_seen[regex]) return;
    regex_seen[regex] = 1;
    regex_candidates.push_back(regex);
  }

  // Set while a scan uses this scratch: a second, concurrent or nested, scan with the same
  // scratch finds it set and reports nothing instead of corrupting the first one.
  std::atomic<bool> busy{false};
  hs_scratch_t* hs = nullptr;
  std::vector<uint64_t> prepared;  // serials of the databases `hs` has been grown for

  // Every vector below is "clean" between scans (kNone / 0 everywhere); the touched lists say
  // what a scan must reset, so a scan costs nothing per pattern that did not match.
  std::vector<uint32_t> variant_start;  // per literal variant: leftmost valid start
  std::vector<uint32_t> variant_touched;
  std::vector<uint32_t> slot_start;  // per id slot: best span so far
  std::vector<uint32_t> slot_end;
  std::vector<uint32_t> slot_touched;
  std::vector<uint8_t> regex_seen;  // per regex: already a candidate in this scan
  std::vector<uint32_t> regex_candidates;
  std::vector<int> set_hits;

  // Context of the scan in progress (see ScanSegments in scoped_matcher.h): the whole text,
  // whether scope-0 patterns count, the segment being scanned, and per scope the segment that
  // has it (scope_segment[k] == kNone: none).
  const void* matcher = nullptr;
  const text::NormalizedText* text = nullptr;
  bool whole_scope = true;
  uint32_t seg_scope = 0;
  uint32_t seg_begin = 0;  // the segment's folded range (literals)
  uint32_t seg_end = 0;
  uint32_t scope_segment[kMaxScopes] = {};
  std::vector<TextSegment> segments;  // the segments of the scan, scopes made unique

  // Whether a pattern of `scope` counts in the segment being scanned.
  bool Active(uint32_t scope) const { return scope == 0 ? whole_scope : scope == seg_scope; }
};

MatchScratch::MatchScratch() : impl_(std::make_unique<Impl>()) {}
MatchScratch::~MatchScratch() = default;

namespace {

// ---------------------------------------------------------------------------------------------
// The matcher

class TextMatcherImpl final : public TextMatcher {
 public:
  void Scan(
      const text::NormalizedText& text, MatchScratch& scratch,
      absl::FunctionRef<void(uint32_t id, uint32_t start, uint32_t end)> on_match) const override;
  void ScanSegments(
      const text::NormalizedText& whole, std::span<const TextSegment> segments, bool whole_scope,
      MatchScratch& scratch,
      absl::FunctionRef<void(uint32_t id, uint32_t start, uint32_t end)> on_match) const;
  size_t pattern_count() const override { return stats_.literals + stats_.regexes; }
  size_t fallback_count() const override { return stats_.regexes_fallback; }
  TextMatcherStats stats() const override { return stats_; }

 private:
  friend class BuilderImpl;

  // One distinct literal string in the database (its Hyperscan id is its index).
  struct Unique {
    uint32_t length = 0;
    bool first_spaceless = false;  // its first / last code point is in a spaceless script
    bool last_spaceless = false;
    uint32_t first_variant = 0;  // variants_[first_variant, first_variant + variant_count)
    uint32_t variant_count = 0;
  };
  // One way a string is used: plain, whole word and/or anchored; the ids using it that way.
  struct Variant {
    uint32_t unique = 0;
    bool whole_word = false;
    Anchor anchor = Anchor::kNone;
    uint32_t scope = 0;       // see scoped_matcher.h
    uint32_t first_slot = 0;  // variant_slots_[first_slot, first_slot + slot_count)
    uint32_t slot_count = 0;
  };
  enum class Route : uint8_t { kHyperscan, kFallback };
  struct Regex {
    uint32_t slot = 0;
    uint32_t scope = 0;
    std::unique_ptr<RE2> re;
    Route route = Route::kFallback;
    bool caseless = false;
  };
  // A group of regexes matched together by one RE2::Set; `individual` holds those the set could
  // not take (Add or Compile failed), run one by one.
  struct SetGroup {
    std::unique_ptr<RE2::Set> set;
    std::vector<uint32_t> members;  // set index -> regex index
    std::vector<uint32_t> individual;
  };

  static int OnLiteral(unsigned int id, unsigned long long from, unsigned long long to,
                       unsigned int flags, void* context);
  static int OnRegex(unsigned int id, unsigned long long from, unsigned long long to,
                     unsigned int flags, void* context);

  // `lo` and `hi` are the edges of the text the literal is matched in (a segment's, for a
  // part field).
  static bool LeftBoundaryOk(const text::NormalizedText& text, const Unique& u, size_t start,
                             size_t lo);
  static bool RightBoundaryOk(const text::NormalizedText& text, const Unique& u, size_t end,
                              size_t hi);
  void ScanLiterals(const text::NormalizedText& text, MatchScratch::Impl& s) const;
  void ScanRegexes(const text::NormalizedText& text, MatchScratch::Impl& s) const;
  void MatchGroup(const SetGroup& group, std::string_view text, MatchScratch::Impl& s) const;
  void Candidate(uint32_t regex, MatchScratch::Impl& s) const {
    if (s.Active(regexes_[regex].scope)) s.Candidate(regex);
  }

  std::vector<uint32_t> slot_ids_;  // slot -> id

  std::vector<Unique> uniques_;
  std::vector<Variant> variants_;
  std::vector<uint32_t> variant_slots_;
  std::vector<std::pair<uint32_t, uint32_t>> empty_whole_slots_;  // (scope, slot) of `== ""`
  Database literal_db_;

  std::vector<Regex> regexes_;
  std::vector<uint32_t> hyperscan_regexes_;  // regex indices routed to Hyperscan
  Database regex_db_;
  SetGroup fallback_;
  SetGroup case_guard_;  // the case-insensitive ones among hyperscan_regexes_

  TextMatcherStats stats_;
};

bool TextMatcherImpl::LeftBoundaryOk(const text::NormalizedText& text, const Unique& u,
                                     size_t start, size_t lo) {
  if (start <= lo || u.first_spaceless) return true;
  const char32_t c = internal::CodePointBefore(text.folded, start);
  if (!internal::IsWordChar(c) || internal::IsSpacelessScript(c)) return true;
  return std::binary_search(text.folded_breaks.begin(), text.folded_breaks.end(),
                            static_cast<uint32_t>(start));
}

bool TextMatcherImpl::RightBoundaryOk(const text::NormalizedText& text, const Unique& u, size_t end,
                                      size_t hi) {
  if (end >= hi || end >= text.folded.size() || u.last_spaceless) return true;
  const char32_t c = internal::CodePointAt(text.folded, end);
  if (!internal::IsWordChar(c) || internal::IsSpacelessScript(c)) return true;
  return std::binary_search(text.folded_breaks.begin(), text.folded_breaks.end(),
                            static_cast<uint32_t>(end));
}

int TextMatcherImpl::OnLiteral(unsigned int id, unsigned long long /*from*/, unsigned long long to,
                               unsigned int /*flags*/, void* context) {
  auto& s = *static_cast<MatchScratch::Impl*>(context);
  const auto& m = *static_cast<const TextMatcherImpl*>(s.matcher);
  const text::NormalizedText& text = *s.text;
  const Unique& u = m.uniques_[id];
  // `to` is relative to the segment scanned; positions below are in the whole text.
  if (to < u.length) return 0;  // cannot happen
  const size_t end = s.seg_begin + static_cast<size_t>(to);
  const size_t start = end - u.length;
  for (uint32_t v = u.first_variant; v < u.first_variant + u.variant_count; ++v) {
    uint32_t& best = s.variant_start[v];
    if (best <= start) continue;  // an earlier valid occurrence is known
    const Variant& var = m.variants_[v];
    // The edges of the text this variant is matched in: the whole text, or the segment.
    size_t lo = 0, hi = text.folded.size();
    if (var.scope != 0) {
      if (var.scope != s.seg_scope) continue;
      lo = s.seg_begin;
      hi = s.seg_end;
    } else if (!s.whole_scope) {
      continue;
    }
    if ((var.anchor == Anchor::kStart || var.anchor == Anchor::kWhole) && start != lo) continue;
    if ((var.anchor == Anchor::kEnd || var.anchor == Anchor::kWhole) && end != hi) continue;
    if (var.whole_word &&
        !(LeftBoundaryOk(text, u, start, lo) && RightBoundaryOk(text, u, end, hi))) {
      continue;
    }
    if (best == kNone) s.variant_touched.push_back(v);
    best = static_cast<uint32_t>(start);
  }
  return 0;
}

int TextMatcherImpl::OnRegex(unsigned int id, unsigned long long /*from*/,
                             unsigned long long /*to*/, unsigned int /*flags*/, void* context) {
  auto& s = *static_cast<MatchScratch::Impl*>(context);
  static_cast<const TextMatcherImpl*>(s.matcher)->Candidate(id, s);
  return 0;
}

void TextMatcherImpl::ScanLiterals(const text::NormalizedText& text, MatchScratch::Impl& s) const {
  // `== ""`: true when the text of the pattern's scope is empty.
  for (const auto& [scope, slot] : empty_whole_slots_) {
    if (scope == 0) {
      if (s.whole_scope && text.folded.empty()) s.Offer(slot, 0, 0);
    } else if (s.scope_segment[scope] != kNone) {
      const TextSegment& g = s.segments[s.scope_segment[scope]];
      if (g.folded_begin == g.folded_end) s.Offer(slot, 0, 0);
    }
  }
  if (!literal_db_) return;
  bool prepared = false;
  for (const TextSegment& g : s.segments) {
    if (g.folded_begin >= g.folded_end || (g.scope == 0 && !s.whole_scope)) continue;
    if (!prepared) {
      if (!s.Prepare(literal_db_)) return;
      if (s.variant_start.size() < variants_.size()) {
        s.variant_start.resize(variants_.size(), kNone);
      }
      prepared = true;
    }
    s.seg_scope = g.scope;
    s.seg_begin = g.folded_begin;
    s.seg_end = g.folded_end;
    hs_scan(literal_db_.db.get(), text.folded.data() + g.folded_begin,
            g.folded_end - g.folded_begin, 0, s.hs, &TextMatcherImpl::OnLiteral, &s);
  }
  for (uint32_t v : s.variant_touched) {
    const Variant& var = variants_[v];
    // Spans of a part field are offsets into the part.
    const uint32_t base = var.scope == 0 ? 0 : s.segments[s.scope_segment[var.scope]].folded_begin;
    const uint32_t start = s.variant_start[v] - base;
    const uint32_t end = start + uniques_[var.unique].length;
    for (uint32_t i = var.first_slot; i < var.first_slot + var.slot_count; ++i) {
      s.Offer(variant_slots_[i], start, end);
    }
    s.variant_start[v] = kNone;
  }
  s.variant_touched.clear();
}

void TextMatcherImpl::MatchGroup(const SetGroup& group, std::string_view text,
                                 MatchScratch::Impl& s) const {
  if (group.set) {
    s.set_hits.clear();
    RE2::Set::ErrorInfo info{};
    if (group.set->Match(re2::StringPiece(text.data(), text.size()), &s.set_hits, &info)) {
      for (int h : s.set_hits) Candidate(group.members[static_cast<size_t>(h)], s);
    } else if (info.kind != RE2::Set::kNoError) {
      // The set's DFA ran out of memory on this text: every member is run by its own RE2.
      for (uint32_t r : group.members) Candidate(r, s);
    }
  }
  for (uint32_t r : group.individual) Candidate(r, s);
}

void TextMatcherImpl::ScanRegexes(const text::NormalizedText& text, MatchScratch::Impl& s) const {
  if (s.regex_seen.size() < regexes_.size()) s.regex_seen.resize(regexes_.size(), 0);
  const bool want_case = case_guard_.set != nullptr || !case_guard_.individual.empty();
  for (const TextSegment& g : s.segments) {
    if (g.scope == 0 && !s.whole_scope) continue;
    s.seg_scope = g.scope;
    const std::string_view t(text.unfolded.data() + g.unfolded_begin,
                             g.unfolded_end - g.unfolded_begin);
    if (!hyperscan_regexes_.empty()) {
      const internal::Utf8Facts facts = internal::ScanUtf8(t, want_case);
      if (!facts.valid) {
        // Hyperscan's UTF-8 database is never given invalid UTF-8: RE2 decides alone.
        for (uint32_t r : hyperscan_regexes_) Candidate(r, s);
      } else {
        if (!t.empty() && regex_db_ && s.Prepare(regex_db_)) {
          const hs_error_t err =
              hs_scan(regex_db_.db.get(), t.data(), static_cast<unsigned int>(t.size()), 0, s.hs,
                      &TextMatcherImpl::OnRegex, &s);
          if (err != HS_SUCCESS && err != HS_SCAN_TERMINATED) {
            for (uint32_t r : hyperscan_regexes_) Candidate(r, s);
          }
        } else if (!t.empty() && regex_db_) {
          for (uint32_t r : hyperscan_regexes_) Candidate(r, s);  // no scratch: RE2 alone
        }
        if (facts.has_case_unstable) MatchGroup(case_guard_, t, s);
      }
    }
    MatchGroup(fallback_, t, s);
  }

  // Confirm: scope-0 regexes on the whole text, a part field's on its segment alone.
  for (uint32_t r : s.regex_candidates) {
    s.regex_seen[r] = 0;
    const Regex& regex = regexes_[r];
    std::string_view t = text.unfolded;
    if (regex.scope != 0) {
      const TextSegment& g = s.segments[s.scope_segment[regex.scope]];
      t = t.substr(g.unfolded_begin, g.unfolded_end - g.unfolded_begin);
    }
    re2::StringPiece m;
    if (regex.re->Match(re2::StringPiece(t.data(), t.size()), 0, t.size(), RE2::UNANCHORED, &m,
                        1)) {
      const auto start = static_cast<uint32_t>(m.data() - t.data());
      s.Offer(regex.slot, start, start + static_cast<uint32_t>(m.size()));
    }
  }
  s.regex_candidates.clear();
}

void TextMatcherImpl::Scan(
    const text::NormalizedText& text, MatchScratch& scratch,
    absl::FunctionRef<void(uint32_t id, uint32_t start, uint32_t end)> on_match) const {
  TextSegment whole;
  whole.folded_end = static_cast<uint32_t>(std::min(text.folded.size(), kMaxTextBytes));
  whole.unfolded_end = static_cast<uint32_t>(std::min(text.unfolded.size(), kMaxTextBytes));
  ScanSegments(text, std::span<const TextSegment>(&whole, 1), /*whole_scope=*/true, scratch,
               on_match);
}

void TextMatcherImpl::ScanSegments(
    const text::NormalizedText& whole, std::span<const TextSegment> segments, bool whole_scope,
    MatchScratch& scratch,
    absl::FunctionRef<void(uint32_t id, uint32_t start, uint32_t end)> on_match) const {
  MatchScratch::Impl& s = *scratch.impl();
  if (s.busy.exchange(true, std::memory_order_acquire)) return;  // misuse: see MatchScratch
  s.matcher = this;
  s.text = &whole;
  s.whole_scope = whole_scope;
  // Keep the segments that lie in the text; a scope counts in its first segment only.
  s.segments.clear();
  std::fill(std::begin(s.scope_segment), std::end(s.scope_segment), kNone);
  for (TextSegment g : segments) {
    if (g.folded_begin > g.folded_end || g.folded_end > whole.folded.size() ||
        g.unfolded_begin > g.unfolded_end || g.unfolded_end > whole.unfolded.size()) {
      continue;
    }
    if (g.scope >= kMaxScopes || (g.scope != 0 && s.scope_segment[g.scope] != kNone)) g.scope = 0;
    if (g.scope != 0) s.scope_segment[g.scope] = static_cast<uint32_t>(s.segments.size());
    s.segments.push_back(g);
  }
  if (whole.folded.size() <= kMaxTextBytes && (literal_db_ || !empty_whole_slots_.empty())) {
    ScanLiterals(whole, s);
  }
  if (whole.unfolded.size() <= kMaxTextBytes && !regexes_.empty()) ScanRegexes(whole, s);

  // Report after the scans, so that on_match runs outside Hyperscan's callbacks.
  for (uint32_t slot : s.slot_touched) {
    const uint32_t start = s.slot_start[slot];
    const uint32_t end = s.slot_end[slot];
    s.slot_start[slot] = kNone;
    on_match(slot_ids_[slot], start, end);
  }
  s.slot_touched.clear();
  s.busy.store(false, std::memory_order_release);
}

// ---------------------------------------------------------------------------------------------
// Building

class BuilderImpl {
 public:
  struct LiteralIn {
    uint32_t id;
    std::string folded;
    bool whole_word;
    Anchor anchor;
    uint32_t scope;
  };
  struct RegexIn {
    uint32_t id;
    std::string pattern;
    bool ignore_case;
    uint32_t scope;
  };

  BuilderImpl(std::vector<LiteralIn> literals, std::vector<RegexIn> regexes,
              const MatcherOptions& options)
      : literals_(std::move(literals)),
        regexes_(std::move(regexes)),
        options_(options),
        m_(std::make_unique<TextMatcherImpl>()) {}

  absl::StatusOr<std::unique_ptr<const TextMatcher>> Build() {
    m_->stats_.literals = literals_.size();
    m_->stats_.regexes = regexes_.size();
    if (absl::Status st = AssignSlots(); !st.ok()) return st;
    if (absl::Status st = BuildLiterals(); !st.ok()) return st;
    if (absl::Status st = BuildRegexes(); !st.ok()) return st;
    return std::unique_ptr<const TextMatcher>(std::move(m_));
  }

 private:
  using Regex = TextMatcherImpl::Regex;
  using Route = TextMatcherImpl::Route;

  absl::Status AssignSlots() {
    // Every id gets a dense slot; an id is either a literal id or a regex id, of one scope.
    for (const LiteralIn& l : literals_) {
      if (l.folded.size() > options_.max_pattern_bytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "pattern ", l.id, ": literal of ", l.folded.size(),
            " bytes is longer than max_pattern_bytes (", options_.max_pattern_bytes, ")"));
      }
      if (absl::Status st = CheckScope(l.id, l.scope); !st.ok()) return st;
      SlotFor(l.id, /*regex=*/false, l.scope);
    }
    for (const RegexIn& r : regexes_) {
      if (r.pattern.size() > options_.max_pattern_bytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "pattern ", r.id, ": regex of ", r.pattern.size(),
            " bytes is longer than max_pattern_bytes (", options_.max_pattern_bytes, ")"));
      }
      auto it = slots_.find(r.id);
      if (it != slots_.end() && !it->second.regex) {
        return absl::InvalidArgumentError(
            absl::StrCat("pattern ", r.id, ": id used for both a literal and a regex"));
      }
      if (absl::Status st = CheckScope(r.id, r.scope); !st.ok()) return st;
      SlotFor(r.id, /*regex=*/true, r.scope);
    }
    return absl::OkStatus();
  }

  absl::Status CheckScope(uint32_t id, uint32_t scope) const {
    if (scope >= kMaxScopes) {
      return absl::InvalidArgumentError(
          absl::StrCat("pattern ", id, ": scope ", scope, " is not below ", kMaxScopes));
    }
    auto it = slots_.find(id);
    if (it != slots_.end() && it->second.scope != scope) {
      return absl::InvalidArgumentError(absl::StrCat("pattern ", id, ": id used in two scopes (",
                                                     it->second.scope, " and ", scope, ")"));
    }
    return absl::OkStatus();
  }

  uint32_t SlotFor(uint32_t id, bool regex, uint32_t scope) {
    auto [it, inserted] = slots_.try_emplace(id, SlotInfo{});
    if (inserted) {
      it->second.slot = static_cast<uint32_t>(m_->slot_ids_.size());
      it->second.regex = regex;
      it->second.scope = scope;
      m_->slot_ids_.push_back(id);
    }
    return it->second.slot;
  }

  absl::Status BuildLiterals() {
    // Group by string, then by (whole_word, anchor, scope); collect the slots of each group.
    struct VariantIn {
      bool whole_word;
      Anchor anchor;
      uint32_t scope;
      std::vector<uint32_t> slots;
    };
    struct UniqueIn {
      std::string_view text;
      uint32_t first_id;
      std::vector<VariantIn> variants;
    };
    std::vector<UniqueIn> uniques;
    absl::flat_hash_map<absl::string_view, uint32_t> index;
    for (const LiteralIn& l : literals_) {
      const uint32_t slot = slots_.at(l.id).slot;
      if (l.folded.empty()) {
        if (l.anchor == Anchor::kWhole) m_->empty_whole_slots_.emplace_back(l.scope, slot);
        continue;
      }
      auto [it, inserted] = index.try_emplace(absl::string_view(l.folded.data(), l.folded.size()),
                                              static_cast<uint32_t>(uniques.size()));
      if (inserted) uniques.push_back(UniqueIn{l.folded, l.id, {}});
      UniqueIn& u = uniques[it->second];
      VariantIn* var = nullptr;
      for (VariantIn& v : u.variants) {
        if (v.whole_word == l.whole_word && v.anchor == l.anchor && v.scope == l.scope) var = &v;
      }
      if (var == nullptr) {
        u.variants.push_back(VariantIn{l.whole_word, l.anchor, l.scope, {}});
        var = &u.variants.back();
      }
      if (std::find(var->slots.begin(), var->slots.end(), slot) == var->slots.end()) {
        var->slots.push_back(slot);
      }
    }
    std::sort(m_->empty_whole_slots_.begin(), m_->empty_whole_slots_.end());
    m_->empty_whole_slots_.erase(
        std::unique(m_->empty_whole_slots_.begin(), m_->empty_whole_slots_.end()),
        m_->empty_whole_slots_.end());
    m_->stats_.unique_literals = uniques.size();
    if (uniques.empty()) return absl::OkStatus();

    std::vector<const char*> exprs;
    std::vector<size_t> lens;
    std::vector<unsigned int> ids;
    exprs.reserve(uniques.size());
    lens.reserve(uniques.size());
    ids.reserve(uniques.size());
    m_->uniques_.reserve(uniques.size());
    for (size_t i = 0; i < uniques.size(); ++i) {
      const UniqueIn& in = uniques[i];
      TextMatcherImpl::Unique u;
      u.length = static_cast<uint32_t>(in.text.size());
      u.first_spaceless = internal::IsSpacelessScript(internal::CodePointAt(in.text, 0));
      u.last_spaceless =
          internal::IsSpacelessScript(internal::CodePointBefore(in.text, in.text.size()));
      u.first_variant = static_cast<uint32_t>(m_->variants_.size());
      u.variant_count = static_cast<uint32_t>(in.variants.size());
      for (const VariantIn& v : in.variants) {
        TextMatcherImpl::Variant var;
        var.unique = static_cast<uint32_t>(i);
        var.whole_word = v.whole_word;
        var.anchor = v.anchor;
        var.scope = v.scope;
        var.first_slot = static_cast<uint32_t>(m_->variant_slots_.size());
        var.slot_count = static_cast<uint32_t>(v.slots.size());
        m_->variant_slots_.insert(m_->variant_slots_.end(), v.slots.begin(), v.slots.end());
        m_->variants_.push_back(var);
      }
      m_->uniques_.push_back(u);
      exprs.push_back(in.text.data());
      lens.push_back(in.text.size());
      ids.push_back(static_cast<unsigned int>(i));
    }

    hs_database_t* db = nullptr;
    hs_compile_error_t* raw_error = nullptr;
    const hs_error_t err = hs_compile_lit_multi(
        exprs.data(), /*flags=*/nullptr, ids.data(), lens.data(),
        static_cast<unsigned int>(exprs.size()), HS_MODE_BLOCK, nullptr, &db, &raw_error);
    HsCompileErrorPtr error(raw_error);
    if (err != HS_SUCCESS) {
      const int bad = error ? error->expression : -1;
      const std::string message = error ? error->message : "unknown error";
      if (bad >= 0 && static_cast<size_t>(bad) < uniques.size()) {
        return absl::ResourceExhaustedError(
            absl::StrCat("pattern ", uniques[static_cast<size_t>(bad)].first_id,
                         ": Hyperscan could not compile the literal \"",
                         Abbreviate(uniques[static_cast<size_t>(bad)].text), "\": ", message));
      }
      return absl::ResourceExhaustedError(
          absl::StrCat("pattern ", uniques.front().first_id, " and ", uniques.size() - 1,
                       " other literals: Hyperscan could not compile them: ", message));
    }
    m_->literal_db_.Set(db);
    m_->stats_.literal_database_bytes = m_->literal_db_.bytes;
    return absl::OkStatus();
  }

  // Per regex, what goes to Hyperscan.
  struct HsPlan {
    std::string pattern;
    unsigned int flags = 0;
    bool widened = false;
  };

  static bool ExpressionInfoOk(const std::string& pattern, unsigned int flags,
                               unsigned int* min_width) {
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* raw_error = nullptr;
    const hs_error_t err = hs_expression_info(pattern.c_str(), flags, &info, &raw_error);
    HsCompileErrorPtr error(raw_error);
    if (err != HS_SUCCESS || info == nullptr) return false;
    *min_width = info->min_width;
    free(info);  // allocated by Hyperscan's misc allocator, malloc by default
    return true;
  }

  static bool CompilesAlone(const std::string& pattern, unsigned int flags) {
    hs_database_t* db = nullptr;
    hs_compile_error_t* raw_error = nullptr;
    const hs_error_t err =
        hs_compile(pattern.c_str(), flags, HS_MODE_BLOCK, nullptr, &db, &raw_error);
    HsCompileErrorPtr error(raw_error);
    HsDatabasePtr owned(db);
    return err == HS_SUCCESS;
  }

  absl::Status BuildRegexes() {
    if (regexes_.empty()) return absl::OkStatus();
    std::vector<HsPlan> plans(regexes_.size());
    m_->regexes_.reserve(regexes_.size());
    for (size_t i = 0; i < regexes_.size(); ++i) {
      const RegexIn& in = regexes_[i];
      RE2::Options options;
      options.set_encoding(RE2::Options::EncodingUTF8);
      options.set_case_sensitive(!in.ignore_case);
      options.set_max_mem(static_cast<int64_t>(options_.max_regex_memory));
      options.set_log_errors(false);
      Regex regex;
      regex.slot = slots_.at(in.id).slot;
      regex.scope = in.scope;
      regex.re = std::make_unique<RE2>(in.pattern, options);
      if (!regex.re->ok()) {
        return absl::InvalidArgumentError(absl::StrCat("pattern ", in.id, ": invalid regex /",
                                                       Abbreviate(in.pattern),
                                                       "/: ", regex.re->error()));
      }
      const internal::RegexAnalysis a = internal::AnalyzeRegex(in.pattern, in.ignore_case);
      regex.caseless = a.caseless;
      regex.route = Route::kFallback;
      if (a.hs_refusal.empty() && !(a.caseless && a.mentions_case_unstable)) {
        HsPlan& plan = plans[i];
        plan.pattern = a.hs_pattern;
        plan.widened = a.widened;
        plan.flags = HS_FLAG_UTF8 | (in.ignore_case ? HS_FLAG_CASELESS : 0);
        unsigned int min_width = 0;
        bool ok = ExpressionInfoOk(plan.pattern, plan.flags, &min_width);
        if (!ok) {
          plan.flags |= HS_FLAG_PREFILTER;
          ok = ExpressionInfoOk(plan.pattern, plan.flags, &min_width);
        }
        // A regex that can match the empty string matches wherever its assertions hold; leave
        // it to RE2 (Hyperscan would need HS_FLAG_ALLOWEMPTY and report it everywhere).
        if (ok && min_width > 0) {
          plan.flags |= HS_FLAG_SINGLEMATCH;
          regex.route = Route::kHyperscan;
        }
      }
      m_->regexes_.push_back(std::move(regex));
    }

    CompileRegexDatabase(plans);

    std::vector<uint32_t> fallback;
    std::vector<uint32_t> guarded;
    for (size_t i = 0; i < m_->regexes_.size(); ++i) {
      const Regex& r = m_->regexes_[i];
      if (r.route == Route::kHyperscan) {
        ++m_->stats_.regexes_hyperscan;
        if (plans[i].flags & HS_FLAG_PREFILTER) ++m_->stats_.regexes_prefilter;
        if (plans[i].widened) ++m_->stats_.regexes_widened;
        if (r.caseless) {
          guarded.push_back(static_cast<uint32_t>(i));
          ++m_->stats_.regexes_case_guarded;
        }
      } else {
        fallback.push_back(static_cast<uint32_t>(i));
        ++m_->stats_.regexes_fallback;
      }
    }
    BuildSet(fallback, &m_->fallback_);
    BuildSet(guarded, &m_->case_guard_);
    m_->stats_.regex_database_bytes = m_->regex_db_.bytes;
    return absl::OkStatus();
  }

  // Compiles the Hyperscan regexes into one database. Patterns were checked alone with
  // hs_expression_info; a pattern that still makes the shared compile fail is compiled alone:
  // if that fails too it tries PREFILTER, else (or if it only fails in company) it goes to the
  // fallback; then the rest is recompiled. After kMaxRegexRecompiles such rounds, or on an
  // error not attributed to one pattern, every pattern is compiled alone once to weed out all
  // the failing ones in one go; if the shared compile still fails, every regex goes to the
  // fallback (correct, slower).
  void CompileRegexDatabase(std::vector<HsPlan>& plans) {
    auto& regexes = m_->regexes_;
    // Makes regex `r` compile alone, switching it to PREFILTER if needed; false if impossible.
    auto fit_alone = [&](uint32_t r) {
      HsPlan& plan = plans[r];
      if (CompilesAlone(plan.pattern, plan.flags)) return true;
      if (!(plan.flags & HS_FLAG_PREFILTER) &&
          CompilesAlone(plan.pattern, plan.flags | HS_FLAG_PREFILTER)) {
        plan.flags |= HS_FLAG_PREFILTER;
        return true;
      }
      return false;
    };
    bool checked_alone = false;
    for (int round = 0;; ++round) {
      std::vector<uint32_t> members;
      for (size_t i = 0; i < regexes.size(); ++i) {
        if (regexes[i].route == Route::kHyperscan) members.push_back(static_cast<uint32_t>(i));
      }
      if (members.empty()) return;
      std::vector<const char*> exprs;
      std::vector<unsigned int> flags;
      std::vector<unsigned int> ids;
      for (uint32_t r : members) {
        exprs.push_back(plans[r].pattern.c_str());
        flags.push_back(plans[r].flags);
        ids.push_back(r);
      }
      hs_database_t* db = nullptr;
      hs_compile_error_t* raw_error = nullptr;
      const hs_error_t err = g_compile_multi.load()(exprs.data(), flags.data(), ids.data(),
                                                    static_cast<unsigned int>(members.size()),
                                                    HS_MODE_BLOCK, nullptr, &db, &raw_error);
      HsCompileErrorPtr error(raw_error);
      if (err == HS_SUCCESS) {
        m_->regex_db_.Set(db);
        m_->hyperscan_regexes_ = std::move(members);
        return;
      }
      const int bad = error ? error->expression : -1;
      if (bad >= 0 && static_cast<size_t>(bad) < members.size() && round < kMaxRegexRecompiles) {
        const uint32_t r = members[static_cast<size_t>(bad)];
        const unsigned int before = plans[r].flags;
        // Fine alone with the same flags: it fails only in company, so it leaves.
        if (!fit_alone(r) || plans[r].flags == before) regexes[r].route = Route::kFallback;
        continue;
      }
      if (!checked_alone) {
        checked_alone = true;
        for (uint32_t r : members) {
          if (!fit_alone(r)) regexes[r].route = Route::kFallback;
        }
        continue;
      }
      for (uint32_t r : members) regexes[r].route = Route::kFallback;
      return;
    }
  }

  void BuildSet(const std::vector<uint32_t>& members, TextMatcherImpl::SetGroup* group) {
    if (members.empty()) return;
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingUTF8);
    options.set_max_mem(static_cast<int64_t>(options_.max_regex_memory));
    options.set_log_errors(false);
    auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
    for (uint32_t r : members) {
      const RegexIn& in = regexes_[r];
      std::string error;
      const int index =
          set->Add(in.ignore_case ? absl::StrCat("(?i)", in.pattern) : in.pattern, &error);
      if (index < 0) {
        group->individual.push_back(r);
        continue;
      }
      group->members.push_back(r);
    }
    if (!group->members.empty() && set->Compile()) {
      group->set = std::move(set);
    } else {
      // Compile() failed (out of memory): never Match() a set that did not compile.
      group->individual.insert(group->individual.end(), group->members.begin(),
                               group->members.end());
      group->members.clear();
    }
  }

  struct SlotInfo {
    uint32_t slot = 0;
    bool regex = false;
    uint32_t scope = 0;
  };

  std::vector<LiteralIn> literals_;
  std::vector<RegexIn> regexes_;
  MatcherOptions options_;
  std::unique_ptr<TextMatcherImpl> m_;
  absl::flat_hash_map<uint32_t, SlotInfo> slots_;
};

}  // namespace

void internal::SetRegexCompileMultiForTesting(internal::HsCompileMultiFn fn) {
  g_compile_multi.store(fn != nullptr ? fn : &hs_compile_multi);
}

// ---------------------------------------------------------------------------------------------
// TextMatcherBuilder

struct TextMatcherBuilder::Impl {
  std::vector<BuilderImpl::LiteralIn> literals;
  std::vector<BuilderImpl::RegexIn> regexes;
};

TextMatcherBuilder::TextMatcherBuilder() : impl_(std::make_unique<Impl>()) {}
TextMatcherBuilder::~TextMatcherBuilder() = default;
TextMatcherBuilder::TextMatcherBuilder(TextMatcherBuilder&&) noexcept = default;
TextMatcherBuilder& TextMatcherBuilder::operator=(TextMatcherBuilder&&) noexcept = default;

void TextMatcherBuilder::AddLiteral(uint32_t id, std::string folded, bool whole_word,
                                    Anchor anchor) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->literals.push_back({id, std::move(folded), whole_word, anchor, 0});
}

void TextMatcherBuilder::AddRegex(uint32_t id, std::string pattern, bool ignore_case) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->regexes.push_back({id, std::move(pattern), ignore_case, 0});
}

absl::StatusOr<std::unique_ptr<const TextMatcher>> TextMatcherBuilder::Build(
    const MatcherOptions& options) && {
  std::unique_ptr<Impl> impl = std::move(impl_);
  if (!impl) impl = std::make_unique<Impl>();
  return BuilderImpl(std::move(impl->literals), std::move(impl->regexes), options).Build();
}

// ---------------------------------------------------------------------------------------------
// ScopedTextMatcherBuilder and ScanSegments (scoped_matcher.h)

struct ScopedTextMatcherBuilder::Impl {
  std::vector<BuilderImpl::LiteralIn> literals;
  std::vector<BuilderImpl::RegexIn> regexes;
};

ScopedTextMatcherBuilder::ScopedTextMatcherBuilder() : impl_(std::make_unique<Impl>()) {}
ScopedTextMatcherBuilder::~ScopedTextMatcherBuilder() = default;
ScopedTextMatcherBuilder::ScopedTextMatcherBuilder(ScopedTextMatcherBuilder&&) noexcept = default;
ScopedTextMatcherBuilder& ScopedTextMatcherBuilder::operator=(ScopedTextMatcherBuilder&&) noexcept =
    default;

void ScopedTextMatcherBuilder::AddLiteral(uint32_t id, std::string folded, bool whole_word,
                                          TextMatcherBuilder::Anchor anchor, uint32_t scope) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->literals.push_back({id, std::move(folded), whole_word, anchor, scope});
}

void ScopedTextMatcherBuilder::AddRegex(uint32_t id, std::string pattern, bool ignore_case,
                                        uint32_t scope) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->regexes.push_back({id, std::move(pattern), ignore_case, scope});
}

absl::StatusOr<std::unique_ptr<const TextMatcher>> ScopedTextMatcherBuilder::Build(
    const MatcherOptions& options) && {
  std::unique_ptr<Impl> impl = std::move(impl_);
  if (!impl) impl = std::make_unique<Impl>();
  return BuilderImpl(std::move(impl->literals), std::move(impl->regexes), options).Build();
}

void ScanSegments(const TextMatcher& matcher, const text::NormalizedText& whole,
                  std::span<const TextSegment> segments, bool whole_scope, MatchScratch& scratch,
                  absl::FunctionRef<void(uint32_t id, uint32_t start, uint32_t end)> on_match) {
  const auto* m = dynamic_cast<const TextMatcherImpl*>(&matcher);
  if (m == nullptr) return;
  m->ScanSegments(whole, segments, whole_scope, scratch, on_match);
}

}  // namespace fedwall::match
