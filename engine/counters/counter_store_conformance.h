// The CounterStore conformance suite: one set of GoogleTest cases that every CounterStore
// implementation must pass, so the in-process store and the Redis store answer alike. It checks
// the semantics written in counter_store.h, with explicit times only (never the wall clock).
//
// Use: include this header in exactly one test source of a test binary (it defines the TEST_P
// cases) and instantiate the suite with a factory that returns a fresh, empty store for every
// call. `unique` differs on every call (for a shared server: a fresh key prefix or database).
// Return nullptr when the store cannot be made at all (no redis-server on this machine): the
// case is then skipped, with the factory's `skip_reason`.
//
//   using fedwall::counters::testing::CounterStoreConformance;
//   using fedwall::counters::testing::StoreFactory;
//   INSTANTIATE_TEST_SUITE_P(
//       Memory, CounterStoreConformance,
//       ::testing::Values(StoreFactory{
//           .name = "memory",
//           .make = [](const std::string&) -> std::unique_ptr<fedwall::counters::CounterStore> {
//             return std::make_unique<fedwall::counters::MemoryCounterStore>();
//           }}),
//       fedwall::counters::testing::FactoryName);
//
// Times: every case counts from `StoreFactory::base_time` (default 2023-11-14T20:00:00Z, a
// multiple of 7d/60 seconds, so every bucket width is aligned) plus explicit offsets. A store
// that talks to a server must not compare these times with the server's clock (for example by
// EXPIREAT on them); a factory may set base_time near the wall clock if it must. The cases hold
// for any base_time, aligned or not.
//
// Rounding: the contract lets a store round a window's start to its bucket width; the cases
// allow any width up to EffectiveBucket(window) = max(1 s, window / kBucketsPerWindow): an event
// at least that much younger than the window's start must count, an event at or before the
// window's start must not. Distinct counts are exact up to kExactMembers members; above, the
// cases accept the HyperLogLog estimate within kEstimateTolerance (relative).
//
// Thread safety: the cases are single-threaded; the factory is called from the test thread.
#ifndef FEDWALL_ENGINE_COUNTERS_COUNTER_STORE_CONFORMANCE_H_
#define FEDWALL_ENGINE_COUNTERS_COUNTER_STORE_CONFORMANCE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/counters/counter_store.h"
#include "gtest/gtest.h"

namespace fedwall::counters::testing {

// What an instantiation tests.
struct StoreFactory {
  // The label in test names ("memory", "redis"): letters, digits and '_' only.
  std::string name;
  // A fresh, empty store; nullptr when the store cannot be made here (the case is skipped).
  std::function<std::unique_ptr<CounterStore>(const std::string& unique)> make;
  // Why make() may return nullptr, shown when a case is skipped.
  std::string skip_reason = "the store is not available on this machine";
  // Where every case's explicit times start (see the header comment).
  absl::Time base_time = absl::FromUnixSeconds(1'699'992'000);
};

inline void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

// For INSTANTIATE_TEST_SUITE_P's name generator argument.
inline std::string FactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

// Relative tolerance for distinct counts above kExactMembers: three standard errors of a
// precision-12 HyperLogLog (1.6%), rounded up.
inline constexpr double kEstimateTolerance = 0.05;

// The coarsest bucket width the contract allows a store for `window`.
inline absl::Duration EffectiveBucket(absl::Duration window) {
  return std::max(absl::Seconds(1), window / kBucketsPerWindow);
}

class CounterStoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    store_ = NewStore();
    if (store_ == nullptr) GTEST_SKIP() << GetParam().skip_reason;
  }

