#include "tools/admin_client.h"

#include <ostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/text/normalize.h"
#include "tools/files.h"
#include "tools/human_output.h"

namespace fedwall::tools {
namespace {

// Largest answer taken: a GetFlag carries a stored activity (up to the server's 1 MiB limit
// by default), a ListFlags page up to 1000 flags with their matches.
constexpr int kMaxReceiveBytes = 64 << 20;
// Largest request sent: an import carries a whole blocklist file.
constexpr int kMaxSendBytes = 64 << 20;

std::chrono::system_clock::time_point Deadline(absl::Duration from_now) {
  return absl::ToChronoTime(absl::Now() + from_now);
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace

absl::StatusOr<std::string> ReadAdminToken(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFile(path, kMaxTokenFileBytes);
  if (!content.ok()) return content.status();
  std::string_view line = *content;
  line = line.substr(0, line.find('\n'));
  const absl::string_view token =
      absl::StripAsciiWhitespace(absl::string_view(line.data(), line.size()));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token file ", path, ": the first line is empty (put the token there)"));
  }
  for (size_t i = 0; i < token.size(); ++i) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c <= 0x20 || c >= 0x7f) {  // never echo the token itself
      return absl::InvalidArgumentError(
          absl::StrCat("token file ", path,
                       ": the token has a byte that cannot go in an authorization header "
                       "at position ",
                       i + 1));
    }
  }
  return std::string(token);
}

absl::Status AdminCallError(const grpc::Status& status, const std::string& server) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return absl::OkStatus();
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::Status(code, absl::StrCat("fedwalld at ", server, " refused the admin token (",
                                             CodeName(status.error_code()), ": ", message,
                                             "); check --token-file / FEDWALL_TOKEN_FILE"));
    case grpc::StatusCode::UNAVAILABLE:
      return absl::Status(code, absl::StrCat("cannot reach fedwalld at ", server, ": ", message));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(code, absl::StrCat("fedwalld at ", server,
                                             " did not answer in time (DEADLINE_EXCEEDED)"));
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::Status(
          code, absl::StrCat(server, " does not serve fedwall.v1.AdminService (", message,
                             "); when fedwalld runs with --admin-listen, use that address"));
    case grpc::StatusCode::NOT_FOUND:
      return absl::Status(code, absl::StrCat("not found: ", message));
    default:
      return absl::Status(code, absl::StrCat(CodeName(status.error_code()), ": ", message));
  }
}

AdminClient::AdminClient(std::string server, std::string token, absl::Duration call_timeout,
                         std::shared_ptr<grpc::Channel> channel)
    : server_(std::move(server)),
      authorization_("Bearer " + token),
      call_timeout_(call_timeout),
      channel_(std::move(channel)),
      stub_(fedwall::v1::AdminService::NewStub(channel_)) {}

void AdminClient::Prepare(grpc::ClientContext* context) const {
  context->set_deadline(Deadline(call_timeout_));
  context->AddMetadata("authorization", authorization_);
}

absl::StatusOr<std::unique_ptr<AdminClient>> AdminClient::Connect(
    const AdminConnectionOptions& options) {
  absl::StatusOr<std::string> token = ReadAdminToken(options.token_file);
  if (!token.ok()) return token.status();

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  args.SetMaxSendMessageSize(kMaxSendBytes);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (options.tls || !options.ca_file.empty() || !options.cert_file.empty() ||
      !options.key_file.empty()) {
    if (options.cert_file.empty() != options.key_file.empty()) {
      return absl::InvalidArgumentError("--client-cert and --client-key go together");
    }
    grpc::SslCredentialsOptions ssl;
    constexpr size_t kMaxPemBytes = 1 << 20;
    for (auto [path, target] : {std::pair{&options.ca_file, &ssl.pem_root_certs},
                                std::pair{&options.cert_file, &ssl.pem_cert_chain},
                                std::pair{&options.key_file, &ssl.pem_private_key}}) {
      if (path->empty()) continue;
      absl::StatusOr<std::string> pem = ReadFile(*path, kMaxPemBytes);
      if (!pem.ok()) return pem.status();
      *target = *std::move(pem);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.server, credentials, args);

  // Wait for the connection (at most connect_timeout), so that an unreachable server is one
  // error line within seconds instead of a call waiting for its whole deadline.
  const auto deadline = Deadline(options.connect_timeout);
  grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      return absl::UnavailableError(
          absl::StrCat("cannot reach fedwalld at ", options.server,
                       ": the connection failed (is it running, and is this its address?)"));
    }
    if (!channel->WaitForStateChange(state, deadline)) {
      return absl::UnavailableError(absl::StrCat("cannot reach fedwalld at ", options.server,
                                                 ": no connection within ",
                                                 absl::FormatDuration(options.connect_timeout)));
    }
    state = channel->GetState(/*try_to_connect=*/true);
  }
  return std::unique_ptr<AdminClient>(
      new AdminClient(options.server, *std::move(token), options.call_timeout, std::move(channel)));
}

