// The `test` block runner (see policy_tests.h).
#include "engine/policy/policy_tests.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/counters/memory_counter_store.h"
#include "engine/lang/ast.h"

namespace fedwall {
namespace {

std::string Where(const lang::PolicyAst& ast, const lang::SourceLocation& loc) {
  std::string path = loc.file < ast.files.size() ? ast.files[loc.file].path : std::string();
  return absl::StrCat(path, ":", loc.line, ":", loc.column);
}

const char* ActionName(lang::Action a) {
  switch (a) {
    case lang::Action::kAccept:
      return "ACCEPT";
    case lang::Action::kFlag:
      return "FLAG";
    case lang::Action::kReject:
      return "REJECT";
    case lang::Action::kNone:
      break;
  }
  return "NONE";
}

std::optional<Verdict> ToVerdict(lang::Action a) {
  switch (a) {
    case lang::Action::kAccept:
      return Verdict::kAccept;
    case lang::Action::kFlag:
      return Verdict::kFlag;
    case lang::Action::kReject:
      return Verdict::kReject;
    case lang::Action::kNone:
      break;
  }
  return std::nullopt;
}

std::string EffectNames(uint8_t effects) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {
      {lang::kStripMedia, "strip_media"},
      {lang::kMarkSensitive, "mark_sensitive"},
      {lang::kUnlist, "unlist"},
      {lang::kFollowersOnly, "followers_only"},
  };
  std::vector<std::string> names;
  for (const auto& [bit, name] : kNames) {
    if ((effects & bit) != 0) names.emplace_back(name);
  }
  return names.empty() ? "no effects" : absl::StrJoin(names, ", ");
}

std::string Fired(const Decision& d) {
  std::vector<std::string> ids;
  for (const RuleMatch& m : d.matches) {
    ids.push_back(m.monitor ? absl::StrCat(m.rule_id, " (monitor)") : m.rule_id);
  }
  return ids.empty() ? "none" : absl::StrJoin(ids, ", ");
}

bool HasFired(const Decision& d, std::string_view id) {
  for (const RuleMatch& m : d.matches) {
    if (m.rule_id == id) return true;
  }
  return false;
}

absl::StatusOr<std::string> ReadActivityFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open the file");
  std::string bytes;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    bytes.append(buf, static_cast<size_t>(in.gcount()));
    // One byte past the limit is enough for the parser to refuse it with its own message.
    if (bytes.size() > max_bytes) break;
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return bytes;
}

// A non-negative integer fact.
std::optional<uint64_t> Count(const lang::Operand& v) {
  if (v.kind != lang::Operand::Kind::kNumber || v.number < 0 || v.number != std::floor(v.number) ||
      v.number > 9e15) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(v.number);
}

// Applies `with` facts other than actor.age (which needs "now") and received_at. Returns an
// error message, or "".
std::string ApplyFact(const lang::FactAssignment& f, RequestFacts* facts) {
  using K = lang::Operand::Kind;
  const lang::Operand& v = f.value;
  auto want = [&](const char* what) { return absl::StrCat("`with ", f.field, "` needs ", what); };
  if (f.field == "actor.followers" || f.field == "actor.following" || f.field == "actor.posts") {
    std::optional<uint64_t> n = Count(v);
    if (!n) return want("a non-negative integer");
    if (f.field == "actor.followers") facts->actor.followers_count = *n;
    if (f.field == "actor.following") facts->actor.following_count = *n;
    if (f.field == "actor.posts") facts->actor.statuses_count = *n;
    return "";
  }
  if (f.field == "actor.bot" || f.field == "actor.followed" || f.field == "origin.signed") {
    if (v.kind != K::kBool) return want("true or false");
    if (f.field == "actor.bot") facts->actor.bot = v.boolean;
    if (f.field == "actor.followed") facts->actor.followed_by_local_users = v.boolean;
    if (f.field == "origin.signed") facts->delivery.signature_verified = v.boolean;
    return "";
  }
  if (f.field == "origin.domain" || f.field == "origin.ip" || f.field == "actor.name" ||
      f.field == "actor.bio") {
    if (v.kind != K::kString) return want("a string");
    if (f.field == "origin.domain") facts->delivery.sender_domain = v.string;
    if (f.field == "origin.ip") facts->delivery.remote_ip = v.string;
    if (f.field == "actor.name") facts->actor.display_name = v.string;
    if (f.field == "actor.bio") facts->actor.bio = v.string;
    return "";
  }
  if (f.field == "actor.age") {
    if (v.kind != K::kDuration) return want("a duration");
    return "";
  }
  if (f.field == "received_at") {
    if (v.kind != K::kString) return want("an RFC 3339 time string");
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, v.string, &t, &err)) {
      return absl::StrCat("`with received_at`: cannot read \"", v.string,
                          "\" as an RFC 3339 time: ", err);
    }
    facts->delivery.received_at = t;
    return "";
  }
  return absl::StrCat("`with ", f.field, "`: not a request fact a test can set");
}

