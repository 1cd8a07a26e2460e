// The `fedwall` subcommands, one function each, so main.cc is only argument parsing and the
// commands can be driven from tests. Each returns the process exit status, writes its
// machine-readable output to `out` and its errors (one clear line each) to `err`.
#ifndef FEDWALL_TOOLS_COMMANDS_H_
#define FEDWALL_TOOLS_COMMANDS_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace fedwall::tools {

struct OutputOptions {
  bool pretty = false;  // indent JSON (the default on a terminal)
  bool color = false;   // colour human-readable output (only on a terminal)
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
int RunBlocklistLookup(const BlocklistLookupOptions& options, std::ostream& out,
                       std::ostream& err);

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_COMMANDS_H_
