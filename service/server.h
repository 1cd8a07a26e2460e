// Server: fedwalld assembled: the store, the live policy, the worker pool, the flag writer,
// the two gRPC services (plus grpc.health.v1 and server reflection) on their ports, and, when
// admin_http_listen is set, the admin HTTP port (review page and /metrics, service/http/).
//
// Start() refuses to start, with a message saying why, when the configuration, the token
// file, the TLS files, the store or the policy is not usable (the policy's diagnostics are
// logged, each as path:line:col), and when an admin port is reachable from the network
// without an admin token (CheckAdminExposure). With server.tls_cert_file/tls_key_file every
// gRPC port speaks TLS only; with server.admin_client_ca_file the AdminService port also
// requires a client certificate signed by that CA. The admin HTTP port stays plain HTTP.
// Nothing logged here shows the token, a session id or a key (docs/security.md). Shutdown() stops taking calls, lets the calls in flight finish for up to
// drain_timeout (then cancels the rest), commits every flag already decided, and stops.
//
// Example:
//   absl::StatusOr<std::unique_ptr<fedwall::service::Server>> server =
//       fedwall::service::Server::Start(config);
//   if (!server.ok()) { std::cerr << server.status().message() << "\n"; return 1; }
//   std::cout << "listening on " << (*server)->address() << "\n";
//   if (!(*server)->admin_http_address().empty()) ... "admin http listening on ..."
//   ... (*server)->RequestReload("SIGHUP");
//   (*server)->Shutdown();
//
// Thread-safe: RequestReload and Shutdown may be called from any thread (e.g. signal handling).
#ifndef FEDWALL_SERVICE_SERVER_H_
#define FEDWALL_SERVICE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/config/config.h"

namespace fedwall::service {

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServiceConfig& config);
  virtual ~Server() = default;

  // "host:port" of the data plane, with the port actually bound (when configured as 0).
  virtual std::string address() const = 0;
  // Where the AdminService is served: address() unless admin_listen is set.
  virtual std::string admin_address() const = 0;
  // "host:port" of the admin HTTP port (review page, /metrics); "" when it is off.
  virtual std::string admin_http_address() const = 0;
  // "host:port" of the inbox gateway; "" when it is off.
  virtual std::string gateway_address() const = 0;
  // The version of the serving policy.
  virtual std::string policy_version() const = 0;

  // Queues a policy reload (SIGHUP); the outcome is logged.
  virtual void RequestReload(const std::string& reason) = 0;
  // Drains and stops; idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_SERVER_H_