PolicyTestResult RunOne(const Policy& policy, const lang::TestDecl& test,
                        const std::string& directory, Evaluator& evaluator, ActivityParser& parser,
                        absl::Time wall_now) {
  const lang::PolicyAst& ast = policy.ast();
  PolicyTestResult result;
  result.name = test.name;
  result.path = test.location.file < ast.files.size() ? ast.files[test.location.file].path : "";
  result.line = test.location.line;
  const std::string where = Where(ast, test.location);

  RequestFacts facts;
  for (const lang::FactAssignment& f : test.facts) {
    std::string err = ApplyFact(f, &facts);
    if (!err.empty()) result.failures.push_back(absl::StrCat(Where(ast, f.location), ": ", err));
  }

  const std::vector<std::string>& paths = test.resolved_activities.size() == test.activities.size()
                                              ? test.resolved_activities
                                              : test.activities;
  if (paths.empty()) result.failures.push_back(absl::StrCat(where, ": the test has no activity"));
  std::vector<std::string> documents;
  std::optional<absl::Time> last_published;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string at =
        i < test.activity_locations.size() ? Where(ast, test.activity_locations[i]) : where;
    absl::StatusOr<std::string> bytes =
        ReadActivityFile(absl::StrCat(directory, "/", paths[i]), parser.options().max_bytes);
    if (!bytes.ok()) {
      result.failures.push_back(absl::StrCat(at, ": cannot read activity \"", test.activities[i],
                                             "\": ", std::string(bytes.status().message())));
      continue;
    }
    absl::StatusOr<Activity> a = parser.Parse(*bytes);
    if (!a.ok()) {
      result.failures.push_back(absl::StrCat(at, ": cannot read activity \"", test.activities[i],
                                             "\": ", std::string(a.status().message())));
      continue;
    }
    if (i + 1 == paths.size()) last_published = a->published;
    documents.push_back(*std::move(bytes));
  }
  if (!result.failures.empty()) return result;

  // "now": received_at, else the last activity's published, else the wall clock.
  const absl::Time now = facts.delivery.received_at.value_or(last_published.value_or(wall_now));
  for (const lang::FactAssignment& f : test.facts) {
    if (f.field == "actor.age") facts.actor.created_at = now - f.value.duration;
  }

  // Fresh counters per test: the activities before the last one build up what it sees.
  counters::MemoryCounterStore counter_store;
  for (const std::string& doc : documents) {
    absl::StatusOr<Decision> d =
        evaluator.Evaluate(policy, doc, facts, now, {.store = &counter_store});
    if (!d.ok()) {
      result.failures.push_back(absl::StrCat(
          where, ": cannot evaluate an activity: ", std::string(d.status().message())));
      return result;
    }
    result.decision = *std::move(d);
  }

  const Decision& d = result.decision;
  for (const lang::Expectation& e : test.expectations) {
    const std::string at = Where(ast, e.location);
    switch (e.kind) {
      case lang::Expectation::Kind::kVerdict: {
        std::optional<Verdict> want = ToVerdict(e.verdict);
        bool ok = want.has_value() && *want == d.verdict;
        for (const std::string& r : e.rules) ok = ok && HasFired(d, r);
        if (!ok) {
          std::string expected = ActionName(e.verdict);
          if (!e.rules.empty()) absl::StrAppend(&expected, " by ", absl::StrJoin(e.rules, ", "));
          result.failures.push_back(absl::StrCat(at, ": expected ", expected, ", got ",
                                                 VerdictName(d.verdict), " (fired: ", Fired(d),
                                                 ")"));
        }
        break;
      }
      case lang::Expectation::Kind::kEffects:
        if ((d.effects & e.effects) != e.effects) {
          result.failures.push_back(absl::StrCat(
              at, ": expected effects ", EffectNames(e.effects), ", got ", EffectNames(d.effects),
              " (", VerdictName(d.verdict), "; fired: ", Fired(d), ")"));
        }
        break;
      case lang::Expectation::Kind::kNotFired:
        for (const std::string& r : e.rules) {
          if (HasFired(d, r)) {
            result.failures.push_back(absl::StrCat(at, ": expected not ", r, ", but it fired (",
                                                   VerdictName(d.verdict), "; fired: ", Fired(d),
                                                   ")"));
          }
        }
        break;
    }
  }
  result.passed = result.failures.empty();
  return result;
}

}  // namespace

std::vector<PolicyTestResult> RunPolicyTests(const Policy& policy, const std::string& directory) {
  std::vector<PolicyTestResult> results;
  Evaluator evaluator;
  ActivityParser parser;
  const absl::Time wall_now = absl::Now();
  for (const lang::TestDecl& test : policy.ast().tests) {
    results.push_back(RunOne(policy, test, directory, evaluator, parser, wall_now));
  }
  return results;
}

}  // namespace fedwall
