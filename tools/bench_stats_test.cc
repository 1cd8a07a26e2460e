#include "tools/bench_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace fedwall::tools {
namespace {

using H = LatencyHistogram;

// The exact value at quantile q of sorted values (the same rank rule as Percentile).
uint64_t Exact(const std::vector<uint64_t>& sorted, double q) {
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void ExpectNear(uint64_t got, uint64_t want, double relative) {
  const double tolerance = std::max(1.0, relative * static_cast<double>(want));
  EXPECT_NEAR(static_cast<double>(got), static_cast<double>(want), tolerance)
      << "got " << got << ", want " << want;
}

TEST(LatencyHistogramTest, BucketsTileTheRangeWithoutGaps) {
  EXPECT_EQ(H::BucketLow(0), 0u);
  for (size_t i = 0; i + 1 < H::kBuckets; ++i) {
    ASSERT_EQ(H::BucketLow(i) + H::BucketWidth(i), H::BucketLow(i + 1)) << "bucket " << i;
  }
  const size_t last = H::kBuckets - 1;
  EXPECT_EQ(H::BucketLow(last) + H::BucketWidth(last) - 1, H::kMaxTrackedNanos);
}

TEST(LatencyHistogramTest, EveryValueFallsInItsBucketAndBucketsAreNarrow) {
  std::vector<uint64_t> values;
  for (uint64_t v = 0; v < 5000; ++v) values.push_back(v);
  for (int bit = 8; bit < H::kMaxValueBits; ++bit) {
    const uint64_t p = uint64_t{1} << bit;
    for (uint64_t v : {p - 1, p, p + 1, p + p / 3, p + p / 2 + 7}) values.push_back(v);
  }
  values.push_back(H::kMaxTrackedNanos);
  for (uint64_t v : values) {
    const size_t b = H::BucketOf(v);
    ASSERT_LT(b, H::kBuckets);
    EXPECT_LE(H::BucketLow(b), v);
    EXPECT_LT(v - H::BucketLow(b), H::BucketWidth(b)) << v;
    if (v >= H::kSubBuckets) {
      // At most 1/128 of the value wide.
      EXPECT_LE(H::BucketWidth(b) * H::kSubBuckets, v) << v;
    } else {
      EXPECT_EQ(H::BucketWidth(b), 1u);
    }
  }
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZeros) {
  H h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  EXPECT_EQ(h.Percentile(1.0), 0u);
}

TEST(LatencyHistogramTest, OneValueIsEveryPercentile) {
  H h;
  h.Record(1'234'567);
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) EXPECT_EQ(h.Percentile(q), 1'234'567u) << q;
  EXPECT_EQ(h.mean(), 1'234'567.0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  H h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.5), 50u);
  EXPECT_EQ(h.Percentile(0.9), 90u);
  EXPECT_EQ(h.Percentile(0.99), 99u);
  EXPECT_EQ(h.Percentile(0.01), 1u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
}

TEST(LatencyHistogramTest, UniformDistributionWithinHalfAPercent) {
  H h;
  std::vector<uint64_t> all;
  for (uint64_t v = 1000; v <= 10'000'000; v += 997) {  // 1 µs .. 10 ms
    h.Record(v);
    all.push_back(v);
  }
  for (double q : {0.5, 0.9, 0.99, 0.999}) ExpectNear(h.Percentile(q), Exact(all, q), 0.005);
  EXPECT_EQ(h.max(), all.back());
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_NEAR(h.mean(), (1000.0 + static_cast<double>(all.back())) / 2, 1.0);
}

TEST(LatencyHistogramTest, LongTailedDistributionWithinHalfAPercent) {
  // Log-normal latencies around 500 µs with a heavy tail, as a loaded server shows.
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(500'000.0), 0.8);
  H h;
  std::vector<uint64_t> all;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    h.Record(v);
    all.push_back(v);
  }
  std::sort(all.begin(), all.end());
  for (double q : {0.5, 0.9, 0.99, 0.999, 0.9999}) {
    ExpectNear(h.Percentile(q), Exact(all, q), 0.005);
  }
  EXPECT_EQ(h.Percentile(1.0), all.back());
  EXPECT_EQ(h.count(), all.size());
}

TEST(LatencyHistogramTest, BimodalTailShowsOnlyPastItsShare) {
  H h;
  for (int i = 0; i < 990; ++i) h.Record(1'000'000);   // 1 ms
  for (int i = 0; i < 10; ++i) h.Record(100'000'000);  // 100 ms
  ExpectNear(h.Percentile(0.5), 1'000'000, 0.005);
  ExpectNear(h.Percentile(0.99), 1'000'000, 0.005);  // rank 990 is still 1 ms
  ExpectNear(h.Percentile(0.999), 100'000'000, 0.005);
  EXPECT_EQ(h.max(), 100'000'000u);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  H a, b, all;
  for (uint64_t v = 1; v < 100'000; v += 13) {
    ((v % 3 == 0) ? a : b).Record(v * 7);
    all.Record(v * 7);
  }
  H merged;
  merged.Merge(a);
  merged.Merge(b);
  merged.Merge(H());  // merging an empty one changes nothing
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_DOUBLE_EQ(merged.mean(), all.mean());
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999}) EXPECT_EQ(merged.Percentile(q), all.Percentile(q));
}

