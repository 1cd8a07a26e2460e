// End-to-end tests of fedwalld: the real binary, started on 127.0.0.1 port 0 with a copy of
// tests/fixtures/service/policy in its own temporary directory, driven through the generated
// gRPC clients as a fediverse server and a moderator would. Contract: docs/api.md.
//
// Every test starts its own server (so counts, flags and blocks are its own); when a test
// fails, the servers' standard error is printed.
#include <gmock/gmock.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fedwall/v1/admin_service.grpc.pb.h"
#include "fedwall/v1/policy_service.grpc.pb.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/fedwalld_process.h"

namespace fedwall::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = fedwall::v1;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

const std::string kFixtures = std::string(FEDWALL_SOURCE_DIR) + "/tests/fixtures/service/";
constexpr char kToken[] = "e2e-admin-token-7f3a9c";
constexpr auto kCallDeadline = std::chrono::seconds(10);

// ---- Files and activities --------------------------------------------------------------------

// An activity whose content is padded to at least `bytes` bytes.
std::string LargeActivity(size_t bytes) {
  return ReplaceAll(Activity("clean-note.json"), "Saturday", "Saturday " + std::string(bytes, 'a'));
}

const char kMalformedJson[] =
    R"({"type": "Create", "actor": "https://mastodon.example/users/alice", )";

const v1::RuleMatch* FindMatch(const v1::EvaluateResponse& response, const std::string& rule_id) {
  for (const v1::RuleMatch& m : response.matches()) {
    if (m.rule_id() == rule_id) return &m;
  }
  return nullptr;
}

const v1::Evidence* FindEvidence(const v1::RuleMatch& match, const std::string& field) {
  for (const v1::Evidence& e : match.evidence()) {
    if (e.field() == field) return &e;
  }
  return nullptr;
}

// ---- gRPC helpers ----------------------------------------------------------------------------

// Sets the deadline every call gets and, when `token` is not null, the authorization header.
void Prepare(grpc::ClientContext* context, const char* authorization = nullptr) {
  context->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  if (authorization != nullptr) context->AddMetadata("authorization", authorization);
}

const std::string kBearer = std::string("Bearer ") + kToken;

template <typename Request, typename Response>
using AdminMethod = grpc::Status (v1::AdminService::Stub::*)(grpc::ClientContext*, const Request&,
                                                             Response*);

// Stubs for both services of one server.
class Client {
 public:
  Client(const std::string& address, const std::string& admin_address)
      : channel_(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        policy_(v1::PolicyService::NewStub(channel_)),
        admin_(v1::AdminService::NewStub(
            grpc::CreateChannel(admin_address, grpc::InsecureChannelCredentials()))) {}
  explicit Client(const FedwalldProcess& server)
      : Client(server.address(), server.admin_address()) {}

  v1::PolicyService::Stub* policy() { return policy_.get(); }
  v1::AdminService::Stub* admin() { return admin_.get(); }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

  grpc::Status Evaluate(const v1::EvaluateRequest& request, v1::EvaluateResponse* response) {
    grpc::ClientContext context;
    Prepare(&context);
    return policy_->Evaluate(&context, request, response);
  }

  // Evaluates one activity; an RPC error fails the test (and gives an empty response).
  v1::EvaluateResponse Decide(const std::string& json, const std::string& request_id = "req",
                              bool dry_run = false) {
    v1::EvaluateResponse response;
    grpc::Status status = Evaluate(Request(request_id, json, dry_run), &response);
    EXPECT_TRUE(IsOk(status)) << "Evaluate " << request_id;
    return response;
  }

  grpc::Status Batch(const v1::EvaluateBatchRequest& request, v1::EvaluateBatchResponse* response) {
    grpc::ClientContext context;
    Prepare(&context);
    return policy_->EvaluateBatch(&context, request, response);
  }

  // An AdminService call with the right token (or `authorization`, which may be null).
  template <typename Request, typename Response>
  grpc::Status Admin(AdminMethod<Request, Response> method, const Request& request,
                     Response* response, const char* authorization = kBearer.c_str()) {
    grpc::ClientContext context;
    Prepare(&context, authorization);
    return (admin_.get()->*method)(&context, request, response);
  }

  // An AdminService call that must succeed.
  template <typename Request, typename Response>
  Response MustAdmin(AdminMethod<Request, Response> method, const Request& request) {
    Response response;
    EXPECT_TRUE(IsOk(Admin(method, request, &response)));
    return response;
  }

  std::string PolicyVersion() {
    return MustAdmin(&v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest()).version();
  }

  std::vector<v1::DomainBlock> Blocks() {
    v1::ListDomainBlocksResponse r =
        MustAdmin(&v1::AdminService::Stub::ListDomainBlocks, v1::ListDomainBlocksRequest());
    return {r.blocks().begin(), r.blocks().end()};
  }

  v1::ListFlagsResponse Flags(v1::FlagStatus status = v1::FLAG_STATUS_UNSPECIFIED,
                              const std::string& rule_id = "", const std::string& domain = "",
                              int page_size = 0, const std::string& page_token = "") {
    v1::ListFlagsRequest request;
    request.set_status(status);
    request.set_rule_id(rule_id);
    request.set_domain(domain);
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    return MustAdmin(&v1::AdminService::Stub::ListFlags, request);
  }

  v1::DomainBlock CreateBlock(const std::string& domain, v1::Severity severity) {
    v1::CreateDomainBlockRequest request;
    request.mutable_block()->set_domain(domain);
    request.mutable_block()->set_severity(severity);
    return MustAdmin(&v1::AdminService::Stub::CreateDomainBlock, request);
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PolicyService::Stub> policy_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

const v1::DomainBlock* FindBlock(const std::vector<v1::DomainBlock>& blocks,
                                 const std::string& domain) {
  for (const v1::DomainBlock& b : blocks) {
    if (b.domain() == domain) return &b;
  }
  return nullptr;
}

// ---- Raw calls for the services without generated code (health, reflection) ----------------

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// A unary call of `method` ("/package.Service/Method") with hand-encoded request bytes.
grpc::Status RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const std::string& request, std::string* response) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  Prepare(&context);
  grpc::ByteBuffer in = ToBuffer(request);
  grpc::ByteBuffer out;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &in, &out,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (status.ok()) *response = FromBuffer(out);
  return status;
}

// A bidirectional call that sends one request, half-closes and collects every response.
class RawBidiCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RawBidiCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
              const std::string& request)
      : stub_(channel), request_(ToBuffer(request)) {
    Prepare(&context_);
    stub_.PrepareBidiStreamingCall(&context_, method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    responses_.push_back(FromBuffer(response_));
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override { done_.set_value(status); }

  // Waits for the call to end; then responses() is complete.
  grpc::Status Await() { return done_.get_future().get(); }
  const std::vector<std::string>& responses() const { return responses_; }

 private:
  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::vector<std::string> responses_;
  std::promise<grpc::Status> done_;
};

// The varint field `number` of a protobuf message, or 0 when absent.
uint64_t VarintField(const std::string& message, int number) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(message)) return 0;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& f = fields.field(i);
    if (f.number() == number && f.type() == google::protobuf::UnknownField::TYPE_VARINT) {
      return f.varint();
    }
  }
  return 0;
}

// grpc.health.v1.Health/Check for `service`: the status (1 = SERVING), or -1 on an RPC error.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  // HealthCheckRequest { string service = 1; }
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  std::string response;
  if (!RawUnaryCall(channel, "/grpc.health.v1.Health/Check", request, &response).ok()) return -1;
  return static_cast<int>(VarintField(response, 1));  // HealthCheckResponse { status = 1 }
}

// ---- The fixture -----------------------------------------------------------------------------

class FedwalldTest : public ServerTest {
 protected:
  FedwalldTest() : ServerTest(kToken) {}

