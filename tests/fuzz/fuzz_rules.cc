// fuzz_rules: rule file text -> the front end (lexer, parser, resolver, type checker) -> the
// compiler (pattern extraction, Hyperscan and RE2 databases, rule index) -> a few decisions.
//
// The input is up to four files separated by a line "---" (the separator is "\n---\n"):
//   1. main.rules       2. more.rules (a second rule file, loaded after the first)
//   3. what any list file ("... from \"x.txt\"") reads   4. what any other data file reads
//      (blocklists and allowlists)
// Absent parts are missing files. Limits are small (kOptions) so that one input cannot take
// seconds: every limit is still exercised, at a lower value.
//
// FEDWALL_FUZZ_VERBOSE=1 in the environment prints every diagnostic (to check the seeds).
//
// Invariants checked: diagnostics are errors or warnings with a message; a policy exists
// exactly when there is no error; a compiled policy decides the fixed activities below with
// a valid verdict.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "engine/common/diagnostic.h"
#include "engine/lang/front_end.h"
#include "engine/policy/policy.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

constexpr std::string_view kSeparator = "\n---\n";

fedwall::CompileOptions SmallLimits() {
  fedwall::CompileOptions o;
  o.front_end.max_files = 8;
  o.front_end.max_file_bytes = 64 << 10;
  o.front_end.max_blocklist_bytes = 64 << 10;
  o.front_end.max_total_bytes = 256 << 10;
  o.front_end.max_rules = 200;
  o.front_end.max_list_items = 2000;
  o.front_end.max_total_list_items = 20'000;
  o.front_end.max_pattern_bytes = 256;
  o.front_end.max_nesting_depth = 64;
  o.front_end.max_diagnostics = 100;
  o.front_end.max_regex_memory = 1 << 20;
  o.matcher.max_regex_memory = 1 << 20;
  o.matcher.max_pattern_bytes = 256;
  o.max_expression_nodes = 20'000;
  return o;
}

// Activities every compiled policy decides: a post with every kind of text and list field, an
// actor update, and a Lemmy-style Announce.
constexpr std::string_view kActivities[] = {
    R"({"id": "https://a.example/1", "type": "Create", "actor": "https://a.example/users/x",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": "https://a.example/n/1", "type": "Note",
          "attributedTo": "https://a.example/users/x", "summary": "cw",
          "content": "<p>Free crypto! <a href=\"https://bit.ly/x\">casino</a> #nsfw @bob 0xAbC</p>",
          "published": "2024-02-14T00:00:00Z", "sensitive": true, "inReplyTo": null,
          "contentMap": {"ja": "無料"},
          "tag": [{"type": "Hashtag", "name": "#NSFW"}, {"type": "Mention", "name": "@bob@b.example"},
                  {"type": "Emoji", "name": ":blobcat:"}],
          "attachment": [{"type": "Document", "mediaType": "image/png", "name": "alt text"}]}})",
    R"({"type": "Update", "actor": {"id": "https://c.example/u/y", "type": "Person",
        "name": "Official Support", "summary": "<p>staff</p>", "preferredUsername": "abcdefghij"},
        "object": "https://c.example/u/y"})",
    R"({"type": "Announce", "actor": "https://lemmy.example/c/x", "object": {"type": "Create",
        "actor": "https://d.tk/u/z", "object": {"type": "Page", "name": "PR title",
        "attributedTo": "https://d.tk/u/z", "quoteUrl": "https://e.example/q"}}})",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fedwall::CompileOptions* options = new fedwall::CompileOptions(SmallLimits());
  static fedwall::Evaluator* evaluator = new fedwall::Evaluator();

  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  while (parts.size() < 3) {
    size_t at = input.find(kSeparator);
    if (at == std::string_view::npos) break;
    parts.emplace_back(input.substr(0, at));
    input.remove_prefix(at + kSeparator.size());
  }
  parts.emplace_back(input);

  std::vector<fedwall::lang::SourceFile> files;
  files.push_back({"main.rules", parts[0]});
  if (parts.size() > 1) files.push_back({"more.rules", parts[1]});
  auto read = [&parts](const std::string& path) -> absl::StatusOr<std::string> {
    size_t part = absl::EndsWith(path, ".txt") ? 2 : 3;
    if (parts.size() <= part) return absl::NotFoundError("no such file");
    return parts[part];
  };

  fedwall::lang::FrontEndResult front =
      fedwall::lang::LoadPolicyFiles(std::move(files), read, options->front_end);
  bool errors = false;
  for (const fedwall::Diagnostic& d : front.diagnostics) {
    FEDWALL_FUZZ_CHECK(!d.message.empty());
    if (d.severity == fedwall::Diagnostic::Severity::kError) errors = true;
  }
  fedwall::Compiler compiler(*options);
  fedwall::CompileResult result =
      compiler.CompileAst(std::move(front.ast), std::move(front.diagnostics));
  if (errors) FEDWALL_FUZZ_CHECK(result.policy == nullptr);
  static const bool verbose = std::getenv("FEDWALL_FUZZ_VERBOSE") != nullptr;
  bool compile_errors = false;
  for (const fedwall::Diagnostic& d : result.diagnostics) {
    if (verbose) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    FEDWALL_FUZZ_CHECK(!d.ToString().empty());
    if (d.severity == fedwall::Diagnostic::Severity::kError) compile_errors = true;
  }
  FEDWALL_FUZZ_CHECK((result.policy != nullptr) == !compile_errors);
  if (!result.policy) return 0;

  fedwall::RequestFacts facts;
  facts.delivery.sender_domain = "relay.example";
  facts.delivery.signature_verified = false;
  facts.actor.created_at = absl::FromUnixSeconds(1'707'900'000);
  facts.actor.followers_count = 1;
  facts.actor.followed_by_local_users = false;
  for (std::string_view json : kActivities) {
    absl::StatusOr<fedwall::Decision> d =
        evaluator->Evaluate(*result.policy, json, facts, absl::FromUnixSeconds(1'708'000'000));
    FEDWALL_FUZZ_CHECK(d.ok());
    FEDWALL_FUZZ_CHECK(d->verdict == fedwall::Verdict::kAccept ||
                       d->verdict == fedwall::Verdict::kFlag ||
                       d->verdict == fedwall::Verdict::kReject);
  }
  return 0;
}
