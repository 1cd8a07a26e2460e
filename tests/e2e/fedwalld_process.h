// FedwalldProcess: one real `fedwalld` process for end-to-end tests, started with fork/exec and
// watched through pipes.
//
// The constructor starts the program (standard input from /dev/null); two threads read its
// standard output (to learn the "listening on HOST:PORT" line, and "admin listening on
// HOST:PORT" when --admin-listen is given) and its standard error (kept whole, so tests can
// assert on the log and print it when they fail). The destructor kills the process with SIGKILL
// if it is still running, reaps it and joins the threads, so a failing test never leaves a
// server behind.
//
// Example:
//   FedwalldProcess server({"--listen", "127.0.0.1:0", "--policy", dir, "--store", db});
//   ASSERT_TRUE(server.WaitUntilListening(absl::Seconds(30))) << server.Stderr();
//   auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
//   ...
//   server.Signal(SIGTERM);
//   EXPECT_EQ(server.WaitExit(absl::Seconds(10)), 0);
//
// Thread-safe: every method may be called from any thread.
#ifndef FEDWALL_TESTS_E2E_FEDWALLD_PROCESS_H_
#define FEDWALL_TESTS_E2E_FEDWALLD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fedwall::testing {

class FedwalldProcess {
 public:
  // Starts `binary` (FEDWALLD_PATH by default) with `args` (without the program name).
  explicit FedwalldProcess(std::vector<std::string> args, std::string binary = FEDWALLD_PATH);
  ~FedwalldProcess();  // SIGKILL if still running; reaps; joins the reader threads
  FedwalldProcess(const FedwalldProcess&) = delete;
  FedwalldProcess& operator=(const FedwalldProcess&) = delete;

  // Waits until the "listening on" line (and the "admin listening on" line when the arguments
  // hold --admin-listen) has been printed. False when the process ended, closed its standard
  // output or did not get there within `timeout`.
  bool WaitUntilListening(absl::Duration timeout);

  // "host:port" of the data plane and of the AdminService ("" before they are known).
  std::string address() const;
  std::string admin_address() const;  // address() unless --admin-listen was given

  // Sends `signal` to the process; false when it has already been reaped.
  bool Signal(int signal);

  // Waits up to `timeout` for the process to end. Its exit code, or 128 + the signal number
  // when a signal ended it; nullopt when it is still running after `timeout`.
  std::optional<int> WaitExit(absl::Duration timeout);

  // Everything the process wrote on standard error (and on standard output) so far.
  std::string Stderr() const;
  std::string Stdout() const;

  pid_t pid() const { return pid_; }

 private:
  void ReadStdout(int fd);
  void ReadStderr(int fd);
  // Non-blocking reap; true once the process has ended (exit_code_ set).
  bool TryReap() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const bool expect_admin_line_;
  pid_t pid_ = -1;
  std::thread stdout_thread_;
  std::thread stderr_thread_;

  mutable absl::Mutex mu_;
  std::string stdout_ ABSL_GUARDED_BY(mu_);
  std::string stderr_ ABSL_GUARDED_BY(mu_);
  std::string address_ ABSL_GUARDED_BY(mu_);
  std::string admin_address_ ABSL_GUARDED_BY(mu_);
  bool stdout_closed_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int> exit_code_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fedwall::testing

#endif  // FEDWALL_TESTS_E2E_FEDWALLD_PROCESS_H_