  // A further fresh store (the determinism case compares two).
  std::unique_ptr<CounterStore> NewStore() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string unique = absl::StrCat(info->test_suite_name(), ".", info->name(), ".", ++made_);
    return GetParam().make(unique);
  }

  absl::Time T(absl::Duration offset = absl::ZeroDuration()) const {
    return GetParam().base_time + offset;
  }


  // Every answer of one Count call; a failure (recorded, -1 returned) for an unknown value.
  static std::vector<double> CountOn(CounterStore& store, absl::Time now, bool record,
                                     std::span<const CounterQuery> queries) {
    std::vector<std::optional<double>> values;
    store.Count(now, record, queries, &values);
    EXPECT_EQ(values.size(), queries.size());
    std::vector<double> out;
    for (const std::optional<double>& v : values) {
      EXPECT_TRUE(v.has_value()) << "the store answered unknown";
      out.push_back(v.value_or(-1));
    }
    return out;
  }
  double One(const CounterQuery& q, absl::Time now, bool record = true) {
    std::vector<double> v = CountOn(*store_, now, record, std::span<const CounterQuery>(&q, 1));
    return v.empty() ? -1 : v[0];
  }
  double Ev(const std::string& key, absl::Duration window, absl::Time now, bool record = true) {
    return One(EventQuery(key, window), now, record);
  }
  double Dist(std::vector<std::string> keys, const std::string& member, absl::Duration window,
              absl::Time now, bool record = true) {
    return One(DistinctQuery(std::move(keys), member, window), now, record);
  }

  static void ExpectEstimate(double value, double truth) {
    EXPECT_NEAR(value, truth, std::max(1.0, truth * kEstimateTolerance)) << "truth " << truth;
  }

  std::unique_ptr<CounterStore> store_;
  int made_ = 0;
};

TEST_P(CounterStoreConformance, DescribesItself) { EXPECT_FALSE(store_->description().empty()); }

TEST_P(CounterStoreConformance, FirstEventAndFirstMemberCountOne) {
  EXPECT_EQ(Ev("first", absl::Hours(1), T()), 1);
  EXPECT_EQ(Dist({"first-d"}, "alice", absl::Hours(1), T()), 1);
}

TEST_P(CounterStoreConformance, ValuesAreResizedToTheQueries) {
  std::vector<std::optional<double>> values(7, 42.0);
  std::vector<CounterQuery> qs = {EventQuery("r1", absl::Minutes(5)),
                                  DistinctQuery({"r2"}, "m", absl::Minutes(5))};
  store_->Count(T(), true, qs, &values);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], 1.0);
  EXPECT_EQ(values[1], 1.0);
  store_->Count(T(), true, {}, &values);
  EXPECT_TRUE(values.empty());
}

TEST_P(CounterStoreConformance, EventsAccumulate) {
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Ev("acc", absl::Hours(1), T(absl::Seconds(i * 7))), i + 1) << i;
  }
  // Several activities at the same instant all count.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Ev("same", absl::Minutes(1), T()), i + 1);
}

TEST_P(CounterStoreConformance, EventWindowSlides) {
  for (absl::Duration w : {absl::Seconds(1), absl::Seconds(30), absl::Minutes(1), absl::Minutes(10),
                           absl::Hours(1), absl::Hours(24), kMaxWindow}) {
    SCOPED_TRACE(absl::FormatDuration(w));
    const std::string key = absl::StrCat("slide-", absl::FormatDuration(w));
    const absl::Duration b = EffectiveBucket(w);
    EXPECT_EQ(Ev(key, w, T()), 1);
    if (w >= 3 * b) {
      // Younger than the window's start by 2 buckets: must still count.
      EXPECT_EQ(Ev(key, w, T(w - 2 * b)), 2);
      // Exactly one window after the first: the first is out, the second in.
      EXPECT_EQ(Ev(key, w, T(w)), 2);
      // One window after the last: nothing left.
      EXPECT_EQ(Ev(key, w, T(2 * w)), 1);
    } else {
      EXPECT_EQ(Ev(key, w, T(w)), 1);
      EXPECT_EQ(Ev(key, w, T(w)), 2);
    }
    // Long idle: counts start again.
    EXPECT_EQ(Ev(key, w, T(10 * w + absl::Seconds(3))), 1);
  }
}

TEST_P(CounterStoreConformance, DistinctCountsEachMemberOnce) {
  const absl::Duration w = absl::Hours(1);
  EXPECT_EQ(Dist({"once"}, "a", w, T()), 1);
  EXPECT_EQ(Dist({"once"}, "b", w, T(absl::Seconds(1))), 2);
  EXPECT_EQ(Dist({"once"}, "a", w, T(absl::Seconds(2))), 2);
  EXPECT_EQ(Dist({"once"}, "c", w, T(absl::Seconds(3))), 3);
  EXPECT_EQ(Dist({"once"}, "b", w, T(absl::Seconds(4))), 3);
  EXPECT_EQ(Dist({"once"}, "b", w, T(absl::Seconds(4))), 3);
}

