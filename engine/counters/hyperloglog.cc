// HyperLogLog: see hyperloglog.h.
#include "engine/counters/hyperloglog.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace fedwall::counters {
namespace {

// Ertl's sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), for the share x of empty registers.
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  for (;;) {
    x *= x;
    const double previous = z;
    z += x * y;
    y += y;
    if (z == previous) return z;
  }
}

// Ertl's tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, for the share x of saturated
// registers.
double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  for (;;) {
    x = std::sqrt(x);
    const double previous = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
    if (z == previous) return z / 3.0;
  }
}

}  // namespace

HyperLogLog::HyperLogLog(int precision)
    : precision_(std::clamp(precision, kMinPrecision, kMaxPrecision)),
      registers_(size_t{1} << precision_, 0) {
  histogram_[0] = static_cast<uint32_t>(registers_.size());
}

absl::Status HyperLogLog::Merge(const HyperLogLog& other) {
  if (other.precision_ != precision_) {
    return absl::InvalidArgumentError(
        absl::StrCat("HyperLogLog::Merge: precision ", other.precision_, " into ", precision_));
  }
  // A plain loop the compiler vectorises; the histogram follows on the next Estimate.
  // (The size is hoisted: stores through uint8_t* may alias anything, the vector's size too.)
  uint8_t* r = registers_.data();
  const uint8_t* o = other.registers_.data();
  const size_t n = registers_.size();
  for (size_t i = 0; i < n; ++i) r[i] = r[i] < o[i] ? o[i] : r[i];
  histogram_stale_ = true;
  return absl::OkStatus();
}

void HyperLogLog::RefreshHistogram() const {
  if (!histogram_stale_) return;
  // Four partial histograms break the store-to-load dependency between equal neighbours.
  uint32_t partial[4][66] = {};
  const uint8_t* r = registers_.data();
  const size_t n = registers_.size();  // a power of two >= 16
  for (size_t i = 0; i < n; i += 4) {
    ++partial[0][r[i]];
    ++partial[1][r[i + 1]];
    ++partial[2][r[i + 2]];
    ++partial[3][r[i + 3]];
  }
  for (size_t v = 0; v < histogram_.size(); ++v) {
    histogram_[v] = partial[0][v] + partial[1][v] + partial[2][v] + partial[3][v];
  }
  histogram_stale_ = false;
}

double HyperLogLog::Estimate() const {
  RefreshHistogram();
  return EstimateFrom(histogram_, precision_);
}

double HyperLogLog::EstimateWith(uint64_t hash) const {
  const uint32_t index = static_cast<uint32_t>(hash >> (64 - precision_));
  const uint8_t rank = Rank(hash);
  if (registers_[index] >= rank) return Estimate();
  RefreshHistogram();
  Histogram h = histogram_;
  --h[registers_[index]];
  ++h[rank];
  return EstimateFrom(h, precision_);
}

double HyperLogLog::EstimateFrom(const Histogram& histogram, int precision) {
  // Register values run 0 .. q + 1 with q = 64 - p.
  const int q = 64 - precision;
  const double m = static_cast<double>(uint64_t{1} << precision);
  if (histogram[0] == (uint32_t{1} << precision)) return 0.0;

  double z = m * Tau(1.0 - histogram[q + 1] / m);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + histogram[k]);
  z += m * Sigma(histogram[0] / m);
  // Only when every register is saturated (about 2^(64-p) * m members): answer that bound.
  if (!(z > 0.0)) return std::ldexp(m, q + 1);
  const double alpha_inf = 1.0 / (2.0 * std::log(2.0));
  return alpha_inf * m * m / z;
}

void HyperLogLog::Clear() {
  std::fill(registers_.begin(), registers_.end(), 0);
  histogram_.fill(0);
  histogram_[0] = static_cast<uint32_t>(registers_.size());
  histogram_stale_ = false;
}

double HyperLogLog::StandardError(int precision) {
  precision = std::clamp(precision, kMinPrecision, kMaxPrecision);
  return 1.04 / std::sqrt(static_cast<double>(uint64_t{1} << precision));
}

}  // namespace fedwall::counters
