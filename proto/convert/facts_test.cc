#include "proto/convert/facts.h"

#include <gtest/gtest.h>

namespace fedwall::convert {
namespace {

TEST(FactsTest, ReadsProto3JsonMapping) {
  absl::StatusOr<RequestFacts> facts = ParseFactsJson(R"({
    "delivery": {"senderDomain": "spam.example", "remoteIp": "192.0.2.7",
                 "signatureVerified": false, "receivedAt": "2024-02-15T12:00:00Z"},
    "actor": {"createdAt": "2024-02-15T11:00:00Z", "followersCount": 0,
              "followingCount": "12", "bot": true, "displayName": "Free Crypto"}})");
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->delivery.sender_domain, "spam.example");
  EXPECT_EQ(facts->delivery.remote_ip, "192.0.2.7");
  EXPECT_EQ(facts->delivery.signature_verified, false);
  EXPECT_EQ(facts->delivery.received_at, absl::FromUnixSeconds(1707998400));
  EXPECT_EQ(facts->actor.created_at, absl::FromUnixSeconds(1707994800));
  // Zero is a fact, not absence (proto3 optional).
  EXPECT_EQ(facts->actor.followers_count, 0u);
  EXPECT_EQ(facts->actor.following_count, 12u);
  EXPECT_EQ(facts->actor.bot, true);
  EXPECT_EQ(facts->actor.display_name, "Free Crypto");
}

TEST(FactsTest, AbsentFactsStayAbsent) {
  absl::StatusOr<RequestFacts> facts = ParseFactsJson("{}");
  ASSERT_TRUE(facts.ok());
  EXPECT_FALSE(facts->delivery.sender_domain.has_value());
  EXPECT_FALSE(facts->delivery.signature_verified.has_value());
  EXPECT_FALSE(facts->delivery.received_at.has_value());
  EXPECT_FALSE(facts->actor.followers_count.has_value());
  EXPECT_FALSE(facts->actor.created_at.has_value());
  EXPECT_FALSE(facts->actor.bio.has_value());
}

TEST(FactsTest, RejectsTyposAndActivities) {
  EXPECT_FALSE(ParseFactsJson(R"({"actor": {"followers": 3}})").ok());
  EXPECT_FALSE(ParseFactsJson("not json").ok());
  EXPECT_FALSE(ParseFactsJson(R"({"activityJson": "e30="})").ok());
}

}  // namespace
}  // namespace fedwall::convert
