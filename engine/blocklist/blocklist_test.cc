#include "engine/blocklist/blocklist.h"

#include <openssl/sha.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/text/domain.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::blocklist {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Fixture(std::string_view name) {
  std::string path =
      absl::StrCat(FEDWALL_SOURCE_DIR, "/tests/fixtures/blocklists/", std::string(name));
  std::string data = ReadFile(path);
  EXPECT_FALSE(data.empty()) << "missing fixture " << path;
  return data;
}

// Parses a fixture (path = its name); fails the test if the file is refused.
ParseResult Parse(std::string_view name, ParseOptions options = {}) {
  options.path = std::string(name);
  absl::StatusOr<ParseResult> parsed = ParseBlocklist(Fixture(name), options);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *std::move(parsed) : ParseResult{};
}

ParseResult ParseText(std::string_view text, ParseOptions options = {}) {
  if (options.path.empty()) options.path = "inline";
  absl::StatusOr<ParseResult> parsed = ParseBlocklist(text, options);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *std::move(parsed) : ParseResult{};
}

std::shared_ptr<const DomainTable> TableOf(const std::vector<ParseResult>& files) {
  DomainTableBuilder builder;
  for (const ParseResult& f : files) builder.Add(f);
  return std::move(builder).Build();
}

const Entry* Find(const ParseResult& r, std::string_view domain) {
  for (const Entry& e : r.entries) {
    if (e.domain == domain) return &e;
  }
  return nullptr;
}

std::vector<uint32_t> WarningLines(const ParseResult& r) {
  std::vector<uint32_t> lines;
  for (const Diagnostic& d : r.diagnostics) lines.push_back(d.line);
  return lines;
}

// SHA-256 hex computed here, independently of DomainDigest.
std::string Sha256Hex(std::string_view s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  std::string hex;
  for (unsigned char c : md) absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
  return hex;
}

Severity SeverityAt(const DomainTable& table, std::string_view domain) {
  std::optional<Match> m = table.Lookup(domain);
  return m ? m->severity : Severity::kNone;
}

TEST(NamesTest, SeveritiesAndFormats) {
  EXPECT_EQ(ParseSeverity("SUSPEND"), Severity::kSuspend);
  EXPECT_EQ(ParseSeverity("Silence"), Severity::kSilence);
  EXPECT_EQ(ParseSeverity("limit"), Severity::kSilence);
  EXPECT_EQ(ParseSeverity(" noop "), Severity::kNoop);
  EXPECT_EQ(ParseSeverity("none"), Severity::kNone);
  EXPECT_EQ(ParseSeverity("obliterate"), std::nullopt);
  EXPECT_EQ(ParseSeverity(""), std::nullopt);
  for (Severity s : {Severity::kNone, Severity::kNoop, Severity::kSilence, Severity::kSuspend}) {
    EXPECT_EQ(ParseSeverity(SeverityName(s)), s);
  }
  for (Format f :
       {Format::kDetect, Format::kMastodonCsv, Format::kFediblockholeCsv, Format::kMastodonApiJson,
        Format::kGotosocialJson, Format::kRapidblockJson, Format::kPlain}) {
    EXPECT_EQ(ParseFormat(FormatName(f)), f);
  }
  EXPECT_EQ(ParseFormat("csv"), std::nullopt);
  EXPECT_STREQ(FormatName(Format::kMastodonCsv), "mastodon_csv");
}

TEST(ParseTest, MastodonExport) {
  ParseResult r = Parse("mastodon_export.csv");
  EXPECT_EQ(r.format, Format::kMastodonCsv);
  EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  ASSERT_EQ(r.entries.size(), 8u);

  const Entry& spam = r.entries[0];
  EXPECT_EQ(spam.domain, "spam.example");
  EXPECT_EQ(spam.severity, Severity::kSuspend);
  EXPECT_TRUE(spam.reject_media);
  EXPECT_TRUE(spam.reject_reports);
  EXPECT_EQ(spam.public_comment, "Spam wave of 2024-02-15");
  EXPECT_EQ(spam.path, "mastodon_export.csv");
  EXPECT_EQ(spam.line, 2u);

  ASSERT_NE(Find(r, "quiet.example"), nullptr);
  EXPECT_EQ(Find(r, "quiet.example")->public_comment, "unmoderated, noisy");
  EXPECT_EQ(Find(r, "quiet.example")->severity, Severity::kSilence);
  ASSERT_NE(Find(r, "media.example"), nullptr);
  EXPECT_EQ(Find(r, "media.example")->severity, Severity::kNoop);
  EXPECT_TRUE(Find(r, "media.example")->reject_media);

  const Entry* idn = Find(r, "xn--bcher-kva.example");
  ASSERT_NE(idn, nullptr);
  EXPECT_EQ(idn->written, "bücher.example");
  const Entry* wild = Find(r, "wildcard.example");
  ASSERT_NE(wild, nullptr);
  EXPECT_EQ(wild->written, "*.wildcard.example");
  const Entry* tk = Find(r, "tk");
  ASSERT_NE(tk, nullptr);
  EXPECT_EQ(tk->written, ".tk");
  const Entry* limited = Find(r, "limited.example");
  ASSERT_NE(limited, nullptr);
  EXPECT_EQ(limited->severity, Severity::kSilence);
  EXPECT_TRUE(limited->reject_reports);
  EXPECT_EQ(limited->written, "Limited.Example");
  EXPECT_EQ(limited->line, 9u);
}

