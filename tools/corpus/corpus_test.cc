#include "tools/corpus/corpus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "engine/activity/activity.h"

namespace fedwall::corpus {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kExpectedHash = 5672558746309541755ULL;

TEST(CorpusTest, SameSeedSameBytes) {
  CorpusGenerator a({.seed = 7});
  CorpusGenerator b({.seed = 7});
  for (uint64_t i = 0; i < 500; ++i) ASSERT_EQ(a.Generate(i).json, b.Generate(i).json) << i;
  // Any slice can be generated alone: activity i does not depend on the ones before it.
  EXPECT_EQ(a.Generate(12345).json, CorpusGenerator({.seed = 7}).Generate(12345).json);
}

TEST(CorpusTest, KnownBytesDoNotDrift) {
  // A corpus is a benchmark's input: the bytes for a seed must not change by accident. If
  // you change the generator on purpose, update this hash (and say so: numbers move).
  CorpusGenerator g({.seed = 42});
  uint64_t h = 0xCBF29CE484222325ULL;
  for (uint64_t i = 0; i < 200; ++i) {
    for (char c : g.Generate(i).json) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
  }
  // Recorded from the first build of this generator.
  EXPECT_EQ(h, kExpectedHash) << "corpus bytes changed: " << h;
}

TEST(CorpusTest, DifferentSeedsDiffer) {
  CorpusGenerator a({.seed = 1});
  CorpusGenerator b({.seed = 2});
  int same = 0;
  for (uint64_t i = 0; i < 100; ++i) same += a.Generate(i).json == b.Generate(i).json ? 1 : 0;
  EXPECT_LT(same, 5);
}

TEST(CorpusTest, TheMixIsTheReferenceMix) {
  CorpusGenerator g({.seed = 3, .spam_share = 0.1});
  std::map<ActivityKind, int> kinds;
  int creates = 0;
  int spam = 0;
  constexpr int kN = 20000;
  for (uint64_t i = 0; i < kN; ++i) {
    GeneratedActivity a = g.Generate(i);
    ++kinds[a.kind];
    if (a.kind == ActivityKind::kCreate) {
      ++creates;
      spam += a.spam != SpamKind::kNone ? 1 : 0;
    }
  }
  // 45/30/15/10 within two percentage points.
  EXPECT_NEAR(kinds[ActivityKind::kCreate], kN * 0.45, kN * 0.02);
  EXPECT_NEAR(kinds[ActivityKind::kLike], kN * 0.30, kN * 0.02);
  EXPECT_NEAR(kinds[ActivityKind::kAnnounce], kN * 0.15, kN * 0.02);
  EXPECT_NEAR(kinds[ActivityKind::kFollow], kN * 0.10, kN * 0.02);
  EXPECT_NEAR(spam, creates * 0.1, creates * 0.02);
}

TEST(CorpusTest, EveryActivityIsUnderstoodByTheEngine) {
  CorpusGenerator g({.seed = 5, .spam_share = 0.2});
  ActivityParser parser;
  std::set<std::string> types;
  std::set<std::string> visibilities;
  size_t longest = 0;
  int with_mentions = 0, with_hashtags = 0, with_links = 0, with_media = 0, japanese = 0;
  int lemmy = 0;
  for (uint64_t i = 0; i < 3000; ++i) {
    GeneratedActivity a = g.Generate(i);
    ASSERT_EQ(a.json.find('\n'), std::string::npos) << "one line per activity";
    absl::StatusOr<Activity> parsed = parser.Parse(a.json);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << a.json;
    if (a.kind == ActivityKind::kAnnounce && parsed->type == "Create") {
      // Lemmy's Announce{Create{Page}} is read as the Create, by the announcing group.
      EXPECT_THAT(parsed->announcer_domain, ::testing::StartsWith("lemmy.")) << a.json;
      ++lemmy;
    } else {
      EXPECT_EQ(parsed->type, KindName(a.kind)) << a.json;
    }
    types.insert(parsed->object_type);
    if (a.kind != ActivityKind::kCreate) continue;
    visibilities.insert(parsed->visibility);
    longest = std::max(longest, parsed->content.unfolded.size());
    with_mentions += parsed->mentions.empty() ? 0 : 1;
    with_hashtags += parsed->hashtags.empty() ? 0 : 1;
    with_links += parsed->links.empty() ? 0 : 1;
    with_media += parsed->attachment_types.empty() ? 0 : 1;
    japanese += parsed->language == "ja" ? 1 : 0;
    ASSERT_TRUE(parsed->published.has_value()) << a.json;
  }
  EXPECT_TRUE(types.contains("Note"));
  EXPECT_TRUE(types.contains("Page"));  // Lemmy's Announce{Create{Page}}, read as the Create
  EXPECT_EQ(visibilities, (std::set<std::string>{"public", "unlisted", "followers", "direct"}));
  EXPECT_GT(longest, 1000u) << "long posts too";
  EXPECT_GT(with_mentions, 100);
  EXPECT_GT(with_hashtags, 100);
  EXPECT_GT(with_links, 100);
  EXPECT_GT(with_media, 50);
  EXPECT_GT(japanese, 10);
  EXPECT_GT(lemmy, 10);
}

TEST(CorpusTest, SpamLooksLikeSpam) {
  CorpusGenerator g({.seed = 9, .spam_share = 1.0, .creates_only = true});
  ActivityParser parser;
  std::map<SpamKind, int> kinds;
  for (uint64_t i = 0; i < 300; ++i) {
    GeneratedActivity a = g.Generate(i);
    ASSERT_EQ(a.kind, ActivityKind::kCreate);
    ASSERT_NE(a.spam, SpamKind::kNone);
    ++kinds[a.spam];
    absl::StatusOr<Activity> parsed = parser.Parse(a.json);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    switch (a.spam) {
      case SpamKind::kMentionSpam:
        EXPECT_GE(parsed->mentions.size(), 5u);
        EXPECT_FALSE(parsed->links.empty());
        EXPECT_FALSE(parsed->attachment_types.empty());
        break;
      case SpamKind::kCryptoScam:
        EXPECT_FALSE(parsed->links.empty());
        EXPECT_FALSE(parsed->hashtags.empty());
        break;
      case SpamKind::kLinkSpam:
        EXPECT_GE(parsed->links.size(), 3u);
        break;
      case SpamKind::kNone:
        break;
    }
  }
  EXPECT_EQ(kinds.size(), 3u);
}

TEST(CorpusTest, NoSpamWhenTheShareIsZero) {
  CorpusGenerator g({.seed = 11, .spam_share = 0, .creates_only = true});
  for (uint64_t i = 0; i < 1000; ++i) ASSERT_EQ(g.Generate(i).spam, SpamKind::kNone);
}

TEST(CorpusTest, OnlyReservedDomains) {
  CorpusGenerator g({.seed = 13, .spam_share = 0.3});
  ActivityParser parser;
  const std::set<std::string> shorteners = {"bit.ly", "tinyurl.com", "cutt.ly", "is.gd",
                                            "rb.gy",  "t.ly",        "ow.ly",   "s.id"};
  for (uint64_t i = 0; i < 2000; ++i) {
    absl::StatusOr<Activity> a = parser.Parse(g.Generate(i).json);
    ASSERT_TRUE(a.ok());
    EXPECT_THAT(a->actor_domain, ::testing::EndsWith(".example"));
    for (const std::string& d : a->link_domains) {
      if (!shorteners.contains(d)) {
        EXPECT_THAT(d, ::testing::EndsWith(".example"));
      }
    }
  }
}

}  // namespace
}  // namespace fedwall::corpus
