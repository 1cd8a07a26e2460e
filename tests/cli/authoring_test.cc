// End-to-end tests of the rule-authoring commands: `fedwall check`, `test`, `eval`, `replay`
// and `corpus generate`, the real binary against the small policies in
// tests/fixtures/cli/policies/ (good, stricter, broken, failing, clock).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/cli/run_command.h"

namespace fedwall::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kSource = FEDWALL_SOURCE_DIR;
const std::string kCli = kSource + "/tests/fixtures/cli/";
const std::string kPolicies = kCli + "policies/";
const std::string kGood = kPolicies + "good";
const std::string kActivities = kGood + "/activities/";
const std::string kCorpus = kCli + "corpus.jsonl";
const std::string kFacts = kCli + "new-account-facts.json";

CommandResult Fedwall(std::vector<std::string> args, const std::string& stdin_data = "") {
  args.insert(args.begin(), FEDWALL_CLI);
  return RunCommand(args, stdin_data);
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::string LastLine(const std::string& text) {
  std::vector<std::string> lines = Lines(text);
  return lines.empty() ? "" : lines.back();
}

bool HasEscapeCodes(const std::string& text) { return text.find('\x1b') != std::string::npos; }

// A parsed JSON document with small accessors (asserting the type).
class Json {
 public:
  explicit Json(const std::string& text) : padded_(text) {
    ok_ = parser_.parse(padded_).get(root_) == simdjson::SUCCESS;
  }
  bool ok() const { return ok_; }
  simdjson::dom::element root() const { return root_; }

 private:
  simdjson::padded_string padded_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

std::vector<std::string> Keys(simdjson::dom::element e) {
  std::vector<std::string> keys;
  simdjson::dom::object o;
  if (e.get(o) != simdjson::SUCCESS) return {"<not an object>"};
  for (auto field : o) keys.emplace_back(field.key);
  return keys;
}

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get(v) != simdjson::SUCCESS) return "<not a string>";
  return std::string(v);
}

double Num(simdjson::dom::element e, const char* key) {
  double d;
  if (e[key].get(d) == simdjson::SUCCESS) return d;
  int64_t i;
  if (e[key].get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  uint64_t u;
  if (e[key].get(u) == simdjson::SUCCESS) return static_cast<double>(u);
  return -12345;
}

simdjson::dom::array Arr(simdjson::dom::element e, const char* key) {
  simdjson::dom::array a;
  EXPECT_EQ(e[key].get(a), simdjson::SUCCESS) << key;
  return a;
}

// Runs the binary on a pseudo-terminal (standard output and error both the terminal) and
// returns what it printed there.
std::string RunOnTerminal(std::vector<std::string> args, bool no_color) {
  args.insert(args.begin(), FEDWALL_CLI);
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) return "<forkpty failed>";
  if (pid == 0) {
    if (no_color) {
      setenv("NO_COLOR", "1", 1);
    } else {
      unsetenv("NO_COLOR");
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child has exited
    out.append(buf, static_cast<size_t>(n));
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  return out;
}

// ----- help ------------------------------------------------------------------------------------

TEST(AuthoringTest, EveryCommandHasHelp) {
  CommandResult top = Fedwall({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  for (const char* name : {"check", "test", "eval", "replay", "corpus"}) {
    EXPECT_THAT(top.out, HasSubstr(name));
  }
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"check", "--help"},
                                             {"test", "--help"},
                                             {"eval", "--help"},
                                             {"replay", "--help"},
                                             {"corpus", "generate", "--help"}}) {
    CommandResult r = Fedwall(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_THAT(r.out, HasSubstr("Usage")) << args[0];
  }
}

TEST(AuthoringTest, MissingArgumentsAreUsageErrors) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"check"}, {"test"}, {"eval", kGood}, {"replay", kGood}}) {
    CommandResult r = Fedwall(args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_FALSE(r.err.empty()) << args[0];
  }
}

// ----- check -----------------------------------------------------------------------------------

