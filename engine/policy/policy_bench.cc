// Decisions per second: parse -> normalise -> scan -> decide, on a seeded mix of activities
// (45% Create with text from a sentence to a long post, 30% Like, 15% Announce, 10% Follow),
// against policies of 100, 10k and 100k keyword rules, plus 1k regex rules, a few fact rules
// and a 100k-domain blocklist (all generated, seeded).
//
//   build/<dir>/engine/policy/engine_policy_bench --benchmark_filter=Decide
//
// items_per_second is decisions per second on one core (the benchmark is single-threaded).
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/policy/policy.h"
#include "engine/policy/policy_test_util.h"

namespace fedwall {
namespace {

using policy_testing::CompileText;
using policy_testing::CreateNote;
using policy_testing::JsonString;
using policy_testing::SimpleActivity;

constexpr int kRegexes = 1000;
constexpr int kDomains = 100'000;

std::string RandomWord(std::mt19937& rng, int min_syllables, int max_syllables) {
  static const char* kSyllables[] = {"ka",  "lo",  "mi",  "ne",  "ru",  "ta",  "shi", "po",
                                     "an",  "el",  "ur",  "ist", "ton", "ber", "cal", "dor",
                                     "fen", "gar", "hul", "jin", "mor", "pel", "quo", "sar"};
  int n = min_syllables + static_cast<int>(rng() % (max_syllables - min_syllables + 1));
  std::string w;
  for (int i = 0; i < n; ++i) w += kSyllables[rng() % std::size(kSyllables)];
  return w;
}

struct Workload {
  std::shared_ptr<const Policy> policy;
  double compile_seconds = 0;
  std::vector<std::string> mixed;    // the reference mix
  std::vector<std::string> creates;  // Create only
};

// Builds (once per size) the policy and the activities.
const Workload& GetWorkload(int keywords) {
  static std::map<int, std::unique_ptr<Workload>> cache;
  std::unique_ptr<Workload>& w = cache[keywords];
  if (w) return *w;
  w = std::make_unique<Workload>();
  std::mt19937 rng(42);

  // Everyday vocabulary for activities, and keywords (mostly longer, rarer words).
  std::vector<std::string> vocabulary;
  for (int i = 0; i < 3000; ++i) vocabulary.push_back(RandomWord(rng, 1, 3));
  // Keywords are longer than any everyday word, so they occur only where they are put.
  std::vector<std::string> keyword_list;
  for (int i = 0; i < keywords; ++i) {
    keyword_list.push_back(rng() % 4 == 0
                               ? absl::StrCat(RandomWord(rng, 2, 3), " ", RandomWord(rng, 2, 3))
                               : RandomWord(rng, 4, 5));
  }

  std::string rules = R"(
threshold flag 3
threshold reject 6
blocklist "domains.txt"
macro new_account = actor.age < 2d and actor.followers < 3
rule mention_spam { when type == "Create" and mentions.count >= 5 and new_account then reject }
rule link_flood { when links.count >= 4 and new_account then flag }
rule nsfw_tag { when hashtags in ["nsfw", "porn"] and not sensitive then mark_sensitive }
rule dm_spam { when visibility == "direct" and recipients.count >= 10 then flag }
)";
  for (int i = 0; i < keywords; ++i) {
    const char* field = i % 3 == 0 ? "content" : "text";
    const char* op = i % 5 == 0 ? "contains" : "has";
    absl::StrAppend(&rules, "rule k", i, " { when ", field, " ", op, " ",
                    JsonString(keyword_list[i]), i % 10 == 0 ? " then flag" : " score 1.5", " }\n");
  }
  for (int i = 0; i < kRegexes; ++i) {
    std::string a = RandomWord(rng, 2, 3), b = RandomWord(rng, 2, 3);
    switch (i % 4) {
      case 0:
        absl::StrAppend(&rules, "rule re", i, " { when text ~ /", a, "[0-9]{2,}", b,
                        "/ score 2 }\n");
        break;
      case 1:
        absl::StrAppend(&rules, "rule re", i, " { when content ~ /(?:", a, "|", b,
                        ")\\s+(?:coin|token)s?/i then flag }\n");
        break;
      case 2:
        absl::StrAppend(&rules, "rule re", i, " { when text ~ /https?:\\/\\/", a,
                        "\\.[a-z]{2,4}\\// then reject }\n");
        break;
      default:
        absl::StrAppend(&rules, "rule re", i, " { when actor.name ~ /^", a, ".*", b,
                        "$/i score 1 }\n");
        break;
    }
  }
  std::string domains;
  for (int i = 0; i < kDomains; ++i) {
    absl::StrAppend(&domains, RandomWord(rng, 2, 4), i, ".", i % 7 == 0 ? "xyz" : "example", "\n");
  }

