// The evaluator: parse -> domain checks -> one scan per matcher (`text` and its parts content,
// summary and name share one: each part of the text is scanned once) -> candidate rules in
// policy order -> the decision (the contract's "Decision" section, steps 1-7).
//
// Per-evaluation state lives in Evaluator::Impl and is reused: arrays indexed by pattern leaf
// and by rule carry a generation stamp, so nothing is cleared between evaluations and the
// work done grows with the matches found, not with the size of the policy.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/blocklist/blocklist.h"
#include "engine/fields/field_registry.h"
#include "engine/match/scoped_matcher.h"
#include "engine/policy/compiled.h"
#include "engine/policy/policy.h"
#include "engine/text/domain.h"
#include "engine/text/normalize.h"
#include "re2/re2.h"

namespace fedwall {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAccept:
      return "ACCEPT";
    case Verdict::kFlag:
      return "FLAG";
    case Verdict::kReject:
      return "REJECT";
  }
  return "ACCEPT";
}

namespace policy_internal {

// ---------------------------------------------------------------------------------------
// Field access

Accessor AccessorFor(std::string_view name) {
  struct Entry {
    std::string_view name;
    Accessor accessor;
  };
  static constexpr Entry kTable[] = {
      {"type", Accessor::kType},
      {"object.type", Accessor::kObjectType},
      {"actor", Accessor::kActor},
      {"actor.domain", Accessor::kActorDomain},
      {"object.domain", Accessor::kObjectDomain},
      {"announcer.domain", Accessor::kAnnouncerDomain},
      {"origin.domain", Accessor::kOriginDomain},
      {"origin.ip", Accessor::kOriginIp},
      {"origin.signed", Accessor::kOriginSigned},
      {"hashtags", Accessor::kHashtags},
      {"hashtags.count", Accessor::kHashtagsCount},
      {"mentions", Accessor::kMentions},
      {"mentions.count", Accessor::kMentionsCount},
      {"links", Accessor::kLinks},
      {"links.count", Accessor::kLinksCount},
      {"links.domains", Accessor::kLinkDomains},
      {"attachments.types", Accessor::kAttachmentTypes},
      {"attachments.count", Accessor::kAttachmentsCount},
      {"emojis", Accessor::kEmojis},
      {"emojis.count", Accessor::kEmojisCount},
      {"language", Accessor::kLanguage},
      {"sensitive", Accessor::kSensitive},
      {"reply", Accessor::kReply},
      {"quote", Accessor::kQuote},
      {"visibility", Accessor::kVisibility},
      {"recipients.count", Accessor::kRecipientsCount},
      {"object.age", Accessor::kObjectAge},
      {"actor.username", Accessor::kActorUsername},
      {"actor.age", Accessor::kActorAge},
      {"actor.followers", Accessor::kActorFollowers},
      {"actor.following", Accessor::kActorFollowing},
      {"actor.posts", Accessor::kActorPosts},
      {"actor.bot", Accessor::kActorBot},
      {"actor.followed", Accessor::kActorFollowed},
  };
  for (const Entry& e : kTable) {
    if (e.name == name) return e.accessor;
  }
  return Accessor::kGeneric;
}

namespace {

Value Str(std::string_view s) {
  Value v;
  v.kind = Value::Kind::kString;
  v.str = s;
  return v;
}

Value List(const std::vector<std::string>& l) {
  Value v;
  v.kind = Value::Kind::kList;
  v.list = l.data();
  v.list_size = l.size();
  return v;
}

Value Num(double d) {
  Value v;
  v.kind = Value::Kind::kNumber;
  v.number = d;
  return v;
}

Value Bool(bool b) {
  Value v;
  v.kind = Value::Kind::kBool;
  v.boolean = b;
  return v;
}

Value Dur(absl::Duration d) {
  Value v;
  v.kind = Value::Kind::kDuration;
  v.duration = d < absl::ZeroDuration() ? absl::ZeroDuration() : d;
  return v;
}

template <typename T>
Value OptNum(const std::optional<T>& o) {
  return o ? Num(static_cast<double>(*o)) : Value{};
}

Value OptBool(const std::optional<bool>& o) { return o ? Bool(*o) : Value{}; }

}  // namespace

Value ReadFast(Accessor accessor, const FieldInput& in, std::string_view origin_domain,
               bool has_origin_domain) {
  const Activity& a = in.activity;
  const RequestFacts& f = in.facts;
  switch (accessor) {
    case Accessor::kGeneric:
    case Accessor::kCounter:  // read from the evaluation's counter values, not here
      return {};
    case Accessor::kType:
      return Str(a.type);
    case Accessor::kObjectType:
      return Str(a.object_type);
    case Accessor::kActor:
      return Str(a.actor);
    case Accessor::kActorDomain:
      return Str(a.actor_domain);
    case Accessor::kObjectDomain:
      return Str(a.object_domain);
    case Accessor::kAnnouncerDomain:
      return Str(a.announcer_domain);
    case Accessor::kOriginDomain:
      return has_origin_domain ? Str(origin_domain) : Value{};
    case Accessor::kOriginIp:
      return f.delivery.remote_ip ? Str(*f.delivery.remote_ip) : Value{};
    case Accessor::kOriginSigned:
      return OptBool(f.delivery.signature_verified);
    case Accessor::kHashtags:
      return List(a.hashtags);
    case Accessor::kHashtagsCount:
      return Num(static_cast<double>(a.hashtags.size()));
    case Accessor::kMentions:
      return List(a.mentions);
    case Accessor::kMentionsCount:
      return Num(static_cast<double>(a.mentions.size()));
    case Accessor::kLinks:
      return List(a.links);
    case Accessor::kLinksCount:
      return Num(static_cast<double>(a.links.size()));
    case Accessor::kLinkDomains:
      return List(a.link_domains);
    case Accessor::kAttachmentTypes:
      return List(a.attachment_types);
    case Accessor::kAttachmentsCount:
      return Num(static_cast<double>(a.attachment_types.size()));
    case Accessor::kEmojis:
      return List(a.emojis);
    case Accessor::kEmojisCount:
      return Num(static_cast<double>(a.emojis.size()));
    case Accessor::kLanguage:
      return a.language ? Str(*a.language) : Value{};
    case Accessor::kSensitive:
      return Bool(a.sensitive);
    case Accessor::kReply:
      return Bool(a.reply);
    case Accessor::kQuote:
      return Bool(a.quote);
    case Accessor::kVisibility:
      return Str(a.visibility);
    case Accessor::kRecipientsCount:
      return Num(static_cast<double>(a.recipients_count));
    case Accessor::kObjectAge:
      return a.published ? Dur(in.now - *a.published) : Value{};
    case Accessor::kActorUsername:
      return a.actor_username ? Str(*a.actor_username) : Value{};
    case Accessor::kActorAge:
      return f.actor.created_at ? Dur(in.now - *f.actor.created_at) : Value{};
    case Accessor::kActorFollowers:
      return OptNum(f.actor.followers_count);
    case Accessor::kActorFollowing:
      return OptNum(f.actor.following_count);
    case Accessor::kActorPosts:
      return OptNum(f.actor.statuses_count);
    case Accessor::kActorBot:
      return OptBool(f.actor.bot);
    case Accessor::kActorFollowed:
      return OptBool(f.actor.followed_by_local_users);
  }
  return {};
}

Value FromFieldValue(const FieldValue& v) {
  switch (v.index()) {
    case 1:
      return Str(std::get<std::string>(v));
    case 2:
      return List(std::get<std::vector<std::string>>(v));
    case 3:
      return Num(std::get<double>(v));
    case 4: {
      Value r;
      r.kind = Value::Kind::kDuration;
      r.duration = std::get<absl::Duration>(v);
      return r;
    }
    case 5:
      return Bool(std::get<bool>(v));
    default:
      return {};
  }
}

// ---------------------------------------------------------------------------------------
// Formatting

std::string FormatDurationLiteral(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  int64_t s = absl::ToInt64Seconds(d);
  if (s == 0) return "0s";
  std::string out;
  const int64_t days = s / 86400;
  s %= 86400;
  const int64_t hours = s / 3600;
  s %= 3600;
  const int64_t minutes = s / 60;
  s %= 60;
  if (days != 0) absl::StrAppend(&out, days, "d");
  if (hours != 0) absl::StrAppend(&out, hours, "h");
  if (minutes != 0) absl::StrAppend(&out, minutes, "m");
  if (s != 0) absl::StrAppend(&out, s, "s");
  return out;
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::fabs(v) < 9e15 && v == std::floor(v)) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  if (std::fabs(v) >= 9e15) return absl::StrFormat("%g", v);
  std::string s = absl::StrFormat("%.3f", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string FormatMilli(int64_t milli) {
  const bool negative = milli < 0;
  // Careful with INT64_MIN: work on the unsigned magnitude.
  uint64_t mag = negative ? ~static_cast<uint64_t>(milli) + 1 : static_cast<uint64_t>(milli);
  std::string out = absl::StrCat(negative ? "-" : "", mag / 1000);
  uint64_t frac = mag % 1000;
  if (frac != 0) {
    std::string f = absl::StrFormat("%03d", static_cast<int>(frac));
    while (f.back() == '0') f.pop_back();
    absl::StrAppend(&out, ".", f);
  }
  return out;
}

namespace {

// `s` cut to at most `max` bytes on a UTF-8 character boundary.
std::string_view CapUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

bool CompareNumber(lang::CmpOp op, double a, double b) {
  switch (op) {
    case lang::CmpOp::kEq:
      return a == b;
    case lang::CmpOp::kLt:
      return a < b;
    case lang::CmpOp::kLe:
      return a <= b;
    case lang::CmpOp::kGt:
      return a > b;
    case lang::CmpOp::kGe:
      return a >= b;
    default:
      return false;
  }
}

bool CompareDuration(lang::CmpOp op, absl::Duration a, absl::Duration b) {
  switch (op) {
    case lang::CmpOp::kEq:
      return a == b;
    case lang::CmpOp::kLt:
      return a < b;
    case lang::CmpOp::kLe:
      return a <= b;
    case lang::CmpOp::kGt:
      return a > b;
    case lang::CmpOp::kGe:
      return a >= b;
    default:
      return false;
  }
}

struct PleafState {
  uint32_t gen = 0;
  uint32_t start = 0;
  uint32_t end = 0;
};

// A domain of the activity and what the domain table says about it.
struct DomainHit {
  const char* field;  // "actor.domain", ...
  const char* role;   // "actor", ...
  std::string_view domain;
  blocklist::Match match;
};

}  // namespace
}  // namespace policy_internal

using policy_internal::Accessor;
using policy_internal::CompiledRules;
using policy_internal::DomainHit;
using policy_internal::FieldSlot;
using policy_internal::Leaf;
using policy_internal::LeafKind;
using policy_internal::Node;
using policy_internal::PleafState;
using policy_internal::PolicyImpl;
using policy_internal::Tri;
using policy_internal::Value;

struct Evaluator::Impl {
  explicit Impl(EvaluatorOptions o) : options(std::move(o)), parser(options.parse) {}