  // The arguments of a server on this test's policy copy and store.
  std::vector<std::string> Args(std::vector<std::string> extra, bool with_token) const {
    std::vector<std::string> args = BaseArgs(with_token);
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // Starts a server (kept until the end of the test); null, with a test failure, when it does
  // not come up.
  FedwalldProcess* Start(std::vector<std::string> extra = {}, bool with_token = true) {
    return Launch(Args(std::move(extra), with_token));
  }
};

// ---- 1. Evaluate -----------------------------------------------------------------------------

TEST_F(FedwalldTest, EvaluateDecidesWithEvidenceAndStoresOneFlagPerActivity) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  std::string version = client.PolicyVersion();
  ASSERT_FALSE(version.empty());

  v1::EvaluateResponse clean = client.Decide(Activity("clean-note.json"), "clean-1");
  EXPECT_EQ(clean.request_id(), "clean-1");
  EXPECT_EQ(clean.verdict(), v1::VERDICT_ACCEPT);
  EXPECT_THAT(clean.matches(), IsEmpty());
  EXPECT_EQ(clean.policy_version(), version);
  EXPECT_EQ(clean.flag_id(), "");
  EXPECT_FALSE(clean.has_error());

  v1::EvaluateResponse casino = client.Decide(Activity("casino-note.json"), "casino-1");
  EXPECT_EQ(casino.request_id(), "casino-1");
  EXPECT_EQ(casino.verdict(), v1::VERDICT_REJECT);
  EXPECT_EQ(casino.policy_version(), version);
  EXPECT_EQ(casino.flag_id(), "");
  const v1::RuleMatch* casino_match = FindMatch(casino, "casino_ad");
  ASSERT_NE(casino_match, nullptr) << ::testing::PrintToString(RuleIds(casino));
  EXPECT_EQ(casino_match->reason(), "Casino advertising");
  EXPECT_FALSE(casino_match->monitor());
  // One piece of evidence per true leaf: `type == "Create"` and `content has "casino"`.
  EXPECT_NE(FindEvidence(*casino_match, "type"), nullptr);
  const v1::Evidence* evidence = FindEvidence(*casino_match, "content");
  ASSERT_NE(evidence, nullptr) << casino_match->DebugString();
  EXPECT_EQ(evidence->text(), "casino");
  // "Best online casino bonuses, sign up today!": the span of "casino".
  EXPECT_EQ(evidence->start(), 12u);
  EXPECT_EQ(evidence->end(), 18u);

  std::string crypto_json = Activity("free-crypto-note.json");
  v1::EvaluateResponse crypto = client.Decide(crypto_json, "crypto-1");
  EXPECT_EQ(crypto.request_id(), "crypto-1");
  EXPECT_EQ(crypto.verdict(), v1::VERDICT_FLAG);
  EXPECT_EQ(crypto.policy_version(), version);
  EXPECT_FALSE(crypto.flag_id().empty());
  const v1::RuleMatch* crypto_match = FindMatch(crypto, "free_crypto");
  ASSERT_NE(crypto_match, nullptr) << ::testing::PrintToString(RuleIds(crypto));
  const v1::Evidence* crypto_evidence = FindEvidence(*crypto_match, "content");
  ASSERT_NE(crypto_evidence, nullptr) << crypto_match->DebugString();
  EXPECT_EQ(crypto_evidence->text(), "free crypto");

  // A redelivery of the same activity id returns the stored flag.
  v1::EvaluateResponse again = client.Decide(crypto_json, "crypto-2");
  EXPECT_EQ(again.request_id(), "crypto-2");
  EXPECT_EQ(again.verdict(), v1::VERDICT_FLAG);
  EXPECT_EQ(again.flag_id(), crypto.flag_id());

  // A dry run decides the same but stores nothing.
  v1::EvaluateResponse dry = client.Decide(Activity("free-crypto-note.json", 2002), "dry-1", true);
  EXPECT_EQ(dry.verdict(), v1::VERDICT_FLAG);
  EXPECT_EQ(dry.flag_id(), "");

  v1::ListFlagsResponse flags = client.Flags();
  ASSERT_EQ(flags.flags_size(), 1);
  EXPECT_EQ(flags.flags(0).id(), crypto.flag_id());
}

// ---- 2. Limits -------------------------------------------------------------------------------

