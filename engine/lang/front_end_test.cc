#include "engine/lang/front_end.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/lang/lang_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::lang {
namespace {

namespace fs = std::filesystem;
using ::fedwall::lang::testing::Diags;
using ::fedwall::lang::testing::Errors;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const fs::path kFixtures = fs::path(FEDWALL_SOURCE_DIR) / "tests/fixtures/policies";

// A fresh, empty directory under the test's temporary directory.
class TempPolicy {
 public:
  explicit TempPolicy(const std::string& name) {
    root_ = fs::path(::testing::TempDir()) / ("fedwall_lang_" + name);
    fs::remove_all(root_);
    fs::create_directories(root_ / "policy");
  }
  ~TempPolicy() { fs::remove_all(root_); }

  fs::path dir() const { return root_ / "policy"; }
  fs::path outside() const { return root_; }

  void Write(const std::string& rel, const std::string& bytes, bool inside = true) const {
    fs::path p = (inside ? dir() : outside()) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
  }

 private:
  fs::path root_;
};

std::vector<std::string> Paths(const FrontEndResult& r) {
  std::vector<std::string> out;
  for (const SourceFile& f : r.ast.files) out.push_back(f.path);
  return out;
}

TEST(FrontEndTest, BasicFixtureLoadsWithoutDiagnostics) {
  FrontEndResult r = LoadPolicyDirectory((kFixtures / "basic").string(), {});
  EXPECT_THAT(Diags(r), IsEmpty());
  EXPECT_THAT(Paths(r), ElementsAre("main.rules", "spam/mentions.rules"));
  ASSERT_THAT(r.ast.rules, SizeIs(3));
  EXPECT_EQ(r.ast.rules[0].id, "mention_spam");
  EXPECT_EQ(r.ast.rules[1].reason, "Crypto giveaway wording");
  ASSERT_THAT(r.ast.lists, SizeIs(2));
  EXPECT_THAT(r.ast.lists[0].items,
              ElementsAre("free crypto", "airdrop", "#nsfw", "double your bitcoin"));
  ASSERT_THAT(r.ast.blocklists, SizeIs(3));
  EXPECT_EQ(r.ast.blocklists[0].resolved_path, "blocklists/tier0.csv");
  std::vector<std::string> data;
  for (const SourceFile& f : r.ast.data_files) data.push_back(f.path);
  EXPECT_THAT(data, ElementsAre("lists/crypto.txt", "blocklists/tier0.csv", "blocklists/mine.txt",
                                "blocklists/friends.txt"));
  EXPECT_EQ(r.ast.blocklists[2].data_file, 3);
  ASSERT_THAT(r.ast.tests, SizeIs(1));
  EXPECT_THAT(r.ast.tests[0].resolved_activities, ElementsAre("tests/mention-spam.json"));
  EXPECT_TRUE(fs::exists(kFixtures / "basic" / r.ast.tests[0].resolved_activities[0]));
}

TEST(FrontEndTest, ErrorsFixtureReportsEveryProblem) {
  FrontEndResult r = LoadPolicyDirectory((kFixtures / "errors").string(), {});
  EXPECT_THAT(
      Diags(r),
      ElementsAre(
          "lists/words.txt:3:1: warning: duplicate entry \"spam\" (first on line 1)",
          "a.rules:3:16: error: unknown field 'mentions.cnt' (did you mean 'mentions.count'?)",
          "a.rules:4:24: error: expected an operator after 'content' (== != < <= > >= ~ !~ "
          "contains has startswith endswith contains_any has_any in), got 'haz' (did you mean "
          "'has'?)",
          "a.rules:5:28: error: type error: comparing duration field 'actor.age' with a number; "
          "write a duration such as 30s, 5m, 2h, 7d or 2w",
          "a.rules:6:38: error: unknown action or effect 'rejct' (actions: reject, flag, accept; "
          "effects: strip_media, mark_sensitive, unlist, followers_only) (did you mean "
          "'reject'?)",
          "a.rules:7:32: error: unknown list 'wrods' (did you mean 'words'?)",
          "a.rules:8:6: error: duplicate name 'r1': already defined as a rule at a.rules:3 "
          "(lists, macros and rules share one namespace)",
          "a.rules:9:7: error: macro 'loop' refers to itself",
          "a.rules:10:26: error: regex /(a)\\1/: not supported: matching must stay linear-time "
          "(no backreferences or lookaround)",
          "a.rules:11:1: error: threshold flag 10 is above threshold reject 5 (flag must be at "
          "most reject)",
          "b.rules:2:1: error: missing '}' to close rule 'r7' (opened at line 1)",
          "b.rules:2:27: error: expected ')' to close the '(' at 2:16, got 'then'",
          "b.rules:4:12: warning: cannot read activity 'x.json': No such file or directory (the "
          "test will fail)",
          "b.rules:5:3: error: unknown rule 'r9' (did you mean 'r1'?)"));
}

TEST(FrontEndTest, ByteWiseOrderOfRelativePaths) {
  TempPolicy t("order");
  for (const char* name : {"b.rules", "a/z.rules", "a.rules", "B.rules", "a-b.rules", "_x.rules",
                           "a/b/c.rules", "z.rules.txt", "rules"}) {
    t.Write(name, "");
  }
  FrontEndResult r = LoadPolicyDirectory(t.dir().string(), {});
  EXPECT_THAT(Diags(r), IsEmpty());
  // '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < upper case < '_' < lower case.
  EXPECT_THAT(Paths(r), ElementsAre("B.rules", "_x.rules", "a-b.rules", "a.rules", "a/b/c.rules",
                                    "a/z.rules", "b.rules"));
}

TEST(FrontEndTest, DotNamesAreSkipped) {
  TempPolicy t("dots");
  t.Write("main.rules", "rule r { when sensitive then flag }");
  t.Write(".hidden.rules", "garbage {");
  t.Write(".git/x.rules", "garbage {");
  t.Write("sub/.swp.rules", "garbage {");
  FrontEndResult r = LoadPolicyDirectory(t.dir().string(), {});
  EXPECT_THAT(Diags(r), IsEmpty());
  EXPECT_THAT(Paths(r), ElementsAre("main.rules"));
}

TEST(FrontEndTest, SymlinksLeavingTheDirectoryAreSkipped) {
  TempPolicy t("symlinks");
  t.Write("main.rules", "rule r { when content has_any l then flag }\nlist l from \"l.txt\"");
  t.Write("real.rules", "rule s { when reply then flag }");
  t.Write("outside.rules", "rule evil { when true then reject }", /*inside=*/false);
  t.Write("secret.txt", "secret\n", /*inside=*/false);
  t.Write("sub/dir.rules", "rule d { when quote then flag }");
  fs::create_symlink(t.outside() / "outside.rules", t.dir() / "escape.rules");
  fs::create_symlink(t.dir() / "real.rules", t.dir() / "alias.rules");
  fs::create_symlink(t.dir() / "sub", t.dir() / "linked_dir");
  fs::create_symlink(t.outside() / "secret.txt", t.dir() / "l.txt");
  FrontEndResult r = LoadPolicyDirectory(t.dir().string(), {});
  EXPECT_THAT(Paths(r), ElementsAre("alias.rules", "main.rules", "real.rules", "sub/dir.rules"));
  EXPECT_THAT(Diags(r),
              ElementsAre("escape.rules: warning: skipped: a symlink that leaves the policy "
                          "directory",
                          "main.rules:2:6: error: cannot read list file 'l.txt': it leaves the "
                          "policy directory (symlink)",
                          "real.rules:1:6: error: duplicate name 's': already defined as a rule "
                          "at alias.rules:1 (lists, macros and rules share one namespace)"));
}

TEST(FrontEndTest, DirectoryErrors) {
  TempPolicy t("errors");
  EXPECT_THAT(Diags(LoadPolicyDirectory(t.dir().string(), {})),
              ElementsAre(HasSubstr("error: no .rules files in the policy directory")));
  EXPECT_THAT(Diags(LoadPolicyDirectory((t.dir() / "missing").string(), {})),
              ElementsAre(HasSubstr("error: cannot open the policy directory: ")));
  t.Write("file.rules", "");
  EXPECT_THAT(Diags(LoadPolicyDirectory((t.dir() / "file.rules").string(), {})),
              ElementsAre(HasSubstr("error: the policy path is not a directory")));
}

TEST(FrontEndTest, DirectoryLimits) {
  TempPolicy t("limits");
  t.Write("a.rules", "rule a { when sensitive then flag }");  // 35 bytes
  t.Write("b.rules", "rule b { when reply then flag }");      // 31 bytes
  FrontEndOptions options;
  options.max_files = 2;
  options.max_file_bytes = 35;
  EXPECT_THAT(Diags(LoadPolicyDirectory(t.dir().string(), options)), IsEmpty());
  t.Write("c.rules", "rule c { when quote then flag }");
  EXPECT_THAT(Diags(LoadPolicyDirectory(t.dir().string(), options)),
              ElementsAre(".: error: more than 2 rule files in the policy (max_files)"));
  options.max_files = 10;
  options.max_file_bytes = 34;
  EXPECT_THAT(Diags(LoadPolicyDirectory(t.dir().string(), options)),
              ElementsAre("a.rules: error: file larger than 34 bytes (max_file_bytes)"));
  options.max_file_bytes = 100;
  options.max_total_bytes = 66;
  EXPECT_THAT(Diags(LoadPolicyDirectory(t.dir().string(), options)),
              ElementsAre("c.rules: error: the policy's files are larger than 66 bytes in all "
                          "(max_total_bytes)"));
}

TEST(FrontEndTest, ParsesEveryFileEvenAfterErrors) {
  FrontEndResult r = LoadPolicyFiles(
      {{"a.rules", "rule a { when ( then flag }"}, {"b.rules", "rule b { when nope then flag }"}},
      nullptr, {});
  EXPECT_THAT(Errors(r), ElementsAre("a.rules:1:17: error: expected a condition, got 'then'",
                                     "b.rules:1:15: error: unknown macro or field 'nope'"));
}

}  // namespace
}  // namespace fedwall::lang
