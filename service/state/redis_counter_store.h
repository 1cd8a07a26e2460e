// RedisCounterStore: the rule language's counters kept in Redis, so that several fedwalld nodes
// count the same activities (engine/counters/counter_store.h is the contract it keeps).
//
// One Count call is one round trip: a single EVALSHA of a Lua script (sent whole with EVAL
// only when Redis answers NOSCRIPT, after a restart or SCRIPT FLUSH) that records the activity
// and answers every query. A series (key, window W) has bucket width b = W / kBucketsPerWindow
// (in ms, rounded down) and is named S = H ":" W ":c" (events) or H ":" W ":m" (distinct), H
// the first 128 bits of SHA-256(key) in hex (keys and members may be long URLs: Redis only
// ever sees fixed-size hashes). Layout in Redis:
//   PREFIX "w:" W ":" E      HASH  series S -> its value (msgpack), for the epoch E =
//                            floor(now / (W + b)); "~" marks the epoch's first write. A
//                            series is written to the current epoch's hash and read from it
//                            or, when absent, from the previous epoch's: older ones hold
//                            nothing still in a window. The hash expires when the next epoch
//                            ends (+ 10 s slack); the first write of an epoch UNLINKs the
//                            hash of two epochs back (a big hash is freed in the background).
//       events:   msgpack [bucket, count, bucket, count, ...], the buckets still in the window
//       distinct: 24-byte records (16-byte member hash, last seen ms as a double), oldest
//                 first: the 65 most recently seen members still in the window (a new member
//                 past 65 replaces the oldest)
//   PREFIX S ":h:" i         HyperLogLog of the members seen in bucket i, only for a series
//                            that reached 65 members (its members then go into the buckets of
//                            their last time; from then on every recorded member is added)
//   PREFIX S ":hu:" f ":" l  cached union of the HLL buckets f..l (the buckets before the
//                            current one no longer change, so a call merges 2 HLLs per key,
//                            and ~60 once per bucket width)
// HLL keys get PEXPIRE W + b + 10 s. Expiry is relative: the `now` given to Count is never
// compared with Redis's clock. Why hashes of packed values: Redis spends its time per command
// and per new key, not in the data, so a typical call (the default policy's actor.rate,
// text.seen and text.similar: 8 series in 2 windows) makes 6 commands inside the script (an
// HMGET of the current and of the previous epoch per window, an HSET per window) instead of
// ~46, and creates no key.
//
// Counting (window (now - W, now], rounded to the bucket width as the contract allows: a
// bucket counts when it starts after now - W):
//   - events: the sum of the buckets in the window (+1 in a dry run);
//   - distinct: the union of the in-window members of the query's series plus the current
//     member. While every series of the query holds at most kExactMembers (64) members in the
//     window it is exact (a union of such series is counted exactly even above 64): each keeps
//     its 65 most recently seen members, so a series with at most 64 in the window has them
//     all. Above, the answer is PFCOUNT of the union of the in-window HLL buckets of the
//     series past the cap and of the members of the others (never less than the exact lower
//     bound). A dry run above 64 adds one unless the member is among the in-window members of
//     the series: a member seen long ago but not recently may count twice, an error of one,
//     well within the estimate's.
// A dry run writes no counts; above 64 members it may leave the ":hu:" cache, which only
// holds what the buckets already hold. Script cost: O(keys x kExactMembers) Lua steps per call,
// plus, above 64 members, an HLL update per series and two HLL merges per key (~61 once per
// bucket width). The limits in RedisOptions bound the keys. Nodes should keep their clocks
// within a bucket width: a node whose clock lags may add to a bucket already cached (the
// estimate misses those members until the next bucket), and around an epoch change a lagging
// node reads the previous epochs.
//
// Failures (Redis away, a timeout, an error reply): every value of the call is nullopt,
// stats().unknown and stats().failures grow, the connection is dropped, and for
// `retry_after` (1 s) after a connection failure or timeout no connection is attempted: Count
// answers unknown at once, so a dead Redis costs one timeout per second, not per activity.
// A Count never blocks longer than `timeout` (connecting, AUTH/SELECT and the script share
// one deadline; a host name's DNS lookup is the exception: use an IP address).
//
// Deployment notes: standalone Redis (or a Sentinel-fronted primary) ≥ 5; the script touches
// keys it derives (HLL buckets), so it is not Redis Cluster-safe. Node clocks should be
// synchronised (NTP): each node counts with its own `now`. The process must ignore SIGPIPE
// (fedwalld does), as hiredis writes to sockets with write(2).
//
// Thread safety: thread-safe. Each concurrent Count takes a connection from a small pool (up to
// max_connections; more callers wait, within their deadline, for one to come back).
//
// Example:
//   absl::StatusOr<std::unique_ptr<RedisCounterStore>> store =
//       OpenRedisCounterStore("redis://:secret@10.0.0.5:6379/2", RedisOptions{});
//   if (!store.ok()) return store.status();          // a bad URL or option
//   std::vector<std::optional<double>> values;
//   (*store)->Count(absl::Now(), /*record=*/true, queries, &values);
#ifndef FEDWALL_SERVICE_STATE_REDIS_COUNTER_STORE_H_
#define FEDWALL_SERVICE_STATE_REDIS_COUNTER_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/counters/counter_store.h"

