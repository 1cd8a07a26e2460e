// PostgresServer: initdb, postgres on a free port, stop. See postgres_server.h.
//
// Child processes are started with fork + execve. Everything the child needs (argv, envp,
// the log and /dev/null descriptors, the user to become) is prepared before fork(); between
// fork and exec the child calls only async-signal-safe functions and allocates nothing.

#include "tests/servers/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fedwall::testing {
namespace {

constexpr size_t kLogTailBytes = 3000;
constexpr int kPortAttempts = 5;
constexpr absl::Duration kInitdbTimeout = absl::Seconds(120);

// Who the children run as: unchanged, or (as root) the `postgres` system user.
struct RunAs {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

absl::StatusOr<RunAs> TargetUser() {
  if (geteuid() != 0) return RunAs{};
  std::vector<char> buf(16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  const int rc = getpwnam_r("postgres", &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return absl::FailedPreconditionError(
        "postgres test server: running as root, and there is no `postgres` user to run "
        "PostgreSQL as (PostgreSQL refuses to run as root; install the postgresql package)");
  }
  return RunAs{.drop = true, .uid = pw.pw_uid, .gid = pw.pw_gid};
}

std::string ErrnoText(int err) { return std::strerror(err); }

// The last kLogTailBytes of the file at `path` ("" when unreadable).
std::string LogTail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  if (all.size() > kLogTailBytes) all = "..." + all.substr(all.size() - kLogTailBytes);
  return all;
}

std::string WithLog(std::string message, const std::string& log_path) {
  return absl::StrCat(message, "; ", log_path, " ends with:\n", LogTail(log_path));
}

// $FEDWALL_PG_BINDIR, else the newest /usr/lib/postgresql/N/bin holding `postgres`.
absl::StatusOr<std::string> FindBinDir() {
  if (const char* env = getenv("FEDWALL_PG_BINDIR"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  std::error_code ec;
  int best = -1;
  std::string best_dir;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    int version = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &version)) continue;
    const std::string bin = entry.path().string() + "/bin";
    if (access((bin + "/postgres").c_str(), X_OK) != 0) continue;
    if (version > best) {
      best = version;
      best_dir = bin;
    }
  }
  if (best < 0) {
    return absl::FailedPreconditionError(
        "postgres test server: no /usr/lib/postgresql/*/bin/postgres (install the postgresql "
        "package, or set FEDWALL_PG_BINDIR)");
  }
  return best_dir;
}

// A loopback port that was free a moment ago.
absl::StatusOr<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("bind to a free port: ", ErrnoText(err)));
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

// Starts `args` (args[0] an absolute path) as `as`, with stdin from /dev/null and stdout and
// stderr appended to `log_path`.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args, const RunAs& as,
                            const std::string& log_path) {
  // Everything the child touches is made here, before fork().
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  static char kPath[] = "PATH=/usr/bin:/bin";
  static char kLang[] = "LANG=C";
  static char kLcAll[] = "LC_ALL=C";
  static char kTz[] = "TZ=UTC";
  char* envp[] = {kPath, kLang, kLcAll, kTz, nullptr};
  static const char kExecFailed[] = "postgres test server: exec failed\n";
  static const char kSetuidFailed[] = "postgres test server: cannot become the postgres user\n";

  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("open ", log_path, ": ", ErrnoText(errno)));
  }
  if (as.drop && fchown(log_fd, as.uid, as.gid) != 0) {
    const int err = errno;
    close(log_fd);
    return absl::InternalError(absl::StrCat("chown ", log_path, ": ", ErrnoText(err)));
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    const int err = errno;
    close(log_fd);
    return absl::InternalError(absl::StrCat("open /dev/null: ", ErrnoText(err)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // The child: async-signal-safe calls only.
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) _exit(126);
    if (as.drop) {
      if (setgroups(0, nullptr) != 0 || setgid(as.gid) != 0 || setuid(as.uid) != 0) {
        (void)!write(2, kSetuidFailed, sizeof(kSetuidFailed) - 1);
        _exit(126);
      }
    }
    // After setuid, which clears it: the server goes when the test process dies.
    prctl(PR_SET_PDEATHSIG, SIGINT);
    if (getppid() != parent) _exit(125);
    execve(argv[0], argv.data(), envp);
    (void)!write(2, kExecFailed, sizeof(kExecFailed) - 1);
    _exit(127);
  }
  const int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", ErrnoText(fork_errno)));
  return pid;
}

// Waits for `pid` up to `timeout`; its wait status, or nullopt when still running.
std::optional<int> WaitFor(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;  // not our child any more: nothing to wait for
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("was killed by signal ", WTERMSIG(status));
  return absl::StrCat("ended with wait status ", status);
}

