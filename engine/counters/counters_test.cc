#include "engine/counters/counters.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::counters {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

// A Mastodon-style Create{Note} by `actor` with `html` as content.
Activity Note(const std::string& actor, const std::string& html,
              const std::string& type = "Create") {
  std::string json = absl::StrCat(R"({"id":")", actor, "/act/", html.size(), R"(","type":")",
                                  type, R"(","actor":")", actor, R"(","object":{"id":")", actor,
                                  R"(/note","type":"Note","content":")", html, R"("}})");
  ActivityParser parser;
  absl::StatusOr<Activity> a = parser.Parse(json);
  EXPECT_TRUE(a.ok()) << a.status() << "\n" << json;
  return a.ok() ? *a : Activity{};
}

TEST(CountersTest, NamesRoundTrip) {
  for (CounterKind kind : {CounterKind::kActorRate, CounterKind::kDomainRate,
                           CounterKind::kTextSeen, CounterKind::kTextSeenDomains,
                           CounterKind::kTextSimilar}) {
    EXPECT_EQ(FindCounterKind(CounterKindName(kind)), kind);
  }
  EXPECT_EQ(FindCounterKind("actor.age"), std::nullopt);
  EXPECT_EQ(CounterRefName({CounterKind::kActorRate, absl::Minutes(10)}), "actor.rate(10m)");
  EXPECT_EQ(CounterRefName({CounterKind::kTextSeen, absl::Hours(1)}), "text.seen(1h)");
  EXPECT_EQ(CounterRefName({CounterKind::kTextSimilar, absl::Hours(24 * 7)}),
            "text.similar(1w)");
  EXPECT_EQ(CounterRefName({CounterKind::kDomainRate, absl::Seconds(90)}),
            "actor.domain.rate(90s)");
  EXPECT_EQ(CounterRefName({CounterKind::kTextSeenDomains, absl::Hours(48)}),
            "text.seen_domains(2d)");
}

TEST(CountersTest, CounterTextDropsMentionsLinksAndHashtags) {
  // The same spam addressed to two victims, with another link and tag each time.
  Activity a = Note("https://spam.example/users/a",
                    R"(<p><span class=\"h-card\"><a href=\"https://victim.example/@alice\" )"
                    R"(class=\"u-url mention\">@<span>alice</span></a></span> FREE crypto, )"
                    R"(see <a href=\"https://scam.example/x\">https://scam.example/x</a> )"
                    R"(<a href=\"https://spam.example/tags/win\" class=\"mention hashtag\" )"
                    R"(rel=\"tag\">#<span>win</span></a></p>)");
  Activity b = Note("https://spam.example/users/b",
                    R"(@bob@victim.example Free   CRYPTO see scam.example/y #lucky)");
  EXPECT_EQ(CounterText(a), "free crypto see");
  EXPECT_EQ(CounterText(b), CounterText(a));
  EXPECT_EQ(KeysFor(a).text_digest, KeysFor(b).text_digest);
  EXPECT_EQ(KeysFor(a).text_digest.size(), 16u);
}

TEST(CountersTest, CounterTextFoldsLikeRulesAndSplitsSpacelessScripts) {
  // Full-width letters and a Cyrillic look-alike fold to the same words; punctuation splits.
  EXPECT_EQ(CounterText(Note("https://a.example/u", "ｆｒｅｅ crуpto!!! (now)")),
            "free crypto now");
  // Each Han or Kana character is a word of its own.
  EXPECT_EQ(CounterText(Note("https://a.example/u", "無料の暗号")), "無 料 の 暗 号");
  // Only mentions, links and tags: no counter text.
  EXPECT_EQ(CounterText(Note("https://a.example/u", "@x #y https://z.example/")), "");
}

TEST(CountersTest, WordsJoinedToAMentionTagOrLinkStillCount) {
  // Only the mention, hashtag or link is removed: what is glued to it is read as words, so a
  // wave cannot hide its text by joining it to a mention.
  EXPECT_EQ(CounterText(Note("https://a.example/u", "@alice—free—crypto—giveaway—now")),
            "free crypto giveaway now");
  EXPECT_EQ(CounterText(Note("https://a.example/u", "#win:free,crypto,giveaway,now")),
            "free crypto giveaway now");
  EXPECT_EQ(CounterText(Note("https://a.example/u", "https://x.example/a—free crypto")),
            "free crypto");
  // Dots between words are not a domain unless there is a path or it is a link's host.
  EXPECT_EQ(CounterText(Note("https://a.example/u", "free.crypto.giveaway.now")),
            "free crypto giveaway now");
  EXPECT_EQ(CounterText(Note("https://a.example/u", "wait...what is this")),
            "wait what is this");
  EXPECT_EQ(CounterText(Note("https://a.example/u",
                             R"(see <a href=\"https://scam.example/x\">scam.example</a> now)")),
            "see now");
  // An e-mail address and words with '@' or '#' inside stay words.
  EXPECT_EQ(CounterText(Note("https://a.example/u", "mail me@home c#sharp")),
            "mail me home c sharp");
}

