// Parsing cost of one activity, split so the budget in DESIGN.md can be checked stage by stage:
//   BM_SimdjsonDom          simdjson's DOM parse alone (the floor)
//   BM_NormalizeContent     HTML -> text and both normal forms of the note's content alone
//   BM_Parse/...            ActivityParser::Parse: JSON, every field, links, normalisation
//   BM_ParseAndExtractAll   Parse, then every field of the registry extracted once
//   BM_ParseMix             DESIGN.md's reference mix (45% Create with texts from a sentence
//                           to a long post, 30% Like, 15% Announce, 10% Follow), parse only;
//                           items_per_second is activities parsed per second on one core
// Run: ./build/dev/engine/activity/engine_activity_bench
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "engine/activity/activity.h"
#include "engine/fields/field_registry.h"
#include "engine/text/normalize.h"
#include "simdjson.h"

namespace fedwall {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::filesystem::path(FEDWALL_SOURCE_DIR) / "tests/fixtures/activities" / name,
                   std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The fixture without insignificant white space, as servers send it.
std::string Minified(const std::string& name) {
  std::string json = Fixture(name);
  std::string out(json.size(), '\0');
  size_t len = 0;
  if (simdjson::minify(json.data(), json.size(), out.data(), len) != simdjson::SUCCESS) return json;
  out.resize(len);
  return out;
}

void BM_SimdjsonDom(benchmark::State& state) {
  std::string json = Minified("mastodon-create-note.json");
  simdjson::dom::parser parser;
  for (auto _ : state) {
    simdjson::dom::element root;
    auto error = parser.parse(json.data(), json.size(), true).get(root);
    benchmark::DoNotOptimize(error);
    benchmark::DoNotOptimize(root);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
  state.SetLabel(std::to_string(json.size()) + " bytes");
}
BENCHMARK(BM_SimdjsonDom);

void BM_NormalizeContent(benchmark::State& state) {
  ActivityParser parser;
  std::string json = Minified("mastodon-create-note.json");
  // The content's HTML, as the parser sees it.
  simdjson::dom::parser dom;
  std::string_view html = dom.parse(json)["object"]["content"].get_string().value_unsafe();
  std::string copy(html);
  for (auto _ : state) {
    text::NormalizedText t = text::Normalize(text::HtmlToText(copy));
    benchmark::DoNotOptimize(t);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * copy.size()));
  state.SetLabel(std::to_string(copy.size()) + " bytes of HTML");
}
BENCHMARK(BM_NormalizeContent);

void ParseFixture(benchmark::State& state, const std::string& json) {
  ActivityParser parser;
  for (auto _ : state) {
    absl::StatusOr<Activity> a = parser.Parse(json);
    if (!a.ok()) {
      state.SkipWithError(std::string(a.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(a);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
  state.SetLabel(std::to_string(json.size()) + " bytes");
}

void BM_Parse_MastodonNote(benchmark::State& state) {
  ParseFixture(state, Minified("mastodon-create-note.json"));
}
BENCHMARK(BM_Parse_MastodonNote);

void BM_Parse_MastodonNoteIndented(benchmark::State& state) {
  ParseFixture(state, Fixture("mastodon-create-note.json"));
}
BENCHMARK(BM_Parse_MastodonNoteIndented);

void BM_Parse_Follow(benchmark::State& state) {
  ParseFixture(state, Minified("mastodon-follow.json"));
}
BENCHMARK(BM_Parse_Follow);

void BM_Parse_LemmyAnnounce(benchmark::State& state) {
  ParseFixture(state, Minified("lemmy-announce-create-page.json"));
}
BENCHMARK(BM_Parse_LemmyAnnounce);

constexpr char kLike[] =
    R"({"@context":"https://www.w3.org/ns/activitystreams",)"
    R"("id":"https://mastodon.example/users/alice#likes/12345","type":"Like",)"
    R"("actor":"https://mastodon.example/users/alice",)"
    R"("object":"https://social.example/users/bob/statuses/112233445566778899"})";

void BM_Parse_Like(benchmark::State& state) { ParseFixture(state, kLike); }
BENCHMARK(BM_Parse_Like);

void BM_ParseMix(benchmark::State& state) {
  const std::vector<std::string> creates = {
      Minified("mastodon-create-note.json"), Minified("mastodon-create-note-mentions.json"),
      Minified("gotosocial-create-note.json"), Minified("misskey-create-note-quote.json"),
      Minified("mastodon-create-note-direct.json")};
  const std::vector<std::string> announces = {Minified("pleroma-announce.json"),
                                              Minified("lemmy-announce-create-page.json")};
  const std::string follow = Minified("mastodon-follow.json");
  // A fixed, seeded sequence, so every run parses the same documents in the same order.
  std::vector<const std::string*> mix;
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> percent(0, 99);
  for (int i = 0; i < 1000; ++i) {
    const int p = percent(rng);
    if (p < 45) {
      mix.push_back(&creates[rng() % creates.size()]);
    } else if (p < 75) {
      static const std::string kLikeString = kLike;
      mix.push_back(&kLikeString);
    } else if (p < 90) {
      mix.push_back(&announces[rng() % announces.size()]);
    } else {
      mix.push_back(&follow);
    }
  }
  ActivityParser parser;
  size_t next = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    const std::string& json = *mix[next];
    next = next + 1 == mix.size() ? 0 : next + 1;
    absl::StatusOr<Activity> a = parser.Parse(json);
    if (!a.ok()) {
      state.SkipWithError(std::string(a.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(a);
    bytes += static_cast<int64_t>(json.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_ParseMix);

void BM_ParseAndExtractAll(benchmark::State& state) {
  std::string json = Minified("mastodon-create-note.json");
  ActivityParser parser;
  RequestFacts facts;
  facts.actor.followers_count = 10;
  facts.actor.created_at = absl::FromUnixSeconds(1'700'000'000);
  absl::Time now = absl::FromUnixSeconds(1'710'000'000);
  for (auto _ : state) {
    absl::StatusOr<Activity> a = parser.Parse(json);
    MergeActorFacts(facts.actor, &*a);
    FieldInput in{*a, facts, now};
    for (const FieldDef& f : AllFields()) {
      FieldValue v = f.extract(in);
      benchmark::DoNotOptimize(v);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
}
BENCHMARK(BM_ParseAndExtractAll);

}  // namespace
}  // namespace fedwall
