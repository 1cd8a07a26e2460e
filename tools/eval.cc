// `fedwall eval POLICY_DIR FILE.json`: decide one activity and explain why (docs/cli.md).
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/counters/memory_counter_store.h"
#include "engine/fields/field_registry.h"
#include "engine/policy/policy.h"
#include "tools/commands.h"
#include "proto/convert/decision_json.h"
#include "proto/convert/facts.h"
#include "tools/files.h"
#include "tools/human_output.h"

namespace fedwall::tools {
namespace {

// Bytes of context shown on each side of a matched span.
constexpr size_t kContextBytes = 40;
// Longest matched span shown whole.
constexpr size_t kMaxSpanBytes = 200;

// Moves `pos` back (or forward) to the start of a UTF-8 character.
size_t CharStartBefore(std::string_view s, size_t pos) {
  while (pos > 0 && pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}
size_t CharStartAfter(std::string_view s, size_t pos) {
  while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
  return pos;
}

// "…claim your «free crypto» now…" with the span highlighted (bold red on a terminal,
// guillemets otherwise). `field_text` is the unfolded field; the span [start, end).
std::string SpanInContext(std::string_view field_text, uint32_t start, uint32_t end, bool color) {
  size_t s = CharStartBefore(field_text, start);
  size_t e = CharStartAfter(field_text, std::max<size_t>(end, s));
  size_t from = s > kContextBytes ? CharStartBefore(field_text, s - kContextBytes) : 0;
  size_t to = CharStartAfter(field_text, std::min(field_text.size(), e + kContextBytes));
  std::string out = from > 0 ? "\u2026" : "";
  absl::StrAppend(&out, Printable(field_text.substr(from, s - from)));
  std::string span;
  if (e - s > kMaxSpanBytes) {  // a long regex match: its start is enough to find it
    span = Printable(field_text.substr(s, CharStartBefore(field_text, s + kMaxSpanBytes) - s)) +
           "\u2026";
  } else {
    span = Printable(field_text.substr(s, e - s));
  }
  absl::StrAppend(&out,
                  color ? Paint(true, kBoldRed, span) : absl::StrCat("\u00AB", span, "\u00BB"));
  absl::StrAppend(&out, Printable(field_text.substr(e, to - e)));
  if (to < field_text.size()) absl::StrAppend(&out, "\u2026");
  return out;
}

std::string ActionName(lang::Action a) {
  switch (a) {
    case lang::Action::kAccept:
      return "accept";
    case lang::Action::kFlag:
      return "flag";
    case lang::Action::kReject:
      return "reject";
    case lang::Action::kNone:
      break;
  }
  return "";
}

// "then reject, unlist · score 1.5" for a rule of the policy.
std::string WhatTheRuleDoes(const lang::RuleDecl& rule) {
  std::vector<std::string> then;
  if (rule.action != lang::Action::kNone) then.push_back(ActionName(rule.action));
  if (rule.effects != 0) then.push_back(EffectNames(rule.effects));
  std::string out;
  if (!then.empty()) out = absl::StrCat("then ", absl::StrJoin(then, ", "));
  if (rule.has_score) {
    if (!out.empty()) out += " \u00B7 ";
    absl::StrAppend(&out, "score ", rule.score_milli > 0 ? "+" : "", FormatMilli(rule.score_milli));
  }
  return out;
}

void PrintHuman(const Decision& d, const Policy& policy, const EvalOptions& options,
                const FieldInput& input, absl::Time now, const std::string& now_source,
                std::ostream& out) {
  const bool color = options.output.color;
  // The verdict line.
  out << Paint(color, VerdictColor(d.verdict), VerdictName(d.verdict)) << "  score "
      << FormatMilli(d.score_milli)
      << "  effects: " << (d.effects == 0 ? std::string("none") : EffectNames(d.effects)) << "\n";
  out << Paint(color, kDim,
               absl::StrCat("policy ", options.policy_dir, " (version ",
                            policy.version().substr(0, 12), "), now ",
                            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone()), " (",
                            now_source, ")"))
      << "\n";

  if (d.matches.empty()) {
    out << "\nno rule fired\n";
    return;
  }
  absl::flat_hash_map<std::string, const lang::RuleDecl*> rules;
  for (const lang::RuleDecl& r : policy.ast().rules) rules[r.id] = &r;

  out << "\n";
  for (const RuleMatch& m : d.matches) {
    std::string head = Paint(color, kBold, Printable(m.rule_id));
    auto it = rules.find(m.rule_id);
    if (it != rules.end()) {
      std::string does = WhatTheRuleDoes(*it->second);
      if (!does.empty()) absl::StrAppend(&head, "  ", Paint(color, kCyan, does));
    }
    if (m.monitor) {
      absl::StrAppend(&head, "  ", Paint(color, kMagenta, "[monitor: reported, changes nothing]"));
    }
    out << head << "\n";
    if (!m.reason.empty()) out << "    " << Printable(m.reason) << "\n";
    for (const Evidence& e : m.evidence) {
      const FieldDef* def = FindField(e.field);
      const text::NormalizedText* text =
          def != nullptr && def->text != nullptr ? def->text(input) : nullptr;
      if (text != nullptr && e.end >= e.start && e.end <= text->unfolded.size()) {
        out << "    " << Paint(color, kDim, absl::StrCat(e.field, "[", e.start, ":", e.end, "]"))
            << "  " << SpanInContext(text->unfolded, e.start, e.end, color) << "\n";
      } else {
        out << "    " << Printable(e.text) << "\n";
      }
    }
  }
}

}  // namespace

int RunEval(const EvalOptions& options, std::ostream& out, std::ostream& err) {
  RequestFacts facts;
  if (!options.facts_path.empty()) {
    absl::StatusOr<RequestFacts> loaded = LoadFactsFile(options.facts_path);
    if (!loaded.ok()) {
      err << "fedwall eval: " << StatusLine(loaded.status()) << "\n";
      return 2;
    }
    facts = *std::move(loaded);
  }
  absl::Time fallback_now = absl::Now();
  std::string now_source = "the current time";
  if (!options.now.empty()) {
    std::string parse_error;
    if (!absl::ParseTime(absl::RFC3339_full, options.now, &fallback_now, &parse_error)) {
      err << "fedwall eval: --now: not an RFC 3339 time: " << Printable(options.now) << "\n";
      return 2;
    }
    now_source = "--now";
  }
  if (facts.delivery.received_at.has_value()) now_source = "the delivery's receivedAt";

  absl::StatusOr<std::string> json = ReadFile(options.activity_path, kMaxActivityFileBytes);
  if (!json.ok()) {
    err << "fedwall eval: " << StatusLine(json.status()) << "\n";
    return 1;
  }

  std::shared_ptr<const Policy> policy = LoadPolicyOrReport(
      "eval", options.policy_dir, err, options.output.err_color, /*compile_seconds=*/nullptr);
  if (policy == nullptr) return 1;

  ActivityParser parser;
  absl::StatusOr<Activity> activity = parser.Parse(*json);
  if (!activity.ok()) {
    err << "fedwall eval: " << options.activity_path << ": " << StatusLine(activity.status())
        << "\n";
    return 1;
  }
  MergeActorFacts(facts.actor, &*activity);
  const absl::Time now = EffectiveNow(facts, fallback_now);

  // One activity on its own: counters see only it (a wave needs `fedwall replay` or `test`).
  counters::MemoryCounterStore counter_store;
  std::vector<std::optional<double>> counter_values;
  counters::Count(counter_store, policy->counters(), *activity, now, /*record=*/false,
                  &counter_values);
  Evaluator evaluator;
  Decision decision = evaluator.Decide(*policy, *activity, facts, now, counter_values);

  if (options.json) {
    out << convert::DecisionToJson(decision, options.output.pretty) << "\n";
    return 0;
  }
  FieldInput input{*activity, facts, now, &policy->domains()};
  PrintHuman(decision, *policy, options, input, now, now_source, out);
  return 0;
}

}  // namespace fedwall::tools