std::unique_ptr<AdminClient> ConnectOrReport(std::string_view command,
                                             const AdminConnectionOptions& options,
                                             std::ostream& err, int* exit_status) {
  if (options.server.empty()) {
    err << "fedwall " << command << ": no server: give --server HOST:PORT or set FEDWALL_SERVER\n";
    *exit_status = 2;
    return nullptr;
  }
  if (options.token_file.empty()) {
    err << "fedwall " << command
        << ": no admin token: give --token-file FILE or set FEDWALL_TOKEN_FILE\n";
    *exit_status = 2;
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<AdminClient>> client = AdminClient::Connect(options);
  if (!client.ok()) {
    err << "fedwall " << command << ": " << StatusLine(client.status()) << "\n";
    *exit_status = 1;
    return nullptr;
  }
  return *std::move(client);
}

}  // namespace fedwall::tools

namespace fedwall::tools {

std::string ShortActor(std::string_view actor_uri) {
  std::string_view rest = actor_uri;
  size_t scheme = rest.find("://");
  if (scheme == std::string_view::npos) return Printable(TerminalSafe(actor_uri));
  rest.remove_prefix(scheme + 3);
  size_t slash = rest.find('/');
  std::string_view host = rest.substr(0, slash);
  if (size_t at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  if (host.empty()) return Printable(TerminalSafe(actor_uri));
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  path = path.substr(0, path.find_first_of("?#"));
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::string_view name = path.substr(path.rfind('/') + 1);
  if (!name.empty() && name.front() == '@') name.remove_prefix(1);
  std::string out = std::string(name.empty() ? "" : name) + (name.empty() ? "" : "@");
  out.append(host);
  return Printable(TerminalSafe(out));
}

std::string FormatAge(absl::Duration age) {
  const int64_t s = absl::ToInt64Seconds(age);
  if (s < 0) return "0s";
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m");
  if (s < 86400) return absl::StrCat(s / 3600, "h");
  if (s < 365 * 86400) return absl::StrCat(s / 86400, "d");
  return absl::StrCat(s / (365 * 86400), "y");
}

std::string FormatTimestamp(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

std::string FormatRemoteDiagnostic(const fedwall::v1::Diagnostic& d, bool color) {
  std::string out = Printable(TerminalSafe(d.path()));
  if (d.line() > 0) {
    absl::StrAppend(&out, ":", d.line());
    if (d.column() > 0) absl::StrAppend(&out, ":", d.column());
  }
  const bool is_error = d.severity() != "warning";
  absl::StrAppend(&out, ": ",
                  Paint(color, is_error ? kBoldRed : kBoldYellow, is_error ? "error:" : "warning:"),
                  " ", Printable(TerminalSafe(d.message())));
  return out;
}

std::string SeverityName(fedwall::v1::Severity severity) {
  switch (severity) {
    case fedwall::v1::SEVERITY_SUSPEND:
      return "suspend";
    case fedwall::v1::SEVERITY_SILENCE:
      return "silence";
    case fedwall::v1::SEVERITY_NOOP:
      return "noop";
    default:
      return "unspecified";
  }
}

std::optional<fedwall::v1::Severity> ParseSeverity(std::string_view name) {
  if (name == "suspend") return fedwall::v1::SEVERITY_SUSPEND;
  if (name == "silence") return fedwall::v1::SEVERITY_SILENCE;
  if (name == "noop") return fedwall::v1::SEVERITY_NOOP;
  return std::nullopt;
}

std::string TerminalSafe(std::string_view text) {
  const std::string valid = text::SanitizeUtf8(text);
  std::string out;
  out.reserve(valid.size());
  for (size_t i = 0; i < valid.size(); ++i) {
    const auto c = static_cast<unsigned char>(valid[i]);
    if (c == '\n') {
      out += '\n';
    } else if (c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7F) {
      // dropped: C0 controls, ESC among them
    } else if (c == 0xC2 && i + 1 < valid.size() &&
               static_cast<unsigned char>(valid[i + 1]) <= 0x9F) {
      ++i;  // a C1 control (U+0080..U+009F), e.g. CSI
    } else if (c == 0xE2 && i + 2 < valid.size() &&
               ((static_cast<unsigned char>(valid[i + 1]) == 0x80 &&
                 static_cast<unsigned char>(valid[i + 2]) >= 0xAA &&
                 static_cast<unsigned char>(valid[i + 2]) <= 0xAE) ||
                (static_cast<unsigned char>(valid[i + 1]) == 0x81 &&
                 static_cast<unsigned char>(valid[i + 2]) >= 0xA6 &&
                 static_cast<unsigned char>(valid[i + 2]) <= 0xA9))) {
      i += 2;  // U+202A..U+202E, U+2066..U+2069: bidirectional embedding and isolates
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

size_t DisplayWidth(std::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string FitWidth(std::string_view text, size_t width, bool pad) {
  size_t n = DisplayWidth(text);
  std::string out;
  if (n <= width) {
    out = std::string(text);
  } else if (width > 0) {
    // Keep width - 1 code points, then the ellipsis.
    size_t kept = 0;
    size_t i = 0;
    for (; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        if (kept == width - 1) break;
        ++kept;
      }
    }
    out = std::string(text.substr(0, i)) + "\u2026";
    n = width;
  } else {
    n = 0;
  }
  if (pad && n < width) out.append(width - n, ' ');
  return out;
}

}  // namespace fedwall::tools
