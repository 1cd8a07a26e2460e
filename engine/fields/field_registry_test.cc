#include "engine/fields/field_registry.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall {
namespace {

using ::testing::ElementsAre;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::filesystem::path(FEDWALL_SOURCE_DIR) / "tests/fixtures/activities" / name,
                   std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Activity Parse(const std::string& fixture) {
  ActivityParser parser;
  absl::StatusOr<Activity> a = parser.Parse(Fixture(fixture));
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : Activity{};
}

// A table with fixed answers, so these tests do not depend on the blocklist readers.
class FakeDomainTable : public blocklist::DomainTable {
 public:
  std::optional<blocklist::Match> Lookup(std::string_view domain) const override {
    blocklist::Match m;
    if (domain == "mastodon.example") {
      m.severity = blocklist::Severity::kSilence;
      return m;
    }
    if (domain == "spam.example") {
      m.severity = blocklist::Severity::kSuspend;
      return m;
    }
    return std::nullopt;
  }
  size_t size() const override { return 2; }
  size_t MemoryBytes() const override { return 0; }
};

const FieldDef& Field(std::string_view name) {
  const FieldDef* f = FindField(name);
  EXPECT_NE(f, nullptr) << name;
  static const FieldDef kMissing{"", FieldType::kBool, "",
                                 [](const FieldInput&) { return FieldValue{}; }};
  return f ? *f : kMissing;
}

FieldValue Get(std::string_view name, const FieldInput& in) { return Field(name).extract(in); }

TEST(FieldRegistryTest, EveryContractFieldIsThereWithItsType) {
  const std::vector<std::pair<std::string, FieldType>> want = {
      {"type", FieldType::kKeyword},
      {"object.type", FieldType::kKeyword},
      {"actor", FieldType::kKeyword},
      {"actor.domain", FieldType::kDomain},
      {"object.domain", FieldType::kDomain},
      {"announcer.domain", FieldType::kDomain},
      {"origin.domain", FieldType::kDomain},
      {"origin.ip", FieldType::kKeyword},
      {"origin.signed", FieldType::kBool},
      {"content", FieldType::kText},
      {"summary", FieldType::kText},
      {"name", FieldType::kText},
      {"text", FieldType::kText},
      {"hashtags", FieldType::kKeywordList},
      {"hashtags.count", FieldType::kNumber},
      {"mentions", FieldType::kKeywordList},
      {"mentions.count", FieldType::kNumber},
      {"links", FieldType::kKeywordList},
      {"links.count", FieldType::kNumber},
      {"links.domains", FieldType::kDomainList},
      {"attachments.types", FieldType::kKeywordList},
      {"attachments.count", FieldType::kNumber},
      {"emojis", FieldType::kKeywordList},
      {"emojis.count", FieldType::kNumber},
      {"language", FieldType::kKeyword},
      {"sensitive", FieldType::kBool},
      {"reply", FieldType::kBool},
      {"quote", FieldType::kBool},
      {"visibility", FieldType::kKeyword},
      {"recipients.count", FieldType::kNumber},
      {"object.age", FieldType::kDuration},
      {"actor.name", FieldType::kText},
      {"actor.bio", FieldType::kText},
      {"actor.username", FieldType::kKeyword},
      {"actor.age", FieldType::kDuration},
      {"actor.followers", FieldType::kNumber},
      {"actor.following", FieldType::kNumber},
      {"actor.posts", FieldType::kNumber},
      {"actor.bot", FieldType::kBool},
      {"actor.followed", FieldType::kBool},
      {"actor.domain.severity", FieldType::kKeyword},
      // Counters, written with a window: `text.seen(1h)`.
      {"actor.rate", FieldType::kNumber},
      {"actor.domain.rate", FieldType::kNumber},
      {"text.seen", FieldType::kNumber},
      {"text.seen_domains", FieldType::kNumber},
      {"text.similar", FieldType::kNumber},
  };
  for (const auto& [name, type] : want) {
    const FieldDef* f = FindField(name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->type, type) << name;
    EXPECT_EQ(f->counter, name.find(".rate") != std::string::npos ||
                              name.starts_with("text.s"))
        << name;
  }
  EXPECT_EQ(AllFields().size(), want.size());
}

TEST(FieldRegistryTest, CountersAreUnknownFromAnActivityAlone) {
  Activity a;
  a.type = "Create";
  RequestFacts facts;
  FieldInput in{a, facts, absl::Now()};
  for (std::string_view name :
       {"actor.rate", "actor.domain.rate", "text.seen", "text.seen_domains", "text.similar"}) {
    EXPECT_FALSE(IsKnown(Get(name, in))) << name;
  }
}

TEST(FieldRegistryTest, TableIsWellFormed) {
  std::set<std::string_view> names;
  for (const FieldDef& f : AllFields()) {
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate " << f.name;
    EXPECT_FALSE(f.description.empty()) << f.name;
    EXPECT_EQ(f.description.find('\n'), std::string_view::npos) << f.name;
    EXPECT_LE(f.description.size(), 100u) << f.name;
    EXPECT_NE(f.extract, nullptr) << f.name;
    EXPECT_EQ(f.text != nullptr, f.type == FieldType::kText) << f.name;
    EXPECT_EQ(FindField(f.name), &f);
  }
  EXPECT_EQ(FindField("nope"), nullptr);
  EXPECT_EQ(FindField(""), nullptr);
  EXPECT_EQ(FindField("actor."), nullptr);
}

TEST(FieldRegistryTest, TypeNames) {
  EXPECT_STREQ(FieldTypeName(FieldType::kText), "text");
  EXPECT_STREQ(FieldTypeName(FieldType::kKeyword), "keyword");
  EXPECT_STREQ(FieldTypeName(FieldType::kDomain), "domain");
  EXPECT_STREQ(FieldTypeName(FieldType::kNumber), "number");
  EXPECT_STREQ(FieldTypeName(FieldType::kDuration), "duration");
  EXPECT_STREQ(FieldTypeName(FieldType::kBool), "bool");
  EXPECT_STREQ(FieldTypeName(FieldType::kKeywordList), "keyword list");
  EXPECT_STREQ(FieldTypeName(FieldType::kDomainList), "domain list");
}

TEST(FieldRegistryTest, Roots) {
  for (std::string_view root :
       {"text",     "type",      "actor",    "object",   "announcer",  "origin",      "content",
        "summary",  "name",      "hashtags", "mentions", "links",      "attachments", "emojis",
        "language", "sensitive", "reply",    "quote",    "visibility", "recipients"}) {
    EXPECT_TRUE(IsFieldRoot(root)) << root;
  }
  for (std::string_view other : {"", "spam", "count", "domain", "actor.age", "ACTOR", "act"}) {
    EXPECT_FALSE(IsFieldRoot(other)) << other;
  }
}

TEST(FieldRegistryTest, ActivityFieldsFromAMastodonNote) {
  Activity a = Parse("mastodon-create-note.json");
  RequestFacts facts;
  absl::Time now = absl::FromCivil(absl::CivilSecond(2024, 2, 15, 10, 30, 0), absl::UTCTimeZone());
  FieldInput in{a, facts, now};
  EXPECT_EQ(std::get<std::string>(Get("type", in)), "Create");
  EXPECT_EQ(std::get<std::string>(Get("object.type", in)), "Note");
  EXPECT_EQ(std::get<std::string>(Get("actor", in)), "https://mastodon.example/users/alice");
  EXPECT_EQ(std::get<std::string>(Get("actor.domain", in)), "mastodon.example");
  EXPECT_EQ(std::get<std::string>(Get("object.domain", in)), "mastodon.example");
  EXPECT_EQ(std::get<std::string>(Get("announcer.domain", in)), "");
  EXPECT_THAT(std::get<std::vector<std::string>>(Get("hashtags", in)),
              ElementsAre("gardening", "communitygarden"));
  EXPECT_EQ(std::get<double>(Get("hashtags.count", in)), 2);
  EXPECT_EQ(std::get<double>(Get("mentions.count", in)), 1);
  EXPECT_EQ(std::get<double>(Get("links.count", in)), 1);
  EXPECT_THAT(std::get<std::vector<std::string>>(Get("links.domains", in)),
              ElementsAre("garden.example"));
  EXPECT_THAT(std::get<std::vector<std::string>>(Get("attachments.types", in)),
              ElementsAre("image/jpeg"));
  EXPECT_EQ(std::get<double>(Get("attachments.count", in)), 1);
  EXPECT_EQ(std::get<double>(Get("emojis.count", in)), 1);
  EXPECT_EQ(std::get<std::string>(Get("language", in)), "en");
  EXPECT_EQ(std::get<bool>(Get("sensitive", in)), false);
  EXPECT_EQ(std::get<bool>(Get("reply", in)), false);
  EXPECT_EQ(std::get<bool>(Get("quote", in)), false);
  EXPECT_EQ(std::get<std::string>(Get("visibility", in)), "public");
  EXPECT_EQ(std::get<double>(Get("recipients.count", in)), 1);
  EXPECT_EQ(std::get<absl::Duration>(Get("object.age", in)), absl::Hours(1));

  // Text fields: the value is the unfolded text; the accessor gives both forms.
  EXPECT_EQ(std::get<std::string>(Get("content", in)), a.content.unfolded);
  EXPECT_EQ(Field("content").text(in), &a.content);
  EXPECT_EQ(Field("summary").text(in), &a.summary);
  EXPECT_EQ(Field("name").text(in), &a.name);
  EXPECT_EQ(Field("text").text(in), &a.text);
  EXPECT_EQ(std::get<std::string>(Get("summary", in)), "");
}

TEST(FieldRegistryTest, UnknownValues) {
  Activity a = Parse("mastodon-follow.json");
  RequestFacts facts;
  FieldInput in{a, facts, absl::Now()};
  // Activity fields are known even when absent, except object.age and language.
  EXPECT_EQ(std::get<std::string>(Get("content", in)), "");
  EXPECT_TRUE(std::get<std::vector<std::string>>(Get("hashtags", in)).empty());
  EXPECT_EQ(std::get<double>(Get("hashtags.count", in)), 0);
  EXPECT_EQ(std::get<bool>(Get("sensitive", in)), false);
  EXPECT_FALSE(IsKnown(Get("object.age", in)));
  EXPECT_FALSE(IsKnown(Get("language", in)));
  // Request facts are unknown unless supplied; so is the actor's profile without facts.
  for (std::string_view f :
       {"origin.domain", "origin.ip", "origin.signed", "actor.age", "actor.followers",
        "actor.following", "actor.posts", "actor.bot", "actor.followed", "actor.name", "actor.bio",
        "actor.username", "actor.domain.severity"}) {
    EXPECT_FALSE(IsKnown(Get(f, in))) << f;
  }
  EXPECT_EQ(Field("actor.name").text(in), nullptr);
  EXPECT_EQ(Field("actor.bio").text(in), nullptr);
}

TEST(FieldRegistryTest, RequestFacts) {
  Activity a = Parse("mastodon-follow.json");
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  RequestFacts facts;
  facts.delivery.sender_domain = "*.Mastodon.EXAMPLE.";
  facts.delivery.remote_ip = "192.0.2.7";
  facts.delivery.signature_verified = true;
  facts.actor.created_at = now - absl::Hours(36);
  facts.actor.followers_count = 3;
  facts.actor.following_count = 500;
  facts.actor.statuses_count = 0;
  facts.actor.bot = false;
  facts.actor.followed_by_local_users = true;
  facts.actor.display_name = "Alice";
  facts.actor.bio = "<p>gardener &amp; cook</p>";
  MergeActorFacts(facts.actor, &a);
  FieldInput in{a, facts, now};
  EXPECT_EQ(std::get<std::string>(Get("origin.domain", in)), "mastodon.example");
  EXPECT_EQ(std::get<std::string>(Get("origin.ip", in)), "192.0.2.7");
  EXPECT_EQ(std::get<bool>(Get("origin.signed", in)), true);
  EXPECT_EQ(std::get<absl::Duration>(Get("actor.age", in)), absl::Hours(36));
  EXPECT_EQ(std::get<double>(Get("actor.followers", in)), 3);
  EXPECT_EQ(std::get<double>(Get("actor.following", in)), 500);
  EXPECT_EQ(std::get<double>(Get("actor.posts", in)), 0);
  EXPECT_EQ(std::get<bool>(Get("actor.bot", in)), false);
  EXPECT_EQ(std::get<bool>(Get("actor.followed", in)), true);
  EXPECT_EQ(std::get<std::string>(Get("actor.name", in)), "Alice");
  EXPECT_EQ(std::get<std::string>(Get("actor.bio", in)), "gardener & cook");
  ASSERT_NE(Field("actor.bio").text(in), nullptr);
  EXPECT_EQ(Field("actor.bio").text(in)->folded, "gardener & cook");

  // An origin that is not a domain is unknown; an account from the future is 0 old.
  facts.delivery.sender_domain = "not a domain";
  facts.actor.created_at = now + absl::Hours(1);
  EXPECT_FALSE(IsKnown(Get("origin.domain", in)));
  EXPECT_EQ(std::get<absl::Duration>(Get("actor.age", in)), absl::ZeroDuration());
}

TEST(FieldRegistryTest, ObjectAgeIsNeverNegative) {
  Activity a = Parse("mastodon-create-note.json");
  RequestFacts facts;
  FieldInput in{a, facts, *a.published - absl::Minutes(5)};
  EXPECT_EQ(std::get<absl::Duration>(Get("object.age", in)), absl::ZeroDuration());
}

TEST(FieldRegistryTest, ActorDomainSeverity) {
  FakeDomainTable table;
  RequestFacts facts;
  Activity note = Parse("mastodon-create-note.json");
  FieldInput in{note, facts, absl::Now(), &table};
  EXPECT_EQ(std::get<std::string>(Get("actor.domain.severity", in)), "silence");

  Activity spam = Parse("mastodon-create-note-mentions.json");
  FieldInput spam_in{spam, facts, absl::Now(), &table};
  EXPECT_EQ(std::get<std::string>(Get("actor.domain.severity", spam_in)), "suspend");

  Activity other = Parse("gotosocial-create-note.json");
  FieldInput other_in{other, facts, absl::Now(), &table};
  EXPECT_EQ(std::get<std::string>(Get("actor.domain.severity", other_in)), "none");

  Activity no_actor;
  FieldInput no_actor_in{no_actor, facts, absl::Now(), &table};
  EXPECT_EQ(std::get<std::string>(Get("actor.domain.severity", no_actor_in)), "none");
}

TEST(FieldRegistryTest, EmbeddedActorFields) {
  Activity a = Parse("mastodon-person.json");
  RequestFacts facts;
  FieldInput in{a, facts, absl::Now()};
  EXPECT_EQ(std::get<std::string>(Get("actor.username", in)), "alice");
  EXPECT_EQ(std::get<std::string>(Get("actor.name", in)), "Alice :sunflower: Gärtner");
  EXPECT_NE(Field("actor.name").text(in), nullptr);
}

TEST(FieldRegistryTest, EffectiveNow) {
  RequestFacts facts;
  absl::Time fallback = absl::FromUnixSeconds(100);
  EXPECT_EQ(EffectiveNow(facts, fallback), fallback);
  facts.delivery.received_at = absl::FromUnixSeconds(200);
  EXPECT_EQ(EffectiveNow(facts, fallback), absl::FromUnixSeconds(200));
}

}  // namespace
}  // namespace fedwall
