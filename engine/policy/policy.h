// Policy, Compiler and Evaluator: from a directory of rule files to a decision.
//
//   Compiler (mutable, single-threaded)  --Compile(dir)-->  shared_ptr<const Policy>
//   Evaluator (one per thread, owns the scratch)  --Evaluate(policy, activity, facts)-->  Decision
//
// Compiling runs the front end (engine/lang/front_end.h), loads blocklists into a domain table,
// groups every literal and regex of every rule by text field into one TextMatcher per field
// (engine/match/text_matcher.h), and indexes rules so that only rules whose patterns matched,
// or that could fire without any pattern matching, are evaluated: the cost of a decision grows
// with the activity, not with the number of rules. A Policy is immutable and thread-safe; its
// version is a SHA-256 over the engine version, every policy file read (relative path and
// bytes, in load order) and the canonical list of API-made blocks.
//
// Deciding (the contract's "Decision" section): suspend-level blocks and the allowlist first
// (final REJECT); then enforce-mode rules contribute actions, effects and scores; `accept`
// overrides rules and thresholds but not blocks; the verdict is the strongest of the fired
// actions and the thresholds reached (REJECT > FLAG > ACCEPT); effects are the union of the
// rules' effects and the block flags (a REJECT carries none); monitor-mode rules are reported
// and change nothing. Conditions use Kleene three-valued logic: a rule fires only when its
// condition is true, never for lack of data.
//
// Example:
//   fedwall::Compiler compiler;
//   fedwall::CompileResult r = compiler.Compile("rules/");
//   for (const auto& d : r.diagnostics) std::cerr << d.ToString() << "\n";
//   if (!r.policy) return 1;
//   fedwall::Evaluator evaluator;                       // one per thread
//   absl::StatusOr<fedwall::Decision> d = evaluator.Evaluate(*r.policy, json, facts, absl::Now());
//   if (d.ok() && d->verdict == fedwall::Verdict::kReject) drop();
#ifndef FEDWALL_ENGINE_POLICY_POLICY_H_
#define FEDWALL_ENGINE_POLICY_POLICY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/activity/facts.h"
#include "engine/blocklist/blocklist.h"
#include "engine/common/diagnostic.h"
#include "engine/counters/counter_store.h"
#include "engine/counters/counters.h"
#include "engine/lang/ast.h"
#include "engine/lang/front_end.h"
#include "engine/match/text_matcher.h"

namespace fedwall {

inline constexpr char kEngineVersion[] = "fedwall-engine/1";

enum class Verdict { kAccept = 1, kFlag = 2, kReject = 3 };
// "ACCEPT", "FLAG", "REJECT".
const char* VerdictName(Verdict v);

// One piece of evidence (see the API's Evidence message).
struct Evidence {
  std::string field;   // "content", "actor.age", ...
  std::string text;    // the matched span of the unfolded field (<= 256 bytes), or "f = v"
  uint32_t start = 0;  // byte offsets of the span in the unfolded field; 0/0 for "f = v"
  uint32_t end = 0;
};

// A rule that fired, or a synthetic match (blocklist:suspend, allowlist, threshold:flag, ...).
//
// Synthetic matches, and when they appear:
//   blocklist:suspend, allowlist, blocklist:reject_reports: a final REJECT (step 1); then they
//     are the only match (rules are not evaluated). Evidence: "actor.domain = x" (or origin.,
//     object., announcer.domain); the reason names the domain and the covering entry as
//     written with its file:line ("(API block)" for an API-made block).
//   blocklist:silence, blocklist:reject_media: the unlist / strip_media effect of a block
//     flag; listed only when the verdict is not REJECT (a REJECT carries no effects).
//   threshold:flag, threshold:reject: the strongest threshold the total score reached (even
//     when an `accept` rule overrides the verdict). Evidence: "score = 7.5".
// Evidence of a rule: one entry per distinct true leaf that is not under a `not` (`!=` and
// `!~` count as negations): text leaves give the span of the unfolded text of their leftmost
// match; other leaves "field = value" (the matching element for list fields, durations as
// "1h", "2d3h").
struct RuleMatch {
  std::string rule_id;
  std::string reason;
  int64_t score_milli = 0;  // the rule's score in thousandths
  bool monitor = false;
  std::vector<Evidence> evidence;
};

struct Decision {
  Verdict verdict = Verdict::kAccept;
  uint8_t effects = 0;             // lang::EffectBit set; 0 for REJECT
  int64_t score_milli = 0;         // total of the enforce-mode rules that fired
  std::vector<RuleMatch> matches;  // in policy order; synthetic matches first
  std::string policy_version;
};

class Policy {
 public:
  virtual ~Policy() = default;

