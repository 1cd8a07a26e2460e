#include "tests/servers/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace fedwall::testing {
namespace {

constexpr int kPortTries = 8;
constexpr absl::Duration kTermGrace = absl::Seconds(5);
constexpr size_t kMaxLogInError = 4000;

// A port the kernel considers free on 127.0.0.1 right now (0 on failure).
int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// True when a server on 127.0.0.1:port answers "PING" with "+PONG" within `timeout`.
bool Pings(int port, absl::Duration timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  absl::Time deadline = absl::Now() + timeout;
  auto wait_for = [&](short events) {
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) return false;
    pollfd p{fd, events, 0};
    return poll(&p, 1, ms) == 1 && (p.revents & events) != 0;
  };
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ||
      (errno == EINPROGRESS && wait_for(POLLOUT))) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    static constexpr char kPing[] = "PING\r\n";
    if (err == 0 && send(fd, kPing, sizeof(kPing) - 1, MSG_NOSIGNAL) == sizeof(kPing) - 1) {
      std::string reply;
      char buffer[64];
      while (reply.size() < 7 && wait_for(POLLIN)) {
        ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        reply.append(buffer, static_cast<size_t>(n));
      }
      ok = reply.rfind("+PONG", 0) == 0;
    }
  }
  close(fd);
  return ok;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(std::string binary,
                                                                absl::Duration ready_timeout) {
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("RedisServer: ", binary, " is not an executable: ", std::strerror(errno)));
  }
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(binary)));
  absl::Status last;
  for (int attempt = 0; attempt < kPortTries; ++attempt) {
    server->port_ = PickFreePort();
    if (server->port_ == 0) {
      last = absl::InternalError(
          absl::StrCat("RedisServer: no free port on 127.0.0.1: ", std::strerror(errno)));
      continue;
    }
    last = server->Launch(ready_timeout);
    if (last.ok()) return server;
    // Another process may have taken the port between PickFreePort and the bind: try again.
  }
  return last;
}

RedisServer::~RedisServer() { Stop(); }

std::string RedisServer::url() const { return absl::StrCat("redis://127.0.0.1:", port_, "/0"); }

absl::Status RedisServer::Launch(absl::Duration ready_timeout) {
  // The data directory.
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/fedwall-redis-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("RedisServer: mkdtemp ", pattern, ": ", std::strerror(errno)));
  }
  dir_ = pattern;

  // Everything the child needs, before fork.
  std::vector<std::string> args = {binary_,
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--unixsocket",
                                   dir_ + "/redis.sock",
                                   "--unixsocketperm",
                                   "700",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--daemonize",
                                   "no",
                                   "--dir",
                                   dir_,
                                   "--logfile",
                                   dir_ + "/redis.log",
                                   "--databases",
                                   "16"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  static constexpr char kDevNull[] = "/dev/null";

  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open(kDevNull, O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (pid < 0) {
    std::string error = std::strerror(errno);
    RemoveDir();
    return absl::InternalError(absl::StrCat("RedisServer: fork: ", error));
  }
  pid_ = pid;
  paused_ = false;

  absl::Time deadline = absl::Now() + ready_timeout;
  while (true) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::string log = Log();
      RemoveDir();
      return absl::UnavailableError(
          absl::StrCat("RedisServer: redis-server on port ", port_, " exited (status ", status,
                       ") before answering PING; log:\n", log.substr(0, kMaxLogInError)));
    }
    if (Pings(port_, absl::Milliseconds(500))) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      std::string log = Log();
      Stop();
      return absl::DeadlineExceededError(absl::StrCat(
          "RedisServer: redis-server on port ", port_, " did not answer PING within ",
          absl::FormatDuration(ready_timeout), "; log:\n", log.substr(0, kMaxLogInError)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status RedisServer::Pause() {
  if (pid_ <= 0) return absl::FailedPreconditionError("RedisServer: not running");
  if (kill(pid_, SIGSTOP) != 0) {
    return absl::InternalError(absl::StrCat("RedisServer: SIGSTOP: ", std::strerror(errno)));
  }
  paused_ = true;
  return absl::OkStatus();
}

absl::Status RedisServer::Resume() {
  if (pid_ <= 0) return absl::FailedPreconditionError("RedisServer: not running");
  if (kill(pid_, SIGCONT) != 0) {
    return absl::InternalError(absl::StrCat("RedisServer: SIGCONT: ", std::strerror(errno)));
  }
  paused_ = false;
  return absl::OkStatus();
}

void RedisServer::KillAndReap() {
  if (pid_ <= 0) return;
  if (paused_) kill(pid_, SIGCONT);
  paused_ = false;
  kill(pid_, SIGTERM);
  absl::Time deadline = absl::Now() + kTermGrace;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  pid_ = -1;
}

void RedisServer::RemoveDir() {
  if (dir_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  dir_.clear();
}

void RedisServer::Stop() {
  KillAndReap();
  RemoveDir();
}

absl::Status RedisServer::Restart(absl::Duration ready_timeout) {
  Stop();
  absl::Status last;
  // The old process's socket may linger for a moment: retry the same port briefly.
  for (int attempt = 0; attempt < kPortTries; ++attempt) {
    last = Launch(ready_timeout);
    if (last.ok()) return last;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return last;
}

std::string RedisServer::Log() const {
  if (dir_.empty()) return "";
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace fedwall::testing
