#include "engine/lang/parser.h"

#include <random>
#include <string>
#include <vector>

#include "engine/lang/lang_test_util.h"
#include "engine/lang/report.h"
#include "engine/lang/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::lang {
namespace {

using ::fedwall::lang::testing::Diags;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

struct Parsed {
  PolicyAst ast;
  std::vector<std::string> diagnostics;
};

Parsed Parse(std::string source, const FrontEndOptions& options = {}) {
  Parsed p;
  p.ast.files.push_back({"p.rules", std::move(source)});
  Reporter reporter(p.ast.files, options.max_diagnostics);
  ParseFile(0, p.ast.files[0].bytes, options, reporter, p.ast);
  p.diagnostics = Diags(std::move(reporter).Finish());
  return p;
}

// An S-expression of a condition: (or (and (not (== a 1)) b) c).
std::string Show(const Expr* e) {
  if (e == nullptr) return "<null>";
  auto children = [&] {
    std::string out;
    for (const ExprPtr& c : e->children) Append(&out, " ", Show(c.get()));
    return out;
  };
  switch (e->kind) {
    case Expr::Kind::kAnd:
      return Cat("(and", children(), ")");
    case Expr::Kind::kOr:
      return Cat("(or", children(), ")");
    case Expr::Kind::kNot:
      return Cat("(not", children(), ")");
    case Expr::Kind::kConstant:
      return e->constant ? "true" : "false";
    case Expr::Kind::kBareBool:
      return e->field;
    case Expr::Kind::kKnown:
      return Cat("(known ", e->field, ")");
    case Expr::Kind::kMacroRef:
      return Cat("$", e->macro_name);
    case Expr::Kind::kCompare:
      break;
  }
  std::string field = e->field;
  if (e->field_window) Append(&field, "(", absl::FormatDuration(*e->field_window), ")");
  const Operand& r = e->rhs;
  std::string rhs;
  switch (r.kind) {
    case Operand::Kind::kString:
      rhs = Cat("\"", r.string, "\"");
      break;
    case Operand::Kind::kNumber:
      rhs = Cat(r.number);
      break;
    case Operand::Kind::kDuration:
      rhs = absl::FormatDuration(r.duration);
      break;
    case Operand::Kind::kBool:
      rhs = r.boolean ? "true" : "false";
      break;
    case Operand::Kind::kList:
      rhs = Cat("[", Join(r.items, ","), "]");
      break;
    case Operand::Kind::kListRef:
      rhs = Cat("@", r.list_name);
      break;
    case Operand::Kind::kRegex:
      rhs = Cat("/", r.string, "/", r.ignore_case ? "i" : "");
      break;
  }
  return Cat("(", CmpOpName(e->op), " ", field, " ", rhs, ")");
}

std::string When(std::string condition) {
  Parsed p = Parse(Cat("rule r { when ", condition, " then flag }"));
  EXPECT_THAT(p.diagnostics, IsEmpty()) << condition;
  if (p.ast.rules.size() != 1) return "<no rule>";
  return Show(p.ast.rules[0].when.get());
}

std::vector<std::string> WhenErrors(std::string condition) {
  return Parse(Cat("rule r { when ", condition, " then flag }")).diagnostics;
}

// ------------------------------------------------------------------ statements

TEST(ParserTest, EveryStatementForm) {
  Parsed p = Parse(R"(
list crypto = ["btc", "eth",]
list more from "lists/more.txt"
macro new_account = actor.age < 2d
blocklist "blocklists/tier0.csv"
blocklist "blocklists/mine.txt" severity silence format plain
allowlist "blocklists/friends.txt" format plain
threshold flag 5
threshold reject 10.5
rule mention_spam "Mass mentions" {
  when  type == "Create" and mentions.count >= 5
  then  reject, unlist
  score -1.25
  tags  spam, mentions
  mode  monitor
  reason "Mass mentions from a new account"
}
test "spam is rejected" {
  activity "tests/a.json"
  activity "tests/b.json"
  with actor.age = 1h, actor.followers = 0, actor.bot = false, received_at = "2024-01-01T00:00:00Z"
  expect reject by mention_spam, other
  expect effects unlist, strip_media
  expect not link_spam
}
)");
  EXPECT_THAT(p.diagnostics, IsEmpty());
  const PolicyAst& a = p.ast;
  ASSERT_THAT(a.lists, SizeIs(2));
  EXPECT_EQ(a.lists[0].name, "crypto");
  EXPECT_THAT(a.lists[0].items, ElementsAre("btc", "eth"));
  EXPECT_THAT(a.lists[0].item_lines, ElementsAre(2, 2));
  EXPECT_THAT(a.lists[0].item_columns, ElementsAre(16, 23));
  EXPECT_EQ(a.lists[1].from_path, "lists/more.txt");
  EXPECT_EQ(a.lists[1].location.line, 3u);
  EXPECT_EQ(a.lists[1].location.column, 6u);
  ASSERT_THAT(a.macros, SizeIs(1));
  EXPECT_EQ(Show(a.macros[0].body.get()), "(< actor.age 48h)");
  ASSERT_THAT(a.blocklists, SizeIs(3));
  EXPECT_FALSE(a.blocklists[0].allowlist);
  EXPECT_EQ(a.blocklists[0].path, "blocklists/tier0.csv");
  EXPECT_EQ(a.blocklists[0].format, "");
  EXPECT_EQ(a.blocklists[1].severity, "silence");
  EXPECT_EQ(a.blocklists[1].format, "plain");
  EXPECT_TRUE(a.blocklists[2].allowlist);
  ASSERT_THAT(a.thresholds, SizeIs(2));
  EXPECT_FALSE(a.thresholds[0].reject);
  EXPECT_EQ(a.thresholds[0].milli, 5000);
  EXPECT_TRUE(a.thresholds[1].reject);
  EXPECT_EQ(a.thresholds[1].milli, 10500);
  ASSERT_THAT(a.rules, SizeIs(1));
  const RuleDecl& r = a.rules[0];
  EXPECT_EQ(r.id, "mention_spam");
  EXPECT_EQ(r.title, "Mass mentions");
  EXPECT_EQ(r.location.line, 10u);
  EXPECT_EQ(r.location.column, 6u);
  EXPECT_EQ(Show(r.when.get()), "(and (== type \"Create\") (>= mentions.count 5))");
  EXPECT_EQ(r.action, Action::kReject);
  EXPECT_EQ(r.effects, kUnlist);
  EXPECT_EQ(r.score_milli, -1250);
  EXPECT_TRUE(r.has_score);
  EXPECT_THAT(r.tags, ElementsAre("spam", "mentions"));
  EXPECT_TRUE(r.monitor);
  EXPECT_EQ(r.reason, "Mass mentions from a new account");
  ASSERT_THAT(a.tests, SizeIs(1));
  const TestDecl& t = a.tests[0];
  EXPECT_EQ(t.name, "spam is rejected");
  EXPECT_THAT(t.activities, ElementsAre("tests/a.json", "tests/b.json"));
  ASSERT_THAT(t.activity_locations, SizeIs(2));
  EXPECT_EQ(t.activity_locations[1].line, 20u);
  ASSERT_THAT(t.facts, SizeIs(4));
  EXPECT_EQ(t.facts[0].field, "actor.age");
  EXPECT_EQ(t.facts[0].value.duration, absl::Hours(1));
  EXPECT_EQ(t.facts[1].value.kind, Operand::Kind::kNumber);
  EXPECT_EQ(t.facts[2].value.kind, Operand::Kind::kBool);
  EXPECT_EQ(t.facts[3].value.string, "2024-01-01T00:00:00Z");
  ASSERT_THAT(t.expectations, SizeIs(3));
  EXPECT_EQ(t.expectations[0].kind, Expectation::Kind::kVerdict);
  EXPECT_EQ(t.expectations[0].verdict, Action::kReject);
  EXPECT_THAT(t.expectations[0].rules, ElementsAre("mention_spam", "other"));
  EXPECT_EQ(t.expectations[1].kind, Expectation::Kind::kEffects);
  EXPECT_EQ(t.expectations[1].effects, kUnlist | kStripMedia);
  EXPECT_EQ(t.expectations[2].kind, Expectation::Kind::kNotFired);
  EXPECT_THAT(t.expectations[2].rules, ElementsAre("link_spam"));
}

TEST(ParserTest, RuleItemsInAnyOrder) {
  Parsed p = Parse(R"(rule r {
    reason "why"
    score 2
    tags a
    then flag
    mode enforce
    when sensitive
  })");
  EXPECT_THAT(p.diagnostics, IsEmpty());
  ASSERT_THAT(p.ast.rules, SizeIs(1));
  EXPECT_EQ(p.ast.rules[0].reason, "why");
  EXPECT_EQ(p.ast.rules[0].action, Action::kFlag);
  EXPECT_FALSE(p.ast.rules[0].monitor);
  EXPECT_EQ(Show(p.ast.rules[0].when.get()), "sensitive");
}

