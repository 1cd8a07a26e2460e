// MemoryCounterStore: the in-process CounterStore. Sliding-window event counts in time buckets,
// exact distinct sets while small and HyperLogLog sketches when large, all within a memory
// bound enforced by eviction. The embedded default; `fedwall test` and `fedwall replay` use a
// fresh one per test. The semantics every store keeps are in counter_store.h; this comment
// says how this store keeps them and where it rounds.
//
// Series: one per (key bytes, window, events-or-distinct), found by a 64-bit hash of the three
// (absl::Hash, seeded per process: two different series share one with probability about
// n^2 / 2^65, 3e-8 for a million series). Members are hashed to 64 bits the same way; two
// members whose hashes collide count as one (same odds).
//
// Events: buckets of width B = max(1 s, ceil(window / kBucketsPerWindow)) aligned to the Unix
// epoch (1 min for 1 h; 1 s for every window up to 60 s). A query counts the buckets that start
// after now - window, so it counts at least the last (window - B) and never more than the
// window. A series keeps at most one window of buckets (sparse: only buckets with events take
// memory, 16 bytes each, at most kBucketsPerWindow + 1).
//
// Distinct, exact mode: each member's hash and the last time it was seen, at most
// kExactMembers live members; a member counts while its last sighting is after now - window
// (no rounding at all). When a 65th live member arrives, the series switches to:
// Distinct, sketch mode: a ring of kSketchBucketsPerWindow HyperLogLog sketches (precision 12,
// 4 KiB each, allocated only for buckets that received members) of width
// S = max(1 s, ceil(window / kSketchBucketsPerWindow)): 5 min for 1 h. Rounding is coarser
// here: a query counts at least the last (window - S) and never more than the window. The
// estimate's relative standard error is about 1.6% (HyperLogLog::StandardError()); a big
// series holds at most 12 sketches and a cached union of them (so that a query estimates from
// one sketch, not twelve), about 57 KiB. A series returns to exact mode once all its
// sketches have left the window; until then its counts are estimates even if they fall back
// below kExactMembers (near-exact there: the estimator is linear counting at small counts).
// Union of several keys: the exact union when every key is in exact mode (exact even above
// kExactMembers, the members are known); otherwise the merge of the sketches of the keys in
// sketch mode with the exact members of the others and the current member folded in.
//
// Several keys in an events query (not produced by the engine) count and record each key; the
// answer is the sum. A query with no keys or a window outside [kMinWindow, kMaxWindow] is
// answered nullopt and counted as unknown in stats(). A query is not atomic across its keys,
// nor a Count call across its queries: a query sees what earlier queries of the same call
// recorded.
//
// Time: `now` is trusted for ordering only loosely. Times are clamped to about +-146 years
// around 1970. A series remembers the newest time recorded into it (its clock):
//   - now at or after the series' clock: the normal case; buckets older than one window
//     before now are dropped.
//   - now before the series' clock by less than a window (replays, senders' clocks a little
//     apart): the query also counts what was recorded after now (the window becomes
//     (now - window, series clock]); recording goes into now's bucket, or into the oldest
//     bucket the series still keeps when now's has already been dropped. A distinct member
//     keeps its newest sighting.
//   - now before the series' clock by a window or more: the series' data (all "in the future"
//     of now) does not count, and recording restarts the series at now. So one activity
//     stamped far in the future cannot freeze a counter for everyone else.
// Memory stays bounded in every case. Callers should pass a trusted receive time (clamped to
// the local clock), not a time the sender chose: a sender alternating clocks a window apart
// can keep restarting the series of a key it shares with others.
//
// Memory bound: the store keeps about at most max_memory_bytes (series, their buckets and
// sketches, the index) and at most max_series series, split evenly over the shards. When a
// shard is over its share it evicts with CLOCK: series whose window has passed first when the
// hand meets them, else the first series not used since the hand last passed (a recently used
// one gets a second chance). Evicting a live series loses its counts (the next activity counts
// 1 again); stats().evicted counts those. New series also reap two expired series each, so dead
// series do not linger until the bound is reached. A shard's share is at least one series: a
// bound smaller than one sketch-mode series still works, with that series alone in its shard.
//
// Thread safety: thread-safe. Series are split over `shards` shards by hash, each behind its
// own absl::Mutex; Count locks one shard at a time, per key. stats() locks each shard in turn.
//
// Cost (memory_counter_store_bench.cc, release build, loaded 2 vCPU VM): a query on a
// cache-warm series 0.1-0.4 µs (sketch mode too: a big series keeps its union cached); a
// union over 6 big bands 3-6 µs; an activity of five counters (10 series) in a store of
// 0.5-1M series 7-14 µs, dominated by cache misses on the index and the series. Count first
// hashes every key and prefetches their index entries and series, so that these misses
// overlap. End to end (counters_bench.cc, BM_CountersPerActivity: parsed activities, the
// default policy's three counters, a store at its default bound after 1M activities) about
// 10 µs of CPU per activity: still far from 1 µs, see counters_bench.cc for what remains.
//
// Example:
//   fedwall::counters::MemoryCounterStore store({.max_memory_bytes = 64 << 20});
//   std::vector<fedwall::counters::CounterQuery> qs(1);
//   qs[0].keys = {"actor:https://example.com/users/a"};
//   qs[0].window = absl::Minutes(10);
//   std::vector<std::optional<double>> values;
//   store.Count(absl::Now(), /*record=*/true, qs, &values);   // values[0] == 1
#ifndef FEDWALL_ENGINE_COUNTERS_MEMORY_COUNTER_STORE_H_
#define FEDWALL_ENGINE_COUNTERS_MEMORY_COUNTER_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/counters/counter_store.h"

