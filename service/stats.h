// Stats: what fedwalld counts while it serves: decisions by verdict and by rule, the latency
// of evaluations, reloads and their failures. All counters are declared here, in one place
// (Envoy's stats lists), and read through Snapshot() for GetStats.
//
// Recording is cheap and thread-safe: verdict counts and the latency histogram are relaxed
// atomics; rule counts go to one of several shards picked by thread, each with its own
// mutex, so evaluation threads never wait on each other. Latency is kept in a fixed
// log-linear histogram (about 3% resolution from 1 µs to hours), so memory stays bounded
// however long the service runs.
//
// Example:
//   fedwall::service::Stats stats;
//   std::string_view fired[] = {"spam-link"};
//   stats.RecordDecision(fedwall::service::StatVerdict::kFlag, fired, absl::Microseconds(12));
//   fedwall::service::StatsSnapshot s = stats.Snapshot();   // s.verdicts["FLAG"] == 1
#ifndef FEDWALL_SERVICE_STATS_H_
#define FEDWALL_SERVICE_STATS_H_

#include "engine/counters/counter_store.h"
#include "service/gateway/gateway.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fedwall::service {

enum class StatVerdict { kAccept, kFlag, kReject, kError };

// A fixed-size latency histogram: bucket i covers a range about 1/16 of its lower bound wide.
class LatencyHistogram {
 public:
  void Record(absl::Duration d);
  // The q-quantile (0 < q <= 1) of what was recorded, as the upper bound of its bucket;
  // zero when nothing was recorded.
  absl::Duration Quantile(double q) const;
  uint64_t count() const;

 private:
  static constexpr int kSubBits = 4;                  // 16 sub-buckets per power of two
  static constexpr int kBuckets = (40 + 1) << kSubBits;  // up to 2^44 ns (~4.9 hours)
  static int BucketOf(uint64_t nanos);
  static uint64_t UpperBoundOf(int bucket);
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
};

struct StatsSnapshot {
  std::map<std::string, uint64_t> verdicts;  // ACCEPT, FLAG, REJECT, ERROR (all four present)
  std::map<std::string, uint64_t> rules;     // rule id -> times fired (synthetic ids included)
  absl::Duration latency_p50, latency_p90, latency_p99;
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
  absl::Time started_at;
  std::map<std::string, uint64_t> gateway;  // the inbox gateway's counters; empty when off
  // The counter state (actor.rate, text.seen, ...): queries, unknown, failures, series,
  // evicted, memory_bytes; and where it is kept ("memory", "redis://host:6379/0").
  std::map<std::string, uint64_t> counters;
  std::string state;
};

class Stats {
 public:
  Stats();
  Stats(const Stats&) = delete;
  Stats& operator=(const Stats&) = delete;

  // One activity decided (or answered with an error): its verdict, the rules that fired, and
  // how long the evaluation took.
  void RecordDecision(StatVerdict verdict, std::span<const std::string_view> rule_ids,
                      absl::Duration latency);
  void RecordReload(bool ok);

  StatsSnapshot Snapshot() const;
  // The inbox gateway's counters, read by Snapshot(); set once at start, before serving.
  void SetGatewayCounters(const gateway::GatewayCounters* counters) { gateway_ = counters; }
  // The counter store, read by Snapshot(); set once at start, before serving.
  void SetCounterStore(const counters::CounterStore* store) { counter_store_ = store; }

 private:
  static constexpr size_t kShards = 16;
  struct alignas(64) RuleShard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, uint64_t> counts ABSL_GUARDED_BY(mu);
  };

  const gateway::GatewayCounters* gateway_ = nullptr;
  const counters::CounterStore* counter_store_ = nullptr;
  absl::Time started_at_;
  std::array<std::atomic<uint64_t>, 4> verdicts_{};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> reload_failures_{0};
  LatencyHistogram latency_;
  std::array<RuleShard, kShards> rule_shards_;
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_STATS_H_
