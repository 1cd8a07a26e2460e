// Evaluator tests: every step of the decision procedure, every operator family, Kleene logic,
// the rule index, evidence, thresholds, determinism.
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "engine/policy/compiled.h"
#include "engine/policy/policy.h"
#include "engine/policy/policy_test_util.h"
#include "engine/text/normalize.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall {
namespace {

using policy_testing::CompileFiles;
using policy_testing::CompileText;
using policy_testing::CreateNote;
using policy_testing::DiagnosticsText;
using policy_testing::JsonString;
using policy_testing::PolicyFiles;
using policy_testing::SimpleActivity;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1710000000);  // 2024-03-09T16:00:00Z

std::vector<std::string> Ids(const Decision& d) {
  std::vector<std::string> ids;
  for (const RuleMatch& m : d.matches) ids.push_back(m.rule_id);
  return ids;
}

std::string DecisionString(const Decision& d) {
  std::string s = absl::StrCat(VerdictName(d.verdict), " effects=", d.effects,
                               " score=", d.score_milli, " v=", d.policy_version, "\n");
  for (const RuleMatch& m : d.matches) {
    absl::StrAppend(&s, "  ", m.rule_id, " [", m.reason, "] ", m.score_milli,
                    m.monitor ? " monitor" : "", "\n");
    for (const Evidence& e : m.evidence) {
      absl::StrAppend(&s, "    ", e.field, " ", e.start, "-", e.end, " '", e.text, "'\n");
    }
  }
  return s;
}

class EvaluatorTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Policy> Compile(std::string rules,
                                        std::map<std::string, std::string> data = {}) {
    CompileResult r = CompileText(std::move(rules), std::move(data));
    EXPECT_NE(r.policy, nullptr) << DiagnosticsText(r.diagnostics);
    return r.policy;
  }

  Decision Eval(const Policy& p, const std::string& json, const RequestFacts& facts = {}) {
    absl::StatusOr<Decision> d = evaluator_.Evaluate(p, json, facts, kNow);
    EXPECT_TRUE(d.ok()) << d.status() << "\n" << json;
    return d.ok() ? *std::move(d) : Decision{};
  }

  Evaluator evaluator_;
};

// ---------------------------------------------------------------------------------------
// Step 1: blocks and the allowlist

constexpr char kTier0[] = "# tier 0\nspam.example\n";

TEST_F(EvaluatorTest, SuspendedActorDomainIsAFinalReject) {
  auto p = Compile(R"(
blocklist "tier0.txt"
rule trusted { when type == "Create" then accept }
rule crypto { when content has "crypto" then flag }
)",
                   {{"tier0.txt", kTier0}});
  ASSERT_NE(p, nullptr);
  Decision d = Eval(*p, CreateNote("https://sub.spam.example/users/a", "free crypto"));
  EXPECT_EQ(d.verdict, Verdict::kReject);
  EXPECT_EQ(d.effects, 0);
  ASSERT_THAT(Ids(d), ElementsAre("blocklist:suspend"));
  EXPECT_THAT(d.matches[0].reason, HasSubstr("sub.spam.example"));
  EXPECT_THAT(d.matches[0].reason, HasSubstr("tier0.txt:2"));
  ASSERT_EQ(d.matches[0].evidence.size(), 1u);
  EXPECT_EQ(d.matches[0].evidence[0].field, "actor.domain");
  EXPECT_EQ(d.matches[0].evidence[0].text, "actor.domain = sub.spam.example");
  EXPECT_EQ(d.policy_version, p->version());

  // Not blocked: the rules decide (accept wins over flag).
  Decision ok = Eval(*p, CreateNote("https://good.example/users/a", "free crypto"));
  EXPECT_EQ(ok.verdict, Verdict::kAccept);
  EXPECT_THAT(Ids(ok), ElementsAre("trusted", "crypto"));
}

TEST_F(EvaluatorTest, SuspendCoversOriginObjectAndAnnouncerDomains) {
  auto p = Compile("blocklist \"tier0.txt\"\nrule t { when type == \"Like\" then accept }\n",
                   {{"tier0.txt", kTier0}});
  ASSERT_NE(p, nullptr);
  RequestFacts facts;
  facts.delivery.sender_domain = "Relay.SPAM.Example.";
  Decision origin = Eval(*p, CreateNote("https://good.example/users/a", "hi"), facts);
  EXPECT_EQ(origin.verdict, Verdict::kReject);
  ASSERT_THAT(Ids(origin), ElementsAre("blocklist:suspend"));
  EXPECT_THAT(origin.matches[0].reason, HasSubstr("origin domain relay.spam.example"));

  Decision object = Eval(*p, SimpleActivity("Like", "https://good.example/users/a",
                                            "https://spam.example/statuses/1"));
  EXPECT_EQ(object.verdict, Verdict::kReject);
  EXPECT_THAT(object.matches[0].reason, HasSubstr("object domain spam.example"));

  // Flag with an array object: every element's domain is checked.
  std::string flag = R"({"type":"Flag","id":"https://good.example/flags/1",
      "actor":"https://good.example/actor",
      "object":["https://good.example/users/x","https://spam.example/statuses/9"]})";
  Decision f = Eval(*p, flag);
  EXPECT_EQ(f.verdict, Verdict::kReject);
  EXPECT_THAT(f.matches[0].reason, HasSubstr("spam.example"));

  // Announce{Create{Note}} by a group on a suspended domain.
  std::string announce = absl::StrCat(
      R"({"type":"Announce","id":"https://group.spam.example/activities/1",
          "actor":"https://group.spam.example/c/x","object":)",
      CreateNote("https://good.example/users/rosa", "hello"), "}");
  Decision a = Eval(*p, announce);
  EXPECT_EQ(a.verdict, Verdict::kReject);
  EXPECT_THAT(a.matches[0].reason, HasSubstr("announcer domain group.spam.example"));
}

TEST_F(EvaluatorTest, AllowlistRejectsActorsOutsideIt) {
  auto p = Compile(R"(
allowlist "friends.txt"
rule trusted { when type == "Create" then accept }
)",
                   {{"friends.txt", "friends.example\n"}});
  ASSERT_NE(p, nullptr);
  Decision in = Eval(*p, CreateNote("https://a.friends.example/users/x", "hi"));
  EXPECT_EQ(in.verdict, Verdict::kAccept);
  EXPECT_THAT(Ids(in), ElementsAre("trusted"));
  Decision out = Eval(*p, CreateNote("https://stranger.example/users/x", "hi"));
  EXPECT_EQ(out.verdict, Verdict::kReject);
  ASSERT_THAT(Ids(out), ElementsAre("allowlist"));
  EXPECT_THAT(out.matches[0].reason, HasSubstr("stranger.example"));
  EXPECT_THAT(out.matches[0].reason, HasSubstr("friends.txt"));
}