TEST(ParseTest, ByteOrderMarkAndCrlf) {
  ParseResult r = Parse("mastodon_crlf_bom.csv");
  EXPECT_EQ(r.format, Format::kMastodonCsv);
  EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].domain, "bom.example");
  EXPECT_EQ(r.entries[0].line, 2u);
  EXPECT_EQ(r.entries[1].domain, "crlf.example");
  EXPECT_EQ(r.entries[1].line, 4u);
  EXPECT_EQ(r.entries[1].severity, Severity::kSilence);
  EXPECT_TRUE(r.entries[1].reject_media);
  EXPECT_FALSE(r.entries[1].reject_reports);
  EXPECT_EQ(r.entries[1].public_comment, "windows line ends");
  EXPECT_EQ(r.entries[2].domain, "last.example");
  EXPECT_EQ(r.entries[2].line, 6u);
  EXPECT_EQ(r.entries[2].severity, Severity::kNoop);
}

TEST(ParseTest, FediblockholeQuotedAnyOrder) {
  ParseResult r = Parse("fediblockhole_any_order.csv");
  EXPECT_EQ(r.format, Format::kFediblockholeCsv);
  EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  ASSERT_EQ(r.entries.size(), 4u);

  const Entry& quoted = r.entries[0];
  EXPECT_EQ(quoted.domain, "quoted.example");
  EXPECT_EQ(quoted.severity, Severity::kSuspend);
  EXPECT_TRUE(quoted.reject_reports);
  EXPECT_FALSE(quoted.reject_media);
  EXPECT_EQ(quoted.public_comment, "comma, inside");
  EXPECT_EQ(quoted.private_comment, "not shown");

  const Entry& escaped = r.entries[1];
  EXPECT_EQ(escaped.domain, "escaped.example");
  EXPECT_EQ(escaped.severity, Severity::kSilence);
  EXPECT_TRUE(escaped.reject_media);
  EXPECT_EQ(escaped.public_comment, "she said \"hello\"");

  const Entry& multi = r.entries[2];
  EXPECT_EQ(multi.domain, "multiline.example");
  EXPECT_EQ(multi.severity, Severity::kNoop);
  EXPECT_EQ(multi.public_comment, "first line\nsecond line");
  EXPECT_TRUE(multi.reject_media);
  EXPECT_FALSE(multi.reject_reports);
  EXPECT_EQ(multi.line, 4u);

  EXPECT_EQ(r.entries[3].domain, "trailing.example");
  EXPECT_EQ(r.entries[3].line, 6u);  // after the record spanning lines 4 and 5
}

TEST(ParseTest, FediblockholeSubsetOfColumns) {
  ParseOptions options;
  options.default_severity = Severity::kSilence;
  ParseResult r = Parse("fediblockhole_subset.csv", options);
  EXPECT_EQ(r.format, Format::kFediblockholeCsv);
  EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].severity, Severity::kSuspend);
  EXPECT_EQ(r.entries[1].severity, Severity::kSilence);
  EXPECT_EQ(r.entries[2].domain, "subset-default.example");
  EXPECT_EQ(r.entries[2].severity, Severity::kSilence);  // the default
}

TEST(ParseTest, MastodonAdminApi) {
  ParseResult r = Parse("mastodon_admin_api.json");
  EXPECT_EQ(r.format, Format::kMastodonApiJson);
  EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].domain, "admin-suspend.example");
  EXPECT_EQ(r.entries[0].severity, Severity::kSuspend);
  EXPECT_TRUE(r.entries[0].reject_media);
  EXPECT_TRUE(r.entries[0].reject_reports);
  EXPECT_EQ(r.entries[0].public_comment, "spam");
  EXPECT_EQ(r.entries[0].private_comment, "private note");
  EXPECT_EQ(r.entries[0].line, 2u);
  EXPECT_EQ(r.entries[1].severity, Severity::kSilence);
  EXPECT_FALSE(r.entries[1].reject_media);
  EXPECT_TRUE(r.entries[1].reject_reports);
  EXPECT_EQ(r.entries[1].private_comment, "");
  EXPECT_EQ(r.entries[1].line, 13u);
  EXPECT_EQ(r.entries[2].severity, Severity::kNoop);
  EXPECT_EQ(r.entries[2].line, 24u);
}

TEST(ParseTest, MastodonPublicApiWithDigests) {
  ParseResult r = Parse("mastodon_public_api.json");
  EXPECT_EQ(r.format, Format::kMastodonApiJson);
  EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  ASSERT_EQ(r.entries.size(), 4u);
  EXPECT_EQ(r.entries[0].domain, "evil.example");
  EXPECT_EQ(r.entries[0].digest, Sha256Hex("evil.example"));
  EXPECT_EQ(r.entries[0].public_comment, "Harassment");

  const Entry& hidden = r.entries[1];
  EXPECT_EQ(hidden.domain, "");
  EXPECT_EQ(hidden.digest, Sha256Hex("hidden-spam.example"));
  EXPECT_EQ(hidden.written, "hid****pam.example");
  EXPECT_EQ(hidden.severity, Severity::kSilence);
  EXPECT_EQ(hidden.line, 3u);
  EXPECT_EQ(r.entries[2].digest, Sha256Hex("sub.deep.example"));
  EXPECT_EQ(r.entries[2].severity, Severity::kNoop);
  EXPECT_EQ(r.entries[3].digest, Sha256Hex("cover.example"));
  EXPECT_EQ(DomainDigest("hidden-spam.example"), Sha256Hex("hidden-spam.example"));
}

