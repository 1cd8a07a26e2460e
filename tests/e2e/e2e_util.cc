#include "tests/e2e/e2e_util.h"

#include <fstream>
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

}  // namespace fedwall::testing