constexpr char kFlagsCsv[] =
    "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
    "reports.example,noop,false,true,,false\n"
    "media.example,noop,true,false,,false\n"
    "quiet.example,silence,false,false,,false\n";

TEST_F(EvaluatorTest, RejectReportsAppliesToFlagActivitiesOnly) {
  auto p = Compile("blocklist \"flags.csv\"\nrule t { when type == \"Flag\" then accept }\n",
                   {{"flags.csv", kFlagsCsv}});
  ASSERT_NE(p, nullptr);
  std::string flag = R"({"type":"Flag","id":"https://reports.example/flags/1",
      "actor":"https://reports.example/actor","object":["https://local.example/users/x"]})";
  Decision f = Eval(*p, flag);
  EXPECT_EQ(f.verdict, Verdict::kReject);
  ASSERT_THAT(Ids(f), ElementsAre("blocklist:reject_reports"));
  EXPECT_THAT(f.matches[0].reason, HasSubstr("flags.csv:2"));

  Decision c = Eval(*p, CreateNote("https://reports.example/users/a", "hello"));
  EXPECT_EQ(c.verdict, Verdict::kAccept);
  EXPECT_TRUE(c.matches.empty());
}

TEST_F(EvaluatorTest, SilenceAndRejectMediaBecomeEffects) {
  auto p = Compile(R"(
blocklist "flags.csv"
rule sens { when content has "spoiler" then mark_sensitive }
rule bad { when content has "reject me" then reject }
)",
                   {{"flags.csv", kFlagsCsv}});
  ASSERT_NE(p, nullptr);
  Decision quiet = Eval(*p, CreateNote("https://quiet.example/users/a", "spoiler ahead"));
  EXPECT_EQ(quiet.verdict, Verdict::kAccept);
  EXPECT_EQ(quiet.effects, lang::kUnlist | lang::kMarkSensitive);
  EXPECT_THAT(Ids(quiet), ElementsAre("blocklist:silence", "sens"));
  EXPECT_THAT(quiet.matches[0].reason, HasSubstr("quiet.example"));
  EXPECT_THAT(quiet.matches[0].reason, HasSubstr("flags.csv:4"));

  Decision media = Eval(*p, CreateNote("https://media.example/users/a", "hello"));
  EXPECT_EQ(media.effects, lang::kStripMedia);
  EXPECT_THAT(Ids(media), ElementsAre("blocklist:reject_media"));

  // A REJECT carries no effects (and no block-effect matches).
  Decision rejected = Eval(*p, CreateNote("https://quiet.example/users/a", "spoiler: reject me"));
  EXPECT_EQ(rejected.verdict, Verdict::kReject);
  EXPECT_EQ(rejected.effects, 0);
  EXPECT_THAT(Ids(rejected), ElementsAre("sens", "bad"));
}

// ---------------------------------------------------------------------------------------
// Steps 2-6: actions, accept, effects, scores, thresholds, monitor, order

TEST_F(EvaluatorTest, ActionsEffectsAndAcceptOverride) {
  auto p = Compile(R"(
rule f { when content has "alpha" then flag }
rule r { when content has "beta" then reject }
rule e1 { when content has "gamma" then mark_sensitive }
rule e2 { when content has "delta" then flag, unlist }
rule ok { when content has "trusted" then accept, followers_only }
)");
  ASSERT_NE(p, nullptr);
  const std::string actor = "https://social.example/users/a";
  EXPECT_EQ(Eval(*p, CreateNote(actor, "nothing here")).verdict, Verdict::kAccept);
  Decision f = Eval(*p, CreateNote(actor, "alpha"));
  EXPECT_EQ(f.verdict, Verdict::kFlag);
  EXPECT_THAT(Ids(f), ElementsAre("f"));
  Decision fr = Eval(*p, CreateNote(actor, "beta then alpha"));
  EXPECT_EQ(fr.verdict, Verdict::kReject);
  EXPECT_THAT(Ids(fr), ElementsAre("f", "r"));
  Decision eff = Eval(*p, CreateNote(actor, "gamma delta"));
  EXPECT_EQ(eff.verdict, Verdict::kFlag);
  EXPECT_EQ(eff.effects, lang::kMarkSensitive | lang::kUnlist);
  // accept overrides the reject, effects still combine.
  Decision acc = Eval(*p, CreateNote(actor, "beta trusted gamma"));
  EXPECT_EQ(acc.verdict, Verdict::kAccept);
  EXPECT_EQ(acc.effects, lang::kMarkSensitive | lang::kFollowersOnly);
  EXPECT_THAT(Ids(acc), ElementsAre("r", "e1", "ok"));
}

TEST_F(EvaluatorTest, ScoresAreSummedExactlyAgainstThresholds) {
  auto p = Compile(R"(
threshold flag 0.8
threshold reject 2.5
rule seven { when content has "seven" score 0.7 }
rule one { when content has "one" score 0.1 }
rule big { when content has "big" score 2.2 }
rule nice { when content has "nice" score -1 }
rule watch { when content has "one" score 5 mode monitor }
)");
  ASSERT_NE(p, nullptr);
  const std::string actor = "https://social.example/users/a";
  Decision d = Eval(*p, CreateNote(actor, "one and seven"));
  EXPECT_EQ(d.score_milli, 800);  // 0.7 + 0.1 is exactly 0.8 in thousandths
  EXPECT_EQ(d.verdict, Verdict::kFlag);
  EXPECT_THAT(Ids(d), ElementsAre("threshold:flag", "seven", "one", "watch"));
  EXPECT_THAT(d.matches[0].reason, HasSubstr("0.8"));
  EXPECT_EQ(d.matches[1].score_milli, 700);
  EXPECT_TRUE(d.matches[3].monitor);
  EXPECT_FALSE(d.matches[1].monitor);

  Decision below = Eval(*p, CreateNote(actor, "seven"));
  EXPECT_EQ(below.verdict, Verdict::kAccept);
  EXPECT_EQ(below.score_milli, 700);
  EXPECT_THAT(Ids(below), ElementsAre("seven"));

  Decision r = Eval(*p, CreateNote(actor, "big one seven"));
  EXPECT_EQ(r.score_milli, 3000);
  EXPECT_EQ(r.verdict, Verdict::kReject);
  EXPECT_EQ(Ids(r).front(), "threshold:reject");

  Decision neg = Eval(*p, CreateNote(actor, "nice one seven"));
  EXPECT_EQ(neg.score_milli, -200);
  EXPECT_EQ(neg.verdict, Verdict::kAccept);
}

