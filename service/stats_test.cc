#include "service/stats.h"

#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace fedwall::service {
namespace {

TEST(LatencyHistogramTest, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.Quantile(0.5), absl::ZeroDuration());
  EXPECT_EQ(h.count(), 0u);
}

TEST(LatencyHistogramTest, QuantilesWithinBucketResolution) {
  LatencyHistogram h;
  // 1..1000 µs, uniformly.
  for (int i = 1; i <= 1000; ++i) h.Record(absl::Microseconds(i));
  EXPECT_EQ(h.count(), 1000u);
  auto near = [](absl::Duration got, absl::Duration want) {
    double ratio = absl::FDivDuration(got, want);
    return ratio >= 0.99 && ratio <= 1.07;  // upper bound of a 1/16-wide bucket
  };
  EXPECT_TRUE(near(h.Quantile(0.5), absl::Microseconds(500))) << h.Quantile(0.5);
  EXPECT_TRUE(near(h.Quantile(0.9), absl::Microseconds(900))) << h.Quantile(0.9);
  EXPECT_TRUE(near(h.Quantile(0.99), absl::Microseconds(990))) << h.Quantile(0.99);
  EXPECT_TRUE(near(h.Quantile(1.0), absl::Microseconds(1000))) << h.Quantile(1.0);
}

TEST(LatencyHistogramTest, ExtremesStayInRange) {
  LatencyHistogram h;
  h.Record(absl::ZeroDuration());
  h.Record(absl::Nanoseconds(-5));
  h.Record(absl::Hours(1000));  // past the last bucket: counted there
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.Quantile(0.5), absl::ZeroDuration());
  EXPECT_GT(h.Quantile(1.0), absl::Minutes(10));
}

TEST(StatsTest, CountsVerdictsRulesAndReloads) {
  Stats stats;
  std::string_view spam[] = {"spam-link", "threshold:flag"};
  stats.RecordDecision(StatVerdict::kFlag, spam, absl::Microseconds(10));
  stats.RecordDecision(StatVerdict::kAccept, {}, absl::Microseconds(5));
  stats.RecordDecision(StatVerdict::kError, {}, absl::Microseconds(1));
  stats.RecordReload(true);
  stats.RecordReload(false);
  StatsSnapshot s = stats.Snapshot();
  EXPECT_EQ(s.verdicts.at("FLAG"), 1u);
  EXPECT_EQ(s.verdicts.at("ACCEPT"), 1u);
  EXPECT_EQ(s.verdicts.at("REJECT"), 0u);
  EXPECT_EQ(s.verdicts.at("ERROR"), 1u);
  EXPECT_EQ(s.rules.at("spam-link"), 1u);
  EXPECT_EQ(s.rules.at("threshold:flag"), 1u);
  EXPECT_EQ(s.reloads, 1u);
  EXPECT_EQ(s.reload_failures, 1u);
  EXPECT_GT(s.latency_p99, absl::ZeroDuration());
}

TEST(StatsTest, ThreadsAddUp) {
  Stats stats;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&stats] {
      std::string_view rule[] = {"r"};
      for (int i = 0; i < 10000; ++i) stats.RecordDecision(StatVerdict::kReject, rule, absl::Microseconds(3));
    });
  }
  for (auto& t : threads) t.join();
  StatsSnapshot s = stats.Snapshot();
  EXPECT_EQ(s.verdicts.at("REJECT"), 40000u);
  EXPECT_EQ(s.rules.at("r"), 40000u);
}

}  // namespace
}  // namespace fedwall::service
