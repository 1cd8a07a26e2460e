// End-to-end tests of the moderator commands (`fedwall review`, `blocks`, `policy`): the real
// `fedwall` binary against a real fedwalld started on 127.0.0.1 port 0 with a copy of
// tests/fixtures/service/policy. Flags are raised through the generated PolicyService client,
// as a fediverse server would; what the commands did is checked through the AdminService.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fedwall/v1/admin_service.grpc.pb.h"
#include "fedwall/v1/policy_service.grpc.pb.h"
#include "tests/cli/run_command.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/fedwalld_process.h"

namespace fedwall::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = fedwall::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kFixtures = std::string(FEDWALL_SOURCE_DIR) + "/tests/fixtures/service/";
constexpr char kToken[] = "cli-admin-token-51c0de";
const std::string kBearer = std::string("Bearer ") + kToken;

// The non-empty lines of `text`.
std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The flag ids in the first column of `review list`'s table (the header left out).
std::vector<std::string> TableIds(const std::string& out) {
  std::vector<std::string> ids;
  for (const std::string& line : Lines(out)) {
    if (line.rfind("ID", 0) == 0 || line.rfind("more:", 0) == 0) continue;
    ids.push_back(line.substr(0, line.find(' ')));
  }
  return ids;
}

// A port nobody listens on (bound, then closed).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

class CliAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "fedwall_cli_admin_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    policy_dir_ = dir_ + "/policy";
    fs::copy(kFixtures + "policy", policy_dir_, fs::copy_options::recursive);
    token_file_ = dir_ + "/admin.token";
    WriteFile(token_file_, std::string(kToken) + "\n");
    // The commands must not pick up a developer's environment.
    unsetenv("FEDWALL_SERVER");
    unsetenv("FEDWALL_TOKEN_FILE");
    unsetenv("FEDWALL_MODERATOR");
    server_ = std::make_unique<FedwalldProcess>(std::vector<std::string>{
        "--listen", "127.0.0.1:0", "--policy", policy_dir_, "--store", dir_ + "/fedwall.db",
        "--workers", "2", "--admin-token-file", token_file_, "--no-watch"});
    ASSERT_TRUE(server_->WaitUntilListening(absl::Seconds(30))) << server_->Stdout();
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    policy_ = v1::PolicyService::NewStub(channel_);
    admin_ = v1::AdminService::NewStub(channel_);
  }

  void TearDown() override {
    if (HasFailure() && server_ != nullptr) {
      std::cerr << "---- fedwalld standard error ----\n" << server_->Stderr() << "---- end ----\n";
    }
    server_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // `fedwall ARGS... --server S --token-file F`.
  CommandResult Fedwall(std::vector<std::string> args, bool connect = true) {
    args.insert(args.begin(), FEDWALL_CLI);
    if (connect) {
      args.insert(args.end(), {"--server", server_->address(), "--token-file", token_file_});
    }
    return RunCommand(args);
  }

  // Evaluates `json` (stored, not a dry run); the flag id ("" when not flagged).
  std::string Flag(const std::string& json) {
    v1::EvaluateRequest request;
    request.set_request_id("t");
    request.set_activity_json(json);
    v1::EvaluateResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    EXPECT_TRUE(IsOk(policy_->Evaluate(&context, request, &response)));
    EXPECT_EQ(response.verdict(), v1::VERDICT_FLAG) << response.DebugString();
    return response.flag_id();
  }

  v1::Flag GetFlag(const std::string& id) {
    v1::GetFlagRequest request;
    request.set_id(id);
    v1::Flag flag;
    grpc::ClientContext context;
    context.AddMetadata("authorization", kBearer);
    EXPECT_TRUE(IsOk(admin_->GetFlag(&context, request, &flag)));
    return flag;
  }

  std::string PolicyVersion() {
    v1::GetPolicyResponse policy;
    grpc::ClientContext context;
    context.AddMetadata("authorization", kBearer);
    EXPECT_TRUE(IsOk(admin_->GetPolicy(&context, v1::GetPolicyRequest(), &policy)));
    return policy.version();
  }

  std::vector<v1::DomainBlock> Blocks() {
    v1::ListDomainBlocksResponse r;
    grpc::ClientContext context;
    context.AddMetadata("authorization", kBearer);
    EXPECT_TRUE(IsOk(admin_->ListDomainBlocks(&context, v1::ListDomainBlocksRequest(), &r)));
    return {r.blocks().begin(), r.blocks().end()};
  }

  std::string dir_;
  std::string policy_dir_;
  std::string token_file_;
  std::unique_ptr<FedwalldProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PolicyService::Stub> policy_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

// ---- review list -----------------------------------------------------------------------------

TEST_F(CliAdminTest, ReviewListShowsPendingFlagsFiltersAndPages) {
  const std::string a = Flag(Activity("free-crypto-note.json", 1001));
  const std::string b = Flag(Activity("giveaway-note.json", 1002));
  const std::string c = Flag(Activity("free-crypto-note.json", 1003, "other.example"));

  CommandResult all = Fedwall({"review", "list"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.err, "");
  EXPECT_THAT(all.out, StartsWith("ID"));
  EXPECT_THAT(all.out, HasSubstr("alice@mastodon.example"));
  EXPECT_THAT(all.out, HasSubstr("alice@other.example"));
  EXPECT_THAT(all.out, HasSubstr("free_crypto"));
  EXPECT_THAT(all.out, HasSubstr("giveaway"));
  EXPECT_THAT(all.out, Not(HasSubstr("\x1b")));                       // colour only on a terminal
  EXPECT_EQ(TableIds(all.out), (std::vector<std::string>{a, b, c}));  // oldest first
  for (const std::string& line : Lines(all.out)) {
    EXPECT_LE(line.size(), 80u) << line;  // ASCII here: bytes are columns
  }

  // Paging: two, then the rest; the hint is the command for the next page.
  CommandResult first = Fedwall({"review", "list", "--limit", "2"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(TableIds(first.out), (std::vector<std::string>{a, b}));
  std::vector<std::string> lines = Lines(first.out);
  ASSERT_FALSE(lines.empty());
  const std::string hint = lines.back();
  ASSERT_THAT(hint, StartsWith("more: fedwall review list --limit 2 --page-token "));
  const std::string token = hint.substr(hint.rfind(' ') + 1);
  CommandResult second = Fedwall({"review", "list", "--limit", "2", "--page-token", token});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(TableIds(second.out), (std::vector<std::string>{c}));
  EXPECT_THAT(second.out, Not(HasSubstr("more:")));

  // Filters.
  CommandResult by_rule = Fedwall({"review", "list", "--rule", "giveaway"});
  ASSERT_EQ(by_rule.exit_code, 0) << by_rule.err;
  EXPECT_EQ(TableIds(by_rule.out), (std::vector<std::string>{b}));
  CommandResult by_domain = Fedwall({"review", "list", "--domain", "other.example"});
  ASSERT_EQ(by_domain.exit_code, 0) << by_domain.err;
  EXPECT_EQ(TableIds(by_domain.out), (std::vector<std::string>{c}));
  CommandResult approved = Fedwall({"review", "list", "--status", "approved"});
  ASSERT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_EQ(approved.out, "no approved flags\n");

  // A token the server did not make: one line, exit 1.
  CommandResult bad_token = Fedwall({"review", "list", "--page-token", "garbage"});
  EXPECT_EQ(bad_token.exit_code, 1);
  EXPECT_EQ(Lines(bad_token.err).size(), 1u) << bad_token.err;
  EXPECT_THAT(bad_token.err, StartsWith("fedwall review list: INVALID_ARGUMENT"));

  // Bad option values are usage errors.
  EXPECT_EQ(Fedwall({"review", "list", "--status", "maybe"}).exit_code, 2);
  EXPECT_EQ(Fedwall({"review", "list", "--limit", "0"}).exit_code, 2);
  EXPECT_EQ(Fedwall({"review", "list", "--limit", "1001"}).exit_code, 2);
}

TEST_F(CliAdminTest, ReviewListJsonIsOneFlagPerLineWithoutTheActivity) {
  const std::string a = Flag(Activity("free-crypto-note.json", 1001));
  const std::string b = Flag(Activity("giveaway-note.json", 1002));

  CommandResult listed = Fedwall({"review", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.err, "");
  std::vector<std::string> lines = Lines(listed.out);
  ASSERT_EQ(lines.size(), 2u) << listed.out;
  std::vector<std::string> ids;
  for (const std::string& line : lines) {
    // Every field printed, proto3 names, enum names; no activity.
    for (const char* key :
         {"\"id\":", "\"status\":\"FLAG_STATUS_PENDING\"", "\"matches\":[",
          "\"score\":", "\"actor\":", "\"createdAt\":", "\"moderator\":\"\"", "\"note\":\"\"",
          "\"ruleId\":", "\"evidence\":[", "\"monitor\":false"}) {
      EXPECT_THAT(line, HasSubstr(key)) << line;
    }
    EXPECT_THAT(line, Not(HasSubstr("activityJson")));
    EXPECT_THAT(line, Not(HasSubstr("activity")));
    v1::Flag flag;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &flag).ok()) << line;
    EXPECT_EQ(flag.status(), v1::FLAG_STATUS_PENDING);
    EXPECT_EQ(flag.actor(), "https://mastodon.example/users/alice");
    EXPECT_EQ(flag.score(), 0.0);  // the fixture's rules have no score
    EXPECT_TRUE(flag.activity_json().empty());
    ids.push_back(flag.id());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{a, b}));

  // Paged JSON: stdout stays pure JSON lines; the next-page hint goes to stderr.
  CommandResult paged = Fedwall({"review", "list", "--json", "--limit", "1"});
  ASSERT_EQ(paged.exit_code, 0) << paged.err;
  EXPECT_EQ(Lines(paged.out).size(), 1u);
  EXPECT_THAT(paged.err, HasSubstr("--json --page-token "));
}

// ---- review show -----------------------------------------------------------------------------

TEST_F(CliAdminTest, ReviewShowPrintsThePostTheRulesAndTheMarkedEvidence) {
  std::string json = Activity("free-crypto-note.json", 1001);
  json = ReplaceAll(json, "\"summary\": null", "\"summary\": \"<p>crypto &amp; money</p>\"");
  json = ReplaceAll(json, "\"attachment\": []",
                    "\"attachment\": [{\"type\": \"Document\", \"mediaType\": \"image/png\", "
                    "\"url\": \"https://mastodon.example/media/coin.png\", \"name\": \"a coin\"}]");
  const std::string id = Flag(json);

  CommandResult shown = Fedwall({"review", "show", id});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.err, "");
  const std::string& out = shown.out;
  EXPECT_THAT(out, HasSubstr("Flag " + id));
  EXPECT_THAT(out, HasSubstr("pending"));
  EXPECT_THAT(out, HasSubstr("alice@mastodon.example"));
  EXPECT_THAT(out, HasSubstr("https://mastodon.example/users/alice"));
  EXPECT_THAT(out, HasSubstr("score 0"));
  // The post as a reader sees it: the content warning first, no markup, entities decoded.
  EXPECT_THAT(out, HasSubstr("Content warning:"));
  EXPECT_THAT(out, HasSubstr("crypto & money"));
  EXPECT_THAT(out, HasSubstr("Claim your free crypto before midnight!"));
  EXPECT_LT(out.find("crypto & money"), out.find("Claim your free crypto"));
  EXPECT_THAT(out, Not(HasSubstr("<p>")));
  EXPECT_THAT(out, HasSubstr("[image/png] https://mastodon.example/media/coin.png  \"a coin\""));
  // The rule, its reason and the matched span, marked without a terminal.
  EXPECT_THAT(out, HasSubstr("free_crypto"));
  EXPECT_THAT(out, HasSubstr("Free crypto offer"));
  EXPECT_THAT(out, HasSubstr("Claim your [[free crypto]] before midnight!"));
  EXPECT_THAT(out, Not(HasSubstr("\x1b")));

  CommandResult unknown = Fedwall({"review", "show", "987654"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.out, "");
  EXPECT_EQ(Lines(unknown.err).size(), 1u) << unknown.err;
  EXPECT_THAT(unknown.err, StartsWith("fedwall review show: not found: "));
}

TEST_F(CliAdminTest, ReviewShowJsonDecodesTheActivity) {
  const std::string id = Flag(Activity("free-crypto-note.json", 1001));
  CommandResult shown = Fedwall({"review", "show", id, "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  ASSERT_EQ(Lines(shown.out).size(), 1u) << shown.out;
  EXPECT_THAT(shown.out, Not(HasSubstr("activityJson")));

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(shown.out).get(root), simdjson::SUCCESS) << shown.out;
  std::string_view s;
  ASSERT_EQ(root["id"].get_string().get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, id);
  ASSERT_EQ(root["status"].get_string().get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "FLAG_STATUS_PENDING");
  ASSERT_EQ(root["activity"]["type"].get_string().get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "Create");
  ASSERT_EQ(root["activity"]["object"]["content"].get_string().get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "<p>Claim your free crypto before midnight!</p>");
  ASSERT_EQ(root["matches"].at(0)["ruleId"].get_string().get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "free_crypto");
  // Unset message fields (resolvedAt of a pending flag) are left out, as protobuf prints them.
  EXPECT_EQ(root["resolvedAt"].error(), simdjson::NO_SUCH_FIELD);
  for (const char* key : {"score", "actor", "createdAt", "moderator", "note"}) {
    EXPECT_EQ(root[key].error(), simdjson::SUCCESS) << key;
  }
}

TEST_F(CliAdminTest, ReviewShowPrintsNoMarkupOrEscapeSequencesFromThePost) {
  std::string json = Activity("free-crypto-note.json", 1001);
  json = ReplaceAll(json, "<p>Claim your free crypto before midnight!</p>",
                    "<p>Free crypto<script>alert(1)</script> \\u001b[31mRED\\u001b]0;title\\u0007"
                    " &#27;[2J \\u009b31m \\u202eevil <b onclick=\\\"steal()\\\">bold</b>"
                    " <a href=\\\"javascript:alert(2)\\\">click</a></p>");
  json = ReplaceAll(json, "\"summary\": null", "\"summary\": \"cw \\u001b[5mblink\"");
  json =
      ReplaceAll(json, "\"attachment\": []",
                 "\"attachment\": [{\"type\": \"Document\", \"mediaType\": \"image/png\\u001b[1m\","
                 " \"url\": \"https://x.example/a.png\\u001b[2J\", \"name\": \"alt\\u0007\"}]");
  const std::string id = Flag(json);

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"review", "show", id}, {"review", "list"}}) {
    CommandResult shown = Fedwall(args);
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    const std::string& out = shown.out;
    for (char c : out) {
      const auto u = static_cast<unsigned char>(c);
      EXPECT_TRUE(u == '\n' || u >= 0x20) << "control byte " << static_cast<int>(u) << " in\n"
                                          << out;
      EXPECT_NE(u, 0x7F);
    }
    EXPECT_THAT(out, Not(HasSubstr("\xC2\x9B")));      // C1 CSI
    EXPECT_THAT(out, Not(HasSubstr("\xE2\x80\xAE")));  // right-to-left override
    EXPECT_THAT(out, Not(HasSubstr("<script")));
    EXPECT_THAT(out, Not(HasSubstr("onclick")));
    if (args[1] == "show") {
      EXPECT_THAT(out, Not(HasSubstr("alert(1)")));  // script contents are not text
      EXPECT_THAT(out, HasSubstr("[[Free crypto]]"));
      EXPECT_THAT(out, HasSubstr("[31mRED"));  // what is left of the sequence is inert text
      EXPECT_THAT(out, HasSubstr("bold"));
      EXPECT_THAT(out, HasSubstr("cw [5mblink"));
    }
  }
}

