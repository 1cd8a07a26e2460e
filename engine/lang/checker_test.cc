#include "engine/lang/checker.h"

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/lang/lang_test_util.h"
#include "engine/lang/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::lang {
namespace {

using ::fedwall::lang::testing::CheckFiles;
using ::fedwall::lang::testing::CheckSource;
using ::fedwall::lang::testing::DataFiles;
using ::fedwall::lang::testing::Diags;
using ::fedwall::lang::testing::Errors;
using ::fedwall::lang::testing::Warnings;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A rule around `condition`, with nothing else in the file.
FrontEndResult CheckWhen(const std::string& condition, DataFiles data = {},
                         const FrontEndOptions& options = {}) {
  return CheckSource(Cat("rule r { when ", condition, " then flag }"), std::move(data), options);
}

// The column where a condition passed to CheckWhen starts.
constexpr int kWhenColumn = 15;

// ------------------------------------------------------------------ names

TEST(CheckerTest, ValidPolicyHasNoDiagnostics) {
  FrontEndResult r = CheckSource(R"(
rule mention_spam "Mass mentions from a brand-new account" {
  when  type == "Create" and mentions.count >= 5 and new_account and actor.followers < 3
  then  reject
  tags  spam, mentions
}
macro new_account = actor.age < 2d
list crypto_words = ["free crypto", "airdrop"]
rule crypto { when text has_any crypto_words and not actor.followed then flag, unlist score 2.5 }
threshold flag 5
threshold reject 10
test "mass mention" {
  activity "../tests/mention-spam.json"
  with actor.age = 1h, actor.followers = 0
  expect reject by mention_spam
  expect not crypto
}
)",
                                 {{"tests/mention-spam.json", "{}"}});
  EXPECT_THAT(Diags(r), IsEmpty());
  ASSERT_THAT(r.ast.rules, SizeIs(2));
  // Resolution results.
  const Expr& when = *r.ast.rules[0].when;
  ASSERT_EQ(when.kind, Expr::Kind::kAnd);
  ASSERT_NE(when.children[0]->field_def, nullptr);
  EXPECT_EQ(when.children[0]->field_def->name, "type");
  EXPECT_EQ(when.children[2]->kind, Expr::Kind::kMacroRef);
  EXPECT_EQ(when.children[2]->macro, &r.ast.macros[0]);
  const Expr& crypto = *r.ast.rules[1].when->children[0];
  EXPECT_EQ(crypto.rhs.kind, Operand::Kind::kListRef);
  EXPECT_THAT(crypto.rhs.items, ElementsAre("free crypto", "airdrop"));
  EXPECT_TRUE(r.ast.lists[0].used);
  EXPECT_TRUE(r.ast.macros[0].used);
  EXPECT_EQ(r.ast.rules[1].score_milli, 2500);
  ASSERT_THAT(r.ast.tests, SizeIs(1));
  EXPECT_THAT(r.ast.tests[0].resolved_activities, ElementsAre("tests/mention-spam.json"));
}

TEST(CheckerTest, DuplicateNamesAcrossKindsAndFiles) {
  FrontEndResult r = CheckFiles(
      {{"a.rules", "list spam = [\"x\"]\nrule r { when content has_any spam then flag }\n"},
       {"b/c.rules",
        "macro spam = sensitive\nrule r { when sensitive then flag }\nlist text = [\"y\"]\n"
        "macro type = reply\n"}});
  EXPECT_THAT(Errors(r),
              ElementsAre("b/c.rules:1:7: error: duplicate name 'spam': already defined as a "
                          "list at a.rules:1 (lists, macros and rules share one namespace)",
                          "b/c.rules:2:6: error: duplicate name 'r': already defined as a rule at "
                          "a.rules:2 (lists, macros and rules share one namespace)",
                          "b/c.rules:3:6: error: 'text' is a field name and cannot name a list",
                          "b/c.rules:4:7: error: 'type' is a field name and cannot name a macro"));
}

TEST(CheckerTest, UseBeforeDefinition) {
  FrontEndResult r = CheckSource(
      "rule r { when m and content has_any l then flag }\nmacro m = sensitive\nlist l = [\"a\"]");
  EXPECT_THAT(Diags(r), IsEmpty());
}

TEST(CheckerTest, UnknownFieldWithSuggestion) {
  FrontEndResult r = CheckSource(
      "\nrule r {\n  when mentions.cnt >= 5 and actr.age < 1d\n"
      "  then flag\n}");
  EXPECT_THAT(Errors(r), ElementsAre("rules/main.rules:3:8: error: unknown field 'mentions.cnt' "
                                     "(did you mean 'mentions.count'?)",
                                     "rules/main.rules:3:30: error: unknown field 'actr.age' (did "
                                     "you mean 'actor.age'?)"));
  EXPECT_THAT(Errors(CheckWhen("zzz.qqq == 1")),
              ElementsAre("rules/main.rules:1:15: error: unknown field 'zzz.qqq'"));
}

TEST(CheckerTest, CountersTakeAWindowFromOneSecondToAWeek) {
  EXPECT_THAT(Errors(CheckWhen("actor.rate(10m) > 5 and text.seen(1h) >= 5 and "
                               "text.similar(1w) > 2 and actor.domain.rate(1s) > 100 and "
                               "text.seen_domains(7d) > 3 and known(text.seen(2h))")),
              ElementsAre());
  EXPECT_THAT(Errors(CheckWhen("actor.rate > 5")),
              ElementsAre("rules/main.rules:1:15: error: 'actor.rate' is a counter: give it a "
                          "window, e.g. actor.rate(1h)"));
  EXPECT_THAT(Errors(CheckWhen("actor.rate(8d) > 5")),
              ElementsAre("rules/main.rules:1:15: error: the window of 'actor.rate' must be from "
                          "1s to 7d (1w), got 192h"));
  EXPECT_THAT(Errors(CheckWhen("mentions.count(1h) > 5")),
              ElementsAre("rules/main.rules:1:15: error: 'mentions.count' takes no window: only "
                          "counters do (actor.rate, actor.domain.rate, text.seen, "
                          "text.seen_domains, text.similar)"));
  EXPECT_THAT(Errors(CheckWhen("text.seeen(1h) > 5")),
              ElementsAre("rules/main.rules:1:15: error: unknown counter 'text.seeen' (did you "
                          "mean 'text.seen'?)"));
  EXPECT_THAT(Errors(CheckWhen("text.seen(1h) has \"x\"")),
              ElementsAre(::testing::HasSubstr("text.seen")));
}