TEST(AuthoringTest, CheckSummarisesAGoodPolicy) {
  CommandResult r = Fedwall({"check", kGood});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_FALSE(HasEscapeCodes(r.out));
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[0], ::testing::MatchesRegex(kGood + ": 4 rules \\(1 in monitor mode\\), [0-9]+ "
                                                        "patterns, 1 domain, 5 tests in 1 file; "
                                                        "compiled in [0-9.]+ m?s"));
  EXPECT_THAT(lines[1], ::testing::MatchesRegex("policy version [0-9a-f]{64}"));
  EXPECT_EQ(lines[2], "ok");
}

TEST(AuthoringTest, CheckPrintsEveryDiagnosticAtItsPlace) {
  // A relative policy path, as a user types it: the diagnostics' paths start with it.
  const std::string dir = fs::relative(kPolicies + "broken", fs::current_path()).string();
  CommandResult r = Fedwall({"check", dir});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(HasEscapeCodes(r.out));
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_THAT(lines[0], StartsWith(dir + "/main.rules:3:6: warning: "));
  EXPECT_THAT(lines[0], HasSubstr("unused_words"));
  EXPECT_THAT(lines[1], StartsWith(dir + "/main.rules:6:9: error: "));
  EXPECT_THAT(lines[1], HasSubstr("'txt'"));
  EXPECT_THAT(lines[2], StartsWith(dir + "/main.rules:11:27: error: "));
  EXPECT_THAT(lines[2], HasSubstr("mentions.count"));
  EXPECT_THAT(lines[3], StartsWith(dir + "/second.rules:2:22: error: "));
  EXPECT_THAT(lines[3], HasSubstr("no_such_list"));
  EXPECT_EQ(lines[4], dir + ": 3 errors, 1 warning; not compiled");
}

TEST(AuthoringTest, CheckOnAMissingDirectoryFails) {
  CommandResult r = Fedwall({"check", kPolicies + "no-such-policy"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr(kPolicies + "no-such-policy: error: "));
}

// ----- test ------------------------------------------------------------------------------------

TEST(AuthoringTest, TestRunsEveryBlock) {
  CommandResult r = Fedwall({"test", kGood});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "5 passed, 0 failed\n");
  CommandResult v = Fedwall({"test", "-v", kGood});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_THAT(v.out, HasSubstr("PASS  a scam is flagged  (" + kGood + "/main.rules:34)"));
  EXPECT_EQ(LastLine(v.out), "5 passed, 0 failed");
  EXPECT_FALSE(HasEscapeCodes(v.out));
}

TEST(AuthoringTest, TestReportsFailuresWithTheirPlace) {
  const std::string dir = kPolicies + "failing";
  CommandResult r = Fedwall({"test", dir});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("FAIL  the plain note is rejected (wrong on purpose)  (" + dir +
                               "/main.rules:12)"));
  EXPECT_THAT(r.out, HasSubstr(dir + "/main.rules:14:3: expected REJECT by scam_words, got "
                                     "ACCEPT (fired: none)"));
  EXPECT_THAT(r.out, Not(HasSubstr("the scam is flagged")));  // passes are quiet
  EXPECT_EQ(LastLine(r.out), "1 passed, 1 failed");
  EXPECT_FALSE(HasEscapeCodes(r.out));
}

