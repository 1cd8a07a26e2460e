// MemoryCounterStore: see memory_counter_store.h for the design, rounding and time rules.
#include "engine/counters/memory_counter_store.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"
#include "engine/counters/hyperloglog.h"

namespace fedwall::counters {
namespace {

// Times are clamped here (about +-146 years) so that now - window never overflows.
constexpr int64_t kMaxNanos = int64_t{1} << 62;
constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kSecond = 1'000'000'000;
// An events series never holds more buckets than this (one window, plus one for rounding).
constexpr size_t kMaxEventBuckets = static_cast<size_t>(kBucketsPerWindow) + 1;
constexpr int64_t kSketchBuckets = MemoryCounterStore::kSketchBucketsPerWindow;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

// splitmix64's finaliser: spreads absl::Hash output evenly over all 64 bits for the sketches.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t SeriesHash(const std::string& key, int64_t window_ns, bool distinct) {
  return Mix(absl::HashOf(key, window_ns, distinct));
}

// A query the store answers (the others are answered nullopt).
bool Answerable(const CounterQuery& q) {
  return !q.keys.empty() && q.window >= kMinWindow && q.window <= kMaxWindow;
}

uint64_t MemberHash(const std::string& member) { return Mix(absl::HashOf(member) ^ 0x5bd1e995); }

struct BucketCount {
  int64_t bucket;
  uint64_t count;
};

struct MemberSeen {
  uint64_t hash;
  int64_t last_ns;
};

// A distinct series in sketch mode: kSketchBuckets slots, slot i holding bucket b with
// b mod kSketchBuckets == i (bucket[i] == kNoTime: empty).
struct SketchRing {
  std::array<int64_t, kSketchBuckets> bucket;
  std::array<std::unique_ptr<HyperLogLog>, kSketchBuckets> sketch;
  // Cache: the union of the sketches of buckets after `merged_after` (kNoTime: stale), kept
  // up to date by adds and rebuilt when a sketch leaves or a query starts elsewhere, so that
  // a query of a big series estimates from one sketch instead of merging twelve.
  std::unique_ptr<HyperLogLog> merged;
  int64_t merged_after = kNoTime;
  SketchRing() { bucket.fill(kNoTime); }

  const HyperLogLog& Merged(int64_t after) {
    if (merged != nullptr && merged_after == after) return *merged;
    if (merged == nullptr) {
      merged = std::make_unique<HyperLogLog>();
    } else {
      merged->Clear();
    }
    for (int64_t i = 0; i < kSketchBuckets; ++i) {
      if (bucket[i] != kNoTime && bucket[i] > after && sketch[i] != nullptr) {
        merged->Merge(*sketch[i]).IgnoreError();  // same precision always
      }
    }
    merged_after = after;
    return *merged;
  }
};

struct Series {
  uint64_t id = 0;
  int64_t window_ns = 0;
  int64_t newest_ns = kNoTime;  // the series' clock: the newest time recorded
  bool in_use = false;
  bool distinct = false;
  bool referenced = false;               // CLOCK's second-chance bit
  size_t heap_bytes = 0;                 // as last accounted in the shard
  std::vector<BucketCount> events;       // events: sorted by bucket, all within one window
  std::vector<MemberSeen> members;       // distinct, exact mode
  std::unique_ptr<SketchRing> sketches;  // distinct, sketch mode when set

  size_t HeapBytes() const {
    size_t n = events.capacity() * sizeof(BucketCount) + members.capacity() * sizeof(MemberSeen);
    if (sketches != nullptr) {
      n += sizeof(SketchRing);
      for (const auto& s : sketches->sketch) {
        if (s != nullptr) n += s->MemoryBytes();
      }
      if (sketches->merged != nullptr) n += sketches->merged->MemoryBytes();
    }
    return n;
  }