  virtual const std::string& version() const = 0;
  virtual size_t rule_count() const = 0;
  virtual size_t pattern_count() const = 0;
  virtual size_t domain_count() const = 0;
  // Warnings of the compile that built this policy.
  virtual const std::vector<Diagnostic>& warnings() const = 0;
  // The checked syntax tree (rules, tests, files), e.g. for `fedwall test`.
  virtual const lang::PolicyAst& ast() const = 0;
  // The domain table (blocklist files + API-made blocks).
  virtual const blocklist::DomainTable& domains() const = 0;
  // The counters the rules use (`text.seen(1h)`, ...), each (kind, window) once: what an
  // evaluation asks its CounterStore before the rules run. Empty when no rule uses one.
  virtual std::span<const counters::CounterRef> counters() const = 0;

  // The same compiled rules with another set of API-made blocks: only the domain table is
  // rebuilt (milliseconds, no pattern recompile); the version changes accordingly.
  virtual std::shared_ptr<const Policy> WithApiBlocks(
      std::vector<blocklist::Entry> api_blocks) const = 0;
};

struct CompileOptions {
  lang::FrontEndOptions front_end;
  match::MatcherOptions matcher;
  std::vector<blocklist::Entry> api_blocks;  // merged into the domain table
  // Limit on the size of the compiled conditions (macros are expanded inline, so a chain of
  // macros each using the previous one twice grows exponentially): past it, a compile error.
  size_t max_expression_nodes = 4'000'000;
};

struct CompileResult {
  std::shared_ptr<const Policy> policy;  // null when there is any error
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in file order
  double compile_seconds = 0;
};

class Compiler {
 public:
  explicit Compiler(CompileOptions options = {});
  // Compiles a policy directory.
  CompileResult Compile(const std::string& directory);
  // Compiles an already checked AST (used by tests and by Compile).
  CompileResult CompileAst(lang::PolicyAst ast, std::vector<Diagnostic> diagnostics);

 private:
  CompileOptions options_;
};

struct EvaluatorOptions {
  ActivityParseOptions parse;
  size_t max_evidence_bytes = 256;
  // For tests: ignore the rule index and evaluate every rule on every activity. Decisions are
  // the same either way (only slower); tests use it to check exactly that.
  bool evaluate_all_rules = false;
};

// Where an evaluation's counters (`text.seen(1h)`, ...) come from.
struct CounterContext {
  counters::CounterStore* store = nullptr;  // null: every counter is unknown
  bool record = true;  // false (a dry run): the activity is counted but nothing is written
};

// Per-thread evaluation state: the JSON parser and the matcher scratch. Not thread-safe; use
// one per thread. Works with any Policy (scratch grows to fit).
class Evaluator {
 public:
  explicit Evaluator(EvaluatorOptions options = {});
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // Parses and decides. InvalidArgument for a malformed activity. `fallback_now` is "now" when
  // the facts carry no received_at (the wall clock in the service; the object's published in
  // test and replay).
  // When the policy uses counters and `counters.store` is set, the store is asked (and, unless
  // a dry run, updated) once, after parsing and before any rule runs, whatever the verdict
  // turns out to be (blocked domains included).
  absl::StatusOr<Decision> Evaluate(const Policy& policy, std::string_view activity_json,
                                    const RequestFacts& facts, absl::Time fallback_now,
                                    const CounterContext& counters = {});

  // Decides on an already parsed activity (facts already merged with MergeActorFacts).
  // `counter_values` holds one value per policy.counters() entry (counters::Count computes
  // them); missing entries are unknown.
  Decision Decide(const Policy& policy, const Activity& activity, const RequestFacts& facts,
                  absl::Time now, std::span<const std::optional<double>> counter_values = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedwall

#endif  // FEDWALL_ENGINE_POLICY_POLICY_H_
