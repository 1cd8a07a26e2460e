#include "tools/bench_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "absl/strings/str_format.h"

namespace fedwall::tools {

size_t LatencyHistogram::BucketOf(uint64_t nanos) {
  nanos = std::min(nanos, kMaxTrackedNanos);
  if (nanos < kSubBuckets) return static_cast<size_t>(nanos);
  const int shift = std::bit_width(nanos) - 1 - kSubBucketBits;  // >= 0
  const uint64_t sub = (nanos >> shift) - kSubBuckets;           // [0, 128)
  return static_cast<size_t>((static_cast<uint64_t>(shift) + 1) * kSubBuckets + sub);
}

uint64_t LatencyHistogram::BucketLow(size_t bucket) {
  const size_t group = bucket / kSubBuckets;
  const uint64_t sub = bucket % kSubBuckets;
  if (group == 0) return sub;
  return (kSubBuckets + sub) << (group - 1);
}

uint64_t LatencyHistogram::BucketWidth(size_t bucket) {
  const size_t group = bucket / kSubBuckets;
  return group == 0 ? 1 : uint64_t{1} << (group - 1);
}

void LatencyHistogram::Record(uint64_t nanos) {
  ++counts_[BucketOf(nanos)];
  if (count_ == 0 || nanos < min_) min_ = nanos;
  if (nanos > max_) max_ = nanos;
  ++count_;
  sum_ += static_cast<long double>(nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void LatencyHistogram::Clear() { *this = LatencyHistogram(); }

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  if (!(q > 0)) return min_;  // also NaN
  if (q >= 1) return max_;
  // The rank of the wanted value, from 1: the smallest r with r >= q * count.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t mid = BucketLow(i) + BucketWidth(i) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

void BenchCounts::Fail(int code, const std::string& message) {
  if (errors == 0) {
    first_error_code = code;
    first_error_message = message;
  }
  ++errors;
}

void BenchCounts::Merge(const BenchCounts& other) {
  if (errors == 0 && other.errors > 0) {
    first_error_code = other.first_error_code;
    first_error_message = other.first_error_message;
  }
  requests += other.requests;
  activities += other.activities;
  errors += other.errors;
  item_errors += other.item_errors;
  for (size_t i = 0; i < verdicts.size(); ++i) verdicts[i] += other.verdicts[i];
  latency.Merge(other.latency);
}

std::string FormatNanos(uint64_t nanos) {
  const double n = static_cast<double>(nanos);
  if (nanos < 1000) return absl::StrFormat("%d ns", nanos);
  // Thresholds at the rounding points, so 999.7 µs reads "1.00 ms", not "1000 µs".
  if (nanos < 9'995) return absl::StrFormat("%.2f \u00b5s", n / 1e3);
  if (nanos < 99'950) return absl::StrFormat("%.1f \u00b5s", n / 1e3);
  if (nanos < 999'500) return absl::StrFormat("%.0f \u00b5s", n / 1e3);
  if (nanos < 9'995'000) return absl::StrFormat("%.2f ms", n / 1e6);
  if (nanos < 99'950'000) return absl::StrFormat("%.1f ms", n / 1e6);
  if (nanos < 999'500'000) return absl::StrFormat("%.0f ms", n / 1e6);
  return absl::StrFormat("%.2f s", n / 1e9);
}

}  // namespace fedwall::tools
