// Benchmarks for engine/text. DESIGN.md budgets NFKC + case folding of 1.5 KB at 1-3 us.
//
//   cmake --build --preset release --target engine_text_bench
//   ./build/release/engine/text/engine_text_bench
#include <string>

#include "benchmark/benchmark.h"
#include "engine/text/domain.h"
#include "engine/text/normalize.h"
#include "engine/text/normalize_internal.h"

namespace fedwall::text {
namespace {

// Repeats `unit` until the result is at least `size` bytes.
std::string Repeat(std::string_view unit, size_t size) {
  std::string s;
  while (s.size() < size) s.append(unit);
  return s;
}

// About 1.5 KB of English, the common case.
const std::string& AsciiText() {
  static const std::string kText = Repeat(
      "Hey everyone! Check out this AMAZING offer: free crypto for the first 100 users. "
      "Visit our site now, don't miss out. Thanks to @alice and @bob for the tips.\n",
      1500);
  return kText;
}

// About 1.5 KB mixing accented Latin, Cyrillic, Greek, Japanese, emoji, fullwidth letters,
// a zero-width space and homoglyphs.
const std::string& MixedText() {
  static const std::string kText = Repeat(
      "Café crème à Paris — Привет, мир! Γειά σου κόσμε. 日本語のテキストです。 "
      "🎉🔥 ＦＲＥＥ ｃｒｙｐｔｏ fr\u200Bee раураl Straße naïve résumé ",
      1500);
  return kText;
}

// About 1.5 KB of mostly-ASCII European text with a few accents, quotes and an emoji: the
// common non-English case.
const std::string& LatinText() {
  static const std::string kText = Repeat(
      "Der Bäcker in München verkauft „Brötchen“ für 1,50 €. C’est déjà l’été à Paris 🌞. "
      "El niño comió piña. ",
      1500);
  return kText;
}

// A Mastodon-style HTML post of about 1.5 KB.
const std::string& HtmlPost() {
  static const std::string kHtml = Repeat(
      "<p>Hello <span class=\"h-card\" translate=\"no\"><a href=\"https://example.social/@bob\" "
      "class=\"u-url mention\">@<span>bob</span></a></span> &amp; friends, check "
      "<a href=\"https://example.com/x?a=1&amp;b=2\" rel=\"nofollow noopener\" "
      "target=\"_blank\"><span class=\"invisible\">https://</span>example.com/x</a> "
      "&mdash; it&#39;s great!<br>Second line &hellip;</p>",
      1500);
  return kHtml;
}

void BM_HtmlToText(benchmark::State& state) {
  const std::string& html = HtmlPost();
  for (auto _ : state) benchmark::DoNotOptimize(HtmlToText(html));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * html.size()));
}
BENCHMARK(BM_HtmlToText);

void BM_NormalizeAscii(benchmark::State& state) {
  const std::string& text = AsciiText();
  for (auto _ : state) benchmark::DoNotOptimize(Normalize(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_NormalizeAscii);

// The same through internal::NormalizeInto with one reused NormalizedText, as the activity
// parser normalises alt texts and poll options (no allocation once the buffers have grown).
void BM_NormalizeAsciiReused(benchmark::State& state) {
  const std::string& text = AsciiText();
  NormalizedText t;
  for (auto _ : state) {
    internal::NormalizeInto(text, &t);
    benchmark::DoNotOptimize(t);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_NormalizeAsciiReused);

void BM_NormalizeMixed(benchmark::State& state) {
  const std::string& text = MixedText();
  for (auto _ : state) benchmark::DoNotOptimize(Normalize(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_NormalizeMixed);

void BM_NormalizeLatin(benchmark::State& state) {
  const std::string& text = LatinText();
  for (auto _ : state) benchmark::DoNotOptimize(Normalize(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_NormalizeLatin);

// The same text through ICU's normalisers instead of the generated tables (what a combining
// mark anywhere in the text costs).
void BM_NormalizeMixedIcuPath(benchmark::State& state) {
  const std::string& text = MixedText();
  for (auto _ : state) {
    std::string unfolded = internal::UnfoldWithIcu(text);
    benchmark::DoNotOptimize(internal::FoldWithIcu(unfolded, nullptr));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_NormalizeMixedIcuPath);

void BM_UnfoldMixed(benchmark::State& state) {
  const std::string& text = MixedText();
  for (auto _ : state) benchmark::DoNotOptimize(Unfold(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_UnfoldMixed);

void BM_FoldMixed(benchmark::State& state) {
  const std::string unfolded = Unfold(MixedText());
  for (auto _ : state) benchmark::DoNotOptimize(Fold(unfolded));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * unfolded.size()));
}
BENCHMARK(BM_FoldMixed);

void BM_FoldMixedWithOffsets(benchmark::State& state) {
  const std::string unfolded = Unfold(MixedText());
  std::vector<uint32_t> offsets;
  for (auto _ : state) benchmark::DoNotOptimize(Fold(unfolded, &offsets));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * unfolded.size()));
}
BENCHMARK(BM_FoldMixedWithOffsets);

void BM_HtmlToTextAndNormalize(benchmark::State& state) {
  const std::string& html = HtmlPost();
  for (auto _ : state) benchmark::DoNotOptimize(Normalize(HtmlToText(html)));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * html.size()));
}
BENCHMARK(BM_HtmlToTextAndNormalize);

// HtmlToText and where the markup is, in one pass (what the activity parser runs for content,
// summary and name; it finds the links from the reported tags). The visitor here only counts.
void BM_HtmlToTextWithMarkup(benchmark::State& state) {
  class Counter : public internal::HtmlMarkupVisitor {
   public:
    void OnTag(size_t, size_t, bool, std::string_view) override { ++count; }
    void OnOtherMarkup(size_t, size_t) override { ++count; }
    size_t count = 0;
  } counter;
  const std::string& html = HtmlPost();
  std::string text;
  for (auto _ : state) {
    internal::HtmlToTextWithMarkup(html, &text, &counter);
    benchmark::DoNotOptimize(text);
  }
  benchmark::DoNotOptimize(counter.count);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * html.size()));
}
BENCHMARK(BM_HtmlToTextWithMarkup);

void BM_NormalizeDomainAscii(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(NormalizeDomain("*.Mastodon.Example.COM."));
}
BENCHMARK(BM_NormalizeDomainAscii);

void BM_NormalizeDomainIdn(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(NormalizeDomain("*.Bücher.Example."));
}
BENCHMARK(BM_NormalizeDomainIdn);

}  // namespace
}  // namespace fedwall::text
