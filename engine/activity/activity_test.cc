#include "engine/activity/activity.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Fixture(const std::string& name) {
  std::filesystem::path p =
      std::filesystem::path(FEDWALL_SOURCE_DIR) / "tests/fixtures/activities" / name;
  std::string data = ReadFile(p);
  EXPECT_FALSE(data.empty()) << "missing fixture " << p;
  return data;
}

Activity MustParse(std::string_view json, ActivityParseOptions options = {}) {
  ActivityParser parser(options);
  absl::StatusOr<Activity> a = parser.Parse(json);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : Activity{};
}

Activity MustParseFixture(const std::string& name) { return MustParse(Fixture(name)); }

absl::Status ParseError(std::string_view json, ActivityParseOptions options = {}) {
  ActivityParser parser(options);
  return parser.Parse(json).status();
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// A Create{Note} whose object has the given extra JSON members.
std::string CreateNote(const std::string& object_members,
                       const std::string& activity_members = "") {
  return R"({"type":"Create","id":"https://a.example/1/activity",)"
         R"("actor":"https://a.example/users/x",)" +
         activity_members + R"("object":{"type":"Note","id":"https://a.example/1")" +
         (object_members.empty() ? "" : "," + object_members) + "}}";
}

// ----- Mastodon

TEST(ActivityParserTest, MastodonCreateNote) {
  Activity a = MustParseFixture("mastodon-create-note.json");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.id, "https://mastodon.example/users/alice/statuses/112233445566778899/activity");
  EXPECT_EQ(a.actor, "https://mastodon.example/users/alice");
  EXPECT_EQ(a.actor_domain, "mastodon.example");
  EXPECT_EQ(a.object_type, "Note");
  EXPECT_EQ(a.object_id, "https://mastodon.example/users/alice/statuses/112233445566778899");
  EXPECT_EQ(a.object_domain, "mastodon.example");
  EXPECT_THAT(a.object_domains, ElementsAre("mastodon.example"));
  EXPECT_EQ(a.announcer, "");
  EXPECT_EQ(a.content.unfolded,
            "@bob Spring is here & the garden club meets on Saturday! We'll swap cuttings "
            ":sunflower: and plan the new beds. Details and the map: "
            "https://garden.example/meetups/spring-2024?ref=fedi&lang=en #Gardening "
            "#CommunityGarden");
  EXPECT_THAT(a.content.folded, HasSubstr("spring is here & the garden club"));
  EXPECT_EQ(a.summary.unfolded, "");
  EXPECT_EQ(a.name.unfolded, "");
  EXPECT_EQ(a.text.unfolded,
            a.content.unfolded + kTextSeparator + "Trays of seedlings on a sunny windowsill");
  EXPECT_EQ(a.text.folded,
            a.content.folded + kTextSeparator + "trays of seedlings on a sunny windowsill");
  EXPECT_THAT(a.hashtags, ElementsAre("gardening", "communitygarden"));
  EXPECT_THAT(a.mentions, ElementsAre("https://social.example/users/bob"));
  EXPECT_THAT(a.links, ElementsAre("https://garden.example/meetups/spring-2024?ref=fedi&lang=en"));
  EXPECT_THAT(a.link_domains, ElementsAre("garden.example"));
  EXPECT_THAT(a.attachment_types, ElementsAre("image/jpeg"));
  EXPECT_THAT(a.emojis, ElementsAre("sunflower"));
  EXPECT_EQ(a.language, "en");
  EXPECT_FALSE(a.sensitive);
  EXPECT_FALSE(a.reply);
  EXPECT_FALSE(a.quote);
  EXPECT_EQ(a.visibility, "public");
  EXPECT_EQ(a.recipients_count, 1u);  // bob; Public and followers do not count
  EXPECT_EQ(a.published, Utc(2024, 2, 15, 9, 30, 0));
  EXPECT_FALSE(a.actor_name.has_value());
  EXPECT_FALSE(a.actor_bio.has_value());
  EXPECT_FALSE(a.actor_username.has_value());
}

TEST(ActivityParserTest, MastodonMentionSpam) {
  Activity a = MustParseFixture("mastodon-create-note-mentions.json");
  EXPECT_THAT(
      a.mentions,
      ElementsAre("https://mastodon.example/users/alice", "https://social.example/users/bob",
                  "https://social.example/users/carol", "https://misskey.example/users/9abc",
                  "https://gts.example/users/dave", "@frank@old.example"));
  // The mention links are not links; the bare URL is, with its entities decoded.
  EXPECT_THAT(a.links, ElementsAre("https://claim.spam.example/now?id=1&x=2"));
  EXPECT_THAT(a.link_domains, ElementsAre("claim.spam.example"));
  EXPECT_EQ(a.recipients_count, 5u);
  EXPECT_EQ(a.visibility, "public");
  EXPECT_THAT(a.content.folded, HasSubstr("free crypto giveaway"));
}

TEST(ActivityParserTest, MastodonDirectMessage) {
  Activity a = MustParseFixture("mastodon-create-note-direct.json");
  EXPECT_EQ(a.visibility, "direct");
  EXPECT_EQ(a.recipients_count, 2u);  // to bob, bcc carol
  EXPECT_THAT(a.mentions, ElementsAre("https://social.example/users/bob"));
  EXPECT_THAT(a.links, IsEmpty());
  EXPECT_EQ(a.content.unfolded, "@bob see you Saturday");
}

TEST(ActivityParserTest, MastodonPoll) {
  Activity a = MustParseFixture("mastodon-question.json");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.object_type, "Question");
  const std::string sep(1, kTextSeparator);
  EXPECT_EQ(a.text.unfolded, "Which should we plant first?" + sep + "Tomatoes" + sep +
                                 "Beans (see https://beans.example/guide)" + sep + "Pumpkins");
  // A bare URL in a poll option is a link; the closing bracket is not part of it.
  EXPECT_THAT(a.links, ElementsAre("https://beans.example/guide"));
}