  CompileOptions options;
  options.front_end.max_diagnostics = 1'000'000;
  options.front_end.max_rules = 200'000;
  absl::Time start = absl::Now();
  CompileResult r = CompileText(rules, {{"domains.txt", domains}}, options);
  w->compile_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (r.policy == nullptr) {
    std::string errors;
    for (size_t i = 0; i < r.diagnostics.size() && i < 10; ++i) {
      absl::StrAppend(&errors, r.diagnostics[i].ToString(), "\n");
    }
    fprintf(stderr, "compile failed:\n%s", errors.c_str());
    std::abort();
  }
  w->policy = r.policy;

  // Activities: a seeded mix; keyword hits are rare, as in real traffic.
  auto sentence = [&](int words) {
    std::string s;
    for (int k = 0; k < words; ++k) {
      const std::string& word = rng() % 300 == 0 ? keyword_list[rng() % keyword_list.size()]
                                                 : vocabulary[rng() % vocabulary.size()];
      absl::StrAppend(&s, k ? (rng() % 12 == 0 ? ", " : " ") : "", word);
    }
    return s;
  };
  auto create = [&](int n) {
    const int words = n % 3 == 0 ? 8 : n % 3 == 1 ? 40 : 200;  // a sentence .. a long post
    std::string content = absl::StrCat("<p>", sentence(words), "</p>");
    if (n % 4 == 0)
      absl::StrAppend(&content, "<p><a href=\"https://", RandomWord(rng, 2, 3),
                      ".example/p\">link</a> #", RandomWord(rng, 1, 2), "</p>");
    std::string extra = absl::StrCat(
        ",\"published\":\"2024-03-09T15:00:00Z\",\"summary\":",
        JsonString(n % 5 == 0 ? sentence(4) : ""),
        n % 6 == 0
            ? R"(,"tag":[{"type":"Hashtag","name":"#nsfw"},{"type":"Mention","href":"https://x.example/users/a","name":"@a@x.example"}])"
            : "");
    return CreateNote(absl::StrCat("https://", vocabulary[rng() % 50], ".example/users/u", n),
                      content, extra, "", n);
  };
  for (int n = 0; n < 400; ++n) {
    const int roll = static_cast<int>(rng() % 100);
    const std::string actor = absl::StrCat("https://", vocabulary[rng() % 50], ".example/u/", n);
    const std::string object =
        absl::StrCat("https://", vocabulary[rng() % 50], ".example/notes/", n);
    if (roll < 45) {
      w->mixed.push_back(create(n));
    } else if (roll < 75) {
      w->mixed.push_back(SimpleActivity("Like", actor, object));
    } else if (roll < 90) {
      w->mixed.push_back(SimpleActivity("Announce", actor, object));
    } else {
      w->mixed.push_back(SimpleActivity("Follow", actor, actor + "/target"));
    }
    w->creates.push_back(create(n));
  }
  return *w;
}

void RunDecide(benchmark::State& state, bool creates_only) {
  const Workload& w = GetWorkload(static_cast<int>(state.range(0)));
  const std::vector<std::string>& activities = creates_only ? w.creates : w.mixed;
  Evaluator evaluator;
  RequestFacts facts;
  facts.actor.followers_count = 10;
  facts.actor.created_at = absl::FromUnixSeconds(1700000000);
  const absl::Time now = absl::FromUnixSeconds(1710000000);
  size_t i = 0;
  int64_t rejected = 0, flagged = 0;
  for (auto _ : state) {
    absl::StatusOr<Decision> d = evaluator.Evaluate(*w.policy, activities[i], facts, now);
    if (!d.ok()) {
      state.SkipWithError(std::string(d.status().message()).c_str());
      break;
    }
    rejected += d->verdict == Verdict::kReject;
    flagged += d->verdict == Verdict::kFlag;
    benchmark::DoNotOptimize(d);
    if (++i == activities.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["compile_s"] = w.compile_seconds;
  state.counters["patterns"] = static_cast<double>(w.policy->pattern_count());
  state.counters["rejected%"] =
      100.0 * static_cast<double>(rejected) / static_cast<double>(state.iterations());
  state.counters["flagged%"] =
      100.0 * static_cast<double>(flagged) / static_cast<double>(state.iterations());
}

void BM_DecideMix(benchmark::State& state) { RunDecide(state, false); }
void BM_DecideCreate(benchmark::State& state) { RunDecide(state, true); }

BENCHMARK(BM_DecideMix)->Arg(100)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecideCreate)->Arg(100)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace fedwall