TEST(ParseTest, Gotosocial) {
  ParseResult r = Parse("gotosocial.json");
  EXPECT_EQ(r.format, Format::kGotosocialJson);
  EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].severity, Severity::kSuspend);
  EXPECT_EQ(r.entries[0].public_comment, "bad vibes");
  EXPECT_EQ(r.entries[2].domain, "gts-wild.example");
  EXPECT_EQ(r.entries[2].line, 4u);

  ParseOptions silence;
  silence.default_severity = Severity::kSilence;
  ParseResult s = Parse("gotosocial.json", silence);
  ASSERT_EQ(s.entries.size(), 3u);
  EXPECT_EQ(s.entries[1].severity, Severity::kSilence);
}

TEST(ParseTest, Rapidblock) {
  ParseResult r = Parse("rapidblock.json");
  EXPECT_EQ(r.format, Format::kRapidblockJson);
  EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  ASSERT_EQ(r.entries.size(), 2u);  // the one not blocked is left out, silently
  EXPECT_EQ(r.entries[0].domain, "rapid-one.example");
  EXPECT_EQ(r.entries[0].severity, Severity::kSuspend);
  EXPECT_EQ(r.entries[0].public_comment, "harassment [harassment, spam]");
  EXPECT_EQ(r.entries[0].line, 5u);
  EXPECT_EQ(r.entries[1].domain, "rapid-two.example");
  EXPECT_EQ(r.entries[1].public_comment, "[malware]");
  EXPECT_EQ(r.entries[1].line, 14u);
}

TEST(ParseTest, Plain) {
  ParseResult r = Parse("plain.txt");
  EXPECT_EQ(r.format, Format::kPlain);
  EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  ASSERT_EQ(r.entries.size(), 5u);
  EXPECT_EQ(r.entries[0].domain, "plain-one.example");
  EXPECT_EQ(r.entries[0].line, 4u);
  EXPECT_EQ(r.entries[1].domain, "plain-wild.example");
  EXPECT_EQ(r.entries[2].domain, "plain-upper.example");
  EXPECT_EQ(r.entries[2].written, "PLAIN-UPPER.Example");
  EXPECT_EQ(r.entries[3].domain, "plain-dot.example");
  EXPECT_EQ(r.entries[4].domain, "plain-indented.example");
  EXPECT_EQ(r.entries[4].line, 9u);
  for (const Entry& e : r.entries) EXPECT_EQ(e.severity, Severity::kSuspend);
}

TEST(ParseTest, DetectsEachFormat) {
  struct Case {
    std::string text;
    Format format;
    size_t entries;
  } cases[] = {
      {"[]", Format::kMastodonApiJson, 0},
      {"[{\"domain\": \"a.example\", \"severity\": \"silence\"}]", Format::kMastodonApiJson, 1},
      {"[{\"domain\": \"a.example\"}]", Format::kGotosocialJson, 1},
      {"  \n{\"blocks\": {}}", Format::kRapidblockJson, 0},
      {"{\"@spec\": \"https://rapidblock.org/spec/v1/\"}", Format::kRapidblockJson, 0},
      {"#domain,#severity\na.example,noop\n", Format::kMastodonCsv, 1},
      {"domain\na.example\n", Format::kFediblockholeCsv, 1},
      {"\"Severity\",\"Domain\"\nsilence,a.example\n", Format::kFediblockholeCsv, 1},
      {"\n\n#domain,#severity\r\na.example,silence\r\n", Format::kMastodonCsv, 1},
      {"a.example\nb.example\n", Format::kPlain, 2},
      {"# domain list\na.example\n", Format::kPlain, 1},
      {"", Format::kPlain, 0},
      {"\xEF\xBB\xBF[]", Format::kMastodonApiJson, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    ParseResult r = ParseText(c.text);
    EXPECT_EQ(r.format, c.format) << FormatName(r.format);
    EXPECT_EQ(r.entries.size(), c.entries);
    EXPECT_THAT(r.diagnostics, ::testing::IsEmpty());
  }
}

TEST(ParseTest, ExplicitFormat) {
  ParseOptions options;
  options.format = Format::kMastodonCsv;  // a Mastodon export without its header line
  ParseResult r = ParseText("a.example,silence,true,false,,false\n", options);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].severity, Severity::kSilence);
  EXPECT_TRUE(r.entries[0].reject_media);
  EXPECT_EQ(r.entries[0].line, 1u);

  options.format = Format::kPlain;  // the header is a comment; rows are not domains
  r = ParseText("#domain,#severity\na.example,silence\n", options);
  EXPECT_EQ(r.format, Format::kPlain);
  EXPECT_TRUE(r.entries.empty());
  EXPECT_EQ(WarningLines(r), std::vector<uint32_t>{2});

  options.format = Format::kRapidblockJson;
  absl::StatusOr<ParseResult> wrong = ParseBlocklist("[]", options);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr("rapidblock_json"));

  options.format = Format::kFediblockholeCsv;
  wrong = ParseBlocklist("a.example,suspend\n", options);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr("header"));

  options.format = Format::kGotosocialJson;  // read as named, severities still honoured
  r = ParseText("[{\"domain\": \"a.example\", \"severity\": \"noop\"}]", options);
  EXPECT_EQ(r.format, Format::kGotosocialJson);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].severity, Severity::kNoop);
}