// ---- review approve / remove -----------------------------------------------------------------

TEST_F(CliAdminTest, ReviewApproveAndRemoveWithBlockDomain) {
  const std::string a = Flag(Activity("free-crypto-note.json", 1001));
  const std::string b = Flag(Activity("giveaway-note.json", 1002, "spam.example"));

  CommandResult approved = Fedwall({"review", "approve", a, "--note", "satire", "--as", "bob"});
  ASSERT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_EQ(approved.out, "flag " + a + " approved by bob (alice@mastodon.example)\n");
  v1::Flag fa = GetFlag(a);
  EXPECT_EQ(fa.status(), v1::FLAG_STATUS_APPROVED);
  EXPECT_EQ(fa.moderator(), "bob");
  EXPECT_EQ(fa.note(), "satire");
  CommandResult shown = Fedwall({"review", "show", a, "--json"});
  EXPECT_THAT(shown.out, HasSubstr("\"status\":\"FLAG_STATUS_APPROVED\""));
  EXPECT_THAT(shown.out, HasSubstr("\"resolvedAt\":"));
  EXPECT_THAT(shown.out, HasSubstr("\"moderator\":\"bob\",\"note\":\"satire\""));

  // The moderator from the environment.
  setenv("FEDWALL_MODERATOR", "carol", 1);
  CommandResult removed = Fedwall({"review", "remove", b, "--block-domain", "--note", "spam"});
  unsetenv("FEDWALL_MODERATOR");
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_THAT(removed.out, StartsWith("flag " + b + " removed by carol"));
  EXPECT_THAT(removed.out, HasSubstr("blocked domain spam.example"));
  v1::Flag fb = GetFlag(b);
  EXPECT_EQ(fb.status(), v1::FLAG_STATUS_REMOVED);
  EXPECT_EQ(fb.moderator(), "carol");
  EXPECT_EQ(fb.note(), "spam");

  // The block is there, in both listings.
  CommandResult blocks = Fedwall({"blocks", "list", "--json"});
  ASSERT_EQ(blocks.exit_code, 0) << blocks.err;
  EXPECT_THAT(blocks.out,
              HasSubstr("\"domain\":\"spam.example\",\"severity\":\"SEVERITY_SUSPEND\""));
  CommandResult human = Fedwall({"blocks", "list"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_THAT(human.out, HasSubstr("spam.example"));
  EXPECT_THAT(human.out, HasSubstr("suspend"));

  // Pending ones are gone from the default listing.
  CommandResult pending = Fedwall({"review", "list"});
  EXPECT_EQ(pending.out, "no pending flags\n");
  CommandResult all = Fedwall({"review", "list", "--status", "all"});
  EXPECT_THAT(all.out, HasSubstr("approved"));
  EXPECT_THAT(all.out, HasSubstr("removed"));

  // Unknown ids: one line, exit 1.
  for (const char* verb : {"approve", "remove"}) {
    CommandResult unknown = Fedwall({"review", verb, "987654"});
    EXPECT_EQ(unknown.exit_code, 1) << verb;
    EXPECT_EQ(Lines(unknown.err).size(), 1u) << unknown.err;
    EXPECT_THAT(unknown.err, HasSubstr("not found"));
  }
}

// ---- blocks ----------------------------------------------------------------------------------

TEST_F(CliAdminTest, BlocksAddListRemove) {
  CommandResult added =
      Fedwall({"blocks", "add", "*.Spam.Example.", "--severity", "silence", "--reject-media",
               "--comment", "spam wave", "--private-comment", "ticket 12"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, "blocked spam.example and its subdomains: silence, reject media\n");

  CommandResult listed = Fedwall({"blocks", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  ASSERT_EQ(Lines(listed.out).size(), 1u);
  EXPECT_EQ(listed.out,
            "{\"domain\":\"spam.example\",\"severity\":\"SEVERITY_SILENCE\",\"rejectMedia\":true,"
            "\"rejectReports\":false,\"publicComment\":\"spam wave\",\"privateComment\":\"ticket "
            "12\"}\n");
  v1::DomainBlock parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(Lines(listed.out)[0], &parsed).ok());

  CommandResult human = Fedwall({"blocks", "list"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_THAT(human.out, HasSubstr("DOMAIN"));
  EXPECT_THAT(human.out, HasSubstr("spam.example"));
  EXPECT_THAT(human.out, HasSubstr("spam wave (privat"));  // cut to 80 columns

  CommandResult removed = Fedwall({"blocks", "remove", "spam.example"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_TRUE(Blocks().empty());
  CommandResult empty = Fedwall({"blocks", "list"});
  EXPECT_THAT(empty.out, StartsWith("no API-made domain blocks"));
  EXPECT_EQ(Fedwall({"blocks", "list", "--json"}).out, "");

  CommandResult again = Fedwall({"blocks", "remove", "spam.example"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(Lines(again.err).size(), 1u) << again.err;
  EXPECT_THAT(again.err, StartsWith("fedwall blocks remove: not found: "));

  CommandResult invalid = Fedwall({"blocks", "add", "not a domain", "--severity", "suspend"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(Lines(invalid.err).size(), 1u) << invalid.err;
  EXPECT_EQ(Fedwall({"blocks", "add", "x.example"}).exit_code, 2);  // --severity is required
  EXPECT_EQ(Fedwall({"blocks", "add", "x.example", "--severity", "obliterate"}).exit_code, 2);
}

TEST_F(CliAdminTest, BlocksImportReportsEveryRowAndAppliesNothingFromAnUnreadableFile) {
  const std::string csv = dir_ + "/blocks.csv";
  WriteFile(csv,
            "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
            "one.example,suspend,false,false,spam,false\n"
            "not a domain!,suspend,false,false,bad,false\n"
            "two.example,silence,true,false,,false\n");
  CommandResult imported = Fedwall({"blocks", "import", csv});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.err, "");  // not a terminal: no progress
  std::vector<std::string> lines = Lines(imported.out);
  ASSERT_EQ(lines.size(), 2u) << imported.out;
  EXPECT_THAT(lines[0], StartsWith(csv + ":3: "));
  EXPECT_EQ(lines[1], "2 added, 0 changed, 0 unchanged, 1 skipped");
  std::vector<v1::DomainBlock> blocks = Blocks();
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].domain(), "one.example");
  EXPECT_EQ(blocks[1].domain(), "two.example");
  EXPECT_EQ(blocks[1].severity(), v1::SEVERITY_SILENCE);

  CommandResult again = Fedwall({"blocks", "import", csv});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Lines(again.out).back(), "0 added, 0 changed, 2 unchanged, 1 skipped");

  // A plain list with a default severity; one entry changes.
  const std::string plain = dir_ + "/list.txt";
  WriteFile(plain, "two.example\nthree.example\n");
  CommandResult upgraded =
      Fedwall({"blocks", "import", plain, "--format", "plain", "--default-severity", "suspend"});
  ASSERT_EQ(upgraded.exit_code, 0) << upgraded.err;
  EXPECT_EQ(upgraded.out, "1 added, 1 changed, 0 unchanged, 0 skipped\n");

  // A file the server cannot read at all: exit 1 with its message, nothing applied.
  const std::string broken = dir_ + "/broken.json";
  WriteFile(broken, "[{\"domain\": \"four.example\", ");
  CommandResult refused = Fedwall({"blocks", "import", broken, "--format", "mastodon_api_json"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(Lines(refused.err).size(), 1u) << refused.err;
  EXPECT_THAT(refused.err, StartsWith("fedwall blocks import: " + broken + ": nothing imported: "));
  EXPECT_EQ(Blocks().size(), 3u);

  CommandResult bad_format = Fedwall({"blocks", "import", csv, "--format", "xml"});
  EXPECT_EQ(bad_format.exit_code, 1);
  EXPECT_THAT(bad_format.err, HasSubstr("unknown blocklist format"));

  CommandResult missing = Fedwall({"blocks", "import", dir_ + "/nope.csv"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(Lines(missing.err).size(), 1u) << missing.err;
  EXPECT_EQ(Fedwall({"blocks", "import", csv, "--default-severity", "hard"}).exit_code, 2);

  // Over the size bound: refused before anything is sent.
  const std::string huge = dir_ + "/huge.txt";
  {
    std::ofstream out(huge, std::ios::binary);
    std::string line = "a-long-but-valid-domain-name-for-the-size-test.example\n";
    for (size_t written = 0; written <= (16u << 20); written += line.size()) out << line;
  }
  CommandResult too_big = Fedwall({"blocks", "import", huge});
  EXPECT_EQ(too_big.exit_code, 1);
  EXPECT_EQ(Lines(too_big.err).size(), 1u) << too_big.err;
  EXPECT_EQ(Blocks().size(), 3u);
}

// ---- policy ----------------------------------------------------------------------------------

TEST_F(CliAdminTest, PolicyStatusAndReload) {
  const std::string version = PolicyVersion();
  CommandResult status = Fedwall({"policy", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("version " + version));
  EXPECT_THAT(status.out, HasSubstr("3 rules"));
  EXPECT_THAT(status.out, HasSubstr("1 domain"));
  EXPECT_THAT(status.out, HasSubstr("warnings none"));
  EXPECT_THAT(status.out, HasSubstr("loaded  "));

  CommandResult json = Fedwall({"policy", "status", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ASSERT_EQ(Lines(json.out).size(), 1u);
  v1::GetPolicyResponse policy;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(Lines(json.out)[0], &policy).ok())
      << json.out;
  EXPECT_EQ(policy.version(), version);
  EXPECT_EQ(policy.rules(), 3u);
  EXPECT_THAT(json.out, HasSubstr("\"warnings\":[]"));
  EXPECT_THAT(json.out, HasSubstr("\"loadedAt\":"));

  // A rule with a warning (an unused list) reloads and shows it.
  WriteFile(policy_dir_ + "/zz-extra.rules",
            "list unused_words = [\"a\"]\n"
            "rule jackpot \"Jackpot\" {\n  when  content has \"jackpot\"\n  then  reject\n}\n");
  CommandResult reloaded = Fedwall({"policy", "reload"});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err;
  EXPECT_THAT(reloaded.out, HasSubstr("zz-extra.rules:1:"));
  EXPECT_THAT(reloaded.out, HasSubstr(": warning: "));
  const std::string reloaded_version = PolicyVersion();
  EXPECT_NE(reloaded_version, version);
  EXPECT_THAT(reloaded.out,
              HasSubstr("reloaded: policy version " + reloaded_version + " (1 warning)"));
  CommandResult warned = Fedwall({"policy", "status"});
  EXPECT_THAT(warned.out, HasSubstr("4 rules"));
  EXPECT_THAT(warned.out, HasSubstr("zz-extra.rules:1:"));

  // Broken: exit 1, every diagnostic with path:line:col, the old policy keeps serving.
  WriteFile(policy_dir_ + "/zz-extra.rules", ReadFile(kFixtures + "broken-policy/main.rules"));
  CommandResult failed = Fedwall({"policy", "reload"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(failed.out, "");
  EXPECT_THAT(failed.err, HasSubstr("zz-extra.rules:4:21: error: "));
  EXPECT_THAT(failed.err, HasSubstr("keeps serving"));
  EXPECT_THAT(failed.err, HasSubstr(reloaded_version));
  EXPECT_THAT(failed.err, Not(HasSubstr("\x1b")));
  EXPECT_EQ(PolicyVersion(), reloaded_version);
}

// ---- errors shared by every command ----------------------------------------------------------

TEST_F(CliAdminTest, WrongTokenUnreachableServerAndMissingOptions) {
  const std::vector<std::vector<std::string>> commands = {
      {"review", "list"},
      {"review", "show", "1"},
      {"review", "approve", "1"},
      {"review", "remove", "1"},
      {"blocks", "list"},
      {"blocks", "add", "x.example", "--severity", "noop"},
      {"blocks", "remove", "x.example"},
      {"policy", "status"},
      {"policy", "reload"}};

  const std::string wrong = dir_ + "/wrong.token";
  WriteFile(wrong, "not-the-token\n");
  const std::string unreachable = "127.0.0.1:" + std::to_string(ClosedPort());
  for (const std::vector<std::string>& command : commands) {
    const std::string name = command[0] + " " + command[1];
    std::vector<std::string> args = command;
    args.insert(args.end(), {"--server", server_->address(), "--token-file", wrong});
    CommandResult refused = Fedwall(args, /*connect=*/false);
    EXPECT_EQ(refused.exit_code, 1) << name;
    EXPECT_EQ(Lines(refused.err).size(), 1u) << refused.err;
    EXPECT_THAT(refused.err, StartsWith("fedwall " + name + ": "));
    EXPECT_THAT(refused.err, HasSubstr("refused the admin token"));

    args = command;
    args.insert(args.end(), {"--server", unreachable, "--token-file", token_file_});
    absl::Time start = absl::Now();
    CommandResult down = Fedwall(args, /*connect=*/false);
    EXPECT_LT(absl::Now() - start, absl::Seconds(6)) << name;
    EXPECT_EQ(down.exit_code, 1) << name;
    EXPECT_EQ(Lines(down.err).size(), 1u) << down.err;
    EXPECT_THAT(down.err, HasSubstr("cannot reach fedwalld at " + unreachable));

    // No --server (and no FEDWALL_SERVER): wrong usage.
    args = command;
    args.insert(args.end(), {"--token-file", token_file_});
    CommandResult no_server = Fedwall(args, /*connect=*/false);
    EXPECT_EQ(no_server.exit_code, 2) << name;
    EXPECT_THAT(no_server.err, HasSubstr("--server"));

    // --help works for every subcommand.
    args = command;
    args.push_back("--help");
    CommandResult help = Fedwall(args, /*connect=*/false);
    EXPECT_EQ(help.exit_code, 0) << name;
    EXPECT_THAT(help.out, HasSubstr("--server"));
    EXPECT_THAT(help.out, HasSubstr("--token-file"));
  }
  CommandResult import_help = Fedwall({"blocks", "import", "--help"}, false);
  EXPECT_EQ(import_help.exit_code, 0);
  EXPECT_THAT(import_help.out, HasSubstr("--default-severity"));

  // The environment supplies --server and --token-file.
  setenv("FEDWALL_SERVER", server_->address().c_str(), 1);
  setenv("FEDWALL_TOKEN_FILE", token_file_.c_str(), 1);
  CommandResult from_env = Fedwall({"policy", "status"}, /*connect=*/false);
  unsetenv("FEDWALL_SERVER");
  unsetenv("FEDWALL_TOKEN_FILE");
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;

  // A missing token file: one line naming it.
  CommandResult no_file = Fedwall(
      {"policy", "status", "--server", server_->address(), "--token-file", dir_ + "/missing.token"},
      /*connect=*/false);
  EXPECT_EQ(no_file.exit_code, 1);
  EXPECT_EQ(Lines(no_file.err).size(), 1u) << no_file.err;
  EXPECT_THAT(no_file.err, HasSubstr("missing.token"));
  CommandResult no_token =
      Fedwall({"policy", "status", "--server", server_->address()}, /*connect=*/false);
  EXPECT_EQ(no_token.exit_code, 2);
}

}  // namespace
}  // namespace fedwall::testing
