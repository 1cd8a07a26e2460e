// fedwall: the command line for rule authors, admins and moderators.
// See docs/cli.md. Argument parsing only; each subcommand lives in its own file.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tools/commands.h"

namespace {

fedwall::tools::OutputOptions TerminalOutput() {
  fedwall::tools::OutputOptions o;
  bool tty = isatty(STDOUT_FILENO) == 1;
  o.pretty = tty;
  o.color = tty && std::getenv("NO_COLOR") == nullptr;
  o.progress = isatty(STDERR_FILENO) == 1;
  o.err_color = o.progress && std::getenv("NO_COLOR") == nullptr;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  // `blocklist lookup FILE... -- DOMAIN...`: everything after the first "--" is a domain.
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> after_separator;
  bool has_separator = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      after_separator.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      args.resize(i);
      has_separator = true;
      break;
    }
  }

  CLI::App app{"fedwall: content moderation and federation policy for the fediverse", "fedwall"};
  app.set_version_flag("--version", std::string("fedwall ") + FEDWALL_VERSION);
  app.require_subcommand(1);
  app.footer("Run `fedwall COMMAND --help` for a command's options. Docs: docs/cli.md");

  fedwall::tools::InspectOptions inspect;
  auto* inspect_cmd = app.add_subcommand(
      "inspect", "Show what the engine sees in an activity: one JSON object, field -> value");
  inspect_cmd->add_option("FILE", inspect.activity_path, "Activity JSON file ('-': stdin)")
      ->required();
  inspect_cmd
      ->add_option("--facts", inspect.facts_path,
                   "Request facts: {\"delivery\": {...}, \"actor\": {...}} in proto3 JSON")
      ->check(CLI::ExistingFile);
  inspect_cmd->add_option("--now", inspect.now,
                          "The time durations are measured from (RFC 3339); default: the "
                          "facts' receivedAt, else the current time");
  bool inspect_pretty = false;
  inspect_cmd->add_flag("--pretty", inspect_pretty, "Indent the JSON (default on a terminal)");

  fedwall::tools::FieldsOptions fields;
  auto* fields_cmd =
      app.add_subcommand("fields", "List the rule language's fields with types and descriptions");
  fields_cmd->add_flag("--json", fields.json, "One JSON object per line");
  fields_cmd->add_flag("--markdown", fields.markdown, "A Markdown table (as in docs/fields.md)");

  auto* blocklist_cmd = app.add_subcommand("blocklist", "Work with domain blocklist files");
  blocklist_cmd->require_subcommand(1);
  fedwall::tools::BlocklistLookupOptions lookup;
  auto* lookup_cmd = blocklist_cmd->add_subcommand(
      "lookup",
      "Which entry of the merged lists covers each domain: FILE... -- DOMAIN... (one JSON line "
      "per domain)");
  lookup_cmd->add_option("FILE", lookup.files, "Blocklist files in any supported format")
      ->required();
  lookup_cmd->add_option("--format", lookup.format,
                         "Force a format: mastodon_csv, fediblockhole_csv, mastodon_api_json, "
                         "gotosocial_json, rapidblock_json, plain");

  // ----- Rule authoring -------------------------------------------------------------------
  fedwall::tools::CheckOptions check;
  auto* check_cmd = app.add_subcommand(
      "check",
      "Compile a policy: every diagnostic as path:line:col: error|warning: message, then a "
      "summary (rules, patterns, domains, compile time). Exit 0 when it compiles, 1 on errors");
  check_cmd->add_option("POLICY_DIR", check.policy_dir, "Policy directory (*.rules files)")
      ->required();

  fedwall::tools::TestOptions test;
  auto* test_cmd = app.add_subcommand(
      "test",
      "Run every `test` block of a policy; the last line is `N passed, M failed`. Exit 1 if "
      "any failed or the policy does not compile");
  test_cmd->add_option("POLICY_DIR", test.policy_dir, "Policy directory")->required();
  test_cmd->add_flag("-v,--verbose", test.verbose, "Also list the tests that passed");

  fedwall::tools::EvalOptions eval;
  auto* eval_cmd = app.add_subcommand(
      "eval",
      "Decide one activity and explain why: verdict, effects, score, the rules that "
      "fired and their evidence");
  eval_cmd->add_option("POLICY_DIR", eval.policy_dir, "Policy directory")->required();
  eval_cmd->add_option("FILE", eval.activity_path, "Activity JSON file ('-': stdin)")->required();
  eval_cmd
      ->add_option("--facts", eval.facts_path,
                   "Request facts: {\"delivery\": {...}, \"actor\": {...}} in proto3 JSON")
      ->check(CLI::ExistingFile);
  eval_cmd->add_option("--now", eval.now,
                       "The time durations are measured from (RFC 3339); default: the facts' "
                       "receivedAt, else the current time");
  eval_cmd->add_flag("--json", eval.json, "Print the EvaluateResponse in the proto3 JSON mapping");
  bool eval_pretty = false;
  eval_cmd->add_flag("--pretty", eval_pretty, "Indent the JSON (default on a terminal)");

  fedwall::tools::ReplayOptions replay;
  auto* replay_cmd = app.add_subcommand(
      "replay",
      "Evaluate a corpus (one activity, or {\"activity\", \"delivery\", \"actor\"}, per line) "
      "and summarise verdicts, rule hits and throughput; with --against, list the activities "
      "whose verdict differs from another policy's");
  replay_cmd->add_option("POLICY_DIR", replay.policy_dir, "Policy directory")->required();
  replay_cmd->add_option("CORPUS", replay.corpus_path, "JSON lines file ('-': stdin)")->required();
  replay_cmd->add_option("--against", replay.against_dir,
                         "Baseline policy directory: report verdict changes from it to "
                         "POLICY_DIR (\"from\" is the baseline's verdict, \"to\" POLICY_DIR's)");
  replay_cmd->add_option("--now", replay.now,
                         "The time durations are measured from (RFC 3339); default: each "
                         "line's receivedAt, else the object's published");
  replay_cmd->add_flag("--json", replay.json, "Print one summary object");
  bool replay_pretty = false;
  replay_cmd->add_flag("--pretty", replay_pretty, "Indent the JSON (default on a terminal)");

  auto* corpus_cmd =
      app.add_subcommand("corpus", "Synthetic activity corpora for backtests and benchmarks");
  corpus_cmd->require_subcommand(1);
  fedwall::tools::CorpusGenerateOptions corpus;
  auto* generate_cmd = corpus_cmd->add_subcommand(
      "generate",
      "Print a deterministic, realistic corpus as JSON lines: 45% Create (Mastodon, Misskey, "
      "Pleroma Notes; some spam), 30% Like, 15% Announce, 10% Follow. Same options, same bytes");
  generate_cmd
      ->add_option("--count", corpus.count, "Number of activities (default 1000; at most 2^40)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 40));
  generate_cmd->add_option("--seed", corpus.seed, "Random seed (default 1)");
  generate_cmd
      ->add_option("--spam-share", corpus.spam_share,
                   "Share of the Create activities that are spam (0..1, default 0.05)")
      ->check(CLI::Range(0.0, 1.0));
  generate_cmd->add_flag("--creates-only", corpus.creates_only, "Only Create activities");

  // ----- Operating the service ------------------------------------------------------------
  fedwall::tools::BenchOptions bench;
  auto* bench_cmd = app.add_subcommand(
      "bench",
      "Load a running PolicyService (fedwalld, or fedwall-empty-server for the baseline) with "
      "a corpus; print calls, errors, throughput, latency percentiles and verdicts");
  bench_cmd
      ->add_option("--server", bench.server,
                   "HOST:PORT of the server (default: the FEDWALL_SERVER environment variable)")
      ->envname("FEDWALL_SERVER")
      ->required();
  bench_cmd
      ->add_option("--mode", bench.mode,
                   "unary: Evaluate calls; batch: EvaluateBatch calls; stream: EvaluateStream "
                   "(default unary)")
      ->check(CLI::IsMember({"unary", "batch", "stream"}));
  bench_cmd
      ->add_option("--concurrency", bench.concurrency,
                   "Calls in flight, or streams in stream mode (default 32)")
      ->check(CLI::Range(1u, 1024u));
  bench_cmd
      ->add_option("--channels", bench.channels,
                   "HTTP/2 connections shared by the calls (default 1)")
      ->check(CLI::Range(1u, 256u));
  bench_cmd->add_option("--duration", bench.duration,
                        "How long to measure: 10s, 500ms, 2m (default 10s)");
  bench_cmd->add_option("--warmup", bench.warmup,
                        "Load before measuring, not counted (default 1s; 0s for none)");
  bench_cmd
      ->add_option("--batch-size", bench.batch_size, "batch: activities per call (default 128)")
      ->check(CLI::Range(1u, 10000u));
  bench_cmd
      ->add_option("--window", bench.window, "stream: requests unanswered per stream (default 64)")
      ->check(CLI::Range(1u, 4096u));
  bench_cmd->add_option("--corpus", bench.corpus_path,
                        "JSON lines: one activity, or {\"activity\", \"delivery\", \"actor\"}, "
                        "per line ('-': stdin); default: generated activities");
  bench_cmd
      ->add_option("--count", bench.count,
                   "Activities prepared: generated, or the corpus' first (default 10000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}));
  bench_cmd->add_option("--seed", bench.seed, "Generator seed (default 1)");
  bench_cmd->add_flag("--creates-only", bench.creates_only, "Generate only Create activities");
  bench_cmd->add_flag("--store-flags", bench.store_flags,
                      "Send dry_run = false, so FLAGs fill the review queue (default: dry run)");
  bench_cmd->add_flag("--json", bench.json, "Print one summary object");
  bool bench_pretty = false;
  bench_cmd->add_flag("--pretty", bench_pretty, "Indent the JSON (default on a terminal)");

  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // Help and --version exit 0; every usage error exits 2 (docs/cli.md), whatever CLI11's
    // own code for it.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (inspect_cmd->parsed()) {
    inspect.output = TerminalOutput();
    inspect.output.pretty = inspect.output.pretty || inspect_pretty;
    return fedwall::tools::RunInspect(inspect, std::cout, std::cerr);
  }
  if (fields_cmd->parsed()) {
    fields.output = TerminalOutput();
    return fedwall::tools::RunFields(fields, std::cout, std::cerr);
  }
  if (lookup_cmd->parsed()) {
    if (!has_separator || after_separator.empty()) {
      std::cerr << "fedwall blocklist lookup: give the domains after '--': "
                   "fedwall blocklist lookup FILE... -- DOMAIN...\n";
      return 2;
    }
    lookup.domains = after_separator;
    return fedwall::tools::RunBlocklistLookup(lookup, std::cout, std::cerr);
  }
  if (has_separator) {
    std::cerr << "fedwall: unexpected '--'\n";
    return 2;
  }
  if (check_cmd->parsed()) {
    check.output = TerminalOutput();
    return fedwall::tools::RunCheck(check, std::cout, std::cerr);
  }
  if (test_cmd->parsed()) {
    test.output = TerminalOutput();
    return fedwall::tools::RunTest(test, std::cout, std::cerr);
  }
  if (eval_cmd->parsed()) {
    eval.output = TerminalOutput();
    eval.output.pretty = eval.output.pretty || eval_pretty;
    return fedwall::tools::RunEval(eval, std::cout, std::cerr);
  }
  if (replay_cmd->parsed()) {
    replay.output = TerminalOutput();
    replay.output.pretty = replay.output.pretty || replay_pretty;
    return fedwall::tools::RunReplay(replay, std::cout, std::cerr);
  }
  if (generate_cmd->parsed()) {
    corpus.output = TerminalOutput();
    // The corpus itself streams to standard output: no bar when that is the same terminal.
    corpus.output.progress = corpus.output.progress && isatty(STDOUT_FILENO) != 1;
    return fedwall::tools::RunCorpusGenerate(corpus, std::cout, std::cerr);
  }
  if (bench_cmd->parsed()) {
    bench.output = TerminalOutput();
    bench.output.pretty = bench.output.pretty || bench_pretty;
    return fedwall::tools::RunBench(bench, std::cout, std::cerr);
  }
  return 0;
}