TEST(AuthoringTest, TestOnAPolicyThatDoesNotCompile) {
  CommandResult r = Fedwall({"test", kPolicies + "broken"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_THAT(r.err, HasSubstr("/main.rules:6:9: error: "));
  EXPECT_THAT(LastLine(r.err), HasSubstr("does not compile (3 errors)"));
}

// ----- eval ------------------------------------------------------------------------------------

TEST(AuthoringTest, EvalExplainsTheDecision) {
  CommandResult r = Fedwall({"eval", kGood, kActivities + "scam.json", "--facts", kFacts});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(HasEscapeCodes(r.out));
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 8u) << r.out;
  EXPECT_EQ(lines[0], "FLAG  score 3.5  effects: none");
  EXPECT_THAT(lines[1], HasSubstr("now 2024-02-15T09:13:00Z (the delivery's receivedAt)"));
  EXPECT_THAT(r.out, HasSubstr("scam_words  then flag \u00B7 score +2\n    Scam wording\n"
                               "    text[4:15]  Get \u00ABFREE CRYPTO\u00BB now, before everyone "
                               "else does\n"));
  EXPECT_THAT(r.out, HasSubstr("new_account  score +1.5\n    A new account\n    actor.age = 1h\n"));
  EXPECT_THAT(r.out, HasSubstr("cats_monitor  then mark_sensitive  [monitor: reported, changes "
                               "nothing]"));
}

TEST(AuthoringTest, EvalJsonIsTheEvaluateResponse) {
  CommandResult r =
      Fedwall({"eval", kGood, kActivities + "scam.json", "--facts", kFacts, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line when piped";
  Json j(r.out);
  ASSERT_TRUE(j.ok()) << r.out;
  simdjson::dom::element e = j.root();
  // Every field, zero values included, proto3 JSON names; `error` only on item errors.
  EXPECT_THAT(Keys(e), ElementsAre("requestId", "verdict", "effects", "score", "matches",
                                   "policyVersion", "flagId"));
  EXPECT_EQ(Str(e, "requestId"), "");
  EXPECT_EQ(Str(e, "verdict"), "VERDICT_FLAG");
  EXPECT_EQ(Arr(e, "effects").size(), 0u);  // the monitor rule's mark_sensitive does not apply
  EXPECT_EQ(Num(e, "score"), 3.5);
  EXPECT_THAT(Str(e, "policyVersion"), ::testing::MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(Str(e, "flagId"), "");

  simdjson::dom::array matches = Arr(e, "matches");
  ASSERT_EQ(matches.size(), 3u);
  simdjson::dom::element scam = matches.at(0).value();
  EXPECT_THAT(Keys(scam), ElementsAre("ruleId", "reason", "score", "monitor", "evidence"));
  EXPECT_EQ(Str(scam, "ruleId"), "scam_words");
  EXPECT_EQ(Str(scam, "reason"), "Scam wording");
  EXPECT_EQ(Num(scam, "score"), 2);
  EXPECT_EQ(scam["monitor"].get_bool().value(), false);
  simdjson::dom::array evidence = Arr(scam, "evidence");
  ASSERT_EQ(evidence.size(), 1u);
  simdjson::dom::element span = evidence.at(0).value();
  EXPECT_THAT(Keys(span), ElementsAre("field", "text", "start", "end"));
  EXPECT_EQ(Str(span, "field"), "text");
  EXPECT_EQ(Str(span, "text"), "FREE CRYPTO");
  EXPECT_EQ(Num(span, "start"), 4);
  EXPECT_EQ(Num(span, "end"), 15);

  simdjson::dom::element age = matches.at(1).value();
  EXPECT_EQ(Str(age, "ruleId"), "new_account");
  EXPECT_EQ(Num(age, "score"), 1.5);
  simdjson::dom::element fact = Arr(age, "evidence").at(0).value();
  EXPECT_EQ(Str(fact, "field"), "actor.age");
  EXPECT_EQ(Str(fact, "text"), "actor.age = 1h");
  EXPECT_EQ(Num(fact, "start"), 0);
  EXPECT_EQ(Num(fact, "end"), 0);

  simdjson::dom::element monitor = matches.at(2).value();
  EXPECT_EQ(Str(monitor, "ruleId"), "cats_monitor");
  EXPECT_EQ(monitor["monitor"].get_bool().value(), true);
  EXPECT_EQ(Num(monitor, "score"), 0);

  // The same version `fedwall check` reports.
  CommandResult check = Fedwall({"check", kGood});
  EXPECT_THAT(check.out, HasSubstr("policy version " + Str(e, "policyVersion")));
}

TEST(AuthoringTest, EvalJsonOfABlockedDomain) {
  CommandResult r = Fedwall({"eval", kGood, kActivities + "blocked.json", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j(r.out);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(Str(j.root(), "verdict"), "VERDICT_REJECT");
  simdjson::dom::array matches = Arr(j.root(), "matches");
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_EQ(Str(matches.at(0).value(), "ruleId"), "blocklist:suspend");
  EXPECT_THAT(Str(matches.at(0).value(), "reason"), HasSubstr("blocked.txt:2"));
}

TEST(AuthoringTest, EvalReadsStandardInput) {
  std::ifstream in(kActivities + "mentions.json");
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CommandResult r = Fedwall({"eval", kGood, "-", "--json"}, json);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"verdict\":\"VERDICT_REJECT\""));
  EXPECT_THAT(r.out, HasSubstr("\"ruleId\":\"mass_mentions\""));
}

TEST(AuthoringTest, EvalErrorsAreOneClearLine) {
  struct Case {
    std::vector<std::string> args;
    std::string stdin_data;
    std::string expect_in_err;
  };
  const std::string scam = kActivities + "scam.json";
  std::vector<Case> cases = {
      {{"eval", kGood, "-"}, "{\"type\": \"Create\", ", "-: "},
      {{"eval", kGood, "-"}, "[1, 2]", "-: "},
      {{"eval", kGood, "/nonexistent/activity.json"}, "", "/nonexistent/activity.json"},
      {{"eval", kGood, scam, "--now", "tomorrow"}, "", "--now"},
      {{"eval", kGood, scam, "--facts", kCli + "typo-facts.json"}, "", "typo-facts.json"},
      {{"eval", kPolicies + "no-such-policy", scam}, "", "no-such-policy"},
  };
  for (const Case& c : cases) {
    CommandResult r = Fedwall(c.args, c.stdin_data);
    EXPECT_NE(r.exit_code, 0) << c.args.back();
    EXPECT_TRUE(r.out.empty()) << c.args.back() << ": " << r.out;
    EXPECT_THAT(r.err, HasSubstr(c.expect_in_err)) << c.args.back();
    if (c.args[1] == kGood) {
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
  }
}

TEST(AuthoringTest, EvalMeasuresTimeFromTheWallClockUnlessTold) {
  // The `clock` policy flags objects older than 30 days; plain.json was published on
  // 2024-02-15.
  const std::string clock = kPolicies + "clock";
  const std::string plain = kActivities + "plain.json";
  EXPECT_THAT(Fedwall({"eval", clock, plain, "--json"}).out, HasSubstr("VERDICT_FLAG"));
  EXPECT_THAT(Fedwall({"eval", clock, plain, "--json", "--now", "2024-02-20T00:00:00Z"}).out,
              HasSubstr("VERDICT_ACCEPT"));
  // The delivery's receivedAt wins over --now.
  EXPECT_THAT(
      Fedwall({"eval", clock, plain, "--json", "--now", "2030-01-01T00:00:00Z", "--facts", kFacts})
          .out,
      HasSubstr("VERDICT_ACCEPT"));
}

// ----- replay ----------------------------------------------------------------------------------

TEST(AuthoringTest, ReplayJsonSummary) {
  CommandResult r = Fedwall({"replay", kGood, kCorpus, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << "no progress bar when piped: " << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  Json j(r.out);
  ASSERT_TRUE(j.ok()) << r.out;
  simdjson::dom::element e = j.root();
  EXPECT_THAT(Keys(e), ElementsAre("total", "verdicts", "rules", "compile_seconds",
                                   "activities_per_second"));
  EXPECT_EQ(Num(e, "total"), 10);  // 11 lines, one blank
  simdjson::dom::element verdicts = e["verdicts"].value();
  EXPECT_THAT(Keys(verdicts), ElementsAre("ACCEPT", "FLAG", "REJECT", "ERROR"));
  EXPECT_EQ(Num(verdicts, "ACCEPT"), 2);
  EXPECT_EQ(Num(verdicts, "FLAG"), 2);
  EXPECT_EQ(Num(verdicts, "REJECT"), 2);
  EXPECT_EQ(Num(verdicts, "ERROR"), 4);
  // Synthetic matches first, then every rule of the policy in policy order, zeros included.
  simdjson::dom::element rules = e["rules"].value();
  EXPECT_THAT(Keys(rules), ElementsAre("blocklist:suspend", "scam_words", "mass_mentions",
                                       "new_account", "cats_monitor"));
  EXPECT_EQ(Num(rules, "blocklist:suspend"), 1);
  EXPECT_EQ(Num(rules, "scam_words"), 2);
  EXPECT_EQ(Num(rules, "mass_mentions"), 1);
  EXPECT_EQ(Num(rules, "new_account"), 1);  // the wrapper line's actor facts
  EXPECT_EQ(Num(rules, "cats_monitor"), 2);
  EXPECT_GT(Num(e, "compile_seconds"), 0);
  EXPECT_GT(Num(e, "activities_per_second"), 0);
}

TEST(AuthoringTest, ReplayAgainstListsTheChanges) {
  CommandResult r =
      Fedwall({"replay", kPolicies + "stricter", kCorpus, "--against", kGood, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j(r.out);
  ASSERT_TRUE(j.ok()) << r.out;
  simdjson::dom::element e = j.root();
  EXPECT_THAT(Keys(e), ElementsAre("total", "verdicts", "rules", "compile_seconds",
                                   "activities_per_second", "changed"));
  EXPECT_EQ(Num(e["verdicts"].value(), "REJECT"), 4);
  EXPECT_EQ(Num(e["verdicts"].value(), "FLAG"), 0);
  simdjson::dom::array changed = Arr(e, "changed");
  ASSERT_EQ(changed.size(), 2u);
  std::vector<std::tuple<double, std::string, std::string>> got;
  for (simdjson::dom::element c : changed) {
    EXPECT_THAT(Keys(c), ElementsAre("line", "from", "to"));
    got.emplace_back(Num(c, "line"), Str(c, "from"), Str(c, "to"));
  }
  EXPECT_THAT(got, ElementsAre(std::make_tuple(2.0, "FLAG", "REJECT"),
                               std::make_tuple(4.0, "FLAG", "REJECT")));

  // The same policy on both sides changes nothing.
  CommandResult same = Fedwall({"replay", kGood, kCorpus, "--against", kGood, "--json"});
  EXPECT_THAT(same.out, HasSubstr("\"changed\":[]"));
}

TEST(AuthoringTest, ReplayHumanSummary) {
  CommandResult r = Fedwall({"replay", kPolicies + "stricter", kCorpus, "--against", kGood});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(HasEscapeCodes(r.out));
  EXPECT_THAT(r.out, HasSubstr("replayed 10 activities from " + kCorpus));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\nREJECT +4 +40\\.00% +2\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\nscam_words +2 +20\\.00% +2\n"));
  // Error lines by number, with the reason.
  EXPECT_THAT(r.out, HasSubstr("errors (4):\n  line 3: "));
  EXPECT_THAT(r.out, HasSubstr("\n  line 7: "));
  EXPECT_THAT(r.out, HasSubstr("\n  line 9: unexpected key \"actr\""));
  EXPECT_THAT(r.out, HasSubstr("\n  line 11: facts: "));
  // Every changed activity, with the rules on each side.
  EXPECT_THAT(r.out, HasSubstr("changed verdicts: 2 of 6 (from " + kGood + " to " + kPolicies +
                               "stricter)\n  line 2: FLAG -> REJECT\n      from: scam_words, "
                               "cats_monitor (monitor)\n      to:   scam_words, cats_monitor "
                               "(monitor)\n  line 4: FLAG -> REJECT\n"));
  EXPECT_THAT(r.out, HasSubstr("activities/s"));
}

TEST(AuthoringTest, ReplayCountsAnOverlongLineAsAnError) {
  const fs::path corpus = fs::path(::testing::TempDir()) / "overlong.jsonl";
  {
    std::ifstream in(kActivities + "plain.json");
    std::string plain((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    plain.erase(std::remove(plain.begin(), plain.end(), '\n'), plain.end());
    std::ofstream out(corpus);
    out << "{\"type\":\"Note\",\"content\":\"" << std::string((1 << 20) + 100, 'a') << "\"}\n"
        << plain << "\n";
  }
  CommandResult r = Fedwall({"replay", kGood, corpus.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"total\":2,"));
  EXPECT_THAT(r.out, HasSubstr("\"ACCEPT\":1,"));
  EXPECT_THAT(r.out, HasSubstr("\"ERROR\":1}"));
  CommandResult human = Fedwall({"replay", kGood, corpus.string()});
  EXPECT_THAT(human.out, HasSubstr("line 1: longer than 1048576 bytes"));
  fs::remove(corpus);
}

TEST(AuthoringTest, ReplayMeasuresTimeFromPublishedUnlessTold) {
  std::ifstream in(kActivities + "plain.json");
  std::string plain((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  plain.erase(std::remove(plain.begin(), plain.end(), '\n'), plain.end());
  const std::string clock = kPolicies + "clock";
  // Default: each object's published, so the object is 0 s old.
  EXPECT_THAT(Fedwall({"replay", clock, "-", "--json"}, plain + "\n").out,
              HasSubstr("\"ACCEPT\":1,"));
  EXPECT_THAT(
      Fedwall({"replay", clock, "-", "--json", "--now", "2030-01-01T00:00:00Z"}, plain + "\n").out,
      HasSubstr("\"FLAG\":1,"));
  // A wrapper's receivedAt wins.
  std::string wrapped =
      "{\"activity\": " + plain + ", \"delivery\": {\"receivedAt\": \"2030-01-01T00:00:00Z\"}}\n";
  EXPECT_THAT(Fedwall({"replay", clock, "-", "--json"}, wrapped).out, HasSubstr("\"FLAG\":1,"));
}

TEST(AuthoringTest, ReplayChecksWrapperLines) {
  std::ifstream in(kActivities + "plain.json");
  std::string plain((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  plain.erase(std::remove(plain.begin(), plain.end(), '\n'), plain.end());
  const std::string corpus =
      "{\"activity\": " + plain + ", \"actor\": {}, \"actor\": {\"bot\": true}}\n" +  // 1
      "{\"activity\": " + plain + ", \"delivery\": 5}\n" +                            // 2
      "{\"activity\": " + plain + "}\n" +                                             // 3
      "{\"delivery\": {}, \"activity\": " + plain + ", \"actor\": {\"followersCount\": 0}}\n" +
      "{\"activity\": \"https://a.example/1\"}\n" +  // 5
      plain + " trailing\n";                         // 6
  CommandResult r = Fedwall({"replay", kGood, "-"}, corpus);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("replayed 6 activities"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\nACCEPT +2 "));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\nERROR +4 "));
  EXPECT_THAT(r.out, HasSubstr("  line 1: duplicate key \"actor\"\n"));
  EXPECT_THAT(r.out, HasSubstr("  line 2: \"delivery\" must be a JSON object\n"));
  EXPECT_THAT(r.out, HasSubstr("  line 5: "));
  EXPECT_THAT(r.out, HasSubstr("  line 6: "));
}

TEST(AuthoringTest, ReplayErrorsAreOneClearLine) {
  CommandResult missing = Fedwall({"replay", kGood, "/nonexistent/corpus.jsonl"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(missing.out.empty());
  EXPECT_EQ(missing.err, "fedwall replay: /nonexistent/corpus.jsonl: No such file or directory\n");
  CommandResult now = Fedwall({"replay", kGood, kCorpus, "--now", "soon"});
  EXPECT_NE(now.exit_code, 0);
  EXPECT_THAT(now.err, HasSubstr("--now"));
  CommandResult broken = Fedwall({"replay", kGood, kCorpus, "--against", kPolicies + "broken"});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_TRUE(broken.out.empty());
  EXPECT_THAT(LastLine(broken.err), HasSubstr("does not compile"));
}

// ----- corpus generate ---------------------------------------------------------------------------

TEST(AuthoringTest, CorpusGenerateIsDeterministic) {
  CommandResult a = Fedwall({"corpus", "generate", "--count", "300", "--seed", "7"});
  CommandResult b = Fedwall({"corpus", "generate", "--count", "300", "--seed", "7"});
  CommandResult c = Fedwall({"corpus", "generate", "--count", "300", "--seed", "8"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_TRUE(a.err.empty());
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
  std::vector<std::string> lines = Lines(a.out);
  EXPECT_EQ(lines.size(), 300u);
  for (const std::string& line : lines) EXPECT_TRUE(Json(line).ok()) << line;
  // A prefix of a longer corpus is the shorter corpus.
  CommandResult longer = Fedwall({"corpus", "generate", "--count", "400", "--seed", "7"});
  EXPECT_EQ(longer.out.substr(0, a.out.size()), a.out);
  // It replays without errors.
  CommandResult replay = Fedwall({"replay", kSource + "/rules", "-", "--json"}, a.out);
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_THAT(replay.out, HasSubstr("\"total\":300,"));
  EXPECT_THAT(replay.out, HasSubstr("\"ERROR\":0}"));

  CommandResult bad = Fedwall({"corpus", "generate", "--spam-share", "2"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(bad.out.empty());
  CommandResult negative = Fedwall({"corpus", "generate", "--count", "-1"});
  EXPECT_EQ(negative.exit_code, 2);
  EXPECT_TRUE(negative.out.empty());
}

// ----- terminals -------------------------------------------------------------------------------

TEST(AuthoringTest, ColourOnlyOnATerminalAndNeverWithNoColor) {
  const std::vector<std::string> eval = {"eval", kGood, kActivities + "scam.json"};
  std::string tty = RunOnTerminal(eval, /*no_color=*/false);
  EXPECT_THAT(tty, HasSubstr("\x1b[1;33mFLAG\x1b[0m"));
  EXPECT_THAT(tty, HasSubstr("\x1b[1;31mFREE CRYPTO\x1b[0m"));  // the span, highlighted
  std::string no_color = RunOnTerminal(eval, /*no_color=*/true);
  EXPECT_THAT(no_color, HasSubstr("FLAG"));
  EXPECT_FALSE(HasEscapeCodes(no_color)) << no_color;

  std::string check = RunOnTerminal({"check", kPolicies + "broken"}, false);
  EXPECT_THAT(check, HasSubstr("\x1b[1;31merror:\x1b[0m"));
}

TEST(AuthoringTest, ProgressOnlyOnATerminal) {
  std::string corpus = Fedwall({"corpus", "generate", "--count", "20000", "--seed", "3"}).out;
  const fs::path path = fs::path(::testing::TempDir()) / "progress.jsonl";
  std::ofstream(path) << corpus;
  // On a terminal the bar is drawn on standard error (here the same terminal), then erased
  // before the summary is printed.
  std::string tty = RunOnTerminal({"replay", kSource + "/rules", path.string(), "--json"}, true);
  EXPECT_THAT(tty, HasSubstr("\rreplaying " + kSource + "/rules  ["));
  EXPECT_THAT(tty, HasSubstr("\r\x1b[K{"));
  EXPECT_THAT(tty, ::testing::ContainsRegex("\"total\": 20000"));
  // Piped: nothing on standard error.
  CommandResult piped = Fedwall({"replay", kSource + "/rules", path.string(), "--json"});
  EXPECT_TRUE(piped.err.empty()) << piped.err;
  fs::remove(path);
}

}  // namespace
}  // namespace fedwall::testing