TEST(ParserTest, ReasonDefaultsToTitleThenId) {
  Parsed p = Parse(R"(
    rule a "The title" { when sensitive then flag }
    rule b { when sensitive then flag }
    rule c "T" { when sensitive then flag reason "R" })");
  EXPECT_THAT(p.diagnostics, IsEmpty());
  ASSERT_THAT(p.ast.rules, SizeIs(3));
  EXPECT_EQ(p.ast.rules[0].reason, "The title");
  EXPECT_EQ(p.ast.rules[1].reason, "b");
  EXPECT_EQ(p.ast.rules[2].reason, "R");
}

TEST(ParserTest, ScoreAloneEffectsAloneAndNoScore) {
  Parsed p = Parse(R"(
    rule a { when sensitive score 0.5 }
    rule b { when sensitive then mark_sensitive, followers_only }
    rule c { when sensitive then accept })");
  EXPECT_THAT(p.diagnostics, IsEmpty());
  ASSERT_THAT(p.ast.rules, SizeIs(3));
  EXPECT_EQ(p.ast.rules[0].action, Action::kNone);
  EXPECT_EQ(p.ast.rules[0].score_milli, 500);
  EXPECT_EQ(p.ast.rules[1].action, Action::kNone);
  EXPECT_EQ(p.ast.rules[1].effects, kMarkSensitive | kFollowersOnly);
  EXPECT_FALSE(p.ast.rules[2].has_score);
  EXPECT_EQ(p.ast.rules[2].score_milli, 0);
  EXPECT_EQ(p.ast.rules[2].action, Action::kAccept);
}

