// AdminClient: the connection of the moderator commands (`review`, `blocks`, `policy`) to a
// running fedwalld's AdminService (docs/api.md).
//
// It owns one gRPC channel to --server and the admin token read from --token-file (the first
// line, trimmed, as fedwalld reads its own copy). Connect() waits at most `connect_timeout`
// for the connection, so an unreachable server is one clear error within seconds, never a
// hang; every call then carries the token as `authorization: Bearer <token>` metadata and a
// deadline of `call_timeout`. A failed call comes back as an absl::Status whose message is one
// printable line saying what went wrong and what to do (a wrong token, an unknown id, the data
// plane port instead of the admin port, ...), ready to print after "fedwall CMD: ".
//
// Example:
//   AdminConnectionOptions o{.server = "127.0.0.1:50051", .token_file = "admin.token"};
//   absl::StatusOr<std::unique_ptr<AdminClient>> client = AdminClient::Connect(o);
//   if (!client.ok()) { err << "fedwall review list: " << StatusLine(client.status()); ... }
//   fedwall::v1::ListFlagsResponse page;
//   absl::Status s = (*client)->Call(&AdminService::Stub::ListFlags, request, &page);
//
// Thread-safe as gRPC stubs are (calls may be made from several threads).
#ifndef FEDWALL_TOOLS_ADMIN_CLIENT_H_
#define FEDWALL_TOOLS_ADMIN_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fedwall/v1/admin_service.grpc.pb.h"
#include "tools/commands.h"

namespace fedwall::tools {

// Longest token file read (fedwalld's own bound).
inline constexpr size_t kMaxTokenFileBytes = size_t{64} << 10;

// The admin token from `path`: the first line without surrounding white space; NotFound /
// InvalidArgument (empty, a byte an HTTP header cannot carry, over kMaxTokenFileBytes) with a
// message that names the file but never echoes the token.
absl::StatusOr<std::string> ReadAdminToken(const std::string& path);

// A failed gRPC call as one printable line: the code's meaning for a moderator plus the
// server's message. `server` is named in connection errors.
absl::Status AdminCallError(const grpc::Status& status, const std::string& server);

class AdminClient {
 public:
  template <typename Request, typename Response>
  using Method = grpc::Status (fedwall::v1::AdminService::Stub::*)(grpc::ClientContext*,
                                                                   const Request&, Response*);

  // Reads the token and connects: the token file's error, or Unavailable when the server
  // cannot be reached within connect_timeout. `server` and `token_file` must not be empty.
  static absl::StatusOr<std::unique_ptr<AdminClient>> Connect(
      const AdminConnectionOptions& options);

  // One unary call with the token and the call deadline; AdminCallError on failure.
  template <typename Request, typename Response>
  absl::Status Call(Method<Request, Response> method, const Request& request,
                    Response* response) const {
    grpc::ClientContext context;
    Prepare(&context);
    grpc::Status status = (stub_.get()->*method)(&context, request, response);
    if (status.ok()) return absl::OkStatus();
    return AdminCallError(status, server_);
  }

  const std::string& server() const { return server_; }

 private:
  AdminClient(std::string server, std::string token, absl::Duration call_timeout,
              std::shared_ptr<grpc::Channel> channel);
  void Prepare(grpc::ClientContext* context) const;

  const std::string server_;
  const std::string authorization_;  // "Bearer <token>"
  const absl::Duration call_timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<fedwall::v1::AdminService::Stub> stub_;
};

// Connect() for the command `command` ("review list"). On failure prints one line
// "fedwall review list: ..." to `err`, sets `*exit_status` (2 when --server or --token-file is
// missing: wrong usage; 1 otherwise) and returns null.
std::unique_ptr<AdminClient> ConnectOrReport(std::string_view command,
                                             const AdminConnectionOptions& options,
                                             std::ostream& err, int* exit_status);

// ----- Output helpers shared by the admin commands -----------------------------------------

// "alice@mastodon.example" for "https://mastodon.example/users/alice" (the last path segment
// without a leading '@', and the host); the URI itself (printable) when it has no host.
std::string ShortActor(std::string_view actor_uri);

// "45s", "12m", "3h", "5d", "2y": how long ago, in one unit; "0s" for the future.
std::string FormatAge(absl::Duration age);

// "2024-02-15 09:30:00 UTC"; "-" for an unset timestamp.
std::string FormatTimestamp(const google::protobuf::Timestamp& t);

// A server-side diagnostic as "path:line:col: error: message" (":col" left out when 0, and
// ":line:col" when the line is 0), "error:"/"warning:" coloured when `color`.
std::string FormatRemoteDiagnostic(const fedwall::v1::Diagnostic& d, bool color);

// "suspend", "silence", "noop" ("unspecified" for 0); and back (nullopt when unknown).
std::string SeverityName(fedwall::v1::Severity severity);
std::optional<fedwall::v1::Severity> ParseSeverity(std::string_view name);

// Untrusted multi-line text made safe for a terminal: invalid UTF-8 becomes U+FFFD; control
// characters (C0 but '\n', DEL, C1: no escape sequence gets through) and bidirectional
// controls (U+202A..U+202E, U+2066..U+2069, which reorder what follows) are removed; a tab
// becomes a space.
std::string TerminalSafe(std::string_view text);

// Number of code points of UTF-8 text (its width on a terminal, East Asian wide characters
// aside).
size_t DisplayWidth(std::string_view text);

// `text` cut to at most `width` code points ("..." as U+2026 at the end when cut), then padded
// with spaces to exactly `width` when `pad`.
std::string FitWidth(std::string_view text, size_t width, bool pad);

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_ADMIN_CLIENT_H_
