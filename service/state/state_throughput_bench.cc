// Activities per second through the whole per-activity path, with the counters in process
// (MemoryCounterStore) and in a local Redis (RedisCounterStore): the issue's "with Redis on the
// same machine, batch throughput stays >= 50% of the in-process figure".
//
// Per activity, as fedwalld does: ActivityParser::Parse, counters::Count with the policy's
// counters (one CounterStore::Count call), Evaluator::Decide. The policy is the default one
// compiled from rules/ (FEDWALL_SOURCE_DIR "/rules"), whose counters are actor.rate(10m),
// text.seen(1h) and text.similar(1h) (6 band keys): 8 series per Create with text.
//
// The corpus (seeded, built once): 20k Create{Note} JSONs from 60k actors on 400 domains, most
// actors and texts new or seen a few times (texts of 6-30 everyday words, some with a link or a
// mention); one activity in ten belongs to one of 8 spam waves (the same text plus 0-3 random
// words, a link and a mention, from fresh actors), whose text.seen and bands grow past 64
// members. Each thread walks the corpus from its own offset; `now` is the wall clock.
//
// Benchmarks (2 threads, real time, as fedwalld on 2 cores):
//   BM_Memory            MemoryCounterStore
//   BM_RedisTcp          RedisCounterStore on 127.0.0.1 (a redis-server this program starts)
//   BM_RedisUnix         the same server over its unix socket
// Counters: items_per_second (activities/s); redis_cpu_us (Redis's CPU time per activity, from
// /proc/PID/stat); unknown (counter values the store could not answer: must be 0).
// FEDWALL_BENCH_REDIS_URL=redis://... uses that server instead (no redis_cpu_us), e.g. to
// look at INFO commandstats with redis-cli while it runs.
//
//   cmake --preset release -B build/h-rp-rel
//   cmake --build build/h-rp-rel --target counter_state_throughput_bench
//   build/h-rp-rel/service/state/counter_state_throughput_bench --benchmark_min_time=3
#include <benchmark/benchmark.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/counters/counters.h"
#include "engine/counters/memory_counter_store.h"
#include "engine/policy/policy.h"
#include "engine/policy/policy_test_util.h"
#include "service/state/redis_counter_store.h"
#include "tests/servers/redis_server.h"

namespace fedwall {
namespace {

constexpr int kActivities = 20'000;
constexpr int kActors = 60'000;
constexpr int kDomains = 400;
constexpr int kWaves = 8;

constexpr const char* kWords =
    "the of and to in is it you that he was for on are with as his they be at one have this "
    "from or had by hot word but what some we can out other were all there when up use your "
    "how said an each she which do their time if will way about many then them write would "
    "like so these her long make thing see him two has look more day could go come did number "
    "sound no most people my over know water than call first who may down side been now find "
    "any new work part take get place made live where after back little only round man year "
    "came show every good me give our under name very through just form sentence great think "
    "say help low line differ turn cause much mean before move right boy old too same tell does "
    "set three want air well also play small end put home read hand port large spell add even "
    "land here must big high such follow act why ask men change went light kind off need house "
    "picture try us again animal point mother world near build self earth father head stand own "
    "page should country found answer school grow study still learn plant cover food sun four "
    "between state keep eye never last let thought city tree cross farm hard start might story "
    "saw far sea draw left late run while press close night real life few north open seem "
    "together next white children begin got walk example ease paper group always music those";

struct Corpus {
  std::shared_ptr<const Policy> policy;
  std::vector<std::string> activities;
};

const Corpus& GetCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    CompileResult r = Compiler().Compile(FEDWALL_SOURCE_DIR "/rules");
    if (!r.policy) {
      for (const Diagnostic& d : r.diagnostics) fprintf(stderr, "%s\n", d.ToString().c_str());
      std::exit(1);
    }
    c->policy = r.policy;
    std::vector<std::string> words = absl::StrSplit(kWords, ' ', absl::SkipEmpty());
    std::mt19937_64 rng(7);
    auto sentence = [&](int min_words, int max_words) {
      int n = min_words + static_cast<int>(rng() % static_cast<uint64_t>(max_words - min_words + 1));
      std::string s;
      for (int i = 0; i < n; ++i) absl::StrAppend(&s, i ? " " : "", words[rng() % words.size()]);
      return s;
    };
    std::vector<std::string> waves;
    for (int w = 0; w < kWaves; ++w) waves.push_back(sentence(12, 20));
    uint64_t fresh = 0;
    for (int i = 0; i < kActivities; ++i) {
      bool wave = rng() % 10 == 0;
      std::string domain = absl::StrCat("instance", rng() % kDomains, ".example");
      std::string actor =
          wave ? absl::StrCat("https://", domain, "/users/fresh", fresh++)
               : absl::StrCat("https://", domain, "/users/user", rng() % kActors);
      std::string content;
      if (wave) {
        content = absl::StrCat("<p>", waves[rng() % kWaves], " ", sentence(0, 3),
                               " <a href=\"https://spam", rng() % 50,
                               ".example/x\">link</a> @someone</p>");
      } else {
        content = absl::StrCat("<p>", sentence(6, 30), "</p>");
        if (rng() % 4 == 0) absl::StrAppend(&content, " <a href=\"https://news.example/a\">a</a>");
        if (rng() % 5 == 0) absl::StrAppend(&content, " @friend");
      }
      c->activities.push_back(policy_testing::CreateNote(actor, content, "", "", i + 1));
    }
    return c;
  }();
  return *corpus;
}

