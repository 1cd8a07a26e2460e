#include "tools/admin_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace fedwall::tools {
namespace {

std::string TempFile(const std::string& content) {
  std::string path = ::testing::TempDir() + "admin_token_XXXXXX";
  int fd = mkstemp(path.data());
  close(fd);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

TEST(ReadAdminTokenTest, FirstLineTrimmedAndBounded) {
  EXPECT_EQ(*ReadAdminToken(TempFile("  s3cret \nsecond line\n")), "s3cret");
  EXPECT_FALSE(ReadAdminToken(TempFile("\nlater")).ok());
  absl::StatusOr<std::string> spaced = ReadAdminToken(TempFile("two words\n"));
  ASSERT_FALSE(spaced.ok());
  EXPECT_EQ(std::string(spaced.status().message()).find("two"), std::string::npos);  // no echo
  EXPECT_FALSE(ReadAdminToken(TempFile(std::string(kMaxTokenFileBytes + 1, 'a'))).ok());
  EXPECT_TRUE(ReadAdminToken(TempFile(std::string(kMaxTokenFileBytes, 'a'))).ok());
  EXPECT_FALSE(ReadAdminToken("/nonexistent/token").ok());
}

TEST(AdminOutputTest, ShortActor) {
  EXPECT_EQ(ShortActor("https://mastodon.example/users/alice"), "alice@mastodon.example");
  EXPECT_EQ(ShortActor("https://misskey.example/@bob/"), "bob@misskey.example");
  EXPECT_EQ(ShortActor("https://solo.example"), "solo.example");
  EXPECT_EQ(ShortActor("https://x.example/u/\x1b[31mred"), "[31mred@x.example");
  EXPECT_EQ(ShortActor("not a uri"), "not a uri");
}

TEST(AdminOutputTest, FitWidthCountsCodePoints) {
  EXPECT_EQ(FitWidth("abc", 5, true), "abc  ");
  EXPECT_EQ(FitWidth("abc", 5, false), "abc");
  EXPECT_EQ(FitWidth("abcdef", 4, true), "abc\u2026");
  EXPECT_EQ(FitWidth("\u00e9\u00e9\u00e9\u00e9", 3, true), "\u00e9\u00e9\u2026");
  EXPECT_EQ(FitWidth("abc", 0, true), "");
  EXPECT_EQ(DisplayWidth("\u00e9t\u00e9"), 3u);
}

TEST(AdminOutputTest, TerminalSafeRemovesControlsAndBidiOverrides) {
  EXPECT_EQ(TerminalSafe("a\x1b[31mb\x07\x7f"
                         "c\n\td"),
            "a[31mbc\n d");
  EXPECT_EQ(TerminalSafe("x\xc2\x9b"
                         "31my"),
            "x31my");                                                       // C1 CSI
  EXPECT_EQ(TerminalSafe("l\xe2\x80\xaer\xe2\x81\xa6i"), "lri");            // U+202E, U+2066
  EXPECT_EQ(TerminalSafe("caf\xc3\xa9 \xff"), "caf\xc3\xa9 \xef\xbf\xbd");  // invalid UTF-8
}

TEST(AdminOutputTest, AgesAndSeverities) {
  EXPECT_EQ(FormatAge(absl::Seconds(-3)), "0s");
  EXPECT_EQ(FormatAge(absl::Seconds(59)), "59s");
  EXPECT_EQ(FormatAge(absl::Minutes(61)), "1h");
  EXPECT_EQ(FormatAge(absl::Hours(49)), "2d");
  EXPECT_EQ(FormatAge(absl::Hours(24 * 800)), "2y");
  EXPECT_EQ(*ParseSeverity("silence"), fedwall::v1::SEVERITY_SILENCE);
  EXPECT_FALSE(ParseSeverity("limit").has_value());
  EXPECT_EQ(SeverityName(fedwall::v1::SEVERITY_NOOP), "noop");
}

TEST(AdminOutputTest, RemoteDiagnostics) {
  fedwall::v1::Diagnostic d;
  d.set_path("main.rules");
  d.set_line(4);
  d.set_column(21);
  d.set_severity("error");
  d.set_message("expected a value");
  EXPECT_EQ(FormatRemoteDiagnostic(d, false), "main.rules:4:21: error: expected a value");
  d.set_column(0);
  d.set_severity("warning");
  EXPECT_EQ(FormatRemoteDiagnostic(d, false), "main.rules:4: warning: expected a value");
  d.set_line(0);
  EXPECT_EQ(FormatRemoteDiagnostic(d, false), "main.rules: warning: expected a value");
}

TEST(AdminCallErrorTest, OneLinePerCode) {
  EXPECT_TRUE(AdminCallError(grpc::Status::OK, "s").ok());
  absl::Status auth = AdminCallError(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad"), "s:1");
  EXPECT_EQ(auth.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(std::string(auth.message()).find("refused the admin token"), std::string::npos);
  absl::Status missing = AdminCallError(grpc::Status(grpc::StatusCode::NOT_FOUND, "no flag"), "s");
  EXPECT_EQ(missing.message(), "not found: no flag");
}

}  // namespace
}  // namespace fedwall::tools
