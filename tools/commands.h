// The `fedwall` subcommands, one function each, so main.cc is only argument parsing and the
// commands can be driven from tests. Each returns the process exit status, writes its
// machine-readable output to `out` and its errors (one clear line each) to `err`.
#ifndef FEDWALL_TOOLS_COMMANDS_H_
#define FEDWALL_TOOLS_COMMANDS_H_

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace fedwall::tools {

struct OutputOptions {
  bool pretty = false;  // indent JSON (the default on a terminal)
  bool color = false;   // colour human-readable output on `out` (only on a terminal)
  // Standard error is a terminal: long jobs (replay, corpus generate) draw a progress bar
  // there, and diagnostics printed to `err` may be coloured (unless NO_COLOR is set).
  bool progress = false;
  bool err_color = false;
};

struct InspectOptions {
  std::string activity_path;  // "-" for standard input
  std::string facts_path;     // optional
  std::string now;            // optional RFC 3339 time; else received_at, else the wall clock
  OutputOptions output;
};
// `fedwall inspect FILE.json [--facts FACTS.json] [--now TIME]`: one JSON object, field name ->
// value, in registry order; unknown fields left out.
int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err);

struct FieldsOptions {
  bool json = false;      // one JSON object per line: {"name", "type", "description"}
  bool markdown = false;  // a Markdown table (docs/fields.md is this output)
  OutputOptions output;
};
// `fedwall fields`: the vocabulary with types and descriptions.
int RunFields(const FieldsOptions& options, std::ostream& out, std::ostream& err);

struct BlocklistLookupOptions {
  std::vector<std::string> files;
  std::vector<std::string> domains;
  std::string format;  // optional: force a format for every file
};
// `fedwall blocklist lookup FILE... -- DOMAIN...`: one JSON line per domain.
int RunBlocklistLookup(const BlocklistLookupOptions& options, std::ostream& out, std::ostream& err);

// ----- Rule authoring (docs/cli.md) -------------------------------------------------------
// Paths in diagnostics and test failures are printed relative to the current directory: the
// policy directory as given joined with the path inside it ("rules/spam.rules:12:3: error:
// ..."), so editors and terminals can jump to them.

struct CheckOptions {
  std::string policy_dir;
  OutputOptions output;
};
// `fedwall check POLICY_DIR`: every diagnostic on `out` (the report is what was asked for),
// then a summary; 0 when the policy compiles (warnings allowed), 1 on any error.
int RunCheck(const CheckOptions& options, std::ostream& out, std::ostream& err);

struct TestOptions {
  std::string policy_dir;
  bool verbose = false;  // also list the tests that passed
  OutputOptions output;
};
// `fedwall test POLICY_DIR`: runs every `test` block; failures on `out`, last line
// "N passed, M failed"; 0 when all passed, 1 when any failed or the policy does not compile
// (its diagnostics then go to `err`).
int RunTest(const TestOptions& options, std::ostream& out, std::ostream& err);

struct EvalOptions {
  std::string policy_dir;
  std::string activity_path;  // "-" for standard input
  std::string facts_path;     // optional
  std::string now;            // optional RFC 3339; else the facts' receivedAt, else the wall clock
  bool json = false;          // the EvaluateResponse in proto3 JSON
  OutputOptions output;
};
// `fedwall eval POLICY_DIR FILE.json`: decides one activity and explains the decision.
int RunEval(const EvalOptions& options, std::ostream& out, std::ostream& err);

struct ReplayOptions {
  std::string policy_dir;
  std::string corpus_path;  // JSON lines; "-" for standard input
  std::string against_dir;  // optional baseline policy: report verdict changes against it
  std::string now;          // optional RFC 3339; else each line's receivedAt, else published
  bool json = false;        // one summary object
  // Longest line read as an activity (the per-activity limit); longer lines are ERRORs.
  size_t max_line_bytes = 1 << 20;
  size_t max_listed_errors = 20;      // human output: error lines listed before "... and N more"
  size_t max_listed_rules = 200;      // human output: rules listed (by hits, and never fired)
  size_t max_listed_changes = 10000;  // human output: changed activities listed in detail
  OutputOptions output;
};
// `fedwall replay POLICY_DIR CORPUS.jsonl [--against OTHER_DIR]`: evaluates a corpus (streamed
// line by line) and summarises verdicts, rule hits, throughput and, with a baseline, changes.
int RunReplay(const ReplayOptions& options, std::ostream& out, std::ostream& err);

