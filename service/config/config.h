// ServiceConfig: every setting of fedwalld, with its default, in one place (leveldb's
// options.h). Read from a TOML file (`fedwalld --config fedwall.toml`, toml++), then the
// command-line flags override single settings. docs/configuration.md and
// docs/examples/fedwall.toml document every key; ConfigTest keeps the example loadable.
//
// The defaults are safe for a first start: listen on localhost only, refuse activities over
// 1 MiB and messages over 16 MiB, no admin token (then the AdminService refuses every call),
// plaintext gRPC (TLS and mTLS for the admin port with server.tls_* and
// server.admin_client_ca_file; docs/security.md).
//
// Example:
//   absl::StatusOr<fedwall::service::ServiceConfig> c =
//       fedwall::service::LoadConfigFile("fedwall.toml");
//   if (!c.ok()) { std::cerr << c.status().message() << "\n"; return 2; }
//   c->listen = "127.0.0.1:0";                   // a flag wins over the file
//   if (absl::Status s = c->Validate(); !s.ok()) ...
//
// Plain value type; no synchronisation needed.
#ifndef FEDWALL_SERVICE_CONFIG_CONFIG_H_
#define FEDWALL_SERVICE_CONFIG_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fedwall::service {

struct ServiceConfig {
  // [server]
  std::string listen = "127.0.0.1:50051";  // gRPC address; port 0 picks a free port
  std::string admin_listen;                // AdminService only there when set; "" = on `listen`
  std::string admin_token_file;   // file holding the admin bearer token; "" = admin refused
  std::string admin_http_listen;  // review page and /metrics (HTTP); "" = off
  // TLS for the gRPC ports: PEM certificate chain and its unencrypted key, both or neither;
  // "" = plaintext. With admin_client_ca_file (PEM CA certificates) the AdminService port
  // also requires a client certificate that CA signed (mTLS); "" = none asked for.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string admin_client_ca_file;
  int workers = 0;                                  // evaluation threads; 0 = one per core
  absl::Duration drain_timeout = absl::Seconds(5);  // SIGTERM: wait this long for calls

  // [policy]
  std::string policy_dir = "rules";  // directory of *.rules files (and their lists)
  bool watch = true;                 // reload when a file in policy_dir changes
  absl::Duration reload_debounce = absl::Milliseconds(300);  // wait for writes to settle

  // [store]
  // A SQLite file (WAL; ":memory:" keeps nothing), or a PostgreSQL URL
  // (postgresql://user@host:5432/fedwall) shared by several nodes.
  std::string store = "fedwall.db";
  // A shared (PostgreSQL) store: how often this node reads the domain blocks other nodes made.
  absl::Duration store_sync_interval = absl::Seconds(5);

  // [state]: where the counters (actor.rate, text.seen, ...) are kept.
  std::string state = "memory";  // "memory" (this process) or redis://[:password@]host[:port][/db]
  absl::Duration state_timeout = absl::Milliseconds(100);  // Redis connect and call timeout
  size_t state_max_memory_bytes = 256 << 20;               // "memory": bound on counter memory

  // [limits]
  size_t max_activity_bytes = 1 << 20;  // one activity; past it: INVALID_ARGUMENT / item error
  size_t max_message_bytes = 16 << 20;  // one gRPC message; past it gRPC refuses the call
  size_t max_batch_items = 1024;        // activities in one EvaluateBatch
  size_t max_json_depth = 64;           // nesting of an activity
  size_t max_stream_in_flight = 256;    // requests of one stream evaluated at once

  // [gateway]: the inbox gateway (docs/integrations/gateway.md); off while gateway_listen is "".
  std::string gateway_listen;    // host:port of the HTTP inbox gateway
  std::string gateway_upstream;  // http://host:port of the server behind it
  std::string gateway_flag = "forward";  // FLAG: "forward" (deliver, review later) or "hold"
  std::vector<std::string> gateway_inbox_paths = {"/inbox", "/users/*/inbox"};
  int gateway_reject_status = 202;  // REJECT answers this (202 or 403)
  std::vector<std::string> gateway_trusted_proxies = {"127.0.0.1", "::1"};  // X-Forwarded-For
  std::string gateway_fail = "open";           // no decision possible: "open" forwards, "closed" 503
  std::vector<std::string> gateway_flag_effects;  // effects that make an ACCEPT a FLAG
  absl::Duration gateway_hold_window = absl::Hours(12);  // a held request's signature lifetime
  size_t gateway_max_body_bytes = 1 << 20;
  absl::Duration gateway_read_timeout = absl::Seconds(30);
  absl::Duration gateway_upstream_timeout = absl::Seconds(30);
  size_t gateway_max_in_flight = 512;
  size_t gateway_max_connections = 4096;