  EvaluatorOptions options;
  ActivityParser parser;
  match::MatchScratch scratch;

  // Per-evaluation state (generation-stamped, reused).
  uint32_t gen = 0;
  std::vector<PleafState> pleaf_state;
  std::vector<uint32_t> rule_gen;
  std::vector<uint32_t> candidates;
  std::vector<uint32_t> ordered;
  std::vector<uint32_t> fired;
  std::vector<uint32_t> generic_gen;
  std::vector<FieldValue> generic_values;
  std::vector<uint32_t> offsets_gen;  // by field slot
  std::vector<std::vector<uint32_t>> offsets;
  std::vector<match::TextSegment> segments;
  std::vector<DomainHit> hits;
  std::string origin_domain;
  bool has_origin_domain = false;

  // The evaluation in progress.
  const CompiledRules* c = nullptr;
  const FieldInput* in = nullptr;
  std::span<const std::optional<double>> counter_values;  // by FieldSlot::counter
  std::vector<std::optional<double>> counter_storage;     // Evaluate's, reused

  void Begin(const CompiledRules& rules) {
    c = &rules;
    if (pleaf_state.size() < rules.pattern_leaves.size()) {
      pleaf_state.resize(rules.pattern_leaves.size());
    }
    if (rule_gen.size() < rules.rule_roots.size()) rule_gen.resize(rules.rule_roots.size(), 0);
    if (generic_gen.size() < rules.fields.size()) {
      generic_gen.resize(rules.fields.size(), 0);
      generic_values.resize(rules.fields.size());
    }
    if (offsets_gen.size() < rules.fields.size()) {
      offsets_gen.resize(rules.fields.size(), 0);
      offsets.resize(rules.fields.size());
    }
    if (gen == std::numeric_limits<uint32_t>::max()) {
      gen = 0;
      std::fill(pleaf_state.begin(), pleaf_state.end(), PleafState{});
      std::fill(rule_gen.begin(), rule_gen.end(), 0);
      std::fill(generic_gen.begin(), generic_gen.end(), 0);
      std::fill(offsets_gen.begin(), offsets_gen.end(), 0);
    }
    ++gen;
    candidates.clear();
    fired.clear();
    hits.clear();
  }