struct CorpusGenerateOptions {
  uint64_t count = 1000;
  uint64_t seed = 1;
  double spam_share = 0.05;  // share of Create activities that are spam, in [0, 1]
  bool creates_only = false;
  OutputOptions output;
};
// `fedwall corpus generate --count N --seed S [--spam-share F]`: a deterministic, realistic
// corpus as JSON lines (same options, same bytes).
int RunCorpusGenerate(const CorpusGenerateOptions& options, std::ostream& out, std::ostream& err);

// ----- Operating the service (docs/cli.md) -------------------------------------------------

struct BenchOptions {
  std::string server;          // HOST:PORT of a PolicyService (fedwalld, fedwall-empty-server)
  std::string mode = "unary";  // unary | batch | stream
  // Calls in flight (unary, batch) or streams (stream); 1..1024.
  uint32_t concurrency = 32;
  // HTTP/2 connections the workers share round-robin; 0 = the default (1: more were no faster
  // on the 2-core reference machine); at most 256, and never more than concurrency.
  uint32_t channels = 0;
  std::string duration = "10s";  // measured time ("10s", "500ms", "2m"; up to 1h)
  std::string warmup = "1s";     // load before measuring, not counted (0s: none)
  uint32_t batch_size = 128;     // batch: activities per EvaluateBatch call; 1..10000
  uint32_t window = 64;          // stream: requests unanswered per stream; 1..4096
  // JSON lines, one activity or {"activity", "delivery", "actor"} per line ("-": standard
  // input); "" = generate activities with the corpus generator.
  std::string corpus_path;
  uint64_t count = 10000;     // activities prepared (generated, or the corpus' first); 1..10^6
  uint64_t seed = 1;          // generator seed
  bool creates_only = false;  // generator: only Create activities
  bool store_flags = false;   // send dry_run = false (FLAGs go to the review queue)
  bool json = false;          // one summary object
  size_t max_line_bytes = 16 << 20;  // longest corpus line (the transport's message limit)
  OutputOptions output;
};
// `fedwall bench --server HOST:PORT --mode unary|batch|stream`: loads a running server with
// prepared requests for --duration (after --warmup) and reports calls, decisions, errors,
// throughput (decisions/s), latency percentiles (per call; per message for stream) and
// verdict counts. `--json` prints {"mode", "server", "concurrency", "channels", "window",
// "batch_size", "duration_seconds", "requests", "activities", "errors", "item_errors",
// "activities_per_second", "latency_ms": {"p50", "p90", "p99", "p999", "max"},
// "verdicts": {"ACCEPT", "FLAG", "REJECT"}}: requests = calls made (messages sent for
// stream), activities = responses with a verdict, errors = calls (streams) that failed,
// item_errors = responses with an error. Exit 2 on bad options, 1 when the server cannot be
// reached, the corpus cannot be read or every call failed (the first error is printed).
int RunBench(const BenchOptions& options, std::ostream& out, std::ostream& err);

// ----- Moderating through a running fedwalld (docs/cli.md) ----------------------------------
// These commands talk to the AdminService (tools/admin_client.h). Exit status: 0 done; 1 the
// server could not be reached, refused the token, did not know the id or refused the request
// (one line on `err` says which); 2 wrong usage (no --server or --token-file, a bad option).

// Where fedwalld's AdminService is: --server HOST:PORT and --token-file FILE (main.cc takes
// the defaults from FEDWALL_SERVER and FEDWALL_TOKEN_FILE).
struct AdminConnectionOptions {
  std::string server;
  std::string token_file;
  // TLS (fedwalld with server.tls_cert_file): the CA that signed the server's certificate
  // ("" with `tls`: the system's roots); a client certificate and key for an admin port that
  // requires them (server.admin_client_ca_file). Any of them set means TLS.
  bool tls = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  absl::Duration connect_timeout = absl::Seconds(5);  // an unreachable server fails this fast
  absl::Duration call_timeout = absl::Seconds(60);    // per call
};

