// Counters: what the rule language's memory across activities counts, and how an activity
// turns into questions for a CounterStore (counter_store.h).
//
// The language has five counters, each over a sliding window W (1 s to 7 d) and each counting
// the current activity (the contract's "Counters" section; docs/rules.md):
//   actor.rate(W)          activities from this actor
//   actor.domain.rate(W)   activities from this actor's domain
//   text.seen(W)           distinct actors that sent the same text
//   text.seen_domains(W)   distinct actor domains that sent the same text
//   text.similar(W)        distinct actors that sent the same or a near-duplicate text
//
// "The same text" is the counter text (CounterText): the activity's `text` (content, summary,
// name, alt texts, poll options) in its folded form (case, width, confusables and invisible
// characters folded, as rules match it) with mentions (@…), hashtags (#…) and links removed,
// then cut into words of letters and digits joined by one space. So "Hi @alice, see
// https://spam.example #win" and "hi @bob see https://spam.example/2" are the same text: "hi
// see". Only Create and Update count for text counters, and only with a non-empty counter
// text; for other activities they are 0.
//
// Near-duplicates (text.similar) use MinHash over the counter text's distinct words with
// locality-sensitive hashing: kSimilarBands bands of kSimilarRows hash minima each; two texts
// are near-duplicates when any band is equal. The chance that two texts with word-set Jaccard
// similarity J count as near-duplicates is 1 - (1 - J^5)^6: J = 0.9: 99.5%, 0.8: 91%,
// 0.7: 67%, 0.5: 17%, 0.3: 1.5%. A spam text of 20 words with 3 random words appended has
// J = 20/23 = 0.87 against the original and is caught 98% of the time.
//
// Thread safety: pure functions of their inputs.
//
// Example:
//   std::vector<fedwall::counters::CounterRef> refs = {{CounterKind::kTextSeen, absl::Hours(1)}};
//   fedwall::counters::MemoryCounterStore store;
//   std::vector<std::optional<double>> values;
//   fedwall::counters::Count(store, refs, activity, now, /*record=*/true, &values);
//   // values[0]: how many distinct actors sent this text in the last hour, this one included
#ifndef FEDWALL_ENGINE_COUNTERS_COUNTERS_H_
#define FEDWALL_ENGINE_COUNTERS_COUNTERS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/counters/counter_store.h"

namespace fedwall::counters {

enum class CounterKind : uint8_t {
  kActorRate,
  kDomainRate,
  kTextSeen,
  kTextSeenDomains,
  kTextSimilar,
};

// The counter's name as rules write it, without the window: "actor.rate", "text.seen", ...
std::string_view CounterKindName(CounterKind kind);
// The counter named `name` ("actor.domain.rate"), or nullopt.
std::optional<CounterKind> FindCounterKind(std::string_view name);

// One counter a policy uses: a kind and a window.
struct CounterRef {
  CounterKind kind = CounterKind::kActorRate;
  absl::Duration window = absl::Hours(1);

  bool operator==(const CounterRef&) const = default;
};

// "text.seen(1h)", "actor.rate(90s)": the counter as rules write it.
std::string CounterRefName(const CounterRef& ref);

inline constexpr int kSimilarBands = 6;
inline constexpr int kSimilarRows = 5;
// Words beyond this many are not read into the counter text, nor white-space separated
// tokens beyond kMaxCounterTokens (bounds the cost of a huge text; the first words decide).
inline constexpr size_t kMaxCounterWords = 2000;
inline constexpr size_t kMaxCounterTokens = 8000;

// The counter text of an activity ("" when it has none): see the header comment.
std::string CounterText(const Activity& activity);

// The MinHash bands of a counter text (all 0 for an empty text).
std::array<uint64_t, kSimilarBands> SimilarityBands(std::string_view counter_text);

// What one activity contributes to the counters.
struct ActivityKeys {
  std::string id;            // the activity's id: the member of an activity without actor
  std::string actor;         // "" when the activity has none
  std::string actor_domain;  // "" when none
  bool counts_text = false;  // Create/Update with a non-empty counter text
  std::string text_digest;   // 16 bytes: SHA-256 of the counter text, truncated
  std::array<uint64_t, kSimilarBands> bands{};
};

// The keys of an activity; `with_bands` false leaves `bands` zero (saves the MinHash when
// the policy has no text.similar).
ActivityKeys KeysFor(const Activity& activity, bool with_bands = true);

// Answers `refs` for the activity seen at `now`, recording it unless `record` is false (a dry
// run): one CounterStore::Count call, made only when some ref needs the store. `values` gets
// one entry per ref:
//   - text counters of an activity that does not count text: 0 (the store is not asked);
//   - actor.rate without an actor, actor.domain.rate without an actor domain: unknown;
//   - otherwise the store's answer (unknown when the store cannot answer).
void Count(CounterStore& store, std::span<const CounterRef> refs, const Activity& activity,
           absl::Time now, bool record, std::vector<std::optional<double>>* values);

// The store queries for `refs` and `keys`: query_of[i] is the index of refs[i]'s query in
// `queries`, or -1 when refs[i] needs no query (Count's first two cases). Exposed for tests.
struct CounterPlan {
  std::vector<CounterQuery> queries;
  std::vector<int> query_of;
};
CounterPlan PlanFor(std::span<const CounterRef> refs, const ActivityKeys& keys);

}  // namespace fedwall::counters

#endif  // FEDWALL_ENGINE_COUNTERS_COUNTERS_H_