TEST(ParserTest, SemicolonsAreOptionalSeparators) {
  Parsed p = Parse("list a = [\"x\"]; rule r { when sensitive; then flag; };");
  EXPECT_THAT(p.diagnostics, IsEmpty());
  EXPECT_THAT(p.ast.rules, SizeIs(1));
}

TEST(ParserTest, RuleErrors) {
  Parsed p = Parse(R"(rule a { when sensitive then flag when reply }
rule b { then flag }
rule c { when sensitive tags x }
rule d { when sensitive then reject, flag }
rule e { when sensitive then rejct }
rule f { when sensitive then flag mode loud }
rule g { when sensitive then unlist, unlist }
rule h { when sensitive score 1.5 score 2 }
rule i { when sensitive score 2000000 }
rule j { whn sensitive then flag }
)");
  EXPECT_THAT(
      p.diagnostics,
      ElementsAre(
          "p.rules:1:35: error: duplicate 'when' in rule 'a' (first at line 1)",
          "p.rules:2:6: error: rule 'b' has no 'when'",
          "p.rules:3:6: error: rule 'c' needs 'then' or 'score'",
          "p.rules:4:38: error: a rule takes one action: 'flag' after 'reject'",
          "p.rules:5:30: error: unknown action or effect 'rejct' (actions: reject, flag, accept; "
          "effects: strip_media, mark_sensitive, unlist, followers_only) (did you mean "
          "'reject'?)",
          "p.rules:6:40: error: expected 'enforce' or 'monitor' after 'mode', got 'loud'",
          "p.rules:7:38: warning: effect 'unlist' given twice",
          "p.rules:8:35: error: duplicate 'score' in rule 'h' (first at line 8)",
          "p.rules:9:31: error: score 2000000 out of range (at most 1000000 either way)",
          "p.rules:10:10: error: expected when, then, score, tags, mode, reason or '}' in rule "
          "'j', got 'whn' (did you mean 'when'?)"));
  // Every rule is still recorded, so that its id resolves.
  EXPECT_THAT(p.ast.rules, SizeIs(10));
}

TEST(ParserTest, ScoreWithTooManyDecimals) {
  Parsed p = Parse("rule r { when sensitive score 1.2345 }");
  EXPECT_THAT(p.diagnostics,
              ElementsAre("p.rules:1:31: error: too many decimals in '1.2345': at most 3 "
                          "digits after the decimal point"));
}

