// End-to-end tests of the `fedwall` command: the real binary, the project's own fixtures, and
// (when present) the shared corpus of real activities and blocklists.
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "tests/cli/run_command.h"

namespace fedwall::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kSource = FEDWALL_SOURCE_DIR;
const std::string kExample = kSource + "/docs/examples/mastodon-create-note.json";
const std::string kExampleFacts = kSource + "/docs/examples/new-account-facts.json";
const std::string kFixtures = kSource + "/tests/fixtures/cli/";

CommandResult Fedwall(std::vector<std::string> args, const std::string& stdin_data = "") {
  args.insert(args.begin(), FEDWALL_CLI);
  return RunCommand(args, stdin_data);
}

// Parses one JSON document and keeps it alive for the test.
class Json {
 public:
  explicit Json(const std::string& text) : padded_(text) {
    auto err = parser_.parse(padded_).get(root_);
    ok_ = err == simdjson::SUCCESS;
  }
  bool ok() const { return ok_; }
  simdjson::dom::element operator[](const char* key) const { return root_[key].value_unsafe(); }
  bool Has(const char* key) const { return root_[key].error() == simdjson::SUCCESS; }
  std::string String(const char* key) const {
    std::string_view v;
    if (root_[key].get(v) != simdjson::SUCCESS) return "<not a string>";
    return std::string(v);
  }
  std::vector<std::string> Strings(const char* key) const {
    std::vector<std::string> out;
    simdjson::dom::array a;
    if (root_[key].get(a) != simdjson::SUCCESS) return {"<not an array>"};
    for (auto e : a) out.emplace_back(std::string_view(e.get_string().value_unsafe()));
    return out;
  }
  double Number(const char* key) const {
    double d = -1;
    if (root_[key].get(d) == simdjson::SUCCESS) return d;
    int64_t i;
    if (root_[key].get(i) == simdjson::SUCCESS) return static_cast<double>(i);
    uint64_t u;
    if (root_[key].get(u) == simdjson::SUCCESS) return static_cast<double>(u);
    return -1;
  }
  bool Bool(const char* key) const {
    bool b = false;
    if (root_[key].get(b) != simdjson::SUCCESS) return false;
    return b;
  }
  bool IsNull(const char* key) const { return Has(key) && root_[key].value_unsafe().is_null(); }