TEST(ParseTest, DamagedCsvRowsAreSkippedWithTheirLines) {
  ParseResult r = Parse("damaged.csv");
  EXPECT_EQ(r.format, Format::kFediblockholeCsv);
  std::vector<std::string> domains;
  for (const Entry& e : r.entries) domains.push_back(e.domain);
  EXPECT_EQ(domains,
            (std::vector<std::string>{"good-1.example", "good-4.example", "good-6.example"}));
  EXPECT_FALSE(Find(r, "good-4.example")->reject_media);  // "maybe" read as false
  EXPECT_EQ(Find(r, "good-6.example")->line, 10u);

  EXPECT_EQ(WarningLines(r), (std::vector<uint32_t>{3, 4, 5, 6, 7, 8, 9}));
  ASSERT_EQ(r.diagnostics.size(), 7u);
  for (const Diagnostic& d : r.diagnostics) {
    EXPECT_EQ(d.severity, Diagnostic::Severity::kWarning);
    EXPECT_EQ(d.path, "damaged.csv");
  }
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("invalid domain \"not a domain!\""));
  EXPECT_THAT(r.diagnostics[1].message, HasSubstr("unknown severity \"obliterate\""));
  EXPECT_THAT(r.diagnostics[2].message, HasSubstr("expected 5 columns, found 3"));
  EXPECT_THAT(r.diagnostics[3].message, HasSubstr("reject_media"));
  EXPECT_THAT(r.diagnostics[4].message, HasSubstr("obfuscated"));
  EXPECT_THAT(r.diagnostics[5].message, HasSubstr("empty domain"));
  EXPECT_THAT(r.diagnostics[6].message, HasSubstr("never closed"));
  EXPECT_THAT(r.diagnostics[0].ToString(), HasSubstr("damaged.csv:3: warning: "));
}

TEST(ParseTest, DamagedJsonItemsAreSkippedWithTheirLines) {
  ParseResult api = ParseText(R"([
  {"domain": "ok.example", "severity": "silence"},
  42,
  {"domain": 7, "severity": "suspend"},
  {"domain": "bad.example", "severity": "obliterate"},
  {"severity": "suspend"},
  {"domain": "exa**le.example", "severity": "suspend"},
  {"domain": "flags.example", "severity": "noop", "reject_media": "maybe"},
  {"domain": "hidden.example", "digest": "0123", "severity": "suspend"}
])");
  EXPECT_EQ(api.format, Format::kMastodonApiJson);
  ASSERT_EQ(api.entries.size(), 3u);
  EXPECT_EQ(api.entries[0].domain, "ok.example");
  EXPECT_EQ(api.entries[1].domain, "flags.example");
  EXPECT_FALSE(api.entries[1].reject_media);
  EXPECT_EQ(api.entries[2].domain, "hidden.example");  // a bad digest is not needed
  EXPECT_EQ(api.entries[2].digest, "");
  EXPECT_EQ(WarningLines(api), (std::vector<uint32_t>{3, 4, 5, 6, 7, 8}));
  EXPECT_THAT(api.diagnostics[0].message, HasSubstr("not an object"));
  EXPECT_THAT(api.diagnostics[3].message, HasSubstr("no \"domain\""));

  ParseResult rapid = ParseText(R"({"@spec": "https://rapidblock.org/spec/v1/",
  "blocks": {
    "a.example": 5,
    "b.example": {"reason": "no decision"},
    "c.example": {"isBlocked": true},
    "not a domain": {"isBlocked": true},
    "d.example": {"isBlocked": false}
  }
})");
  EXPECT_EQ(rapid.format, Format::kRapidblockJson);
  ASSERT_EQ(rapid.entries.size(), 1u);
  EXPECT_EQ(rapid.entries[0].domain, "c.example");
  EXPECT_EQ(rapid.entries[0].line, 5u);
  EXPECT_EQ(WarningLines(rapid), (std::vector<uint32_t>{3, 4, 6}));
}

TEST(ParseTest, DamagedPlain) {
  ParseResult r = Parse("damaged_plain.txt");
  EXPECT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(WarningLines(r), (std::vector<uint32_t>{2, 4}));
}

