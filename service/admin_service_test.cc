#include "service/admin_service.h"

#include "gtest/gtest.h"

namespace fedwall::service {
namespace {

TEST(CheckBearerTokenTest, AcceptsOnlyTheExactToken) {
  EXPECT_TRUE(CheckBearerToken("Bearer s3cret", "s3cret"));
  EXPECT_TRUE(CheckBearerToken("bearer s3cret", "s3cret"));  // the scheme is case-insensitive
  EXPECT_FALSE(CheckBearerToken("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(CheckBearerToken("Bearer s3cretX", "s3cret"));
  EXPECT_FALSE(CheckBearerToken("Bearer S3cret", "s3cret"));
  EXPECT_FALSE(CheckBearerToken("s3cret", "s3cret"));
  EXPECT_FALSE(CheckBearerToken("Basic s3cret", "s3cret"));
  EXPECT_FALSE(CheckBearerToken("", "s3cret"));
}

TEST(CheckBearerTokenTest, NoTokenConfiguredRefusesEverything) {
  EXPECT_FALSE(CheckBearerToken("Bearer ", ""));
  EXPECT_FALSE(CheckBearerToken("", ""));
}

TEST(ToBlocklistEntriesTest, ApiBlocksHaveNoPath) {
  store::DomainBlock b;
  b.domain = "spam.example";
  b.severity = store::BlockSeverity::kSilence;
  b.reject_media = true;
  std::vector<blocklist::Entry> e = ToBlocklistEntries({b});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].domain, "spam.example");
  EXPECT_EQ(e[0].severity, blocklist::Severity::kSilence);
  EXPECT_TRUE(e[0].reject_media);
  EXPECT_TRUE(e[0].path.empty());
}

}  // namespace
}  // namespace fedwall::service