namespace fedwall::counters {

struct MemoryCounterStoreOptions {
  // Approximate bytes held by all series, their buckets and sketches and the index. Default
  // 256 MiB: about 2 million small series (an actor's rate, a text seen by a few actors: ~100
  // bytes each) or about 4,500 large distinct series (57 KiB each) at the limit. 0: no limit.
  size_t max_memory_bytes = size_t{256} << 20;
  // At most this many series. Default 2 million, what 256 MiB holds of the smallest series: the
  // memory bound is the real limit, this one only caps the index. 0: no limit.
  size_t max_series = 2'000'000;
  // Independent shards (a mutex and an index each); clamped to 1..1024. Default 16: enough that
  // a handful of evaluating threads rarely wait on one another.
  int shards = 16;
};

class MemoryCounterStore final : public CounterStore {
 public:
  using Options = MemoryCounterStoreOptions;

  // Sketch-mode buckets per window (see the header comment).
  static constexpr int64_t kSketchBucketsPerWindow = 12;

  explicit MemoryCounterStore(Options options = {});
  ~MemoryCounterStore() override;
  MemoryCounterStore(const MemoryCounterStore&) = delete;
  MemoryCounterStore& operator=(const MemoryCounterStore&) = delete;

  void Count(absl::Time now, bool record, std::span<const CounterQuery> queries,
             std::vector<std::optional<double>>* values) override;

  CounterStoreStats stats() const override;

  std::string description() const override { return "memory"; }

  const Options& options() const { return options_; }

 private:
  class Shard;

  Shard& ShardFor(uint64_t series_hash) const;
  // `ids`: the series hash of each of q.keys, in order.
  std::optional<double> CountEvents(int64_t now_ns, bool record, const CounterQuery& q,
                                    std::span<const uint64_t> ids);
  std::optional<double> CountDistinct(int64_t now_ns, bool record, const CounterQuery& q,
                                      std::span<const uint64_t> ids);

  const Options options_;
  int shard_bits_ = 0;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<uint64_t> queries_{0};
  std::atomic<uint64_t> unknown_{0};
};

}  // namespace fedwall::counters

#endif  // FEDWALL_ENGINE_COUNTERS_MEMORY_COUNTER_STORE_H_
