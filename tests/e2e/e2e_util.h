// Small helpers shared by the end-to-end tests of fedwalld: files, the fixture activities of
// tests/fixtures/service/, requests and gRPC assertions. Test-only code.
//
//   std::string note = fedwall::testing::Activity("free-crypto-note.json", 42);  // id .../42
//   v1::EvaluateRequest r = fedwall::testing::Request("1", note);
//   EXPECT_TRUE(fedwall::testing::IsOk(stub->Evaluate(&ctx, r, &response)));
#ifndef FEDWALL_TESTS_E2E_E2E_UTIL_H_
#define FEDWALL_TESTS_E2E_E2E_UTIL_H_

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <memory>

#include "absl/time/time.h"
#include "fedwall/v1/policy_service.pb.h"
#include "tests/e2e/fedwalld_process.h"

namespace fedwall::testing {

// tests/fixtures/service/ in the source tree (with a trailing slash).
const std::string& ServiceFixtures();

// The whole file ("" when it cannot be read).
std::string ReadFile(const std::string& path);
// Writes (or appends to) a file.
void WriteFile(const std::string& path, const std::string& text, bool append = false);
// Every occurrence of `from` replaced by `to`.
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to);

// A fixture activity from tests/fixtures/service/activities/: `number` replaces its status
// number 1001 (so each number is a distinct activity id) and `host` its host.
std::string Activity(const std::string& name, int64_t number = 1001,
                     const std::string& host = "mastodon.example");

fedwall::v1::EvaluateRequest Request(const std::string& request_id, const std::string& json,
                                     bool dry_run = false);
// The rule ids of a response's matches, in order.
std::vector<std::string> RuleIds(const fedwall::v1::EvaluateResponse& response);

// Success, or a failure that prints the gRPC code and message.
::testing::AssertionResult IsOk(const grpc::Status& status);

// Calls `done` until it returns true (true) or `timeout` passes (false).
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout);

// A test with its own temporary directory: a copy of the fixture policy (policy_dir_), an
// admin token file (token_file_) and a store path (store_). The servers it starts are killed
// at the end, and their standard error is printed when the test failed.
class ServerTest : public ::testing::Test {
 protected:
  explicit ServerTest(std::string token) : token_(std::move(token)) {}

  void SetUp() override;
  void TearDown() override;

  // --listen 127.0.0.1:0 --policy P --store S --workers 2 [--admin-token-file T].
  std::vector<std::string> BaseArgs(bool with_token = true) const;
  // Starts fedwalld with `args` and waits until it listens; null, with a test failure, when it
  // does not come up. The server lives until the end of the test.
  FedwalldProcess* Launch(std::vector<std::string> args);

  const std::string token_;
  std::string dir_;
  std::string policy_dir_;
  std::string token_file_;
  std::string store_;
  std::vector<std::unique_ptr<FedwalldProcess>> servers_;
};

}  // namespace fedwall::testing

#endif  // FEDWALL_TESTS_E2E_E2E_UTIL_H_
