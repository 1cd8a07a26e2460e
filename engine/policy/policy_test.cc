// Compiler and Policy tests: diagnostics, counts, the version, WithApiBlocks, the fast field
// accessors, and a differential test of 100k generated rules against a reference evaluator.
#include "engine/policy/policy.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/fields/field_registry.h"
#include "engine/policy/compiled.h"
#include "engine/policy/policy_test_util.h"
#include "engine/text/normalize.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace fedwall {
namespace {

using policy_testing::CompileFiles;
using policy_testing::CompileText;
using policy_testing::CreateNote;
using policy_testing::DiagnosticsText;
using policy_testing::PolicyFiles;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1710000000);

PolicyFiles BasicFiles() {
  PolicyFiles f;
  f.rules["main.rules"] = R"(# a policy
list crypto from "lists/crypto.txt"
blocklist "blocklists/tier0.txt"
rule crypto_spam { when content has_any crypto then flag }
rule same_literal { when content has "free crypto" then flag }
rule other { when content has "free crypto" and type == "Create" score 1 }
)";
  f.data["lists/crypto.txt"] = "free crypto\nnft drop\n";
  f.data["blocklists/tier0.txt"] = "spam.example\nbad.example\n";
  return f;
}

TEST(CompilerTest, CompilesAndCounts) {
  CompileResult r = CompileFiles(BasicFiles());
  ASSERT_NE(r.policy, nullptr) << DiagnosticsText(r.diagnostics);
  EXPECT_EQ(r.policy->rule_count(), 3u);
  // "free crypto" (has) is shared by the three rules; "nft drop" is the other.
  EXPECT_EQ(r.policy->pattern_count(), 2u);
  EXPECT_EQ(r.policy->domain_count(), 2u);
  EXPECT_GE(r.compile_seconds, 0);
  EXPECT_EQ(r.policy->ast().rules.size(), 3u);
  EXPECT_TRUE(r.policy->domains().Lookup("a.spam.example").has_value());
}

TEST(CompilerTest, FrontEndErrorsMeanNoPolicy) {
  CompileResult r = CompileText("rule r { when content has \"x\" then flag\n");
  EXPECT_EQ(r.policy, nullptr);
  EXPECT_TRUE(HasErrors(r.diagnostics));
  CompileResult unknown = CompileText("rule r { when no_such_field == 1 then flag }\n");
  EXPECT_EQ(unknown.policy, nullptr);
  EXPECT_TRUE(HasErrors(unknown.diagnostics));
}

TEST(CompilerTest, UnreadableBlocklistIsAnErrorBadRowsAreWarnings) {
  CompileResult bad = CompileText(
      "blocklist \"b.json\" format mastodon_api_json\n"
      "rule r { when type == \"Like\" then flag }\n",
      {{"b.json", "[{\"domain\": \"x.example\""}});
  EXPECT_EQ(bad.policy, nullptr);
  ASSERT_TRUE(HasErrors(bad.diagnostics));
  EXPECT_THAT(DiagnosticsText(bad.diagnostics), HasSubstr("main.rules:1"));

  CompileResult damaged =
      CompileText("blocklist \"b.txt\"\nrule r { when type == \"Like\" then flag }\n",
                  {{"b.txt", "good.example\nnot a domain!\nother.example\n"}});
  ASSERT_NE(damaged.policy, nullptr) << DiagnosticsText(damaged.diagnostics);
  EXPECT_EQ(damaged.policy->domain_count(), 2u);
  bool warned = false;
  for (const Diagnostic& d : damaged.policy->warnings()) {
    if (d.path == "b.txt" && d.line == 2) warned = true;
  }
  EXPECT_TRUE(warned) << DiagnosticsText(damaged.diagnostics);
}

TEST(CompilerTest, MacrosThatExplodeHitTheNodeLimit) {
  std::string rules = "macro m0 = content has \"x\" or type == \"Like\"\n";
  for (int i = 1; i <= 30; ++i) {
    absl::StrAppend(&rules, "macro m", i, " = m", i - 1, " and (m", i - 1, " or sensitive)\n");
  }
  absl::StrAppend(&rules, "rule r { when m30 then flag }\n");
  CompileOptions options;
  options.front_end.max_nesting_depth = 1000;
  CompileResult r = CompileText(rules, {}, options);
  EXPECT_EQ(r.policy, nullptr);
  EXPECT_THAT(DiagnosticsText(r.diagnostics), HasSubstr("max_expression_nodes"));
  EXPECT_THAT(DiagnosticsText(r.diagnostics), HasSubstr("main.rules:32:"));
}

