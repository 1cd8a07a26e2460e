// `fedwall policy status|reload`: the live policy of a running fedwalld (docs/cli.md).
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/convert/decision_json.h"
#include "tools/admin_client.h"
#include "tools/commands.h"
#include "tools/human_output.h"

namespace fedwall::tools {
namespace {

namespace v1 = fedwall::v1;
using Stub = v1::AdminService::Stub;

}  // namespace

int RunPolicyStatus(const PolicyStatusOptions& options, std::ostream& out, std::ostream& err) {
  int exit_status = 1;
  std::unique_ptr<AdminClient> client =
      ConnectOrReport("policy status", options.connection, err, &exit_status);
  if (client == nullptr) return exit_status;
  v1::GetPolicyResponse policy;
  if (absl::Status s = client->Call(&Stub::GetPolicy, v1::GetPolicyRequest(), &policy); !s.ok()) {
    err << "fedwall policy status: " << StatusLine(s) << "\n";
    return 1;
  }
  if (options.json) {
    out << convert::MessageToJson(policy, /*pretty=*/false) << "\n";
    return 0;
  }
  const bool color = options.output.color;
  const absl::Time loaded = absl::FromUnixSeconds(policy.loaded_at().seconds()) +
                            absl::Nanoseconds(policy.loaded_at().nanos());
  out << Paint(color, kBold, "version ") << Printable(TerminalSafe(policy.version())) << "\n";
  out << Paint(color, kBold, "loaded  ") << FormatTimestamp(policy.loaded_at()) << " ("
      << FormatAge(absl::Now() - loaded) << " ago)\n";
  out << Paint(color, kBold, "counts  ") << CountNoun(policy.rules(), "rule", "rules") << ", "
      << CountNoun(policy.patterns(), "pattern", "patterns") << ", "
      << CountNoun(policy.domains(), "domain", "domains") << "\n";
  if (policy.warnings().empty()) {
    out << Paint(color, kBold, "warnings") << " none\n";
  } else {
    out << Paint(color, kBold, "warnings") << " " << policy.warnings_size() << "\n";
    for (const v1::Diagnostic& d : policy.warnings()) {
      out << FormatRemoteDiagnostic(d, color) << "\n";
    }
  }
  return 0;
}

int RunPolicyReload(const PolicyReloadOptions& options, std::ostream& out, std::ostream& err) {
  int exit_status = 1;
  std::unique_ptr<AdminClient> client =
      ConnectOrReport("policy reload", options.connection, err, &exit_status);
  if (client == nullptr) return exit_status;
  v1::ReloadPolicyResponse reload;
  if (absl::Status s = client->Call(&Stub::ReloadPolicy, v1::ReloadPolicyRequest(), &reload);
      !s.ok()) {
    err << "fedwall policy reload: " << StatusLine(s) << "\n";
    return 1;
  }
  if (!reload.ok()) {
    size_t errors = 0;
    for (const v1::Diagnostic& d : reload.diagnostics()) {
      err << FormatRemoteDiagnostic(d, options.output.err_color) << "\n";
      if (d.severity() != "warning") ++errors;
    }
    err << "fedwall policy reload: the policy does not compile ("
        << CountNoun(errors, "error", "errors") << "); the old policy (version "
        << Printable(TerminalSafe(reload.version())) << ") keeps serving\n";
    return 1;
  }
  size_t warnings = 0;
  for (const v1::Diagnostic& d : reload.diagnostics()) {
    out << FormatRemoteDiagnostic(d, options.output.color) << "\n";
    ++warnings;
  }
  out << "reloaded: policy version " << Printable(TerminalSafe(reload.version()));
  if (warnings > 0) out << " (" << CountNoun(warnings, "warning", "warnings") << ")";
  out << "\n";
  return 0;
}

}  // namespace fedwall::tools
