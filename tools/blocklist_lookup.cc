#include <ostream>

#include "absl/strings/str_cat.h"
#include "engine/blocklist/blocklist.h"
#include "engine/text/domain.h"
#include "tools/commands.h"
#include "tools/files.h"
#include "tools/json_writer.h"

namespace fedwall::tools {

int RunBlocklistLookup(const BlocklistLookupOptions& options, std::ostream& out,
                       std::ostream& err) {
  blocklist::ParseOptions parse_options;
  if (!options.format.empty()) {
    std::optional<blocklist::Format> format = blocklist::ParseFormat(options.format);
    if (!format) {
      err << "fedwall blocklist lookup: unknown format '" << options.format << "'\n";
      return 2;
    }
    parse_options.format = *format;
  }

  blocklist::DomainTableBuilder builder;
  for (const std::string& path : options.files) {
    absl::StatusOr<std::string> data = ReadFile(path, kMaxBlocklistFileBytes);
    if (!data.ok()) {
      err << "fedwall blocklist lookup: " << data.status().message() << "\n";
      return 1;
    }
    parse_options.path = path;
    absl::StatusOr<blocklist::ParseResult> parsed = blocklist::ParseBlocklist(*data, parse_options);
    if (!parsed.ok()) {
      err << "fedwall blocklist lookup: " << path << ": " << parsed.status().message() << "\n";
      return 1;
    }
    for (const Diagnostic& d : parsed->diagnostics) err << d.ToString() << "\n";
    builder.Add(*parsed);
  }
  std::shared_ptr<const blocklist::DomainTable> table = std::move(builder).Build();

  int status = 0;
  for (const std::string& query : options.domains) {
    absl::StatusOr<std::string> domain = text::NormalizeDomain(query);
    if (!domain.ok()) {
      err << "fedwall blocklist lookup: " << domain.status().message() << "\n";
      status = 1;
      continue;
    }
    std::optional<blocklist::Match> match = table->Lookup(*domain);
    JsonWriter w;
    w.BeginObject();
    w.Key("domain");
    w.String(*domain);
    w.Key("severity");
    w.String(blocklist::SeverityName(match ? match->severity : blocklist::Severity::kNone));
    w.Key("reject_media");
    w.Bool(match && match->reject_media);
    w.Key("reject_reports");
    w.Bool(match && match->reject_reports);
    w.Key("matched");
    if (match) {
      std::string matched(match->written);
      absl::StrAppend(&matched, " (", std::string(match->path), ":", match->line, ")");
      w.String(matched);
    } else {
      w.Null();
    }
    w.EndObject();
    out << w.str() << "\n";
  }
  return status;
}

}  // namespace fedwall::tools