TEST_P(CounterStoreConformance, DistinctWindowSlides) {
  for (absl::Duration w : {absl::Seconds(1), absl::Minutes(10), absl::Hours(1), kMaxWindow}) {
    SCOPED_TRACE(absl::FormatDuration(w));
    const std::string key = absl::StrCat("dslide-", absl::FormatDuration(w));
    const absl::Duration b = EffectiveBucket(w);
    EXPECT_EQ(Dist({key}, "x", w, T()), 1);
    if (w >= 3 * b) {
      EXPECT_EQ(Dist({key}, "y", w, T(w - 2 * b)), 2);
      EXPECT_EQ(Dist({key}, "y", w, T(w)), 1);  // x left; y seen again
      EXPECT_EQ(Dist({key}, "x", w, T(w + absl::Seconds(1))), 2);
    } else {
      EXPECT_EQ(Dist({key}, "y", w, T(w)), 1);  // x left
      EXPECT_EQ(Dist({key}, "x", w, T(w)), 2);
    }
    EXPECT_EQ(Dist({key}, "z", w, T(10 * w + absl::Seconds(3))), 1);
  }
}

TEST_P(CounterStoreConformance, DistinctUnionOfKeys) {
  const absl::Duration w = absl::Hours(1);
  EXPECT_EQ(Dist({"u1"}, "a", w, T()), 1);
  EXPECT_EQ(Dist({"u2"}, "b", w, T()), 1);
  // {a} ∪ {b} ∪ {} plus c; c is recorded under all three keys.
  EXPECT_EQ(Dist({"u1", "u2", "u3"}, "c", w, T(absl::Seconds(1))), 3);
  EXPECT_EQ(Dist({"u2", "u3"}, "a", w, T(absl::Seconds(2))), 3);  // {b,c} ∪ {c} + a
  EXPECT_EQ(Dist({"u3"}, "z", w, T(absl::Seconds(3))), 3);        // {c,a} + z
  EXPECT_EQ(Dist({"u1"}, "c", w, T(absl::Seconds(4))), 2);        // {a,c}
  // The same key twice in one query is one key.
  EXPECT_EQ(Dist({"u1", "u1"}, "a", w, T(absl::Seconds(5))), 2);
}

TEST_P(CounterStoreConformance, UnionOfManySmallKeysIsExact) {
  const absl::Duration w = absl::Hours(1);
  std::vector<std::string> bands;
  for (int k = 0; k < 6; ++k) bands.push_back(absl::StrCat("band", k));
  // Each band gets 10 members, 5 of them shared with the next band: 35 distinct in all.
  for (int k = 0; k < 6; ++k) {
    for (int m = 0; m < 10; ++m) Dist({bands[k]}, absl::StrCat("m", k * 5 + m), w, T());
  }
  EXPECT_EQ(Dist(bands, "m0", w, T(absl::Seconds(1))), 35);
  EXPECT_EQ(Dist(bands, "new", w, T(absl::Seconds(2))), 36);
}

TEST_P(CounterStoreConformance, DifferentWindowsAreIndependentSeries) {
  EXPECT_EQ(Ev("k", absl::Hours(1), T()), 1);
  EXPECT_EQ(Ev("k", absl::Hours(1), T()), 2);
  EXPECT_EQ(Ev("k", absl::Minutes(10), T()), 1);
  EXPECT_EQ(Ev("k", absl::Hours(1), T()), 3);
  EXPECT_EQ(Dist({"k"}, "a", absl::Hours(1), T()), 1);
  EXPECT_EQ(Dist({"k"}, "b", absl::Hours(1), T()), 2);
  EXPECT_EQ(Dist({"k"}, "c", absl::Hours(24), T()), 1);
  EXPECT_EQ(Dist({"k"}, "a", absl::Hours(24), T()), 2);
}