  // All of the series' data is more than a window after now: it does not count at now, and
  // recording at now restarts the series (see "Time" in the header).
  bool FromTheFuture(int64_t now_ns) const {
    return newest_ns != kNoTime && newest_ns >= now_ns + window_ns;
  }
  // Nothing recorded counts at now or later.
  bool Expired(int64_t now_ns) const {
    return newest_ns == kNoTime || newest_ns <= now_ns - window_ns;
  }
  int64_t EventWidth() const { return std::max(kSecond, CeilDiv(window_ns, kBucketsPerWindow)); }
  int64_t SketchWidth() const { return std::max(kSecond, CeilDiv(window_ns, kSketchBuckets)); }

  void Reset() {
    newest_ns = kNoTime;
    events.clear();
    members.clear();
    sketches.reset();
  }

  // Moves the clock to now when later; returns the clock.
  int64_t Advance(int64_t now_ns) {
    if (FromTheFuture(now_ns)) Reset();
    if (newest_ns == kNoTime || now_ns > newest_ns) newest_ns = now_ns;
    return newest_ns;
  }

  // ---- events ----
  uint64_t EventCount(int64_t now_ns) const {
    if (FromTheFuture(now_ns)) return 0;
    const int64_t after = FloorDiv(now_ns - window_ns, EventWidth());
    uint64_t n = 0;
    for (auto it = events.rbegin(); it != events.rend() && it->bucket > after; ++it) n += it->count;
    return n;
  }

  void RecordEvent(int64_t now_ns) {
    const int64_t width = EventWidth();
    const int64_t newest = Advance(now_ns);
    const int64_t dropped = FloorDiv(newest - window_ns, width);  // this bucket and older go
    size_t drop = 0;
    while (drop < events.size() && events[drop].bucket <= dropped) ++drop;
    if (drop > 0) events.erase(events.begin(), events.begin() + static_cast<ptrdiff_t>(drop));
    const int64_t b = std::max(FloorDiv(now_ns, width), dropped + 1);
    // Usually the newest bucket: search from the back.
    auto it = events.end();
    while (it != events.begin() && std::prev(it)->bucket >= b) --it;
    if (it != events.end() && it->bucket == b) {
      ++it->count;
    } else {
      events.insert(it, BucketCount{b, 1});
    }
    // Cannot happen by construction; kept as a hard bound.
    if (events.size() > kMaxEventBuckets) {
      events.erase(events.begin(),
                   events.begin() + static_cast<ptrdiff_t>(events.size() - kMaxEventBuckets));
    }
  }

  // ---- distinct ----
  // In sketch mode and not all in the future of now.
  bool SketchModeAt(int64_t now_ns) const { return sketches != nullptr && !FromTheFuture(now_ns); }

  // Sketch mode: the union of the sketches that count at now.
  const HyperLogLog& SketchAt(int64_t now_ns) {
    return sketches->Merged(FloorDiv(now_ns - window_ns, SketchWidth()));
  }

  // Exact mode: the members that count at now, with `member`.
  size_t ExactCountWith(int64_t now_ns, uint64_t member) const {
    if (FromTheFuture(now_ns)) return 1;
    const int64_t after_ns = now_ns - window_ns;
    size_t n = 1;
    for (const MemberSeen& m : members) {
      if (m.last_ns > after_ns && m.hash != member) ++n;
    }
    return n;
  }

  // Adds the members that count at now: exact ones to `exact`, sketch mode's union merged
  // into `*sketch` (the thread's scratch, set on first need).
  void Collect(int64_t now_ns, std::vector<uint64_t>* exact, HyperLogLog** sketch) {
    if (FromTheFuture(now_ns)) return;
    if (sketches == nullptr) {
      const int64_t after_ns = now_ns - window_ns;
      for (const MemberSeen& m : members) {
        if (m.last_ns > after_ns) exact->push_back(m.hash);
      }
      return;
    }
    const HyperLogLog& merged = SketchAt(now_ns);
    if (*sketch == nullptr) {
      *sketch = &UnionScratch();
      **sketch = merged;  // copies into the scratch's registers, no allocation once warm
    } else {
      (*sketch)->Merge(merged).IgnoreError();  // same precision always
    }
  }