namespace fedwall::state {

struct RedisOptions {
  // Bound on one Count call: connecting (when a new connection is needed), AUTH, SELECT and
  // the script together. Between 1 ms and 10 s.
  absl::Duration timeout = absl::Milliseconds(100);
  // After a connection failure or a timeout, Count answers unknown without trying Redis for
  // this long. Between 0 and 1 min.
  absl::Duration retry_after = absl::Seconds(1);
  // Prepended to every Redis key: nodes that share counts use the same prefix. At most 128
  // bytes; must not be empty.
  std::string key_prefix = "fedwall:";
  // Connections kept open at most (one per concurrently counting thread). 1 to 256.
  int max_connections = 8;
  // Limits on one Count call (a policy's counters make a handful; batch callers more). A call
  // past them answers every query unknown (and counts as a failure) without asking Redis. The
  // script's time grows with the keys (a few µs of Lua per series in Redis, more for series
  // near 65 members), and above 64 members a distinct query merges its keys' HyperLogLogs.
  // 1 to 65536 each.
  size_t max_queries_per_call = 4096;  // CounterQuery values
  size_t max_keys_per_call = 8192;     // keys over all its queries
};

class RedisCounterStore : public counters::CounterStore {
 public:
  ~RedisCounterStore() override;

  void Count(absl::Time now, bool record, std::span<const counters::CounterQuery> queries,
             std::vector<std::optional<double>>* values) override;
  counters::CounterStoreStats stats() const override;
  // "redis://host:port/db" or "unix:///path" (with "?db=N" when N != 0); never the password.
  std::string description() const override;

  // One PING within the timeout, bypassing the retry_after pause: for start-up logs and
  // health checks. Does not change stats().
  absl::Status Ping();

  // The last failure's message ("" if none yet), for logs.
  std::string last_error() const;

  class Impl;

 private:
  explicit RedisCounterStore(std::unique_ptr<Impl> impl);
  friend absl::StatusOr<std::unique_ptr<RedisCounterStore>> OpenRedisCounterStore(
      const std::string& url, const RedisOptions& options);

  std::unique_ptr<Impl> impl_;
};

// Parses `url` and checks `options`; does not connect (a Redis that is down at start makes the
// counters unknown until it is up, it does not stop the service). URLs:
//   redis://[[user]:password@]host[:port][/db]   host: name, IPv4 or [IPv6]; port 6379; db 0
//   unix:///path/to/redis.sock[?db=N]
// The password may be percent-encoded. InvalidArgument names what is wrong.
absl::StatusOr<std::unique_ptr<RedisCounterStore>> OpenRedisCounterStore(
    const std::string& url, const RedisOptions& options = RedisOptions());

}  // namespace fedwall::state

#endif  // FEDWALL_SERVICE_STATE_REDIS_COUNTER_STORE_H_