TEST(CheckerTest, UnknownAndMisusedNames) {
  FrontEndResult r = CheckSource(R"(list words = ["a"]
macro m = sensitive
rule r1 { when content has_any wrds then flag }
rule r2 { when words then flag }
rule r3 { when content has_any m then flag }
rule r4 { when r1 then flag }
rule r5 { when sensitve then flag }
rule r6 { when mm then flag }
)");
  EXPECT_THAT(
      Errors(r),
      ElementsAre("rules/main.rules:3:32: error: unknown list 'wrds' (did you mean 'words'?)",
                  "rules/main.rules:4:16: error: 'words' is a list, not a condition: use it "
                  "after in, contains_any or has_any",
                  "rules/main.rules:5:32: error: 'm' is a macro, not a list",
                  "rules/main.rules:6:16: error: 'r1' is a rule, not a macro: rules cannot be "
                  "used in conditions",
                  "rules/main.rules:7:16: error: unknown macro or field 'sensitve' (did you mean "
                  "'sensitive'?)",
                  "rules/main.rules:8:16: error: unknown macro or field 'mm' (did you mean "
                  "'m'?)"));
}

// ------------------------------------------------------------------ the operator table

struct TypeCase {
  const char* field;
  std::set<std::string> allowed;
};

// An operand of the right kind for `op` on `field`.
std::string OperandFor(const std::string& field, const std::string& op) {
  bool domain = field.find("domain") != std::string::npos;
  if (op == "~" || op == "!~") return "/x/";
  if (op == "in" || op == "contains_any" || op == "has_any") {
    return domain ? "[\"example.com\"]" : "[\"x\"]";
  }
  if (op == "contains" || op == "has" || op == "startswith" || op == "endswith") return "\"x\"";
  if (field == "mentions.count" || field == "recipients.count") return "5";
  if (field == "actor.age") return "1h";
  if (field == "sensitive") return "true";
  return domain ? "\"example.com\"" : "\"x\"";
}

TEST(CheckerTest, EveryOperatorWithEveryFieldType) {
  const std::vector<std::string> ops = {
      "==",       "!=",  "<",          ">",        "<=",           ">=",      "~", "!~",
      "contains", "has", "startswith", "endswith", "contains_any", "has_any", "in"};
  const std::set<std::string> text = {"==",       "!=",           "contains", "has", "startswith",
                                      "endswith", "contains_any", "has_any",  "in",  "~",
                                      "!~"};
  const std::set<std::string> keyword = {"==", "!=",         "in",       "~",
                                         "!~", "startswith", "endswith", "contains"};
  const std::set<std::string> domain = {"==", "!=", "in", "~", "!~"};
  const std::set<std::string> number = {"==", "!=", "<", "<=", ">", ">="};
  const std::set<std::string> boolean = {"==", "!="};
  const std::vector<TypeCase> cases = {
      {"content", text},          {"type", keyword},         {"actor.domain", domain},
      {"mentions.count", number}, {"actor.age", number},     {"sensitive", boolean},
      {"hashtags", keyword},      {"links.domains", domain}, {"actor.name", text},
      {"visibility", keyword},    {"origin.domain", domain}, {"recipients.count", number},
  };
  for (const TypeCase& c : cases) {
    for (const std::string& op : ops) {
      std::string condition = Cat(c.field, " ", op, " ", OperandFor(c.field, op));
      std::vector<std::string> errors = Errors(CheckWhen(condition));
      if (c.allowed.count(op) != 0) {
        EXPECT_THAT(errors, IsEmpty()) << condition;
      } else {
        EXPECT_THAT(errors,
                    ElementsAre(AllOf(HasSubstr(Cat("operator '", op, "' does not apply to ")),
                                      HasSubstr(c.field))))
            << condition;
      }
    }
  }
}

TEST(CheckerTest, OperatorNotForTypeMessage) {
  EXPECT_THAT(Errors(CheckWhen("type has \"Create\"")),
              ElementsAre("rules/main.rules:1:15: error: operator 'has' does not apply to "
                          "keyword field 'type' (keyword operators: == != in ~ !~ startswith "
                          "endswith contains); keywords are compared whole: use == or in"));
  EXPECT_THAT(Errors(CheckWhen("mentions.count contains \"1\"")),
              ElementsAre("rules/main.rules:1:15: error: operator 'contains' does not apply to "
                          "number field 'mentions.count' (number operators: == != < <= > >=)"));
}

