// `fedwall replay POLICY_DIR CORPUS.jsonl [--against OTHER_DIR]`: backtest a policy on a corpus
// (docs/cli.md).
#include <simdjson.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/counters/memory_counter_store.h"
#include "engine/fields/field_registry.h"
#include "engine/policy/policy.h"
#include "tools/commands.h"
#include "tools/corpus_line.h"
#include "proto/convert/facts.h"
#include "tools/files.h"
#include "tools/human_output.h"
#include "tools/json_writer.h"
#include "tools/progress.h"

namespace fedwall::tools {
namespace {

// Verdict slots: ACCEPT, FLAG, REJECT, ERROR (the order of the JSON summary).
constexpr size_t kError = 3;
constexpr const char* kSlotNames[] = {"ACCEPT", "FLAG", "REJECT", "ERROR"};

size_t Slot(Verdict v) {
  switch (v) {
    case Verdict::kAccept:
      return 0;
    case Verdict::kFlag:
      return 1;
    case Verdict::kReject:
      return 2;
  }
  return 0;
}

// One corpus line taken apart: the activity's bytes and the request facts.
struct Item {
  std::string_view activity_json;
  RequestFacts facts;
};

// What a policy made of the corpus.
struct Tally {
  std::array<uint64_t, 4> verdicts = {0, 0, 0, 0};
  absl::flat_hash_map<std::string, uint64_t> rule_hits;