TEST(LatencyHistogramTest, ValuesPastTheRangeAreClampedButMaxStaysExact) {
  H h;
  h.Record(std::numeric_limits<uint64_t>::max());
  h.Record(H::kMaxTrackedNanos + 12345);
  h.Record(1000);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.max(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(h.Percentile(1.0), std::numeric_limits<uint64_t>::max());
  EXPECT_GE(h.Percentile(0.9), H::BucketLow(H::kBuckets - 1));
  ExpectNear(h.Percentile(0.1), 1000, 0.005);
}

TEST(LatencyHistogramTest, QuantilesOutsideZeroOneAreClamped) {
  H h;
  for (uint64_t v = 10; v <= 1000; v += 10) h.Record(v);
  EXPECT_EQ(h.Percentile(-1), 10u);
  EXPECT_EQ(h.Percentile(std::nan("")), 10u);
  EXPECT_EQ(h.Percentile(2), 1000u);
}

TEST(LatencyHistogramTest, ClearForgetsEverything) {
  H h;
  h.Record(5);
  h.Clear();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  h.Record(7);
  EXPECT_EQ(h.min(), 7u);
}

TEST(BenchCountsTest, MergeAddsCountsAndKeepsTheFirstError) {
  BenchCounts a, b;
  a.requests = 10;
  a.activities = 9;
  a.verdicts = {7, 1, 1};
  a.latency.Record(100);
  b.requests = 5;
  b.Fail(14, "unavailable");
  b.Fail(4, "deadline");
  b.item_errors = 2;
  EXPECT_EQ(b.errors, 2u);
  EXPECT_EQ(b.first_error_code, 14);

  BenchCounts total;
  total.Merge(a);
  total.Merge(b);
  EXPECT_EQ(total.requests, 15u);
  EXPECT_EQ(total.activities, 9u);
  EXPECT_EQ(total.errors, 2u);
  EXPECT_EQ(total.item_errors, 2u);
  EXPECT_EQ(total.verdicts[0], 7u);
  EXPECT_EQ(total.latency.count(), 1u);
  EXPECT_EQ(total.first_error_code, 14);
  EXPECT_EQ(total.first_error_message, "unavailable");

  BenchCounts c;
  c.Fail(2, "later");
  total.Merge(c);
  EXPECT_EQ(total.first_error_message, "unavailable");
}

TEST(FormatNanosTest, PicksAReadableUnit) {
  EXPECT_EQ(FormatNanos(0), "0 ns");
  EXPECT_EQ(FormatNanos(999), "999 ns");
  EXPECT_EQ(FormatNanos(1234), "1.23 \u00b5s");
  EXPECT_EQ(FormatNanos(12'345), "12.3 \u00b5s");
  EXPECT_EQ(FormatNanos(850'000), "850 \u00b5s");
  EXPECT_EQ(FormatNanos(999'700), "1.00 ms");
  EXPECT_EQ(FormatNanos(1'530'000), "1.53 ms");
  EXPECT_EQ(FormatNanos(45'600'000), "45.6 ms");
  EXPECT_EQ(FormatNanos(2'410'000'000), "2.41 s");
}

}  // namespace
}  // namespace fedwall::tools
