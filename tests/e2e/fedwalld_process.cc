#include "tests/e2e/fedwalld_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/time/clock.h"

namespace fedwall::testing {
namespace {

constexpr std::string_view kListening = "listening on ";
constexpr std::string_view kAdminListening = "admin listening on ";

// Reads `fd` until end of file, handing each chunk to `sink`; closes `fd`.
template <typename Sink>
void Drain(int fd, Sink sink) {
  char buffer[4096];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sink(std::string_view(buffer, static_cast<size_t>(n)));
  }
  close(fd);
}

}  // namespace

FedwalldProcess::FedwalldProcess(std::vector<std::string> args, std::string binary)
    : expect_admin_line_(std::find(args.begin(), args.end(), "--admin-listen") != args.end()) {
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary);
  for (std::string& a : args) argv_storage.push_back(std::move(a));
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  static constexpr char kExecFailed[] = "FedwalldProcess: exec failed\n";

  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    absl::MutexLock lock(&mu_);
    stderr_ = std::string("FedwalldProcess: pipe: ") + std::strerror(errno);
    stdout_closed_ = true;
    exit_code_ = 127;
    return;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    absl::MutexLock lock(&mu_);
    stderr_ = std::string("FedwalldProcess: pipe: ") + std::strerror(errno);
    stdout_closed_ = true;
    exit_code_ = 127;
    return;
  }

  pid_ = fork();
  if (pid_ == 0) {
    // Child: standard streams to the pipes, a clean signal mask, then exec.
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    ssize_t ignored = write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
    (void)ignored;
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid_ < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    absl::MutexLock lock(&mu_);
    stderr_ = std::string("FedwalldProcess: fork: ") + std::strerror(errno);
    stdout_closed_ = true;
    exit_code_ = 127;
    return;
  }
  stdout_thread_ = std::thread([this, fd = out_pipe[0]] { ReadStdout(fd); });
  stderr_thread_ = std::thread([this, fd = err_pipe[0]] { ReadStderr(fd); });
}

FedwalldProcess::~FedwalldProcess() {
  if (pid_ > 0) {
    absl::MutexLock lock(&mu_);
    if (!TryReap()) {
      kill(pid_, SIGKILL);
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      exit_code_ = 128 + SIGKILL;
    }
  }
  // The pipes reach end of file once the process is gone.
  if (stdout_thread_.joinable()) stdout_thread_.join();
  if (stderr_thread_.joinable()) stderr_thread_.join();
}

void FedwalldProcess::ReadStdout(int fd) {
  std::string line;
  Drain(fd, [&](std::string_view chunk) {
    absl::MutexLock lock(&mu_);
    stdout_.append(chunk);
    for (char c : chunk) {
      if (c != '\n') {
        line.push_back(c);
        continue;
      }
      std::string_view l = line;
      if (l.substr(0, kAdminListening.size()) == kAdminListening) {
        admin_address_ = std::string(l.substr(kAdminListening.size()));
      } else if (l.substr(0, kListening.size()) == kListening && address_.empty()) {
        address_ = std::string(l.substr(kListening.size()));
      }
      line.clear();
    }
  });
  absl::MutexLock lock(&mu_);
  stdout_closed_ = true;
}

void FedwalldProcess::ReadStderr(int fd) {
  Drain(fd, [&](std::string_view chunk) {
    absl::MutexLock lock(&mu_);
    stderr_.append(chunk);
  });
}

bool FedwalldProcess::WaitUntilListening(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready_or_gone = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bool ready = !address_.empty() && (!expect_admin_line_ || !admin_address_.empty());
    return ready || stdout_closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready_or_gone), timeout);
  return !address_.empty() && (!expect_admin_line_ || !admin_address_.empty());
}

std::string FedwalldProcess::address() const {
  absl::MutexLock lock(&mu_);
  return address_;
}

std::string FedwalldProcess::admin_address() const {
  absl::MutexLock lock(&mu_);
  return admin_address_.empty() ? address_ : admin_address_;
}

bool FedwalldProcess::Signal(int signal) {
  absl::MutexLock lock(&mu_);
  if (pid_ <= 0 || TryReap()) return false;
  return kill(pid_, signal) == 0;
}

bool FedwalldProcess::TryReap() {
  if (exit_code_) return true;
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return false;
  if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_code_ = 128 + WTERMSIG(status);
  } else {
    return false;
  }
  return true;
}

std::optional<int> FedwalldProcess::WaitExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (TryReap()) return exit_code_;
    }
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

std::string FedwalldProcess::Stderr() const {
  absl::MutexLock lock(&mu_);
  return stderr_;
}

std::string FedwalldProcess::Stdout() const {
  absl::MutexLock lock(&mu_);
  return stdout_;
}

}  // namespace fedwall::testing