  void Count(const Decision& d) {
    ++verdicts[Slot(d.verdict)];
    for (const RuleMatch& m : d.matches) {
      auto it = rule_hits.find(absl::string_view(m.rule_id));
      if (it == rule_hits.end()) {
        rule_hits.emplace(m.rule_id, 1);
      } else {
        ++it->second;
      }
    }
  }
  uint64_t Hits(const std::string& id) const {
    auto it = rule_hits.find(id);
    return it == rule_hits.end() ? 0 : it->second;
  }
};

// Rule ids in report order: synthetic ids that occurred (sorted), then every rule of the
// policy in policy order (zero hits included: a rule that never fires is worth knowing).
std::vector<std::string> RuleOrder(const Policy& policy, const Tally& tally) {
  absl::flat_hash_set<std::string> ids;
  std::vector<std::string> order;
  for (const lang::RuleDecl& r : policy.ast().rules) ids.insert(r.id);
  for (const auto& [id, hits] : tally.rule_hits) {
    if (!ids.contains(id)) order.push_back(id);
  }
  std::sort(order.begin(), order.end());
  for (const lang::RuleDecl& r : policy.ast().rules) order.push_back(r.id);
  return order;
}

struct Change {
  uint64_t line = 0;
  uint8_t from = 0;  // slot, baseline (--against)
  uint8_t to = 0;    // slot, POLICY_DIR
};

std::string FiredIds(const Decision& d) {
  std::vector<std::string> ids;
  for (const RuleMatch& m : d.matches) {
    ids.push_back(m.monitor ? absl::StrCat(m.rule_id, " (monitor)") : m.rule_id);
  }
  return ids.empty() ? "-" : absl::StrJoin(ids, ", ");
}

// Splits a corpus line (tools/corpus_line.h) into the item's activity and facts. Returns an
// error message, or "".
std::string SplitLine(std::string_view line, simdjson::ondemand::parser& json,
                      simdjson::padded_string& padded, Item* item) {
  item->facts = RequestFacts{};
  CorpusLine split;
  std::string error = SplitCorpusLine(line, json, padded, &split);
  item->activity_json = split.activity_json;
  if (!error.empty() || split.facts_json.empty()) return error;
  absl::StatusOr<RequestFacts> facts = convert::ParseFactsJson(split.facts_json);
  if (!facts.ok()) return absl::StrCat("facts: ", StatusLine(facts.status()));
  item->facts = *std::move(facts);
  return "";
}

uint64_t FileSize(std::FILE* f) {
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<uint64_t>(st.st_size);
}

double Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

std::string Rate(double per_second) {
  if (per_second >= 1e4) return absl::StrFormat("%.0fk", per_second / 1e3);
  return absl::StrFormat("%.0f", per_second);
}

}  // namespace

int RunReplay(const ReplayOptions& options, std::ostream& out, std::ostream& err) {
  const bool color = options.output.color;
  std::optional<absl::Time> fixed_now;
  if (!options.now.empty()) {
    absl::Time t;
    std::string parse_error;
    if (!absl::ParseTime(absl::RFC3339_full, options.now, &t, &parse_error)) {
      err << "fedwall replay: --now: not an RFC 3339 time: " << Printable(options.now) << "\n";
      return 2;
    }
    fixed_now = t;
  }

  std::FILE* file =
      options.corpus_path == "-" ? stdin : std::fopen(options.corpus_path.c_str(), "rb");
  if (file == nullptr) {
    err << "fedwall replay: " << options.corpus_path << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(
      file, file == stdin ? +[](std::FILE*) { return 0; } : &std::fclose);

  double compile_seconds = 0;
  std::shared_ptr<const Policy> policy = LoadPolicyOrReport(
      "replay", options.policy_dir, err, options.output.err_color, &compile_seconds);
  if (policy == nullptr) return 1;
  std::shared_ptr<const Policy> baseline;
  double baseline_compile_seconds = 0;
  if (!options.against_dir.empty()) {
    baseline = LoadPolicyOrReport("replay", options.against_dir, err, options.output.err_color,
                                  &baseline_compile_seconds);
    if (baseline == nullptr) return 1;
  }

  // The wall clock, read once, for lines with no receivedAt, no --now and no published.
  const absl::Time wall_now = absl::Now();
  ActivityParseOptions parse_options;
  parse_options.max_bytes = options.max_line_bytes;
  ActivityParser parser(parse_options);
  Evaluator evaluator;
  counters::MemoryCounterStore counter_store;
  counters::MemoryCounterStore baseline_counter_store;
  std::vector<std::optional<double>> counter_values;
  simdjson::ondemand::parser wrapper_parser;
  simdjson::padded_string padded;
  LineReader reader(file, options.max_line_bytes);
  ProgressBar progress(err, options.output.progress, absl::StrCat("replaying ", options.policy_dir),
                       FileSize(file), "activities");

  Tally tally;
  Tally baseline_tally;
  uint64_t total = 0;
  uint64_t evaluated = 0;
  std::chrono::steady_clock::duration eval_time{};
  std::vector<std::pair<uint64_t, std::string>> errors;  // the first max_listed_errors
  std::vector<Change> changes;
  std::vector<std::string> change_details;  // the first max_listed_changes, for humans
  Item item;

  auto error = [&](uint64_t line, std::string message) {
    ++tally.verdicts[kError];
    ++baseline_tally.verdicts[kError];
    if (errors.size() < options.max_listed_errors) errors.emplace_back(line, std::move(message));
  };

  std::string_view line;
  bool read_failed = false;
  while (true) {
    LineReader::Result r = reader.Next(&line);
    if (r == LineReader::Result::kEnd) break;
    if (r == LineReader::Result::kError) {
      read_failed = true;
      break;
    }
    const uint64_t line_number = reader.line_number();
    progress.Update(reader.bytes_read(), total);
    if (r == LineReader::Result::kTooLong) {
      ++total;
      error(line_number, absl::StrCat("longer than ", options.max_line_bytes,
                                      " bytes (the per-activity limit)"));
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank line
    ++total;
    std::string split_error = SplitLine(line, wrapper_parser, padded, &item);
    if (!split_error.empty()) {
      error(line_number, std::move(split_error));
      continue;
    }

    // Evaluation proper (what activities_per_second measures): parse, merge, decide.
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<Activity> activity = parser.Parse(item.activity_json);
    if (!activity.ok()) {
      eval_time += std::chrono::steady_clock::now() - start;
      error(line_number, StatusLine(activity.status()));
      continue;
    }
    MergeActorFacts(item.facts.actor, &*activity);
    const absl::Time now =
        EffectiveNow(item.facts, fixed_now.value_or(activity->published.value_or(wall_now)));
    // Counters remember the corpus read so far, in file order (one store per policy).
    counters::Count(counter_store, policy->counters(), *activity, now, /*record=*/true,
                    &counter_values);
    Decision decision = evaluator.Decide(*policy, *activity, item.facts, now, counter_values);
    eval_time += std::chrono::steady_clock::now() - start;
    ++evaluated;
    tally.Count(decision);

    if (baseline != nullptr) {
      counters::Count(baseline_counter_store, baseline->counters(), *activity, now,
                      /*record=*/true, &counter_values);
      Decision before = evaluator.Decide(*baseline, *activity, item.facts, now, counter_values);
      baseline_tally.Count(before);
      if (before.verdict != decision.verdict) {
        changes.push_back({line_number, static_cast<uint8_t>(Slot(before.verdict)),
                           static_cast<uint8_t>(Slot(decision.verdict))});
        if (change_details.size() < options.max_listed_changes) {
          change_details.push_back(
              absl::StrCat("      from: ", FiredIds(before), "\n      to:   ", FiredIds(decision)));
        }
      }
    }
  }
  progress.Finish();
  if (read_failed) {
    err << "fedwall replay: " << options.corpus_path << ": read error: " << reader.error() << "\n";
    return 1;
  }

  const double eval_seconds = std::chrono::duration<double>(eval_time).count();
  const double per_second = eval_seconds > 0 ? static_cast<double>(evaluated) / eval_seconds : 0;
  const std::vector<std::string> order = RuleOrder(*policy, tally);

  if (options.json) {
    JsonWriter w(options.output.pretty);
    w.BeginObject();
    w.Key("total");
    w.Number(static_cast<double>(total));
    w.Key("verdicts");
    w.BeginObject();
    for (size_t i = 0; i < 4; ++i) {
      w.Key(kSlotNames[i]);
      w.Number(static_cast<double>(tally.verdicts[i]));
    }
    w.EndObject();
    w.Key("rules");
    w.BeginObject();
    for (const std::string& id : order) {
      w.Key(id);
      w.Number(static_cast<double>(tally.Hits(id)));
    }
    w.EndObject();
    w.Key("compile_seconds");
    w.Number(compile_seconds);
    w.Key("activities_per_second");
    w.Number(per_second);
    if (baseline != nullptr) {
      w.Key("changed");
      w.BeginArray();
      for (const Change& c : changes) {
        w.BeginObject();
        w.Key("line");
        w.Number(static_cast<double>(c.line));
        w.Key("from");
        w.String(kSlotNames[c.from]);
        w.Key("to");
        w.String(kSlotNames[c.to]);
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
    out << w.str() << "\n";
    return 0;
  }

  // Human summary.
  out << "replayed " << CountNoun(total, "activity", "activities") << " from "
      << options.corpus_path << " with " << options.policy_dir << " (version "
      << policy->version().substr(0, 12) << ")\n\n";
  const bool against = baseline != nullptr;
  out << absl::StrFormat("%-8s %10s %8s", "verdict", "count", "share");
  if (against) out << absl::StrFormat(" %12s", "baseline");
  out << "\n";
  for (size_t i = 0; i < 4; ++i) {
    std::string name = absl::StrFormat("%-8s", kSlotNames[i]);
    if (i < kError) name = Paint(color, VerdictColor(static_cast<Verdict>(i + 1)), name);
    out << name
        << absl::StrFormat(" %10d %7.2f%%", tally.verdicts[i], Percent(tally.verdicts[i], total));
    if (against) out << absl::StrFormat(" %12d", baseline_tally.verdicts[i]);
    out << "\n";
  }

  // Rules by hits, most first; ties in policy order.
  std::vector<std::string> by_hits;
  std::vector<std::string> never;
  for (const std::string& id : order) {
    (tally.Hits(id) > 0 || (against && baseline_tally.Hits(id) > 0) ? by_hits : never)
        .push_back(id);
  }
  if (against) {  // rules only the baseline has, that fired there
    for (const std::string& id : RuleOrder(*baseline, baseline_tally)) {
      if (baseline_tally.Hits(id) > 0 &&
          std::find(by_hits.begin(), by_hits.end(), id) == by_hits.end()) {
        by_hits.push_back(id);
      }
    }
  }
  std::stable_sort(by_hits.begin(), by_hits.end(), [&](const std::string& a, const std::string& b) {
    return tally.Hits(a) > tally.Hits(b);
  });
  size_t width = 4;
  for (const std::string& id : by_hits) width = std::max(width, id.size());
  out << "\n" << absl::StrFormat("%-*s %10s %8s", width, "rule", "hits", "share");
  if (against) out << absl::StrFormat(" %12s", "baseline");
  out << "\n";
  size_t shown = 0;
  for (const std::string& id : by_hits) {
    if (++shown > options.max_listed_rules) {
      out << "\u2026 and " << by_hits.size() - options.max_listed_rules
          << " more (the full list: --json)\n";
      break;
    }
    out << absl::StrFormat("%-*s %10d %7.2f%%", width, id, tally.Hits(id),
                           Percent(tally.Hits(id), total));
    if (against) out << absl::StrFormat(" %12d", baseline_tally.Hits(id));
    out << "\n";
  }
  if (by_hits.empty()) out << "(no rule fired)\n";
  if (!never.empty()) {
    out << "never fired (" << never.size() << "): ";
    if (never.size() > options.max_listed_rules) {
      never.resize(options.max_listed_rules);
      never.push_back("\u2026");
    }
    out << absl::StrJoin(never, ", ") << "\n";
  }

  if (tally.verdicts[kError] > 0) {
    out << "\n" << Paint(color, kBoldRed, "errors") << " (" << tally.verdicts[kError] << "):\n";
    for (const auto& [line_number, message] : errors) {
      out << "  line " << line_number << ": " << message << "\n";
    }
    if (tally.verdicts[kError] > errors.size()) {
      out << "  \u2026 and " << tally.verdicts[kError] - errors.size() << " more\n";
    }
  }

  if (against) {
    out << "\nchanged verdicts: " << changes.size() << " of " << evaluated << " (from "
        << options.against_dir << " to " << options.policy_dir << ")\n";
    for (size_t i = 0; i < changes.size() && i < change_details.size(); ++i) {
      const Change& c = changes[i];
      out << "  line " << c.line << ": "
          << Paint(color, c.from < kError ? VerdictColor(static_cast<Verdict>(c.from + 1)) : kBold,
                   kSlotNames[c.from])
          << " -> "
          << Paint(color, c.to < kError ? VerdictColor(static_cast<Verdict>(c.to + 1)) : kBold,
                   kSlotNames[c.to])
          << "\n"
          << change_details[i] << "\n";
    }
    if (changes.size() > change_details.size()) {
      out << "  \u2026 and " << changes.size() - change_details.size()
          << " more (the full list: --json)\n";
    }
  }

  out << "\ncompiled in " << FormatSeconds(compile_seconds);
  if (against) out << " (baseline " << FormatSeconds(baseline_compile_seconds) << ")";
  out << "; evaluated " << CountNoun(evaluated, "activity", "activities") << " in "
      << FormatSeconds(eval_seconds) << ": " << Rate(per_second) << " activities/s on one core\n";
  return 0;
}

}  // namespace fedwall::tools
