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

  // Context of the literal callback.
  const void* matcher = nullptr;
  const text::NormalizedText* text = nullptr;
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
    uint32_t first_slot = 0;  // variant_slots_[first_slot, first_slot + slot_count)
    uint32_t slot_count = 0;
  };
  enum class Route : uint8_t { kHyperscan, kFallback };
  struct Regex {
    uint32_t slot = 0;
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

  bool LeftBoundaryOk(const text::NormalizedText& text, const Unique& u, size_t start) const;
  bool RightBoundaryOk(const text::NormalizedText& text, const Unique& u, size_t end) const;
  void ScanLiterals(const text::NormalizedText& text, MatchScratch::Impl& s) const;
  void ScanRegexes(const text::NormalizedText& text, MatchScratch::Impl& s) const;
  void MatchGroup(const SetGroup& group, std::string_view text, MatchScratch::Impl& s) const;

  std::vector<uint32_t> slot_ids_;  // slot -> id

  std::vector<Unique> uniques_;
  std::vector<Variant> variants_;
  std::vector<uint32_t> variant_slots_;
  std::vector<uint32_t> empty_whole_slots_;  // ids of `== ""`
  Database literal_db_;

  std::vector<Regex> regexes_;
  std::vector<uint32_t> hyperscan_regexes_;  // regex indices routed to Hyperscan
  Database regex_db_;
  SetGroup fallback_;
  SetGroup case_guard_;  // the case-insensitive ones among hyperscan_regexes_

  TextMatcherStats stats_;
};

bool TextMatcherImpl::LeftBoundaryOk(const text::NormalizedText& text, const Unique& u,
                                     size_t start) const {
  if (start == 0 || u.first_spaceless) return true;
  const char32_t c = internal::CodePointBefore(text.folded, start);
  if (!internal::IsWordChar(c) || internal::IsSpacelessScript(c)) return true;
  return std::binary_search(text.folded_breaks.begin(), text.folded_breaks.end(),
                            static_cast<uint32_t>(start));
}

bool TextMatcherImpl::RightBoundaryOk(const text::NormalizedText& text, const Unique& u,
                                      size_t end) const {
  if (end >= text.folded.size() || u.last_spaceless) return true;
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
  const size_t end = static_cast<size_t>(to);
  if (end < u.length) return 0;  // cannot happen
  const size_t start = end - u.length;
  for (uint32_t v = u.first_variant; v < u.first_variant + u.variant_count; ++v) {
    uint32_t& best = s.variant_start[v];
    if (best <= start) continue;  // an earlier valid occurrence is known
    const Variant& var = m.variants_[v];
    if ((var.anchor == Anchor::kStart || var.anchor == Anchor::kWhole) && start != 0) continue;
    if ((var.anchor == Anchor::kEnd || var.anchor == Anchor::kWhole) && end != text.folded.size()) {
      continue;
    }
    if (var.whole_word && !(m.LeftBoundaryOk(text, u, start) && m.RightBoundaryOk(text, u, end))) {
      continue;
    }
    if (best == kNone) s.variant_touched.push_back(v);
    best = static_cast<uint32_t>(start);
  }
  return 0;
}

int TextMatcherImpl::OnRegex(unsigned int id, unsigned long long /*from*/,
                             unsigned long long /*to*/, unsigned int /*flags*/, void* context) {
  static_cast<MatchScratch::Impl*>(context)->Candidate(id);
  return 0;
}

void TextMatcherImpl::ScanLiterals(const text::NormalizedText& text, MatchScratch::Impl& s) const {
  const std::string& folded = text.folded;
  if (folded.empty()) {
    for (uint32_t slot : empty_whole_slots_) s.Offer(slot, 0, 0);
    return;
  }
  if (!literal_db_ || !s.Prepare(literal_db_)) return;
  if (s.variant_start.size() < variants_.size()) s.variant_start.resize(variants_.size(), kNone);
  s.matcher = this;
  s.text = &text;
  hs_scan(literal_db_.db.get(), folded.data(), static_cast<unsigned int>(folded.size()), 0, s.hs,
          &TextMatcherImpl::OnLiteral, &s);
  for (uint32_t v : s.variant_touched) {
    const Variant& var = variants_[v];
    const uint32_t start = s.variant_start[v];
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
      for (int h : s.set_hits) s.Candidate(group.members[static_cast<size_t>(h)]);
    } else if (info.kind != RE2::Set::kNoError) {
      // The set's DFA ran out of memory on this text: every member is run by its own RE2.
      for (uint32_t r : group.members) s.Candidate(r);
    }
  }
  for (uint32_t r : group.individual) s.Candidate(r);
}