TEST(ParseTest, NulBytes) {
  using namespace std::string_literals;
  ParseResult csv = ParseText(
      "#domain,#severity\na.example,suspend\nb\0.example,suspend\n"
      "c.example,silence,\0\nd.example,noop\n"s);
  EXPECT_EQ(csv.entries.size(), 2u);
  EXPECT_EQ(WarningLines(csv), (std::vector<uint32_t>{3, 4}));
  EXPECT_THAT(csv.diagnostics[0].message, HasSubstr("NUL"));

  ParseResult plain = ParseText("a.example\nb.exa\0mple\nc.example\n"s);
  EXPECT_EQ(plain.entries.size(), 2u);
  EXPECT_EQ(WarningLines(plain), std::vector<uint32_t>{2});

  ParseResult escaped = ParseText("[{\"domain\": \"a\\u0000.example\", \"severity\": \"noop\"}]");
  EXPECT_TRUE(escaped.entries.empty());
  EXPECT_EQ(WarningLines(escaped), std::vector<uint32_t>{1});

  // A raw NUL inside a JSON string is not JSON.
  EXPECT_FALSE(ParseBlocklist("[{\"domain\": \"a\0.example\"}]"s, {}).ok());
  // Mostly NUL bytes: binary, not a blocklist.
  EXPECT_FALSE(ParseBlocklist(std::string(100, '\0'), {}).ok());
}

TEST(ParseTest, WholeFileErrors) {
  ParseOptions options;
  options.path = "truncated.json";
  absl::StatusOr<ParseResult> r = ParseBlocklist(Fixture("truncated.json"), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("truncated.json"));
  EXPECT_THAT(r.status().message(), HasSubstr("JSON"));

  options.path = "unknown_shape.json";
  r = ParseBlocklist(Fixture("unknown_shape.json"), options);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("unknown blocklist format"));

  options.path = "scalar.json";
  options.format = Format::kMastodonApiJson;
  r = ParseBlocklist("42", options);
  EXPECT_FALSE(r.ok());
  r = ParseBlocklist("[1, 2, 3] trailing", {});
  EXPECT_FALSE(r.ok());
}

TEST(ParseTest, DeepJsonNestingIsRefused) {
  const size_t depth = 100'000;
  std::string deep = std::string(depth, '[') + std::string(depth, ']');
  absl::StatusOr<ParseResult> r = ParseBlocklist(deep, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("max_json_depth"));

  std::string objects;
  for (size_t i = 0; i < depth; ++i) objects += "{\"blocks\":";
  objects += "{}" + std::string(depth, '}');
  r = ParseBlocklist(objects, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("max_json_depth"));
}

TEST(ParseTest, GiantLines) {
  std::string giant_domain = "a.example\n" + std::string(8 << 20, 'x') + "\nb.example\n";
  ParseResult r = ParseText(giant_domain);
  EXPECT_EQ(r.entries.size(), 2u);
  ASSERT_EQ(WarningLines(r), std::vector<uint32_t>{2});
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("too long"));
  EXPECT_LT(r.diagnostics[0].message.size(), 200u);

  std::string commas =
      "domain,severity\na.example,suspend\n" + std::string(4 << 20, ',') + "\nb.example,noop\n";
  r = ParseText(commas);
  EXPECT_EQ(r.entries.size(), 2u);
  ASSERT_EQ(WarningLines(r), std::vector<uint32_t>{3});
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("expected 2 columns, found 4194305"));

  std::string giant_comment =
      "#domain,#severity,#reject_media,#reject_reports,#public_comment\n"
      "a.example,suspend,false,false,\"" +
      std::string(1 << 20, 'c') + "\"\nb.example,noop,false,false,\n";
  r = ParseText(giant_comment);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].public_comment.size(), size_t{1} << 20);
  EXPECT_EQ(r.entries[1].line, 3u);
}

TEST(ParseTest, RandomBytesNeverCrash) {
  std::mt19937 rng(20240215);
  const std::string alphabet = "ab.*,\"\n\r#{}[]:\\ \0\x01\xff-0domainseverity";
  for (int round = 0; round < 400; ++round) {
    std::string data(rng() % 2048, '\0');
    const bool texty = round % 2 == 0;
    for (char& c : data) {
      c = texty ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng());
    }
    if (round % 8 == 0) data = "domain,severity\n" + data;
    if (round % 8 == 4) data = "[{\"domain\":" + data;
    for (Format f : {Format::kDetect, Format::kMastodonCsv, Format::kFediblockholeCsv,
                     Format::kPlain, Format::kRapidblockJson, Format::kMastodonApiJson}) {
      ParseOptions options;
      options.format = f;
      options.max_warnings = 50;
      absl::StatusOr<ParseResult> r = ParseBlocklist(data, options);
      if (!r.ok()) continue;
      EXPECT_LE(r->diagnostics.size(), 51u);
      for (const Entry& e : r->entries) {
        EXPECT_TRUE(!e.domain.empty() || e.digest.size() == 64);
        EXPECT_EQ(e.domain.find_first_of("*, \n\0"), std::string::npos) << e.domain;
      }
      DomainTableBuilder builder;
      builder.Add(*r);
      std::shared_ptr<const DomainTable> table = std::move(builder).Build();
      for (const Entry& e : r->entries) {
        if (!e.domain.empty()) {
          EXPECT_TRUE(table->Lookup(e.domain).has_value());
        }
      }
    }
  }
}