// Runs the per-activity path over the corpus with `store`.
void RunPath(benchmark::State& state, counters::CounterStore& store) {
  const Corpus& corpus = GetCorpus();
  ActivityParser parser;
  Evaluator evaluator;
  RequestFacts facts;
  facts.actor.created_at = absl::Now() - absl::Hours(30);
  facts.actor.followers_count = 1;
  std::vector<std::optional<double>> values;
  size_t i = static_cast<size_t>(state.thread_index()) * corpus.activities.size() / 2;
  int64_t unknown = 0, rejected = 0;
  for (auto _ : state) {
    const std::string& json = corpus.activities[i];
    if (++i == corpus.activities.size()) i = 0;
    absl::StatusOr<Activity> activity = parser.Parse(json);
    if (!activity.ok()) {
      state.SkipWithError("parse failed");
      break;
    }
    absl::Time now = absl::Now();
    counters::Count(store, corpus.policy->counters(), *activity, now, /*record=*/true, &values);
    for (const auto& v : values) unknown += v.has_value() ? 0 : 1;
    Decision d = evaluator.Decide(*corpus.policy, *activity, facts, now, values);
    rejected += d.verdict == Verdict::kReject ? 1 : 0;
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["unknown"] = static_cast<double>(unknown);
  state.counters["rejected"] = static_cast<double>(rejected);
}

void BM_Memory(benchmark::State& state) {
  static counters::MemoryCounterStore* store = new counters::MemoryCounterStore();
  RunPath(state, *store);
}

// Redis's user + system CPU time so far (clock ticks -> µs), or -1.
double ProcessCpuMicros(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return -1;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // Fields after the name: state(3) ... utime(14) stime(15).
  for (int f = 3; f <= 13; ++f) rest >> field;
  double utime = 0, stime = 0;
  rest >> utime >> stime;
  return (utime + stime) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct RedisSetup {
  std::unique_ptr<testing::RedisServer> server;
  std::unique_ptr<state::RedisCounterStore> tcp;
  std::unique_ptr<state::RedisCounterStore> unix_socket;
};

RedisSetup& GetRedis() {
  static RedisSetup* setup = [] {
    signal(SIGPIPE, SIG_IGN);
    auto* s = new RedisSetup;
    state::RedisOptions options;
    options.timeout = absl::Seconds(2);
    std::string tcp_url, unix_url;
    if (const char* url = std::getenv("FEDWALL_BENCH_REDIS_URL"); url != nullptr && *url) {
      tcp_url = unix_url = url;
    } else {
      auto server = testing::RedisServer::Start();
      if (!server.ok()) {
        fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
        std::exit(1);
      }
      s->server = *std::move(server);
      tcp_url = s->server->url();
      unix_url = "unix://" + s->server->unix_socket();
      std::atexit([] { GetRedis().server.reset(); });
    }
    auto tcp = state::OpenRedisCounterStore(tcp_url, options);
    auto unix_store = state::OpenRedisCounterStore(unix_url, options);
    if (!tcp.ok() || !unix_store.ok()) std::exit(1);
    s->tcp = *std::move(tcp);
    s->unix_socket = *std::move(unix_store);
    return s;
  }();
  return *setup;
}

void RunRedis(benchmark::State& state, state::RedisCounterStore& store) {
  RedisSetup& setup = GetRedis();
  GetCorpus();
  pid_t pid = setup.server ? setup.server->pid() : -1;
  double cpu_before = state.thread_index() == 0 && pid > 0 ? ProcessCpuMicros(pid) : -1;
  RunPath(state, store);
  if (cpu_before >= 0) {
    // Thread 0's iterations are about half: divide by twice them (an estimate).
    double spent = ProcessCpuMicros(pid) - cpu_before;
    state.counters["redis_cpu_us"] =
        spent / static_cast<double>(state.iterations() * static_cast<int64_t>(state.threads()));
  }
}

void BM_RedisTcp(benchmark::State& state) { RunRedis(state, *GetRedis().tcp); }
void BM_RedisUnix(benchmark::State& state) { RunRedis(state, *GetRedis().unix_socket); }

BENCHMARK(BM_Memory)->Threads(2)->UseRealTime();
BENCHMARK(BM_RedisTcp)->Threads(2)->UseRealTime();
BENCHMARK(BM_RedisUnix)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace fedwall