 private:
  simdjson::padded_string padded_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

TEST(CliTest, HelpListsTheCommands) {
  CommandResult r = Fedwall({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("inspect"));
  EXPECT_THAT(r.out, HasSubstr("fields"));
  EXPECT_THAT(r.out, HasSubstr("blocklist"));
  for (const char* sub : {"inspect", "fields", "blocklist"}) {
    CommandResult h = Fedwall({sub, "--help"});
    EXPECT_EQ(h.exit_code, 0) << sub;
    EXPECT_THAT(h.out, HasSubstr("Usage")) << sub;
  }
}

TEST(CliTest, UnknownCommandFails) {
  CommandResult r = Fedwall({"frobnicate"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());
}

TEST(CliTest, InspectShowsWhatTheEngineSees) {
  CommandResult r = Fedwall({"inspect", kExample, "--facts", kExampleFacts});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line when piped";
  Json j(r.out);
  ASSERT_TRUE(j.ok()) << r.out;
  EXPECT_EQ(j.String("type"), "Create");
  EXPECT_EQ(j.String("object.type"), "Note");
  EXPECT_EQ(j.String("actor"), "https://spam.example/users/fresh4821");
  EXPECT_EQ(j.String("actor.domain"), "spam.example");
  EXPECT_EQ(j.String("object.domain"), "spam.example");
  EXPECT_EQ(j.Strings("hashtags"), std::vector<std::string>{"giveaway"});
  EXPECT_EQ(j.Number("mentions.count"), 2);
  EXPECT_THAT(j.Strings("mentions"), ::testing::UnorderedElementsAre(
                                         "https://social.example/users/alice",
                                         "https://other.example/users/bob"));
  EXPECT_EQ(j.Strings("links"),
            std::vector<std::string>{"https://claim-now.example/drop?ref=fresh4821"});
  EXPECT_EQ(j.Strings("links.domains"), std::vector<std::string>{"claim-now.example"});
  EXPECT_EQ(j.Strings("emojis"), std::vector<std::string>{"sparkles"});
  EXPECT_EQ(j.Strings("attachments.types"), std::vector<std::string>{"image/png"});
  EXPECT_EQ(j.String("visibility"), "public");
  EXPECT_EQ(j.Number("recipients.count"), 2);
  EXPECT_EQ(j.String("language"), "en");
  EXPECT_FALSE(j.Bool("sensitive"));
  EXPECT_FALSE(j.Bool("reply"));
  EXPECT_FALSE(j.Bool("quote"));
  // Entities decoded, fullwidth folded by NFKC; the Cyrillic "у" stays in the unfolded text.
  EXPECT_THAT(j.String("content"), HasSubstr("FREE cr\u0443pto & NFTs"));
  EXPECT_THAT(j.String("text"), HasSubstr("limited offer, act now"));
  // Request facts, measured from the delivery's receivedAt.
  EXPECT_EQ(j.String("origin.domain"), "spam.example");
  EXPECT_EQ(j.String("origin.ip"), "203.0.113.9");
  EXPECT_TRUE(j.Bool("origin.signed"));
  EXPECT_EQ(j.Number("actor.followers"), 0);
  EXPECT_EQ(j.Number("actor.posts"), 3);
  EXPECT_EQ(j.String("actor.age"), "1380s");
  EXPECT_EQ(j.String("object.age"), "16s");
}

TEST(CliTest, InspectLeavesUnknownFactsOut) {
  CommandResult r = Fedwall({"inspect", kExample});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j(r.out);
  ASSERT_TRUE(j.ok());
  EXPECT_TRUE(j.Has("type"));
  for (const char* unknown : {"actor.followers", "actor.age", "origin.domain", "origin.signed",
                              "actor.bot", "actor.name", "actor.domain.severity"}) {
    EXPECT_FALSE(j.Has(unknown)) << unknown;
  }
}

TEST(CliTest, InspectReadsStandardInput) {
  CommandResult r = Fedwall({"inspect", "-"},
                            R"({"type":"Like","actor":"https://a.example/u/1",)"
                            R"("object":"https://b.example/notes/2"})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j(r.out);
  EXPECT_EQ(j.String("type"), "Like");
  EXPECT_EQ(j.String("object.type"), "");
  EXPECT_EQ(j.String("object.domain"), "b.example");
}

TEST(CliTest, InspectPrettyPrintsOnRequest) {
  CommandResult r = Fedwall({"inspect", kExample, "--pretty"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(std::count(r.out.begin(), r.out.end(), '\n'), 10);
  EXPECT_TRUE(Json(r.out).ok());
}

TEST(CliTest, InspectBadInputIsOneClearLine) {
  struct Case {
    std::vector<std::string> args;
    std::string stdin_data;
    std::string expect_in_err;
  };
  std::vector<Case> cases = {
      {{"inspect", "-"}, "{not json", "-:"},
      {{"inspect", "/nonexistent/activity.json"}, "", "/nonexistent/activity.json"},
      {{"inspect", kFixtures + "duplicate-content.json"}, "", "duplicate"},
      {{"inspect", "-"}, "[1,2,3]", "-:"},
      {{"inspect", "-"}, std::string(100000, '[') + std::string(100000, ']'), "-:"},
      {{"inspect", "-"}, "{\"type\":\"Note\",\"content\":\"\xff\xfe\"}", "-:"},
      {{"inspect", kExample, "--facts", kFixtures + "typo-facts.json"}, "", "typo-facts.json"},
      {{"inspect", kExample, "--now", "yesterday"}, "", "--now"},
  };
  for (const Case& c : cases) {
    CommandResult r = Fedwall(c.args, c.stdin_data);
    EXPECT_NE(r.exit_code, 0) << c.args.back();
    EXPECT_TRUE(r.out.empty()) << c.args.back();
    EXPECT_THAT(r.err, HasSubstr(c.expect_in_err)) << c.args.back();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(CliTest, InspectRefusesAHugeDocument) {
  std::string huge = "{\"type\":\"Note\",\"content\":\"" + std::string(10 << 20, 'a') + "\"}";
  CommandResult r = Fedwall({"inspect", "-"}, huge);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());
}

TEST(CliTest, FieldsListsTheVocabulary) {
  CommandResult r = Fedwall({"fields"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char* name : {"text", "mentions.count", "links.domains", "actor.domain.severity",
                           "visibility", "object.age"}) {
    EXPECT_THAT(r.out, HasSubstr(name));
  }
  CommandResult j = Fedwall({"fields", "--json"});
  ASSERT_EQ(j.exit_code, 0);
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(j.out, '\n', absl::SkipEmpty())) {
    Json field{std::string(line)};
    ASSERT_TRUE(field.ok()) << line;
    EXPECT_FALSE(field.String("name").empty());
    EXPECT_FALSE(field.String("type").empty());
    EXPECT_FALSE(field.String("description").empty());
    ++lines;
  }
  EXPECT_GE(lines, 35);
}

TEST(CliTest, FieldsReferenceInDocsMatchesTheRegistry) {
  CommandResult r = Fedwall({"fields", "--markdown"});
  ASSERT_EQ(r.exit_code, 0);
  std::ifstream doc(kSource + "/docs/fields.md");
  std::stringstream contents;
  contents << doc.rdbuf();
  EXPECT_EQ(contents.str(), r.out)
      << "docs/fields.md is stale: run `fedwall fields --markdown > docs/fields.md`";
}

TEST(CliTest, BlocklistLookupReportsTheCoveringEntry) {
  CommandResult r =
      Fedwall({"blocklist", "lookup", kFixtures + "tier0.csv", kFixtures + "mine.txt", "--",
               "a.b.SPAM.example", "notspam.example", "friend.tk", "evil.tk",
               "loud.example", "shop.xn--bcher-kva.example"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u) << r.out;

  Json spam(lines[0]);
  EXPECT_EQ(spam.String("domain"), "a.b.spam.example");
  EXPECT_EQ(spam.String("severity"), "suspend");
  EXPECT_FALSE(spam.Bool("reject_media"));
  EXPECT_FALSE(spam.Bool("reject_reports"));
  EXPECT_THAT(spam.String("matched"), HasSubstr("spam.example"));
  EXPECT_THAT(spam.String("matched"), HasSubstr("tier0.csv:2"));

  Json not_spam(lines[1]);
  EXPECT_EQ(not_spam.String("severity"), "none");
  EXPECT_TRUE(not_spam.IsNull("matched"));

  Json friend_tk(lines[2]);  // the most specific entry wins
  EXPECT_EQ(friend_tk.String("severity"), "noop");
  EXPECT_THAT(friend_tk.String("matched"), HasSubstr("tier0.csv:4"));
  EXPECT_EQ(Json(lines[3]).String("severity"), "suspend");

  Json loud(lines[4]);
  EXPECT_EQ(loud.String("severity"), "silence");
  EXPECT_TRUE(loud.Bool("reject_media"));

  Json idn(lines[5]);  // "*.Bücher.example" in a plain list
  EXPECT_EQ(idn.String("severity"), "suspend");
  EXPECT_THAT(idn.String("matched"), HasSubstr("mine.txt:2"));
}

TEST(CliTest, BlocklistLookupNeedsDomainsAfterTheSeparator) {
  CommandResult r = Fedwall({"blocklist", "lookup", kFixtures + "tier0.csv"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("--"));
  CommandResult missing = Fedwall({"blocklist", "lookup", "/nonexistent.csv", "--", "a.example"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent.csv"));
}

// The shared corpus of real captures, when this checkout sits next to it.
std::string CorpusDir() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("FEDWALL_CORPUS_DIR")) candidates.push_back(env);
  candidates.push_back(kSource + "/../shared/corpus");
  candidates.push_back("/work/shared/corpus");
  for (const auto& c : candidates) {
    if (fs::is_directory(c + "/activities")) return c;
  }
  return "";
}

TEST(CliCorpusTest, EveryRealActivityIsUnderstood) {
  std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_SKIP() << "no corpus (set FEDWALL_CORPUS_DIR)";
  int parsed = 0;
  for (const auto& entry : fs::directory_iterator(corpus + "/activities")) {
    std::string name = entry.path().filename();
    CommandResult r = Fedwall({"inspect", entry.path()});
    if (name == "pleroma__tesla_mock__poll_attachment.json") {
      EXPECT_NE(r.exit_code, 0) << name;
      EXPECT_THAT(r.err, HasSubstr("duplicate")) << name;
      continue;
    }
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    Json j(r.out);
    EXPECT_TRUE(j.ok()) << name;
    EXPECT_FALSE(j.String("type").empty()) << name;
    EXPECT_TRUE(j.Has("visibility")) << name;
    ++parsed;
  }
  EXPECT_GE(parsed, 144);
}

TEST(CliCorpusTest, EveryRealBlocklistLoads) {
  std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_SKIP() << "no corpus (set FEDWALL_CORPUS_DIR)";
  for (const auto& entry : fs::directory_iterator(corpus + "/blocklists")) {
    CommandResult r = Fedwall({"blocklist", "lookup", entry.path(), "--", "example.invalid"});
    EXPECT_EQ(r.exit_code, 0) << entry.path() << ": " << r.err;
  }
}

}  // namespace
}  // namespace fedwall::testing