TEST_F(EvaluatorTest, MonitorRulesAreReportedAndChangeNothing) {
  auto p = Compile(R"(
rule mon { when content has "x" then reject, unlist score 10 mode monitor }
threshold flag 1
)");
  ASSERT_NE(p, nullptr);
  Decision d = Eval(*p, CreateNote("https://a.example/u", "x marks"));
  EXPECT_EQ(d.verdict, Verdict::kAccept);
  EXPECT_EQ(d.effects, 0);
  EXPECT_EQ(d.score_milli, 0);
  ASSERT_THAT(Ids(d), ElementsAre("mon"));
  EXPECT_TRUE(d.matches[0].monitor);
  EXPECT_EQ(d.matches[0].score_milli, 10000);
}

TEST_F(EvaluatorTest, MatchesAreInPolicyOrderAcrossFiles) {
  PolicyFiles files;
  files.rules["b.rules"] =
      "rule b1 { when content has \"w\" then flag }\n"
      "rule b0 { when type == \"Create\" score 1 }\n";
  files.rules["a.rules"] =
      "rule a2 { when content contains \"w\" then flag }\n"
      "rule a1 { when not content has \"zzz\" then flag }\n";
  CompileResult r = CompileFiles(files);
  ASSERT_NE(r.policy, nullptr) << DiagnosticsText(r.diagnostics);
  Decision d = Eval(*r.policy, CreateNote("https://a.example/u", "w"));
  EXPECT_THAT(Ids(d), ElementsAre("a2", "a1", "b1", "b0"));
}