TEST(ParseTest, Limits) {
  ParseOptions options;
  options.max_entries = 2;
  ParseResult r = Parse("plain.txt", options);
  EXPECT_EQ(r.entries.size(), 2u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("max_entries"));
  EXPECT_EQ(r.diagnostics[0].line, 6u);

  options = {};
  options.max_bytes = 10;
  absl::StatusOr<ParseResult> big = ParseBlocklist(Fixture("plain.txt"), options);
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.status().message(), HasSubstr("max_bytes"));

  options = {};
  options.max_warnings = 3;
  std::string bad;
  for (int i = 0; i < 10; ++i) bad += "not a domain\n";
  r = ParseText(bad + "ok.example\n", options);
  EXPECT_EQ(r.entries.size(), 1u);
  ASSERT_EQ(r.diagnostics.size(), 4u);
  EXPECT_THAT(r.diagnostics[3].message, HasSubstr("7 more warnings"));

  options = {};
  options.max_json_depth = 2;
  absl::StatusOr<ParseResult> deep = ParseBlocklist(Fixture("rapidblock.json"), options);
  EXPECT_FALSE(deep.ok());
}

TEST(TableTest, MergesAcrossFilesByStrongestSeverityAndUnionOfFlags) {
  ParseOptions a;
  a.path = "a.csv";
  ParseOptions b;
  b.path = "b.csv";
  ParseResult first = ParseText(
      "#domain,#severity,#reject_media,#reject_reports\n"
      "x.example,silence,true,false\n"
      "y.example,suspend,false,false\n",
      a);
  ParseResult second = ParseText(
      "domain,severity,reject_media,reject_reports\n"
      "*.X.example,suspend,false,false\n"
      "y.example,noop,false,true\n"
      "\n"
      "y.example,suspend,true,false\n",
      b);
  std::shared_ptr<const DomainTable> table = TableOf({first, second});
  EXPECT_EQ(table->size(), 2u);

  std::optional<Match> x = table->Lookup("x.example");
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->severity, Severity::kSuspend);
  EXPECT_TRUE(x->reject_media);  // from a.csv's weaker entry
  EXPECT_FALSE(x->reject_reports);
  EXPECT_EQ(x->path, "b.csv");  // the entry that set the severity
  EXPECT_EQ(x->line, 2u);
  EXPECT_EQ(x->written, "*.X.example");
  EXPECT_EQ(x->domain, "x.example");

  std::optional<Match> y = table->Lookup("www.y.example");
  ASSERT_TRUE(y.has_value());
  EXPECT_EQ(y->severity, Severity::kSuspend);
  EXPECT_TRUE(y->reject_media);
  EXPECT_TRUE(y->reject_reports);
  EXPECT_EQ(y->path, "a.csv");  // first at the strongest severity
  EXPECT_EQ(y->line, 3u);
  EXPECT_EQ(y->domain, "y.example");
  EXPECT_EQ(y->written, "y.example");
}

TEST(TableTest, MostSpecificEntryWins) {
  std::shared_ptr<const DomainTable> table = TableOf({Parse("mastodon_export.csv")});
  EXPECT_EQ(SeverityAt(*table, "tk"), Severity::kSuspend);
  EXPECT_EQ(SeverityAt(*table, "other.tk"), Severity::kSuspend);
  EXPECT_EQ(SeverityAt(*table, "friend.tk"), Severity::kNoop);
  EXPECT_EQ(SeverityAt(*table, "a.b.friend.tk"), Severity::kNoop);
  EXPECT_EQ(SeverityAt(*table, "notfriend.tk"), Severity::kSuspend);

  std::optional<Match> m = table->Lookup("a.b.spam.example");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->domain, "spam.example");
  EXPECT_EQ(m->path, "mastodon_export.csv");
  EXPECT_EQ(m->line, 2u);
  EXPECT_EQ(m->public_comment, "Spam wave of 2024-02-15");
  EXPECT_TRUE(m->reject_media);
  EXPECT_FALSE(m->by_digest);

  // A suffix, never a substring.
  EXPECT_FALSE(table->Lookup("notspam.example").has_value());
  EXPECT_FALSE(table->Lookup("spam.example.org").has_value());
  EXPECT_FALSE(table->Lookup("example").has_value());
  EXPECT_FALSE(table->Lookup("").has_value());

  // "*.wildcard.example" covers the domain itself and its subdomains.
  EXPECT_EQ(SeverityAt(*table, "wildcard.example"), Severity::kSuspend);
  EXPECT_EQ(SeverityAt(*table, "deep.sub.wildcard.example"), Severity::kSuspend);
  std::optional<Match> w = table->Lookup("a.wildcard.example");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->written, "*.wildcard.example");

  EXPECT_EQ(SeverityAt(*table, "limited.example"), Severity::kSilence);
}

TEST(TableTest, CaseInsensitiveAndIdn) {
  std::shared_ptr<const DomainTable> table = TableOf({Parse("mastodon_export.csv")});
  for (std::string_view written : {"bücher.example", "BÜCHER.Example", "xn--bcher-kva.example",
                                   "www.Bücher.example.", "*.XN--BCHER-KVA.EXAMPLE"}) {
    SCOPED_TRACE(written);
    absl::StatusOr<std::string> name = text::NormalizeDomain(written);
    ASSERT_TRUE(name.ok()) << name.status();
    std::optional<Match> m = table->Lookup(*name);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->domain, "xn--bcher-kva.example");
    EXPECT_EQ(m->written, "bücher.example");
  }
  absl::StatusOr<std::string> upper = text::NormalizeDomain("SPAM.EXAMPLE");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(SeverityAt(*table, *upper), Severity::kSuspend);
}