TEST(ActivityParserTest, MastodonFlagWithArrayObject) {
  Activity a = MustParseFixture("mastodon-flag.json");
  EXPECT_EQ(a.type, "Flag");
  EXPECT_EQ(a.actor_domain, "mastodon.example");
  EXPECT_EQ(a.object_id, "https://spam.example/users/fresh1234");
  EXPECT_EQ(a.object_type, "");
  EXPECT_EQ(a.object_domain, "spam.example");
  EXPECT_THAT(a.object_domains, ElementsAre("spam.example", "other-spam.example"));
  // A report's comment is what it says.
  EXPECT_EQ(a.content.unfolded, "Spam wave: same text from many new accounts");
  EXPECT_FALSE(a.published.has_value());
}

TEST(ActivityParserTest, MastodonFollow) {
  Activity a = MustParseFixture("mastodon-follow.json");
  EXPECT_EQ(a.type, "Follow");
  EXPECT_EQ(a.object_id, "https://social.example/users/bob");
  EXPECT_EQ(a.object_type, "");
  EXPECT_EQ(a.object_domain, "social.example");
  EXPECT_EQ(a.visibility, "direct");
  EXPECT_EQ(a.recipients_count, 0u);
  EXPECT_EQ(a.text.unfolded, "");
  EXPECT_FALSE(a.published.has_value());
  EXPECT_FALSE(a.language.has_value());
}

TEST(ActivityParserTest, BareActorIsUpdateOfItself) {
  Activity a = MustParseFixture("mastodon-person.json");
  EXPECT_EQ(a.type, "Update");
  EXPECT_EQ(a.actor, "https://mastodon.example/users/alice");
  EXPECT_EQ(a.actor_domain, "mastodon.example");
  EXPECT_EQ(a.object_type, "Person");
  EXPECT_EQ(a.object_id, a.actor);
  EXPECT_EQ(a.object_domain, "mastodon.example");
  ASSERT_TRUE(a.actor_name.has_value());
  EXPECT_EQ(a.actor_name->unfolded, "Alice :sunflower: Gärtner");
  ASSERT_TRUE(a.actor_bio.has_value());
  EXPECT_EQ(a.actor_bio->unfolded,
            "Gardener, <b>not</b> a bot. Seeds swap: https://garden.example");
  EXPECT_EQ(a.actor_username, "alice");
  // Profile text is actor.name/actor.bio, never content.
  EXPECT_EQ(a.text.unfolded, "");
  EXPECT_THAT(a.attachment_types, IsEmpty());
  EXPECT_THAT(a.links, IsEmpty());
  EXPECT_EQ(a.visibility, "direct");
}

TEST(ActivityParserTest, UpdateOfActorFillsActorFields) {
  Activity a = MustParseFixture("mastodon-update-person.json");
  EXPECT_EQ(a.type, "Update");
  EXPECT_EQ(a.object_type, "Person");
  ASSERT_TRUE(a.actor_name.has_value());
  EXPECT_EQ(a.actor_name->unfolded, "CHEAP PILLS");
  EXPECT_EQ(a.actor_name->folded, "cheap pills");
  ASSERT_TRUE(a.actor_bio.has_value());
  EXPECT_EQ(a.actor_bio->unfolded, "Visit pills.example");
  EXPECT_EQ(a.actor_username, "spammy");
  EXPECT_EQ(a.visibility, "public");
}

TEST(ActivityParserTest, RequestFactsWinOverEmbeddedActor) {
  Activity a = MustParseFixture("mastodon-update-person.json");
  ActorFacts facts;
  facts.display_name = "Real  Name";
  facts.bio = "<p>hello &amp; welcome</p>";
  MergeActorFacts(facts, &a);
  EXPECT_EQ(a.actor_name->unfolded, "Real Name");
  EXPECT_EQ(a.actor_bio->unfolded, "hello & welcome");
  EXPECT_EQ(a.actor_username, "spammy");

  Activity b = MustParseFixture("mastodon-follow.json");
  MergeActorFacts(ActorFacts{}, &b);
  EXPECT_FALSE(b.actor_name.has_value());
  facts.bio.reset();
  MergeActorFacts(facts, &b);
  EXPECT_EQ(b.actor_name->unfolded, "Real Name");
  EXPECT_FALSE(b.actor_bio.has_value());
}

// ----- Misskey, Pleroma/Akkoma, GoToSocial, Lemmy, PeerTube

TEST(ActivityParserTest, MisskeyQuoteWithEmojiInSummary) {
  Activity a = MustParseFixture("misskey-create-note-quote.json");
  EXPECT_TRUE(a.quote);
  EXPECT_EQ(a.summary.unfolded, "spoilers :blobcat_think:");
  EXPECT_THAT(a.emojis, ElementsAre("blobcat_heart", "blobcat_think"));
  EXPECT_THAT(a.hashtags, ElementsAre("猫"));
  // rel="tag" is a hashtag link; the RE: link is a real one.
  EXPECT_THAT(a.links, ElementsAre("https://mastodon.example/@alice/112233445566778899"));
  EXPECT_EQ(a.visibility, "public");
  EXPECT_EQ(a.published, Utc(2024, 3, 1, 12, 0, 0) + absl::Milliseconds(123));
  EXPECT_FALSE(a.language.has_value());
  EXPECT_THAT(a.text.unfolded, HasSubstr(std::string(1, kTextSeparator) + "spoilers"));
}

TEST(ActivityParserTest, MisskeyEmojiReaction) {
  Activity a = MustParseFixture("misskey-emoji-react.json");
  EXPECT_EQ(a.type, "Like");
  EXPECT_EQ(a.object_type, "");
  EXPECT_EQ(a.object_domain, "mastodon.example");
  EXPECT_EQ(a.content.unfolded, ":party_parrot@.:");
  EXPECT_THAT(a.emojis, ElementsAre("party_parrot"));
}