// ---------------------------------------------------------------------------------------
// The version

TEST(VersionTest, StableAndSensitiveToEveryInput) {
  CompileResult a = CompileFiles(BasicFiles());
  CompileResult b = CompileFiles(BasicFiles());
  ASSERT_NE(a.policy, nullptr);
  ASSERT_NE(b.policy, nullptr);
  const std::string v = a.policy->version();
  EXPECT_EQ(v.size(), 64u);
  EXPECT_EQ(v.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(v, b.policy->version());

  std::set<std::string> versions = {v};
  auto variant = [&](auto change) {
    PolicyFiles f = BasicFiles();
    change(f);
    CompileResult r = CompileFiles(f);
    EXPECT_NE(r.policy, nullptr) << DiagnosticsText(r.diagnostics);
    if (r.policy == nullptr) return;
    EXPECT_TRUE(versions.insert(r.policy->version()).second);
  };
  variant([](PolicyFiles& f) { f.rules["main.rules"][2] = 'A'; });  // in the comment
  variant([](PolicyFiles& f) { f.data["lists/crypto.txt"] += "x\n"; });
  variant([](PolicyFiles& f) { f.data["blocklists/tier0.txt"][0] = 'S'; });
  variant([](PolicyFiles& f) { f.rules["z.rules"] = "# empty\n"; });

  CompileOptions with_block;
  blocklist::Entry e;
  e.domain = "api.example";
  e.severity = blocklist::Severity::kSuspend;
  with_block.api_blocks.push_back(e);
  CompileResult c = CompileFiles(BasicFiles(), with_block);
  ASSERT_NE(c.policy, nullptr);
  EXPECT_TRUE(versions.insert(c.policy->version()).second);

  e.reject_media = true;  // any field of an API block counts
  with_block.api_blocks[0] = e;
  CompileResult d = CompileFiles(BasicFiles(), with_block);
  ASSERT_NE(d.policy, nullptr);
  EXPECT_TRUE(versions.insert(d.policy->version()).second);
}

TEST(VersionTest, WithApiBlocksRebuildsOnlyTheDomainTable) {
  CompileResult r = CompileFiles(BasicFiles());
  ASSERT_NE(r.policy, nullptr);
  const Policy& base = *r.policy;

  blocklist::Entry b1;
  b1.domain = "api-one.example";
  blocklist::Entry b2;
  b2.domain = "api-two.example";
  b2.severity = blocklist::Severity::kSilence;
  std::shared_ptr<const Policy> p = base.WithApiBlocks({b1, b2});
  ASSERT_NE(p, nullptr);
  EXPECT_NE(p->version(), base.version());
  EXPECT_EQ(p->domain_count(), base.domain_count() + 2);
  EXPECT_EQ(p->pattern_count(), base.pattern_count());
  EXPECT_EQ(&p->ast(), &base.ast());  // the compiled rules are shared
  // Order of the API blocks does not matter; the same blocks given at compile time agree.
  EXPECT_EQ(base.WithApiBlocks({b2, b1})->version(), p->version());
  CompileOptions options;
  options.api_blocks = {b1, b2};
  CompileResult same = CompileFiles(BasicFiles(), options);
  ASSERT_NE(same.policy, nullptr);
  EXPECT_EQ(same.policy->version(), p->version());
  // Back to no API blocks: back to the original version.
  EXPECT_EQ(p->WithApiBlocks({})->version(), base.version());

  Evaluator evaluator;
  absl::StatusOr<Decision> d =
      evaluator.Evaluate(*p, CreateNote("https://x.api-one.example/u", "free crypto"), {}, kNow);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->verdict, Verdict::kReject);
  EXPECT_EQ(d->matches.at(0).rule_id, "blocklist:suspend");
  EXPECT_THAT(d->matches.at(0).reason, HasSubstr("API block"));
  EXPECT_EQ(d->policy_version, p->version());
  absl::StatusOr<Decision> quiet =
      evaluator.Evaluate(*p, CreateNote("https://api-two.example/u", "free crypto"), {}, kNow);
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->verdict, Verdict::kFlag);
  EXPECT_EQ(quiet->effects, lang::kUnlist);
  absl::StatusOr<Decision> old =
      evaluator.Evaluate(base, CreateNote("https://x.api-one.example/u", "free crypto"), {}, kNow);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->verdict, Verdict::kFlag);
}

