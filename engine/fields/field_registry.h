// The field registry: the one table of every field the rule language knows.
//
// Each field has a name (`mentions.count`), a type, a one-line description and an extractor
// that reads its value from an activity and the request facts. The compiler type-checks rules
// against this table, `fedwall inspect` prints every known value through it, and
// `fedwall fields` prints it for users: one source, so docs and behaviour cannot drift apart.
//
// Values follow the contract's three-valued logic: fields read from the activity are always
// known (empty list, "", false when absent) except `object.age` and `language`; request facts
// are unknown unless supplied. An unknown value is FieldValue{} (std::monostate).
//   - Text fields extract their unfolded text (a string); `text` gives both forms.
//   - Numbers (counts, request-fact counters) are doubles; `F.count` is the list's size.
//   - Durations are never negative (now - t, clamped at 0): object.age, actor.age.
//   - actor.name / actor.bio / actor.username read the Activity: call MergeActorFacts(facts,
//     &activity) after parsing so that request facts win over the embedded actor.
//   - origin.domain is normalised (text::NormalizeDomain); a name that is not a valid domain
//     is unknown.
//   - actor.domain.severity: unknown when `domains` is null; "none" when no entry covers the
//     actor domain (or there is no actor); else the covering entry's severity name.
//
// Thread safety: the registry is immutable static data; extractors are pure functions.
//
// Example:
//   const fedwall::FieldDef* f = fedwall::FindField("mentions.count");
//   fedwall::FieldInput in{activity, facts, absl::Now()};
//   fedwall::FieldValue v = f->extract(in);       // std::get<double>(v) == 2
//   for (const fedwall::FieldDef& d : fedwall::AllFields()) std::cout << d.name << "\n";
#ifndef FEDWALL_ENGINE_FIELDS_FIELD_REGISTRY_H_
#define FEDWALL_ENGINE_FIELDS_FIELD_REGISTRY_H_

#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/activity/facts.h"
#include "engine/blocklist/blocklist.h"
#include "engine/text/normalize.h"

namespace fedwall {

enum class FieldType {
  kText,         // normalised text: literal operators on folded, regexes on unfolded
  kKeyword,      // exact string
  kDomain,       // normalised domain, `in` matches parents
  kNumber,       // integer or decimal
  kDuration,     // a span of time
  kBool,
  kKeywordList,  // list of keywords: operators hold for any element; `.count` is a number
  kDomainList,   // list of domains
};

// "text", "keyword", "domain", "number", "duration", "bool", "keyword list", "domain list".
const char* FieldTypeName(FieldType type);

// Unknown, string (text/keyword/domain), list, number, duration, bool.
using FieldValue = std::variant<std::monostate, std::string, std::vector<std::string>, double,
                                absl::Duration, bool>;

inline bool IsKnown(const FieldValue& v) { return !std::holds_alternative<std::monostate>(v); }

// What extractors read. `domains` may be null (then actor.domain.severity is unknown).
struct FieldInput {
  const Activity& activity;
  const RequestFacts& facts;
  absl::Time now;  // for object.age and actor.age; see EffectiveNow
  const blocklist::DomainTable* domains = nullptr;
};

struct FieldDef {
  std::string_view name;
  FieldType type;
  std::string_view description;
  FieldValue (*extract)(const FieldInput& in);
  // For text fields: both normalised forms, or null when unknown (e.g. actor.bio without an
  // embedded actor or facts). Null for other types.
  const text::NormalizedText* (*text)(const FieldInput& in) = nullptr;
  // A counter (`actor.rate`, `text.seen`, ...): written with a window, `actor.rate(10m)`. Its
  // value comes from a counter store (engine/counters/counters.h), never from `extract`
  // (which answers unknown).
  bool counter = false;
};

// Every field, in documentation order. `F.count` of list fields appears as its own entry.
std::span<const FieldDef> AllFields();

// The field named `name`, or null.
const FieldDef* FindField(std::string_view name);

// The roots that identifiers may not shadow ("text", "type", "actor", "object", ...).
bool IsFieldRoot(std::string_view identifier);

// "now" for durations, as the contract's Time section says: the delivery's received_at when
// given, else `fallback` (the object's published in test/replay, or the wall clock).
absl::Time EffectiveNow(const RequestFacts& facts, absl::Time fallback);

}  // namespace fedwall

#endif  // FEDWALL_ENGINE_FIELDS_FIELD_REGISTRY_H_