TEST(ActivityParserTest, PleromaEmojiReact) {
  Activity a = MustParseFixture("pleroma-emoji-react.json");
  EXPECT_EQ(a.type, "EmojiReact");
  EXPECT_EQ(a.content.unfolded, "🌻");
  EXPECT_EQ(a.visibility, "unlisted");
  EXPECT_EQ(a.recipients_count, 1u);
}

TEST(ActivityParserTest, AnnounceOfUriStaysAnnounce) {
  Activity a = MustParseFixture("pleroma-announce.json");
  EXPECT_EQ(a.type, "Announce");
  EXPECT_EQ(a.actor, "https://pleroma.example/users/lain");
  EXPECT_EQ(a.announcer, "");
  EXPECT_EQ(a.object_type, "");
  EXPECT_EQ(a.object_id, "https://mastodon.example/users/alice/statuses/112233445566778899");
  EXPECT_EQ(a.object_domain, "mastodon.example");
  EXPECT_EQ(a.visibility, "unlisted");
  EXPECT_EQ(a.recipients_count, 1u);
  EXPECT_EQ(a.text.unfolded, "");
}

TEST(ActivityParserTest, AnnounceOfEmbeddedNoteStaysAnnounce) {
  Activity a = MustParseFixture("pleroma-announce-note.json");
  EXPECT_EQ(a.type, "Announce");
  EXPECT_EQ(a.actor, "https://pleroma.example/users/lain");
  EXPECT_EQ(a.announcer, "");
  EXPECT_EQ(a.object_type, "Note");
  EXPECT_EQ(a.object_domain, "akkoma.example");
  EXPECT_EQ(a.content.unfolded, "Buy cheap watches at watches.example/deal");
  EXPECT_THAT(a.links, ElementsAre("https://watches.example/deal"));
  EXPECT_EQ(a.published, Utc(2024, 2, 14, 8, 0, 0));
}

TEST(ActivityParserTest, AkkomaInlineActor) {
  Activity a = MustParseFixture("akkoma-create-inline-actor.json");
  EXPECT_EQ(a.actor, "https://akkoma.example/users/mint");
  EXPECT_EQ(a.actor_domain, "akkoma.example");
  ASSERT_TRUE(a.actor_name.has_value());
  EXPECT_EQ(a.actor_name->unfolded, "Mint 🌿");
  EXPECT_EQ(a.actor_bio->unfolded, "cozy posts only");
  EXPECT_EQ(a.actor_username, "mint");
  // Addressed to the embedded actor's followers collection, which has its own name.
  EXPECT_EQ(a.visibility, "followers");
  EXPECT_EQ(a.recipients_count, 0u);
}

TEST(ActivityParserTest, PleromaContentMapWithoutContent) {
  Activity a = MustParseFixture("pleroma-note-contentmap.json");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.actor, "https://pleroma.example/users/lain");
  EXPECT_EQ(a.object_type, "Note");
  EXPECT_EQ(a.content.unfolded, "Guten Morgen & schönen Tag!");
  EXPECT_EQ(a.language, "de");
  EXPECT_FALSE(a.sensitive);  // null
  EXPECT_EQ(a.summary.unfolded, "");
  EXPECT_EQ(a.visibility, "unlisted");  // cc Public wins over the followers in to
}

TEST(ActivityParserTest, GoToSocialFollowersOnlyWithSingleValues) {
  Activity a = MustParseFixture("gotosocial-create-note.json");
  EXPECT_EQ(a.visibility, "followers");
  EXPECT_EQ(a.recipients_count, 0u);
  EXPECT_THAT(a.attachment_types, ElementsAre("image/png"));
  EXPECT_THAT(a.hashtags, ElementsAre("caturday"));
  EXPECT_TRUE(a.sensitive);
  EXPECT_TRUE(a.reply);
  EXPECT_EQ(a.summary.unfolded, "cat pics");
  EXPECT_THAT(a.text.unfolded, HasSubstr("A cat asleep on a keyboard"));
  // A bare URL in an attachment description is a link.
  EXPECT_THAT(a.links, ElementsAre("https://cats.example/keyboard"));
  EXPECT_EQ(a.published, Utc(2024, 2, 20, 17, 45, 12));
}

TEST(ActivityParserTest, LemmyAnnounceOfCreatePageIsTheInnerActivity) {
  Activity a = MustParseFixture("lemmy-announce-create-page.json");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.id, "https://lemmy.example/activities/create/4a4b4c4d-0000-4000-8000-00000000abcd");
  EXPECT_EQ(a.actor, "https://lemmy.example/u/rosa");
  EXPECT_EQ(a.announcer, "https://lemmy.example/c/gardening");
  EXPECT_EQ(a.announcer_domain, "lemmy.example");
  EXPECT_EQ(a.object_type, "Page");
  EXPECT_EQ(a.object_id, "https://lemmy.example/post/31337");
  EXPECT_EQ(a.name.unfolded, "Best tomato varieties for a short summer?");
  EXPECT_EQ(a.content.unfolded,
            "I\u2019m in a cold climate. Any tips? My notes are here: my notes");
  EXPECT_THAT(a.links, ElementsAre("https://notes.example/tomatoes",
                                   "https://seeds.example/catalog/tomatoes"));
  EXPECT_THAT(a.attachment_types, IsEmpty());  // a Link attachment is a link, not media
  EXPECT_EQ(a.language, "en");
  EXPECT_THAT(a.hashtags, ElementsAre("gardening"));
  EXPECT_EQ(a.visibility, "public");
  EXPECT_EQ(a.recipients_count, 1u);  // the community
}

