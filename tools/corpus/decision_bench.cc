// Decisions per second over the generated reference corpus (tools/corpus/corpus.h): parse ->
// normalise -> scan -> decide, one Evaluator, one core, exactly what the service does per
// activity. Policies:
//   - default: the shipped policy in rules/;
//   - keywords:N: a generated policy of N keywords (lists of 100, each used by one rule with
//     `has_any` or `contains_any`), plus 1k regex rules and a 100k-domain blocklist,
//     for N = 100, 10k, 100k.
// Each runs on the full mix (45% Create, 30% Like, 15% Announce, 10% Follow) and on Create
// alone. One iteration is one decision: the CPU column is ns per decision, items_per_second
// decisions (activities) per second; compile_s is the policy's compile time, patterns its
// pattern count, flag_share and reject_share the verdicts over the corpus.
//
//   build/<dir>/tools/corpus/decision_bench                       # everything
//   build/<dir>/tools/corpus/decision_bench --benchmark_filter=default
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/policy/policy.h"
#include "tools/corpus/corpus.h"

namespace fedwall {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kCorpusSize = 20'000;
constexpr uint64_t kSeed = 42;
constexpr int kRegexes = 1000;
constexpr int kDomains = 100'000;
constexpr int kListSize = 100;

// A small PRNG of our own (the policies must be the same on every machine).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

// Pseudo-words that do not occur in the corpus (so most keywords never match, as in real
// keyword lists), built from syllables.
std::string PseudoWord(Rng& rng, int syllables) {
  static constexpr const char* kSyllables[] = {
      "ka",  "lo",  "mi",  "ne",  "ru",  "ta",  "shi", "po",  "zu",  "vex", "qua", "dro",
      "fli", "gor", "hul", "jin", "mor", "pel", "quo", "sar", "tev", "uth", "wix", "yor"};
  std::string w;
  for (int i = 0; i < syllables; ++i) w += kSyllables[rng.Below(std::size(kSyllables))];
  return w;
}

// A keyword: mostly pseudo-words and pseudo-phrases; 1 in 500 a two-word phrase of everyday
// words of the corpus (so some rules fire on ordinary posts, as over-broad keywords do, but
// rarely: a real policy does not flag every other post).
std::string Keyword(Rng& rng) {
  std::span<const std::string_view> vocabulary = corpus::CorpusGenerator::Vocabulary();
  if (rng.Below(500) == 0) {
    return absl::StrCat(std::string(vocabulary[rng.Below(vocabulary.size())]), " ",
                        std::string(vocabulary[rng.Below(vocabulary.size())]));
  }
  if (rng.Below(4) == 0) {
    return absl::StrCat(PseudoWord(rng, 2 + static_cast<int>(rng.Below(2))), " ",
                        PseudoWord(rng, 2 + static_cast<int>(rng.Below(2))));
  }
  return PseudoWord(rng, 3 + static_cast<int>(rng.Below(3)));
}

std::string Regex(Rng& rng, int i) {
  std::string a = PseudoWord(rng, 2 + static_cast<int>(rng.Below(2)));
  std::string b = PseudoWord(rng, 2);
  switch (i % 5) {
    case 0:
      return absl::StrCat("\\b", a, "[\\s_-]*", b, "\\b/i");
    case 1:
      return absl::StrCat(a, "\\d{3,}/");
    case 2:
      return absl::StrCat("https?:\\/\\/[a-z0-9.-]*", a, "\\.example/");
    case 3:
      return absl::StrCat("\\b", a, "(?:ing|ed|s)?\\b/");
    default:
      return absl::StrCat("(?:", a, "|", b, a, ")[0-9]{2}/i");
  }
}

std::string Domain(Rng& rng) {
  static constexpr const char* kTlds[] = {"example", "test", "invalid", "example.com"};
  std::string d = absl::StrCat(PseudoWord(rng, 2 + static_cast<int>(rng.Below(3))), ".",
                               kTlds[rng.Below(std::size(kTlds))]);
  if (rng.Below(4) == 0) d = absl::StrCat(PseudoWord(rng, 1), ".", d);
  return d;
}

// Writes the generated policy into a fresh temporary directory and returns its path.
std::string WritePolicy(int keywords) {
  char templ[] = "/tmp/fedwall-decision-bench-XXXXXX";
  if (mkdtemp(templ) == nullptr) std::abort();
  const fs::path dir = templ;
  fs::create_directories(dir / "lists");
  Rng rng(0xBE7C4ULL + static_cast<uint64_t>(keywords));

  std::ofstream rules(dir / "policy.rules");
  rules << "threshold flag 5\nthreshold reject 10\nblocklist \"domains.txt\"\n"
        << "macro is_post = type in [\"Create\", \"Update\"]\n";
  int lists = 0;
  std::set<std::string> seen;
  for (int done = 0; done < keywords; done += kListSize, ++lists) {
    std::ofstream list(dir / "lists" / absl::StrCat("kw", lists, ".txt"));
    for (int k = done; k < keywords && k < done + kListSize; ++k) {
      std::string keyword = Keyword(rng);
      while (!seen.insert(keyword).second) keyword = Keyword(rng);  // N distinct keywords
      list << keyword << "\n";
    }
    rules << "list kw" << lists << " from \"lists/kw" << lists << ".txt\"\n"
          << "rule keywords" << lists << " { when is_post and "
          << (lists % 4 == 3 ? "content contains_any kw" : "text has_any kw") << lists << " score "
          << 1 + lists % 3 << " }\n";
  }
  for (int i = 0; i < kRegexes; ++i) {
    rules << "rule regex" << i << " { when " << (i % 2 == 0 ? "content" : "text") << " ~ /"
          << Regex(rng, i) << " score 2 }\n";
  }
  rules << "rule mention_flood { when is_post and mentions.count >= 5 and links.count >= 1 "
           "then flag }\n"
        << "rule shortener { when links.domains in [\"bit.ly\", \"tinyurl.com\", \"is.gd\"] "
           "score 2 }\n";
  std::ofstream domains(dir / "domains.txt");
  for (int i = 0; i < kDomains; ++i) domains << Domain(rng) << "\n";
  return dir.string();
}

struct Workload {
  std::shared_ptr<const Policy> policy;
  double compile_seconds = 0;
};

// 0: the default policy; otherwise the number of keywords. Built once per process.
const Workload& GetWorkload(int keywords) {
  static std::map<int, Workload> cache;
  auto it = cache.find(keywords);
  if (it != cache.end()) return it->second;
  std::string dir =
      keywords == 0 ? std::string(FEDWALL_SOURCE_DIR) + "/rules" : WritePolicy(keywords);
  Compiler compiler;
  CompileResult r = compiler.Compile(dir);
  if (keywords != 0) fs::remove_all(dir);
  if (r.policy == nullptr) {
    for (const Diagnostic& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    std::abort();
  }
  return cache[keywords] = Workload{r.policy, r.compile_seconds};
}

const std::vector<std::string>& GetCorpus(bool creates_only) {
  static std::map<bool, std::vector<std::string>> cache;
  auto it = cache.find(creates_only);
  if (it != cache.end()) return it->second;
  corpus::CorpusOptions options;
  options.seed = kSeed;
  options.creates_only = creates_only;
  return cache[creates_only] = corpus::CorpusGenerator(options).GenerateMany(kCorpusSize);
}

void BM_Decide(benchmark::State& state, int keywords, bool creates_only) {
  const Workload& w = GetWorkload(keywords);
  const std::vector<std::string>& activities = GetCorpus(creates_only);
  Evaluator evaluator;
  const RequestFacts facts;
  const absl::Time now = absl::FromUnixSeconds(1707998400);  // 2024-02-15T12:00:00Z
  size_t i = 0;
  uint64_t rejected = 0;
  uint64_t flagged = 0;
  for (auto _ : state) {
    absl::StatusOr<Decision> d = evaluator.Evaluate(*w.policy, activities[i], facts, now);
    if (d.ok()) {
      rejected += d->verdict == Verdict::kReject ? 1 : 0;
      flagged += d->verdict == Verdict::kFlag ? 1 : 0;
    } else {
      state.SkipWithError("an activity of the corpus did not parse");
      break;
    }
    benchmark::DoNotOptimize(d);
    if (++i == activities.size()) i = 0;
  }
  const double n = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.counters["compile_s"] = w.compile_seconds;
  state.counters["patterns"] = static_cast<double>(w.policy->pattern_count());
  state.counters["flag_share"] = n > 0 ? static_cast<double>(flagged) / n : 0;
  state.counters["reject_share"] = n > 0 ? static_cast<double>(rejected) / n : 0;
}

void Register() {
  struct PolicyCase {
    const char* name;
    int keywords;
  };
  for (const PolicyCase& p :
       {PolicyCase{"default", 0}, PolicyCase{"keywords:100", 100},
        PolicyCase{"keywords:10k", 10'000}, PolicyCase{"keywords:100k", 100'000}}) {
    for (bool creates_only : {false, true}) {
      benchmark::RegisterBenchmark(
          absl::StrCat("BM_Decide/", p.name, creates_only ? "/create" : "/mix").c_str(),
          [keywords = p.keywords, creates_only](benchmark::State& s) {
            BM_Decide(s, keywords, creates_only);
          })
          ->MinTime(1.0);
    }
  }
}

[[maybe_unused]] const bool kRegistered = (Register(), true);

}  // namespace
}  // namespace fedwall