TEST(CheckerTest, OperandKindErrors) {
  auto at = [](int column, const std::string& message) {
    return Cat("rules/main.rules:1:", column, ": error: ", message);
  };
  EXPECT_THAT(Errors(CheckWhen("actor.age < 5")),
              ElementsAre(at(27,
                             "type error: comparing duration field 'actor.age' with a "
                             "number; write a duration such as 30s, 5m, 2h, 7d or 2w")));
  EXPECT_THAT(Errors(CheckWhen("actor.followers > 2d")),
              ElementsAre(at(33,
                             "type error: comparing number field 'actor.followers' with a "
                             "duration")));
  EXPECT_THAT(Errors(CheckWhen("sensitive == \"yes\"")),
              ElementsAre(at(28,
                             "type error: '==' on bool field 'sensitive' needs true or "
                             "false, got a string")));
  EXPECT_THAT(Errors(CheckWhen("type == 5")),
              ElementsAre(at(23,
                             "type error: '==' on keyword field 'type' needs a string, got "
                             "a number")));
  EXPECT_THAT(Errors(CheckWhen("type == [\"Create\"]")),
              ElementsAre(at(23,
                             "type error: '==' on keyword field 'type' needs a string, got "
                             "a list (use in for a list)")));
  EXPECT_THAT(Errors(CheckWhen("content == /x/")),
              ElementsAre(at(26,
                             "type error: '==' on text field 'content' needs a string, got "
                             "a regex (use ~ for a regex)")));
  EXPECT_THAT(Errors(CheckWhen("content ~ \"x\"")),
              ElementsAre(at(25, "'~' needs a regex /.../, got a string")));
  EXPECT_THAT(Errors(CheckWhen("type in \"Create\"")),
              ElementsAre(at(23,
                             "'in' needs a list [...] or a list name, got a string (use == "
                             "for one value)")));
  EXPECT_THAT(Errors(CheckWhen("content has_any \"x\"")),
              ElementsAre(at(31,
                             "'has_any' needs a list [...] or a list name, got a string "
                             "(use has for one string)")));
  EXPECT_THAT(Errors(CheckWhen("content contains [\"x\"]")),
              ElementsAre(at(32,
                             "'contains' needs a string, got a list (use contains_any for "
                             "a list)")));
  EXPECT_THAT(Errors(CheckWhen("mentions.count == true")),
              ElementsAre(at(33,
                             "type error: '==' on number field 'mentions.count' needs a "
                             "number, got true or false")));
}

TEST(CheckerTest, BareFieldsAndKnown) {
  EXPECT_THAT(Errors(CheckWhen("sensitive and actor.bot and not reply")), IsEmpty());
  EXPECT_THAT(Errors(CheckWhen("content")),
              ElementsAre("rules/main.rules:1:15: error: 'content' is a text field, not a "
                          "condition: compare it, e.g. content has \"...\""));
  EXPECT_THAT(Errors(CheckWhen("mentions.count")),
              ElementsAre("rules/main.rules:1:15: error: 'mentions.count' is a number field, "
                          "not a condition: compare it, e.g. mentions.count > 0"));
  EXPECT_THAT(Errors(CheckWhen("known(language) and known(actor.age) and known(hashtags)")),
              IsEmpty());
  EXPECT_THAT(Errors(CheckWhen("known(langauge)")),
              ElementsAre("rules/main.rules:1:15: error: unknown field 'langauge' (did you mean "
                          "'language'?)"));
}

TEST(CheckerTest, DomainLiteralsMustBeValid) {
  EXPECT_THAT(Errors(CheckWhen("actor.domain == \"Bücher.Example.\" and origin.domain in "
                               "[\"*.spam.example\", \"xn--bcher-kva.example\"]")),
              IsEmpty());
  EXPECT_THAT(Errors(CheckWhen("actor.domain == \"not a domain\"")),
              ElementsAre(HasSubstr("rules/main.rules:1:31: error: invalid domain \"not a "
                                    "domain\" for 'actor.domain': ")));
  EXPECT_THAT(Errors(CheckWhen("links.domains in [\"ok.example\", \"bad domain\"]")),
              ElementsAre(HasSubstr("rules/main.rules:1:47: error: invalid domain \"bad "
                                    "domain\" for 'links.domains': ")));
  FrontEndResult r = CheckSource(
      "list d = [\"ok.example\", \"bad domain\"]\n"
      "rule r { when actor.domain in d then flag }\n"
      "rule s { when object.domain in d then flag }\n");
  EXPECT_THAT(Errors(r),
              ElementsAre(HasSubstr("rules/main.rules:2:31: error: list 'd' entry \"bad "
                                    "domain\" (rules/main.rules:1) is not a valid domain for "
                                    "'actor.domain': ")));
}

TEST(CheckerTest, Regexes) {
  EXPECT_THAT(Errors(CheckWhen("content ~ /fr[e3]{2}\\s+crypto/i and actor.domain ~ "
                               "/\\.example$/ and content ~ /[(?=x]/")),
              IsEmpty());
  EXPECT_THAT(Errors(CheckWhen("content ~ /a(b/")),
              ElementsAre("rules/main.rules:1:25: error: regex /a(b/: invalid regex: missing ): "
                          "a(b"));
  const std::string linear =
      "not supported: matching must stay linear-time (no backreferences or lookaround)";
  EXPECT_THAT(Errors(CheckWhen("content ~ /(a)\\1/")),
              ElementsAre(Cat("rules/main.rules:1:25: error: regex /(a)\\1/: ", linear)));
  EXPECT_THAT(Errors(CheckWhen("content ~ /a(?=b)/")), ElementsAre(HasSubstr(linear)));
  EXPECT_THAT(Errors(CheckWhen("content !~ /a(?!b)/")), ElementsAre(HasSubstr(linear)));
  EXPECT_THAT(Errors(CheckWhen("content ~ /(?<=a)b/")), ElementsAre(HasSubstr(linear)));
  EXPECT_THAT(Errors(CheckWhen("content ~ /(?<!a)b/i")), ElementsAre(HasSubstr(linear)));
  // Too much memory for RE2: its own message.
  FrontEndOptions small;
  small.max_regex_memory = 1 << 10;
  EXPECT_THAT(Errors(CheckWhen("content ~ /(abc|def){50}[a-z]{50}/", {}, small)),
              ElementsAre(HasSubstr("invalid regex: pattern too large")));
}