TEST(ParserTest, MissingClosingBrace) {
  Parsed p = Parse("rule a {\n  when sensitive then flag\nrule b { when reply then flag }");
  EXPECT_THAT(p.diagnostics,
              ElementsAre("p.rules:3:1: error: missing '}' to close rule 'a' (opened at line 1)"));
  ASSERT_THAT(p.ast.rules, SizeIs(2));
  EXPECT_EQ(p.ast.rules[1].id, "b");
  Parsed eof = Parse("rule a { when sensitive then flag");
  EXPECT_THAT(eof.diagnostics,
              ElementsAre("p.rules:1:34: error: missing '}' to close rule 'a' (opened at line "
                          "1)"));
}

TEST(ParserTest, ReservedWordsCannotBeNames) {
  Parsed p = Parse(R"(list when = ["x"]
macro and = sensitive
rule contains { when sensitive then flag }
list a.b = ["x"]
)");
  EXPECT_THAT(p.diagnostics,
              ElementsAre("p.rules:1:6: error: 'when' is a reserved word and cannot be a list "
                          "name",
                          "p.rules:2:7: error: 'and' is a reserved word and cannot be a macro "
                          "name",
                          "p.rules:3:6: error: 'contains' is a reserved word and cannot be a "
                          "rule id",
                          "p.rules:4:6: error: 'a.b' cannot be a list name: names have no dots"));
  EXPECT_TRUE(IsReservedWord("rule"));
  EXPECT_TRUE(IsReservedWord("has_any"));
  EXPECT_TRUE(IsReservedWord("from"));
  EXPECT_FALSE(IsReservedWord("spam"));
  EXPECT_FALSE(IsReservedWord("flag"));
}

TEST(ParserTest, StatementErrors) {
  Parsed p = Parse(R"(lst a = ["x"]
list ok = ["z"]
when sensitive
list b ["x"]
list c = ["x" "y"]
list d = [1]
macro e sensitive
blocklist tier0.csv
blocklist "x" severity suspend severity silence
allowlist "y" severity suspend
threshold warn 5
threshold flag "5"
)");
  EXPECT_THAT(
      p.diagnostics,
      ElementsAre(
          "p.rules:1:1: error: expected a statement (list, macro, blocklist, allowlist, threshold, "
          "rule or test), got 'lst' (did you mean 'list'?)",
          "p.rules:3:1: error: expected a statement (list, macro, blocklist, allowlist, threshold, "
          "rule or test), got 'when' ('when' belongs inside a rule's { })",
          "p.rules:4:8: error: expected '=' or 'from' after 'list b', got '['",
          "p.rules:5:15: error: expected ',' or ']' in list 'c', got string \"y\"",
          "p.rules:6:11: error: expected a string in list 'd', got '1'",
          "p.rules:7:9: error: expected '=' after 'macro e', got 'sensitive'",
          "p.rules:8:11: error: expected a string (the file's path) after 'blocklist', got "
          "'tier0.csv'",
          "p.rules:9:32: error: 'severity' given twice",
          "p.rules:10:15: error: an allowlist has no severity (only its domains are read)",
          "p.rules:11:11: error: expected 'flag' or 'reject' after 'threshold', got 'warn'",
          "p.rules:12:16: error: expected a number after 'threshold', got string \"5\""));
}

// ------------------------------------------------------------------ expressions

TEST(ParserTest, Precedence) {
  EXPECT_EQ(When("not a.x and b.x or c.x"), "(or (and (not a.x) b.x) c.x)");
  EXPECT_EQ(When("a.x or b.x and c.x"), "(or a.x (and b.x c.x))");
  EXPECT_EQ(When("not mentions.count == 1"), "(not (== mentions.count 1))");
  EXPECT_EQ(When("not not sensitive"), "(not (not sensitive))");
  EXPECT_EQ(When("(a.x or b.x) and c.x"), "(and (or a.x b.x) c.x)");
  EXPECT_EQ(When("a.x and b.x and c.x or d.x or e.x"), "(or (and a.x b.x c.x) d.x e.x)");
  EXPECT_EQ(When("not (sensitive or reply)"), "(not (or sensitive reply))");
}