  // Per thread: the union sketch of a multi-key query (4 KiB, allocated once per thread).
  static HyperLogLog& UnionScratch() {
    thread_local HyperLogLog scratch;
    return scratch;
  }

  void RecordMember(int64_t now_ns, uint64_t hash) {
    const int64_t newest = Advance(now_ns);
    if (sketches != nullptr) {
      if (!AddToSketch(newest, now_ns, hash)) {
        // Every sketch has left the window: back to exact mode.
        sketches.reset();
      } else {
        return;
      }
    }
    const int64_t after_ns = newest - window_ns;
    for (MemberSeen& m : members) {
      if (m.hash == hash) {
        m.last_ns = std::max(m.last_ns, now_ns);
        return;
      }
    }
    std::erase_if(members, [after_ns](const MemberSeen& m) { return m.last_ns <= after_ns; });
    if (members.size() < kExactMembers) {
      members.push_back(MemberSeen{hash, now_ns});
      return;
    }
    // The 65th live member: switch to sketch mode.
    sketches = std::make_unique<SketchRing>();
    for (const MemberSeen& m : members) AddToSketch(newest, m.last_ns, m.hash);
    AddToSketch(newest, now_ns, hash);
    members.clear();
    members.shrink_to_fit();
  }

  // Drops sketches that left the window of `newest` and adds hash at time t (into the oldest
  // kept bucket when t's is already dropped). Returns false, adding nothing, when no sketch is
  // left and t is the series' clock: idle for a window, the caller goes back to exact mode.
  bool AddToSketch(int64_t newest, int64_t t, uint64_t hash) {
    const int64_t width = SketchWidth();
    const int64_t dropped = FloorDiv(newest - window_ns, width);
    bool any = false;
    for (int64_t i = 0; i < kSketchBuckets; ++i) {
      if (sketches->bucket[i] != kNoTime && sketches->bucket[i] <= dropped) {
        sketches->bucket[i] = kNoTime;
        sketches->sketch[i].reset();
        sketches->merged_after = kNoTime;
      }
      any = any || sketches->bucket[i] != kNoTime;
    }
    if (!any && t == newest && members.empty()) {
      // Idle for a window: the caller restarts in exact mode (cheaper, and exact).
      return false;
    }
    const int64_t b = std::max(FloorDiv(t, width), dropped + 1);
    const int64_t slot = ((b % kSketchBuckets) + kSketchBuckets) % kSketchBuckets;
    if (sketches->bucket[slot] != b) {
      if (sketches->bucket[slot] != kNoTime) sketches->merged_after = kNoTime;
      sketches->bucket[slot] = b;
      if (sketches->sketch[slot] == nullptr) {
        sketches->sketch[slot] = std::make_unique<HyperLogLog>();
      } else {
        sketches->sketch[slot]->Clear();
      }
    }
    sketches->sketch[slot]->Add(hash);
    if (sketches->merged_after != kNoTime && b > sketches->merged_after) {
      sketches->merged->Add(hash);
    }
    return true;
  }
};

}  // namespace

// One shard: an index from series hash to a slot in a slab of series, and the CLOCK hand.
class MemoryCounterStore::Shard {
 public:
  static constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();

  absl::Mutex mu;

  void Configure(size_t max_bytes, size_t max_series) {
    absl::MutexLock lock(&mu);
    max_bytes_ = max_bytes;
    max_series_ = max_series;
    // The slab never grows past what the bound can hold, so that its capacity (and the
    // index's, about 2.3 entries of 17 bytes per series at most) never take the whole bound by
    // themselves: at most about half of it goes to fixed per-series costs.
    max_slots_ = std::numeric_limits<uint32_t>::max() - 1;
    if (max_bytes != 0) {
      max_slots_ = std::clamp<size_t>(max_bytes / (2 * sizeof(Series) + 64), 1, max_slots_);
    }
    if (max_series != 0) max_slots_ = std::min(max_slots_, max_series);
  }