TEST(CheckerTest, EmptyPatternsMatchEverything) {
  EXPECT_THAT(Errors(CheckWhen("content has \"\"")),
              ElementsAre("rules/main.rules:1:27: error: empty string with 'has': it matches "
                          "everything"));
  EXPECT_THAT(Errors(CheckWhen("type contains \"\"")),
              ElementsAre(HasSubstr("empty string with 'contains': it matches everything")));
  EXPECT_THAT(Errors(CheckWhen("content contains \"\\u{200B}\"")),
              ElementsAre(HasSubstr("is empty once normalised")));
  EXPECT_THAT(Errors(CheckWhen("content has_any [\"a\", \"\"]")),
              ElementsAre("rules/main.rules:1:37: error: empty string with 'has_any': it matches "
                          "everything"));
  EXPECT_THAT(Errors(CheckSource("list l = [\"a\", \"\"]\nrule r { when text contains_any l "
                                 "then flag }")),
              ElementsAre("rules/main.rules:2:33: error: list 'l' has an empty entry "
                          "(rules/main.rules:1): with 'contains_any' it matches everything"));
  // Equality with "" is fine (an empty field).
  EXPECT_THAT(Errors(CheckWhen("summary == \"\" and type in [\"\"]")), IsEmpty());
}

TEST(CheckerTest, PatternLengthLimit) {
  FrontEndOptions options;
  options.max_pattern_bytes = 8;
  EXPECT_THAT(Errors(CheckWhen("content has \"12345678\" and content ~ /12345678/", {}, options)),
              IsEmpty());
  EXPECT_THAT(Errors(CheckWhen("content has \"123456789\"", {}, options)),
              ElementsAre("rules/main.rules:1:27: error: string longer than 8 bytes "
                          "(max_pattern_bytes)"));
  EXPECT_THAT(Errors(CheckWhen("content ~ /123456789/", {}, options)),
              ElementsAre("rules/main.rules:1:25: error: regex longer than 8 bytes "
                          "(max_pattern_bytes)"));
  FrontEndResult r = CheckSource(
      "list l = [\"123456789\"]\nrule r { when text has_any l then flag }", {}, options);
  EXPECT_THAT(Errors(r), ElementsAre("rules/main.rules:1:11: error: item longer than 8 bytes in "
                                     "list 'l' (max_pattern_bytes)"));
}

// ------------------------------------------------------------------ list files

TEST(CheckerTest, ListFromFile) {
  DataFiles data = {{"lists/tags.txt",
                     "\xEF\xBB\xBF# a comment\n#nsfw\n\n  spaced entry  \r\nbitcoin # the coin\n"
                     "c# tutorial\n#\nc#\n#nsfw\nlast"}};
  FrontEndResult r = CheckSource(
      "list tag_list from \"../lists/tags.txt\"\nrule r { when hashtags in tag_list then flag }",
      data);
  EXPECT_THAT(Diags(r), ElementsAre("lists/tags.txt:8:1: warning: duplicate entry \"c\" "
                                    "(first on line 6)",
                                    "lists/tags.txt:9:1: warning: duplicate entry \"#nsfw\" "
                                    "(first on line 2)"));
  ASSERT_THAT(r.ast.lists, SizeIs(1));
  const ListDecl& l = r.ast.lists[0];
  EXPECT_THAT(l.items,
              ElementsAre("#nsfw", "spaced entry", "bitcoin", "c", "last"));
  EXPECT_THAT(l.item_lines, ElementsAre(2, 4, 5, 6, 10));
  EXPECT_EQ(l.resolved_path, "lists/tags.txt");
  ASSERT_EQ(l.data_file, 0);
  ASSERT_THAT(r.ast.data_files, SizeIs(1));
  EXPECT_EQ(r.ast.data_files[0].path, "lists/tags.txt");
  EXPECT_EQ(r.ast.data_files[0].bytes, data["lists/tags.txt"]);
  // The rule's operand holds the items.
  EXPECT_THAT(r.ast.rules[0].when->rhs.items, SizeIs(5));
}

TEST(CheckerTest, ListFileReadOnceForTwoLists) {
  DataFiles data = {{"rules/w.txt", "a\nb\n"}};
  FrontEndResult r = CheckSource(
      "list a from \"w.txt\"\nlist b from \"./w.txt\"\n"
      "rule r { when content has_any a or content has_any b then flag }",
      data);
  EXPECT_THAT(Diags(r), IsEmpty());
  EXPECT_THAT(r.ast.data_files, SizeIs(1));
  EXPECT_EQ(r.ast.lists[0].data_file, 0);
  EXPECT_EQ(r.ast.lists[1].data_file, 0);
}

TEST(CheckerTest, ListFileErrors) {
  FrontEndOptions options;
  options.max_list_items = 2;
  options.max_pattern_bytes = 5;
  DataFiles data = {{"rules/bad.txt", "ok\n\xFF\xFE\ntoolong\nb\x1E\nb\nc\nd\n"}};
  FrontEndResult r = CheckSource(R"(list missing from "nope.txt"
list escape from "../../etc/passwd"
list absolute from "/etc/passwd"
list bad from "bad.txt"
rule r { when content has_any missing or content has_any escape or content has_any absolute or content has_any bad then flag }
)",
                                 data, options);
  EXPECT_THAT(Diags(r),
              ElementsAre("rules/main.rules:1:6: error: cannot read list file 'rules/nope.txt': "
                          "no such file",
                          "rules/main.rules:2:6: error: list 'escape': path '../../etc/passwd' "
                          "leaves the policy directory",
                          "rules/main.rules:3:6: error: list 'absolute': absolute path "
                          "'/etc/passwd': paths are relative to the rule file",
                          "rules/bad.txt:2:1: error: invalid UTF-8 in list entry",
                          "rules/bad.txt:3:1: error: entry longer than 5 bytes "
                          "(max_pattern_bytes)",
                          "rules/bad.txt:4:1: error: control character in list entry",
                          "rules/bad.txt:6:1: error: more than 2 entries in the list "
                          "(max_list_items)"));
  EXPECT_THAT(r.ast.lists[3].items, ElementsAre("ok", "b"));
}

