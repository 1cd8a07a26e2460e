// Benchmarks of RedisCounterStore::Count per activity against a local redis-server that the
// program starts (tests/servers) and stops at exit. Build with the release preset.
//
// The query set is a policy's usual counters for one activity: actor.rate(10m),
// actor.domain.rate(1h), text.seen(1h), text.seen_domains(1h) and text.similar(1h) over 6
// band keys. BM_CountActivity draws actors, domains and texts from pools (mostly small
// distinct sets: the exact regime); BM_CountSpamWave sends one text from ever new actors (the
// distinct counts are above 64: the HyperLogLog regime).
//
//   build/h-redis-release/service/state/counter_state_bench --benchmark_min_time=2s
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "service/state/redis_counter_store.h"
#include "tests/servers/redis_server.h"

namespace fedwall::state {
namespace {

using counters::CounterQuery;

struct Shared {
  std::unique_ptr<testing::RedisServer> server;
  std::unique_ptr<RedisCounterStore> store;
};

// One server and one store for the whole program (the store is shared by the threads, as in
// fedwalld). Exits when redis-server cannot start.
Shared& Get() {
  static Shared* shared = [] {
    auto* s = new Shared;
    auto server = testing::RedisServer::Start();
    if (!server.ok()) {
      fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
      std::exit(1);
    }
    s->server = *std::move(server);
    RedisOptions options;
    options.timeout = absl::Seconds(1);
    auto store = OpenRedisCounterStore(s->server->url(), options);
    if (!store.ok()) std::exit(1);
    s->store = *std::move(store);
    std::atexit([] { Get().server.reset(); });
    return s;
  }();
  return *shared;
}

uint64_t Next(uint64_t& x) {
  x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x >> 33;
}

std::vector<CounterQuery> Activity(uint64_t& rng, bool wave, uint64_t serial) {
  std::string domain = absl::StrCat("instance", Next(rng) % 200, ".example");
  std::string actor = wave ? absl::StrCat("https://", domain, "/users/spammer", serial)
                           : absl::StrCat("https://", domain, "/users/user", Next(rng) % 10000);
  std::string text = wave ? "text:the-same-spam" : absl::StrCat("text:", Next(rng) % 1000);
  std::vector<CounterQuery> qs(5);
  qs[0].keys = {"actor.rate:" + actor};
  qs[0].window = absl::Minutes(10);
  qs[1].keys = {"actor.domain.rate:" + domain};
  qs[1].window = absl::Hours(1);
  qs[2].distinct = true;
  qs[2].keys = {"text.seen:" + text};
  qs[2].member = actor;
  qs[2].window = absl::Hours(1);
  qs[3].distinct = true;
  qs[3].keys = {"text.seen_domains:" + text};
  qs[3].member = domain;
  qs[3].window = absl::Hours(1);
  qs[4].distinct = true;
  for (int b = 0; b < 6; ++b) qs[4].keys.push_back(absl::StrCat("text.similar:", b, ":", text));
  qs[4].member = actor;
  qs[4].window = absl::Hours(1);
  return qs;
}

void Run(benchmark::State& state, bool wave) {
  RedisCounterStore& store = *Get().store;
  uint64_t rng = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(state.thread_index() + 1);
  uint64_t serial = static_cast<uint64_t>(state.thread_index()) << 40;
  std::vector<std::optional<double>> values;
  int64_t unknown = 0;
  for (auto _ : state) {
    std::vector<CounterQuery> qs = Activity(rng, wave, serial++);
    store.Count(absl::Now(), true, qs, &values);
    for (const auto& v : values) unknown += v.has_value() ? 0 : 1;
  }
  state.counters["activities/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["unknown"] = static_cast<double>(unknown);
}

// The floor: one event query per call (one round trip, a tiny script).
void BM_CountOneEvent(benchmark::State& state) {
  RedisCounterStore& store = *Get().store;
  std::vector<CounterQuery> qs(1);
  qs[0].keys = {absl::StrCat("one-event:", state.thread_index())};
  qs[0].window = absl::Minutes(10);
  std::vector<std::optional<double>> values;
  for (auto _ : state) store.Count(absl::Now(), true, qs, &values);
}

void BM_CountActivity(benchmark::State& state) { Run(state, false); }
void BM_CountSpamWave(benchmark::State& state) { Run(state, true); }

BENCHMARK(BM_CountOneEvent)->Threads(1)->Threads(4)->UseRealTime();
BENCHMARK(BM_CountActivity)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_CountSpamWave)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace
}  // namespace fedwall::state