TEST_F(FedwalldTest, EvaluateRefusesMalformedAndOversizedActivitiesAndKeepsServing) {
  FedwalldProcess* server = Start({"--max-activity-bytes", "4096", "--max-message-bytes", "65536"});
  ASSERT_NE(server, nullptr);
  Client client(*server);
  v1::EvaluateResponse response;

  grpc::Status malformed = client.Evaluate(Request("bad", kMalformedJson), &response);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << malformed.error_message();

  grpc::Status not_json = client.Evaluate(Request("bad", "hello, world"), &response);
  EXPECT_EQ(not_json.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << not_json.error_message();

  std::string large = LargeActivity(5000);
  ASSERT_GT(large.size(), 4096u);
  grpc::Status too_large = client.Evaluate(Request("large", large), &response);
  EXPECT_EQ(too_large.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(too_large.error_message(), HasSubstr("4096"));

  // Past the transport limit gRPC itself refuses the message.
  grpc::Status too_big = client.Evaluate(Request("huge", LargeActivity(70000)), &response);
  EXPECT_EQ(too_big.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << too_big.error_message();

  // In a batch, an activity over the per-activity limit is an item error.
  v1::EvaluateBatchRequest batch;
  *batch.add_requests() = Request("large", large);
  *batch.add_requests() = Request("clean", Activity("clean-note.json"));
  v1::EvaluateBatchResponse batch_response;
  ASSERT_TRUE(IsOk(client.Batch(batch, &batch_response)));
  ASSERT_EQ(batch_response.responses_size(), 2);
  EXPECT_EQ(batch_response.responses(0).error().code(), "INVALID_ARGUMENT");
  EXPECT_EQ(batch_response.responses(1).verdict(), v1::VERDICT_ACCEPT);

  // The server still answers.
  v1::EvaluateResponse good = client.Decide(Activity("clean-note.json"), "good");
  EXPECT_EQ(good.verdict(), v1::VERDICT_ACCEPT);
  EXPECT_EQ(good.request_id(), "good");
}

// ---- 3. EvaluateBatch ------------------------------------------------------------------------

// Item i of the mixed workloads: malformed, casino (REJECT), free crypto (FLAG), clean
// (ACCEPT) or from the suspended domain (REJECT).
enum class Kind { kMalformed, kCasino, kCrypto, kClean, kSuspended };

Kind KindOf(int i) { return static_cast<Kind>(i % 5); }

std::string MixedActivity(int i, int number_base) {
  switch (KindOf(i)) {
    case Kind::kMalformed:
      return kMalformedJson;
    case Kind::kCasino:
      return Activity("casino-note.json", number_base + i);
    case Kind::kCrypto:
      return Activity("free-crypto-note.json", number_base + i);
    case Kind::kClean:
      return Activity("clean-note.json", number_base + i);
    case Kind::kSuspended:
      return Activity("suspended-domain-note.json", number_base + i);
  }
  return "";
}

// Checks the response to item i of the mixed workload.
void ExpectMixedResponse(int i, const v1::EvaluateResponse& r) {
  SCOPED_TRACE(r.request_id());
  switch (KindOf(i)) {
    case Kind::kMalformed:
      EXPECT_EQ(r.error().code(), "INVALID_ARGUMENT");
      EXPECT_FALSE(r.error().message().empty());
      EXPECT_EQ(r.verdict(), v1::VERDICT_UNSPECIFIED);
      return;
    case Kind::kCasino:
      EXPECT_EQ(r.verdict(), v1::VERDICT_REJECT);
      EXPECT_THAT(RuleIds(r), Contains("casino_ad"));
      break;
    case Kind::kCrypto:
      EXPECT_EQ(r.verdict(), v1::VERDICT_FLAG);
      EXPECT_FALSE(r.flag_id().empty());
      break;
    case Kind::kClean:
      EXPECT_EQ(r.verdict(), v1::VERDICT_ACCEPT);
      break;
    case Kind::kSuspended:
      EXPECT_EQ(r.verdict(), v1::VERDICT_REJECT);
      EXPECT_THAT(RuleIds(r), Contains("blocklist:suspend"));
      break;
  }
  EXPECT_FALSE(r.has_error()) << r.error().message();
  EXPECT_FALSE(r.policy_version().empty());
}

TEST_F(FedwalldTest, EvaluateBatchAnswersInRequestOrderWithItemErrors) {
  FedwalldProcess* server = Start({"--max-batch-items", "64"});
  ASSERT_NE(server, nullptr);
  Client client(*server);

  v1::EvaluateBatchRequest batch;
  for (int i = 0; i < 50; ++i) {
    *batch.add_requests() = Request("item-" + std::to_string(i), MixedActivity(i, 3000));
  }
  v1::EvaluateBatchResponse response;
  ASSERT_TRUE(IsOk(client.Batch(batch, &response)));
  ASSERT_EQ(response.responses_size(), 50);
  std::set<std::string> flag_ids;
  for (int i = 0; i < 50; ++i) {
    const v1::EvaluateResponse& r = response.responses(i);
    EXPECT_EQ(r.request_id(), "item-" + std::to_string(i));
    ExpectMixedResponse(i, r);
    if (!r.flag_id().empty()) flag_ids.insert(r.flag_id());
  }
  EXPECT_EQ(flag_ids.size(), 10u);  // one flag per distinct flagged activity

  // At the limit it is fine; one past it refuses the whole call.
  v1::EvaluateBatchRequest full;
  for (int i = 0; i < 64; ++i)
    *full.add_requests() = Request("c" + std::to_string(i), Activity("clean-note.json"));
  v1::EvaluateBatchResponse full_response;
  ASSERT_TRUE(IsOk(client.Batch(full, &full_response)));
  EXPECT_EQ(full_response.responses_size(), 64);
  *full.add_requests() = Request("c64", Activity("clean-note.json"));
  grpc::Status over = client.Batch(full, &full_response);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(over.error_message(), HasSubstr("64"));
}

// ---- 4. EvaluateStream -----------------------------------------------------------------------

TEST_F(FedwalldTest, EvaluateStreamAnswersEachRequestOnceWhileTheClientWrites) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  constexpr int kRequests = 500;

  grpc::ClientContext context;
  Prepare(&context);
  std::unique_ptr<grpc::ClientReaderWriter<v1::EvaluateRequest, v1::EvaluateResponse>> stream =
      client.policy()->EvaluateStream(&context);
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; i < kRequests; ++i) {
      if (!stream->Write(Request("s-" + std::to_string(i), MixedActivity(i, 4000)))) break;
      ++written;
    }
    stream->WritesDone();
  });

  std::map<std::string, v1::EvaluateResponse> responses;
  std::vector<std::string> duplicates;
  v1::EvaluateResponse r;
  while (stream->Read(&r)) {
    if (!responses.emplace(r.request_id(), r).second) duplicates.push_back(r.request_id());
  }
  writer.join();
  EXPECT_TRUE(IsOk(stream->Finish()));
  EXPECT_EQ(written.load(), kRequests);
  EXPECT_THAT(duplicates, IsEmpty());
  ASSERT_EQ(responses.size(), static_cast<size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    auto it = responses.find("s-" + std::to_string(i));
    ASSERT_NE(it, responses.end()) << "no response for s-" << i;
    ExpectMixedResponse(i, it->second);
  }
}

TEST_F(FedwalldTest, EvaluateStreamEndsWithResourceExhaustedPastTheMessageLimit) {
  FedwalldProcess* server = Start({"--max-activity-bytes", "4096", "--max-message-bytes", "65536"});
  ASSERT_NE(server, nullptr);
  Client client(*server);

  grpc::ClientContext context;
  Prepare(&context);
  auto stream = client.policy()->EvaluateStream(&context);
  ASSERT_TRUE(stream->Write(Request("first", Activity("clean-note.json"))));
  v1::EvaluateResponse r;
  ASSERT_TRUE(stream->Read(&r));
  EXPECT_EQ(r.request_id(), "first");
  EXPECT_EQ(r.verdict(), v1::VERDICT_ACCEPT);

  stream->Write(Request("huge", LargeActivity(70000)));  // may already fail
  while (stream->Read(&r)) {
    EXPECT_NE(r.request_id(), "huge") << "the oversized message was answered";
  }
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();

  EXPECT_EQ(client.Decide(Activity("clean-note.json")).verdict(), v1::VERDICT_ACCEPT);
}

// ---- 5. Admin authentication -----------------------------------------------------------------

// Every AdminService RPC, with requests that would succeed or change something if the token
// check were skipped.
std::vector<std::pair<std::string, std::function<grpc::Status(Client&, const char*)>>>
AdminCalls() {
  using S = v1::AdminService::Stub;
  std::vector<std::pair<std::string, std::function<grpc::Status(Client&, const char*)>>> calls;
  calls.emplace_back("GetPolicy", [](Client& c, const char* auth) {
    v1::GetPolicyResponse r;
    return c.Admin(&S::GetPolicy, v1::GetPolicyRequest(), &r, auth);
  });
  calls.emplace_back("ReloadPolicy", [](Client& c, const char* auth) {
    v1::ReloadPolicyResponse r;
    return c.Admin(&S::ReloadPolicy, v1::ReloadPolicyRequest(), &r, auth);
  });
  calls.emplace_back("ListDomainBlocks", [](Client& c, const char* auth) {
    v1::ListDomainBlocksResponse r;
    return c.Admin(&S::ListDomainBlocks, v1::ListDomainBlocksRequest(), &r, auth);
  });
  calls.emplace_back("CreateDomainBlock", [](Client& c, const char* auth) {
    v1::CreateDomainBlockRequest q;
    q.mutable_block()->set_domain("intruder.example");
    q.mutable_block()->set_severity(v1::SEVERITY_SUSPEND);
    v1::DomainBlock r;
    return c.Admin(&S::CreateDomainBlock, q, &r, auth);
  });
  calls.emplace_back("DeleteDomainBlock", [](Client& c, const char* auth) {
    v1::DeleteDomainBlockRequest q;
    q.set_domain("intruder.example");
    v1::DeleteDomainBlockResponse r;
    return c.Admin(&S::DeleteDomainBlock, q, &r, auth);
  });
  calls.emplace_back("ImportDomainBlocks", [](Client& c, const char* auth) {
    v1::ImportDomainBlocksRequest q;
    q.set_data("intruder.example\n");
    q.set_format("plain");
    v1::ImportDomainBlocksResponse r;
    return c.Admin(&S::ImportDomainBlocks, q, &r, auth);
  });
  calls.emplace_back("ListFlags", [](Client& c, const char* auth) {
    v1::ListFlagsResponse r;
    return c.Admin(&S::ListFlags, v1::ListFlagsRequest(), &r, auth);
  });
  calls.emplace_back("GetFlag", [](Client& c, const char* auth) {
    v1::GetFlagRequest q;
    q.set_id("1");
    v1::Flag r;
    return c.Admin(&S::GetFlag, q, &r, auth);
  });
  calls.emplace_back("ResolveFlag", [](Client& c, const char* auth) {
    v1::ResolveFlagRequest q;
    q.set_id("1");
    q.set_resolution(v1::FLAG_STATUS_REMOVED);
    v1::Flag r;
    return c.Admin(&S::ResolveFlag, q, &r, auth);
  });
  calls.emplace_back("GetStats", [](Client& c, const char* auth) {
    v1::GetStatsResponse r;
    return c.Admin(&S::GetStats, v1::GetStatsRequest(), &r, auth);
  });
  return calls;
}