TEST(ParserTest, EveryOperatorAndOperandKind) {
  EXPECT_EQ(When("type == \"Create\""), "(== type \"Create\")");
  EXPECT_EQ(When("type != \"Create\""), "(!= type \"Create\")");
  EXPECT_EQ(When("mentions.count < 1"), "(< mentions.count 1)");
  EXPECT_EQ(When("mentions.count <= 1.5"), "(<= mentions.count 1.5)");
  EXPECT_EQ(When("actor.age > 2d"), "(> actor.age 48h)");
  EXPECT_EQ(When("actor.age >= 30s"), "(>= actor.age 30s)");
  EXPECT_EQ(When("content ~ /fr[e3]{2}/i"), "(~ content /fr[e3]{2}/i)");
  EXPECT_EQ(When("content !~ /x/"), "(!~ content /x/)");
  EXPECT_EQ(When("content contains \"x\""), "(contains content \"x\")");
  EXPECT_EQ(When("content has \"x\""), "(has content \"x\")");
  EXPECT_EQ(When("content startswith \"x\""), "(startswith content \"x\")");
  EXPECT_EQ(When("content endswith \"x\""), "(endswith content \"x\")");
  EXPECT_EQ(When("content contains_any [\"a\", \"b\"]"), "(contains_any content [a,b])");
  EXPECT_EQ(When("content has_any words"), "(has_any content @words)");
  EXPECT_EQ(When("actor.domain in [\"a.example\"]"), "(in actor.domain [a.example])");
  EXPECT_EQ(When("sensitive == true"), "(== sensitive true)");
  EXPECT_EQ(When("sensitive != false"), "(!= sensitive false)");
  EXPECT_EQ(When("known(language)"), "(known language)");
  EXPECT_EQ(When("true"), "true");
  EXPECT_EQ(When("false or sensitive"), "(or false sensitive)");
  EXPECT_EQ(When("my_macro and actor.bot"), "(and $my_macro actor.bot)");
  EXPECT_EQ(When("actor.rate(10m) > 5"), "(> actor.rate(10m) 5)");
  EXPECT_EQ(When("content has \"\""), "(has content \"\")");
}

TEST(ParserTest, ComparisonsDoNotChain) {
  EXPECT_THAT(WhenErrors("mentions.count == 1 == 2"),
              ElementsAre("p.rules:1:35: error: comparisons do not chain: '==' after "
                          "'mentions.count == ...'; combine comparisons with 'and'"));
  EXPECT_THAT(WhenErrors("(mentions.count == 1) == true"),
              ElementsAre("p.rules:1:37: error: a condition in parentheses cannot be compared "
                          "with '==' (comparisons do not chain)"));
  EXPECT_THAT(WhenErrors("true == sensitive"),
              ElementsAre("p.rules:1:20: error: 'true' cannot be compared; put a field on the "
                          "left of '=='"));
  EXPECT_THAT(WhenErrors("5 < mentions.count"),
              ElementsAre("p.rules:1:15: error: expected a condition, got '5' (a comparison "
                          "starts with a field: content has \"x\")"));
}

TEST(ParserTest, ExpressionErrors) {
  EXPECT_THAT(WhenErrors("content haz \"x\""),
              ElementsAre("p.rules:1:23: error: expected an operator after 'content' (== != < "
                          "<= > >= ~ !~ contains has startswith endswith contains_any has_any "
                          "in), got 'haz' (did you mean 'has'?)"));
  EXPECT_THAT(WhenErrors("type = \"Create\""),
              ElementsAre(HasSubstr("1:20: error: expected an operator after 'type' (== != < "
                                    "<= > >= ~ !~ contains has startswith endswith "
                                    "contains_any has_any in), got '=' ('=' assigns; compare "
                                    "with '==')")));
  EXPECT_THAT(WhenErrors("sensitive and"),
              ElementsAre("p.rules:1:29: error: expected a condition, got 'then'"));
  EXPECT_THAT(WhenErrors("(sensitive"),
              ElementsAre("p.rules:1:26: error: expected ')' to close the '(' at 1:15, got "
                          "'then'"));
  EXPECT_THAT(WhenErrors("sensitive)"), ElementsAre("p.rules:1:24: error: unbalanced ')'"));
  EXPECT_THAT(WhenErrors("type == text"),
              ElementsAre("p.rules:1:23: error: expected a value after '==', got 'text' "
                          "(fields are compared with values, not with other fields)"));
  EXPECT_THAT(WhenErrors("sensitive reply == true"),
              ElementsAre("p.rules:1:25: error: expected an operator after 'sensitive' (== != "
                          "< <= > >= ~ !~ contains has startswith endswith contains_any has_any "
                          "in), got 'reply'"));
  EXPECT_THAT(WhenErrors("known(and)"),
              ElementsAre("p.rules:1:21: error: expected a field in known(...), got 'and'"));
  EXPECT_THAT(WhenErrors("actor.rate(10) > 5"),
              ElementsAre("p.rules:1:26: error: expected a duration window in 'actor.rate(...)', "
                          "e.g. 10m, got '10'"));
  EXPECT_THAT(WhenErrors("actor.rate(10m)"),
              ElementsAre("p.rules:1:15: error: 'actor.rate(...)' is a number: compare it, e.g. "
                          "actor.rate(10m) > 5"));
}