TEST(CompilerTest, CompilesAPolicyDirectory) {
  const std::string dir = std::string(FEDWALL_SOURCE_DIR) + "/tests/fixtures/policy/basic";
  Compiler compiler;
  CompileResult a = compiler.Compile(dir);
  ASSERT_NE(a.policy, nullptr) << DiagnosticsText(a.diagnostics);
  CompileResult b = compiler.Compile(dir);
  ASSERT_NE(b.policy, nullptr);
  EXPECT_EQ(a.policy->version(), b.policy->version());
  EXPECT_GT(a.policy->rule_count(), 0u);
  EXPECT_GT(a.policy->domain_count(), 0u);
}

// ---------------------------------------------------------------------------------------
// Fast accessors agree with the registry's extractors

bool SameValue(const policy_internal::Value& a, const policy_internal::Value& b) {
  using K = policy_internal::Value::Kind;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::kUnknown:
      return true;
    case K::kString:
      return a.str == b.str;
    case K::kList:
      if (a.list_size != b.list_size) return false;
      for (size_t i = 0; i < a.list_size; ++i) {
        if (a.list[i] != b.list[i]) return false;
      }
      return true;
    case K::kNumber:
      return a.number == b.number;
    case K::kDuration:
      return a.duration == b.duration;
    case K::kBool:
      return a.boolean == b.boolean;
  }
  return false;
}

TEST(AccessorTest, FastAccessorsEqualTheRegistryExtractors) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(FEDWALL_SOURCE_DIR) / "tests/fixtures/activities";
  ActivityParser parser;
  size_t checked = 0;
  for (int with_facts = 0; with_facts < 2; ++with_facts) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".json") continue;
      std::ifstream in(entry.path());
      std::stringstream ss;
      ss << in.rdbuf();
      absl::StatusOr<Activity> a = parser.Parse(ss.str());
      if (!a.ok()) continue;
      RequestFacts facts;
      if (with_facts) {
        facts.delivery.sender_domain = "Relay.Example.";
        facts.delivery.remote_ip = "10.0.0.1";
        facts.delivery.signature_verified = true;
        facts.actor.created_at = kNow - absl::Hours(3);
        facts.actor.followers_count = 4;
        facts.actor.following_count = 5;
        facts.actor.statuses_count = 6;
        facts.actor.bot = false;
        facts.actor.followed_by_local_users = true;
      }
      FieldInput input{*a, facts, kNow, nullptr};
      std::string origin;
      if (facts.delivery.sender_domain) origin = "relay.example";
      for (const FieldDef& def : AllFields()) {
        policy_internal::Accessor acc = policy_internal::AccessorFor(def.name);
        if (acc == policy_internal::Accessor::kGeneric) continue;
        FieldValue slow = def.extract(input);
        policy_internal::Value fast =
            policy_internal::ReadFast(acc, input, origin, facts.delivery.sender_domain.has_value());
        EXPECT_TRUE(SameValue(fast, policy_internal::FromFieldValue(slow)))
            << def.name << " on " << entry.path().filename();
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100u);
}

// ---------------------------------------------------------------------------------------
// Differential test: 100k generated keyword rules against a straightforward reference.

struct GenRule {
  enum Kind { kContains, kHas, kEq, kRegex, kOr, kAndNot, kNot };
  Kind kind = kContains;
  std::string a, b;  // literals (already lower-case ASCII)
  std::string regex;
  bool icase = false;
  int action = 0;  // 0 none, 1 flag, 2 reject
  int64_t score_milli = 0;
};

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (static_cast<unsigned char>(c) >= 0x80);
}