TEST(TableTest, ObfuscatedEntriesMatchByDigest) {
  std::shared_ptr<const DomainTable> table =
      TableOf({Parse("mastodon_public_api.json"), Parse("deep.txt")});
  // evil, hidden-spam (digest), sub.deep (digest), cover (digest merged into clear), deep.
  EXPECT_EQ(table->size(), 5u);

  std::optional<Match> hidden = table->Lookup("hidden-spam.example");
  ASSERT_TRUE(hidden.has_value());
  EXPECT_EQ(hidden->severity, Severity::kSilence);
  EXPECT_TRUE(hidden->by_digest);
  EXPECT_EQ(hidden->domain, "hid****pam.example");
  EXPECT_EQ(hidden->written, "hid****pam.example");
  EXPECT_EQ(hidden->path, "mastodon_public_api.json");
  EXPECT_EQ(hidden->line, 3u);
  EXPECT_EQ(hidden->public_comment, "Spam (obfuscated)");
  EXPECT_EQ(SeverityAt(*table, "media.hidden-spam.example"), Severity::kSilence);
  EXPECT_EQ(SeverityAt(*table, "hidden-spam.example.org"), Severity::kNone);
  EXPECT_EQ(SeverityAt(*table, "idden-spam.example"), Severity::kNone);

  // Most specific wins across both kinds: the digest noop on sub.deep.example exempts it from
  // the clear deep.example block, but not its siblings.
  EXPECT_EQ(SeverityAt(*table, "deep.example"), Severity::kSuspend);
  EXPECT_EQ(SeverityAt(*table, "other.deep.example"), Severity::kSuspend);
  EXPECT_EQ(SeverityAt(*table, "sub.deep.example"), Severity::kNoop);
  EXPECT_EQ(SeverityAt(*table, "x.sub.deep.example"), Severity::kNoop);

  // A digest whose domain is listed in clear is that domain: one entry, merged.
  std::optional<Match> cover = table->Lookup("cover.example");
  ASSERT_TRUE(cover.has_value());
  EXPECT_EQ(cover->severity, Severity::kSuspend);  // deep.txt (plain: suspend) > silence
  EXPECT_FALSE(cover->by_digest);
  EXPECT_EQ(cover->domain, "cover.example");
  EXPECT_EQ(cover->path, "deep.txt");

  // An entry known only by a digest computed here.
  DomainTableBuilder builder;
  Entry e;
  e.digest = Sha256Hex("secret.test");
  e.severity = Severity::kSilence;
  e.reject_media = true;
  e.path = "api";
  builder.Add(e);
  std::shared_ptr<const DomainTable> only = std::move(builder).Build();
  std::optional<Match> secret = only->Lookup("a.b.secret.test");
  ASSERT_TRUE(secret.has_value());
  EXPECT_TRUE(secret->by_digest);
  EXPECT_TRUE(secret->reject_media);
  EXPECT_EQ(secret->domain, "");
  EXPECT_FALSE(only->Lookup("test").has_value());
}

TEST(TableTest, DigestStrongerThanClearEntrySetsTheSeverity) {
  DomainTableBuilder builder;
  Entry clear;
  clear.domain = "both.test";
  clear.written = "both.test";
  clear.severity = Severity::kNoop;
  clear.reject_reports = true;
  clear.path = "clear.csv";
  clear.line = 7;
  builder.Add(clear);
  Entry hidden;
  hidden.digest = DomainDigest("both.test");
  hidden.written = "bo**.test";
  hidden.severity = Severity::kSuspend;
  hidden.path = "public.json";
  hidden.line = 2;
  builder.Add(hidden);
  std::shared_ptr<const DomainTable> table = std::move(builder).Build();
  EXPECT_EQ(table->size(), 1u);
  std::optional<Match> m = table->Lookup("both.test");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->severity, Severity::kSuspend);
  EXPECT_TRUE(m->reject_reports);
  EXPECT_EQ(m->domain, "both.test");
  EXPECT_EQ(m->written, "bo**.test");
  EXPECT_EQ(m->path, "public.json");
  EXPECT_EQ(m->line, 2u);
}

TEST(TableTest, EveryFormatIntoOneTable) {
  std::vector<ParseResult> files;
  for (const char* name :
       {"mastodon_export.csv", "mastodon_crlf_bom.csv", "fediblockhole_any_order.csv",
        "fediblockhole_subset.csv", "mastodon_admin_api.json", "mastodon_public_api.json",
        "gotosocial.json", "rapidblock.json", "plain.txt", "deep.txt"}) {
    files.push_back(Parse(name));
  }
  std::shared_ptr<const DomainTable> table = TableOf(files);
  size_t entries = 0;
  for (const ParseResult& f : files) entries += f.entries.size();
  EXPECT_EQ(table->size(), entries - 1);  // cover.example is listed twice
  for (const ParseResult& f : files) {
    for (const Entry& e : f.entries) {
      std::string name = e.domain.empty() ? "" : "sub." + e.domain;
      if (name.empty()) continue;
      EXPECT_TRUE(table->Lookup(name).has_value()) << name;
    }
  }
  EXPECT_EQ(SeverityAt(*table, "rapid-one.example"), Severity::kSuspend);
  EXPECT_EQ(SeverityAt(*table, "admin-noop.example"), Severity::kNoop);
  EXPECT_GT(table->MemoryBytes(), 0u);
}

