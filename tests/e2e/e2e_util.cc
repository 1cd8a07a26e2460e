#include "tests/e2e/e2e_util.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/time/clock.h"

namespace fedwall::testing {

const std::string& ServiceFixtures() {
  static const std::string* dir =
      new std::string(std::string(FEDWALL_SOURCE_DIR) + "/tests/fixtures/service/");
  return *dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& text, bool append) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << text;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string Activity(const std::string& name, int64_t number, const std::string& host) {
  std::string text = ReadFile(ServiceFixtures() + "activities/" + name);
  return ReplaceAll(ReplaceAll(text, "1001", std::to_string(number)), "mastodon.example", host);
}

fedwall::v1::EvaluateRequest Request(const std::string& request_id, const std::string& json,
                                     bool dry_run) {
  fedwall::v1::EvaluateRequest request;
  request.set_request_id(request_id);
  request.set_activity_json(json);
  request.set_dry_run(dry_run);
  return request;
}

std::vector<std::string> RuleIds(const fedwall::v1::EvaluateResponse& response) {
  std::vector<std::string> ids;
  for (const fedwall::v1::RuleMatch& m : response.matches()) ids.push_back(m.rule_id());
  return ids;
}

::testing::AssertionResult IsOk(const grpc::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "gRPC status " << status.error_code() << ": " << status.error_message();
}

bool PollUntil(const std::function<bool()>& done, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void ServerTest::SetUp() {
  std::string pattern = ::testing::TempDir() + "fedwalld_test_XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
  dir_ = pattern;
  policy_dir_ = dir_ + "/policy";
  std::filesystem::copy(ServiceFixtures() + "policy", policy_dir_,
                        std::filesystem::copy_options::recursive);
  token_file_ = dir_ + "/admin.token";
  WriteFile(token_file_, token_ + "\n");
  store_ = dir_ + "/fedwall.db";
}

void ServerTest::TearDown() {
  if (HasFailure()) {
    for (const auto& s : servers_) {
      std::cerr << "---- fedwalld (pid " << s->pid() << ") standard error ----\n"
                << s->Stderr() << "---- end ----\n";
    }
  }
  servers_.clear();  // kills what is still running
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::vector<std::string> ServerTest::BaseArgs(bool with_token) const {
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--policy",  policy_dir_,
                                   "--store",  store_,        "--workers", "2"};
  if (with_token) {
    args.push_back("--admin-token-file");
    args.push_back(token_file_);
  }
  return args;
}

FedwalldProcess* ServerTest::Launch(std::vector<std::string> args) {
  servers_.push_back(std::make_unique<FedwalldProcess>(std::move(args)));
  FedwalldProcess* server = servers_.back().get();
  if (!server->WaitUntilListening(absl::Seconds(30))) {
    ADD_FAILURE() << "fedwalld did not start; stdout:\n" << server->Stdout();
    return nullptr;
  }
  return server;
}

}  // namespace fedwall::testing