  // Prefetches (into the cache, without changing anything) where Find/FindOrCreate of `id`
  // will look in the index, and the series under the CLOCK hand that a new series reaps.
  void PrefetchIndex(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    index_.prefetch(id);
    if (!slots_.empty()) {
      const size_t hand = hand_ >= slots_.size() ? 0 : hand_;
      PrefetchSeries(hand);
      if (hand + 1 < slots_.size()) PrefetchSeries(hand + 1);
    }
  }

  // Prefetches the series `id` when it exists (after PrefetchIndex, the lookup hits the cache).
  void PrefetchSeriesOf(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = index_.find(id);
    if (it != index_.end()) PrefetchSeries(it->second);
  }

  // The series' slot, or kNoSlot. Marks it used.
  uint32_t Find(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = index_.find(id);
    if (it == index_.end()) return kNoSlot;
    slots_[it->second].referenced = true;
    return it->second;
  }

  // Finds or creates the series; returns its slot.
  uint32_t FindOrCreate(uint64_t id, int64_t window_ns, bool distinct, int64_t now_ns)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (auto it = index_.find(id); it != index_.end()) {
      slots_[it->second].referenced = true;
      return it->second;
    }
    // Reap a little on every new series so that expired series do not wait for the bound.
    for (int i = 0; i < 2; ++i) ReapAtHand(now_ns);
    if (free_.empty() && slots_.size() >= max_slots_) EvictOne(now_ns, kNoSlot);
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      if (slots_.size() == slots_.capacity()) {
        slots_.reserve(std::min(max_slots_, std::max<size_t>(16, 2 * slots_.capacity())));
      }
      slot = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    index_.emplace(id, slot);
    Series& s = slots_[slot];
    s.id = id;
    s.window_ns = window_ns;
    s.distinct = distinct;
    s.in_use = true;
    // A new series earns its second chance only when used again: one-off keys go first.
    s.referenced = false;
    s.newest_ns = kNoTime;
    ++live_;
    return slot;
  }

  // After the series in `slot` changed: accounts its memory and evicts others while over the
  // bound.
  void Settle(uint32_t slot, int64_t now_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Series& s = slots_[slot];
    const size_t heap = s.HeapBytes();
    heap_bytes_ = heap_bytes_ - s.heap_bytes + heap;
    s.heap_bytes = heap;
    while (OverBound()) {
      if (!EvictOne(now_ns, slot)) break;
    }
  }

  size_t Bytes() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return slots_.capacity() * sizeof(Series) + free_.capacity() * sizeof(uint32_t) +
           index_.capacity() * (sizeof(std::pair<uint64_t, uint32_t>) + 1) + heap_bytes_;
  }
  size_t live() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return live_; }
  uint64_t evicted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return evicted_; }
  Series& at(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return slots_[slot]; }

 private:
  void PrefetchSeries(size_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const char* p = reinterpret_cast<const char*>(&slots_[slot]);
    __builtin_prefetch(p);
    __builtin_prefetch(p + sizeof(Series) - 1);
  }

  bool OverBound() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return (max_series_ != 0 && live_ > max_series_) || (max_bytes_ != 0 && Bytes() > max_bytes_);
  }

  void Remove(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Series& s = slots_[slot];
    index_.erase(s.id);
    heap_bytes_ -= s.heap_bytes;
    s = Series();  // releases buckets, members and sketches
    free_.push_back(slot);
    --live_;
  }

  // Looks at the series under the hand; removes it when expired. Advances the hand.
  void ReapAtHand(int64_t now_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (slots_.empty()) return;
    if (hand_ >= slots_.size()) hand_ = 0;
    const uint32_t slot = static_cast<uint32_t>(hand_++);
    if (slots_[slot].in_use && slots_[slot].Expired(now_ns)) Remove(slot);
  }

  // CLOCK: removes one series other than `protect`; false when there is none.
  bool EvictOne(int64_t now_ns, uint32_t protect) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    // Two turns at most: the first clears every second-chance bit.
    for (size_t steps = 0; steps <= 2 * slots_.size(); ++steps) {
      if (hand_ >= slots_.size()) hand_ = 0;
      const uint32_t slot = static_cast<uint32_t>(hand_++);
      Series& s = slots_[slot];
      if (!s.in_use || slot == protect) continue;
      if (s.Expired(now_ns)) {
        Remove(slot);
        return true;
      }
      if (s.referenced) {
        s.referenced = false;
        continue;
      }
      Remove(slot);
      ++evicted_;
      return true;
    }
    return false;
  }

  absl::flat_hash_map<uint64_t, uint32_t> index_ ABSL_GUARDED_BY(mu);
  std::vector<Series> slots_ ABSL_GUARDED_BY(mu);
  std::vector<uint32_t> free_ ABSL_GUARDED_BY(mu);
  size_t hand_ ABSL_GUARDED_BY(mu) = 0;
  size_t live_ ABSL_GUARDED_BY(mu) = 0;
  size_t heap_bytes_ ABSL_GUARDED_BY(mu) = 0;
  uint64_t evicted_ ABSL_GUARDED_BY(mu) = 0;
  size_t max_bytes_ ABSL_GUARDED_BY(mu) = 0;
  size_t max_series_ ABSL_GUARDED_BY(mu) = 0;
  size_t max_slots_ ABSL_GUARDED_BY(mu) = 0;
};