TEST(CheckerTest, ListFileSizeLimit) {
  FrontEndOptions options;
  options.max_file_bytes = 100;
  const std::string source = "list a from \"a.txt\"\nrule r { when content has_any a then flag }";
  EXPECT_THAT(Diags(CheckSource(source, {{"rules/a.txt", std::string(99, 'x') + "\n"}}, options)),
              IsEmpty());
  EXPECT_THAT(Diags(CheckSource(source, {{"rules/a.txt", std::string(100, 'x') + "\n"}}, options)),
              ElementsAre("rules/main.rules:1:6: error: list file 'rules/a.txt' is larger than "
                          "100 bytes (max_file_bytes)"));
}

TEST(CheckerTest, ResolvePolicyPath) {
  EXPECT_EQ(*ResolvePolicyPath("main.rules", "lists/a.txt"), "lists/a.txt");
  EXPECT_EQ(*ResolvePolicyPath("rules/spam/x.rules", "../lists//./a.txt"), "rules/lists/a.txt");
  EXPECT_EQ(*ResolvePolicyPath("rules/x.rules", "../a.txt"), "a.txt");
  EXPECT_FALSE(ResolvePolicyPath("rules/x.rules", "../../a.txt").ok());
  EXPECT_FALSE(ResolvePolicyPath("x.rules", "/abs").ok());
  EXPECT_FALSE(ResolvePolicyPath("x.rules", "").ok());
  EXPECT_FALSE(ResolvePolicyPath("x.rules", "a/..").ok());
  EXPECT_FALSE(ResolvePolicyPath("x.rules", std::string("a\0b", 3)).ok());
}

// ------------------------------------------------------------------ blocklists

TEST(CheckerTest, Blocklists) {
  DataFiles data = {{"blocklists/tier0.csv", "#domain,#severity\nspam.example,suspend\n"},
                    {"blocklists/mine.txt", "bad.example\n"},
                    {"rules/friends.txt", "friend.example\n"}};
  FrontEndResult r = CheckSource(R"(blocklist "../blocklists/tier0.csv" format mastodon_csv
blocklist "../blocklists/mine.txt" severity silence
allowlist "friends.txt" format plain
)",
                                 data);
  EXPECT_THAT(Diags(r), IsEmpty());
  ASSERT_THAT(r.ast.blocklists, SizeIs(3));
  EXPECT_EQ(r.ast.blocklists[0].resolved_path, "blocklists/tier0.csv");
  EXPECT_EQ(r.ast.blocklists[1].resolved_path, "blocklists/mine.txt");
  EXPECT_EQ(r.ast.blocklists[2].resolved_path, "rules/friends.txt");
  EXPECT_EQ(r.ast.blocklists[1].data_file, 1);
  ASSERT_THAT(r.ast.data_files, SizeIs(3));
  EXPECT_EQ(r.ast.data_files[1].bytes, "bad.example\n");
}

TEST(CheckerTest, BlocklistErrors) {
  DataFiles data = {{"rules/a.csv", "x"}};
  FrontEndResult r = CheckSource(R"(blocklist "a.csv" format mastodon_cvs
blocklist "a.csv" format mastodon_csv severity silence
blocklist "a.csv" severity harsh
blocklist "missing.txt"
blocklist "a.csv" format detect severity noop
blocklist "../../x"
)",
                                 data);
  EXPECT_THAT(
      Diags(r),
      ElementsAre(
          "rules/main.rules:1:1: error: unknown blocklist format 'mastodon_cvs' (formats: detect, "
          "mastodon_csv, fediblockhole_csv, mastodon_api_json, gotosocial_json, rapidblock_json, "
          "plain) (did you mean 'mastodon_csv'?)",
          "rules/main.rules:2:1: error: severity applies only to plain and gotosocial_json "
          "blocklists; mastodon_csv gives each entry its own severity",
          "rules/main.rules:2:1: warning: blocklist 'rules/a.csv' is named twice (first at "
          "rules/main.rules:1)",
          "rules/main.rules:3:1: error: unknown severity 'harsh' (severities: suspend, silence, "
          "limit, noop)",
          "rules/main.rules:3:1: warning: blocklist 'rules/a.csv' is named twice (first at "
          "rules/main.rules:1)",
          "rules/main.rules:4:1: error: cannot read blocklist 'rules/missing.txt': no such file",
          "rules/main.rules:5:1: warning: blocklist 'rules/a.csv' is named twice (first at "
          "rules/main.rules:1)",
          "rules/main.rules:6:1: error: blocklist \"../../x\": path '../../x' leaves the policy "
          "directory"));
  EXPECT_THAT(r.ast.data_files, SizeIs(1));
}

TEST(CheckerTest, BlocklistSizeLimit) {
  FrontEndOptions options;
  options.max_blocklist_bytes = 20;
  const std::string source = "blocklist \"b.txt\"";
  EXPECT_THAT(Diags(CheckSource(source, {{"rules/b.txt", std::string(20, 'x')}}, options)),
              IsEmpty());
  EXPECT_THAT(Diags(CheckSource(source, {{"rules/b.txt", std::string(21, 'x')}}, options)),
              ElementsAre("rules/main.rules:1:1: error: blocklist 'rules/b.txt' is larger than "
                          "20 bytes (max_blocklist_bytes)"));
}

TEST(CheckerTest, DataFilesCountTowardsTotalBytes) {
  FrontEndOptions options;
  options.max_total_bytes = 60;
  const std::string source = "blocklist \"b.txt\"\nblocklist \"c.txt\"";  // 35 bytes
  EXPECT_THAT(Diags(CheckSource(source,
                                {{"rules/b.txt", "x.example\n"},        // 10 bytes
                                 {"rules/c.txt", "long.y.example\n"}},  // 15: at 60
                                options)),
              IsEmpty());
  EXPECT_THAT(
      Diags(CheckSource(
          source, {{"rules/b.txt", "x.example\n"}, {"rules/c.txt", "long.yy.example\n"}}, options)),
      ElementsAre("rules/main.rules:2:1: error: reading blocklist 'rules/c.txt' goes past "
                  "60 bytes read in all (max_total_bytes)"));
}

