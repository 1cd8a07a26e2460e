// TextMatcher benchmarks: one scan of a ~1.5 KB post against 100 / 10k / 100k literals and 1k
// regexes (ns per scan), Build() time for 100k literals and for 1k regexes, and a policy's
// `text` and `content` patterns matched by two matchers (the content scanned twice) or by one
// scoped matcher (scoped_matcher.h: each part scanned once).
//
//   engine_match_bench --benchmark_filter=Scan
//   engine_match_bench --benchmark_filter=Build
//   engine_match_bench --benchmark_filter=TextAndContent
//
// Patterns are generated deterministically (seeded): literals are distinct pseudo-words and
// two-word phrases, half of them whole-word (`has`); regexes follow the shapes moderation rules use
// (word pairs with gaps, URL shapes, obfuscated spellings, case-insensitive phrases). The post
// is English prose with links, hashtags and an emoji, into which a handful of pattern words are
// planted so that every scan also pays for some matches; short pseudo-words also turn up
// inside ordinary English words (the hits_per_scan counter says how many matches a scan made).
// BM_ScanDenseText shows the cost per byte of text made of the patterns' own syllables.
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/match/scoped_matcher.h"
#include "engine/match/text_matcher.h"
#include "engine/text/normalize.h"

namespace fedwall::match {
namespace {

constexpr char kPost[] =
    "<p>Good morning, fediverse! After three weeks of testing I finally moved my small instance "
    "to the new server. The migration went better than expected: the database dump took twenty "
    "minutes, the media cache was rebuilt overnight, and only two people noticed the downtime. "
    "Thanks to everyone who answered my questions about object storage and reverse proxies.</p>"
    "<p>A few notes for anyone planning the same move. First, check the disk quotas before you "
    "copy anything; the old provider counted inodes, the new one counts bytes. Second, keep the "
    "old machine running for a day so that deliveries retry against the right address. Third, "
    "write down every environment variable: I forgot the SMTP password and spent an hour "
    "wondering why nobody received confirmation mails.</p>"
    "<p>Next on the list: moderation tooling. We get a wave of spam every few weeks, usually "
    "accounts created on open-registration servers that post the same link to a crypto "
    "giveaway. Our volunteers remove them by hand, which works, but it is tiring and slow at "
    "night. I am looking at keyword filters and shared blocklists; if you run something like "
    "that, I would love to hear what worked and what produced false positives.</p>"
    "<p>Pictures of the new rack (and the cat who supervised) are here: "
    "<a href=\"https://example.social/@admin/1234\">https://example.social/@admin/1234</a> "
    "\xF0\x9F\x90\x88 #selfhosting #mastodon #fediverse #admin</p>"
    "<p>Also, the community garden meets on Saturday at ten; bring gloves, seeds and patience. "
    "The tomatoes did well this year, the peppers less so, and the sunflowers were eaten by "
    "something large and hungry that nobody has seen yet.</p>";

std::string PseudoWord(std::mt19937& rng) {
  static constexpr const char* kSyllables[] = {"ka",  "to", "ri", "an",  "me", "su", "lo", "zen",
                                               "pre", "co", "in", "ver", "ta", "mo", "li", "se",
                                               "ra",  "de", "qu", "ex",  "bo", "ni", "fa", "gu"};
  std::string w;
  const int n = 2 + static_cast<int>(rng() % 3);
  for (int i = 0; i < n; ++i) w += kSyllables[rng() % 24];
  return w;
}

// `n` distinct words and phrases.
std::vector<std::string> Words(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> words;
  std::set<std::string> seen;
  words.reserve(n);
  while (words.size() < n) {
    std::string w = PseudoWord(rng);
    if (rng() % 4 == 0) absl::StrAppend(&w, " ", PseudoWord(rng));
    if (seen.insert(w).second) words.push_back(std::move(w));
  }
  return words;
}

std::vector<std::string> RegexSources(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    const std::string w = PseudoWord(rng);
    const std::string v = PseudoWord(rng);
    switch (rng() % 8) {
      case 0:
        out.push_back(absl::StrCat("\\b", w, "\\s+", v, "\\b"));
        break;
      case 1:
        out.push_back(absl::StrCat("https?://[a-z0-9.-]*", w, "\\.(tk|ml|xyz)/"));
        break;
      case 2:
        out.push_back(absl::StrCat(w, ".{0,40}", v));
        break;
      case 3:
        out.push_back(absl::StrCat("[0-9]{3,}", w));
        break;
      case 4:
        out.push_back(absl::StrCat("(?i)", w, "[ _-]?", v));
        break;
      case 5:
        out.push_back(absl::StrCat(w, "(ing|ed|s)?\\b"));
        break;
      case 6:
        out.push_back(absl::StrCat("@[a-z0-9_]+@", w, "\\.(com|net|org)"));
        break;
      default:
        out.push_back(absl::StrCat("(free|cheap|best)\\s+", w));
        break;
    }
  }
  return out;
}

// The post, with a few pattern words planted in it.
const text::NormalizedText& Post(const std::vector<std::string>& planted) {
  static std::map<std::string, text::NormalizedText>* cache =
      new std::map<std::string, text::NormalizedText>;
  std::string key;
  for (const auto& p : planted) key += p + "\x1F";
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  std::string html = kPost;
  for (size_t i = 0; i < planted.size(); ++i) {
    html += absl::StrCat(" <p>", planted[i], " ", i, "</p>");
  }
  return cache->emplace(key, text::Normalize(text::HtmlToText(html))).first->second;
}

struct Built {
  std::unique_ptr<const TextMatcher> matcher;
  std::vector<std::string> planted;
  double build_seconds = 0;
};

const Built& Get(size_t literals, size_t regexes) {
  static std::map<std::pair<size_t, size_t>, Built>* cache =
      new std::map<std::pair<size_t, size_t>, Built>;
  auto key = std::make_pair(literals, regexes);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  Built built;
  TextMatcherBuilder b;
  const std::vector<std::string> words = Words(literals, 1);
  for (size_t i = 0; i < words.size(); ++i) {
    b.AddLiteral(static_cast<uint32_t>(i), text::Fold(words[i]), i % 2 == 0);
  }
  const std::vector<std::string> sources = RegexSources(regexes, 2);
  for (size_t i = 0; i < sources.size(); ++i) {
    b.AddRegex(static_cast<uint32_t>(1'000'000 + i), sources[i], false);
  }
  for (size_t i = 0; i < words.size() && built.planted.size() < 5; i += words.size() / 5 + 1) {
    built.planted.push_back(words[i]);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto m = std::move(b).Build({});
  built.build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!m.ok()) {
    std::fprintf(stderr, "Build failed: %s\n", std::string(m.status().message()).c_str());
    std::abort();
  }
  built.matcher = std::move(*m);
  return cache->emplace(key, std::move(built)).first->second;
}

void RunScan(benchmark::State& state, size_t literals, size_t regexes) {
  const Built& built = Get(literals, regexes);
  const text::NormalizedText& post = Post(built.planted);
  MatchScratch scratch;
  size_t hits = 0;
  for (auto _ : state) {
    built.matcher->Scan(post, scratch, [&](uint32_t, uint32_t, uint32_t) { ++hits; });
  }
  const TextMatcherStats st = built.matcher->stats();
  state.counters["bytes"] = static_cast<double>(post.unfolded.size());
  state.counters["hits_per_scan"] =
      static_cast<double>(hits) / static_cast<double>(state.iterations());
  state.counters["db_MB"] =
      static_cast<double>(st.literal_database_bytes + st.regex_database_bytes) / 1e6;
  state.counters["build_s"] = built.build_seconds;
  state.counters["fallback"] = static_cast<double>(st.regexes_fallback);
}

void BM_ScanLiterals(benchmark::State& state) {
  RunScan(state, static_cast<size_t>(state.range(0)), 0);
}
BENCHMARK(BM_ScanLiterals)->Arg(100)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kNanosecond);