TEST_F(EvaluatorTest, MalformedActivityIsInvalidArgument) {
  auto p = Compile("rule r { when type == \"Create\" then flag }\n");
  ASSERT_NE(p, nullptr);
  absl::StatusOr<Decision> d = evaluator_.Evaluate(*p, "{not json", {}, kNow);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------
// Operators and three-valued logic, table-driven: each condition becomes a rule; the rules
// that fire must be exactly the expected ones, without and with request facts.

struct Case {
  const char* when;
  bool fires;             // on the activity without request facts
  bool fires_with_facts;  // with followers = 2, age = 1h, bot, origin relay.example, ...
};

const Case kCases[] = {
    // text
    {R"(content contains "world")", true, true},
    {R"(content contains "wor")", true, true},
    {R"(content has "wor")", false, false},
    {R"(content has "hello world")", true, true},
    {R"(content has "HELLO   World")", true, true},
    {R"(content == "hello world, visit https://bit.ly/abc now")", true, true},
    {R"(content == "hello")", false, false},
    {R"(content != "hello")", true, true},
    {R"(content != "Hello World, visit https://bit.ly/abc now")", false, false},
    {R"(content startswith "hello")", true, true},
    {R"(content startswith "world")", false, false},
    {R"(content endswith "NOW")", true, true},
    {R"(content endswith "visit")", false, false},
    {R"(content contains_any ["zzz", "visit"])", true, true},
    {R"(content has_any ["vis", "zzz"])", false, false},
    {R"(content in ["hello", "hello world, visit https://bit.ly/abc now"])", true, true},
    {R"(content in ["hello", "world"])", false, false},
    {R"(content ~ /World/)", true, true},
    {R"(content ~ /world/)", false, false},
    {R"(content ~ /world/i)", true, true},
    {R"(content !~ /world/)", true, true},
    {R"(content !~ /World/)", false, false},
    {R"(content contains " world")", true, true},
    {R"(content contains " orld")", false, false},
    {R"(summary has "politics")", true, true},
    {R"(text has "politics")", true, true},
    {R"(text has "a cat")", true, true},
    // `text` joins its parts with a separator nothing can match across
    {R"(text ~ /now.Politics/)", false, false},
    {R"(text ~ /now[^a-z]*Politics/)", false, false},
    {R"(text contains "now politics")", false, false},
    {R"(text ~ /now.Politics|talk/)", true, true},
    {R"(text ~ /^Hello/)", true, true},
    {R"(text ~ /^Politics/)", false, false},
    {R"(name contains "x")", false, false},
    {R"(known(content))", true, true},
    // actor.name / actor.bio are unknown without an embedded actor or facts
    {R"(actor.name contains "bob")", false, true},
    {R"(not (actor.name contains "zzz"))", false, true},
    {R"(known(actor.bio))", false, false},
    // keyword
    {R"(type == "Create")", true, true},
    {R"(type == "create")", false, false},
    {R"(type != "Create")", false, false},
    {R"(type in ["Like", "Create"])", true, true},
    {R"(type ~ /^Cre/)", true, true},
    {R"(type startswith "Cr")", true, true},
    {R"(type endswith "ate")", true, true},
    {R"(type contains "rea")", true, true},
    {R"(object.type == "Note")", true, true},
    {R"(visibility == "public")", true, true},
    {R"(hashtags in ["#crypto"])", true, true},
    {R"(hashtags == "CRYPTO")", true, true},
    {R"(hashtags contains "cry")", true, true},
    {R"(hashtags != "crypto")", false, false},
    {R"(hashtags != "nsfw")", true, true},
    {R"(hashtags ~ /^c/)", true, true},
    {R"(hashtags !~ /^c/)", false, false},
    {R"(emojis == ":blobcat:")", true, true},
    {R"(emojis in ["BlobCat"])", true, true},
    {R"(mentions == "https://other.example/users/bob")", true, true},
    {R"(attachments.types == "image/png")", true, true},
    // domain
    {R"(actor.domain == "social.example")", true, true},
    {R"(actor.domain == "SOCIAL.example.")", true, true},
    {R"(actor.domain in ["example"])", true, true},
    {R"(actor.domain in ["ocial.example"])", false, false},
    {R"(actor.domain ~ /^social\./)", true, true},
    {R"(actor.domain != "social.example")", false, false},
    {R"(links.domains in ["bit.ly"])", true, true},
    {R"(links.domains == "bit.ly")", true, true},
    {R"(links.domains != "bit.ly")", false, false},
    {R"(origin.domain in ["example"])", false, true},
    {R"(origin.domain == "relay.example")", false, true},
    {R"(origin.domain != "other.example")", false, true},
    // numbers and counts
    {R"(mentions.count == 1)", true, true},
    {R"(hashtags.count >= 2)", false, false},
    {R"(links.count == 1)", true, true},
    {R"(attachments.count > 0)", true, true},
    {R"(recipients.count < 100)", true, true},
    {R"(actor.followers < 3)", false, true},
    {R"(actor.followers >= 3)", false, false},
    {R"(actor.followers == 2)", false, true},
    {R"(actor.followers <= 2)", false, true},
    {R"(actor.followers > 1.5)", false, true},
    // durations
    {R"(object.age == 1h)", true, true},
    {R"(object.age < 2h)", true, true},
    {R"(object.age > 1h)", false, false},
    {R"(object.age >= 60m)", true, true},
    {R"(actor.age < 2d)", false, true},
    {R"(actor.age == 3600s)", false, true},
    // bools
    {R"(sensitive)", true, true},
    {R"(sensitive == false)", false, false},
    {R"(not sensitive)", false, false},
    {R"(reply)", false, false},
    {R"(reply != true)", true, true},
    {R"(actor.bot)", false, true},
    {R"(actor.followed)", false, false},
    {R"(origin.signed == false)", false, true},
    // known and Kleene
    {R"(known(object.age))", true, true},
    {R"(known(language))", false, false},
    {R"(language == "en")", false, false},
    {R"(not (language == "en"))", false, false},
    {R"(language != "en")", false, false},
    {R"(not known(language))", true, true},
    {R"(known(actor.followers))", false, true},
    {R"(not known(actor.followers))", true, false},
    {R"(not (actor.followers >= 3))", false, true},
    {R"(actor.followers < 3 or content has "hello")", true, true},
    {R"(actor.followers < 3 or content has "nothing")", false, true},
    {R"(actor.followers < 3 and content has "nothing")", false, false},
    {R"(not (actor.followers < 3 and content has "nothing"))", true, true},
    {R"(not (actor.followers < 3 or content has "nothing"))", false, false},
    {R"(actor.followed or not actor.followed)", false, false},
};

TEST_F(EvaluatorTest, OperatorsAndThreeValuedLogic) {
  std::string rules;
  for (size_t i = 0; i < std::size(kCases); ++i) {
    absl::StrAppend(&rules, "rule r", i, " { when ", kCases[i].when, " then flag }\n");
  }
  CompileResult r = CompileText(rules);
  ASSERT_NE(r.policy, nullptr) << DiagnosticsText(r.diagnostics);
  const std::string json = CreateNote(
      "https://Social.Example/users/Alice", "<p>Hello World, visit https://bit.ly/abc now</p>",
      R"(,"summary":"Politics talk","sensitive":true,"published":"2024-03-09T15:00:00Z",
         "cc":["https://other.example/users/bob"],
         "tag":[{"type":"Hashtag","name":"#Crypto","href":"https://social.example/tags/crypto"},
                {"type":"Emoji","name":":BlobCat:","icon":{"type":"Image","url":"https://social.example/e.png"}},
                {"type":"Mention","href":"https://other.example/users/bob","name":"@bob@other.example"}],
         "attachment":[{"type":"Document","mediaType":"image/png","url":"https://social.example/m.png","name":"a cat"}])");
  RequestFacts facts;
  facts.actor.followers_count = 2;
  facts.actor.created_at = kNow - absl::Hours(1);
  facts.actor.bot = true;
  facts.actor.display_name = "Bob the builder";
  facts.delivery.sender_domain = "Relay.Example";
  facts.delivery.signature_verified = false;
  for (bool with_facts : {false, true}) {
    Decision d = Eval(*r.policy, json, with_facts ? facts : RequestFacts{});
    std::set<std::string> fired;
    for (const RuleMatch& m : d.matches) fired.insert(m.rule_id);
    for (size_t i = 0; i < std::size(kCases); ++i) {
      bool want = with_facts ? kCases[i].fires_with_facts : kCases[i].fires;
      EXPECT_EQ(fired.count(absl::StrCat("r", i)) == 1, want)
          << "`" << kCases[i].when << "` " << (with_facts ? "with" : "without") << " facts";
    }
  }
}

TEST_F(EvaluatorTest, UnknownFactsNeverFireARule) {
  auto p = Compile(R"(
rule new_account { when actor.age < 2d and actor.followers < 3 then reject }
rule not_followed { when not actor.followed then flag }
rule lang { when language != "en" then flag }
)");
  ASSERT_NE(p, nullptr);
  Decision d = Eval(*p, CreateNote("https://a.example/u", "hello"));
  EXPECT_EQ(d.verdict, Verdict::kAccept);
  EXPECT_TRUE(d.matches.empty()) << DecisionString(d);
}

TEST_F(EvaluatorTest, SyntheticEvidenceIsCappedLikeARules) {
  // A 250-byte actor domain (a valid name: labels of 63 bytes at most).
  std::string domain;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&domain, std::string(58, 'a' + i), ".");
  domain += "spam.example";
  ASSERT_GT(domain.size(), 241u);
  auto p = Compile("blocklist \"blocks.txt\"\n", {{"blocks.txt", "spam.example\n"}});
  ASSERT_NE(p, nullptr);
  Decision d = Eval(*p, CreateNote(absl::StrCat("https://", domain, "/u"), "hi"));
  ASSERT_EQ(Ids(d), std::vector<std::string>{"blocklist:suspend"});
  ASSERT_EQ(d.matches[0].evidence.size(), 1u);
  EXPECT_LE(d.matches[0].evidence[0].text.size(), EvaluatorOptions{}.max_evidence_bytes);
  EXPECT_EQ(d.matches[0].evidence[0].text.substr(0, 15), "actor.domain = ");
}

// ---------------------------------------------------------------------------------------
// Counters

// Answers every query with `value` (nullopt: the store is away) and remembers the calls.
class ScriptedStore : public counters::CounterStore {
 public:
  void Count(absl::Time now, bool record, std::span<const counters::CounterQuery> queries,
             std::vector<std::optional<double>>* values) override {
    calls.push_back({now, record, queries.size()});
    values->assign(queries.size(), value);
  }
  counters::CounterStoreStats stats() const override { return {}; }
  std::string description() const override { return "scripted"; }

  struct Call {
    absl::Time now;
    bool record;
    size_t queries;
  };
  std::optional<double> value = 5;
  std::vector<Call> calls;
};

TEST_F(EvaluatorTest, CountersAreAskedOnceBeforeTheRulesWhateverTheVerdict) {
  auto p = Compile(R"(
blocklist "blocks.txt"
rule wave { when text.seen(1h) >= 5 and actor.rate(10m) >= 5 then reject }
rule wave_watch { when text.seen(1h) >= 3 then flag mode monitor }
)",
                   {{"blocks.txt", "blocked.example\n"}});
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->counters().size(), 2u);  // text.seen(1h) once, actor.rate(10m)
  EXPECT_EQ(counters::CounterRefName(p->counters()[0]), "text.seen(1h)");
  EXPECT_EQ(counters::CounterRefName(p->counters()[1]), "actor.rate(10m)");

  ScriptedStore store;
  RequestFacts facts;
  facts.delivery.received_at = kNow + absl::Minutes(3);
  absl::StatusOr<Decision> d = evaluator_.Evaluate(
      *p, CreateNote("https://a.example/u", "buy now"), facts, kNow, {.store = &store});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->verdict, Verdict::kReject);
  EXPECT_THAT(Ids(*d), ElementsAre("wave", "wave_watch"));
  EXPECT_THAT(d->matches[0].evidence.size(), 2u);
  EXPECT_EQ(d->matches[0].evidence[0].text, "text.seen(1h) = 5");
  EXPECT_EQ(d->matches[0].evidence[1].text, "actor.rate(10m) = 5");
  ASSERT_EQ(store.calls.size(), 1u);
  EXPECT_EQ(store.calls[0].now, kNow + absl::Minutes(3));  // received_at is the clock
  EXPECT_TRUE(store.calls[0].record);

  // A dry run asks without recording; a blocked actor is still counted.
  d = evaluator_.Evaluate(*p, CreateNote("https://blocked.example/u", "buy now"), facts, kNow,
                          {.store = &store, .record = false});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->verdict, Verdict::kReject);
  EXPECT_EQ(d->matches[0].rule_id, "blocklist:suspend");
  ASSERT_EQ(store.calls.size(), 2u);
  EXPECT_FALSE(store.calls[1].record);
}

TEST_F(EvaluatorTest, CountersAreUnknownWithoutAStoreOrWhenItIsAway) {
  auto p = Compile(R"(
rule wave { when text.seen(1h) >= 5 then reject }
rule quiet { when text.seen(1h) < 5 then flag }
rule away { when not known(text.seen(1h)) then flag, mark_sensitive }
)");
  ASSERT_NE(p, nullptr);
  // No store at all.
  Decision d = Eval(*p, CreateNote("https://a.example/u", "buy now"));
  EXPECT_THAT(Ids(d), ElementsAre("away"));
  // A store that cannot answer: no rule over the counter fires, except known().
  ScriptedStore store;
  store.value = std::nullopt;
  absl::StatusOr<Decision> r = evaluator_.Evaluate(
      *p, CreateNote("https://a.example/u", "buy now"), {}, kNow, {.store = &store});
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(Ids(*r), ElementsAre("away"));
  // A policy without counters never asks the store.
  auto plain = Compile("rule r { when content has \"buy\" then flag }");
  ASSERT_NE(plain, nullptr);
  EXPECT_TRUE(plain->counters().empty());
  ASSERT_TRUE(evaluator_.Evaluate(*plain, CreateNote("https://a.example/u", "buy"), {}, kNow,
                                  {.store = &store})
                  .ok());
  EXPECT_EQ(store.calls.size(), 1u);
}

// ---------------------------------------------------------------------------------------
// Evidence

TEST_F(EvaluatorTest, EvidenceMapsFoldedMatchesBackToTheUnfoldedText) {
  auto p = Compile(R"(
rule free { when content has "free crypto" then flag }
rule re { when content ~ /cr.pto/ then flag }
rule facts { when actor.age < 2d and mentions.count >= 0 and hashtags in ["crypto"] then flag }
rule negated { when content has "free" and not content has "zzz" and type != "Like" then flag }
)");
  ASSERT_NE(p, nullptr);
  // Fullwidth letters become ASCII in the unfolded text (NFKC); the Cyrillic Е stays there,
  // and folds to "e".
  const std::string content =
      "Hi \xEF\xBC\xA6R\xD0\x95"
      "E crypto!";  // "Hi ＦRЕE crypto!"
  const std::string json = CreateNote(
      "https://a.example/u", content,
      R"(,"tag":[{"type":"Hashtag","name":"#Crypto","href":"https://a.example/tags/crypto"}])");
  RequestFacts facts;
  facts.actor.created_at = kNow - absl::Hours(1);
  Decision d = Eval(*p, json, facts);
  ASSERT_THAT(Ids(d), ElementsAre("free", "re", "facts", "negated")) << DecisionString(d);

  const std::string unfolded = text::Normalize(content).unfolded;
  const std::string original =
      "FR\xD0\x95"
      "E crypto";
  const size_t at = unfolded.find(original);
  ASSERT_NE(at, std::string::npos) << unfolded;
  ASSERT_EQ(d.matches[0].evidence.size(), 1u);
  const Evidence& e = d.matches[0].evidence[0];
  EXPECT_EQ(e.field, "content");
  EXPECT_EQ(e.text, original);
  EXPECT_EQ(e.start, at);
  EXPECT_EQ(e.end, at + original.size());

  ASSERT_EQ(d.matches[1].evidence.size(), 1u);
  EXPECT_EQ(d.matches[1].evidence[0].text, "crypto");
  EXPECT_EQ(d.matches[1].evidence[0].start, unfolded.find("crypto"));

  std::vector<std::string> texts;
  for (const Evidence& x : d.matches[2].evidence) texts.push_back(x.text);
  EXPECT_THAT(texts, ElementsAre("actor.age = 1h", "mentions.count = 0", "hashtags = crypto"));
  EXPECT_EQ(d.matches[2].evidence[0].field, "actor.age");
  EXPECT_EQ(d.matches[2].evidence[0].start, 0u);
  EXPECT_EQ(d.matches[2].evidence[0].end, 0u);

  // Negated leaves (not, !=) report nothing.
  ASSERT_EQ(d.matches[3].evidence.size(), 1u);
  EXPECT_EQ(d.matches[3].evidence[0].field, "content");
}

TEST_F(EvaluatorTest, EvidenceCoversWholeCharactersWhenFoldingExpands) {
  auto p = Compile(R"(
rule a { when content contains "sse" then flag }
rule b { when content contains "ros" then flag }
)");
  ASSERT_NE(p, nullptr);
  // "ß" folds to "ss": a match may start or end inside its folding.
  Decision d = Eval(*p, CreateNote("https://a.example/u",
                                   "Gro\xC3\x9F"
                                   "e Stra\xC3\x9F"
                                   "e"));
  ASSERT_THAT(Ids(d), ElementsAre("a", "b"));
  EXPECT_EQ(d.matches[0].evidence.at(0).text,
            "\xC3\x9F"
            "e");
  EXPECT_EQ(d.matches[0].evidence.at(0).start, 3u);
  EXPECT_EQ(d.matches[1].evidence.at(0).text, "ro\xC3\x9F");
  EXPECT_EQ(d.matches[1].evidence.at(0).end, 5u);
}

TEST_F(EvaluatorTest, EvidenceOfAnOrNamesOnlyTheTrueBranches) {
  auto p = Compile(
      R"(rule r { when content has "aaa" or content has "bbb" or type == "Like" then flag })");
  ASSERT_NE(p, nullptr);
  Decision d = Eval(*p, CreateNote("https://a.example/u", "xx bbb"));
  ASSERT_EQ(d.matches.size(), 1u);
  ASSERT_EQ(d.matches[0].evidence.size(), 1u);
  EXPECT_EQ(d.matches[0].evidence[0].text, "bbb");
  EXPECT_EQ(d.matches[0].evidence[0].start, 3u);
}

TEST_F(EvaluatorTest, EvidenceTextIsCappedOnACharacterBoundary) {
  auto p = Compile(R"(rule r { when content ~ /a.+/ then flag })");
  ASSERT_NE(p, nullptr);
  std::string content = "a";
  for (int i = 0; i < 200; ++i) content += "\xC3\xA9";  // é
  Decision d = Eval(*p, CreateNote("https://a.example/u", content));
  ASSERT_EQ(d.matches.size(), 1u);
  const Evidence& e = d.matches[0].evidence.at(0);
  EXPECT_EQ(e.start, 0u);
  EXPECT_EQ(e.end, content.size());
  EXPECT_LE(e.text.size(), 256u);
  EXPECT_GE(e.text.size(), 254u);
  EXPECT_TRUE(text::IsValidUtf8(e.text));
}

// ---------------------------------------------------------------------------------------
// The rule index never changes a decision

std::string RandomRuleCondition(std::mt19937& rng, const std::vector<std::string>& words) {
  auto word = [&] { return words[rng() % words.size()]; };
  auto leaf = [&]() -> std::string {
    switch (rng() % 12) {
      case 0:
        return absl::StrCat("content contains \"", word(), "\"");
      case 1:
        return absl::StrCat("content has \"", word(), "\"");
      case 2:
        return absl::StrCat("text has_any [\"", word(), "\", \"", word(), "\"]");
      case 3:
        return absl::StrCat("content ~ /", word(), "[a-z]*/");
      case 4:
        return absl::StrCat("summary contains \"", word(), "\"");
      case 5:
        return absl::StrCat("actor.followers < ", rng() % 5);
      case 6:
        return "known(actor.age)";
      case 7:
        return absl::StrCat("type == \"", rng() % 2 ? "Create" : "Like", "\"");
      case 8:
        return absl::StrCat("hashtags in [\"", word(), "\"]");
      case 9:
        return absl::StrCat("actor.name has \"", word(), "\"");
      case 10:
        return absl::StrCat("content startswith \"", word(), "\"");
      default:
        return "sensitive";
    }
  };
  switch (rng() % 6) {
    case 0:
      return absl::StrCat(leaf(), " or ", leaf());
    case 1:
      return absl::StrCat("not ", leaf());
    case 2:
      return absl::StrCat(leaf(), " and not (", leaf(), ")");
    case 3:
      return absl::StrCat("not (", leaf(), " or ", leaf(), ")");
    default:
      return absl::StrCat(leaf(), " and ", leaf());
  }
}

TEST_F(EvaluatorTest, RuleIndexNeverChangesADecision) {
  std::mt19937 rng(1234);
  const std::vector<std::string> words = {"alpha",  "beta", "gamma", "delta", "omega",
                                          "crypto", "free", "nft",   "hello", "world"};
  std::string rules = "threshold flag 3\nthreshold reject 8\n";
  for (int i = 0; i < 600; ++i) {
    const char* action = i % 7 == 0 ? "reject" : i % 3 == 0 ? "flag" : "mark_sensitive";
    absl::StrAppend(&rules, "rule r", i, " { when ", RandomRuleCondition(rng, words), " then ",
                    action, " score ", rng() % 3, i % 11 == 0 ? " mode monitor" : "", " }\n");
  }
  CompileResult r = CompileText(rules);
  ASSERT_NE(r.policy, nullptr) << DiagnosticsText(r.diagnostics);
  EvaluatorOptions all;
  all.evaluate_all_rules = true;
  Evaluator reference(all);
  size_t fired = 0;
  for (int a = 0; a < 200; ++a) {
    std::string content;
    int n = static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) absl::StrAppend(&content, words[rng() % words.size()], " ");
    std::string json =
        a % 5 == 4 ? SimpleActivity("Like", "https://a.example/u", "https://b.example/n/1")
                   : CreateNote("https://a.example/u", content,
                                absl::StrCat(",\"summary\":", JsonString(words[rng() % 10]),
                                             ",\"sensitive\":", rng() % 2 ? "true" : "false"));
    RequestFacts facts;
    if (rng() % 2) facts.actor.followers_count = rng() % 6;
    if (rng() % 2) facts.actor.created_at = kNow - absl::Hours(5);
    if (rng() % 2) facts.actor.display_name = words[rng() % words.size()];
    absl::StatusOr<Decision> fast = evaluator_.Evaluate(*r.policy, json, facts, kNow);
    absl::StatusOr<Decision> slow = reference.Evaluate(*r.policy, json, facts, kNow);
    ASSERT_TRUE(fast.ok() && slow.ok());
    EXPECT_EQ(DecisionString(*fast), DecisionString(*slow)) << json;
    fired += fast->matches.size();
  }
  EXPECT_GT(fired, 200u);  // the comparison is not vacuous
}

// ---------------------------------------------------------------------------------------
// Content, summary and name share the scan of `text` (one matcher, each part scanned once):
// decisions must be those of one matcher per field.

// The matches of `d` by rule id (reason, score and evidence).
std::map<std::string, std::string> MatchesById(const Decision& d) {
  std::map<std::string, std::string> out;
  for (const RuleMatch& m : d.matches) {
    std::string s;
    for (const Evidence& e : m.evidence) {
      absl::StrAppend(&s, e.field, " ", e.start, "-", e.end, " '", e.text, "'; ");
    }
    out[m.rule_id] = s;
  }
  return out;
}

// A random condition on one text field.
std::string RandomTextCondition(std::mt19937& rng, const std::string& field,
                                const std::vector<std::string>& words) {
  auto word = [&] { return JsonString(words[rng() % words.size()]); };
  auto two = [&] {
    return JsonString(absl::StrCat(words[rng() % words.size()], " ", words[rng() % words.size()]));
  };
  static const char* kRegexes[] = {"/^free/",
                                   "/crypto$/",
                                   "/\\bcoin\\b/",
                                   "/free.{0,12}coin/",
                                   "/FREE/i",
                                   "/\\p{Han}+/",
                                   "/^$/",
                                   "/[^a-z ]{2,}/",
                                   "/x\\d+$/",
                                   "/e.t/",
                                   "/(?:coin|free)s?\\b/"};
  switch (rng() % 13) {
    case 0:
      return absl::StrCat(field, " contains ", word());
    case 1:
      return absl::StrCat(field, " has ", rng() % 3 == 0 ? two() : word());
    case 2:
      return absl::StrCat(field, " startswith ", word());
    case 3:
      return absl::StrCat(field, " endswith ", word());
    case 4:
      return absl::StrCat(field, " == ", rng() % 4 == 0 ? std::string("\"\"") : word());
    case 5:
      return absl::StrCat(field, " in [", word(), ", ", two(), "]");
    case 6:
      return absl::StrCat(field, " contains_any [", word(), ", ", word(), "]");
    case 7:
      return absl::StrCat(field, " has_any [", word(), ", ", two(), "]");
    case 8:
    case 9:
      return absl::StrCat(field, " ~ ", kRegexes[rng() % std::size(kRegexes)]);
    case 10:
      return absl::StrCat("not ", field, " has ", word());
    case 11:
      return absl::StrCat(field, " != \"\"");
    default:
      return absl::StrCat(field, " !~ ", kRegexes[rng() % std::size(kRegexes)]);
  }
}

class PartFieldsTest : public EvaluatorTest {
 protected:
  void SetUp() override {
    std::mt19937 rng(4321);
    const char* kFields[] = {"content", "summary", "name", "text"};
    std::string all, text_only, parts_only;
    for (int i = 0; i < 400; ++i) {
      const std::string field = kFields[rng() % 4];
      const std::string rule = absl::StrCat(
          "rule r", i, " { when ", RandomTextCondition(rng, field, kWords), " then flag }\n");
      absl::StrAppend(&all, rule);
      absl::StrAppend(field == "text" ? &text_only : &parts_only, rule);
    }
    all_ = Compile(all);
    text_ = Compile(text_only);
    parts_ = Compile(parts_only);
    ASSERT_NE(all_, nullptr);
    ASSERT_NE(text_, nullptr);
    ASSERT_NE(parts_, nullptr);
    // The merged policy does share: one matcher scans `text` for the three part fields.
    const auto& rules = dynamic_cast<const policy_internal::PolicyImpl&>(*all_).rules();
    size_t parts = 0;
    for (const policy_internal::TextField& tf : rules.text_fields) parts += tf.parts.size();
    EXPECT_EQ(parts, 3u);
    EXPECT_EQ(rules.text_fields.size(), 1u);
  }

  // Compares the merged policy with the per-field ones on one activity; returns the number
  // of rules that fired.
  size_t Compare(const Activity& a, const std::string& what) {
    Decision merged = evaluator_.Decide(*all_, a, {}, kNow);
    Decision t = reference_.Decide(*text_, a, {}, kNow);
    Decision p = reference_.Decide(*parts_, a, {}, kNow);
    std::map<std::string, std::string> expected = MatchesById(t);
    for (auto& [id, e] : MatchesById(p)) expected[id] = e;
    EXPECT_EQ(MatchesById(merged), expected) << what;
    return merged.matches.size();
  }

  const std::vector<std::string> kWords = {"free",
                                           "FREE",
                                           "crypto",
                                           "cr\u200Bypto",
                                           "\uFF23\uFF32\uFF39\uFF30\uFF34\uFF2F",
                                           "stra\u00DFe",
                                           "strasse",
                                           "\u65E5\u672C",
                                           "\u8A9E",
                                           "coin",
                                           "coins",
                                           "x1",
                                           "x22",
                                           "e\u0301t\u00E9",
                                           "\u1C90",
                                           "\u10D0",
                                           "a",
                                           "!"};
  std::shared_ptr<const Policy> all_, text_, parts_;
  Evaluator reference_;
  ActivityParser parser_;
};

TEST_F(PartFieldsTest, DecisionsAreThoseOfOneMatcherPerField) {
  std::mt19937 rng(99);
  auto phrase = [&](int max_words) {
    std::string s;
    const int n = static_cast<int>(rng() % (max_words + 1));
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&s, i == 0 ? "" : rng() % 5 == 0 ? "" : " ", kWords[rng() % kWords.size()]);
    }
    return s;
  };
  size_t fired = 0;
  for (int i = 0; i < 300; ++i) {
    std::string extra;
    if (rng() % 2) absl::StrAppend(&extra, ",\"summary\":", JsonString(phrase(4)));
    if (rng() % 3 == 0) absl::StrAppend(&extra, ",\"name\":", JsonString(phrase(3)));
    if (rng() % 3 == 0) {  // one to three described images: parts of `text` of no part field
      const int images = 1 + static_cast<int>(rng() % 3);
      absl::StrAppend(&extra, ",\"attachment\":[");
      for (int k = 0; k < images; ++k) {
        absl::StrAppend(&extra, k ? "," : "",
                        "{\"type\":\"Document\",\"mediaType\":\"image/png\","
                        "\"url\":\"https://a.example/m.png\",\"name\":",
                        JsonString(phrase(3)), "}");
      }
      absl::StrAppend(&extra, "]");
    }
    const std::string content =
        rng() % 6 == 0 ? "" : absl::StrCat("<p>", phrase(6), "</p><p>", phrase(3), "</p>");
    const std::string json = CreateNote("https://a.example/u", content, extra);
    absl::StatusOr<Activity> a = parser_.Parse(json);
    ASSERT_TRUE(a.ok()) << a.status() << json;
    fired += Compare(*a, json);
  }
  EXPECT_GT(fired, 1500u);  // not vacuous
}