// ------------------------------------------------------------------ macros

TEST(CheckerTest, RecursiveMacros) {
  FrontEndResult r = CheckSource(R"(macro a = sensitive and a
macro b = reply or c
macro c = not d
macro d = b
rule r { when a or b then flag }
)");
  EXPECT_THAT(Errors(r), ElementsAre("rules/main.rules:1:7: error: macro 'a' refers to itself",
                                     "rules/main.rules:2:7: error: macro 'b' is recursive: b -> c "
                                     "-> d -> b"));
}

TEST(CheckerTest, MacroExpansionDepthLimit) {
  FrontEndOptions options;
  options.max_nesting_depth = 4;
  // Each macro reference adds one level: using m3 is 3 deep, so `not (m3)` is 5 deep.
  std::string base = "macro m1 = sensitive\nmacro m2 = m1\nmacro m3 = m2\n";
  EXPECT_THAT(Errors(CheckSource(Cat(base, "rule r { when not m3 then flag }"), {}, options)),
              IsEmpty());
  EXPECT_THAT(Errors(CheckSource(Cat(base, "rule r { when not (m3) then flag }"), {}, options)),
              ElementsAre("rules/main.rules:4:6: error: the condition of rule 'r' nests deeper "
                          "than 4 levels once its macros are expanded (max_nesting_depth)"));
  std::string chain;
  for (int i = 1; i <= 6; ++i)
    Append(&chain, "macro m", i, " = ", i == 1 ? "sensitive" : Cat("m", i - 1), "\n");
  EXPECT_THAT(Errors(CheckSource(Cat(chain, "rule r { when m6 then flag }"), {}, options)),
              ElementsAre("rules/main.rules:6:7: error: macro 'm6' nests deeper than 4 levels "
                          "once the macros it uses are expanded (max_nesting_depth)"));
}

TEST(CheckerTest, LongMacroChainDoesNotRecurseDeeply) {
  std::string source;
  for (int i = 1; i <= 20000; ++i) {
    Append(&source, "macro m", i, " = ", i == 1 ? std::string("sensitive") : Cat("m", i - 1), "\n");
  }
  Append(&source, "macro m1x = m20000\nrule r { when m20000 then flag }\n");
  FrontEndResult r = CheckSource(source);
  EXPECT_THAT(Errors(r), ElementsAre(HasSubstr("macro 'm66' nests deeper than 64 levels")));
}

// ------------------------------------------------------------------ warnings

TEST(CheckerTest, UnusedListsAndMacros) {
  FrontEndResult r = CheckSource(R"(list used = ["a"]
list unused = ["b"]
macro helper = content has_any used
macro lonely = reply and inner
macro inner = sensitive
rule r { when helper then flag }
)");
  EXPECT_THAT(Warnings(r),
              ElementsAre("rules/main.rules:2:6: warning: list 'unused' is never used",
                          "rules/main.rules:4:7: warning: macro 'lonely' is never used by a rule",
                          "rules/main.rules:5:7: warning: macro 'inner' is never used by a rule"));
  EXPECT_TRUE(r.ast.lists[0].used);
  EXPECT_FALSE(r.ast.lists[1].used);
  EXPECT_TRUE(r.ast.macros[0].used);
  EXPECT_FALSE(r.ast.macros[2].used);
}

TEST(CheckerTest, NoUnusedWarningsAfterSyntaxErrors) {
  FrontEndResult r =
      CheckSource("list l = [\"a\"]\nrule r { when content has_any l and ( then flag }");
  EXPECT_THAT(Warnings(r), IsEmpty());
  EXPECT_THAT(Errors(r), SizeIs(1));
}

TEST(CheckerTest, DuplicateListItems) {
  FrontEndResult r = CheckSource(R"(list l = ["a", "b",
  "a"]
rule r { when content has_any l or type in ["x", "y", "x"] then flag }
)");
  EXPECT_THAT(Warnings(r),
              ElementsAre("rules/main.rules:2:3: warning: duplicate item \"a\" in list 'l' (first "
                          "on line 1)",
                          "rules/main.rules:3:55: warning: duplicate item \"x\" in list (first at "
                          "line 3:45)"));
}

TEST(CheckerTest, RulesThatCanNeverFire) {
  FrontEndResult r = CheckSource(R"(macro never = false
rule a { when false then flag }
rule b { when sensitive and not sensitive then flag }
rule c { when type == "Create" and type == "Follow" then flag }
rule d { when mentions.count > 5 and mentions.count < 3 then flag }
rule e { when never and reply then flag }
rule f { when not true then flag }
rule g { when actor.age >= 2d and (reply and actor.age < 1d) then flag }
rule h { when type == "Create" and type != "Create" then flag }
rule i { when sensitive == true and sensitive == false then flag }
rule j { when (false or not true) and reply then flag }
rule k { when actor.domain == "Example.COM" and not actor.domain == "example.com." then flag }
)");
  EXPECT_THAT(
      Warnings(r),
      ElementsAre(
          "rules/main.rules:2:6: warning: rule 'a' can never fire: its condition is always false",
          "rules/main.rules:3:6: warning: rule 'b' can never fire: its condition contradicts "
          "itself",
          "rules/main.rules:4:6: warning: rule 'c' can never fire: its condition contradicts "
          "itself",
          "rules/main.rules:5:6: warning: rule 'd' can never fire: its condition contradicts "
          "itself",
          "rules/main.rules:6:6: warning: rule 'e' can never fire: its condition is always false",
          "rules/main.rules:7:6: warning: rule 'f' can never fire: its condition is always false",
          "rules/main.rules:8:6: warning: rule 'g' can never fire: its condition contradicts "
          "itself",
          "rules/main.rules:9:6: warning: rule 'h' can never fire: its condition contradicts "
          "itself",
          "rules/main.rules:10:6: warning: rule 'i' can never fire: its condition contradicts "
          "itself",
          "rules/main.rules:11:6: warning: rule 'j' can never fire: its condition is always "
          "false",
          "rules/main.rules:12:6: warning: rule 'k' can never fire: its condition contradicts "
          "itself"));
}