TEST(CountersTest, ManyLinkDomainsAndSymbolTokensCostLinearTime) {
  // A document with thousands of links and tens of thousands of tokens without words (the
  // shape that once made each token check every link domain): the token bound and the set of
  // link domains keep it linear and bounded.
  std::string html;
  for (int i = 0; i < 3000; ++i) {
    absl::StrAppend(&html, R"(<a href=\"https://d)", i, R"(.example/\">x</a> )");
  }
  for (int i = 0; i < 40000; ++i) absl::StrAppend(&html, "\u2603 ");
  html += "tail words";
  const Activity a = Note("https://a.example/u", html);
  ASSERT_GE(a.link_domains.size(), 1000u);
  const absl::Time start = absl::Now();
  std::string text = CounterText(a);
  EXPECT_EQ(text.substr(0, 1), "x");
  // Generous: linear work on ~200 KB is milliseconds; the quadratic form took seconds.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(CountersTest, OnlyCreateAndUpdateWithTextCountAsText) {
  EXPECT_TRUE(KeysFor(Note("https://a.example/u", "hello")).counts_text);
  EXPECT_TRUE(KeysFor(Note("https://a.example/u", "hello", "Update")).counts_text);
  EXPECT_FALSE(KeysFor(Note("https://a.example/u", "@someone")).counts_text);
  ActivityParser parser;
  absl::StatusOr<Activity> like = parser.Parse(
      R"({"id":"https://a.example/l","type":"Like","actor":"https://a.example/u",)"
      R"("object":"https://b.example/n","content":"hello"})");
  ASSERT_TRUE(like.ok()) << like.status();
  EXPECT_FALSE(KeysFor(*like).counts_text);
}

// The share of bands two word lists have in common.
int SharedBands(const std::vector<std::string>& x, const std::vector<std::string>& y) {
  std::array<uint64_t, kSimilarBands> a = SimilarityBands(absl::StrJoin(x, " "));
  std::array<uint64_t, kSimilarBands> b = SimilarityBands(absl::StrJoin(y, " "));
  int shared = 0;
  for (int i = 0; i < kSimilarBands; ++i) shared += a[i] == b[i] ? 1 : 0;
  return shared;
}

TEST(CountersTest, NearDuplicatesShareABandAndOtherTextsDoNot) {
  std::vector<std::string> spam;
  for (int i = 0; i < 20; ++i) spam.push_back(absl::StrCat("word", i));
  EXPECT_EQ(SharedBands(spam, spam), kSimilarBands);
  // Word order and repeats do not matter (a set of words).
  std::vector<std::string> shuffled(spam.rbegin(), spam.rend());
  shuffled.push_back("word3");
  EXPECT_EQ(SharedBands(spam, shuffled), kSimilarBands);

  // Three random words appended (J = 0.87): caught in nearly every trial; unrelated texts
  // of the same length (J = 0): never.
  int caught = 0;
  int false_matches = 0;
  constexpr int kTrials = 200;
  for (int t = 0; t < kTrials; ++t) {
    std::vector<std::string> text;
    for (int i = 0; i < 20; ++i) text.push_back(absl::StrCat("s", t, "w", i));
    std::vector<std::string> variant = text;
    for (int k = 0; k < 3; ++k) variant.push_back(absl::StrCat("noise", t, "x", k));
    caught += SharedBands(text, variant) > 0 ? 1 : 0;
    std::vector<std::string> other;
    for (int i = 0; i < 20; ++i) other.push_back(absl::StrCat("other", t, "w", i));
    false_matches += SharedBands(spam, other) > 0 ? 1 : 0;
  }
  EXPECT_GE(caught, kTrials * 90 / 100);  // expected 98%
  EXPECT_EQ(false_matches, 0);

  // Half the words replaced (J = 1/3): rarely (expected about 2.5%). The chance is over
  // texts (the hash functions are fixed), so each trial takes another text.
  int half = 0;
  for (int t = 0; t < kTrials; ++t) {
    std::vector<std::string> text;
    for (int i = 0; i < 20; ++i) text.push_back(absl::StrCat("t", t, "w", i));
    std::vector<std::string> variant(text.begin(), text.begin() + 10);
    for (int k = 0; k < 10; ++k) variant.push_back(absl::StrCat("swap", t, "x", k));
    half += SharedBands(text, variant) > 0 ? 1 : 0;
  }
  EXPECT_LE(half, kTrials * 8 / 100);
}

TEST(CountersTest, BandsAreStableAcrossProcesses) {
  // Nodes sharing a Redis must agree on the bands: pinned values (no per-process seed).
  std::array<uint64_t, kSimilarBands> bands = SimilarityBands("free crypto see");
  std::array<uint64_t, kSimilarBands> again = SimilarityBands("free crypto see");
  EXPECT_EQ(bands, again);
  EXPECT_NE(bands[0], 0u);
  EXPECT_EQ(SimilarityBands(""), (std::array<uint64_t, kSimilarBands>{}));
}

TEST(CountersTest, PlanAsksOnlyWhatTheStoreMustAnswer) {
  std::vector<CounterRef> refs = {{CounterKind::kActorRate, absl::Minutes(10)},
                                  {CounterKind::kDomainRate, absl::Hours(1)},
                                  {CounterKind::kTextSeen, absl::Hours(1)},
                                  {CounterKind::kTextSeenDomains, absl::Hours(1)},
                                  {CounterKind::kTextSimilar, absl::Hours(1)}};
  ActivityKeys keys = KeysFor(Note("https://spam.example/users/a", "buy now"));
  CounterPlan plan = PlanFor(refs, keys);
  ASSERT_EQ(plan.queries.size(), 5u);
  EXPECT_THAT(plan.query_of, ElementsAre(0, 1, 2, 3, 4));
  EXPECT_FALSE(plan.queries[0].distinct);
  EXPECT_THAT(plan.queries[0].keys, ElementsAre("ar:https://spam.example/users/a"));
  EXPECT_EQ(plan.queries[0].window, absl::Minutes(10));
  EXPECT_THAT(plan.queries[1].keys, ElementsAre("dr:spam.example"));
  EXPECT_TRUE(plan.queries[2].distinct);
  EXPECT_EQ(plan.queries[2].member, "https://spam.example/users/a");
  EXPECT_EQ(plan.queries[3].member, "spam.example");
  EXPECT_NE(plan.queries[2].keys[0], plan.queries[3].keys[0]);
  EXPECT_EQ(plan.queries[4].keys.size(), static_cast<size_t>(kSimilarBands));

  // A Like has no text: the text counters need no query.
  keys.counts_text = false;
  plan = PlanFor(refs, keys);
  EXPECT_EQ(plan.queries.size(), 2u);
  EXPECT_THAT(plan.query_of, ElementsAre(0, 1, -1, -1, -1));
}

// A store that records what it was asked and answers 7 (or nothing, when `down`).
class FakeStore : public CounterStore {
 public:
  void Count(absl::Time now, bool record, std::span<const CounterQuery> queries,
             std::vector<std::optional<double>>* values) override {
    ++calls;
    last_now = now;
    last_record = record;
    asked = queries.size();
    values->assign(queries.size(), down ? std::nullopt : std::optional<double>(7));
  }
  CounterStoreStats stats() const override { return {}; }
  std::string description() const override { return "fake"; }

  bool down = false;
  int calls = 0;
  size_t asked = 0;
  absl::Time last_now;
  bool last_record = true;
};

TEST(CountersTest, CountAsksTheStoreOnceAndFillsEveryRef) {
  std::vector<CounterRef> refs = {{CounterKind::kActorRate, absl::Minutes(10)},
                                  {CounterKind::kTextSeen, absl::Hours(1)}};
  FakeStore store;
  std::vector<std::optional<double>> values;
  const absl::Time now = absl::FromUnixSeconds(1'708'000'000);
  Count(store, refs, Note("https://a.example/u", "hello there"), now, /*record=*/false, &values);
  EXPECT_EQ(store.calls, 1);
  EXPECT_EQ(store.asked, 2u);
  EXPECT_EQ(store.last_now, now);
  EXPECT_FALSE(store.last_record);
  EXPECT_THAT(values, ElementsAre(Optional(7.0), Optional(7.0)));

  // Not a text activity: text.seen is 0 without asking; the store is asked for the rest.
  Count(store, refs, Note("https://a.example/u", "@only-a-mention"), now, true, &values);
  EXPECT_EQ(store.asked, 1u);
  EXPECT_THAT(values, ElementsAre(Optional(7.0), Optional(0.0)));

  // The store away: unknown, never 0.
  store.down = true;
  Count(store, refs, Note("https://a.example/u", "hello there"), now, true, &values);
  EXPECT_THAT(values, ElementsAre(std::nullopt, std::nullopt));

  // No refs: the store is not asked.
  const int calls = store.calls;
  Count(store, {}, Note("https://a.example/u", "hello"), now, true, &values);
  EXPECT_EQ(store.calls, calls);
  EXPECT_TRUE(values.empty());
}

TEST(CountersTest, HugeTextsAreCutAtTheWordLimit) {
  std::string html;
  for (size_t i = 0; i < kMaxCounterWords + 500; ++i) absl::StrAppend(&html, "w", i, " ");
  std::string text = CounterText(Note("https://a.example/u", html));
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), ' ')) + 1,
            kMaxCounterWords);
}

}  // namespace
}  // namespace fedwall::counters
