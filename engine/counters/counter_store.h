// CounterStore: where the rule language's counters (`actor.rate(10m)`, `text.seen(1h)`, ...)
// remember earlier activities, behind one small interface.
//
// The engine knows what to count (engine/counters/counters.h turns a policy's counters and an
// activity into CounterQuery values); a store only keeps sliding-window counts under opaque
// keys. Two implementations:
//   - MemoryCounterStore (engine/counters/memory_counter_store.h): in-process, bucketed
//     windows, exact small sets and HyperLogLog, bounded memory with eviction. The embedded
//     default, and what `fedwall test` and `fedwall replay` use (fresh per test).
//   - RedisCounterStore (service/state/): shared by several fedwalld nodes.
//
// Semantics every implementation keeps (the tests in counter_store_conformance.h check them):
//   - A query counts over the sliding window (now - window, now], *including the current
//     activity*: an event query answers 1 for the first event of a key, a distinct query 1 for
//     its first member.
//   - Windows run from 1 s to 7 days. A store may round the window's start to its bucket
//     width B = max(1 s, window/kBucketsPerWindow): it then counts at least the last
//     (window - B) and never more than the window. Above kExactMembers, where distinct counts
//     are estimates, a store may use coarser buckets (its header says how coarse).
//   - Events (`distinct == false`): each recorded query adds one event to its key.
//   - Distinct (`distinct == true`): the number of distinct members recorded under any of the
//     query's keys (their union). Exact while the union holds at most kExactMembers members;
//     a HyperLogLog estimate above (standard error about 1.6%).
//   - `record == false` (a dry run): the answer counts the current activity as if recorded,
//     but nothing is written.
//   - Keys and members are opaque byte strings; the same (key, window) pair is one series, and
//     a key under two windows is two independent series.
//   - When the store cannot answer (Redis away, a timeout), every value is nullopt: the rules
//     see the counters as unknown and do not fire on them. Implementations count such answers
//     in their stats and never block longer than their configured timeout.
//
// Thread safety: implementations are thread-safe; Count may be called from any thread.
#ifndef FEDWALL_ENGINE_COUNTERS_COUNTER_STORE_H_
#define FEDWALL_ENGINE_COUNTERS_COUNTER_STORE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace fedwall::counters {

// Distinct counts are exact up to this many members per query (the contract's 64).
inline constexpr size_t kExactMembers = 64;
// Windows are counted in this many buckets (a 1 h window in 1 min buckets).
inline constexpr int64_t kBucketsPerWindow = 60;
inline constexpr absl::Duration kMinWindow = absl::Seconds(1);
inline constexpr absl::Duration kMaxWindow = absl::Hours(24 * 7);

// One counter's question about the current activity.
struct CounterQuery {
  bool distinct = false;
  // The series counted: one key, or several whose union is counted (distinct only: the
  // bands of text.similar). Never empty.
  std::vector<std::string> keys;
  std::string member;  // distinct: what the current activity adds (an actor, a domain)
  absl::Duration window = absl::Hours(1);
};

// Shorthands (tests and benchmarks): an event query on one key, and a distinct query on the
// union of `keys`.
inline CounterQuery EventQuery(std::string key, absl::Duration window = absl::Hours(1)) {
  CounterQuery q;
  q.keys.push_back(std::move(key));
  q.window = window;
  return q;
}
inline CounterQuery DistinctQuery(std::vector<std::string> keys, std::string member,
                                  absl::Duration window = absl::Hours(1)) {
  CounterQuery q;
  q.distinct = true;
  q.keys = std::move(keys);
  q.member = std::move(member);
  q.window = window;
  return q;
}

// How a store is doing, for GetStats and /metrics.
struct CounterStoreStats {
  uint64_t queries = 0;        // CounterQuery values answered (known or not)
  uint64_t unknown = 0;        // CounterQuery values answered nullopt (store unreachable)
  uint64_t failures = 0;       // Count calls that failed as a whole (each: every query unknown)
  uint64_t series = 0;         // series held now (in-process); 0 when the store cannot tell
  uint64_t evicted = 0;        // series evicted to stay within the memory bound
  uint64_t memory_bytes = 0;   // approximate bytes held (in-process)
};

class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // Answers every query for the activity seen at `now` and, when `record`, records it: one
  // round trip for a remote store. `values` is resized to queries.size(); each is the count
  // (including the current activity) or nullopt when the store cannot answer.
  virtual void Count(absl::Time now, bool record, std::span<const CounterQuery> queries,
                     std::vector<std::optional<double>>* values) = 0;

  virtual CounterStoreStats stats() const = 0;

  // "memory", "redis://host:6379/0" (without a password): for logs and GetStats.
  virtual std::string description() const = 0;
};

}  // namespace fedwall::counters

#endif  // FEDWALL_ENGINE_COUNTERS_COUNTER_STORE_H_