void BM_ScanRegexes(benchmark::State& state) {
  RunScan(state, 0, static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_ScanRegexes)->Arg(1'000)->Unit(benchmark::kNanosecond);

// The reference workload of DESIGN.md: 10k keywords and 1k regexes on one field.
void BM_ScanLiteralsAndRegexes(benchmark::State& state) { RunScan(state, 10'000, 1'000); }
BENCHMARK(BM_ScanLiteralsAndRegexes)->Unit(benchmark::kNanosecond);

// What one Hyperscan literal database costs per byte when the text is made of the very
// syllables its literals are made of (the worst case of docs/limits.md): 668 plain literals of
// 2 to 4 syllables over 56 KiB of syllable soup (arg 0) and over the English post repeated to
// the same size (arg 1). On soup, nearly every position passes Hyperscan's literal filter and
// the scan costs several ns per byte whatever is done with the matches; on prose, a fraction.
void BM_ScanDenseText(benchmark::State& state) {
  static const Built* const kBuilt = [] {
    auto* built = new Built;
    TextMatcherBuilder b;
    const std::vector<std::string> words = Words(668, 3);
    for (size_t i = 0; i < words.size(); ++i) {
      b.AddLiteral(static_cast<uint32_t>(i), text::Fold(words[i]), /*whole_word=*/false);
    }
    auto m = std::move(b).Build({});
    if (!m.ok()) std::abort();
    built->matcher = std::move(*m);
    return built;
  }();
  constexpr size_t kBytes = 56u << 10;
  std::string raw;
  if (state.range(0) == 0) {
    std::mt19937 rng(4);
    while (raw.size() < kBytes) absl::StrAppend(&raw, PseudoWord(rng), " ");
  } else {
    const std::string post = text::HtmlToText(kPost);
    while (raw.size() < kBytes) absl::StrAppend(&raw, post, " ");
  }
  const text::NormalizedText t = text::Normalize(raw);
  MatchScratch scratch;
  size_t hits = 0;
  for (auto _ : state) {
    kBuilt->matcher->Scan(t, scratch, [&](uint32_t, uint32_t, uint32_t) { ++hits; });
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * t.folded.size()));
  state.counters["ns_per_byte"] = benchmark::Counter(
      static_cast<double>(t.folded.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["matched_ids"] =
      static_cast<double>(hits) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ScanDenseText)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_BuildLiterals(benchmark::State& state) {
  const std::vector<std::string> words = Words(static_cast<size_t>(state.range(0)), 1);
  for (auto _ : state) {
    TextMatcherBuilder b;
    for (size_t i = 0; i < words.size(); ++i) {
      b.AddLiteral(static_cast<uint32_t>(i), words[i], i % 2 == 0);
    }
    auto m = std::move(b).Build({});
    benchmark::DoNotOptimize(m);
    if (m.ok()) {
      state.counters["unique"] = static_cast<double>((*m)->stats().unique_literals);
      state.counters["db_MB"] = static_cast<double>((*m)->stats().literal_database_bytes) / 1e6;
    }
  }
}
BENCHMARK(BM_BuildLiterals)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_BuildRegexes(benchmark::State& state) {
  const std::vector<std::string> sources = RegexSources(static_cast<size_t>(state.range(0)), 2);
  for (auto _ : state) {
    TextMatcherBuilder b;
    for (size_t i = 0; i < sources.size(); ++i) {
      b.AddRegex(static_cast<uint32_t>(i), sources[i], false);
    }
    auto m = std::move(b).Build({});
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_BuildRegexes)->Arg(1'000)->Iterations(1)->Unit(benchmark::kMillisecond);

// 10k literals and 1k regexes, half on `text`, half on `content`; the post's text is its
// content and a short content warning. Arg 0: a matcher per field, as without scopes (the
// content is scanned by both); arg 1: one scoped matcher over the parts.
void BM_ScanTextAndContent(benchmark::State& state) {
  const bool shared = state.range(0) == 1;
  static const auto* built = [] {
    struct Matchers {
      std::unique_ptr<const TextMatcher> text, content, scoped;
    };
    auto* m = new Matchers;
    TextMatcherBuilder text_b, content_b;
    ScopedTextMatcherBuilder scoped_b;
    const std::vector<std::string> words = Words(10'000, 1);
    for (uint32_t i = 0; i < words.size(); ++i) {
      const std::string folded = text::Fold(words[i]);
      (i % 2 == 0 ? text_b : content_b).AddLiteral(i, folded, i % 4 < 2);
      scoped_b.AddLiteral(i, folded, i % 4 < 2, TextMatcherBuilder::Anchor::kNone, i % 2);
    }
    const std::vector<std::string> sources = RegexSources(1'000, 2);
    for (uint32_t i = 0; i < sources.size(); ++i) {
      (i % 2 == 0 ? text_b : content_b).AddRegex(100'000 + i, sources[i], false);
      scoped_b.AddRegex(100'000 + i, sources[i], false, i % 2);
    }
    m->text = std::move(*std::move(text_b).Build({}));
    m->content = std::move(*std::move(content_b).Build({}));
    m->scoped = std::move(*std::move(scoped_b).Build({}));
    return m;
  }();
  const text::NormalizedText& content = Post({});
  const text::NormalizedText summary = text::Normalize("crypto giveaway, read at your own risk");
  text::NormalizedText whole = content;
  whole.unfolded.push_back('\x1e');
  whole.unfolded += summary.unfolded;
  whole.folded.push_back('\x1e');
  whole.folded += summary.folded;
  for (uint32_t b : summary.folded_breaks) {
    whole.folded_breaks.push_back(static_cast<uint32_t>(content.folded.size() + 1 + b));
  }
  const TextSegment segments[2] = {
      {0, static_cast<uint32_t>(content.folded.size()), 0,
       static_cast<uint32_t>(content.unfolded.size()), 1},
      {static_cast<uint32_t>(content.folded.size() + 1), static_cast<uint32_t>(whole.folded.size()),
       static_cast<uint32_t>(content.unfolded.size() + 1),
       static_cast<uint32_t>(whole.unfolded.size()), 0}};
  MatchScratch scratch;
  size_t hits = 0;
  auto count = [&](uint32_t, uint32_t, uint32_t) { ++hits; };
  for (auto _ : state) {
    if (shared) {
      ScanSegments(*built->scoped, whole, segments, /*whole_scope=*/true, scratch, count);
    } else {
      built->text->Scan(whole, scratch, count);
      built->content->Scan(content, scratch, count);
    }
  }
  state.counters["bytes"] = static_cast<double>(whole.unfolded.size());
  state.counters["hits_per_scan"] =
      static_cast<double>(hits) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ScanTextAndContent)->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace fedwall::match