TEST_P(CounterStoreConformance, KeysAndMembersAreOpaqueBytes) {
  const absl::Duration w = absl::Hours(1);
  const std::string nul_b("a\0b", 3), nul_c("a\0c", 3);
  EXPECT_EQ(Ev(nul_b, w, T()), 1);
  EXPECT_EQ(Ev(nul_c, w, T()), 1);
  EXPECT_EQ(Ev(nul_b, w, T()), 2);
  EXPECT_EQ(Ev("", w, T()), 1);
  const std::string long_key(10'000, '\xff');
  EXPECT_EQ(Ev(long_key, w, T()), 1);
  EXPECT_EQ(Ev(long_key, w, T()), 2);
  EXPECT_EQ(Dist({"bytes"}, nul_b, w, T()), 1);
  EXPECT_EQ(Dist({"bytes"}, nul_c, w, T()), 2);
  EXPECT_EQ(Dist({"bytes"}, "", w, T()), 3);
  EXPECT_EQ(Dist({"bytes"}, "", w, T()), 3);
  EXPECT_EQ(Dist({"bytes"}, std::string(5000, 'm'), w, T()), 4);
}

TEST_P(CounterStoreConformance, DryRunCountsButDoesNotWrite) {
  const absl::Duration w = absl::Hours(1);
  EXPECT_EQ(Ev("dry", w, T(), /*record=*/false), 1);
  EXPECT_EQ(Ev("dry", w, T(), /*record=*/false), 1);
  EXPECT_EQ(Ev("dry", w, T(), /*record=*/true), 1);
  EXPECT_EQ(Ev("dry", w, T(), /*record=*/false), 2);
  EXPECT_EQ(Ev("dry", w, T(), /*record=*/true), 2);

  EXPECT_EQ(Dist({"ddry"}, "a", w, T(), /*record=*/false), 1);
  EXPECT_EQ(Dist({"ddry"}, "a", w, T(), /*record=*/true), 1);
  EXPECT_EQ(Dist({"ddry"}, "b", w, T(), /*record=*/false), 2);
  EXPECT_EQ(Dist({"ddry"}, "a", w, T(), /*record=*/false), 1);
  EXPECT_EQ(Dist({"ddry", "ddry2"}, "c", w, T(), /*record=*/false), 2);
  EXPECT_EQ(Dist({"ddry2"}, "d", w, T(), /*record=*/false), 1);
  EXPECT_EQ(Dist({"ddry"}, "b", w, T(), /*record=*/true), 2);
}

TEST_P(CounterStoreConformance, DistinctIsExactUpTo64ThenEstimated) {
  const absl::Duration w = absl::Hours(1);
  for (int i = 0; i < static_cast<int>(kExactMembers); ++i) {
    ASSERT_EQ(Dist({"big"}, absl::StrCat("member-", i), w, T(absl::Milliseconds(i))), i + 1);
  }
  // Seen again: still exact.
  EXPECT_EQ(Dist({"big"}, "member-0", w, T(absl::Seconds(1))), 64);
  ExpectEstimate(Dist({"big"}, "member-64", w, T(absl::Seconds(1))), 65);
  for (int i = 65; i < 1000; ++i) Dist({"big"}, absl::StrCat("member-", i), w, T(absl::Seconds(2)));
  ExpectEstimate(Dist({"big"}, "member-1000", w, T(absl::Seconds(3))), 1001);
  // Dry run over a big series.
  ExpectEstimate(Dist({"big"}, "member-5", w, T(absl::Seconds(3)), false), 1001);
}

TEST_P(CounterStoreConformance, UnionAbove64IsEstimated) {
  const absl::Duration w = absl::Hours(1);
  // Three keys of 40 members each, 20 shared between neighbours: 80 distinct in all.
  for (int k = 0; k < 3; ++k) {
    for (int m = 0; m < 40; ++m) {
      Dist({absl::StrCat("ub", k)}, absl::StrCat("m", k * 20 + m), w, T());
    }
  }
  ExpectEstimate(Dist({"ub0", "ub1", "ub2"}, "m0", w, T(absl::Seconds(1)), false), 80);
  ExpectEstimate(Dist({"ub0", "ub1", "ub2"}, "new", w, T(absl::Seconds(1)), false), 81);
  // One big key in the union.
  for (int m = 0; m < 500; ++m) Dist({"ubig"}, absl::StrCat("x", m), w, T());
  ExpectEstimate(Dist({"ubig", "ub0"}, "new", w, T(absl::Seconds(1)), false), 541);
}

TEST_P(CounterStoreConformance, ManyKeys) {
  // One call with many queries; no two touch the same series (the contract does not say whether
  // a query sees what an earlier query of the same call recorded).
  const absl::Duration w = absl::Minutes(10);
  constexpr int kKeys = 2000;
  auto batch_for = [](int round) {
    std::vector<CounterQuery> batch;
    for (int i = 0; i < kKeys; ++i) {
      batch.push_back(EventQuery(absl::StrCat("actor-", i), absl::Minutes(10)));
      batch.push_back(DistinctQuery({absl::StrCat("text-", i)}, absl::StrCat("actor-", i + round),
                               absl::Minutes(10)));
    }
    return batch;
  };
  std::vector<double> first = CountOn(*store_, T(), true, batch_for(0));
  ASSERT_EQ(first.size(), 2u * kKeys);
  for (int i = 0; i < 2 * kKeys; ++i) EXPECT_EQ(first[i], 1) << i;
  std::vector<double> second = CountOn(*store_, T(absl::Seconds(1)), true, batch_for(1));
  ASSERT_EQ(second.size(), 2u * kKeys);
  for (int i = 0; i < 2 * kKeys; ++i) EXPECT_EQ(second[i], 2) << i;
  std::vector<double> later = CountOn(*store_, T(w + absl::Seconds(1)), false, batch_for(2));
  ASSERT_EQ(later.size(), 2u * kKeys);
  for (int i = 0; i < 2 * kKeys; ++i) EXPECT_EQ(later[i], 1) << i;  // all left the window
}

TEST_P(CounterStoreConformance, BatchAnswersFollowQueryOrder) {
  std::vector<CounterQuery> qs = {
      EventQuery("b-rate", absl::Minutes(10)),
      DistinctQuery({"b-seen"}, "alice", absl::Hours(1)),
      EventQuery("b-rate2", absl::Hours(1)),
      DistinctQuery({"b-s1", "b-s2"}, "alice", absl::Hours(1)),
  };
  EXPECT_EQ(CountOn(*store_, T(), true, qs), (std::vector<double>{1, 1, 1, 1}));
  qs[1].member = "bob";
  qs[3].member = "bob";
  EXPECT_EQ(CountOn(*store_, T(absl::Seconds(1)), true, qs), (std::vector<double>{2, 2, 2, 2}));
  EXPECT_EQ(CountOn(*store_, T(absl::Seconds(2)), false, qs), (std::vector<double>{3, 2, 3, 2}));
}

TEST_P(CounterStoreConformance, DeterministicWithExplicitTimes) {
  // The same sequence on two fresh stores answers the same (and as expected for events).
  auto run = [this](CounterStore& store) {
    std::vector<double> answers;
    uint64_t x = 12345;
    absl::Time now = T();
    for (int i = 0; i < 400; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      now += absl::Seconds(static_cast<int64_t>((x >> 33) % 20));
      std::vector<CounterQuery> qs = {
          EventQuery(absl::StrCat("a", (x >> 40) % 5), absl::Minutes(5)),
          DistinctQuery({absl::StrCat("t", (x >> 45) % 3)}, absl::StrCat("m", (x >> 50) % 40),
                   absl::Minutes(30)),
      };
      for (double v : CountOn(store, now, (x >> 60) % 4 != 0, qs)) answers.push_back(v);
    }
    return answers;
  };
  std::vector<double> a = run(*store_);
  std::unique_ptr<CounterStore> other = NewStore();
  ASSERT_NE(other, nullptr);
  std::vector<double> b = run(*other);
  EXPECT_EQ(a, b);
}

TEST_P(CounterStoreConformance, StatsCountQueries) {
  std::vector<CounterQuery> qs = {EventQuery("s1", absl::Minutes(1)),
                                  DistinctQuery({"s2", "s3"}, "m", absl::Minutes(1))};
  CountOn(*store_, T(), true, qs);
  CountOn(*store_, T(), false, qs);
  CounterStoreStats s = store_->stats();
  EXPECT_EQ(s.queries, 4u);
  EXPECT_EQ(s.unknown, 0u);
  EXPECT_EQ(s.failures, 0u);
}

}  // namespace fedwall::counters::testing

#endif  // FEDWALL_ENGINE_COUNTERS_COUNTER_STORE_CONFORMANCE_H_