  Value Read(uint32_t slot) {
    const FieldSlot& fs = c->fields[slot];
    if (fs.accessor == Accessor::kCounter) {
      Value v;
      if (fs.counter < counter_values.size() && counter_values[fs.counter].has_value()) {
        v.kind = Value::Kind::kNumber;
        v.number = *counter_values[fs.counter];
      }
      return v;
    }
    if (fs.accessor != Accessor::kGeneric) {
      return policy_internal::ReadFast(fs.accessor, *in, origin_domain, has_origin_domain);
    }
    if (generic_gen[slot] != gen) {
      generic_gen[slot] = gen;
      generic_values[slot] = fs.def->extract(*in);
    }
    return policy_internal::FromFieldValue(generic_values[slot]);
  }

  const text::NormalizedText* TextOf(uint32_t slot) const {
    const FieldSlot& fs = c->fields[slot];
    return fs.def->text != nullptr ? fs.def->text(*in) : nullptr;
  }

  void OnMatch(uint32_t global, uint32_t start, uint32_t end) {
    if (global >= c->pattern_count) return;
    for (uint32_t i = c->pattern_leaf_begin[global]; i < c->pattern_leaf_begin[global + 1]; ++i) {
      const uint32_t p = c->pattern_leaf_ids[i];
      PleafState& s = pleaf_state[p];
      if (s.gen != gen) {
        s = {gen, start, end};
        for (uint32_t k = c->pleaf_rule_begin[p]; k < c->pleaf_rule_begin[p + 1]; ++k) {
          const uint32_t r = c->pleaf_rule_ids[k];
          if (rule_gen[r] != gen) {
            rule_gen[r] = gen;
            candidates.push_back(r);
          }
        }
      } else if (start < s.start || (start == s.start && end < s.end)) {
        s.start = start;
        s.end = end;
      }
    }
  }

  void Scan() {
    for (const policy_internal::TextField& tf : c->text_fields) {
      if (tf.matcher == nullptr || tf.pattern_count == 0) continue;
      if (!tf.parts.empty()) {
        ScanWithParts(tf);
        continue;
      }
      const text::NormalizedText* t = TextOf(tf.slot);
      if (t == nullptr) continue;
      const uint32_t base = tf.pattern_base;
      if (tf.part_regexes.empty() || t->unfolded.find(kTextSeparator) == std::string::npos) {
        tf.matcher->Scan(*t, scratch, [this, base](uint32_t id, uint32_t start, uint32_t end) {
          OnMatch(base + id, start, end);
        });
        continue;
      }
      tf.matcher->Scan(*t, scratch, [&](uint32_t id, uint32_t start, uint32_t end) {
        const RE2* re = id < tf.part_regexes.size() ? tf.part_regexes[id].get() : nullptr;
        if (re != nullptr && !WithinPart(*t, *re, &start, &end)) return;
        OnMatch(base + id, start, end);
      });
    }
  }