TEST(ActivityParserTest, PeerTubeCreateVideo) {
  Activity a = MustParseFixture("peertube-create-video.json");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.object_type, "Video");
  EXPECT_EQ(a.name.unfolded, "Building a raised bed in 10 minutes");
  EXPECT_EQ(a.content.unfolded,
            "Plans and the wood list: https://maker.example/raised-bed.pdf. Music by "
            "**Someone**.");
  EXPECT_THAT(a.hashtags, ElementsAre("diy", "gardening"));
  EXPECT_EQ(a.language, "en");
  EXPECT_THAT(a.links, ElementsAre("https://maker.example/raised-bed.pdf"));
  EXPECT_THAT(a.attachment_types, IsEmpty());
  EXPECT_EQ(a.visibility, "public");
}

TEST(ActivityParserTest, BareObjectIsCreateByAttributedToPerson) {
  Activity a = MustParseFixture("peertube-video.json");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.id, "https://peertube.example/videos/watch/0a0b0c0d-1111-4222-8333-444455556666");
  EXPECT_EQ(a.actor, "https://peertube.example/accounts/maker");  // the Person, not the Group
  EXPECT_EQ(a.actor_domain, "peertube.example");
  EXPECT_EQ(a.object_type, "Video");
  EXPECT_EQ(a.object_domain, "peertube.example");
  EXPECT_EQ(a.published, Utc(2024, 5, 1, 10, 0, 0));
}

