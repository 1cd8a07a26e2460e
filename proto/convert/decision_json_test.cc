#include "proto/convert/decision_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/lang/ast.h"

namespace fedwall::convert {
namespace {

using ::testing::HasSubstr;

Decision Sample() {
  Decision d;
  d.verdict = Verdict::kFlag;
  d.effects = lang::kUnlist | lang::kStripMedia;
  d.score_milli = 7500;
  d.policy_version = "abc123";
  RuleMatch m;
  m.rule_id = "crypto_talk";
  m.reason = "Talks about cryptocurrency";
  m.score_milli = 1250;
  m.evidence.push_back({"text", "crypto", 10, 16});
  m.evidence.push_back({"actor.age", "actor.age = 1h", 0, 0});
  d.matches.push_back(m);
  RuleMatch monitor;
  monitor.rule_id = "experimental";
  monitor.reason = "r";
  monitor.monitor = true;
  d.matches.push_back(monitor);
  return d;
}

TEST(DecisionJsonTest, MapsEveryField) {
  fedwall::v1::EvaluateResponse r = DecisionToProto(Sample(), "req-1");
  EXPECT_EQ(r.request_id(), "req-1");
  EXPECT_EQ(r.verdict(), fedwall::v1::VERDICT_FLAG);
  ASSERT_EQ(r.effects_size(), 2);
  // Enum order, whatever the bit order.
  EXPECT_EQ(r.effects(0), fedwall::v1::EFFECT_STRIP_MEDIA);
  EXPECT_EQ(r.effects(1), fedwall::v1::EFFECT_UNLIST);
  EXPECT_DOUBLE_EQ(r.score(), 7.5);
  EXPECT_EQ(r.policy_version(), "abc123");
  ASSERT_EQ(r.matches_size(), 2);
  EXPECT_EQ(r.matches(0).rule_id(), "crypto_talk");
  EXPECT_DOUBLE_EQ(r.matches(0).score(), 1.25);
  EXPECT_FALSE(r.matches(0).monitor());
  ASSERT_EQ(r.matches(0).evidence_size(), 2);
  EXPECT_EQ(r.matches(0).evidence(0).field(), "text");
  EXPECT_EQ(r.matches(0).evidence(0).start(), 10u);
  EXPECT_EQ(r.matches(0).evidence(0).end(), 16u);
  EXPECT_TRUE(r.matches(1).monitor());
  EXPECT_FALSE(r.has_error());
}

TEST(DecisionJsonTest, EveryVerdictAndEffect) {
  Decision d;
  for (auto [v, want] : {std::pair{Verdict::kAccept, fedwall::v1::VERDICT_ACCEPT},
                         std::pair{Verdict::kFlag, fedwall::v1::VERDICT_FLAG},
                         std::pair{Verdict::kReject, fedwall::v1::VERDICT_REJECT}}) {
    d.verdict = v;
    EXPECT_EQ(DecisionToProto(d).verdict(), want);
  }
  d.effects = lang::kStripMedia | lang::kMarkSensitive | lang::kUnlist | lang::kFollowersOnly;
  fedwall::v1::EvaluateResponse r = DecisionToProto(d);
  ASSERT_EQ(r.effects_size(), 4);
  EXPECT_EQ(r.effects(0), fedwall::v1::EFFECT_STRIP_MEDIA);
  EXPECT_EQ(r.effects(1), fedwall::v1::EFFECT_MARK_SENSITIVE);
  EXPECT_EQ(r.effects(2), fedwall::v1::EFFECT_UNLIST);
  EXPECT_EQ(r.effects(3), fedwall::v1::EFFECT_FOLLOWERS_ONLY);
}

TEST(DecisionJsonTest, JsonPrintsZeroValuesAndEnumNames) {
  Decision d;  // ACCEPT, nothing fired
  d.policy_version = "v";
  EXPECT_EQ(DecisionToJson(d, /*pretty=*/false),
            R"({"requestId":"","verdict":"VERDICT_ACCEPT","effects":[],"score":0,"matches":[],)"
            R"("policyVersion":"v","flagId":""})");
  std::string json = DecisionToJson(Sample(), /*pretty=*/false);
  EXPECT_THAT(json, HasSubstr(R"("verdict":"VERDICT_FLAG")"));
  EXPECT_THAT(json, HasSubstr(R"("effects":["EFFECT_STRIP_MEDIA","EFFECT_UNLIST"])"));
  EXPECT_THAT(json, HasSubstr(R"("score":7.5)"));
  EXPECT_THAT(json, HasSubstr(R"("ruleId":"crypto_talk")"));
  EXPECT_THAT(json, HasSubstr(R"("monitor":false)"));
  EXPECT_THAT(json,
              HasSubstr(R"({"field":"actor.age","text":"actor.age = 1h","start":0,"end":0})"));
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_NE(DecisionToJson(Sample(), /*pretty=*/true).find('\n'), std::string::npos);
}

TEST(DecisionJsonTest, InvalidUtf8IsReplacedNotDropped) {
  Decision d;
  RuleMatch m;
  m.rule_id = "r";
  m.evidence.push_back({"content", std::string("cut \xE2\x82", 6), 0, 6});  // a cut "€"
  d.matches.push_back(m);
  std::string json = DecisionToJson(d, false);
  EXPECT_THAT(json, HasSubstr("\"text\":\"cut \xEF\xBF\xBD\xEF\xBF\xBD\""));
}

}  // namespace
}  // namespace fedwall::convert
