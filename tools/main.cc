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

// --server and --token-file of the commands that talk to fedwalld, with their defaults from
// the environment.
void AddConnectionOptions(CLI::App* cmd, fedwall::tools::AdminConnectionOptions* connection) {
  cmd->add_option("--server", connection->server,
                  "HOST:PORT of fedwalld's AdminService (default: FEDWALL_SERVER)")
      ->envname("FEDWALL_SERVER");
  cmd->add_option("--token-file", connection->token_file,
                  "File with the admin token, first line (default: FEDWALL_TOKEN_FILE)")
      ->envname("FEDWALL_TOKEN_FILE");
  cmd->add_flag("--tls", connection->tls,
                "Connect with TLS, trusting the system's CA roots (default: FEDWALL_TLS)")
      ->envname("FEDWALL_TLS");
  cmd->add_option("--ca-file", connection->ca_file,
                  "TLS: the CA certificate (PEM) that signed fedwalld's (default: FEDWALL_CA_FILE)")
      ->envname("FEDWALL_CA_FILE");
  cmd->add_option("--client-cert", connection->cert_file,
                  "TLS: client certificate (PEM) for an admin port that requires one "
                  "(default: FEDWALL_CLIENT_CERT)")
      ->envname("FEDWALL_CLIENT_CERT");
  cmd->add_option("--client-key", connection->key_file,
                  "TLS: the client certificate's key (PEM) (default: FEDWALL_CLIENT_KEY)")
      ->envname("FEDWALL_CLIENT_KEY");
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

  // ----- Moderating through a running fedwalld -------------------------------------------
  auto* review_cmd = app.add_subcommand(
      "review", "Work through the review queue of a running fedwalld: list, show, approve, remove");
  review_cmd->require_subcommand(1);

  fedwall::tools::ReviewListOptions review_list;
  auto* review_list_cmd = review_cmd->add_subcommand(
      "list",
      "A page of flags, oldest first (pending ones by default): id, age, score, actor, rules");
  AddConnectionOptions(review_list_cmd, &review_list.connection);
  review_list_cmd
      ->add_option("--status", review_list.status,
                   "pending, approved, removed or all (default pending)")
      ->check(CLI::IsMember({"pending", "approved", "removed", "all"}));
  review_list_cmd->add_option("--rule", review_list.rule_id, "Only flags where this rule fired");
  review_list_cmd->add_option("--domain", review_list.domain,
                              "Only flags whose actor is on this domain (or a subdomain)");
  review_list_cmd->add_option("--limit", review_list.limit, "Flags per page (default 20)")
      ->check(CLI::Range(1, 1000));
  review_list_cmd->add_option("--page-token", review_list.page_token,
                              "Continue from where the previous page ended");
  review_list_cmd->add_flag("--json",
                            review_list.json,
                            "One Flag per line in proto3 JSON (without the stored activity)");

  fedwall::tools::ReviewShowOptions review_show;
  auto* review_show_cmd = review_cmd->add_subcommand(
      "show",
      "One flag: actor, time, status, score, the post as a reader sees it, the rules that "
      "fired with the matched text highlighted");
  AddConnectionOptions(review_show_cmd, &review_show.connection);
  review_show_cmd->add_option("ID", review_show.id, "The flag's id")->required();
  review_show_cmd->add_flag(
      "--json", review_show.json,
      "The Flag in proto3 JSON, one line, with the stored activity decoded under \"activity\"");

  fedwall::tools::ReviewResolveOptions review_approve;
  auto* review_approve_cmd =
      review_cmd->add_subcommand("approve", "Let a flagged post stand");
  AddConnectionOptions(review_approve_cmd, &review_approve.connection);
  review_approve_cmd->add_option("ID", review_approve.id, "The flag's id")->required();
  review_approve_cmd->add_option("--note", review_approve.note, "A note for the record");
  review_approve_cmd->add_option(
      "--as", review_approve.moderator,
      "The moderator's name (default: FEDWALL_MODERATOR, else USER)");

  fedwall::tools::ReviewResolveOptions review_remove;
  review_remove.remove = true;
  auto* review_remove_cmd = review_cmd->add_subcommand(
      "remove", "Remove a flagged post; with --block-domain also suspend its actor's domain");
  AddConnectionOptions(review_remove_cmd, &review_remove.connection);
  review_remove_cmd->add_option("ID", review_remove.id, "The flag's id")->required();
  review_remove_cmd->add_flag("--block-domain", review_remove.block_domain,
                              "Also suspend the actor's domain (never weakens an existing block)");
  review_remove_cmd->add_option("--note", review_remove.note, "A note for the record");
  review_remove_cmd->add_option(
      "--as", review_remove.moderator,
      "The moderator's name (default: FEDWALL_MODERATOR, else USER)");

  auto* blocks_cmd = app.add_subcommand(
      "blocks", "Manage the API-made domain blocks of a running fedwalld: list, add, remove, import");
  blocks_cmd->require_subcommand(1);

  fedwall::tools::BlocksListOptions blocks_list;
  auto* blocks_list_cmd =
      blocks_cmd->add_subcommand("list", "The API-made domain blocks, sorted by domain");
  AddConnectionOptions(blocks_list_cmd, &blocks_list.connection);
  blocks_list_cmd->add_flag("--json", blocks_list.json,
                            "One DomainBlock per line in proto3 JSON");

  fedwall::tools::BlocksAddOptions blocks_add;
  auto* blocks_add_cmd = blocks_cmd->add_subcommand(
      "add", "Block a domain and its subdomains (replaces its API block); applies at once");
  AddConnectionOptions(blocks_add_cmd, &blocks_add.connection);
  blocks_add_cmd->add_option("DOMAIN", blocks_add.domain, "The domain (any form; normalised)")
      ->required();
  blocks_add_cmd->add_option("--severity", blocks_add.severity, "suspend, silence or noop")
      ->required()
      ->check(CLI::IsMember({"suspend", "silence", "noop"}));
  blocks_add_cmd->add_flag("--reject-media", blocks_add.reject_media,
                           "Strip media from its activities");
  blocks_add_cmd->add_flag("--reject-reports", blocks_add.reject_reports,
                           "Reject its reports (Flag activities)");
  blocks_add_cmd->add_option("--comment", blocks_add.comment, "Reason shown publicly");
  blocks_add_cmd->add_option("--private-comment", blocks_add.private_comment,
                             "Note for moderators only");

  fedwall::tools::BlocksRemoveOptions blocks_remove;
  auto* blocks_remove_cmd =
      blocks_cmd->add_subcommand("remove", "Remove the API-made block of a domain");
  AddConnectionOptions(blocks_remove_cmd, &blocks_remove.connection);
  blocks_remove_cmd->add_option("DOMAIN", blocks_remove.domain, "The domain")->required();

  fedwall::tools::BlocksImportOptions blocks_import;
  auto* blocks_import_cmd = blocks_cmd->add_subcommand(
      "import",
      "Import a blocklist in any supported format in one transaction; prints `N added, N "
      "changed, N unchanged, N skipped` and each skipped row as FILE:LINE: reason");
  AddConnectionOptions(blocks_import_cmd, &blocks_import.connection);
  blocks_import_cmd->add_option("FILE", blocks_import.file, "The blocklist ('-': stdin)")
      ->required();
  blocks_import_cmd->add_option("--format", blocks_import.format,
                                "mastodon_csv, fediblockhole_csv, mastodon_api_json, "
                                "gotosocial_json, rapidblock_json, plain (default: detected)");
  blocks_import_cmd
      ->add_option("--default-severity", blocks_import.default_severity,
                   "Severity for formats without one: suspend, silence, noop (default suspend)")
      ->check(CLI::IsMember({"suspend", "silence", "noop"}));
  blocks_import_cmd->add_flag("--replace", blocks_import.replace,
                              "The file's entries replace existing blocks (default: an import "
                              "never weakens a block)");

  auto* policy_cmd =
      app.add_subcommand("policy", "The live policy of a running fedwalld: status, reload");
  policy_cmd->require_subcommand(1);

  fedwall::tools::PolicyStatusOptions policy_status;
  auto* policy_status_cmd = policy_cmd->add_subcommand(
      "status", "The live policy's version, load time, rule/pattern/domain counts and warnings");
  AddConnectionOptions(policy_status_cmd, &policy_status.connection);
  policy_status_cmd->add_flag("--json", policy_status.json,
                              "The GetPolicyResponse in proto3 JSON, one line");

  fedwall::tools::PolicyReloadOptions policy_reload;
  auto* policy_reload_cmd = policy_cmd->add_subcommand(
      "reload",
      "Recompile the server's policy; on errors print every diagnostic and exit 1 (the old "
      "policy keeps serving)");
  AddConnectionOptions(policy_reload_cmd, &policy_reload.connection);

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
  if (review_list_cmd->parsed()) {
    review_list.output = TerminalOutput();
    return fedwall::tools::RunReviewList(review_list, std::cout, std::cerr);
  }
  if (review_show_cmd->parsed()) {
    review_show.output = TerminalOutput();
    return fedwall::tools::RunReviewShow(review_show, std::cout, std::cerr);
  }
  if (review_approve_cmd->parsed()) {
    review_approve.output = TerminalOutput();
    return fedwall::tools::RunReviewResolve(review_approve, std::cout, std::cerr);
  }
  if (review_remove_cmd->parsed()) {
    review_remove.output = TerminalOutput();
    return fedwall::tools::RunReviewResolve(review_remove, std::cout, std::cerr);
  }
  if (blocks_list_cmd->parsed()) {
    blocks_list.output = TerminalOutput();
    return fedwall::tools::RunBlocksList(blocks_list, std::cout, std::cerr);
  }
  if (blocks_add_cmd->parsed()) {
    blocks_add.output = TerminalOutput();
    return fedwall::tools::RunBlocksAdd(blocks_add, std::cout, std::cerr);
  }
  if (blocks_remove_cmd->parsed()) {
    blocks_remove.output = TerminalOutput();
    return fedwall::tools::RunBlocksRemove(blocks_remove, std::cout, std::cerr);
  }
  if (blocks_import_cmd->parsed()) {
    blocks_import.output = TerminalOutput();
    return fedwall::tools::RunBlocksImport(blocks_import, std::cout, std::cerr);
  }
  if (policy_status_cmd->parsed()) {
    policy_status.output = TerminalOutput();
    return fedwall::tools::RunPolicyStatus(policy_status, std::cout, std::cerr);
  }
  if (policy_reload_cmd->parsed()) {
    policy_reload.output = TerminalOutput();
    return fedwall::tools::RunPolicyReload(policy_reload, std::cout, std::cerr);
  }
  return 0;
}