struct ReviewListOptions {
  AdminConnectionOptions connection;
  std::string status = "pending";  // pending | approved | removed | all
  std::string rule_id;             // only flags where this rule fired
  std::string domain;              // only flags whose actor is on this domain or below
  int32_t limit = 20;              // flags per page, 1..1000
  std::string page_token;          // from the previous page's hint
  bool json = false;               // one Flag per line, proto3 JSON, without activityJson
  OutputOptions output;
};
// `fedwall review list`: a page of the queue, oldest first (pending ones by default): a table
// (id, age, score, actor, rules) that fits 80 columns, and a last line with the command for
// the next page when there is one (with --json that hint goes to `err`).
int RunReviewList(const ReviewListOptions& options, std::ostream& out, std::ostream& err);

struct ReviewShowOptions {
  AdminConnectionOptions connection;
  std::string id;
  bool json = false;  // the Flag in proto3 JSON with the activity decoded under "activity"
  OutputOptions output;
};
// `fedwall review show ID`: the actor, time, status and score, the post as a reader sees it
// (content warning first, text from the HTML with control characters removed, attachments as
// links) and the rules that fired with their evidence, the matched span highlighted (bold
// reverse on a terminal, [[...]] otherwise).
int RunReviewShow(const ReviewShowOptions& options, std::ostream& out, std::ostream& err);

struct ReviewResolveOptions {
  AdminConnectionOptions connection;
  std::string id;
  bool remove = false;        // false: approve
  bool block_domain = false;  // remove only: also suspend the actor's domain
  std::string note;
  // Who decides: --as, else FEDWALL_MODERATOR, else USER (the environment is read when this
  // is empty).
  std::string moderator;
  OutputOptions output;
};
// `fedwall review approve ID` / `fedwall review remove ID [--block-domain]`: one line saying
// what was done.
int RunReviewResolve(const ReviewResolveOptions& options, std::ostream& out, std::ostream& err);

struct BlocksListOptions {
  AdminConnectionOptions connection;
  bool json = false;  // one DomainBlock per line in proto3 JSON
  OutputOptions output;
};
// `fedwall blocks list`: the API-made domain blocks, sorted by domain.
int RunBlocksList(const BlocksListOptions& options, std::ostream& out, std::ostream& err);

struct BlocksAddOptions {
  AdminConnectionOptions connection;
  std::string domain;
  std::string severity;  // suspend | silence | noop (required)
  bool reject_media = false;
  bool reject_reports = false;
  std::string comment;          // public
  std::string private_comment;  // for moderators
  OutputOptions output;
};
// `fedwall blocks add DOMAIN --severity S`: adds or replaces the API block of DOMAIN.
int RunBlocksAdd(const BlocksAddOptions& options, std::ostream& out, std::ostream& err);

struct BlocksRemoveOptions {
  AdminConnectionOptions connection;
  std::string domain;
  OutputOptions output;
};
// `fedwall blocks remove DOMAIN`: removes the API block of DOMAIN (exit 1 when there is none).
int RunBlocksRemove(const BlocksRemoveOptions& options, std::ostream& out, std::ostream& err);

struct BlocksImportOptions {
  AdminConnectionOptions connection;
  std::string file;              // "-" for standard input
  std::string format;            // empty: the server detects it
  std::string default_severity;  // suspend | silence | noop; empty: the server's (suspend)
  bool replace = false;          // the file's entries replace existing blocks
  size_t max_file_bytes = 16 << 20;  // fedwalld's default message limit
  OutputOptions output;
};
// `fedwall blocks import FILE`: one ImportDomainBlocks call (applied by the server in one
// transaction); prints "N added, N changed, N unchanged, N skipped" and every skipped row as
// FILE:LINE: reason. A waiting indicator on a terminal, nothing when piped.
int RunBlocksImport(const BlocksImportOptions& options, std::ostream& out, std::ostream& err);

struct PolicyStatusOptions {
  AdminConnectionOptions connection;
  bool json = false;  // the GetPolicyResponse in proto3 JSON, one line
  OutputOptions output;
};
// `fedwall policy status`: the live version, when it was loaded, counts and warnings.
int RunPolicyStatus(const PolicyStatusOptions& options, std::ostream& out, std::ostream& err);

struct PolicyReloadOptions {
  AdminConnectionOptions connection;
  OutputOptions output;
};
// `fedwall policy reload`: recompiles the server's policy; prints the new version, or every
// diagnostic as path:line:col: error: message and exit 1 (the old policy keeps serving).
int RunPolicyReload(const PolicyReloadOptions& options, std::ostream& out, std::ostream& err);

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_COMMANDS_H_
