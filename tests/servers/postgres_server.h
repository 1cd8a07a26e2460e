// PostgresServer: a throwaway PostgreSQL server for tests. Start() runs `initdb` into a new
// temporary directory (trust authentication, superuser "fedwall", no fsync) and starts
// `postgres` on a free loopback port with its Unix socket in that directory; the destructor
// stops it (SIGINT, a fast shutdown, then SIGKILL after a bound) and removes the directory.
//
// The binaries are looked for in $FEDWALL_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin.
// PostgreSQL refuses to run as root: when the test runs as root (CI does), the directory is
// given to the `postgres` system user and initdb and postgres run as that user.
//
// Thread-safety: Start() may be called from any thread; one server object is used by one
// thread at a time, except url() and port(), which are const and may be called from any.
//
// Example:
//   absl::StatusOr<std::unique_ptr<fedwall::testing::PostgresServer>> pg =
//       fedwall::testing::PostgresServer::Start();
//   ASSERT_TRUE(pg.ok()) << pg.status();   // the status carries the server log's tail
//   ASSERT_TRUE((*pg)->CreateDatabase("t1").ok());
//   auto store = fedwall::store::OpenPostgresStore((*pg)->url("t1"));
#ifndef FEDWALL_TESTS_SERVERS_POSTGRES_SERVER_H_
#define FEDWALL_TESTS_SERVERS_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fedwall::testing {

class PostgresServer {
 public:
  // How long Start() waits for the server to accept connections, per attempt.
  static constexpr absl::Duration kStartTimeout = absl::Seconds(30);
  // How long Stop() waits after SIGINT before it sends SIGKILL.
  static constexpr absl::Duration kStopTimeout = absl::Seconds(10);

  // Creates the data directory and starts the server; an error names the step that failed
  // and ends with the tail of its log.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // "postgresql://fedwall@127.0.0.1:PORT/DATABASE" (no password: trust authentication).
  std::string url(const std::string& database = "postgres") const;
  // CREATE DATABASE; `name` is 1 to 63 of [a-z0-9_], starting with a letter or '_'.
  absl::Status CreateDatabase(const std::string& name);
  // Stops the server (idempotent); the directory stays until the destructor.
  void Stop();
  // Whether the server process is still running.
  bool running() const { return pid_ > 0; }
  // The temporary directory: data/, the socket, initdb.log and postgres.log.
  const std::string& dir() const { return dir_; }

 private:
  PostgresServer() = default;

  std::string dir_;  // temporary directory: data/, the socket, the logs
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace fedwall::testing

#endif  // FEDWALL_TESTS_SERVERS_POSTGRES_SERVER_H_