  // The `text` matcher with part fields: each part of the text is one segment, scanned once;
  // the segment that is content (summary, name) carries its scope. A part field not found
  // exactly where Activity::text should have it is scanned alone.
  void ScanWithParts(const policy_internal::TextField& tf) {
    constexpr size_t kMaxParts = 3;  // content, summary, name
    bool done[kMaxParts] = {};
    const text::NormalizedText* whole = TextOf(tf.slot);
    auto report = [&](const text::NormalizedText& t) {
      return [this, &tf, &t](uint32_t id, uint32_t start, uint32_t end) {
        const RE2* re = id < tf.part_regexes.size() ? tf.part_regexes[id].get() : nullptr;
        if (re != nullptr && !WithinPart(t, *re, &start, &end)) return;
        OnMatch(tf.pattern_base + id, start, end);
      };
    };
    if (whole != nullptr && SplitParts(*whole)) {
      const Activity& a = in->activity;
      const text::NormalizedText* in_order[kMaxParts] = {&a.content, &a.summary, &a.name};
      const size_t parts = segments.size();
      size_t index = 0;  // the segment of the next non-empty part
      for (uint32_t pos = 0; pos < kMaxParts; ++pos) {
        const text::NormalizedText& part = *in_order[pos];
        // An empty part is not in the text; it is matched as an empty segment (only `== ""`
        // and regexes matching the empty string can match it).
        const bool empty = part.unfolded.empty() && part.folded.empty();
        if (!empty && index >= parts) break;
        for (size_t k = 0; k < tf.parts.size() && k < kMaxParts; ++k) {
          const policy_internal::PartField& pf = tf.parts[k];
          if (pf.position != pos || TextOf(pf.slot) != &part) continue;
          if (empty) {
            match::TextSegment seg;
            seg.scope = pf.scope;
            segments.push_back(seg);
            done[k] = true;
          } else if (SegmentIs(*whole, segments[index], part)) {
            segments[index].scope = pf.scope;
            done[k] = true;
          }
        }
        if (!empty) ++index;
      }
      // Consecutive parts of no part field (attachment descriptions, poll options, ...) are
      // scanned as one segment: nothing matches across a separator anyway.
      size_t kept = 0;
      for (size_t i = 0; i < segments.size(); ++i) {
        if (i > 0 && i < parts && kept > 0 && segments[i].scope == 0 &&
            segments[kept - 1].scope == 0) {
          segments[kept - 1].folded_end = segments[i].folded_end;
          segments[kept - 1].unfolded_end = segments[i].unfolded_end;
        } else {
          segments[kept++] = segments[i];
        }
      }
      segments.resize(kept);
      match::ScanSegments(*tf.matcher, *whole, segments, /*whole_scope=*/true, scratch,
                          report(*whole));
    } else if (whole != nullptr) {
      tf.matcher->Scan(*whole, scratch, report(*whole));
    }
    for (size_t k = 0; k < tf.parts.size(); ++k) {
      if (k < kMaxParts && done[k]) continue;
      const text::NormalizedText* t = TextOf(tf.parts[k].slot);
      if (t == nullptr || t->folded.size() > kMaxSegmentBytes ||
          t->unfolded.size() > kMaxSegmentBytes) {
        continue;
      }
      match::TextSegment seg;
      seg.folded_end = static_cast<uint32_t>(t->folded.size());
      seg.unfolded_end = static_cast<uint32_t>(t->unfolded.size());
      seg.scope = tf.parts[k].scope;
      match::ScanSegments(*tf.matcher, *t, std::span<const match::TextSegment>(&seg, 1),
                          /*whole_scope=*/false, scratch, report(*t));
    }
  }

  static constexpr size_t kMaxSegmentBytes = std::numeric_limits<uint32_t>::max() - 1;

  // `segments` := the parts of `t` (cut at kTextSeparator in both forms), without scopes.
  // False when the two forms do not have the same number of parts, or `t` is too large.
  bool SplitParts(const text::NormalizedText& t) {
    segments.clear();
    if (t.folded.size() > kMaxSegmentBytes || t.unfolded.size() > kMaxSegmentBytes) return false;
    size_t f = 0, u = 0;
    while (true) {
      const size_t fe = t.folded.find(kTextSeparator, f);
      const size_t ue = t.unfolded.find(kTextSeparator, u);
      if ((fe == std::string::npos) != (ue == std::string::npos)) return false;
      match::TextSegment seg;
      seg.folded_begin = static_cast<uint32_t>(f);
      seg.folded_end = static_cast<uint32_t>(fe == std::string::npos ? t.folded.size() : fe);
      seg.unfolded_begin = static_cast<uint32_t>(u);
      seg.unfolded_end = static_cast<uint32_t>(ue == std::string::npos ? t.unfolded.size() : ue);
      segments.push_back(seg);
      if (fe == std::string::npos) return true;
      f = fe + 1;
      u = ue + 1;
    }
  }

  // Whether segment `seg` of `whole` is exactly `part`: the same bytes in both forms and the
  // same folded_breaks.
  static bool SegmentIs(const text::NormalizedText& whole, const match::TextSegment& seg,
                        const text::NormalizedText& part) {
    const std::string_view f(whole.folded.data() + seg.folded_begin,
                             seg.folded_end - seg.folded_begin);
    const std::string_view u(whole.unfolded.data() + seg.unfolded_begin,
                             seg.unfolded_end - seg.unfolded_begin);
    if (f != part.folded || u != part.unfolded) return false;
    auto b =
        std::lower_bound(whole.folded_breaks.begin(), whole.folded_breaks.end(), seg.folded_begin);
    auto e = std::upper_bound(b, whole.folded_breaks.end(), seg.folded_end);
    if (static_cast<size_t>(e - b) != part.folded_breaks.size()) return false;
    for (size_t i = 0; b != e; ++b, ++i) {
      if (*b - seg.folded_begin != part.folded_breaks[i]) return false;
    }
    return true;
  }