void TextMatcherImpl::ScanRegexes(const text::NormalizedText& text, MatchScratch::Impl& s) const {
  const std::string& t = text.unfolded;
  if (s.regex_seen.size() < regexes_.size()) s.regex_seen.resize(regexes_.size(), 0);

  if (!hyperscan_regexes_.empty()) {
    const bool want_case = case_guard_.set != nullptr || !case_guard_.individual.empty();
    const internal::Utf8Facts facts = internal::ScanUtf8(t, want_case);
    if (!facts.valid) {
      // Hyperscan's UTF-8 database is never given invalid UTF-8: RE2 decides alone.
      for (uint32_t r : hyperscan_regexes_) s.Candidate(r);
    } else {
      if (!t.empty() && regex_db_ && s.Prepare(regex_db_)) {
        const hs_error_t err =
            hs_scan(regex_db_.db.get(), t.data(), static_cast<unsigned int>(t.size()), 0, s.hs,
                    &TextMatcherImpl::OnRegex, &s);
        if (err != HS_SUCCESS && err != HS_SCAN_TERMINATED) {
          for (uint32_t r : hyperscan_regexes_) s.Candidate(r);
        }
      } else if (!t.empty() && regex_db_) {
        for (uint32_t r : hyperscan_regexes_) s.Candidate(r);  // no scratch: RE2 alone
      }
      if (facts.has_case_unstable) MatchGroup(case_guard_, t, s);
    }
  }
  MatchGroup(fallback_, t, s);

  for (uint32_t r : s.regex_candidates) {
    s.regex_seen[r] = 0;
    const Regex& regex = regexes_[r];
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
  MatchScratch::Impl& s = *scratch.impl();
  if (s.busy.exchange(true, std::memory_order_acquire)) return;  // misuse: see MatchScratch
  if (text.folded.size() <= kMaxTextBytes && (literal_db_ || !empty_whole_slots_.empty())) {
    ScanLiterals(text, s);
  }
  if (text.unfolded.size() <= kMaxTextBytes && !regexes_.empty()) ScanRegexes(text, s);

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
  };
  struct RegexIn {
    uint32_t id;
    std::string pattern;
    bool ignore_case;
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
    // Every id gets a dense slot; an id is either a literal id or a regex id.
    for (const LiteralIn& l : literals_) {
      if (l.folded.size() > options_.max_pattern_bytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "pattern ", l.id, ": literal of ", l.folded.size(),
            " bytes is longer than max_pattern_bytes (", options_.max_pattern_bytes, ")"));
      }
      SlotFor(l.id, /*regex=*/false);
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
      SlotFor(r.id, /*regex=*/true);
    }
    return absl::OkStatus();
  }

  uint32_t SlotFor(uint32_t id, bool regex) {
    auto [it, inserted] = slots_.try_emplace(id, SlotInfo{});
    if (inserted) {
      it->second.slot = static_cast<uint32_t>(m_->slot_ids_.size());
      it->second.regex = regex;
      m_->slot_ids_.push_back(id);
    }
    return it->second.slot;
  }

  absl::Status BuildLiterals() {
    // Group by string, then by (whole_word, anchor); collect the slots of each group.
    struct VariantIn {
      bool whole_word;
      Anchor anchor;
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
        if (l.anchor == Anchor::kWhole) m_->empty_whole_slots_.push_back(slot);
        continue;
      }
      auto [it, inserted] = index.try_emplace(absl::string_view(l.folded.data(), l.folded.size()),
                                              static_cast<uint32_t>(uniques.size()));
      if (inserted) uniques.push_back(UniqueIn{l.folded, l.id, {}});
      UniqueIn& u = uniques[it->second];
      VariantIn* var = nullptr;
      for (VariantIn& v : u.variants) {
        if (v.whole_word == l.whole_word && v.anchor == l.anchor) var = &v;
      }
      if (var == nullptr) {
        u.variants.push_back(VariantIn{l.whole_word, l.anchor, {}});
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
  impl_->literals.push_back({id, std::move(folded), whole_word, anchor});
}

void TextMatcherBuilder::AddRegex(uint32_t id, std::string pattern, bool ignore_case) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  impl_->regexes.push_back({id, std::move(pattern), ignore_case});
}

absl::StatusOr<std::unique_ptr<const TextMatcher>> TextMatcherBuilder::Build(
    const MatcherOptions& options) && {
  std::unique_ptr<Impl> impl = std::move(impl_);
  if (!impl) impl = std::make_unique<Impl>();
  return BuilderImpl(std::move(impl->literals), std::move(impl->regexes), options).Build();
}

}  // namespace fedwall::match