TEST_F(FedwalldTest, AdminRpcsNeedTheBearerTokenAndTheDataPlaneDoesNot) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  std::string same_length_wrong = kBearer;
  same_length_wrong.back() ^= 1;
  const std::vector<const char*> refused = {nullptr, "Bearer wrong", same_length_wrong.c_str(),
                                            kToken,  "Bearer ",      ""};
  auto calls = AdminCalls();
  ASSERT_EQ(calls.size(), 10u);
  for (const auto& [name, call] : calls) {
    for (const char* auth : refused) {
      grpc::Status status = call(client, auth);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << name << " with authorization " << (auth ? std::string("\"") + auth + "\"" : "(none)")
          << ": " << status.error_message();
    }
  }
  // Nothing the refused calls asked for happened.
  EXPECT_THAT(client.Blocks(), IsEmpty());
  // With the token the same calls get through.
  EXPECT_TRUE(IsOk(calls[0].second(client, kBearer.c_str())));
  // The data plane needs no token.
  EXPECT_EQ(client.Decide(Activity("clean-note.json")).verdict(), v1::VERDICT_ACCEPT);
}

TEST_F(FedwalldTest, AdminRpcsAreRefusedWhenNoTokenIsConfigured) {
  FedwalldProcess* server = Start({}, /*with_token=*/false);
  ASSERT_NE(server, nullptr);
  Client client(*server);
  for (const auto& [name, call] : AdminCalls()) {
    for (const char* auth :
         {static_cast<const char*>(nullptr), "Bearer ", "Bearer anything", kBearer.c_str()}) {
      grpc::Status status = call(client, auth);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << name << " with " << (auth ? auth : "(none)") << ": " << status.error_message();
    }
  }
  EXPECT_EQ(client.Decide(Activity("clean-note.json")).verdict(), v1::VERDICT_ACCEPT);
  EXPECT_THAT(server->Stderr(), HasSubstr("no admin token"));
}

// ---- 6. Policy and domain blocks -------------------------------------------------------------