  // A regex match [start, end) of `t`: when it spans a part separator, the leftmost match of
  // `re` within one part instead (whole text as context). False when there is none.
  static bool WithinPart(const text::NormalizedText& t, const RE2& re, uint32_t* start,
                         uint32_t* end) {
    const std::string_view u = t.unfolded;
    if (*end <= *start || *end > u.size() ||
        u.substr(*start, *end - *start).find(kTextSeparator) == std::string_view::npos) {
      return true;
    }
    const re2::StringPiece context(u.data(), u.size());
    size_t part = 0;
    while (part <= u.size()) {
      size_t sep = u.find(kTextSeparator, part);
      size_t part_end = sep == std::string_view::npos ? u.size() : sep;
      re2::StringPiece m;
      if (re.Match(context, part, part_end, RE2::UNANCHORED, &m, 1)) {
        *start = static_cast<uint32_t>(m.data() - u.data());
        *end = static_cast<uint32_t>(*start + m.size());
        return true;
      }
      if (sep == std::string_view::npos) break;
      part = sep + 1;
    }
    return false;
  }

  // Rules to evaluate, in policy order.
  const std::vector<uint32_t>& Candidates() {
    ordered.clear();
    if (options.evaluate_all_rules) {
      for (uint32_t r = 0; r < c->rule_roots.size(); ++r) ordered.push_back(r);
      return ordered;
    }
    std::sort(candidates.begin(), candidates.end());
    ordered.resize(candidates.size() + c->always_rules.size());
    std::merge(candidates.begin(), candidates.end(), c->always_rules.begin(), c->always_rules.end(),
               ordered.begin());
    return ordered;
  }

  // Evaluates a leaf. When `element` is given and the leaf is true, it receives the value
  // (or list element) that made it true.
  Tri EvalLeaf(const Leaf& leaf, std::string_view* element = nullptr) {
    switch (leaf.kind) {
      case LeafKind::kPattern: {
        if (TextOf(leaf.field) == nullptr) return Tri::kUnknown;
        return pleaf_state[leaf.arg].gen == gen ? Tri::kTrue : Tri::kFalse;
      }
      case LeafKind::kTextEmpty: {
        const text::NormalizedText* t = TextOf(leaf.field);
        if (t == nullptr) return Tri::kUnknown;
        return t->folded.empty() ? Tri::kTrue : Tri::kFalse;
      }
      case LeafKind::kTextKnown:
        return TextOf(leaf.field) == nullptr ? Tri::kUnknown : Tri::kTrue;
      case LeafKind::kKnown: {
        if (c->fields[leaf.field].def->type == FieldType::kText) {
          return TextOf(leaf.field) == nullptr ? Tri::kFalse : Tri::kTrue;
        }
        return Read(leaf.field).kind == Value::Kind::kUnknown ? Tri::kFalse : Tri::kTrue;
      }
      case LeafKind::kNumber: {
        Value v = Read(leaf.field);
        if (v.kind != Value::Kind::kNumber) return Tri::kUnknown;
        return policy_internal::CompareNumber(leaf.op, v.number, leaf.number) ? Tri::kTrue
                                                                              : Tri::kFalse;
      }
      case LeafKind::kDuration: {
        Value v = Read(leaf.field);
        if (v.kind != Value::Kind::kDuration) return Tri::kUnknown;
        return policy_internal::CompareDuration(leaf.op, v.duration, leaf.duration) ? Tri::kTrue
                                                                                    : Tri::kFalse;
      }
      case LeafKind::kBool: {
        Value v = Read(leaf.field);
        if (v.kind != Value::Kind::kBool) return Tri::kUnknown;
        return v.boolean == leaf.boolean ? Tri::kTrue : Tri::kFalse;
      }
      default:
        break;
    }
    // String leaves: scalar or any element of a list.
    Value v = Read(leaf.field);
    auto test = [&](std::string_view s) -> bool {
      switch (leaf.kind) {
        case LeafKind::kStrEq:
          return s == c->strings[leaf.arg];
        case LeafKind::kStrContains:
          return s.find(c->strings[leaf.arg]) != std::string_view::npos;
        case LeafKind::kStrStartsWith:
          return s.starts_with(c->strings[leaf.arg]);
        case LeafKind::kStrEndsWith:
          return s.ends_with(c->strings[leaf.arg]);
        case LeafKind::kStrIn:
          return c->sets[leaf.arg].contains(absl::string_view(s.data(), s.size()));
        case LeafKind::kDomainIn: {
          bool found = false;
          const auto& set = c->sets[leaf.arg];
          text::ForEachSuffix(s, [&](std::string_view suffix) {
            found = set.contains(absl::string_view(suffix.data(), suffix.size()));
            return !found;
          });
          return found;
        }
        case LeafKind::kStrRegex:
          return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *c->regexes[leaf.arg]);
        default:
          return false;
      }
    };
    if (v.kind == Value::Kind::kString) {
      if (!test(v.str)) return Tri::kFalse;
      if (element != nullptr) *element = v.str;
      return Tri::kTrue;
    }
    if (v.kind == Value::Kind::kList) {
      for (size_t i = 0; i < v.list_size; ++i) {
        if (test(v.list[i])) {
          if (element != nullptr) *element = v.list[i];
          return Tri::kTrue;
        }
      }
      return Tri::kFalse;
    }
    return Tri::kUnknown;
  }

