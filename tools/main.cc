// fedwall: the command line for rule authors, admins and moderators.
// See docs/cli.md. Argument parsing only; each subcommand lives in its own file.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/commands.h"

namespace {

fedwall::tools::OutputOptions TerminalOutput() {
  fedwall::tools::OutputOptions o;
  bool tty = isatty(STDOUT_FILENO) == 1;
  o.pretty = tty;
  o.color = tty && std::getenv("NO_COLOR") == nullptr;
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

  CLI::App app{"fedwall: content moderation and federation policy for the fediverse"};
  app.set_version_flag("--version", std::string("fedwall ") + FEDWALL_VERSION);
  app.require_subcommand(1);
  app.footer("Run `fedwall COMMAND --help` for a command's options. Docs: docs/cli.md");

  fedwall::tools::InspectOptions inspect;
  auto* inspect_cmd = app.add_subcommand(
      "inspect", "Show what the engine sees in an activity: one JSON object, field -> value");
  inspect_cmd->add_option("FILE", inspect.activity_path, "Activity JSON file ('-': stdin)")
      ->required();
  inspect_cmd->add_option("--facts", inspect.facts_path,
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

  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
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
  return 0;
}