TEST_F(PartFieldsTest, PartsNotFoundInTheTextAreScannedAlone) {
  // Activities built by hand need not join their parts into `text`: then each part field is
  // matched on its own text.
  const std::string json = CreateNote(
      "https://a.example/u", "free crypto coin",
      R"(,"summary":"x1 coins","name":"stra\u00DFe","attachment":[{"type":"Document","mediaType":"image/png","url":"https://a.example/m.png","name":"FREE"}])");
  absl::StatusOr<Activity> parsed = parser_.Parse(json);
  ASSERT_TRUE(parsed.ok());
  size_t fired = Compare(*parsed, "as parsed");
  std::vector<std::pair<std::string, Activity>> variants;
  auto add = [&](std::string what, auto change) {
    Activity a = *parsed;
    change(a);
    variants.emplace_back(std::move(what), std::move(a));
  };
  add("no text", [](Activity& a) { a.text = text::NormalizedText{}; });
  add("text of other words", [](Activity& a) { a.text = text::Normalize("coin free x22"); });
  add("content differs from its part", [](Activity& a) { a.content = text::Normalize("x1"); });
  add("summary emptied", [](Activity& a) { a.summary = text::NormalizedText{}; });
  add("separator inside content", [](Activity& a) {
    a.content.unfolded +=
        "\x1e"
        "free";
    a.content.folded +=
        "\x1e"
        "free";
  });
  add("a break only in the text", [](Activity& a) { a.text.folded_breaks.push_back(2); });
  add("forms with different part counts", [](Activity& a) { a.text.folded.push_back('\x1e'); });
  for (const auto& [what, a] : variants) fired += Compare(a, what);
  EXPECT_GT(fired, 20u);
}

TEST_F(EvaluatorTest, PartFieldAnchorsAndRegexesSeeOnlyTheirPart) {
  auto p = Compile(R"(
rule content_end { when content ~ /crypto$/ then flag }
rule content_endswith { when content endswith "crypto" then flag }
rule summary_start { when summary ~ /^coin/ then flag }
rule summary_eq { when summary == "coin" then flag }
rule text_end { when text ~ /crypto$/ then flag }
rule text_endswith { when text endswith "crypto" then flag }
rule text_across { when text ~ /crypto.coin/ then flag }
rule name_empty { when name == "" then flag }
)");
  ASSERT_NE(p, nullptr);
  Decision d = Eval(*p, CreateNote("https://a.example/u", "free crypto", R"(,"summary":"coin")"));
  ASSERT_THAT(Ids(d), ElementsAre("content_end", "content_endswith", "summary_start", "summary_eq",
                                  "name_empty"))
      << DecisionString(d);
  ASSERT_EQ(d.matches[0].evidence.size(), 1u);
  EXPECT_EQ(d.matches[0].evidence[0].start, 5u);  // offsets into content
  ASSERT_EQ(d.matches[2].evidence.size(), 1u);
  EXPECT_EQ(d.matches[2].evidence[0].start, 0u);  // offsets into summary
  EXPECT_EQ(d.matches[2].evidence[0].field, "summary");
}

// ---------------------------------------------------------------------------------------
// Determinism and reuse

TEST_F(EvaluatorTest, DecisionsAreDeterministicAcrossEvaluatorsAndPolicies) {
  auto p1 = Compile(R"(
rule a { when content has_any ["free", "crypto", "nft"] then flag }
rule b { when content ~ /n.t/ or content contains "ee" then flag }
)");
  auto p2 = Compile(R"(rule z { when content has "other" then reject })");
  ASSERT_NE(p1, nullptr);
  ASSERT_NE(p2, nullptr);
  const std::string json = CreateNote("https://a.example/u", "nft and crypto for free free");
  Decision first = Eval(*p1, json);
  Evaluator other;
  for (int i = 0; i < 3; ++i) {
    // Interleave another policy: the evaluator's reused state must not leak across.
    Decision z = Eval(*p2, CreateNote("https://a.example/u", "other"));
    EXPECT_THAT(Ids(z), ElementsAre("z"));
    EXPECT_EQ(DecisionString(Eval(*p1, json)), DecisionString(first));
    absl::StatusOr<Decision> o = other.Evaluate(*p1, json, {}, kNow);
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(DecisionString(*o), DecisionString(first));
  }
  // The leftmost match of the list is the evidence: "nft" at 0.
  ASSERT_EQ(first.matches.size(), 2u);
  EXPECT_EQ(first.matches[0].evidence.at(0).text, "nft");
  EXPECT_EQ(first.matches[0].evidence.at(0).start, 0u);
}

TEST(FormatTest, DurationsNumbersAndScores) {
  using policy_internal::FormatDurationLiteral;
  using policy_internal::FormatMilli;
  using policy_internal::FormatNumber;
  EXPECT_EQ(FormatDurationLiteral(absl::Hours(1)), "1h");
  EXPECT_EQ(FormatDurationLiteral(absl::Hours(51) + absl::Seconds(5)), "2d3h5s");
  EXPECT_EQ(FormatDurationLiteral(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatDurationLiteral(-absl::Hours(1)), "0s");
  EXPECT_EQ(FormatNumber(5), "5");
  EXPECT_EQ(FormatNumber(2.5), "2.5");
  EXPECT_EQ(FormatNumber(-0.125), "-0.125");
  EXPECT_EQ(FormatMilli(800), "0.8");
  EXPECT_EQ(FormatMilli(-1250), "-1.25");
  EXPECT_EQ(FormatMilli(3000), "3");
}

}  // namespace
}  // namespace fedwall
