// End to end: fedwall-empty-server on port 0, then `fedwall bench` against it in each mode.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/cli/run_command.h"

namespace fedwall {
namespace {

using ::fedwall::testing::CommandResult;
using ::fedwall::testing::RunCommand;

// The empty server as a child process.
class EmptyServer {
 public:
  // Starts it and waits (up to 10 s) for its "listening on HOST:PORT" line; false on failure.
  bool Start() {
    int out[2];
    if (pipe(out) != 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      execl(FEDWALL_EMPTY_SERVER, FEDWALL_EMPTY_SERVER, "--listen", "127.0.0.1:0",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      pollfd fd = {out_, POLLIN, 0};
      if (left <= 0 || poll(&fd, 1, static_cast<int>(left)) <= 0) return false;
      char buf[256];
      ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) return false;
      line.append(buf, static_cast<size_t>(n));
    }
    const std::string prefix = "listening on ";
    if (line.compare(0, prefix.size(), prefix) != 0) return false;
    address_ = line.substr(prefix.size(), line.find('\n') - prefix.size());
    return true;
  }

  // SIGTERM, then waits up to 5 s: the exit status, or -1 (killed, or did not stop in time).
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (true) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  ~EmptyServer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  const std::string& address() const { return address_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string address_;
};

// A local port nothing listens on (bound, then closed).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 1;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

double Number(simdjson::dom::element e) {
  double d = 0;
  if (e.get_double().get(d) == simdjson::SUCCESS) return d;
  int64_t i = 0;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  uint64_t u = 0;
  if (e.get_uint64().get(u) == simdjson::SUCCESS) return static_cast<double>(u);
  ADD_FAILURE() << "not a number: " << simdjson::to_string(e);
  return -1;
}

class BenchSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << "fedwall-empty-server did not start"; }
  void TearDown() override { EXPECT_EQ(server_.Stop(), 0) << "no clean exit on SIGTERM"; }

  CommandResult Bench(std::vector<std::string> extra) {
    std::vector<std::string> argv = {FEDWALL_CLI, "bench", "--server", server_.address()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  }

  // Runs one mode for a second and checks the summary.
  void ExpectCleanRun(const std::string& mode, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--mode", mode,      "--duration", "1s",    "--warmup",
                                     "0s",     "--count", "200",        "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = Bench(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
    std::string_view got_mode;
    ASSERT_EQ(doc["mode"].get_string().get(got_mode), simdjson::SUCCESS);
    EXPECT_EQ(got_mode, mode);
    const double activities = Number(doc["activities"]);
    EXPECT_GT(activities, 0) << r.out;
    EXPECT_GT(Number(doc["requests"]), 0) << r.out;
    EXPECT_EQ(Number(doc["errors"]), 0) << r.out;
    EXPECT_EQ(Number(doc["item_errors"]), 0) << r.out;
    EXPECT_EQ(Number(doc["verdicts"]["ACCEPT"]), activities) << r.out;
    EXPECT_GT(Number(doc["activities_per_second"]), 0) << r.out;
    EXPECT_GE(Number(doc["duration_seconds"]), 1.0) << r.out;
    const double p50 = Number(doc["latency_ms"]["p50"]);
    const double p99 = Number(doc["latency_ms"]["p99"]);
    EXPECT_GT(p50, 0) << r.out;
    EXPECT_LE(p50, p99);
    EXPECT_LE(p99, Number(doc["latency_ms"]["max"]));
    if (mode == "batch") {
      EXPECT_EQ(Number(doc["batch_size"]), 128);
      EXPECT_EQ(activities, 128 * Number(doc["requests"])) << r.out;
    } else {
      EXPECT_EQ(activities, Number(doc["requests"])) << r.out;
    }
  }

  EmptyServer server_;
};

TEST_F(BenchSmokeTest, Unary) { ExpectCleanRun("unary"); }
TEST_F(BenchSmokeTest, Batch) { ExpectCleanRun("batch"); }
TEST_F(BenchSmokeTest, Stream) { ExpectCleanRun("stream"); }

TEST_F(BenchSmokeTest, SeveralChannelsAndSmallWindows) {
  ExpectCleanRun("unary", {"--channels", "4", "--concurrency", "8"});
  ExpectCleanRun("stream", {"--channels", "2", "--concurrency", "3", "--window", "1"});
}

TEST_F(BenchSmokeTest, HumanOutputShowsThroughputAndPercentiles) {
  CommandResult r = Bench({"--mode", "unary", "--duration", "300ms", "--warmup", "100ms", "--count",
                           "50", "--concurrency", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "activities/s")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "p99.9")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "ACCEPT")) << r.out;
  EXPECT_EQ(r.err, "");  // no progress bar when standard error is not a terminal
}

TEST_F(BenchSmokeTest, CorpusFileWithPlainAndWrapperLines) {
  const std::string path = ::testing::TempDir() + "bench_corpus.jsonl";
  {
    std::ofstream f(path);
    f << R"({"type":"Like","actor":"https://a.example/u/1","object":"https://b.example/n/1"})"
      << "\n\n"
      << R"({"activity":{"type":"Follow","actor":"https://a.example/u/2","object":"x"},)"
      << R"("delivery":{"senderDomain":"a.example"},"actor":{"followersCount":3}})"
      << "\n";
  }
  ExpectCleanRun("stream", {"--corpus", path});

  {
    std::ofstream f(path);
    f << R"({"type":"Like"})"
      << "\n"
      << R"({"activity":{"type":"Like"},"delivery":{"noSuchField":1}})"
      << "\n";
  }
  CommandResult r = Bench({"--corpus", path, "--duration", "1s"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "bench_corpus.jsonl:2: facts:")) << r.err;

  CommandResult missing = Bench({"--corpus", path + ".missing"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(missing.err, "No such file")) << missing.err;
  std::remove(path.c_str());
}

TEST_F(BenchSmokeTest, BadFlagsExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--mode", "bogus"},
           {"--duration", "0s"},
           {"--duration", "ten seconds"},
           {"--warmup", "-1s"},
           {"--concurrency", "0"},
           {"--concurrency", "100000"},
           {"--batch-size", "0"},
           {"--count", "0"},
       }) {
    CommandResult r = Bench(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(BenchUnreachableTest, ClosedPortIsOneClearErrorQuickly) {
  const std::string address = absl::StrCat("127.0.0.1:", FreePort());
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = RunCommand({FEDWALL_CLI, "bench", "--server", address, "--duration", "1s"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(r.err, "fedwall bench: cannot reach " + address)) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_LT(took, std::chrono::seconds(8));
}

TEST(BenchUnreachableTest, ServerFlagIsRequired) {
  CommandResult r = RunCommand({"/usr/bin/env", "-u", "FEDWALL_SERVER", FEDWALL_CLI, "bench"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--server")) << r.err;
}

}  // namespace
}  // namespace fedwall