TEST(CheckerTest, RulesThatCanFireAreNotWarned) {
  FrontEndResult r = CheckSource(R"(
rule a { when hashtags == "a" and hashtags == "b" then flag }
rule b { when mentions.count >= 5 and mentions.count <= 5 then flag }
rule c { when true then flag }
rule d { when false or sensitive then flag }
rule e { when not (sensitive and not sensitive) then flag }
rule f { when type == "Create" or type == "Follow" then flag }
rule g { when content has "a" and content has "b" then flag }
)");
  EXPECT_THAT(Warnings(r), IsEmpty());
}

TEST(CheckerTest, DuplicatePatternsWithinOneRule) {
  FrontEndResult r = CheckSource(R"(rule r {
  when content has "free" or content has "FREE" or content has "free"
    or content ~ /x/i or content ~ /x/ or content ~ /x/i or text has "free"
  then flag
}
rule s { when content has "free" then flag })");
  EXPECT_THAT(Warnings(r),
              ElementsAre("rules/main.rules:2:52: warning: duplicate pattern in rule 'r': content "
                          "has \"free\" (first at line 2)",
                          "rules/main.rules:3:43: warning: duplicate pattern in rule 'r': content "
                          "~ /x/i (first at line 3)"));
}

// ------------------------------------------------------------------ thresholds

TEST(CheckerTest, Thresholds) {
  EXPECT_THAT(Diags(CheckSource("threshold flag 5\nthreshold reject 5")), IsEmpty());
  EXPECT_THAT(
      Errors(CheckSource("threshold flag 12\nthreshold reject 10.5\nthreshold flag 3\n"
                         "threshold reject 0\nthreshold flag -1")),
      ElementsAre("rules/main.rules:1:1: error: threshold flag 12 is above threshold reject 10.5 "
                  "(flag must be at most reject)",
                  "rules/main.rules:3:1: error: more than one 'threshold flag' (first at "
                  "rules/main.rules:1)",
                  "rules/main.rules:4:1: error: threshold reject must be positive, got 0",
                  "rules/main.rules:4:1: error: more than one 'threshold reject' (first at "
                  "rules/main.rules:2)",
                  "rules/main.rules:5:1: error: threshold flag must be positive, got -1",
                  "rules/main.rules:5:1: error: more than one 'threshold flag' (first at "
                  "rules/main.rules:1)"));
}

// ------------------------------------------------------------------ tests

TEST(CheckerTest, TestBlocks) {
  FrontEndResult r = CheckSource(R"(list l = ["x"]
rule spam { when content has_any l then flag }
test "one" {
  activity "../tests/a.json"
  with actor.age = 1h, origin.domain = "Example.COM", origin.signed = true, actor.name = "x"
  expect flag by spam
  expect effects unlist
}
test "two" {
  activity "../../escape.json"
  with content = "x", actor.age = 5, actor.followers = 1.5, actor.posts = -1, received_at = "yesterday"
  with origin.domain = "bad domain", actor.age = 1h, actor.age = 2h, actor.foolowers = 1
  expect reject by spma, l
  expect flag
  expect not nobody
}
test "one" {
}
test "three" { activity "../tests/missing.json" expect accept }
)",
                                 {{"tests/a.json", "{}"}});
  EXPECT_THAT(
      Diags(r),
      ElementsAre(
          "rules/main.rules:10:12: error: activity \"../../escape.json\": path "
          "'../../escape.json' leaves the policy directory",
          "rules/main.rules:11:8: error: 'content' is read from the activity, not a request fact; "
          "`with` sets: actor.age, actor.followers, actor.following, actor.posts, actor.bot, "
          "actor.followed, actor.name, actor.bio, origin.domain, origin.ip, origin.signed, "
          "received_at",
          "rules/main.rules:11:35: error: 'actor.age' needs a duration, got a number",
          "rules/main.rules:11:56: error: 'actor.followers' is a count: a whole number >= 0",
          "rules/main.rules:11:75: error: 'actor.posts' is a count: a whole number >= 0",
          "rules/main.rules:11:93: error: received_at \"yesterday\" is not an RFC 3339 time such "
          "as \"2024-02-15T12:00:00Z\"",
          ::testing::StartsWith("rules/main.rules:12:24: error: invalid domain \"bad domain\": "),
          "rules/main.rules:12:38: error: fact 'actor.age' set twice (first on line 11)",
          "rules/main.rules:12:54: error: fact 'actor.age' set twice (first on line 11)",
          "rules/main.rules:12:70: error: 'actor.foolowers' is not a request fact (did you mean "
          "'actor.followers'?); `with` sets: actor.age, actor.followers, actor.following, "
          "actor.posts, actor.bot, actor.followed, actor.name, actor.bio, origin.domain, "
          "origin.ip, origin.signed, received_at",
          "rules/main.rules:13:3: error: unknown rule 'spma' (did you mean 'spam'?)",
          "rules/main.rules:13:3: error: 'l' is a list, not a rule",
          "rules/main.rules:14:3: error: more than one expected verdict in test \"two\" (first at "
          "line 13)",
          "rules/main.rules:15:3: error: unknown rule 'nobody'",
          "rules/main.rules:17:6: warning: duplicate test name \"one\" (first at "
          "rules/main.rules:3)",
          "rules/main.rules:17:6: error: test \"one\" has no activity",
          "rules/main.rules:17:6: warning: test \"one\" expects nothing (add expect "
          "accept|flag|reject, expect effects or expect not)",
          "rules/main.rules:19:25: warning: cannot read activity 'tests/missing.json': no such "
          "file (the test will fail)"));
  ASSERT_THAT(r.ast.tests, SizeIs(4));
  EXPECT_THAT(r.ast.tests[0].resolved_activities, ElementsAre("tests/a.json"));
}

