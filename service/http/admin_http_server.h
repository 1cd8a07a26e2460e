// AdminHttpServer: fedwalld's admin HTTP port (off unless server.admin_http_listen is set):
// the review page, its JSON API and /metrics. cpp-httplib does the HTTP.
//
//   GET  /, /app.js, /app.css   the page (embedded; no external resources)
//   POST /login                 {"token": "..."} -> a session cookie (401 on a wrong token,
//                               after a delay); POST /logout ends the session
//   GET  /api/session           {"logged_in": bool}
//   GET  /api/flags?status=&rule=&domain=&page_token=&page_size=
//   GET  /api/flags/{id}        the flag, its matches with evidence, the post as a safe model
//                               (post_view.h) and the actor's domain in the live policy
//   POST /api/flags/{id}/resolve {"resolution": "approve"|"remove", "block_domain": bool,
//                               "note": "...", "moderator": "..."}
//   GET  /metrics               Prometheus text (metrics.h); no token from a loopback peer,
//                               else "Authorization: Bearer <token>"
//
// Security: the token travels only in POST /login's body and is compared in constant time
// (CheckBearerToken); it and session ids are never logged. The session cookie
// `fedwall_session` is HttpOnly, SameSite=Strict, Path=/, Max-Age 12 h. Every POST also needs
// the header `X-Fedwall-Request: 1` (a cross-site form cannot send it). Every answer carries a
// strict Content-Security-Policy (kContentSecurityPolicy), nosniff, no-referrer, DENY framing
// and Cache-Control: no-store. Errors are {"error": "..."} with 400/401/403/404/409/413/500.
// Request bodies are capped (max_body_bytes); a few worker threads serve with read and write
// timeouts.
//
// Every action goes through AdminOps, the same code as the gRPC AdminService.
//
// Example:
//   AdminHttpOptions o; o.listen = "127.0.0.1:0"; o.token = token;
//   absl::StatusOr<std::unique_ptr<AdminHttpServer>> http = AdminHttpServer::Start(o, &ops,
//   &stats); std::cout << "admin http listening on " << (*http)->address() << "\n";
//   (*http)->Stop();
//
// Thread-safe; Stop() is idempotent. AdminOps and Stats must outlive the server.
#ifndef FEDWALL_SERVICE_HTTP_ADMIN_HTTP_SERVER_H_
#define FEDWALL_SERVICE_HTTP_ADMIN_HTTP_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/admin_ops.h"
#include "service/stats.h"

namespace fedwall::service::http {

inline constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
inline constexpr char kSessionCookie[] = "fedwall_session";
inline constexpr char kCsrfHeader[] = "X-Fedwall-Request";

struct AdminHttpOptions {
  std::string listen;                // host:port ("[::1]:0" for IPv6); port 0 picks one
  std::string token;                 // the admin token; "" refuses every login
  size_t max_body_bytes = 64 << 10;  // larger request bodies get 413
  int threads = 3;                   // worker threads
  absl::Duration read_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(10);
  size_t max_sessions = 1000;  // more logins evict the oldest session
  absl::Duration session_ttl = absl::Hours(12);
  absl::Duration login_failure_delay = absl::Seconds(1);  // before a 401 on /login
};

class AdminHttpServer {
 public:
  // Binds and starts serving; Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(const AdminHttpOptions& options,
                                                                AdminOps* ops, Stats* stats);
  virtual ~AdminHttpServer() = default;

  // "host:port" with the bound port ("[::1]:PORT" for IPv6 hosts).
  virtual std::string address() const = 0;
  virtual int port() const = 0;
  // Stops accepting, lets the requests being served finish, joins the threads.
  virtual void Stop() = 0;
};

// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (httplib's Request::remote_addr).
bool IsLoopbackAddress(std::string_view address);

}  // namespace fedwall::service::http

#endif  // FEDWALL_SERVICE_HTTP_ADMIN_HTTP_SERVER_H_
