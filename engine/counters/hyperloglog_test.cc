#include "engine/counters/hyperloglog.h"

#include <cmath>
#include <cstdint>

#include "gtest/gtest.h"

namespace fedwall::counters {
namespace {

// A well-mixed 64-bit hash of i (splitmix64's finaliser), with a seed for disjoint sets.
uint64_t Mix(uint64_t i, uint64_t seed = 0) {
  uint64_t z = i + seed * 0x9e3779b97f4a7c15ull + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

TEST(HyperLogLogTest, EmptyIsZero) {
  HyperLogLog h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.Estimate(), 0.0);
  EXPECT_EQ(h.num_registers(), 4096u);
  EXPECT_EQ(h.precision(), 12);
  EXPECT_NEAR(HyperLogLog::StandardError(), 0.01625, 0.0001);
}

TEST(HyperLogLogTest, SmallCountsAreNearlyExact) {
  HyperLogLog h;
  for (uint64_t i = 1; i <= 200; ++i) {
    h.Add(Mix(i));
    // Linear counting: with 4096 registers and n <= 200 members, the standard deviation is
    // about n / sqrt(2 * 4096) (register collisions), under 1.6%: 3 standard deviations or 2.
    EXPECT_NEAR(h.Estimate(), static_cast<double>(i), std::max(2.0, i * 0.035)) << i;
  }
}

TEST(HyperLogLogTest, DuplicatesDoNotCount) {
  HyperLogLog h;
  for (int round = 0; round < 10; ++round) {
    for (uint64_t i = 0; i < 500; ++i) h.Add(Mix(i));
  }
  EXPECT_NEAR(h.Estimate(), 500, 500 * 3 * HyperLogLog::StandardError());
}

// Within three standard errors at 1e3, 1e4, 1e5 (and 1e6), over several independent sets.
TEST(HyperLogLogTest, EstimatesWithinThreeStandardErrors) {
  const double se = HyperLogLog::StandardError();
  for (uint64_t n : {1'000ull, 10'000ull, 100'000ull, 1'000'000ull}) {
    double sum_error = 0;
    constexpr int kSets = 5;
    for (uint64_t seed = 1; seed <= kSets; ++seed) {
      HyperLogLog h;
      for (uint64_t i = 0; i < n; ++i) h.Add(Mix(i, seed));
      const double e = h.Estimate();
      EXPECT_NEAR(e, static_cast<double>(n), 3 * se * n) << "n=" << n << " seed=" << seed;
      sum_error += (e - n) / n;
    }
    // No visible bias: the mean of the relative errors is well inside one standard error.
    EXPECT_LT(std::abs(sum_error / kSets), se) << "n=" << n;
  }
}

// The middle range, where classic HyperLogLog switches estimators, has no bias step.
TEST(HyperLogLogTest, NoBiasAcrossTheMiddleRange) {
  const double se = HyperLogLog::StandardError();
  for (uint64_t n = 2'000; n <= 40'000; n += 2'000) {
    HyperLogLog h;
    for (uint64_t i = 0; i < n; ++i) h.Add(Mix(i, n));
    EXPECT_NEAR(h.Estimate(), static_cast<double>(n), 3 * se * n) << n;
  }
}

TEST(HyperLogLogTest, MergeIsUnion) {
  HyperLogLog a, b, both;
  for (uint64_t i = 0; i < 30'000; ++i) {
    a.Add(Mix(i));
    both.Add(Mix(i));
  }
  for (uint64_t i = 20'000; i < 50'000; ++i) {
    b.Add(Mix(i));
    both.Add(Mix(i));
  }
  ASSERT_TRUE(a.Merge(b).ok());
  // Register-wise max: exactly the sketch of the union.
  EXPECT_TRUE(std::equal(a.registers().begin(), a.registers().end(), both.registers().begin(),
                         both.registers().end()));
  EXPECT_EQ(a.Estimate(), both.Estimate());
  EXPECT_NEAR(a.Estimate(), 50'000, 50'000 * 3 * HyperLogLog::StandardError());
  // Merging is idempotent.
  ASSERT_TRUE(a.Merge(b).ok());
  EXPECT_EQ(a.Estimate(), both.Estimate());
}

TEST(HyperLogLogTest, MergeRefusesOtherPrecision) {
  HyperLogLog a(12), b(10);
  b.Add(Mix(1));
  absl::Status s = a.Merge(b);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(a.empty());
}

TEST(HyperLogLogTest, PrecisionIsClamped) {
  EXPECT_EQ(HyperLogLog(0).precision(), HyperLogLog::kMinPrecision);
  EXPECT_EQ(HyperLogLog(-5).precision(), HyperLogLog::kMinPrecision);
  EXPECT_EQ(HyperLogLog(64).precision(), HyperLogLog::kMaxPrecision);
  EXPECT_EQ(HyperLogLog(14).num_registers(), 16384u);
}

TEST(HyperLogLogTest, ExtremeHashes) {
  for (int p : {4, 12, 18}) {
    HyperLogLog h(p);
    h.Add(0);             // all-zero: the largest rank, 65 - p
    h.Add(~uint64_t{0});  // all-one: rank 1
    h.Add(uint64_t{1});   // index 0, long run of zeros
    EXPECT_EQ(h.Rank(0), 65 - p);
    EXPECT_EQ(h.Rank(~uint64_t{0}), 1);
    const double e = h.Estimate();
    EXPECT_TRUE(std::isfinite(e));
    EXPECT_GT(e, 0);
  }
  // Every register saturated: finite, huge.
  HyperLogLog h(4);
  for (uint64_t i = 0; i < 16; ++i) h.Add(i << 60);
  EXPECT_TRUE(std::isfinite(h.Estimate()));
}

TEST(HyperLogLogTest, EstimateWithIsEstimateAfterAdd) {
  HyperLogLog h;
  for (uint64_t i = 0; i < 20'000; ++i) {
    const double with = h.EstimateWith(Mix(i));
    const double before = h.Estimate();
    h.Add(Mix(i));
    ASSERT_EQ(with, h.Estimate()) << i;
    ASSERT_GE(with, before) << i;
  }
  // After Merge too (the histogram is rebuilt).
  HyperLogLog other;
  for (uint64_t i = 0; i < 5'000; ++i) other.Add(Mix(i, 9));
  ASSERT_TRUE(h.Merge(other).ok());
  HyperLogLog fresh;
  for (uint64_t i = 0; i < 20'000; ++i) fresh.Add(Mix(i));
  for (uint64_t i = 0; i < 5'000; ++i) fresh.Add(Mix(i, 9));
  EXPECT_EQ(h.Estimate(), fresh.Estimate());
  EXPECT_EQ(h.EstimateWith(Mix(77, 3)), [&] {
    fresh.Add(Mix(77, 3));
    return fresh.Estimate();
  }());
}

TEST(HyperLogLogTest, ClearForgets) {
  HyperLogLog h;
  for (uint64_t i = 0; i < 100; ++i) h.Add(Mix(i));
  h.Clear();
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.Estimate(), 0.0);
}

}  // namespace
}  // namespace fedwall::counters
