#include "engine/counters/memory_counter_store.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/counters/counter_store_conformance.h"
#include "gtest/gtest.h"

namespace fedwall::counters {
namespace {

using ::fedwall::counters::testing::CounterStoreConformance;
using ::fedwall::counters::testing::FactoryName;
using ::fedwall::counters::testing::StoreFactory;

INSTANTIATE_TEST_SUITE_P(
    Memory, CounterStoreConformance,
    ::testing::Values(StoreFactory{.name = "memory",
                                   .make = [](const std::string&) -> std::unique_ptr<CounterStore> {
                                     return std::make_unique<MemoryCounterStore>();
                                   }},
                      // One shard and an unaligned base time: the same answers.
                      StoreFactory{.name = "memory_one_shard_unaligned",
                                   .make = [](const std::string&) -> std::unique_ptr<CounterStore> {
                                     return std::make_unique<MemoryCounterStore>(
                                         MemoryCounterStoreOptions{.shards = 1});
                                   },
                                   .base_time = absl::FromUnixSeconds(1'700'000'037) +
                                                absl::Milliseconds(123)}),
    FactoryName);

const absl::Time kT0 = absl::FromUnixSeconds(1'699'992'000);

std::optional<double> CountOne(CounterStore& store, const CounterQuery& q, absl::Time now,
                               bool record = true) {
  std::vector<std::optional<double>> values;
  store.Count(now, record, std::span<const CounterQuery>(&q, 1), &values);
  return values.at(0);
}

TEST(MemoryCounterStoreTest, Description) {
  EXPECT_EQ(MemoryCounterStore().description(), "memory");
}

TEST(MemoryCounterStoreTest, InvalidQueriesAreUnknown) {
  MemoryCounterStore store;
  std::vector<CounterQuery> qs(4);
  qs[0].keys = {};                                    // no key
  qs[1] = EventQuery("k", absl::ZeroDuration());           // below 1 s
  qs[2] = EventQuery("k", kMaxWindow + absl::Seconds(1));  // above 7 d
  qs[3] = EventQuery("k", absl::Seconds(1));               // fine
  qs[3].window = -absl::Hours(1);                     // negative
  std::vector<std::optional<double>> values;
  store.Count(kT0, true, qs, &values);
  ASSERT_EQ(values.size(), 4u);
  for (const auto& v : values) EXPECT_FALSE(v.has_value());
  CounterStoreStats s = store.stats();
  EXPECT_EQ(s.queries, 4u);
  EXPECT_EQ(s.unknown, 4u);
  EXPECT_EQ(s.series, 0u);
  EXPECT_EQ(CountOne(store, EventQuery("k", kMinWindow), kT0), 1.0);
  EXPECT_EQ(CountOne(store, EventQuery("k", kMaxWindow), kT0), 1.0);
}

TEST(MemoryCounterStoreTest, DryRunCreatesNothing) {
  MemoryCounterStore store;
  const uint64_t empty_bytes = store.stats().memory_bytes;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(CountOne(store, EventQuery(absl::StrCat("e", i)), kT0, false), 1.0);
    EXPECT_EQ(CountOne(store, DistinctQuery({absl::StrCat("d", i)}, "m"), kT0, false), 1.0);
  }
  EXPECT_EQ(store.stats().series, 0u);
  EXPECT_EQ(store.stats().memory_bytes, empty_bytes);
}

TEST(MemoryCounterStoreTest, StatsTrackSeriesAndMemory) {
  MemoryCounterStore store;
  const uint64_t empty_bytes = store.stats().memory_bytes;
  for (int i = 0; i < 1000; ++i) CountOne(store, EventQuery(absl::StrCat("e", i)), kT0);
  CounterStoreStats s = store.stats();
  EXPECT_EQ(s.series, 1000u);
  EXPECT_EQ(s.evicted, 0u);
  EXPECT_GT(s.memory_bytes, empty_bytes + 1000 * 50);
  EXPECT_LT(s.memory_bytes, empty_bytes + 1000 * 1000);
  EXPECT_EQ(s.queries, 1000u);
}

// Events: the answer always lies between the exact count over (now - (window - B), now] and
// the exact count over (now - window, now], B = max(1 s, window / 60) (the header's promise).
TEST(MemoryCounterStoreTest, EventRoundingStaysWithinOneBucket) {
  for (absl::Duration window : {absl::Seconds(1), absl::Seconds(45), absl::Minutes(10),
                                absl::Hours(1), absl::Hours(24 * 7)}) {
    SCOPED_TRACE(absl::FormatDuration(window));
    MemoryCounterStore store;
    std::mt19937_64 rng(7);
    const absl::Duration bucket = std::max(absl::Seconds(1), window / kBucketsPerWindow);
    std::vector<absl::Time> recorded;
    absl::Time now = kT0 + absl::Milliseconds(371);
    for (int i = 0; i < 3000; ++i) {
      now += window / 97 * static_cast<int64_t>(rng() % 4) + absl::Nanoseconds(rng() % 1000);
      int64_t low = 0, high = 0;
      for (absl::Time t : recorded) {
        if (t > now - window) ++high;
        if (t > now - (window - bucket)) ++low;
      }
      std::optional<double> v = CountOne(store, EventQuery("k", window), now);
      ASSERT_TRUE(v.has_value());
      ASSERT_GE(*v, low + 1) << i;
      ASSERT_LE(*v, high + 1) << i;
      recorded.push_back(now);
    }
  }
}

// Distinct in exact mode: no rounding at all, against a brute-force model.
TEST(MemoryCounterStoreTest, DistinctExactModeMatchesModel) {
  MemoryCounterStore store;
  std::mt19937_64 rng(11);
  const absl::Duration window = absl::Minutes(10);
  struct Seen {
    std::string key, member;
    absl::Time at;
  };
  std::vector<Seen> seen;
  absl::Time now = kT0;
  for (int i = 0; i < 3000; ++i) {
    now += absl::Seconds(static_cast<int64_t>(rng() % 5));
    // 3 keys, 40 members: each key stays within 64 live members.
    std::vector<std::string> keys = {absl::StrCat("k", rng() % 3)};
    if (rng() % 4 == 0) keys.push_back(absl::StrCat("k", rng() % 3));
    const std::string member = absl::StrCat("m", rng() % 40);
    std::set<std::string> expected = {member};
    for (const Seen& s : seen) {
      if (s.at > now - window && std::find(keys.begin(), keys.end(), s.key) != keys.end()) {
        expected.insert(s.member);
      }
    }
    const bool record = rng() % 5 != 0;
    std::optional<double> v = CountOne(store, DistinctQuery(keys, member, window), now, record);
    ASSERT_EQ(v, static_cast<double>(expected.size())) << i;
    if (record) {
      for (const std::string& k : keys) seen.push_back({k, member, now});
    }
  }
}

TEST(MemoryCounterStoreTest, DistinctSketchModeSlidesAndReturnsToExact) {
  MemoryCounterStore store;
  const absl::Duration window = absl::Hours(1);
  for (int i = 0; i < 500; ++i) CountOne(store, DistinctQuery({"big"}, absl::StrCat("a", i)), kT0);
  std::optional<double> v = CountOne(store, DistinctQuery({"big"}, "x"), kT0, false);
  ASSERT_TRUE(v.has_value());
  EXPECT_NEAR(*v, 501, 501 * 0.05);
  // Half a window later: 300 more, still within the window with the first 500.
  for (int i = 0; i < 300; ++i) {
    CountOne(store, DistinctQuery({"big"}, absl::StrCat("b", i)), kT0 + window / 2);
  }
  v = CountOne(store, DistinctQuery({"big"}, "x"), kT0 + window / 2, false);
  EXPECT_NEAR(*v, 801, 801 * 0.05);
  // The first 500 leave the window; the 300 stay (sketch buckets are 5 minutes wide).
  v = CountOne(store, DistinctQuery({"big"}, "x"), kT0 + window + absl::Minutes(5), false);
  EXPECT_NEAR(*v, 301, 301 * 0.05);
  // Idle for a window: exact again.
  const absl::Time later = kT0 + 3 * window;
  EXPECT_EQ(CountOne(store, DistinctQuery({"big"}, "p"), later), 1.0);
  EXPECT_EQ(CountOne(store, DistinctQuery({"big"}, "q"), later), 2.0);
  EXPECT_EQ(CountOne(store, DistinctQuery({"big"}, "p"), later), 2.0);
}

TEST(MemoryCounterStoreTest, BigDistinctSeriesStaysBounded) {
  MemoryCounterStore store;
  const uint64_t empty_bytes = store.stats().memory_bytes;
  absl::Time now = kT0;
  for (int i = 0; i < 200'000; ++i) {
    now += absl::Milliseconds(100);  // 20'000 s: several windows of 1 h
    CountOne(store, DistinctQuery({"viral"}, absl::StrCat("actor", i)), now);
  }
  std::optional<double> v = CountOne(store, DistinctQuery({"viral"}, "x"), now, false);
  ASSERT_TRUE(v.has_value());
  // 36'000 members in the last hour, counted in 5-minute sketch buckets: 33'000 .. 36'000.
  EXPECT_GT(*v, 33'000 * 0.95);
  EXPECT_LT(*v, 36'001 * 1.05);
  CounterStoreStats s = store.stats();
  EXPECT_EQ(s.series, 1u);
  EXPECT_LT(s.memory_bytes - empty_bytes, 64u << 10);  // 13 sketches of 4 KiB and change
}

TEST(MemoryCounterStoreTest, EvictionUnderSeriesBound) {
  MemoryCounterStore store({.max_memory_bytes = 0, .max_series = 100, .shards = 1});
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(CountOne(store, EventQuery(absl::StrCat("e", i)), kT0), 1.0);
  }
  CounterStoreStats s = store.stats();
  EXPECT_EQ(s.series, 100u);
  EXPECT_EQ(s.evicted, 900u);
}

TEST(MemoryCounterStoreTest, EvictionUnderTinyMemoryBound) {
  constexpr size_t kBound = 64 << 10;
  MemoryCounterStore store({.max_memory_bytes = kBound, .max_series = 0, .shards = 2});
  for (int i = 0; i < 20'000; ++i) {
    CountOne(store, EventQuery(absl::StrCat("e", i)), kT0);
    if (i % 10 == 0) CountOne(store, DistinctQuery({absl::StrCat("d", i % 7)}, absl::StrCat(i)), kT0);
  }
  CounterStoreStats s = store.stats();
  EXPECT_LE(s.memory_bytes, kBound + 4096);
  EXPECT_GT(s.evicted, 10'000u);
  EXPECT_GT(s.series, 10u);
  // A store still answers after evicting.
  EXPECT_EQ(CountOne(store, EventQuery("fresh"), kT0), 1.0);
  EXPECT_EQ(CountOne(store, EventQuery("fresh"), kT0), 2.0);
}

TEST(MemoryCounterStoreTest, RecentlyUsedSeriesSurviveEviction) {
  MemoryCounterStore store({.max_memory_bytes = 0, .max_series = 10, .shards = 1});
  for (int i = 0; i < 10; ++i) CountOne(store, EventQuery(absl::StrCat("e", i)), kT0);
  int touches = 1;
  for (int i = 10; i < 200; ++i) {
    CountOne(store, EventQuery("e0"), kT0);
    ++touches;
    CountOne(store, EventQuery(absl::StrCat("e", i)), kT0);
  }
  EXPECT_EQ(CountOne(store, EventQuery("e0"), kT0, false), touches + 1.0);
  EXPECT_GT(store.stats().evicted, 0u);
}

TEST(MemoryCounterStoreTest, ExpiredSeriesGoFirstAndAreNotCountedAsEvicted) {
  MemoryCounterStore store({.max_memory_bytes = 0, .max_series = 10, .shards = 1});
  for (int i = 0; i < 10; ++i)
    CountOne(store, EventQuery(absl::StrCat("old", i), absl::Minutes(1)), kT0);
  const absl::Time later = kT0 + absl::Minutes(2);
  for (int i = 0; i < 10; ++i)
    CountOne(store, EventQuery(absl::StrCat("new", i), absl::Minutes(1)), later);
  CounterStoreStats s = store.stats();
  EXPECT_EQ(s.series, 10u);
  EXPECT_EQ(s.evicted, 0u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(CountOne(store, EventQuery(absl::StrCat("new", i), absl::Minutes(1)), later, false), 2.0);
  }
}

TEST(MemoryCounterStoreTest, ExpiredSeriesAreReapedWithoutPressure) {
  MemoryCounterStore store({.shards = 1});
  for (int i = 0; i < 1000; ++i)
    CountOne(store, EventQuery(absl::StrCat("old", i), absl::Seconds(1)), kT0);
  for (int i = 0; i < 1000; ++i) {
    CountOne(store, EventQuery(absl::StrCat("new", i), absl::Seconds(1)), kT0 + absl::Seconds(10));
  }
  // Each new series reaps up to two expired ones.
  EXPECT_LE(store.stats().series, 1100u);
  EXPECT_EQ(store.stats().evicted, 0u);
}

TEST(MemoryCounterStoreTest, MemoryStaysBoundedWithAMillionKeys) {
  constexpr size_t kBound = 8 << 20;
  MemoryCounterStore store({.max_memory_bytes = kBound, .shards = 4});
  std::vector<CounterQuery> qs = {EventQuery(""), EventQuery("", absl::Minutes(10)), DistinctQuery({""}, "")};
  uint64_t max_bytes = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    qs[0].keys[0] = absl::StrCat("actor", i);
    qs[1].keys[0] = absl::StrCat("domain", i % 50'000);
    qs[2].keys[0] = absl::StrCat("text", i % 300'000);
    qs[2].member = qs[0].keys[0];
    std::vector<std::optional<double>> values;
    store.Count(kT0 + absl::Milliseconds(i), true, qs, &values);
    ASSERT_TRUE(values[0].has_value());
    if (i % 50'000 == 0) max_bytes = std::max(max_bytes, store.stats().memory_bytes);
  }
  CounterStoreStats s = store.stats();
  max_bytes = std::max(max_bytes, s.memory_bytes);
  EXPECT_LE(max_bytes, kBound + 4096);
  EXPECT_GT(s.evicted, 100'000u);
  EXPECT_GT(s.series, 10'000u);
}

TEST(MemoryCounterStoreTest, TimeGoingBackwardsWithinAWindow) {
  MemoryCounterStore store;
  const absl::Duration w = absl::Hours(1);
  EXPECT_EQ(CountOne(store, EventQuery("k", w), kT0 + absl::Minutes(10)), 1.0);
  // Earlier than the series' clock: what was recorded "later" still counts.
  EXPECT_EQ(CountOne(store, EventQuery("k", w), kT0), 2.0);
  EXPECT_EQ(CountOne(store, EventQuery("k", w), kT0 + absl::Minutes(10)), 3.0);
  // (kT0 + 5 min, kT0 + 65 min]: the kT0 event left, the two at kT0 + 10 min stay.
  EXPECT_EQ(CountOne(store, EventQuery("k", w), kT0 + absl::Minutes(65)), 3.0);

  EXPECT_EQ(CountOne(store, DistinctQuery({"d"}, "a", w), kT0 + absl::Minutes(10)), 1.0);
  EXPECT_EQ(CountOne(store, DistinctQuery({"d"}, "b", w), kT0), 2.0);
  EXPECT_EQ(CountOne(store, DistinctQuery({"d"}, "a", w), kT0), 2.0);
  // b's newest sighting is kT0, a's kT0 + 10 min.
  EXPECT_EQ(CountOne(store, DistinctQuery({"d"}, "c", w), kT0 + absl::Minutes(65)), 2.0);
}

TEST(MemoryCounterStoreTest, FarFutureDoesNotFreezeASeries) {
  MemoryCounterStore store;
  const absl::Duration w = absl::Hours(1);
  EXPECT_EQ(CountOne(store, EventQuery("k", w), kT0 + absl::Hours(24 * 365)), 1.0);
  EXPECT_EQ(CountOne(store, EventQuery("k", w), kT0), 1.0);  // the future event does not count
  EXPECT_EQ(CountOne(store, EventQuery("k", w), kT0 + absl::Seconds(1)), 2.0);  // restarted at kT0
  EXPECT_EQ(CountOne(store, DistinctQuery({"d"}, "x", w), kT0 + absl::Hours(24 * 365)), 1.0);
  EXPECT_EQ(CountOne(store, DistinctQuery({"d"}, "y", w), kT0), 1.0);
  EXPECT_EQ(CountOne(store, DistinctQuery({"d"}, "z", w), kT0), 2.0);
}

TEST(MemoryCounterStoreTest, RandomTimesStayBoundedAndSane) {
  MemoryCounterStore store({.shards = 2});
  std::mt19937_64 rng(3);
  const uint64_t empty_bytes = store.stats().memory_bytes;
  for (int i = 0; i < 100'000; ++i) {
    // Jumps of up to +-3 windows around a slowly advancing clock, and some extremes.
    absl::Time now = kT0 + absl::Seconds(i / 10) +
                     absl::Seconds(static_cast<int64_t>(rng() % 21'600)) - absl::Hours(3);
    if (i % 1000 == 0) now = absl::InfinitePast();
    if (i % 1000 == 1) now = absl::InfiniteFuture();
    if (i % 1000 == 2) now = absl::UnixEpoch() - absl::Hours(1);
    std::vector<CounterQuery> qs = {
        EventQuery(absl::StrCat("e", rng() % 3)),
        DistinctQuery({absl::StrCat("d", rng() % 3), "shared"}, absl::StrCat("m", rng() % 500)),
    };
    std::vector<std::optional<double>> values;
    store.Count(now, rng() % 3 != 0, qs, &values);
    ASSERT_TRUE(values[0].has_value());
    ASSERT_TRUE(values[1].has_value());
    ASSERT_GE(*values[0], 1);
    ASSERT_GE(*values[1], 1);
    ASSERT_LE(*values[1], 600);  // at most 500 members, plus estimate error
  }
  CounterStoreStats s = store.stats();
  EXPECT_LE(s.series, 7u);
  // 3 event series (<= 61 buckets) and 4 distinct series (<= 12 sketches each).
  EXPECT_LT(s.memory_bytes - empty_bytes, 4 * (64u << 10) + 3 * 4096u);
}

TEST(MemoryCounterStoreTest, ConcurrentCountFromFourThreads) {
  MemoryCounterStore store({.shards = 4});
  constexpr int kThreads = 4;
  constexpr int kRounds = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      std::vector<CounterQuery> qs = {
          EventQuery("shared"),
          EventQuery(absl::StrCat("own", t)),
          DistinctQuery({"shared-d", absl::StrCat("own-d", t)}, ""),
      };
      std::vector<std::optional<double>> values;
      for (int i = 0; i < kRounds; ++i) {
        qs[2].member = absl::StrCat("m", i % 50);
        store.Count(kT0 + absl::Milliseconds(i), true, qs, &values);
        ASSERT_EQ(values[1], i + 1.0);  // nobody else writes this thread's key
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(CountOne(store, EventQuery("shared"), kT0 + absl::Seconds(30), false),
            kThreads * kRounds + 1.0);
  EXPECT_EQ(CountOne(store, DistinctQuery({"shared-d"}, "m0"), kT0 + absl::Seconds(30), false), 50.0);
  CounterStoreStats s = store.stats();
  EXPECT_EQ(s.queries, uint64_t{kThreads} * kRounds * 3 + 2);
  EXPECT_EQ(s.series, 2u + 2 * kThreads);
}

}  // namespace
}  // namespace fedwall::counters