bool RefContains(const std::string& folded, const std::string& lit) {
  return folded.find(lit) != std::string::npos;
}

bool RefHas(const std::string& folded, const std::string& lit) {
  for (size_t at = folded.find(lit); at != std::string::npos; at = folded.find(lit, at + 1)) {
    bool before = at == 0 || !IsWordByte(folded[at - 1]) || !IsWordByte(lit.front());
    size_t end = at + lit.size();
    bool after = end == folded.size() || !IsWordByte(folded[end]) || !IsWordByte(lit.back());
    if (before && after) return true;
  }
  return false;
}

TEST(DifferentialTest, HundredThousandRulesAgreeWithAReferenceEvaluator) {
  std::mt19937 rng(20240215);
  const std::string alphabet = "abcdefghiklmnoprstu";
  std::vector<std::string> words;
  std::set<std::string> seen;
  while (words.size() < 4000) {
    std::string w;
    size_t len = 3 + rng() % 5;
    for (size_t i = 0; i < len; ++i) w += alphabet[rng() % alphabet.size()];
    if (seen.insert(w).second) words.push_back(w);
  }
  auto word = [&] { return words[rng() % words.size()]; };

  // Activities first, so that some `==` rules can equal a whole content.
  std::vector<std::string> contents;
  for (int i = 0; i < 300; ++i) {
    std::string c;
    int n = i % 10 == 0 ? 2 : 5 + static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) {
      std::string w = word();
      if (rng() % 8 == 0) {
        for (char& ch : w) ch = static_cast<char>(ch - 'a' + 'A');
      }
      if (rng() % 25 == 0) w = absl::StrCat(w, word());  // glued words: `has` must not see them
      static const char* kSeps[] = {" ", " ", " ", ", ", ". ", " - ", "! ", "  "};
      absl::StrAppend(&c, k ? kSeps[rng() % 8] : "", w);
    }
    contents.push_back(c);
  }

  std::vector<GenRule> gen;
  gen.reserve(100'000);
  std::string rules = "threshold flag 3\nthreshold reject 7.5\n";
  rules.reserve(8 << 20);
  for (int i = 0; i < 100'000; ++i) {
    GenRule g;
    uint32_t roll = rng() % 1000;
    auto phrase = [&] { return rng() % 5 == 0 ? absl::StrCat(word(), " ", word()) : word(); };
    std::string cond;
    if (roll < 10) {
      g.kind = GenRule::kRegex;
      switch (rng() % 5) {
        case 0:
          g.regex = absl::StrCat(word(), ".{0,8}", word());
          break;
        case 1:
          g.regex = absl::StrCat("\\b", word(), "\\b");
          break;
        case 2:
          g.regex = absl::StrCat("^", word());
          break;
        case 3:
          g.regex = absl::StrCat("(?:", word(), "|", word(), ")[a-z]");
          break;
        default:
          g.regex = absl::StrCat(word(), "[, ]+", word());
          break;
      }
      g.icase = rng() % 2 == 0;
      cond = absl::StrCat("content ~ /", g.regex, "/", g.icase ? "i" : "");
    } else if (roll < 30) {
      g.kind = GenRule::kEq;
      g.a = rng() % 3 == 0 ? text::Normalize(contents[rng() % contents.size()]).folded : phrase();
      cond = absl::StrCat("content == \"", g.a, "\"");
    } else if (roll < 130) {
      g.kind = GenRule::kOr;
      g.a = phrase();
      g.b = phrase();
      cond = absl::StrCat("content contains \"", g.a, "\" or content has \"", g.b, "\"");
    } else if (roll < 180) {
      g.kind = GenRule::kAndNot;
      g.a = word();
      g.b = word();
      cond = absl::StrCat("content has \"", g.a, "\" and not content contains \"", g.b, "\"");
    } else if (roll < 181) {
      g.kind = GenRule::kNot;
      g.a = word();
      cond = absl::StrCat("not content has \"", g.a, "\"");
    } else if (roll < 600) {
      g.kind = GenRule::kContains;
      g.a = phrase();
      cond = absl::StrCat("content contains \"", g.a, "\"");
    } else {
      g.kind = GenRule::kHas;
      g.a = phrase();
      cond = absl::StrCat("content has \"", g.a, "\"");
    }
    g.action = static_cast<int>(rng() % 10 == 0 ? 2 : rng() % 3 == 0 ? 1 : 0);
    g.score_milli = static_cast<int64_t>(rng() % 4) * 250;
    const char* action = g.action == 2 ? "reject" : g.action == 1 ? "flag" : "";
    absl::StrAppend(&rules, "rule r", i, " { when ", cond);
    if (*action) absl::StrAppend(&rules, " then ", action);
    if (!*action || g.score_milli)
      absl::StrAppend(&rules, " score ", g.score_milli / 1000, ".",
                      absl::StrFormat("%03d", g.score_milli % 1000));
    absl::StrAppend(&rules, " }\n");
    gen.push_back(std::move(g));
  }

  CompileOptions options;
  options.front_end.max_diagnostics = 100'000;
  CompileResult r = CompileText(rules, {}, options);
  ASSERT_NE(r.policy, nullptr) << DiagnosticsText(r.diagnostics).substr(0, 4000);
  ASSERT_EQ(r.policy->rule_count(), 100'000u);

  std::vector<std::unique_ptr<RE2>> regexes(gen.size());
  for (size_t i = 0; i < gen.size(); ++i) {
    if (gen[i].kind != GenRule::kRegex) continue;
    RE2::Options o;
    o.set_case_sensitive(!gen[i].icase);
    regexes[i] = std::make_unique<RE2>(gen[i].regex, o);
    ASSERT_TRUE(regexes[i]->ok());
  }

  Evaluator evaluator;
  ActivityParser parser;
  size_t total_fired = 0;
  for (size_t k = 0; k < contents.size(); ++k) {
    const std::string json =
        CreateNote("https://a.example/users/x", absl::StrCat("<p>", contents[k], "</p>"), "", "",
                   static_cast<int>(k));
    absl::StatusOr<Activity> activity = parser.Parse(json);
    ASSERT_TRUE(activity.ok());
    const std::string& folded = activity->content.folded;
    const std::string& unfolded = activity->content.unfolded;

    std::vector<std::string> want;
    int64_t score = 0;
    int strongest = 0;
    for (size_t i = 0; i < gen.size(); ++i) {
      const GenRule& g = gen[i];
      bool fire = false;
      switch (g.kind) {
        case GenRule::kContains:
          fire = RefContains(folded, g.a);
          break;
        case GenRule::kHas:
          fire = RefHas(folded, g.a);
          break;
        case GenRule::kEq:
          fire = folded == g.a;
          break;
        case GenRule::kRegex:
          fire = RE2::PartialMatch(unfolded, *regexes[i]);
          break;
        case GenRule::kOr:
          fire = RefContains(folded, g.a) || RefHas(folded, g.b);
          break;
        case GenRule::kAndNot:
          fire = RefHas(folded, g.a) && !RefContains(folded, g.b);
          break;
        case GenRule::kNot:
          fire = !RefHas(folded, g.a);
          break;
      }
      if (!fire) continue;
      want.push_back(absl::StrCat("r", i));
      score += g.score_milli;
      strongest = std::max(strongest, g.action);
    }
    if (score >= 7500) strongest = 2;
    if (score >= 3000) strongest = std::max(strongest, 1);
    const Verdict want_verdict = strongest == 2   ? Verdict::kReject
                                 : strongest == 1 ? Verdict::kFlag
                                                  : Verdict::kAccept;

    absl::StatusOr<Decision> d = evaluator.Evaluate(*r.policy, json, {}, kNow);
    ASSERT_TRUE(d.ok());
    std::vector<std::string> got;
    for (const RuleMatch& m : d->matches) {
      if (m.rule_id.find(':') == std::string::npos) got.push_back(m.rule_id);
    }
    ASSERT_EQ(got, want) << "activity " << k << ": " << contents[k];
    EXPECT_EQ(d->score_milli, score);
    EXPECT_EQ(d->verdict, want_verdict);
    total_fired += got.size();
  }
  EXPECT_GT(total_fired, 3000u);  // not vacuous: plenty of rules fire
}

}  // namespace
}  // namespace fedwall