// ------------------------------------------------------------------ limits and diagnostics

TEST(CheckerTest, MaxRules) {
  FrontEndOptions options;
  options.max_rules = 2;
  std::string two = "rule a { when sensitive then flag }\nrule b { when reply then flag }\n";
  EXPECT_THAT(Diags(CheckSource(two, {}, options)), IsEmpty());
  EXPECT_THAT(Diags(CheckSource(Cat(two, "rule c { when quote then flag }"), {}, options)),
              ElementsAre("rules/main.rules:3:6: error: more than 2 rules in the policy "
                          "(max_rules)"));
}

TEST(CheckerTest, MaxTotalListItems) {
  FrontEndOptions options;
  options.max_total_list_items = 4;
  std::string lists = "list l = [\"a\", \"b\"]\n";
  EXPECT_THAT(Diags(CheckSource(Cat(lists,
                                    "rule r { when content has_any l or text has_any l "
                                    "then flag }"),
                                {}, options)),
              IsEmpty());
  EXPECT_THAT(Diags(CheckSource(Cat(lists,
                                    "rule r { when content has_any l or text has_any l "
                                    "or name has_any l then flag }"),
                                {}, options)),
              ElementsAre("rules/main.rules:2:67: error: more than 4 list items over every use "
                          "of a list (max_total_list_items)"));
}

TEST(CheckerTest, MaxFilesAndBytes) {
  FrontEndOptions options;
  options.max_files = 2;
  options.max_file_bytes = 40;
  options.max_total_bytes = 70;
  std::string rule = "rule a { when sensitive then flag }";  // 35 bytes
  EXPECT_THAT(Diags(CheckFiles({{"a.rules", rule}}, {}, options)), IsEmpty());
  EXPECT_THAT(Diags(CheckFiles({{"a.rules", rule},
                                {"b.rules", "rule b { when reply then flag }"},
                                {"c.rules", "rule c { when quote then flag }"}},
                               {}, options)),
              ElementsAre(".: error: more than 2 rule files in the policy (max_files)"));
  EXPECT_THAT(Diags(CheckFiles({{"a.rules", rule + std::string(6, ' ')}}, {}, options)),
              ElementsAre("a.rules: error: file larger than 40 bytes (max_file_bytes)"));
  EXPECT_THAT(Diags(CheckFiles({{"a.rules", rule},
                                {"b.rules",
                                 "rule b { when reply then flag }  "
                                 "      "}},
                               {}, options)),
              ElementsAre("b.rules: error: the policy's files are larger than 70 bytes in all "
                          "(max_total_bytes)"));
}

TEST(CheckerTest, MaxDiagnostics) {
  FrontEndOptions options;
  options.max_diagnostics = 3;
  std::string source;
  for (int i = 0; i < 10; ++i) Append(&source, "rule r", i, " { when nope", i, " then flag }\n");
  FrontEndResult r = CheckSource(source, {}, options);
  EXPECT_THAT(Diags(r), ElementsAre(HasSubstr("unknown macro or field 'nope0'"),
                                    HasSubstr("unknown macro or field 'nope1'"),
                                    HasSubstr("unknown macro or field 'nope2'"),
                                    ".: error: 7 more diagnostics not shown (max_diagnostics is "
                                    "3)"));
}

TEST(CheckerTest, DiagnosticsAreInFileOrder) {
  FrontEndResult r = CheckFiles({{"a.rules", "rule a { when nope then flag }\nlist u = [\"x\"]"},
                                 {"b.rules", "rule b { when bogus.field then flag }"}});
  EXPECT_THAT(Diags(r), ElementsAre("a.rules:1:15: error: unknown macro or field 'nope'",
                                    "a.rules:2:6: warning: list 'u' is never used",
                                    "b.rules:1:15: error: unknown field 'bogus.field'"));
}

TEST(CheckerTest, InvalidUtf8InAStringIsReportedOnce) {
  FrontEndResult r = CheckWhen("content has \"fr\xC3\x28\"");
  EXPECT_THAT(Errors(r), ElementsAre("rules/main.rules:1:30: error: invalid UTF-8 in string"));
}

TEST(CheckerTest, RandomTokenSoupNeverCrashes) {
  std::mt19937 rng(777);
  const std::vector<std::string> pieces = {"rule",      "r",
                                           "s",         "{",
                                           "}",         "when",
                                           "then",      "flag",
                                           "reject",    "score",
                                           "(",         ")",
                                           "not",       "and",
                                           "or",        "==",
                                           "!=",        "<",
                                           "~",         "\"s\"",
                                           "\"\"",      "5",
                                           "-1.5",      "2d",
                                           "/x/",       "/(a)\\1/",
                                           "[",         "]",
                                           ",",         "list",
                                           "l",         "=",
                                           "macro",     "m",
                                           "test",      "\"t\"",
                                           "expect",    "by",
                                           "with",      "activity",
                                           "\n",        "content",
                                           "has",       "has_any",
                                           "in",        "mentions.count",
                                           "actor.age", "actor.domain",
                                           "sensitive", "known",
                                           "threshold", "blocklist",
                                           "from",      "format",
                                           "severity",  "plain",
                                           "\"a.txt\"", "effects",
                                           "unlist",    ";",
                                           "true",      "false"};
  for (int round = 0; round < 400; ++round) {
    std::string source;
    size_t n = rng() % 120;
    for (size_t i = 0; i < n; ++i) {
      source += pieces[rng() % pieces.size()];
      source.push_back(' ');
    }
    FrontEndResult r = CheckSource(source, {{"rules/a.txt", "x\ny\n"}});
    for (const Diagnostic& d : r.diagnostics) EXPECT_FALSE(d.message.empty());
  }
}

}  // namespace
}  // namespace fedwall::lang