TEST(TableTest, EmptyAndReusedBuilders) {
  DomainTableBuilder builder;
  std::shared_ptr<const DomainTable> empty = std::move(builder).Build();
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_FALSE(empty->Lookup("a.example").has_value());
  EXPECT_GT(empty->MemoryBytes(), 0u);

  // Entries with neither domain nor digest are ignored.
  Entry nothing;
  nothing.digest = "not hex";
  builder.Add(nothing);
  Entry one;
  one.domain = "one.example";
  builder.Add(one);
  DomainTableBuilder moved = std::move(builder);
  std::shared_ptr<const DomainTable> table = std::move(moved).Build();
  EXPECT_EQ(table->size(), 1u);
  EXPECT_EQ(SeverityAt(*table, "one.example"), Severity::kSuspend);
  EXPECT_EQ(std::move(moved).Build()->size(), 0u);  // empty after Build
}

TEST(TableTest, ManyEntries) {
  DomainTableBuilder builder;
  for (int i = 0; i < 50'000; ++i) {
    Entry e;
    e.domain = absl::StrCat("host", i, ".example");
    e.severity = i % 2 ? Severity::kSilence : Severity::kSuspend;
    e.line = static_cast<uint32_t>(i + 1);
    e.path = i % 3 ? "a.txt" : "b.txt";
    builder.Add(e);
  }
  std::shared_ptr<const DomainTable> table = std::move(builder).Build();
  EXPECT_EQ(table->size(), 50'000u);
  for (int i = 0; i < 50'000; i += 7) {
    std::optional<Match> m = table->Lookup(absl::StrCat("www.host", i, ".example"));
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->line, static_cast<uint32_t>(i + 1));
    EXPECT_EQ(m->path, i % 3 ? "a.txt" : "b.txt");
    EXPECT_EQ(m->severity, i % 2 ? Severity::kSilence : Severity::kSuspend);
  }
  EXPECT_FALSE(table->Lookup("host50000.example").has_value());
  EXPECT_LT(table->MemoryBytes(), 50'000u * 40);
}

// The real published lists (not part of the project; see /work/shared/corpus/README.md).
TEST(CorpusTest, EveryRealBlocklistLoads) {
  const char* env = std::getenv("FEDWALL_CORPUS_DIR");
  std::filesystem::path dir =
      std::filesystem::path(env != nullptr ? env : "/work/shared/corpus") / "blocklists";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " not found";
  std::vector<std::filesystem::path> paths;
  for (const auto& f : std::filesystem::directory_iterator(dir)) paths.push_back(f.path());
  ASSERT_FALSE(paths.empty());
  DomainTableBuilder builder;
  for (const std::filesystem::path& path : paths) {
    SCOPED_TRACE(path.string());
    ParseOptions options;
    options.path = path.filename().string();
    absl::StatusOr<ParseResult> r = ParseBlocklist(ReadFile(path.string()), options);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->entries.empty());
    EXPECT_FALSE(HasErrors(r->diagnostics));
    for (const Diagnostic& d : r->diagnostics) {
      // Mastodon's own export hides domains ("ap.***.st") without a digest; the 2023 list
      // has one name that is no valid IDNA name (a typo of "xn--p1abe3d.xn--80asehdb", which
      // it also lists).
      if (d.message.find("obfuscated") != std::string::npos) continue;
      EXPECT_THAT(d.message, HasSubstr("\"xn--p1abe3d-xn--80asehdb\"")) << d.ToString();
    }
    std::string name = path.filename().string();
    if (name.find("unified_max_blocklist_2023") != std::string::npos) {
      EXPECT_EQ(r->format, Format::kFediblockholeCsv);
      EXPECT_GE(r->entries.size(), 3060u);
      EXPECT_LE(r->entries.size(), 3075u);
      EXPECT_NE(Find(*r, "tk"), nullptr);
    }
    if (name.find("mastodon-de") != std::string::npos) {
      EXPECT_EQ(r->format, Format::kMastodonCsv);
      EXPECT_EQ(r->entries.size(), 70u);
      for (const Entry& e : r->entries) EXPECT_EQ(e.severity, Severity::kSilence);
    }
    if (name.find("rapidblock") != std::string::npos) {
      EXPECT_EQ(r->format, Format::kRapidblockJson);
    }
    builder.Add(*r);
  }
  std::shared_ptr<const DomainTable> table = std::move(builder).Build();
  EXPECT_GT(table->size(), 3000u);
  EXPECT_EQ(SeverityAt(*table, "anything.tk"), Severity::kSuspend);
}

}  // namespace
}  // namespace fedwall::blocklist
