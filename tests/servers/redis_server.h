// RedisServer: a real, throwaway `redis-server` for tests, on a free loopback port.
//
// Start() makes a data directory under $TMPDIR (or /tmp), picks a free port on 127.0.0.1 (the
// kernel's choice for a port-0 socket, then retried with another if redis-server cannot bind
// it), starts /usr/bin/redis-server with no persistence (`--save "" --appendonly no`), a unix
// socket in the data directory, and waits until it answers PING. Stop() (and the destructor)
// sends SIGTERM, then SIGKILL if it has not ended within a few seconds, reaps it and removes
// the directory, so a failing test never leaves a server behind. Everything the child needs is
// prepared before fork(); between fork() and exec() only async-signal-safe calls are made.
//
// Making Redis "away" in tests: Pause() stops the process (SIGSTOP: connections hang, as with
// a stuck server), Resume() lets it go on; Stop() then Restart() gives a fresh, empty server on
// the same port (as after a crash without persistence).
//
// Example:
//   auto redis = fedwall::testing::RedisServer::Start();
//   ASSERT_TRUE(redis.ok()) << redis.status();
//   auto store = OpenRedisCounterStore((*redis)->url(), {});
//   (*redis)->Pause();  ...  (*redis)->Resume();
//
// Thread safety: not thread-safe; use one RedisServer from one thread (the server itself may
// of course be used from any number of threads and processes).
#ifndef FEDWALL_TESTS_SERVERS_REDIS_SERVER_H_
#define FEDWALL_TESTS_SERVERS_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fedwall::testing {

class RedisServer {
 public:
  static constexpr const char* kDefaultBinary = "/usr/bin/redis-server";

  // Starts a server; an error when the binary is missing, no port could be bound after a few
  // tries, or it did not answer PING within `ready_timeout` (the message holds its log).
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      std::string binary = kDefaultBinary, absl::Duration ready_timeout = absl::Seconds(10));

  ~RedisServer();  // Stop()
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  // "redis://127.0.0.1:PORT/0".
  std::string url() const;
  // The server's unix socket (in its data directory): "unix://" + unix_socket() is a URL too.
  std::string unix_socket() const { return dir_ + "/redis.sock"; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // SIGSTOP / SIGCONT. A paused server accepts connections (the kernel does) but answers
  // nothing. Stop() resumes a paused server before ending it.
  absl::Status Pause();
  absl::Status Resume();

  // Ends the server (SIGTERM, then SIGKILL after 5 s), reaps it and removes its directory.
  // Idempotent.
  void Stop();
  // Starts a fresh, empty server on the same port (after Stop(); stops a running one first).
  absl::Status Restart(absl::Duration ready_timeout = absl::Seconds(10));

  // The server's log so far ("" once stopped), for failure messages.
  std::string Log() const;

 private:
  explicit RedisServer(std::string binary) : binary_(std::move(binary)) {}
  // Makes the directory, starts the process on port_ and waits for PING.
  absl::Status Launch(absl::Duration ready_timeout);
  void KillAndReap();
  void RemoveDir();

  std::string binary_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

}  // namespace fedwall::testing

#endif  // FEDWALL_TESTS_SERVERS_REDIS_SERVER_H_