  // Checks ranges and required combinations; InvalidArgument naming the key.
  absl::Status Validate() const;
};

// `url` with the password of its user-info and of a `password=` query parameter replaced by
// "***" ("redis://:***@host:6379", "postgresql://fedwall:***@db/fedwall",
// "postgresql://db/fedwall?password=***"); anything else unchanged. For logs and errors.
std::string RedactedUrl(std::string_view url);

// True when `address` ("host:port", as Validate accepts it) binds only to the machine itself:
// a host in 127.0.0.0/8, ::1 (also written in full, or as ::ffff:127.x.y.z) or "localhost"
// (any case). Every other host, names included, counts as reachable from the network.
bool IsLoopbackListenAddress(std::string_view address);

// The start-up refusal of fedwalld: FailedPrecondition, one line naming the settings, when an
// admin port (the AdminService on server.listen or server.admin_listen, or the admin HTTP port)
// is on a non-loopback address and server.admin_token_file is empty. On loopback without a
// token the admin ports stay allowed (every admin call is refused anyway).
absl::Status CheckAdminExposure(const ServiceConfig& config);

// The PEM texts named by server.tls_cert_file, server.tls_key_file and
// server.admin_client_ca_file ("" for a setting that is empty).
struct TlsFiles {
  std::string cert_chain;       // one or more CERTIFICATE blocks
  std::string private_key;      // an unencrypted PRIVATE KEY block
  std::string admin_client_ca;  // CERTIFICATE blocks of the CA that signs admin clients
};

// Reads the TLS files of `config`: each at most kMaxPemFileBytes and holding the PEM block it
// should. Errors name the setting and the file, and never show a file's contents.
absl::StatusOr<TlsFiles> ReadTlsFiles(const ServiceConfig& config);

// Parses TOML text; unknown tables or keys and wrong types are errors naming the key and line
// (so a typo never silently keeps a default). Relative paths stay as written; `path` is used
// in messages. Durations are TOML strings like "5s", "300ms"; sizes are integers of bytes or
// strings like "1MiB".
absl::StatusOr<ServiceConfig> ParseConfig(std::string_view toml, std::string_view path);

// Reads and parses a file; relative paths in it (policy_dir, store, admin_token_file and the
// TLS files) are resolved against the file's directory.
absl::StatusOr<ServiceConfig> LoadConfigFile(const std::string& path);

// Reads a token file: the first line, surrounding whitespace removed. An empty token is an
// error (an empty token would let anyone in), and so is a token with characters that cannot
// travel in an `authorization: Bearer` header (controls, spaces, non-ASCII).
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Bounds on the files read above.
inline constexpr size_t kMaxConfigFileBytes = size_t{1} << 20;  // LoadConfigFile, ParseConfig
inline constexpr size_t kMaxTokenFileBytes = size_t{64} << 10;  // ReadTokenFile
inline constexpr size_t kMaxPemFileBytes = size_t{1} << 20;     // ReadTlsFiles, each file

// A byte size as the file takes it, for flags that want the same syntax: a plain number of
// bytes ("1048576"), or a number with a unit: B; kB, MB, GB (powers of 1000); KiB, MiB, GiB
// (powers of 1024). "16MiB" == 16777216, "1MB" == 1000000. No fractions, no sign.
absl::StatusOr<size_t> ParseByteSize(std::string_view text);

// Every key ParseConfig accepts, as "table.key" in the order of the file
// ("server.listen", ..., "limits.max_stream_in_flight"). Tests use it to keep
// docs/configuration.md and docs/examples/fedwall.toml complete.
std::vector<std::string> ConfigKeyNames();

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_CONFIG_CONFIG_H_
