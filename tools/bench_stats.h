// The arithmetic of `fedwall bench`: a latency histogram with bounded memory whatever the run's
// length, and the counts one load worker keeps, merged at the end of a run.
//
// LatencyHistogram is log-linear (the HdrHistogram layout): values below 128 ns have a bucket
// each; above, every power of two is split into 128 equal buckets, so a bucket is at most
// 1/128 of its lower bound wide and a percentile read back is within 0.4% of the true value
// (it reports the bucket's midpoint, clamped to the smallest and largest value recorded).
// Values past kMaxTrackedNanos (about 4.9 hours) land in the last bucket; max() stays exact.
// It takes 4864 counters (38 KiB), so one per worker is cheap.
//
// Example:
//   LatencyHistogram h;
//   h.Record(850'000);                   // 850 µs, in nanoseconds
//   h.Record(1'200'000);
//   uint64_t p99 = h.Percentile(0.99);   // ~1.2 ms
//   total.Merge(h);
//
// Not thread-safe: one histogram (and one BenchCounts) per worker, merged once the workers
// have stopped.
#ifndef FEDWALL_TOOLS_BENCH_STATS_H_
#define FEDWALL_TOOLS_BENCH_STATS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace fedwall::tools {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;  // 128 buckets per octave
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  static constexpr int kMaxValueBits = 44;  // 2^44 ns = 4.9 hours
  static constexpr uint64_t kMaxTrackedNanos = (uint64_t{1} << kMaxValueBits) - 1;
  // Group 0 holds 0..127 exactly; group g >= 1 holds [128 << (g-1), 256 << (g-1)).
  static constexpr size_t kGroups = kMaxValueBits - kSubBucketBits + 1;
  static constexpr size_t kBuckets = kGroups * kSubBuckets;

  LatencyHistogram() { counts_.fill(0); }

  void Record(uint64_t nanos);
  void Merge(const LatencyHistogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }  // 0 when empty
  uint64_t max() const { return max_; }                    // 0 when empty
  double mean() const;                                     // 0 when empty

  // The value at quantile `q` (0.5 = median, 0.999 = p99.9), clamped to [0, 1]: the smallest
  // recorded value v such that at least q of the values are <= v, up to the bucket width.
  // Percentile(1) is max(); an empty histogram gives 0.
  uint64_t Percentile(double q) const;

  // Bucket arithmetic, public for the tests.
  static size_t BucketOf(uint64_t nanos);
  static uint64_t BucketLow(size_t bucket);    // smallest value in the bucket
  static uint64_t BucketWidth(size_t bucket);  // number of values in it

 private:
  std::array<uint64_t, kBuckets> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
  long double sum_ = 0;  // for the mean; exact enough for any run
};

// What one load worker saw; merged into the run's total.
struct BenchCounts {
  uint64_t requests = 0;     // calls made (unary, batch) or messages sent (stream), counted
  uint64_t activities = 0;   // decisions received (responses with a verdict)
  uint64_t errors = 0;       // calls (unary, batch) or streams that ended with a non-OK status
  uint64_t item_errors = 0;  // responses carrying an error (and stream responses not matched)
  std::array<uint64_t, 3> verdicts = {0, 0, 0};  // ACCEPT, FLAG, REJECT
  LatencyHistogram latency;                      // per call (unary, batch) or message (stream)
  // The first failed call's gRPC status, for the report when every call failed.
  int first_error_code = 0;
  std::string first_error_message;

  // Records a failed call (keeps the first status).
  void Fail(int code, const std::string& message);
  void Merge(const BenchCounts& other);
};

// A latency for people: "850 µs", "12.3 µs", "1.53 ms", "2.41 s".
std::string FormatNanos(uint64_t nanos);

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_BENCH_STATS_H_
