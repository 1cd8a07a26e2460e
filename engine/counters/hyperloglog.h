// HyperLogLog: a fixed-size sketch that estimates how many distinct 64-bit hashes were added.
// The memory counter store uses it for distinct counts above kExactMembers (text.seen of a
// text sent by thousands of actors) so that a series stays bounded in memory.
//
// Precision p (4..18, default 12) gives m = 2^p one-byte registers (4096 bytes at p = 12) and a
// relative standard error of about 1.04 / sqrt(m) (1.6% at p = 12; StandardError()). A hash
// selects a register by its top p bits; the register keeps the largest rank (1 + leading
// zeros) of the remaining 64 - p bits. Estimate() uses Ertl's improved estimator ("New
// cardinality estimation algorithms for HyperLogLog sketches", 2017), whose small-range term is
// linear counting: while most registers are still empty it answers m * ln(m / empty), close to
// exact for small counts (65 members -> 65 +- 2), and it needs no bias tables and no
// switch-over point in the middle range. With 64-bit hashes there is no large-range limit to
// correct.
//
// Hashes must be well mixed in all 64 bits (absl::Hash output or similar); Add() does not
// re-hash. Merge() of two sketches of the same precision gives the sketch of the union.
//
// Thread safety: none, not even for concurrent const calls (Estimate may rebuild a cached
// histogram); a HyperLogLog is a value (copyable, movable), guard it externally.
//
// Example:
//   fedwall::counters::HyperLogLog hll;          // p = 12
//   for (uint64_t h : member_hashes) hll.Add(h);
//   HyperLogLog other; other.Add(h2);
//   if (absl::Status s = hll.Merge(other); !s.ok()) return s;
//   double n = hll.Estimate();                   // about |members ∪ {h2}|, +-1.6%
#ifndef FEDWALL_ENGINE_COUNTERS_HYPERLOGLOG_H_
#define FEDWALL_ENGINE_COUNTERS_HYPERLOGLOG_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace fedwall::counters {

class HyperLogLog {
 public:
  static constexpr int kMinPrecision = 4;
  static constexpr int kMaxPrecision = 18;
  static constexpr int kDefaultPrecision = 12;

  // A precision outside [kMinPrecision, kMaxPrecision] is clamped into it.
  explicit HyperLogLog(int precision = kDefaultPrecision);

  // Adds one (hashed) member.
  void Add(uint64_t hash) {
    const uint32_t index = static_cast<uint32_t>(hash >> (64 - precision_));
    const uint8_t rank = Rank(hash);
    if (registers_[index] < rank) {
      if (!histogram_stale_) {
        --histogram_[registers_[index]];
        ++histogram_[rank];
      }
      registers_[index] = rank;
    }
  }

  // This sketch becomes the sketch of the union. InvalidArgument (and nothing changes) when the
  // precisions differ.
  absl::Status Merge(const HyperLogLog& other);

  // The estimated number of distinct hashes added (0 for an empty sketch). Cheap: computed
  // from a histogram of the register values that Add keeps up to date (about 70 steps); the
  // first Estimate after a Merge rebuilds the histogram (one pass over the registers).
  double Estimate() const;

  // Estimate() as if `hash` had been added, without adding it.
  double EstimateWith(uint64_t hash) const;

  // Forgets everything.
  void Clear();

  bool empty() const {
    RefreshHistogram();
    return histogram_[0] == registers_.size();
  }
  int precision() const { return precision_; }
  size_t num_registers() const { return registers_.size(); }
  std::span<const uint8_t> registers() const { return registers_; }

  // Approximate heap and object bytes, for memory accounting.
  size_t MemoryBytes() const { return sizeof(*this) + registers_.capacity(); }

  // The relative standard error of Estimate() at `precision`: 1.04 / sqrt(2^precision).
  static double StandardError(int precision = kDefaultPrecision);

  // The register value Add() stores for `hash` (1 .. 65 - precision).
  uint8_t Rank(uint64_t hash) const {
    // Shift out the index bits; a guard bit below them bounds the rank at 65 - p.
    const uint64_t rest = (hash << precision_) | (uint64_t{1} << (precision_ - 1));
    return static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  }

 private:
  // Registers hold 0 .. 65 - precision.
  using Histogram = std::array<uint32_t, 66>;
  static double EstimateFrom(const Histogram& histogram, int precision);

  int precision_;
  std::vector<uint8_t> registers_;
  void RefreshHistogram() const;

  // How many registers hold each value; rebuilt lazily after Merge (mutable for that).
  mutable Histogram histogram_{};
  mutable bool histogram_stale_ = false;
};

}  // namespace fedwall::counters

#endif  // FEDWALL_ENGINE_COUNTERS_HYPERLOGLOG_H_