  Tri EvalNode(uint32_t n) {
    const Node& node = c->nodes[n];
    switch (node.kind) {
      case Node::Kind::kTrue:
        return Tri::kTrue;
      case Node::Kind::kFalse:
        return Tri::kFalse;
      case Node::Kind::kLeaf:
        return EvalLeaf(c->leaves[node.arg]);
      case Node::Kind::kNot:
        return policy_internal::TriNot(EvalNode(c->children[node.arg]));
      case Node::Kind::kAnd: {
        Tri r = Tri::kTrue;
        for (uint32_t i = 0; i < node.count; ++i) {
          Tri t = EvalNode(c->children[node.arg + i]);
          if (t == Tri::kFalse) return Tri::kFalse;
          if (t == Tri::kUnknown) r = Tri::kUnknown;
        }
        return r;
      }
      case Node::Kind::kOr: {
        Tri r = Tri::kFalse;
        for (uint32_t i = 0; i < node.count; ++i) {
          Tri t = EvalNode(c->children[node.arg + i]);
          if (t == Tri::kTrue) return Tri::kTrue;
          if (t == Tri::kUnknown) r = Tri::kUnknown;
        }
        return r;
      }
    }
    return Tri::kUnknown;
  }

  // --- Evidence

  void AddEvidence(std::vector<Evidence>* out, Evidence e) {
    for (const Evidence& x : *out) {
      if (x.field == e.field && x.start == e.start && x.end == e.end && x.text == e.text) return;
    }
    out->push_back(std::move(e));
  }

  Evidence SpanEvidence(uint32_t slot, const text::NormalizedText& t, uint32_t start,
                        uint32_t end) {
    Evidence e;
    e.field = c->fields[slot].name;
    const size_t n = t.unfolded.size();
    start = static_cast<uint32_t>(std::min<size_t>(start, n));
    end = static_cast<uint32_t>(std::min<size_t>(std::max(start, end), n));
    e.start = start;
    e.end = end;
    e.text = std::string(policy_internal::CapUtf8(
        std::string_view(t.unfolded).substr(start, end - start), options.max_evidence_bytes));
    return e;
  }

  Evidence ValueEvidence(uint32_t slot, std::string_view value) {
    Evidence e;
    e.field = c->fields[slot].name;
    e.text = std::string(policy_internal::CapUtf8(absl::StrCat(e.field, " = ", std::string(value)),
                                                  options.max_evidence_bytes));
    return e;
  }

  std::string FormatValue(const Value& v) {
    switch (v.kind) {
      case Value::Kind::kString:
        return std::string(v.str);
      case Value::Kind::kList: {
        std::string s = "[";
        for (size_t i = 0; i < v.list_size && s.size() <= options.max_evidence_bytes; ++i) {
          absl::StrAppend(&s, i ? ", " : "", v.list[i]);
        }
        s += "]";
        return s;
      }
      case Value::Kind::kNumber:
        return policy_internal::FormatNumber(v.number);
      case Value::Kind::kDuration:
        return policy_internal::FormatDurationLiteral(v.duration);
      case Value::Kind::kBool:
        return v.boolean ? "true" : "false";
      case Value::Kind::kUnknown:
        break;
    }
    return "unknown";
  }

  void LeafEvidence(const Leaf& leaf, std::vector<Evidence>* out) {
    std::string_view element;
    if (EvalLeaf(leaf, &element) != Tri::kTrue) return;
    switch (leaf.kind) {
      case LeafKind::kPattern: {
        const text::NormalizedText* t = TextOf(leaf.field);
        const policy_internal::PatternLeaf& pl = c->pattern_leaves[leaf.arg];
        const PleafState& s = pleaf_state[leaf.arg];
        uint32_t start = s.start, end = s.end;
        if (!pl.regex) {
          // Literal spans are in the folded text: map them back to the unfolded text.
          // ASCII text folds byte for byte (lower-casing): the offsets are the same in both
          // forms, no need to fold again (an empty map leaves the span as it is).
          std::vector<uint32_t>& map = offsets[leaf.field];
          if (offsets_gen[leaf.field] != gen) {
            offsets_gen[leaf.field] = gen;
            if (t->unfolded.size() == t->folded.size() && IsAscii(t->unfolded)) {
              map.clear();
            } else {
              std::string folded = text::Fold(t->unfolded, &map);
              if (folded != t->folded) map.clear();
            }
          }
          if (map.size() == t->folded.size() + 1 && end < map.size() && start < end) {
            // A match may end inside the folding of one character ("ß" -> "ss"): extend
            // the span to the end of that character.
            size_t k = end;
            while (k < t->folded.size() && map[k] == map[end - 1]) ++k;
            start = map[start];
            end = map[k];
          }
        }
        AddEvidence(out, SpanEvidence(leaf.field, *t, start, end));
        return;
      }
      case LeafKind::kTextEmpty:
      case LeafKind::kTextKnown: {
        const text::NormalizedText* t = TextOf(leaf.field);
        AddEvidence(out,
                    SpanEvidence(leaf.field, *t, 0, static_cast<uint32_t>(t->unfolded.size())));
        return;
      }
      case LeafKind::kKnown: {
        const text::NormalizedText* t = TextOf(leaf.field);
        if (t != nullptr) {
          AddEvidence(out,
                      SpanEvidence(leaf.field, *t, 0, static_cast<uint32_t>(t->unfolded.size())));
        } else {
          AddEvidence(out, ValueEvidence(leaf.field, FormatValue(Read(leaf.field))));
        }
        return;
      }
      case LeafKind::kNumber:
      case LeafKind::kDuration:
      case LeafKind::kBool:
        AddEvidence(out, ValueEvidence(leaf.field, FormatValue(Read(leaf.field))));
        return;
      default:
        AddEvidence(out, ValueEvidence(leaf.field, element));
        return;
    }
  }

