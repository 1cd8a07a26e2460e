// Parsing cost of one activity, split so the budget in DESIGN.md can be checked stage by stage:
//   BM_SimdjsonDom          simdjson's DOM parse alone (the floor)
//   BM_NormalizeContent     HTML -> text and both normal forms of the note's content alone
//   BM_Parse/...            ActivityParser::Parse: JSON, every field, links, normalisation
//   BM_ParseAndExtractAll   Parse, then every field of the registry extracted once
// Run: ./build/dev/engine/activity/engine_activity_bench
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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