TEST(ParserTest, NestingDepthLimit) {
  FrontEndOptions options;
  options.max_nesting_depth = 8;
  std::string ok = std::string(8, '(') + "sensitive" + std::string(8, ')');
  EXPECT_THAT(Parse(Cat("rule r { when ", ok, " then flag }"), options).diagnostics, IsEmpty());
  std::string deep = std::string(9, '(') + "sensitive" + std::string(9, ')');
  EXPECT_THAT(Parse(Cat("rule r { when ", deep, " then flag }"), options).diagnostics,
              ElementsAre("p.rules:1:23: error: expression nested deeper than 8 levels of "
                          "parentheses and 'not' (max_nesting_depth)"));
  std::string nots;
  for (int i = 0; i < 8; ++i) nots += "not ";
  EXPECT_THAT(Parse(Cat("rule r { when ", nots, "sensitive then flag }"), options).diagnostics,
              IsEmpty());
  EXPECT_THAT(Parse(Cat("rule r { when not ", nots, "sensitive then flag }"), options).diagnostics,
              ElementsAre(HasSubstr("nested deeper than 8 levels")));
}

TEST(ParserTest, NestingRecordedOnNodes) {
  Parsed p = Parse("rule r { when (sensitive and not (reply)) then flag }");
  ASSERT_THAT(p.ast.rules, SizeIs(1));
  const Expr* e = p.ast.rules[0].when.get();
  ASSERT_EQ(e->kind, Expr::Kind::kAnd);
  EXPECT_EQ(e->nesting, 1u);
  EXPECT_EQ(e->children[1]->kind, Expr::Kind::kNot);
  EXPECT_EQ(e->children[1]->nesting, 1u);
  EXPECT_EQ(e->children[1]->children[0]->nesting, 3u);
}

TEST(ParserTest, HundredThousandParenthesesDoNotCrash) {
  std::string source =
      Cat("rule r { when ", std::string(100000, '('), "sensitive", std::string(100000, ')'),
          " then flag }\nrule s { when reply then flag }");
  Parsed p = Parse(source);
  EXPECT_THAT(p.diagnostics,
              ElementsAre("p.rules:1:79: error: expression nested deeper than 64 levels of "
                          "parentheses and 'not' (max_nesting_depth)"));
  ASSERT_THAT(p.ast.rules, SizeIs(2));
  EXPECT_EQ(p.ast.rules[1].id, "s");  // recovered
  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "not ";
  EXPECT_THAT(Parse(Cat("rule r { when ", nots, "sensitive then flag }")).diagnostics, SizeIs(1));
  EXPECT_THAT(Parse(std::string(100000, '(')).diagnostics, SizeIs(1));
  EXPECT_THAT(Parse(std::string(100000, '[')).diagnostics, SizeIs(1));
}

TEST(ParserTest, ListLiteralLimit) {
  FrontEndOptions options;
  options.max_list_items = 3;
  EXPECT_THAT(Parse("list a = [\"1\", \"2\", \"3\"]", options).diagnostics, IsEmpty());
  Parsed p = Parse("list a = [\"1\", \"2\", \"3\", \"4\", \"5\"]", options);
  EXPECT_THAT(p.diagnostics,
              ElementsAre("p.rules:1:26: error: list 'a' has more than 3 items (max_list_items)"));
  ASSERT_THAT(p.ast.lists, SizeIs(1));
  EXPECT_THAT(p.ast.lists[0].items, SizeIs(3));
  EXPECT_THAT(
      Parse("rule r { when content has_any [\"1\", \"2\", \"3\", \"4\"] then flag }", options)
          .diagnostics,
      ElementsAre("p.rules:1:47: error: a list has more than 3 items (max_list_items)"));
}

// ------------------------------------------------------------------ tests

