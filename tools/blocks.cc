// `fedwall blocks list|add|remove|import`: the API-made domain blocks of a running fedwalld
// (docs/cli.md).
#include <chrono>
#include <future>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/convert/decision_json.h"
#include "tools/admin_client.h"
#include "tools/commands.h"
#include "tools/files.h"
#include "tools/human_output.h"

namespace fedwall::tools {
namespace {

namespace v1 = fedwall::v1;
using Stub = v1::AdminService::Stub;

constexpr char kSeverities[] = "suspend, silence, noop";

// "suspend, reject media, reject reports".
std::string Describe(const v1::DomainBlock& b) {
  std::string out = SeverityName(b.severity());
  if (b.reject_media()) absl::StrAppend(&out, ", reject media");
  if (b.reject_reports()) absl::StrAppend(&out, ", reject reports");
  return out;
}

const char* SeverityColor(v1::Severity s) {
  switch (s) {
    case v1::SEVERITY_SUSPEND:
      return kRed;
    case v1::SEVERITY_SILENCE:
      return kYellow;
    default:
      return kDim;
  }
}

// "12.3 KiB".
std::string Bytes(size_t n) {
  if (n < 1024) return absl::StrCat(n, " B");
  if (n < (1 << 20)) return absl::StrFormat("%.1f KiB", static_cast<double>(n) / 1024);
  return absl::StrFormat("%.1f MiB", static_cast<double>(n) / (1 << 20));
}

}  // namespace

int RunBlocksList(const BlocksListOptions& options, std::ostream& out, std::ostream& err) {
  int exit_status = 1;
  std::unique_ptr<AdminClient> client =
      ConnectOrReport("blocks list", options.connection, err, &exit_status);
  if (client == nullptr) return exit_status;
  v1::ListDomainBlocksResponse response;
  if (absl::Status s =
          client->Call(&Stub::ListDomainBlocks, v1::ListDomainBlocksRequest(), &response);
      !s.ok()) {
    err << "fedwall blocks list: " << StatusLine(s) << "\n";
    return 1;
  }
  if (options.json) {
    for (const v1::DomainBlock& b : response.blocks()) {
      out << convert::MessageToJson(b, /*pretty=*/false) << "\n";
    }
    return 0;
  }
  if (response.blocks().empty()) {
    out << "no API-made domain blocks (blocks in the policy's blocklist files are not listed)\n";
    return 0;
  }
  const bool color = options.output.color;
  constexpr size_t kDomain = 32, kSeverity = 8, kFlag = 7;
  out << Paint(color, kBold,
               absl::StrCat(FitWidth("DOMAIN", kDomain, true), "  ",
                            FitWidth("SEVERITY", kSeverity, true), "  ",
                            FitWidth("MEDIA", kFlag, true), "  ", FitWidth("REPORTS", kFlag, true),
                            "  COMMENT"))
      << "\n";
  const size_t comment_width = 80 - (kDomain + kSeverity + 2 * kFlag + 8);
  for (const v1::DomainBlock& b : response.blocks()) {
    std::string comment = b.public_comment();
    if (!b.private_comment().empty()) {
      absl::StrAppend(&comment, comment.empty() ? "" : " ", "(private: ", b.private_comment(), ")");
    }
    out << FitWidth(Printable(TerminalSafe(b.domain())), kDomain, true) << "  "
        << Paint(color, SeverityColor(b.severity()),
                 FitWidth(SeverityName(b.severity()), kSeverity, true))
        << "  " << FitWidth(b.reject_media() ? "reject" : "-", kFlag, true) << "  "
        << FitWidth(b.reject_reports() ? "reject" : "-", kFlag, true) << "  "
        << FitWidth(Printable(TerminalSafe(comment)), comment_width, false) << "\n";
  }
  return 0;
}

int RunBlocksAdd(const BlocksAddOptions& options, std::ostream& out, std::ostream& err) {
  std::optional<v1::Severity> severity = ParseSeverity(options.severity);
  if (!severity) {
    err << "fedwall blocks add: --severity: \"" << Printable(options.severity)
        << "\" is not one of " << kSeverities << "\n";
    return 2;
  }
  if (options.domain.empty()) {
    err << "fedwall blocks add: give the DOMAIN\n";
    return 2;
  }
  int exit_status = 1;
  std::unique_ptr<AdminClient> client =
      ConnectOrReport("blocks add", options.connection, err, &exit_status);
  if (client == nullptr) return exit_status;
  v1::CreateDomainBlockRequest request;
  v1::DomainBlock* block = request.mutable_block();
  block->set_domain(options.domain);
  block->set_severity(*severity);
  block->set_reject_media(options.reject_media);
  block->set_reject_reports(options.reject_reports);
  block->set_public_comment(options.comment);
  block->set_private_comment(options.private_comment);
  v1::DomainBlock created;
  if (absl::Status s = client->Call(&Stub::CreateDomainBlock, request, &created); !s.ok()) {
    err << "fedwall blocks add: " << StatusLine(s) << "\n";
    return 1;
  }
  out << "blocked " << Printable(TerminalSafe(created.domain()))
      << " and its subdomains: " << Describe(created) << "\n";
  return 0;
}

int RunBlocksRemove(const BlocksRemoveOptions& options, std::ostream& out, std::ostream& err) {
  if (options.domain.empty()) {
    err << "fedwall blocks remove: give the DOMAIN\n";
    return 2;
  }
  int exit_status = 1;
  std::unique_ptr<AdminClient> client =
      ConnectOrReport("blocks remove", options.connection, err, &exit_status);
  if (client == nullptr) return exit_status;
  v1::DeleteDomainBlockRequest request;
  request.set_domain(options.domain);
  v1::DeleteDomainBlockResponse response;
  if (absl::Status s = client->Call(&Stub::DeleteDomainBlock, request, &response); !s.ok()) {
    err << "fedwall blocks remove: " << StatusLine(s) << "\n";
    return 1;
  }
  out << "removed the block of " << Printable(TerminalSafe(options.domain)) << "\n";
  return 0;
}

int RunBlocksImport(const BlocksImportOptions& options, std::ostream& out, std::ostream& err) {
  v1::ImportDomainBlocksRequest request;
  if (!options.default_severity.empty()) {
    std::optional<v1::Severity> severity = ParseSeverity(options.default_severity);
    if (!severity) {
      err << "fedwall blocks import: --default-severity: \"" << Printable(options.default_severity)
          << "\" is not one of " << kSeverities << "\n";
      return 2;
    }
    request.set_default_severity(*severity);
  }
  if (options.file.empty()) {
    err << "fedwall blocks import: give the FILE\n";
    return 2;
  }
  // Read the file first: a file that cannot be read needs no server.
  absl::StatusOr<std::string> data = ReadFile(options.file, options.max_file_bytes);
  if (!data.ok()) {
    err << "fedwall blocks import: " << StatusLine(data.status()) << "\n";
    return 1;
  }
  int exit_status = 1;
  std::unique_ptr<AdminClient> client =
      ConnectOrReport("blocks import", options.connection, err, &exit_status);
  if (client == nullptr) return exit_status;
  request.set_data(*std::move(data));
  request.set_format(options.format);
  request.set_replace(options.replace);

  // One call: the server parses the file and applies every entry in one transaction. While it
  // works, a terminal shows that something is happening.
  const size_t size = request.data().size();
  v1::ImportDomainBlocksResponse response;
  std::future<absl::Status> call = std::async(std::launch::async, [&client, &request, &response] {
    return client->Call(&Stub::ImportDomainBlocks, request, &response);
  });
  if (options.output.progress) {
    static constexpr char kSpinner[] = "|/-\\";
    const absl::Time start = absl::Now();
    bool drawn = false;
    for (int i = 0; call.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready;
         ++i) {
      err << "\rimporting " << Printable(options.file) << " (" << Bytes(size) << ")  "
          << kSpinner[i % 4] << "  "
          << absl::StrFormat("%.1fs", absl::ToDoubleSeconds(absl::Now() - start)) << "\x1b[K"
          << std::flush;
      drawn = true;
    }
    if (drawn) err << "\r\x1b[K" << std::flush;
  }
  if (absl::Status s = call.get(); !s.ok()) {
    err << "fedwall blocks import: " << Printable(options.file)
        << ": nothing imported: " << StatusLine(s) << "\n";
    return 1;
  }
  const std::string file = Printable(TerminalSafe(options.file));
  for (const v1::Diagnostic& d : response.skipped()) {
    out << file;
    if (d.line() > 0) out << ":" << d.line();
    out << ": " << Printable(TerminalSafe(d.message())) << "\n";
  }
  out << response.added() << " added, " << response.changed() << " changed, "
      << response.unchanged() << " unchanged, " << response.skipped_size() << " skipped\n";
  return 0;
}

}  // namespace fedwall::tools