  static bool IsAscii(std::string_view s) {
    uint8_t any = 0;
    for (char ch : s) any |= static_cast<uint8_t>(ch);
    return any < 0x80;
  }

  // Evidence of every true leaf that is not under a `not`.
  void CollectEvidence(uint32_t n, std::vector<Evidence>* out) {
    const Node& node = c->nodes[n];
    switch (node.kind) {
      case Node::Kind::kLeaf:
        LeafEvidence(c->leaves[node.arg], out);
        return;
      case Node::Kind::kAnd:
      case Node::Kind::kOr:
        for (uint32_t i = 0; i < node.count; ++i) {
          uint32_t child = c->children[node.arg + i];
          if (EvalNode(child) == Tri::kTrue) CollectEvidence(child, out);
        }
        return;
      default:
        return;  // not, constants: nothing to report
    }
  }
};

namespace {

std::string EntryWhere(const blocklist::Match& m) {
  std::string s =
      absl::StrCat("entry \"", std::string(m.written.empty() ? m.domain : m.written), "\"");
  if (m.path.empty()) {
    absl::StrAppend(&s, " (API block)");
  } else {
    absl::StrAppend(&s, " at ", std::string(m.path), ":", m.line);
  }
  return s;
}

// A synthetic match; its evidence "field = value" is capped at `max_evidence_bytes` like a
// rule's (a domain may be 253 bytes long).
RuleMatch MakeSynthetic(std::string id, std::string reason, std::string field,
                        std::string_view value, size_t max_evidence_bytes) {
  RuleMatch m;
  m.rule_id = std::move(id);
  m.reason = std::move(reason);
  Evidence e;
  e.text = std::string(policy_internal::CapUtf8(absl::StrCat(field, " = ", std::string(value)),
                                                max_evidence_bytes));
  e.field = std::move(field);
  m.evidence.push_back(std::move(e));
  return m;
}

Decision RejectFinal(RuleMatch m, const std::string& version) {
  Decision d;
  d.verdict = Verdict::kReject;
  d.policy_version = version;
  d.matches.push_back(std::move(m));
  return d;
}

}  // namespace