namespace {

MemoryCounterStoreOptions Normalize(MemoryCounterStoreOptions o) {
  o.shards = std::clamp(o.shards, 1, 1024);
  return o;
}

}  // namespace

MemoryCounterStore::MemoryCounterStore(Options options) : options_(Normalize(options)) {
  while ((1 << shard_bits_) < options_.shards) ++shard_bits_;
  const size_t n = size_t{1} << shard_bits_;
  shards_ = std::make_unique<Shard[]>(n);
  // Each shard gets an even share of the bounds, at least one series.
  const size_t bytes =
      options_.max_memory_bytes == 0 ? 0 : std::max<size_t>(options_.max_memory_bytes / n, 1);
  const size_t series = options_.max_series == 0 ? 0 : std::max<size_t>(options_.max_series / n, 1);
  for (size_t i = 0; i < n; ++i) shards_[i].Configure(bytes, series);
}

MemoryCounterStore::~MemoryCounterStore() = default;

MemoryCounterStore::Shard& MemoryCounterStore::ShardFor(uint64_t series_hash) const {
  return shards_[shard_bits_ == 0 ? 0 : series_hash >> (64 - shard_bits_)];
}

void MemoryCounterStore::Count(absl::Time now, bool record, std::span<const CounterQuery> queries,
                               std::vector<std::optional<double>>* values) {
  values->assign(queries.size(), std::nullopt);
  const int64_t now_ns = std::clamp<int64_t>(absl::ToUnixNanos(now), -kMaxNanos, kMaxNanos);
  // The series of every key first (per thread: Count may run on many threads at once), so
  // that their index entries and records can be fetched from memory all at once rather than
  // one cache miss after another: with a large store, waiting on memory is most of the cost.
  thread_local std::vector<uint64_t> ids;
  ids.clear();
  uint64_t unknown = 0;
  for (const CounterQuery& q : queries) {
    if (!Answerable(q)) continue;
    const int64_t window_ns = absl::ToInt64Nanoseconds(q.window);
    for (const std::string& key : q.keys) ids.push_back(SeriesHash(key, window_ns, q.distinct));
  }
  if (ids.size() > 1) {
    for (uint64_t id : ids) {
      Shard& shard = ShardFor(id);
      absl::MutexLock lock(&shard.mu);
      shard.PrefetchIndex(id);
    }
    for (uint64_t id : ids) {
      Shard& shard = ShardFor(id);
      absl::MutexLock lock(&shard.mu);
      shard.PrefetchSeriesOf(id);
    }
  }
  size_t next_id = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const CounterQuery& q = queries[i];
    if (!Answerable(q)) {
      ++unknown;
      continue;
    }
    const std::span<const uint64_t> q_ids(ids.data() + next_id, q.keys.size());
    next_id += q.keys.size();
    (*values)[i] =
        q.distinct ? CountDistinct(now_ns, record, q, q_ids) : CountEvents(now_ns, record, q, q_ids);
  }
  queries_.fetch_add(queries.size(), std::memory_order_relaxed);
  if (unknown != 0) unknown_.fetch_add(unknown, std::memory_order_relaxed);
}