bool ValidDatabaseName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  absl::StatusOr<RunAs> as = TargetUser();
  if (!as.ok()) return as.status();
  absl::StatusOr<std::string> bindir = FindBinDir();
  if (!bindir.ok()) return bindir.status();

  const char* tmp = getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/fedwall-pg-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("postgres test server: mkdtemp ", tmpl, ": ", ErrnoText(errno)));
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->dir_ = tmpl;  // removed by the destructor from here on
  if (as->drop && chown(server->dir_.c_str(), as->uid, as->gid) != 0) {
    return absl::InternalError(absl::StrCat("postgres test server: chown ", server->dir_,
                                            " to the postgres user: ", ErrnoText(errno)));
  }
  const std::string data = server->dir_ + "/data";

  // initdb: trust authentication for the superuser "fedwall", no fsync (a test's data).
  const std::string initdb_log = server->dir_ + "/initdb.log";
  absl::StatusOr<pid_t> initdb =
      Spawn({*bindir + "/initdb", "-D", data, "-A", "trust", "-U", "fedwall", "--no-sync", "-E",
             "UTF8", "--locale=C", "--no-instructions"},
            *as, initdb_log);
  if (!initdb.ok()) return initdb.status();
  std::optional<int> initdb_status = WaitFor(*initdb, kInitdbTimeout);
  if (!initdb_status.has_value()) {
    kill(*initdb, SIGKILL);
    waitpid(*initdb, nullptr, 0);
    return absl::DeadlineExceededError(
        WithLog(absl::StrCat("postgres test server: initdb did not finish in ",
                             absl::FormatDuration(kInitdbTimeout)),
                initdb_log));
  }
  if (!WIFEXITED(*initdb_status) || WEXITSTATUS(*initdb_status) != 0) {
    return absl::InternalError(WithLog(
        absl::StrCat("postgres test server: initdb ", DescribeExit(*initdb_status)), initdb_log));
  }

  // postgres on a free port; another process may take the port first, so retry.
  const std::string log = server->dir_ + "/postgres.log";
  std::string last_error;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    absl::StatusOr<int> port = FreePort();
    if (!port.ok()) return port.status();
    absl::StatusOr<pid_t> pid =
        Spawn({*bindir + "/postgres", "-D", data, "-p", absl::StrCat(*port), "-k", server->dir_,
               "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "shared_buffers=16MB",
               "-c", "max_connections=60"},
              *as, log);
    if (!pid.ok()) return pid.status();
    server->pid_ = *pid;
    server->port_ = *port;
    const std::string ping = absl::StrCat("host=127.0.0.1 port=", *port,
                                          " dbname=postgres user=fedwall connect_timeout=2");
    const absl::Time deadline = absl::Now() + kStartTimeout;
    bool ready = false;
    bool port_taken = false;
    while (absl::Now() < deadline) {
      if (PQping(ping.c_str()) == PQPING_OK) {
        ready = true;
        break;
      }
      std::optional<int> exited = WaitFor(*pid, absl::ZeroDuration());
      if (exited.has_value()) {
        server->pid_ = -1;
        const std::string tail = LogTail(log);
        port_taken = absl::StrContains(tail, "could not bind") ||
                     absl::StrContains(tail, "already in use") ||
                     absl::StrContains(tail, "could not create any TCP/IP sockets");
        last_error = WithLog(absl::StrCat("postgres test server: postgres on port ", *port, " ",
                                          DescribeExit(*exited)),
                             log);
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (ready) return server;
    if (server->pid_ > 0) {
      server->Stop();
      return absl::DeadlineExceededError(WithLog(
          absl::StrCat("postgres test server: postgres on port ", *port,
                       " did not accept connections within ", absl::FormatDuration(kStartTimeout)),
          log));
    }
    if (!port_taken) return absl::InternalError(last_error);
  }
  return absl::UnavailableError(absl::StrCat("postgres test server: no free port after ",
                                             kPortAttempts, " attempts: ", last_error));
}

PostgresServer::~PostgresServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PostgresServer::url(const std::string& database) const {
  return absl::StrCat("postgresql://fedwall@127.0.0.1:", port_, "/", database);
}

absl::Status PostgresServer::CreateDatabase(const std::string& name) {
  if (!ValidDatabaseName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("postgres test server: bad database name \"", name, "\""));
  }
  const std::string port = absl::StrCat(port_);
  const char* keys[] = {"host", "port", "dbname", "user", "connect_timeout", nullptr};
  const char* values[] = {"127.0.0.1", port.c_str(), "postgres", "fedwall", "10", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 0);
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(
        absl::StrCat("postgres test server: connect: ", PQerrorMessage(conn)));
  } else {
    // The name is checked above: quoting it is enough.
    PGresult* res = PQexec(conn, absl::StrCat("CREATE DATABASE \"", name, "\"").c_str());
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      status = absl::InternalError(absl::StrCat("postgres test server: CREATE DATABASE ", name,
                                                ": ", PQresultErrorMessage(res)));
    }
    PQclear(res);
  }
  PQfinish(conn);
  return status;
}

void PostgresServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGINT);  // fast shutdown: roll back sessions, checkpoint, exit
  if (!WaitFor(pid_, kStopTimeout).has_value()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

}  // namespace fedwall::testing