Evaluator::Evaluator(EvaluatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Evaluator::~Evaluator() = default;

absl::StatusOr<Decision> Evaluator::Evaluate(const Policy& policy, std::string_view activity_json,
                                             const RequestFacts& facts, absl::Time fallback_now,
                                             const CounterContext& counters) {
  absl::StatusOr<Activity> activity = impl_->parser.Parse(activity_json);
  if (!activity.ok()) return activity.status();
  MergeActorFacts(facts.actor, &*activity);
  const absl::Time now = EffectiveNow(facts, fallback_now);
  impl_->counter_storage.clear();
  if (counters.store != nullptr && !policy.counters().empty()) {
    counters::Count(*counters.store, policy.counters(), *activity, now, counters.record,
                    &impl_->counter_storage);
  }
  return Decide(policy, *activity, facts, now, impl_->counter_storage);
}

Decision Evaluator::Decide(const Policy& policy, const Activity& activity,
                           const RequestFacts& facts, absl::Time now,
                           std::span<const std::optional<double>> counter_values) {
  Impl& s = *impl_;
  const auto Synthetic = [&s](std::string id, std::string reason, std::string field,
                              std::string_view value) {
    return MakeSynthetic(std::move(id), std::move(reason), std::move(field), value,
                         s.options.max_evidence_bytes);
  };
  const auto* pi = dynamic_cast<const PolicyImpl*>(&policy);
  if (pi == nullptr) {
    Decision d;
    d.policy_version = policy.version();
    return d;
  }
  const CompiledRules& c = pi->rules();
  const blocklist::DomainTable& table = pi->domains();
  FieldInput in{activity, facts, now, &table};
  s.Begin(c);
  s.in = &in;
  s.counter_values = counter_values;

  s.has_origin_domain = false;
  s.origin_domain.clear();
  if (facts.delivery.sender_domain) {
    absl::StatusOr<std::string> d = text::NormalizeDomain(*facts.delivery.sender_domain);
    if (d.ok()) {
      s.origin_domain = *std::move(d);
      s.has_origin_domain = true;
    }
  }

  // Step 1: the domains of the activity against the domain table.
  auto lookup = [&](const char* field, const char* role, std::string_view domain) {
    if (domain.empty()) return;
    for (const DomainHit& h : s.hits) {
      if (h.domain == domain && std::string_view(h.role) == role) return;
    }
    std::optional<blocklist::Match> m = table.Lookup(domain);
    if (m) s.hits.push_back({field, role, domain, *m});
  };
  lookup("actor.domain", "actor", activity.actor_domain);
  if (s.has_origin_domain) lookup("origin.domain", "origin", s.origin_domain);
  lookup("object.domain", "object", activity.object_domain);
  for (const std::string& d : activity.object_domains) lookup("object.domain", "object", d);
  lookup("announcer.domain", "announcer", activity.announcer_domain);

  for (const DomainHit& h : s.hits) {
    if (h.match.severity == blocklist::Severity::kSuspend) {
      return RejectFinal(Synthetic("blocklist:suspend",
                                   absl::StrCat(h.role, " domain ", std::string(h.domain),
                                                " is suspended: ", EntryWhere(h.match)),
                                   h.field, h.domain),
                         pi->version());
    }
  }
  if (c.has_allowlist) {
    bool allowed = false;
    text::ForEachSuffix(activity.actor_domain, [&](std::string_view suffix) {
      allowed = c.allowlist.contains(absl::string_view(suffix.data(), suffix.size()));
      return !allowed;
    });
    if (!allowed) {
      return RejectFinal(
          Synthetic("allowlist",
                    absl::StrCat("actor domain ",
                                 activity.actor_domain.empty() ? std::string("(none)")
                                                               : activity.actor_domain,
                                 " is not in the allowlist (", c.allowlist_sources, ")"),
                    "actor.domain", activity.actor_domain),
          pi->version());
    }
  }
  if (activity.type == "Flag") {
    for (const DomainHit& h : s.hits) {
      std::string_view role = h.role;
      if ((role == "actor" || role == "origin") && h.match.reject_reports) {
        return RejectFinal(
            Synthetic("blocklist:reject_reports",
                      absl::StrCat("reports from ", h.role, " domain ", std::string(h.domain),
                                   " are rejected: ", EntryWhere(h.match)),
                      h.field, h.domain),
            pi->version());
      }
    }
  }

  // Steps 2-5: rules.
  s.Scan();
  for (uint32_t r : s.Candidates()) {
    if (s.EvalNode(c.rule_roots[r]) == Tri::kTrue) s.fired.push_back(r);
  }

  int64_t score = 0;
  bool accept = false;
  Verdict verdict = Verdict::kAccept;
  uint8_t effects = 0;
  for (uint32_t r : s.fired) {
    const lang::RuleDecl& rule = c.ast.rules[r];
    if (rule.monitor) continue;
    score = policy_internal::SaturatingAdd(score, rule.score_milli);
    effects |= rule.effects;
    if (rule.action == lang::Action::kAccept) accept = true;
    if (rule.action == lang::Action::kReject) verdict = Verdict::kReject;
    if (rule.action == lang::Action::kFlag && verdict != Verdict::kReject) {
      verdict = Verdict::kFlag;
    }
  }
  const policy_internal::Threshold* reached = nullptr;
  Verdict threshold_verdict = Verdict::kAccept;
  if (c.reject_threshold.set && score >= c.reject_threshold.milli) {
    reached = &c.reject_threshold;
    threshold_verdict = Verdict::kReject;
  } else if (c.flag_threshold.set && score >= c.flag_threshold.milli) {
    reached = &c.flag_threshold;
    threshold_verdict = Verdict::kFlag;
  }
  if (static_cast<int>(threshold_verdict) > static_cast<int>(verdict)) verdict = threshold_verdict;
  if (accept) verdict = Verdict::kAccept;

  const DomainHit* silence = nullptr;
  const DomainHit* reject_media = nullptr;
  for (const DomainHit& h : s.hits) {
    if (silence == nullptr && h.match.severity == blocklist::Severity::kSilence) silence = &h;
    if (reject_media == nullptr && h.match.reject_media) reject_media = &h;
  }

  Decision d;
  d.policy_version = pi->version();
  d.score_milli = score;
  d.verdict = verdict;
  if (verdict != Verdict::kReject) {
    if (silence != nullptr) {
      effects |= lang::kUnlist;
      d.matches.push_back(
          Synthetic("blocklist:silence",
                    absl::StrCat(silence->role, " domain ", std::string(silence->domain),
                                 " is silenced: ", EntryWhere(silence->match)),
                    silence->field, silence->domain));
    }
    if (reject_media != nullptr) {
      effects |= lang::kStripMedia;
      d.matches.push_back(
          Synthetic("blocklist:reject_media",
                    absl::StrCat("media from ", reject_media->role, " domain ",
                                 std::string(reject_media->domain),
                                 " are rejected: ", EntryWhere(reject_media->match)),
                    reject_media->field, reject_media->domain));
    }
    d.effects = effects;
  }
  if (reached != nullptr) {
    const bool is_reject = reached == &c.reject_threshold;
    d.matches.push_back(Synthetic(
        is_reject ? "threshold:reject" : "threshold:flag",
        absl::StrCat("total score ", policy_internal::FormatMilli(score), " reached the ",
                     is_reject ? "reject" : "flag", " threshold ",
                     policy_internal::FormatMilli(reached->milli), " at ", reached->where),
        "score", policy_internal::FormatMilli(score)));
  }
  for (uint32_t r : s.fired) {
    const lang::RuleDecl& rule = c.ast.rules[r];
    RuleMatch m;
    m.rule_id = rule.id;
    m.reason = !rule.reason.empty() ? rule.reason : !rule.title.empty() ? rule.title : rule.id;
    m.score_milli = rule.score_milli;
    m.monitor = rule.monitor;
    s.CollectEvidence(c.rule_roots[r], &m.evidence);
    d.matches.push_back(std::move(m));
  }
  s.in = nullptr;
  return d;
}

}  // namespace fedwall