TEST(ActivityParserTest, AttributedToShapes) {
  Activity a =
      MustParse(R"({"type":"Note","attributedTo":{"type":"Person","id":"https://b.example/u/1",)"
                R"("name":"Bee","preferredUsername":"bee"}})");
  EXPECT_EQ(a.actor, "https://b.example/u/1");
  EXPECT_EQ(a.object_domain, "b.example");  // no id: the author's host
  EXPECT_EQ(a.actor_name->unfolded, "Bee");
  EXPECT_EQ(a.actor_username, "bee");

  Activity b = MustParse(
      R"({"type":"Article","attributedTo":["https://c.example/u/1","https://d.example/u/2"]})");
  EXPECT_EQ(b.actor, "https://c.example/u/1");

  // No attributedTo: the object's `actor`.
  Activity c = MustParse(R"({"type":"Note","actor":"https://e.example/u/1"})");
  EXPECT_EQ(c.actor, "https://e.example/u/1");
  EXPECT_EQ(c.type, "Create");
}

TEST(ActivityParserTest, ActorShapes) {
  // An array of actors (Prismo): the first counts.
  Activity a =
      MustParse(R"({"type":"Create","actor":[{"type":"Person","id":"https://p.example/@m"}],)"
                R"("object":{"type":"Article","id":"https://p.example/posts/1"}})");
  EXPECT_EQ(a.actor, "https://p.example/@m");
  EXPECT_EQ(a.actor_domain, "p.example");
  EXPECT_FALSE(a.actor_name.has_value());  // an embedded actor that gives no name
  // No actor at all: the object's author.
  Activity b = MustParse(
      R"({"type":"Create","object":{"type":"Note","attributedTo":"https://q.example/u/1"}})");
  EXPECT_EQ(b.actor, "https://q.example/u/1");
  EXPECT_EQ(b.actor_domain, "q.example");
}

TEST(ActivityParserTest, TypeAsArray) {
  Activity a = MustParse(R"({"type":["Note","ext:Thing"],"attributedTo":"https://a.example/x"})");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.object_type, "Note");
}

TEST(ActivityParserTest, AnnounceOfAnnounceUsesOutermostAnnouncer) {
  Activity a = MustParse(
      R"({"type":"Announce","id":"https://g.example/a/1","actor":"https://g.example/c/x",)"
      R"("object":{"type":"Announce","actor":"https://h.example/c/y",)"
      R"("object":{"type":"Like","id":"https://u.example/l/1","actor":"https://u.example/u/z",)"
      R"("object":"https://v.example/p/1"}}})");
  EXPECT_EQ(a.type, "Like");
  EXPECT_EQ(a.actor, "https://u.example/u/z");
  EXPECT_EQ(a.announcer_domain, "g.example");
  EXPECT_EQ(a.object_domain, "v.example");
  EXPECT_EQ(a.id, "https://u.example/l/1");
}

TEST(ActivityParserTest, UndoOfEmbeddedActivity) {
  Activity a = MustParse(
      R"({"type":"Undo","actor":"https://a.example/u/1","object":{"type":"Follow",)"
      R"("id":"https://a.example/f/1","actor":"https://a.example/u/1","object":"https://b.example/u/2"}})");
  EXPECT_EQ(a.type, "Undo");
  EXPECT_EQ(a.object_type, "Follow");
  EXPECT_EQ(a.object_domain, "a.example");
}

// ----- visibility and recipients

struct VisibilityCase {
  std::string to, cc, want;
};

TEST(ActivityParserTest, VisibilityTable) {
  const std::string kPublic = R"("https://www.w3.org/ns/activitystreams#Public")";
  const std::string kFollowers = R"("https://a.example/users/x/followers")";
  const std::string kBob = R"("https://b.example/users/bob")";
  std::vector<VisibilityCase> cases = {
      {"[" + kPublic + "]", "[" + kFollowers + "]", "public"},
      {R"(["as:Public"])", "[]", "public"},
      {R"("Public")", "[]", "public"},
      {"[" + kFollowers + "]", "[" + kPublic + "]", "unlisted"},
      {"[" + kFollowers + "]", "[" + kBob + "]", "followers"},
      {"[" + kBob + "]", "[" + kFollowers + "]", "followers"},
      {"[" + kBob + "]", "[]", "direct"},
      {"[]", "[]", "direct"},
  };
  for (const VisibilityCase& c : cases) {
    Activity a = MustParse(CreateNote(R"("to":)" + c.to + R"(,"cc":)" + c.cc));
    EXPECT_EQ(a.visibility, c.want) << "to=" << c.to << " cc=" << c.cc;
  }
}

TEST(ActivityParserTest, VisibilityFallsBackToTheActivity) {
  // The object says nothing: the activity's addressing counts.
  Activity a = MustParse(CreateNote("", R"("to":["https://b.example/u/1"],"cc":["as:Public"],)"));
  EXPECT_EQ(a.visibility, "unlisted");
  // The object says something: only the object's addressing counts.
  Activity b = MustParse(CreateNote(R"("to":["https://b.example/u/1"])",
                                    R"("to":["https://www.w3.org/ns/activitystreams#Public"],)"));
  EXPECT_EQ(b.visibility, "direct");
}

TEST(ActivityParserTest, RecipientsCountIsDistinctAcrossActivityAndObject) {
  Activity a = MustParse(
      CreateNote(R"("to":["https://b.example/u/1","as:Public"],"cc":["https://b.example/u/2",)"
                 R"("https://a.example/users/x/followers"],"bto":"https://b.example/u/3",)"
                 R"("bcc":[{"id":"https://b.example/u/4"}])",
                 R"("to":["https://b.example/u/1"],"cc":["https://b.example/u/5"],)"));
  EXPECT_EQ(a.recipients_count, 5u);
}

// ----- links, mentions, hashtags

TEST(ActivityParserTest, LinksAreNotMentionsOrHashtags) {
  std::string content =
      R"(<p><a href=\"https://m.example/tags/a\" class=\"mention hashtag\" rel=\"tag\">#a</a> )"
      R"(<a href=\"https://misskey.example/tags/b\" rel=\"nofollow tag\">#b</a> )"
      R"(<span class=\"h-card\"><a href=\"https://m.example/@c\" class=\"u-url mention\">@c</a></span> )"
      R"(<a href=\"https://m.example/users/d\">@d</a> )"
      R"(<a href='https://real.example/x?a=1&amp;b=2'>https://real.example/x?a=1&amp;b=2</a> )"
      R"(<A HREF=\"https://Upper.Example/Y\">y</A> )"
      R"(<!-- <a href=\"https://comment.example/\">no</a> --> )"
      R"(see https://bare.example/page, and <3 http://also.example.)</p>)";
  Activity a = MustParse(CreateNote(
      R"("content":")" + content +
      R"(","tag":[{"type":"Mention","href":"https://m.example/users/d","name":"@d@m.example"}])"));
  EXPECT_THAT(a.links, ElementsAre("https://real.example/x?a=1&b=2", "https://Upper.Example/Y",
                                   "https://bare.example/page", "http://also.example"));
  EXPECT_THAT(a.link_domains,
              ElementsAre("real.example", "upper.example", "bare.example", "also.example"));
  EXPECT_THAT(a.mentions, ElementsAre("https://m.example/users/d"));
}

TEST(ActivityParserTest, LinksFromSummaryAndLinkAttachments) {
  Activity a = MustParse(
      CreateNote(R"("summary":"read https://cw.example/x first","attachment":[{"type":"Link",)"
                 R"("href":"https://att.example/y"},{"type":"Document","mediaType":"Image/PNG"},)"
                 R"("https://files.example/z.bin",{"type":"Image","name":"no type"}])"));
  EXPECT_THAT(a.links, ElementsAre("https://cw.example/x", "https://att.example/y"));
  EXPECT_THAT(a.attachment_types, ElementsAre("image/png", "", ""));
}

TEST(ActivityParserTest, MalformedMarkupIsReadLeniently) {
  for (std::string content : {
           R"(<a href=\"https://x.example/)",
           R"(<a href)",
           R"(<a)",
           R"(<)",
           R"(</)",
           R"(<!--)",
           R"(<a href=https://unquoted.example/p>u</a>)",
           R"(a < b > c)",
           R"(<a href=\"https://x.example/\" href=\"https://y.example/\">two</a>)",
       }) {
    Activity a = MustParse(CreateNote(R"("content":")" + content + R"(")"));
    for (const std::string& link : a.links) EXPECT_THAT(link, StartsWith("http")) << content;
  }
  Activity a = MustParse(CreateNote(R"("content":"<a href=https://unquoted.example/p>u</a>")"));
  EXPECT_THAT(a.links, ElementsAre("https://unquoted.example/p"));
}

// Links are found during the HTML-to-text pass. Where the text's reading of markup and the
// link reader's could differ (comments, "<!", "<?", "</" + non-letter, script and style, a
// vertical tab, an <a> whose end they place differently), the link reader's reading is the
// one that counts, as it always was; these cases pin it down. One parser reads them all, in
// both orders, so that buffers kept from one parse to the next are exercised too.
TEST(ActivityParserTest, LinksWhereTheTextAndLinkReadersOfMarkupDiffer) {
  struct Case {
    std::string content;  // JSON string contents
    std::vector<std::string> links;
  };
  const std::vector<Case> cases = {
      {R"(<p>see <a href=\"https://a.example/1?x=1&amp;y=2\">x</a> and https://b.example/2.</p>)",
       {"https://a.example/1?x=1&y=2", "https://b.example/2"}},
      // An end tag: quotes are not special to the link reader, so its "</a" ends at the first
      // '>' and the rest is text outside the anchor.
      {R"(before</a x=\">https://q.example/ \">after https://r.example/)",
       {"https://q.example/", "https://r.example/"}},
      // A stray '=' before a quote: the tag ends at the quoted '>' for the link reader.
      {R"(<a =\">\" href=\"https://eq.example/\">x</a> https://after.example/)",
       {"https://after.example/"}},
      // A vertical tab separates the tag name for the link reader only.
      {R"(<a\u000bhref=\"https://v.example/\">v</a> https://w.example/)",
       {"https://v.example/", "https://w.example/"}},
      {R"(<p>x<!-- https://c.example/ --> https://d.example/</p>)", {"https://d.example/"}},
      {R"(<!-->https://c2.example/ --> https://c3.example/)", {"https://c3.example/"}},
      {R"(<script>var u = \"https://s.example/\";</script><p>https://t.example/</p>)",
       {"https://s.example/", "https://t.example/"}},
      {R"(<style>a{background:url(https://st.example/i.png)}</style>)",
       {"https://st.example/i.png"}},
      {R"(</ https://slash.example/ >x)", {"https://slash.example/"}},
      {R"(<?xml https://pi.example/ ?>y https://pj.example/)", {"https://pj.example/"}},
      {R"(text <a href=\"https://open.example/\")", {"https://open.example/"}},
      {R"(<span title=\"a>https://inq.example/\">z</span> https://out.example/)",
       {"https://out.example/"}},
      {R"(<a href=\"https://m.example/@u\" class=\"u-url mention\">@u</a> )"
       R"(<a href=\"https://h.example/tags/x\" rel=\"Tag\">#x</a> )"
       R"(<a href=\"https://l.example/\" class=\"Mention\">l</a>)",
       {"https://l.example/"}},
  };
  ActivityParser parser;
  for (int round = 0; round < 2; ++round) {
    for (size_t k = 0; k < cases.size(); ++k) {
      const Case& c = cases[round == 0 ? k : cases.size() - 1 - k];
      absl::StatusOr<Activity> a = parser.Parse(CreateNote(R"("content":")" + c.content + "\""));
      ASSERT_TRUE(a.ok()) << a.status() << " " << c.content;
      EXPECT_EQ(a->links, c.links) << c.content;
    }
  }
}

TEST(ActivityParserTest, HashtagsMentionsEmojisAreDistinctAndFolded) {
  Activity a = MustParse(CreateNote(
      R"("tag":[{"type":"Hashtag","name":"#Spam"},{"type":"Hashtag","name":"spam"},)"
      R"({"type":"Hashtag","name":"#ＦＲＥＥ"},{"type":"Hashtag"},"https://x.example/t",)"
      R"({"type":"Mention","name":"bob@b.example"},{"type":"Mention","name":"@bob@b.example"},)"
      R"({"type":"Emoji","name":":Blob:"},{"type":"Emoji","name":"blob"},)"
      R"({"type":"Emoji","name":":cat:"}])"));
  EXPECT_THAT(a.hashtags, ElementsAre("spam", "free"));
  EXPECT_THAT(a.mentions, ElementsAre("@bob@b.example"));
  EXPECT_THAT(a.emojis, ElementsAre("blob", "cat"));
}

TEST(ActivityParserTest, ManyDistinctValuesStayLinear) {
  std::string tags, content;
  for (int i = 0; i < 1000; ++i) {
    if (i) tags += ",";
    tags += R"({"type":"Hashtag","name":"#t)" + std::to_string(i) + R"("})";
  }
  for (int i = 0; i < 20000; ++i) {
    content += "https://l" + std::to_string(i) + ".example/ ";
  }
  Activity a = MustParse(CreateNote(R"("tag":[)" + tags + R"(],"content":")" + content + "\""));
  EXPECT_EQ(a.hashtags.size(), 1000u);
  EXPECT_EQ(a.links.size(), 20000u);
  EXPECT_EQ(a.link_domains.size(), 20000u);
}

TEST(ActivityParserTest, MaxArrayItemsCapsEveryArray) {
  std::string tags;
  for (int i = 0; i < 50; ++i) {
    if (i) tags += ",";
    tags += R"({"type":"Hashtag","name":"#t)" + std::to_string(i) + R"("})";
  }
  ActivityParseOptions options;
  options.max_array_items = 10;
  Activity a = MustParse(CreateNote(R"("tag":[)" + tags + "]"), options);
  EXPECT_EQ(a.hashtags.size(), 10u);
}

// ----- content details

TEST(ActivityParserTest, SummaryNameAndTextParts) {
  Activity a = MustParse(
      CreateNote(R"("content":"<p>body</p>","summary":"CW :blob:","name":"Title",)"
                 R"("attachment":[{"type":"Document","mediaType":"image/png","name":"alt one"},)"
                 R"({"type":"Document","mediaType":"image/png","name":""}],)"
                 R"("anyOf":[{"type":"Note","name":"yes"},{"type":"Note","name":"no"}])"));
  const std::string sep(1, kTextSeparator);
  EXPECT_EQ(a.text.unfolded, "body" + sep + "CW :blob:" + sep + "Title" + sep + "alt one" + sep +
                                 "yes" + sep + "no");
  EXPECT_EQ(a.text.folded, "body" + sep + "cw :blob:" + sep + "title" + sep + "alt one" + sep +
                               "yes" + sep + "no");
}

TEST(ActivityParserTest, SeparatorNeverOccursInsideAPart) {
  Activity a = MustParse(CreateNote(
      R"("content":"free\u001ecrypto","attachment":{"type":"Image","name":"a\u001eb"})"));
  EXPECT_EQ(a.content.unfolded, "free crypto");
  EXPECT_EQ(a.text.unfolded, std::string("free crypto") + kTextSeparator + "a b");
}

TEST(ActivityParserTest, FlagsAndDates) {
  Activity a = MustParse(CreateNote(
      R"("sensitive":true,"inReplyTo":"https://b.example/p/1","quoteUri":"https://b.example/p/2",)"
      R"("published":"2019-09-19T00:32:36.785333","language":"fr")"));
  EXPECT_TRUE(a.sensitive);
  EXPECT_TRUE(a.reply);
  EXPECT_TRUE(a.quote);
  EXPECT_EQ(a.published, Utc(2019, 9, 19, 0, 32, 36) + absl::Microseconds(785333));
  EXPECT_EQ(a.language, "fr");

  Activity b = MustParse(CreateNote(
      R"("sensitive":"yes","inReplyTo":null,"quote":"","quoteUrl":null,"published":"yesterday")"));
  EXPECT_FALSE(b.sensitive);
  EXPECT_FALSE(b.reply);
  EXPECT_FALSE(b.quote);
  EXPECT_FALSE(b.published.has_value());

  Activity c = MustParse(CreateNote(R"("_misskey_quote":"https://m.example/notes/1")"));
  EXPECT_TRUE(c.quote);
  Activity d = MustParse(CreateNote(R"("quoteUrl":"https://m.example/notes/1")"));
  EXPECT_TRUE(d.quote);
  Activity e = MustParse(CreateNote(R"("quote":"https://m.example/notes/1")"));
  EXPECT_TRUE(e.quote);
}

TEST(ActivityParserTest, WrongTypesAreIgnoredNotFatal) {
  Activity a = MustParse(CreateNote(
      R"("content":42,"summary":{"x":1},"tag":"not-a-tag","attachment":7,"to":5,"cc":null,)"
      R"("oneOf":["x"],"language":["en"])"));
  EXPECT_EQ(a.content.unfolded, "");
  EXPECT_THAT(a.hashtags, IsEmpty());
  EXPECT_THAT(a.attachment_types, IsEmpty());
  EXPECT_EQ(a.visibility, "direct");
  EXPECT_FALSE(a.language.has_value());
}

// ----- malformed and hostile input

TEST(ActivityParserTest, DuplicateKeyIsMalformed) {
  absl::Status s = ParseError(Fixture("duplicate-key.json"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), StartsWith("duplicate key \"content\""));
}

TEST(ActivityParserTest, DuplicateKeysTheEngineReadsAnywhere) {
  for (
      const std::string& json : {
          CreateNote("", R"("actor":"https://evil.example/u/1",)"),  // actor twice
          CreateNote(
              R"("tag":[{"type":"Mention","href":"https://a.example/1","href":"https://b.example/2"}])"),
          CreateNote(R"("contentMap":{"en":"a","en":"b"})"),
          CreateNote(R"("attachment":[{"type":"Image","mediaType":"a/b","mediaType":"c/d"}])"),
          std::string(R"({"type":"Person","id":"https://a.example/u","name":"a","name":"b"})"),
          std::string(R"({"type":"Note","type":"Person"})"),
      }) {
    absl::Status s = ParseError(json);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(Message(s), StartsWith("duplicate key")) << json;
  }
  // Keys the engine does not read may repeat.
  MustParse(CreateNote(R"("url":"https://a.example/1","url":"https://a.example/2")"));
  MustParse(R"({"@context":"x","@context":"y","type":"Follow","actor":"https://a.example/u",)"
            R"("object":"https://b.example/u"})");
}

TEST(ActivityParserTest, NotAnActivity) {
  EXPECT_THAT(Message(ParseError("[1,2,3]")), HasSubstr("not a JSON object"));
  EXPECT_THAT(Message(ParseError("\"Create\"")), HasSubstr("not a JSON object"));
  EXPECT_THAT(Message(ParseError("{}")), HasSubstr("no \"type\""));
  EXPECT_THAT(Message(ParseError(R"({"type":""})")), HasSubstr("no \"type\""));
  EXPECT_THAT(Message(ParseError(R"({"type":7})")), HasSubstr("no \"type\""));
  EXPECT_THAT(Message(ParseError("")), HasSubstr("empty"));
  EXPECT_THAT(Message(ParseError("{\"type\":\"Note\"")), HasSubstr("not valid JSON"));
  EXPECT_EQ(ParseError("{\"type\":\"Note\",}").code(), absl::StatusCode::kInvalidArgument);
}

TEST(ActivityParserTest, InvalidUtf8IsRefused) {
  absl::Status s = ParseError("{\"type\":\"Note\",\"content\":\"caf\xC3\x28\"}");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("UTF-8"));
  EXPECT_FALSE(ParseError("{\"type\":\"Note\",\"content\":\"\xED\xA0\x80\"}").ok());  // surrogate
}

TEST(ActivityParserTest, DeepNestingIsAClearErrorNotACrash) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  absl::Status s = ParseError(deep);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("max_depth"));

  std::string in_object =
      R"({"type":"Note","content":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_THAT(Message(ParseError(in_object)), HasSubstr("nested deeper than 64"));

  // max_depth counts every level, the root object included: 64 is fine, 65 is not.
  auto nested = [](int levels) {
    return R"({"type":"Note","x":)" + std::string(levels - 1, '[') + std::string(levels - 1, ']') +
           "}";
  };
  MustParse(nested(64));
  EXPECT_THAT(Message(ParseError(nested(65))), HasSubstr("max_depth"));
  ActivityParseOptions options;
  options.max_depth = 8;
  MustParse(nested(8), options);
  EXPECT_FALSE(ParseError(nested(9), options).ok());
}

TEST(ActivityParserTest, MaxBytesIsCheckedBeforeParsing) {
  std::string big = R"({"type":"Note","content":")" + std::string(10 << 20, 'a') + "\"}";
  absl::Status s = ParseError(big);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("max_bytes"));
  EXPECT_THAT(Message(s), HasSubstr("1048576"));

  ActivityParseOptions options;
  options.max_bytes = 16 << 20;
  Activity a = MustParse(big, options);
  EXPECT_EQ(a.content.unfolded.size(), size_t{10 << 20});
}

TEST(ActivityParserTest, GarbageNeverCrashes) {
  ActivityParser parser;
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(static_cast<size_t>(rng() % 200), '\0');
    for (char& c : junk) c = static_cast<char>(byte(rng));
    (void)parser.Parse(junk);
  }
  // Every prefix and many byte flips of a real activity.
  std::string doc = Fixture("lemmy-announce-create-page.json");
  for (size_t n = 0; n < doc.size(); ++n) (void)parser.Parse(doc.substr(0, n));
  for (int i = 0; i < 3000; ++i) {
    std::string m = doc;
    m[rng() % m.size()] = static_cast<char>(byte(rng));
    m[rng() % m.size()] = "{}[]\",:\\"[rng() % 8];
    (void)parser.Parse(m);
  }
  // The parser still works afterwards.
  EXPECT_TRUE(parser.Parse(doc).ok());
}

TEST(ActivityParserTest, HostileMarkupStaysLinear) {
  const size_t n = 400000;
  std::vector<std::string> contents = {
      "https://a.example/" + std::string(n, ')'),
      "https://a.example/" + std::string(n, '&'),
      std::string(n, '&'),
      "https://a.example/?" + std::string(n, '('),
      [&] {
        std::string s;
        while (s.size() < n) s += "<a ";
        return s;
      }(),
      [&] {
        std::string s;
        while (s.size() < n) s += "http://";
        return s;
      }(),
      [&] {
        std::string s;
        while (s.size() < n) s += "<!--<a href=\\\"x\\\">";
        return s;
      }(),
      "<p class=\\\"" + std::string(n, 'x'),
      std::string(n, '<'),
  };
  ActivityParser parser;
  for (const std::string& content : contents) {
    std::string json = CreateNote(R"("content":")" + content + "\"");
    absl::Time start = absl::Now();
    absl::StatusOr<Activity> a = parser.Parse(json);
    absl::Duration took = absl::Now() - start;
    EXPECT_TRUE(a.ok()) << a.status() << " for " << content.substr(0, 20);
    EXPECT_LT(took, absl::Seconds(2)) << content.substr(0, 20);
  }
}

TEST(ActivityParserTest, ParserIsReusable) {
  ActivityParser parser;
  std::string big = Fixture("mastodon-create-note.json");
  std::string small = Fixture("mastodon-follow.json");
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Activity> a = parser.Parse(big);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->type, "Create");
    absl::StatusOr<Activity> b = parser.Parse(small);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->type, "Follow");
    EXPECT_FALSE(parser.Parse("{").ok());
  }
}

// ----- the real-world corpus (not part of the repository)

std::filesystem::path CorpusDir() {
  if (const char* env = std::getenv("FEDWALL_CORPUS_DIR")) return env;
  return "/work/shared/corpus/activities";
}

TEST(ActivityCorpusTest, EveryDocumentParsesExceptTheDuplicateKeyOne) {
  std::filesystem::path dir = CorpusDir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no corpus at " << dir;
  ActivityParser parser;
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::string name = entry.path().filename().string();
    absl::StatusOr<Activity> a = parser.Parse(ReadFile(entry.path()));
    if (name == "pleroma__tesla_mock__poll_attachment.json") {
      EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(Message(a.status()), StartsWith("duplicate key \"content\"")) << name;
      continue;
    }
    EXPECT_TRUE(a.ok()) << name << ": " << a.status();
    if (!a.ok()) continue;
    ++parsed;
    EXPECT_FALSE(a->type.empty()) << name;
    EXPECT_TRUE(a->visibility == "public" || a->visibility == "unlisted" ||
                a->visibility == "followers" || a->visibility == "direct")
        << name;
  }
  EXPECT_GE(parsed, 144);
}

class CorpusSpotCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(CorpusDir())) GTEST_SKIP() << "no corpus";
  }
  Activity Load(const std::string& name) { return MustParse(ReadFile(CorpusDir() / name)); }
};

TEST_F(CorpusSpotCheck, MastodonPostActivity) {
  Activity a = Load("pleroma__mastodon-post-activity.json");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.actor_domain, "mastodon.example.org");
  EXPECT_EQ(a.summary.unfolded, "cw");
  EXPECT_TRUE(a.sensitive);
  EXPECT_THAT(a.mentions, ElementsAre("http://localtesting.pleroma.lol/users/lain"));
  EXPECT_THAT(a.links, IsEmpty());
  EXPECT_EQ(a.visibility, "public");
  EXPECT_EQ(a.recipients_count, 1u);
}

TEST_F(CorpusSpotCheck, ContentMapOnly) {
  Activity a = Load("pleroma__mastodon-post-activity-contentmap.json");
  EXPECT_EQ(a.content.unfolded, "@lain");
  EXPECT_EQ(a.language, "en");
}

TEST_F(CorpusSpotCheck, EmojiInSummary) {
  Activity a = Load("pleroma__tesla_mock__emoji-in-summary.json");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.summary.unfolded, ":joker_smile:");
  EXPECT_THAT(a.emojis, UnorderedElementsAre("joker_disapprove", "joker_smile"));
}

TEST_F(CorpusSpotCheck, Quotes) {
  EXPECT_TRUE(Load("akkoma__misskey__quote.json").quote);
  EXPECT_TRUE(Load("akkoma__fedibird__quote.json").quote);
  EXPECT_FALSE(Load("pleroma__mastodon-note-object.json").quote);
}

TEST_F(CorpusSpotCheck, ActorArrayAndInlineActor) {
  EXPECT_EQ(Load("pleroma__prismo-url-map.json").actor, "https://prismo.news/@mxb");
  Activity a = Load("pleroma__kroeg-announce-with-inline-actor.json");
  EXPECT_EQ(a.type, "Announce");
  EXPECT_EQ(a.actor, "https://puckipedia.com/");
  EXPECT_EQ(a.actor_username, "puckipedia");
}

TEST_F(CorpusSpotCheck, PeerTubeVideoAuthorIsThePerson) {
  Activity a = Load("pleroma__tesla_mock__peertube.moe-vid.json");
  EXPECT_EQ(a.type, "Create");
  EXPECT_EQ(a.actor, "https://peertube.moe/accounts/7even");
  EXPECT_THAT(a.hashtags, ElementsAre("feels"));
}

TEST_F(CorpusSpotCheck, BareActors) {
  Activity a = Load("akkoma__mastodon__service_actor.json");
  EXPECT_EQ(a.type, "Update");
  EXPECT_EQ(a.object_type, "Service");
  EXPECT_TRUE(a.actor_username.has_value());
}

}  // namespace
}  // namespace fedwall
