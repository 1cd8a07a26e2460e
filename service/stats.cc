#include "service/stats.h"

#include <bit>
#include <functional>
#include <thread>

#include "absl/time/clock.h"

namespace fedwall::service {

int LatencyHistogram::BucketOf(uint64_t nanos) {
  // Values below 2^kSubBits get a bucket each; above, the top kSubBits bits after the leading
  // one pick the sub-bucket of the power of two.
  if (nanos < (1u << kSubBits)) return static_cast<int>(nanos);
  int exponent = std::bit_width(nanos) - 1;  // >= kSubBits
  int sub = static_cast<int>((nanos >> (exponent - kSubBits)) & ((1u << kSubBits) - 1));
  int bucket = ((exponent - kSubBits + 1) << kSubBits) + sub;
  return bucket < kBuckets ? bucket : kBuckets - 1;
}

uint64_t LatencyHistogram::UpperBoundOf(int bucket) {
  if (bucket < (1 << kSubBits)) return static_cast<uint64_t>(bucket);
  int exponent = (bucket >> kSubBits) + kSubBits - 1;
  uint64_t sub = static_cast<uint64_t>(bucket & ((1 << kSubBits) - 1));
  uint64_t lower = (uint64_t{1} << exponent) + (sub << (exponent - kSubBits));
  return lower + (uint64_t{1} << (exponent - kSubBits)) - 1;
}

void LatencyHistogram::Record(absl::Duration d) {
  int64_t nanos = absl::ToInt64Nanoseconds(d);
  if (nanos < 0) nanos = 0;
  buckets_[BucketOf(static_cast<uint64_t>(nanos))].fetch_add(1, std::memory_order_relaxed);
}

uint64_t LatencyHistogram::count() const {
  uint64_t n = 0;
  for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
  return n;
}

absl::Duration LatencyHistogram::Quantile(double q) const {
  std::array<uint64_t, kBuckets> counts;
  uint64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) {
    counts[i] = buckets_[i].load(std::memory_order_relaxed);
    total += counts[i];
  }
  if (total == 0) return absl::ZeroDuration();
  if (q <= 0) q = 1e-9;
  if (q > 1) q = 1;
  // The smallest bucket whose cumulative count reaches ceil(q * total).
  uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total));
  if (static_cast<double>(rank) < q * static_cast<double>(total)) ++rank;
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts[i];
    if (seen >= rank) return absl::Nanoseconds(static_cast<int64_t>(UpperBoundOf(i)));
  }
  return absl::Nanoseconds(static_cast<int64_t>(UpperBoundOf(kBuckets - 1)));
}

Stats::Stats() : started_at_(absl::Now()) {}

void Stats::RecordDecision(StatVerdict verdict, std::span<const std::string_view> rule_ids,
                           absl::Duration latency) {
  verdicts_[static_cast<size_t>(verdict)].fetch_add(1, std::memory_order_relaxed);
  latency_.Record(latency);
  if (rule_ids.empty()) return;
  size_t shard = std::hash<std::thread::id>{}(std::this_thread::get_id()) % kShards;
  RuleShard& s = rule_shards_[shard];
  absl::MutexLock lock(&s.mu);
  for (std::string_view id : rule_ids) {
    auto it = s.counts.find(absl::string_view(id.data(), id.size()));
    if (it == s.counts.end()) it = s.counts.emplace(std::string(id), 0).first;
    ++it->second;
  }
}

void Stats::RecordReload(bool ok) {
  (ok ? reloads_ : reload_failures_).fetch_add(1, std::memory_order_relaxed);
}

StatsSnapshot Stats::Snapshot() const {
  StatsSnapshot s;
  static constexpr const char* kNames[] = {"ACCEPT", "FLAG", "REJECT", "ERROR"};
  for (size_t i = 0; i < 4; ++i) s.verdicts[kNames[i]] = verdicts_[i].load(std::memory_order_relaxed);
  for (const RuleShard& shard : rule_shards_) {
    absl::MutexLock lock(&shard.mu);
    for (const auto& [id, n] : shard.counts) s.rules[id] += n;
  }
  s.latency_p50 = latency_.Quantile(0.50);
  s.latency_p90 = latency_.Quantile(0.90);
  s.latency_p99 = latency_.Quantile(0.99);
  s.reloads = reloads_.load(std::memory_order_relaxed);
  s.reload_failures = reload_failures_.load(std::memory_order_relaxed);
  s.started_at = started_at_;
  if (gateway_ != nullptr) {
    const gateway::GatewayCounters& g = *gateway_;
    for (const auto& [name, counter] :
         {std::pair{"requests", &g.requests}, std::pair{"forwarded", &g.forwarded},
          std::pair{"rejected", &g.rejected}, std::pair{"flagged", &g.flagged},
          std::pair{"held", &g.held}, std::pair{"failed_open", &g.failed_open},
          std::pair{"failed_closed", &g.failed_closed}, std::pair{"bad_requests", &g.bad_requests},
          std::pair{"too_large", &g.too_large}, std::pair{"overloaded", &g.overloaded},
          std::pair{"timeouts", &g.timeouts}, std::pair{"upstream_errors", &g.upstream_errors},
          std::pair{"delivered_held", &g.delivered_held}}) {
      s.gateway[name] = counter->load(std::memory_order_relaxed);
    }
  }
  if (counter_store_ != nullptr) {
    const counters::CounterStoreStats c = counter_store_->stats();
    s.counters = {{"queries", c.queries}, {"unknown", c.unknown},
                  {"failures", c.failures}, {"series", c.series},
                  {"evicted", c.evicted},   {"memory_bytes", c.memory_bytes}};
    s.state = counter_store_->description();
  }
  return s;
}

}  // namespace fedwall::service