TEST(ParserTest, TestBlockErrors) {
  Parsed p = Parse(R"(test "a" {
  frobnicate
  activity tests/a.json
  expect maybe
  with actor.age 1h
  expect effects loud
  expect reject by mention_spam
}
test missing_name { }
)");
  EXPECT_THAT(
      p.diagnostics,
      ElementsAre(
          "p.rules:2:3: error: expected activity, with, expect or '}' in a test, got "
          "'frobnicate'",
          "p.rules:3:12: error: expected a string (the activity file's path) after 'activity', "
          "got 'tests'",
          "p.rules:3:17: error: unterminated regex (a regex ends with '/' on its line)",
          "p.rules:4:10: error: expected accept, flag, reject, effects or not after 'expect', "
          "got 'maybe'",
          "p.rules:5:18: error: expected '=' after 'actor.age', got '1h'",
          "p.rules:6:18: error: expected an effect (strip_media, mark_sensitive, unlist, "
          "followers_only), got 'loud'",
          "p.rules:9:6: error: expected a string (the test's name) after 'test', got "
          "'missing_name'"));
  ASSERT_THAT(p.ast.tests, SizeIs(1));
  ASSERT_THAT(p.ast.tests[0].expectations, SizeIs(1));  // recovered to the last line
  EXPECT_THAT(p.ast.tests[0].expectations[0].rules, ElementsAre("mention_spam"));
}

// ------------------------------------------------------------------ recovery

TEST(ParserTest, EveryErrorInAFileIsReported) {
  Parsed p = Parse(R"(rule a { when content has then flag }
rule b { when sensitive then flog }
list c = ["x" "y"]
rule d { when (reply then flag }
rule e { when reply then flag }
)");
  EXPECT_THAT(p.diagnostics,
              ElementsAre("p.rules:1:27: error: expected a value after 'has', got 'then'",
                          "p.rules:2:30: error: unknown action or effect 'flog' (actions: reject, "
                          "flag, accept; effects: strip_media, mark_sensitive, unlist, "
                          "followers_only) (did you mean 'flag'?)",
                          "p.rules:3:15: error: expected ',' or ']' in list 'c', got string "
                          "\"y\"",
                          "p.rules:4:22: error: expected ')' to close the '(' at 4:15, got "
                          "'then'"));
  ASSERT_THAT(p.ast.rules, SizeIs(4));
  // After the error in its `when`, rule a's `then` was still read (no cascade).
  EXPECT_EQ(p.ast.rules[0].action, Action::kFlag);
  EXPECT_EQ(p.ast.rules[3].id, "e");
  EXPECT_NE(p.ast.rules[3].when, nullptr);
}

TEST(ParserTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(4242);
  const std::vector<std::string> pieces = {
      "rule",   "r",     "{",    "}",       "when",  "then",
      "flag",   "(",     ")",    "not",     "and",   "or",
      "==",     "\"s\"", "5",    "2d",      "/x/",   "[",
      "]",      ",",     "list", "=",       "macro", "test",
      "expect", "with",  "\n",   "content", "has",   "mentions.count",
      ">",      "known", "@",    "\xFF",    "#c\n",  ";"};
  for (int round = 0; round < 300; ++round) {
    std::string source;
    size_t n = rng() % 200;
    for (size_t i = 0; i < n; ++i) {
      if (rng() % 8 == 0) {
        source.push_back(static_cast<char>(rng() & 0xFF));
      } else {
        source += pieces[rng() % pieces.size()];
        source.push_back(' ');
      }
    }
    Parsed p = Parse(source);
    (void)p;
  }
  // Pure random bytes: errors, no crash.
  for (int round = 0; round < 100; ++round) {
    std::string garbage(1 + rng() % 1000, '\0');
    for (char& c : garbage) c = static_cast<char>(rng() & 0xFF);
    Parsed p = Parse(garbage);
    EXPECT_THAT(p.diagnostics, ::testing::Not(IsEmpty()));
  }
}

TEST(ParserTest, EditDistance) {
  EXPECT_EQ(EditDistance("mentions.cnt", "mentions.count", 3), 2u);
  EXPECT_EQ(EditDistance("abc", "abc", 3), 0u);
  EXPECT_EQ(EditDistance("", "abc", 3), 3u);
  EXPECT_EQ(EditDistance("abcdef", "x", 2), 3u);   // capped
  EXPECT_EQ(EditDistance("spma", "spam", 3), 1u);  // a transposition
}

}  // namespace
}  // namespace fedwall::lang
