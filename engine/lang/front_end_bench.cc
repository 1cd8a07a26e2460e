// Front end throughput: lexing, parsing and checking synthetic policies.
//
//   engine_lang_bench --benchmark_filter=Rules
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "engine/lang/front_end.h"
#include "engine/lang/strings.h"

namespace fedwall::lang {
namespace {

// `n` rules, each with a literal, a list use, a regex and number comparisons.
std::string ManyRules(int n) {
  std::string out =
      "list words = [\"free crypto\", \"airdrop\", \"giveaway\"]\n"
      "macro new_account = actor.age < 2d and actor.followers < 3\n";
  for (int i = 0; i < n; ++i) {
    Append(&out, "rule r", i, " \"Rule number ", i,
           "\" {\n  when type == \"Create\" and (content has \"w", i,
           "\" or text has_any words) and mentions.count >= ", i % 10,
           "\n        and new_account and content ~ /x", i,
           "\\d+/i\n  then flag\n  score 1.5\n}\n");
  }
  return out;
}

void BM_FrontEndRules(benchmark::State& state) {
  std::string source = ManyRules(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    FrontEndResult r = LoadPolicyFiles({{"main.rules", source}}, nullptr, {});
    benchmark::DoNotOptimize(r.ast.rules.size());
    if (!r.diagnostics.empty()) state.SkipWithError(r.diagnostics[0].ToString().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * source.size()));
  state.counters["rules/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FrontEndRules)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_FrontEndListFile(benchmark::State& state) {
  std::string list;
  for (int64_t i = 0; i < state.range(0); ++i) Append(&list, "phrase number ", i, "\n");
  std::string source = "list big from \"big.txt\"\nrule r { when text has_any big then flag }\n";
  auto reader = [&list](const std::string&) -> absl::StatusOr<std::string> { return list; };
  for (auto _ : state) {
    FrontEndResult r = LoadPolicyFiles({{"main.rules", source}}, reader, {});
    benchmark::DoNotOptimize(r.ast.lists[0].items.size());
    if (!r.diagnostics.empty()) state.SkipWithError(r.diagnostics[0].ToString().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * list.size()));
}
BENCHMARK(BM_FrontEndListFile)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fedwall::lang