TEST_F(FedwalldTest, DomainBlocksApplyAtOnceAndComeOffAgain) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);

  v1::GetPolicyResponse policy =
      client.MustAdmin(&v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest());
  EXPECT_EQ(policy.rules(), 3u);
  EXPECT_GT(policy.patterns(), 0u);
  EXPECT_GT(policy.domains(), 0u);
  EXPECT_GT(policy.loaded_at().seconds(), 0);
  const std::string v0 = policy.version();

  const std::string note = Activity("clean-note.json", 1001, "blockme.example");
  EXPECT_EQ(client.Decide(note).verdict(), v1::VERDICT_ACCEPT);

  v1::CreateDomainBlockRequest create;
  create.mutable_block()->set_domain("*.BlockMe.Example.");
  create.mutable_block()->set_severity(v1::SEVERITY_SUSPEND);
  create.mutable_block()->set_public_comment("spam wave");
  v1::DomainBlock created = client.MustAdmin(&v1::AdminService::Stub::CreateDomainBlock, create);
  EXPECT_EQ(created.domain(), "blockme.example");
  EXPECT_EQ(created.severity(), v1::SEVERITY_SUSPEND);
  EXPECT_EQ(created.public_comment(), "spam wave");

  // Applies to the very next call, with a new policy version.
  v1::EvaluateResponse blocked = client.Decide(note);
  EXPECT_EQ(blocked.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(RuleIds(blocked), Contains("blocklist:suspend"));
  EXPECT_NE(blocked.policy_version(), v0);
  EXPECT_EQ(client.PolicyVersion(), blocked.policy_version());
  EXPECT_EQ(client.Decide(Activity("clean-note.json", 1002, "sub.blockme.example")).verdict(),
            v1::VERDICT_REJECT);

  std::vector<v1::DomainBlock> blocks = client.Blocks();
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].domain(), "blockme.example");

  v1::DeleteDomainBlockRequest del;
  del.set_domain("blockme.example");
  v1::DeleteDomainBlockResponse deleted;
  ASSERT_TRUE(IsOk(client.Admin(&v1::AdminService::Stub::DeleteDomainBlock, del, &deleted)));
  v1::EvaluateResponse unblocked = client.Decide(note);
  EXPECT_EQ(unblocked.verdict(), v1::VERDICT_ACCEPT);
  EXPECT_EQ(unblocked.policy_version(), v0);
  EXPECT_THAT(client.Blocks(), IsEmpty());

  // Errors.
  grpc::Status missing = client.Admin(&v1::AdminService::Stub::DeleteDomainBlock, del, &deleted);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND) << missing.error_message();
  del.set_domain("not a domain!");
  grpc::Status invalid = client.Admin(&v1::AdminService::Stub::DeleteDomainBlock, del, &deleted);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << invalid.error_message();
  // IDN domains are stored as punycode.
  EXPECT_EQ(client.CreateBlock("B\u00fccher.Example", v1::SEVERITY_SILENCE).domain(),
            "xn--bcher-kva.example");
  // Severity UNSPECIFIED means SUSPEND (admin_service.h).
  v1::CreateDomainBlockRequest unspecified;
  unspecified.mutable_block()->set_domain("default.example");
  EXPECT_EQ(client.MustAdmin(&v1::AdminService::Stub::CreateDomainBlock, unspecified).severity(),
            v1::SEVERITY_SUSPEND);
  create.mutable_block()->set_domain("bad domain!");
  v1::DomainBlock ignored;
  grpc::Status bad_create =
      client.Admin(&v1::AdminService::Stub::CreateDomainBlock, create, &ignored);
  EXPECT_EQ(bad_create.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  create.mutable_block()->set_domain("");
  bad_create = client.Admin(&v1::AdminService::Stub::CreateDomainBlock, create, &ignored);
  EXPECT_EQ(bad_create.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(FedwalldTest, ImportDomainBlocksCountsChangesAndNeverWeakensWithoutReplace) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  const std::string header =
      "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n";

  v1::ImportDomainBlocksRequest import;
  import.set_data(header +
                  "one.example,suspend,false,false,Spam farm,false\n"
                  "two.example,silence,false,false,Open registrations,false\n"
                  "not a domain!,suspend,false,false,unreadable row,false\n");
  v1::ImportDomainBlocksResponse first =
      client.MustAdmin(&v1::AdminService::Stub::ImportDomainBlocks, import);
  EXPECT_EQ(first.added(), 2u);
  EXPECT_EQ(first.changed(), 0u);
  EXPECT_EQ(first.unchanged(), 0u);
  ASSERT_EQ(first.skipped_size(), 1);
  EXPECT_EQ(first.skipped(0).line(), 4u);
  EXPECT_FALSE(first.skipped(0).message().empty());

  v1::ImportDomainBlocksResponse second =
      client.MustAdmin(&v1::AdminService::Stub::ImportDomainBlocks, import);
  EXPECT_EQ(second.added(), 0u);
  EXPECT_EQ(second.changed(), 0u);
  EXPECT_EQ(second.unchanged(), 2u);

  std::vector<v1::DomainBlock> blocks = client.Blocks();
  ASSERT_EQ(blocks.size(), 2u);
  ASSERT_NE(FindBlock(blocks, "two.example"), nullptr);
  EXPECT_EQ(FindBlock(blocks, "two.example")->severity(), v1::SEVERITY_SILENCE);

  const std::string from_one = Activity("clean-note.json", 1001, "one.example");
  EXPECT_EQ(client.Decide(from_one).verdict(), v1::VERDICT_REJECT);

  // replace = false: a silence row does not weaken the suspension.
  v1::ImportDomainBlocksRequest weaker;
  weaker.set_data(header + "one.example,silence,false,false,,false\n");
  client.MustAdmin(&v1::AdminService::Stub::ImportDomainBlocks, weaker);
  blocks = client.Blocks();
  ASSERT_NE(FindBlock(blocks, "one.example"), nullptr);
  EXPECT_EQ(FindBlock(blocks, "one.example")->severity(), v1::SEVERITY_SUSPEND);
  EXPECT_EQ(client.Decide(from_one).verdict(), v1::VERDICT_REJECT);

  // replace = true: the file's entry wins.
  weaker.set_replace(true);
  v1::ImportDomainBlocksResponse replaced =
      client.MustAdmin(&v1::AdminService::Stub::ImportDomainBlocks, weaker);
  EXPECT_EQ(replaced.changed(), 1u);
  blocks = client.Blocks();
  ASSERT_NE(FindBlock(blocks, "one.example"), nullptr);
  EXPECT_EQ(FindBlock(blocks, "one.example")->severity(), v1::SEVERITY_SILENCE);
  v1::EvaluateResponse silenced = client.Decide(from_one);
  EXPECT_EQ(silenced.verdict(), v1::VERDICT_ACCEPT);
  EXPECT_THAT(silenced.effects(), Contains(v1::EFFECT_UNLIST));

  v1::ImportDomainBlocksRequest unknown_format;
  unknown_format.set_data("x.example\n");
  unknown_format.set_format("excel");
  v1::ImportDomainBlocksResponse ignored;
  EXPECT_EQ(client.Admin(&v1::AdminService::Stub::ImportDomainBlocks, unknown_format, &ignored)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// ---- 7. Flags --------------------------------------------------------------------------------

TEST_F(FedwalldTest, FlagsCanBeListedFilteredPagedReadAndResolved) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);

  struct Sent {
    std::string json;
    std::string flag_id;
  };
  std::vector<Sent> sent = {
      {Activity("free-crypto-note.json", 5001, "a.example"), ""},
      {Activity("free-crypto-note.json", 5002, "a.example"), ""},
      {Activity("free-crypto-note.json", 5003, "b.example"), ""},
      {Activity("giveaway-note.json", 5004, "b.example"), ""},
      {Activity("giveaway-note.json", 5005, "c.example"), ""},
  };
  for (Sent& s : sent) {
    v1::EvaluateResponse r = client.Decide(s.json);
    ASSERT_EQ(r.verdict(), v1::VERDICT_FLAG);
    ASSERT_FALSE(r.flag_id().empty());
    s.flag_id = r.flag_id();
  }
  auto ids = [](const v1::ListFlagsResponse& r) {
    std::vector<std::string> out;
    for (const v1::Flag& f : r.flags()) out.push_back(f.id());
    return out;
  };
  const std::vector<std::string> all = {sent[0].flag_id, sent[1].flag_id, sent[2].flag_id,
                                        sent[3].flag_id, sent[4].flag_id};

  EXPECT_THAT(ids(client.Flags()), UnorderedElementsAreArray(all));
  EXPECT_THAT(ids(client.Flags(v1::FLAG_STATUS_PENDING)), UnorderedElementsAreArray(all));
  EXPECT_THAT(ids(client.Flags(v1::FLAG_STATUS_UNSPECIFIED, "free_crypto")),
              UnorderedElementsAreArray({sent[0].flag_id, sent[1].flag_id, sent[2].flag_id}));
  EXPECT_THAT(ids(client.Flags(v1::FLAG_STATUS_UNSPECIFIED, "giveaway")),
              UnorderedElementsAreArray({sent[3].flag_id, sent[4].flag_id}));
  EXPECT_THAT(ids(client.Flags(v1::FLAG_STATUS_UNSPECIFIED, "", "b.example")),
              UnorderedElementsAreArray({sent[2].flag_id, sent[3].flag_id}));
  EXPECT_THAT(ids(client.Flags(v1::FLAG_STATUS_PENDING, "free_crypto", "a.example")),
              UnorderedElementsAreArray({sent[0].flag_id, sent[1].flag_id}));
  EXPECT_THAT(ids(client.Flags(v1::FLAG_STATUS_UNSPECIFIED, "", "nobody.example")), IsEmpty());
  // Listings leave the activity out.
  v1::ListFlagsResponse listing = client.Flags();
  for (const v1::Flag& f : listing.flags()) EXPECT_EQ(f.activity_json(), "");

  // Paging: 2 + 2 + 1.
  std::vector<std::string> paged;
  std::vector<int> page_sizes;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    v1::ListFlagsResponse r = client.Flags(v1::FLAG_STATUS_UNSPECIFIED, "", "", 2, token);
    page_sizes.push_back(r.flags_size());
    for (const std::string& id : ids(r)) paged.push_back(id);
    token = r.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_EQ(page_sizes, (std::vector<int>{2, 2, 1}));
  EXPECT_THAT(paged, UnorderedElementsAreArray(all));

  // GetFlag has the activity exactly as sent.
  v1::GetFlagRequest get;
  get.set_id(sent[0].flag_id);
  v1::Flag flag = client.MustAdmin(&v1::AdminService::Stub::GetFlag, get);
  EXPECT_EQ(flag.id(), sent[0].flag_id);
  EXPECT_EQ(flag.status(), v1::FLAG_STATUS_PENDING);
  EXPECT_EQ(flag.activity_json(), sent[0].json);
  EXPECT_EQ(flag.actor(), "https://a.example/users/alice");
  ASSERT_GT(flag.matches_size(), 0);
  EXPECT_EQ(flag.matches(0).rule_id(), "free_crypto");
  const v1::Evidence* flag_evidence = FindEvidence(flag.matches(0), "content");
  ASSERT_NE(flag_evidence, nullptr) << flag.matches(0).DebugString();
  EXPECT_EQ(flag_evidence->text(), "free crypto");
  EXPECT_GT(flag.created_at().seconds(), 0);
  EXPECT_FALSE(flag.has_resolved_at());

  // Remove one, with a note and the moderator.
  v1::ResolveFlagRequest resolve;
  resolve.set_id(sent[0].flag_id);
  resolve.set_resolution(v1::FLAG_STATUS_REMOVED);
  resolve.set_note("crypto scam");
  resolve.set_moderator("mod@local.example");
  v1::Flag removed = client.MustAdmin(&v1::AdminService::Stub::ResolveFlag, resolve);
  EXPECT_EQ(removed.status(), v1::FLAG_STATUS_REMOVED);
  EXPECT_GT(removed.resolved_at().seconds(), 0);
  EXPECT_GE(removed.resolved_at().seconds(), removed.created_at().seconds());
  EXPECT_EQ(removed.moderator(), "mod@local.example");
  EXPECT_EQ(removed.note(), "crypto scam");
  v1::Flag reread = client.MustAdmin(&v1::AdminService::Stub::GetFlag, get);
  EXPECT_EQ(reread.status(), v1::FLAG_STATUS_REMOVED);
  EXPECT_EQ(reread.note(), "crypto scam");
  // A flag may be resolved again; the last decision wins.
  resolve.set_id(sent[1].flag_id);
  resolve.set_resolution(v1::FLAG_STATUS_APPROVED);
  resolve.set_note("looked fine at first");
  client.MustAdmin(&v1::AdminService::Stub::ResolveFlag, resolve);
  resolve.set_resolution(v1::FLAG_STATUS_REMOVED);
  resolve.set_note("it was a scam after all");
  v1::Flag second_look = client.MustAdmin(&v1::AdminService::Stub::ResolveFlag, resolve);
  EXPECT_EQ(second_look.status(), v1::FLAG_STATUS_REMOVED);
  EXPECT_EQ(second_look.note(), "it was a scam after all");
  EXPECT_THAT(ids(client.Flags(v1::FLAG_STATUS_REMOVED)),
              UnorderedElementsAreArray({sent[0].flag_id, sent[1].flag_id}));
  EXPECT_EQ(client.Flags(v1::FLAG_STATUS_PENDING).flags_size(), 3);

  // Approve another and suspend its actor's domain.
  resolve.set_id(sent[4].flag_id);
  resolve.set_resolution(v1::FLAG_STATUS_APPROVED);
  resolve.set_block_domain(true);
  v1::Flag approved = client.MustAdmin(&v1::AdminService::Stub::ResolveFlag, resolve);
  EXPECT_EQ(approved.status(), v1::FLAG_STATUS_APPROVED);
  std::vector<v1::DomainBlock> blocks = client.Blocks();
  const v1::DomainBlock* block = FindBlock(blocks, "c.example");
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->severity(), v1::SEVERITY_SUSPEND);
  v1::EvaluateResponse after = client.Decide(Activity("clean-note.json", 5099, "c.example"));
  EXPECT_EQ(after.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(RuleIds(after), Contains("blocklist:suspend"));

  // Errors.
  v1::Flag ignored;
  resolve.set_id(sent[2].flag_id);
  resolve.set_resolution(v1::FLAG_STATUS_UNSPECIFIED);
  resolve.set_block_domain(false);
  EXPECT_EQ(client.Admin(&v1::AdminService::Stub::ResolveFlag, resolve, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  resolve.set_resolution(v1::FLAG_STATUS_PENDING);
  EXPECT_EQ(client.Admin(&v1::AdminService::Stub::ResolveFlag, resolve, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  resolve.set_id("no-such-flag");
  resolve.set_resolution(v1::FLAG_STATUS_APPROVED);
  EXPECT_EQ(client.Admin(&v1::AdminService::Stub::ResolveFlag, resolve, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);
  get.set_id("no-such-flag");
  EXPECT_EQ(client.Admin(&v1::AdminService::Stub::GetFlag, get, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListFlagsRequest bad_list;
  bad_list.set_page_size(-1);
  v1::ListFlagsResponse bad_list_response;
  EXPECT_EQ(
      client.Admin(&v1::AdminService::Stub::ListFlags, bad_list, &bad_list_response).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  bad_list.set_page_size(2);
  bad_list.set_page_token("not-a-token-the-server-made");
  EXPECT_EQ(
      client.Admin(&v1::AdminService::Stub::ListFlags, bad_list, &bad_list_response).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

// admin_service.proto, ListFlagsRequest.domain: "Only flags whose actor is on this domain (or a
// subdomain)".
TEST_F(FedwalldTest, ListFlagsDomainFilterCoversSubdomains) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  std::string on_domain =
      client.Decide(Activity("free-crypto-note.json", 5101, "b.example")).flag_id();
  std::string on_subdomain =
      client.Decide(Activity("free-crypto-note.json", 5102, "social.b.example")).flag_id();
  std::string elsewhere =
      client.Decide(Activity("free-crypto-note.json", 5103, "notb.example")).flag_id();
  ASSERT_FALSE(on_domain.empty());
  ASSERT_FALSE(on_subdomain.empty());
  ASSERT_FALSE(elsewhere.empty());

  std::vector<std::string> listed;
  v1::ListFlagsResponse r = client.Flags(v1::FLAG_STATUS_UNSPECIFIED, "", "b.example");
  for (const v1::Flag& f : r.flags()) listed.push_back(f.id());
  EXPECT_THAT(listed, UnorderedElementsAreArray({on_domain, on_subdomain}));
}

// admin_service.proto, ListFlagsResponse.flags: "oldest first (the order a queue is worked in)".
TEST_F(FedwalldTest, ListFlagsListsOldestFirstWhateverTheStatus) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 4; ++i) {
    ids.push_back(client.Decide(Activity("free-crypto-note.json", 5201 + i)).flag_id());
    ASSERT_FALSE(ids.back().empty());
    absl::SleepFor(absl::Milliseconds(5));  // distinct creation times
  }
  v1::ResolveFlagRequest resolve;
  resolve.set_id(ids[3]);  // the newest
  resolve.set_resolution(v1::FLAG_STATUS_APPROVED);
  client.MustAdmin(&v1::AdminService::Stub::ResolveFlag, resolve);

  std::vector<std::string> listed;
  v1::ListFlagsResponse r = client.Flags();
  for (const v1::Flag& f : r.flags()) listed.push_back(f.id());
  EXPECT_EQ(listed, ids);  // the order a queue is worked in
}

// ---- 8. Stats --------------------------------------------------------------------------------

TEST_F(FedwalldTest, GetStatsCountsVerdictsRulesAndLatency) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  absl::Time before = absl::Now();

  for (int i = 0; i < 3; ++i) client.Decide(Activity("clean-note.json", 6000 + i));
  for (int i = 0; i < 2; ++i) client.Decide(Activity("casino-note.json", 6010 + i));
  client.Decide(Activity("free-crypto-note.json", 6020));
  client.Decide(Activity("suspended-domain-note.json", 6030));
  v1::EvaluateResponse ignored;
  EXPECT_FALSE(client.Evaluate(Request("bad", kMalformedJson), &ignored).ok());

  v1::GetStatsResponse stats =
      client.MustAdmin(&v1::AdminService::Stub::GetStats, v1::GetStatsRequest());
  std::map<std::string, uint64_t> verdicts(stats.verdicts().begin(), stats.verdicts().end());
  EXPECT_EQ(verdicts["ACCEPT"], 3u);
  EXPECT_EQ(verdicts["REJECT"], 3u);
  EXPECT_EQ(verdicts["FLAG"], 1u);
  EXPECT_EQ(verdicts["ERROR"], 1u);
  uint64_t total = 0;
  for (const auto& [name, n] : stats.verdicts()) total += n;
  EXPECT_EQ(total, 8u);
  std::map<std::string, uint64_t> rules(stats.rules().begin(), stats.rules().end());
  EXPECT_EQ(rules["casino_ad"], 2u);
  EXPECT_EQ(rules["free_crypto"], 1u);
  EXPECT_EQ(rules["blocklist:suspend"], 1u);  // synthetic matches count too
  EXPECT_EQ(rules.count("giveaway"), 0u);
  EXPECT_TRUE(stats.latency_p99().seconds() > 0 || stats.latency_p99().nanos() > 0);
  EXPECT_GE(stats.latency_p99().seconds() * 1'000'000'000LL + stats.latency_p99().nanos(),
            stats.latency_p50().seconds() * 1'000'000'000LL + stats.latency_p50().nanos());
  EXPECT_GT(stats.started_at().seconds(), 0);
  EXPECT_LE(stats.started_at().seconds(), absl::ToUnixSeconds(before) + 1);
  EXPECT_EQ(stats.reload_failures(), 0u);
}

// ---- 9-11. Reloads ---------------------------------------------------------------------------

TEST_F(FedwalldTest, ReloadWithABrokenFileKeepsTheOldPolicyAndReportsWhere) {
  FedwalldProcess* server = Start({"--no-watch"});
  ASSERT_NE(server, nullptr);
  Client client(*server);
  client.CreateBlock("kept.example", v1::SEVERITY_SUSPEND);  // must survive the reloads
  const std::string v0 = client.PolicyVersion();
  v1::GetStatsResponse stats0 =
      client.MustAdmin(&v1::AdminService::Stub::GetStats, v1::GetStatsRequest());

  WriteFile(policy_dir_ + "/zz-extra.rules",
            "# added by the test\n"
            "rule jackpot \"Jackpot\" {\n"
            "  when  content has and\n"
            "  then  reject\n"
            "}\n");
  v1::ReloadPolicyResponse failed =
      client.MustAdmin(&v1::AdminService::Stub::ReloadPolicy, v1::ReloadPolicyRequest());
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.version(), v0);
  bool located = false;
  for (const v1::Diagnostic& d : failed.diagnostics()) {
    if (d.severity() == "error" && d.path() == "zz-extra.rules" && d.line() > 0 && d.column() > 0) {
      located = true;
    }
  }
  EXPECT_TRUE(located) << failed.DebugString();

  // Still serving the old policy.
  v1::EvaluateResponse still = client.Decide(Activity("casino-note.json"));
  EXPECT_EQ(still.verdict(), v1::VERDICT_REJECT);
  EXPECT_EQ(still.policy_version(), v0);
  EXPECT_EQ(client.PolicyVersion(), v0);
  v1::GetStatsResponse stats1 =
      client.MustAdmin(&v1::AdminService::Stub::GetStats, v1::GetStatsRequest());
  EXPECT_EQ(stats1.reload_failures(), stats0.reload_failures() + 1);
  EXPECT_EQ(stats1.reloads(), stats0.reloads());

  // Fixed: the new rule is live under a new version.
  WriteFile(policy_dir_ + "/zz-extra.rules",
            "# added by the test\n"
            "rule jackpot \"Jackpot\" {\n"
            "  when  content has \"jackpot\"\n"
            "  then  reject\n"
            "}\n");
  v1::ReloadPolicyResponse fixed =
      client.MustAdmin(&v1::AdminService::Stub::ReloadPolicy, v1::ReloadPolicyRequest());
  EXPECT_TRUE(fixed.ok()) << fixed.DebugString();
  EXPECT_NE(fixed.version(), v0);
  EXPECT_FALSE(fixed.version().empty());
  EXPECT_EQ(client.PolicyVersion(), fixed.version());
  v1::EvaluateResponse jackpot =
      client.Decide(ReplaceAll(Activity("clean-note.json"), "garden club", "jackpot club"));
  EXPECT_EQ(jackpot.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(RuleIds(jackpot), Contains("jackpot"));
  EXPECT_EQ(jackpot.policy_version(), fixed.version());
  v1::GetStatsResponse stats2 =
      client.MustAdmin(&v1::AdminService::Stub::GetStats, v1::GetStatsRequest());
  EXPECT_EQ(stats2.reloads(), stats1.reloads() + 1);
  EXPECT_EQ(stats2.reload_failures(), stats1.reload_failures());
  // API-made blocks are merged into every compile.
  v1::EvaluateResponse kept = client.Decide(Activity("clean-note.json", 1001, "kept.example"));
  EXPECT_EQ(kept.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(RuleIds(kept), Contains("blocklist:suspend"));
}

const char kGardenRule[] =
    "\nrule no_gardens \"Garden talk\" {\n"
    "  when  content has \"garden club\"\n"
    "  then  reject\n"
    "}\n";

TEST_F(FedwalldTest, SighupReloadsThePolicy) {
  FedwalldProcess* server = Start({"--no-watch"});
  ASSERT_NE(server, nullptr);
  Client client(*server);
  const std::string clean = Activity("clean-note.json");
  v1::EvaluateResponse before = client.Decide(clean);
  ASSERT_EQ(before.verdict(), v1::VERDICT_ACCEPT);

  WriteFile(policy_dir_ + "/main.rules", kGardenRule, /*append=*/true);
  // With --no-watch nothing happens by itself (well past the 300 ms debounce).
  absl::SleepFor(absl::Milliseconds(800));
  EXPECT_EQ(client.Decide(clean).verdict(), v1::VERDICT_ACCEPT);

  ASSERT_TRUE(server->Signal(SIGHUP));
  v1::EvaluateResponse after;
  EXPECT_TRUE(PollUntil(
      [&] {
        after = client.Decide(clean);
        return after.verdict() == v1::VERDICT_REJECT;
      },
      absl::Seconds(10)));
  EXPECT_THAT(RuleIds(after), Contains("no_gardens"));
  EXPECT_NE(after.policy_version(), before.policy_version());
}

TEST_F(FedwalldTest, ChangedPolicyFileIsReloadedByTheWatcher) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  const std::string v0 = client.PolicyVersion();

  // Editors' swap and backup files do not trigger a reload.
  WriteFile(policy_dir_ + "/.main.rules.swp", "swap");
  WriteFile(policy_dir_ + "/main.rules~", "backup");
  absl::SleepFor(absl::Milliseconds(800));
  EXPECT_EQ(client.MustAdmin(&v1::AdminService::Stub::GetStats, v1::GetStatsRequest()).reloads(),
            0u);

  WriteFile(policy_dir_ + "/main.rules", kGardenRule, /*append=*/true);
  std::string changed;
  EXPECT_TRUE(PollUntil(
      [&] {
        changed = client.PolicyVersion();
        return changed != v0;
      },
      absl::Seconds(10)));
  v1::EvaluateResponse after = client.Decide(Activity("clean-note.json"));
  EXPECT_EQ(after.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(RuleIds(after), Contains("no_gardens"));
  EXPECT_EQ(after.policy_version(), changed);

  // A new blocklist row is picked up too.
  WriteFile(policy_dir_ + "/blocklists/suspended.csv",
            "late.example,suspend,false,false,Added later,false\n", /*append=*/true);
  const std::string from_late = Activity("giveaway-note.json", 1001, "late.example");
  EXPECT_TRUE(
      PollUntil([&] { return FindMatch(client.Decide(from_late), "blocklist:suspend") != nullptr; },
                absl::Seconds(10)));
}

// ---- 12. Start refused -----------------------------------------------------------------------

TEST_F(FedwalldTest, StartIsRefusedWhenThePolicyDoesNotCompile) {
  std::string broken = dir_ + "/broken-policy";
  fs::copy(kFixtures + "broken-policy", broken, fs::copy_options::recursive);
  std::vector<std::string> args = Args({}, true);
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--policy") args[i + 1] = broken;
  }
  servers_.push_back(std::make_unique<FedwalldProcess>(args));
  FedwalldProcess* server = servers_.back().get();
  absl::Time start = absl::Now();
  EXPECT_FALSE(server->WaitUntilListening(absl::Seconds(30)));
  std::optional<int> code = server->WaitExit(absl::Seconds(10));
  ASSERT_TRUE(code.has_value()) << "fedwalld is still running";
  EXPECT_NE(*code, 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_THAT(server->Stderr(), HasSubstr("main.rules:4:21: error:"));
  EXPECT_THAT(server->Stdout(), Not(HasSubstr("listening on")));
}

// ---- 13. Restart -----------------------------------------------------------------------------

TEST_F(FedwalldTest, FlagsAndBlocksSurviveAKill) {
  FedwalldProcess* first = Start();
  ASSERT_NE(first, nullptr);
  std::vector<std::string> flag_ids;
  std::string version;
  {
    Client client(*first);
    for (int i = 0; i < 3; ++i) {
      v1::EvaluateResponse r = client.Decide(Activity("free-crypto-note.json", 7001 + i));
      ASSERT_EQ(r.verdict(), v1::VERDICT_FLAG);
      flag_ids.push_back(r.flag_id());
    }
    client.CreateBlock("gone.example", v1::SEVERITY_SUSPEND);
    version = client.PolicyVersion();
  }
  ASSERT_TRUE(first->Signal(SIGKILL));
  EXPECT_EQ(first->WaitExit(absl::Seconds(10)), 128 + SIGKILL);

  FedwalldProcess* second = Start();
  ASSERT_NE(second, nullptr);
  Client client(*second);
  std::vector<std::string> listed;
  v1::ListFlagsResponse listing = client.Flags();
  for (const v1::Flag& f : listing.flags()) listed.push_back(f.id());
  EXPECT_THAT(listed, UnorderedElementsAreArray(flag_ids));
  std::vector<v1::DomainBlock> blocks = client.Blocks();
  const v1::DomainBlock* block = FindBlock(blocks, "gone.example");
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->severity(), v1::SEVERITY_SUSPEND);
  // Same files and blocks: the same version.
  EXPECT_EQ(client.PolicyVersion(), version);
  v1::EvaluateResponse blocked = client.Decide(Activity("clean-note.json", 1001, "gone.example"));
  EXPECT_EQ(blocked.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(RuleIds(blocked), Contains("blocklist:suspend"));
  // A redelivery still finds its flag.
  EXPECT_EQ(client.Decide(Activity("free-crypto-note.json", 7001)).flag_id(), flag_ids[0]);
}

// ---- 14. SIGTERM -----------------------------------------------------------------------------

TEST_F(FedwalldTest, SigtermDrainsCallsInFlightAndEveryAcknowledgedFlagIsStored) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);

  absl::Mutex mu;
  std::vector<std::string> acknowledged;  // flag ids of OK responses
  std::atomic<int> unary_ok{0};
  std::atomic<int> stream_ok{0};
  std::atomic<bool> stop_writing{false};

  // Unary calls until one fails (the server stops taking new calls).
  std::thread unary([&] {
    for (int i = 0; i < 3000; ++i) {
      v1::EvaluateResponse r;
      if (!client.Evaluate(Request("u", Activity("free-crypto-note.json", 100000 + i)), &r).ok()) {
        break;
      }
      EXPECT_EQ(r.verdict(), v1::VERDICT_FLAG);
      EXPECT_FALSE(r.flag_id().empty());
      absl::MutexLock lock(&mu);
      acknowledged.push_back(r.flag_id());
      ++unary_ok;
    }
  });

  // A stream that is in flight when SIGTERM comes; the client ends it shortly after. It has a
  // connection of its own: on the unary calls' connection, a request that arrives after the
  // server closed (the unary thread sends until a call fails) makes the kernel reset the
  // connection when the process exits, which can swallow the stream's final status.
  grpc::ChannelArguments own_connection;
  own_connection.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::unique_ptr<v1::PolicyService::Stub> stream_stub =
      v1::PolicyService::NewStub(grpc::CreateCustomChannel(
          server->address(), grpc::InsecureChannelCredentials(), own_connection));
  grpc::ClientContext stream_context;
  stream_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stream_stub->EvaluateStream(&stream_context);
  std::thread writer([&] {
    for (int i = 0; i < 20000 && !stop_writing; ++i) {
      if (!stream->Write(
              Request("s" + std::to_string(i), Activity("free-crypto-note.json", 200000 + i)))) {
        break;
      }
    }
    stream->WritesDone();
  });
  std::thread reader([&] {
    v1::EvaluateResponse r;
    while (stream->Read(&r)) {
      if (r.has_error()) continue;
      EXPECT_EQ(r.verdict(), v1::VERDICT_FLAG);
      absl::MutexLock lock(&mu);
      acknowledged.push_back(r.flag_id());
      ++stream_ok;
    }
  });

  EXPECT_TRUE(PollUntil([&] { return unary_ok >= 10 && stream_ok >= 10; }, absl::Seconds(10)));
  ASSERT_TRUE(server->Signal(SIGTERM));
  const int streamed_before_sigterm = stream_ok;
  absl::SleepFor(absl::Milliseconds(300));
  stop_writing = true;
  std::optional<int> code = server->WaitExit(absl::Seconds(10));
  writer.join();
  reader.join();
  unary.join();
  grpc::Status stream_status = stream->Finish();
  ASSERT_TRUE(code.has_value()) << "fedwalld did not exit within 10 s of SIGTERM";
  EXPECT_EQ(*code, 0);
  // The stream's final status can be lost in transport: when the process exits with bytes
  // of the client still unread (HTTP/2 window updates, pings), the kernel resets the
  // connection and the client may not read the status already sent. Every answer the stream
  // got is checked below; the status is either OK or that reset.
  EXPECT_TRUE(stream_status.ok() || stream_status.error_code() == grpc::StatusCode::UNAVAILABLE)
      << "the drained stream: " << stream_status.error_code() << " "
      << stream_status.error_message();
  EXPECT_GT(stream_ok.load(), streamed_before_sigterm) << "the stream was not served after SIGTERM";
  EXPECT_THAT(server->Stderr(), HasSubstr("SIGTERM"));

  // Every acknowledged flag is in the store.
  FedwalldProcess* again = Start();
  ASSERT_NE(again, nullptr);
  Client after(*again);
  std::set<std::string> stored;
  std::string token;
  for (int page = 0; page < 100; ++page) {
    v1::ListFlagsResponse r = after.Flags(v1::FLAG_STATUS_UNSPECIFIED, "", "", 1000, token);
    for (const v1::Flag& f : r.flags()) stored.insert(f.id());
    token = r.next_page_token();
    if (token.empty()) break;
  }
  absl::MutexLock lock(&mu);
  ASSERT_FALSE(acknowledged.empty());
  size_t missing = 0;
  for (const std::string& id : acknowledged) missing += stored.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged flags";
  std::cerr << "acknowledged " << acknowledged.size() << " flags (" << unary_ok << " unary, "
            << stream_ok << " streamed); " << stored.size() << " stored\n";
}

// ---- 15. Admin port, health and reflection ---------------------------------------------------

TEST_F(FedwalldTest, AdminListenServesTheAdminServiceOnlyOnItsOwnPort) {
  FedwalldProcess* server = Start({"--admin-listen", "127.0.0.1:0"});
  ASSERT_NE(server, nullptr);
  ASSERT_NE(server->admin_address(), server->address());

  Client on_admin(server->admin_address(), server->admin_address());
  EXPECT_FALSE(on_admin.PolicyVersion().empty());
  v1::EvaluateResponse ignored;
  EXPECT_EQ(on_admin.Evaluate(Request("x", Activity("clean-note.json")), &ignored).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);

  Client on_data(server->address(), server->address());
  v1::GetPolicyResponse policy;
  EXPECT_EQ(on_data.Admin(&v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest(), &policy)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(on_data.Decide(Activity("clean-note.json")).verdict(), v1::VERDICT_ACCEPT);
}

TEST_F(FedwalldTest, HealthIsServingAndReflectionListsTheServices) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  EXPECT_EQ(HealthStatus(client.channel(), ""), 1);
  EXPECT_EQ(HealthStatus(client.channel(), "fedwall.v1.PolicyService"), 1);
  EXPECT_EQ(HealthStatus(client.channel(), "fedwall.v1.AdminService"), 1);
  EXPECT_EQ(HealthStatus(client.channel(), "no.such.Service"), -1);  // NOT_FOUND

  // ServerReflectionRequest { list_services = 7 (string) } with "".
  auto call = std::make_unique<RawBidiCall>(
      client.channel(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      std::string("\x3a\x00", 2));
  ASSERT_TRUE(IsOk(call->Await()));
  ASSERT_EQ(call->responses().size(), 1u);
  EXPECT_THAT(call->responses()[0], HasSubstr("fedwall.v1.PolicyService"));
  EXPECT_THAT(call->responses()[0], HasSubstr("fedwall.v1.AdminService"));
  EXPECT_THAT(call->responses()[0], HasSubstr("grpc.health.v1.Health"));
}

}  // namespace
}  // namespace fedwall::testing