std::optional<double> MemoryCounterStore::CountEvents(int64_t now_ns, bool record,
                                                      const CounterQuery& q,
                                                      std::span<const uint64_t> ids) {
  const int64_t window_ns = absl::ToInt64Nanoseconds(q.window);
  double total = 0;
  for (const uint64_t id : ids) {
    Shard& shard = ShardFor(id);
    absl::MutexLock lock(&shard.mu);
    if (!record) {
      const uint32_t slot = shard.Find(id);
      total +=
          static_cast<double>((slot != Shard::kNoSlot ? shard.at(slot).EventCount(now_ns) : 0) + 1);
      continue;
    }
    const uint32_t slot = shard.FindOrCreate(id, window_ns, false, now_ns);
    Series& s = shard.at(slot);
    total += static_cast<double>(s.EventCount(now_ns) + 1);
    s.RecordEvent(now_ns);
    shard.Settle(slot, now_ns);
  }
  return total;
}

std::optional<double> MemoryCounterStore::CountDistinct(int64_t now_ns, bool record,
                                                        const CounterQuery& q,
                                                        std::span<const uint64_t> ids) {
  const int64_t window_ns = absl::ToInt64Nanoseconds(q.window);
  const uint64_t member = MemberHash(q.member);
  // Scratch for the union, per thread (Count may run on many threads at once).
  thread_local std::vector<uint64_t> exact;
  exact.clear();
  HyperLogLog* sketch = nullptr;  // the thread's union scratch, once some key is in sketch mode
  for (const uint64_t id : ids) {
    Shard& shard = ShardFor(id);
    absl::MutexLock lock(&shard.mu);
    const uint32_t slot = record ? shard.FindOrCreate(id, window_ns, true, now_ns) : shard.Find(id);
    if (slot == Shard::kNoSlot) continue;
    Series& s = shard.at(slot);
    if (record) s.RecordMember(now_ns, member);
    if (ids.size() == 1) {
      // One key, the common case: no union to build.
      const double v = s.SketchModeAt(now_ns)
                           ? s.SketchAt(now_ns).EstimateWith(member)
                           : static_cast<double>(s.ExactCountWith(now_ns, member));
      shard.Settle(slot, now_ns);
      return v;
    }
    s.Collect(now_ns, &exact, &sketch);
    shard.Settle(slot, now_ns);
  }
  exact.push_back(member);
  if (sketch == nullptr) {
    if (exact.size() > 1) {
      std::sort(exact.begin(), exact.end());
      exact.erase(std::unique(exact.begin(), exact.end()), exact.end());
    }
    return static_cast<double>(exact.size());
  }
  for (uint64_t h : exact) sketch->Add(h);
  return sketch->Estimate();
}

CounterStoreStats MemoryCounterStore::stats() const {
  CounterStoreStats out;
  out.queries = queries_.load(std::memory_order_relaxed);
  out.unknown = unknown_.load(std::memory_order_relaxed);
  out.memory_bytes = sizeof(*this) + (size_t{1} << shard_bits_) * sizeof(Shard);
  for (size_t i = 0; i < (size_t{1} << shard_bits_); ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    out.series += shard.live();
    out.evicted += shard.evicted();
    out.memory_bytes += shard.Bytes();
  }
  return out;
}

}  // namespace fedwall::counters
