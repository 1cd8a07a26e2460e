// Every limit of fedwalld's API, at and just past its value, through the real binary (the
// table is docs/limits.md; engine limits such as rule count and pattern length are unit-tested
// in engine/ and named there, a few are also checked here through ReloadPolicy).
//
// At a limit the request is served as usual; one past it, the answer is the documented error,
// and the server keeps serving.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
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

constexpr char kToken[] = "limits-admin-token-90d4b1";
const std::string kBearer = std::string("Bearer ") + kToken;
constexpr auto kCallDeadline = std::chrono::seconds(30);

// ---- Files and activities --------------------------------------------------------------------

// The clean note with its content replaced by `content` (already JSON-escaped).
std::string NoteWithContent(const std::string& content, int64_t number = 1001) {
  const std::string note = Activity("clean-note.json", number);
  const std::string key = "\"content\": \"";
  const size_t start = note.find(key) + key.size();
  const size_t end = note.find('"', start);
  return note.substr(0, start) + content + note.substr(end);
}

// A note of exactly `bytes` bytes whose content is `head`, then filler words, then `tail`.
std::string NoteOfSize(size_t bytes, const std::string& head = "", const std::string& tail = "",
                       int64_t number = 1001) {
  const size_t fixed = NoteWithContent(head + tail, number).size();
  EXPECT_LE(fixed, bytes);
  std::string filler;
  while (filler.size() < bytes - fixed) filler += "lorem ";
  filler.resize(bytes - fixed);
  if (!filler.empty() && !tail.empty()) filler.back() = ' ';
  std::string note = NoteWithContent(head + filler + tail, number);
  EXPECT_EQ(note.size(), bytes);
  return note;
}

// The clean note with a key "x" holding arrays nested so that the document's depth (the root
// object counted) is `depth`.
std::string NoteOfDepth(int depth) {
  std::string note = Activity("clean-note.json");
  const size_t brace = note.find('{');
  return note.substr(0, brace + 1) + "\"x\": " + std::string(depth - 1, '[') +
         std::string(depth - 1, ']') + "," + note.substr(brace + 1);
}

// ---- gRPC ------------------------------------------------------------------------------------

void Prepare(grpc::ClientContext* context, const char* authorization = nullptr,
             std::chrono::milliseconds deadline = kCallDeadline) {
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  if (authorization != nullptr) context->AddMetadata("authorization", authorization);
}

template <typename Request, typename Response>
using AdminMethod = grpc::Status (v1::AdminService::Stub::*)(grpc::ClientContext*, const Request&,
                                                             Response*);

using Stream = grpc::ClientReaderWriter<v1::EvaluateRequest, v1::EvaluateResponse>;

// A channel of its own: gRPC shares connections between channels to the same address unless
// asked not to.
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

class Client {
 public:
  explicit Client(const FedwalldProcess& server)
      : channel_(OwnChannel(server.address())),
        policy_(v1::PolicyService::NewStub(channel_)),
        admin_(v1::AdminService::NewStub(
            grpc::CreateChannel(server.admin_address(), grpc::InsecureChannelCredentials()))) {}

  v1::PolicyService::Stub* policy() { return policy_.get(); }

  grpc::Status Evaluate(const v1::EvaluateRequest& request, v1::EvaluateResponse* response,
                        std::chrono::milliseconds deadline = kCallDeadline) {
    grpc::ClientContext context;
    Prepare(&context, nullptr, deadline);
    return policy_->Evaluate(&context, request, response);
  }

  v1::EvaluateResponse Decide(const std::string& json, const std::string& request_id = "req") {
    v1::EvaluateResponse response;
    EXPECT_TRUE(IsOk(Evaluate(Request(request_id, json), &response))) << request_id;
    return response;
  }

  grpc::Status Batch(const v1::EvaluateBatchRequest& request, v1::EvaluateBatchResponse* response) {
    grpc::ClientContext context;
    Prepare(&context);
    return policy_->EvaluateBatch(&context, request, response);
  }

  template <typename Request, typename Response>
  grpc::Status Admin(AdminMethod<Request, Response> method, const Request& request,
                     Response* response) {
    grpc::ClientContext context;
    Prepare(&context, kBearer.c_str());
    return (admin_.get()->*method)(&context, request, response);
  }

  template <typename Request, typename Response>
  Response MustAdmin(AdminMethod<Request, Response> method, const Request& request) {
    Response response;
    EXPECT_TRUE(IsOk(Admin(method, request, &response)));
    return response;
  }

  v1::ReloadPolicyResponse Reload() {
    return MustAdmin(&v1::AdminService::Stub::ReloadPolicy, v1::ReloadPolicyRequest());
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PolicyService::Stub> policy_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

// Sends each request on a new stream and half-closes; the responses, in any order.
std::vector<v1::EvaluateResponse> StreamAll(Client& client,
                                            const std::vector<v1::EvaluateRequest>& requests,
                                            grpc::Status* status) {
  grpc::ClientContext context;
  Prepare(&context);
  std::unique_ptr<Stream> stream = client.policy()->EvaluateStream(&context);
  std::thread writer([&] {
    for (const v1::EvaluateRequest& r : requests) {
      if (!stream->Write(r)) break;
    }
    stream->WritesDone();
  });
  std::vector<v1::EvaluateResponse> responses;
  v1::EvaluateResponse r;
  while (stream->Read(&r)) responses.push_back(r);
  writer.join();
  *status = stream->Finish();
  return responses;
}

const v1::EvaluateResponse* FindResponse(const std::vector<v1::EvaluateResponse>& responses,
                                         const std::string& request_id) {
  for (const v1::EvaluateResponse& r : responses) {
    if (r.request_id() == request_id) return &r;
  }
  return nullptr;
}

// Pads the request id of `batch`'s first item so that the serialised batch is `bytes` long.
void PadBatchTo(v1::EvaluateBatchRequest* batch, size_t bytes) {
  v1::EvaluateRequest* first = batch->mutable_requests(0);
  for (int attempt = 0; attempt < 8 && batch->ByteSizeLong() != bytes; ++attempt) {
    const int64_t missing =
        static_cast<int64_t>(bytes) - static_cast<int64_t>(batch->ByteSizeLong());
    const int64_t id = static_cast<int64_t>(first->request_id().size()) + missing;
    ASSERT_GE(id, 0);
    first->set_request_id(std::string(static_cast<size_t>(id), 'r'));
  }
  ASSERT_EQ(batch->ByteSizeLong(), bytes);
}

// ---- The fixture -----------------------------------------------------------------------------

// Extra rules for the limits: a hashtag rule (array items) on top of the service fixture.
const char kLimitsRules[] =
    "# limits_test: a hashtag read past max_array_items would fire this rule.\n"
    "rule late_tag \"Late tag\" {\n"
    "  when  hashtags in [\"late\"]\n"
    "  then  reject\n"
    "}\n";

class LimitsTest : public ServerTest {
 protected:
  LimitsTest() : ServerTest(kToken) {}

  void SetUp() override {
    ServerTest::SetUp();
    WriteFile(policy_dir_ + "/limits.rules", kLimitsRules);
  }

  // Starts a server; `limits` is the body of a [limits] table of a --config file ("" for none).
  FedwalldProcess* Start(std::vector<std::string> extra = {}, const std::string& limits = "") {
    std::vector<std::string> args = BaseArgs();
    args.push_back("--no-watch");
    if (!limits.empty()) {
      const std::string config = dir_ + "/fedwall.toml";
      WriteFile(config, "[limits]\n" + limits);
      args.push_back("--config");
      args.push_back(config);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return Launch(std::move(args));
  }
};

// ---- max_activity_bytes ----------------------------------------------------------------------

TEST_F(LimitsTest, ActivityAtMaxActivityBytesIsDecidedAndOneByteMoreIsRefused) {
  FedwalldProcess* server = Start({"--max-activity-bytes", "4096"});
  ASSERT_NE(server, nullptr);
  Client client(*server);
  // The rejected word at the very end of the content: the whole activity is read.
  const std::string at = NoteOfSize(4096, "", "casino");
  const std::string over = NoteOfSize(4097, "", "casino");

  v1::EvaluateResponse r = client.Decide(at, "at");
  EXPECT_EQ(r.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(RuleIds(r), Contains("casino_ad"));
  grpc::Status refused = client.Evaluate(Request("over", over), &r);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("4097 bytes, over the limit of 4096 bytes"));

  // A batch: the item past the limit gets an item error, its neighbours are decided.
  v1::EvaluateBatchRequest batch;
  *batch.add_requests() = Request("at", at);
  *batch.add_requests() = Request("over", over);
  *batch.add_requests() = Request("clean", Activity("clean-note.json"));
  v1::EvaluateBatchResponse batch_response;
  ASSERT_TRUE(IsOk(client.Batch(batch, &batch_response)));
  ASSERT_EQ(batch_response.responses_size(), 3);
  EXPECT_EQ(batch_response.responses(0).verdict(), v1::VERDICT_REJECT);
  EXPECT_EQ(batch_response.responses(1).error().code(), "INVALID_ARGUMENT");
  EXPECT_THAT(batch_response.responses(1).error().message(), HasSubstr("4096"));
  EXPECT_EQ(batch_response.responses(2).verdict(), v1::VERDICT_ACCEPT);

  // A stream: the same, and the stream goes on.
  grpc::Status status;
  std::vector<v1::EvaluateResponse> streamed = StreamAll(
      client,
      {Request("over", over), Request("at", at), Request("clean", Activity("clean-note.json"))},
      &status);
  EXPECT_TRUE(IsOk(status));
  ASSERT_EQ(streamed.size(), 3u);
  ASSERT_NE(FindResponse(streamed, "over"), nullptr);
  EXPECT_EQ(FindResponse(streamed, "over")->error().code(), "INVALID_ARGUMENT");
  ASSERT_NE(FindResponse(streamed, "at"), nullptr);
  EXPECT_EQ(FindResponse(streamed, "at")->verdict(), v1::VERDICT_REJECT);
  ASSERT_NE(FindResponse(streamed, "clean"), nullptr);
  EXPECT_EQ(FindResponse(streamed, "clean")->verdict(), v1::VERDICT_ACCEPT);
}

// Strings have no limit of their own: one string may take the whole activity. At the default
// limit (1 MiB) a content of nearly a mebibyte is read to its end; evidence is cut to 256 bytes.
TEST_F(LimitsTest, OneStringMayFillTheDefaultActivityLimit) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  const std::string at = NoteOfSize(size_t{1} << 20, "", "free crypto casino");
  v1::EvaluateResponse r = client.Decide(at, "at");
  EXPECT_EQ(r.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(RuleIds(r), Contains("casino_ad"));
  EXPECT_THAT(RuleIds(r), Contains("free_crypto"));
  for (const v1::RuleMatch& m : r.matches()) {
    for (const v1::Evidence& e : m.evidence()) EXPECT_LE(e.text().size(), 256u) << m.rule_id();
  }

  v1::EvaluateResponse refused;
  grpc::Status status =
      client.Evaluate(Request("over", NoteOfSize((size_t{1} << 20) + 1, "", "casino")), &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("over the limit of 1048576 bytes"));
}

// ---- max_message_bytes -----------------------------------------------------------------------

TEST_F(LimitsTest, MessageAtMaxMessageBytesIsTakenAndOneByteMoreIsRefusedByGrpc) {
  FedwalldProcess* server = Start({"--max-activity-bytes", "4096", "--max-message-bytes", "65536"});
  ASSERT_NE(server, nullptr);
  Client client(*server);

  v1::EvaluateBatchRequest batch;
  for (int i = 0; i < 15; ++i) {
    *batch.add_requests() = Request("b", NoteOfSize(4000, "", "", 2000 + i));
  }
  PadBatchTo(&batch, 65536);
  v1::EvaluateBatchResponse response;
  ASSERT_TRUE(IsOk(client.Batch(batch, &response))) << "a batch of exactly 65536 bytes";
  EXPECT_EQ(response.responses_size(), 15);
  for (const v1::EvaluateResponse& r : response.responses()) {
    EXPECT_EQ(r.verdict(), v1::VERDICT_ACCEPT) << r.error().message();
  }

  PadBatchTo(&batch, 65537);
  grpc::Status over = client.Batch(batch, &response);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << over.error_message();

  // A unary message under the transport limit but over the activity limit: the service's own
  // INVALID_ARGUMENT. Over the transport limit: gRPC's RESOURCE_EXHAUSTED.
  v1::EvaluateResponse r;
  grpc::Status activity = client.Evaluate(Request("a", NoteOfSize(60000)), &r);
  EXPECT_EQ(activity.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status message = client.Evaluate(Request("m", NoteOfSize(70000)), &r);
  EXPECT_EQ(message.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // The admin port has the same limit (here: an ImportDomainBlocks file).
  v1::ImportDomainBlocksRequest import;
  std::string rows;
  for (int i = 0; rows.size() < 70000; ++i) absl::StrAppend(&rows, "spam", i, ".example\n");
  import.set_data(rows);
  import.set_format("plain");
  v1::ImportDomainBlocksResponse imported;
  grpc::Status admin = client.Admin(&v1::AdminService::Stub::ImportDomainBlocks, import, &imported);
  EXPECT_EQ(admin.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << admin.error_message();

  EXPECT_EQ(client.Decide(Activity("clean-note.json"), "after").verdict(), v1::VERDICT_ACCEPT);
}

// ---- max_batch_items -------------------------------------------------------------------------

TEST_F(LimitsTest, BatchOfTheDefaultMaxBatchItemsIsDecidedAndOneMoreIsRefused) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  v1::EvaluateBatchRequest batch;
  const std::string clean = Activity("clean-note.json");
  for (int i = 0; i < 1024; ++i) *batch.add_requests() = Request(std::to_string(i), clean);
  v1::EvaluateBatchResponse response;
  ASSERT_TRUE(IsOk(client.Batch(batch, &response)));
  ASSERT_EQ(response.responses_size(), 1024);
  EXPECT_EQ(response.responses(1023).request_id(), "1023");
  EXPECT_EQ(response.responses(1023).verdict(), v1::VERDICT_ACCEPT);

  *batch.add_requests() = Request("1024", clean);
  grpc::Status over = client.Batch(batch, &response);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(over.error_message(), HasSubstr("1024"));
}

// ---- max_json_depth --------------------------------------------------------------------------

TEST_F(LimitsTest, JsonAtMaxJsonDepthIsDecidedAndOneLevelMoreIsRefused) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  EXPECT_EQ(client.Decide(NoteOfDepth(64), "64").verdict(), v1::VERDICT_ACCEPT);
  v1::EvaluateResponse r;
  grpc::Status deeper = client.Evaluate(Request("65", NoteOfDepth(65)), &r);
  EXPECT_EQ(deeper.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(deeper.error_message(), HasSubstr("64"));
  // Far deeper (a hundred thousand levels) is the same error, not a crash.
  grpc::Status deepest = client.Evaluate(Request("deep", NoteOfDepth(100'000)), &r);
  EXPECT_EQ(deepest.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(client.Decide(Activity("clean-note.json"), "after").verdict(), v1::VERDICT_ACCEPT);
}

TEST_F(LimitsTest, ConfiguredMaxJsonDepthAndStreamInFlightAreHonoured) {
  FedwalldProcess* server = Start({}, "max_json_depth = 16\nmax_stream_in_flight = 2\n");
  ASSERT_NE(server, nullptr);
  Client client(*server);
  EXPECT_EQ(client.Decide(NoteOfDepth(16), "16").verdict(), v1::VERDICT_ACCEPT);
  v1::EvaluateResponse r;
  grpc::Status deeper = client.Evaluate(Request("17", NoteOfDepth(17)), &r);
  EXPECT_EQ(deeper.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(deeper.error_message(), HasSubstr("16"));

  // Two in flight per stream: a client that writes 500 requests without waiting is slowed
  // down (flow control), never refused, and every request is answered once.
  std::vector<v1::EvaluateRequest> requests;
  for (int i = 0; i < 500; ++i) {
    requests.push_back(Request(std::to_string(i), i % 2 ? Activity("clean-note.json", 3000 + i)
                                                        : NoteOfDepth(i % 4 ? 16 : 17)));
  }
  grpc::Status status;
  std::vector<v1::EvaluateResponse> responses = StreamAll(client, requests, &status);
  EXPECT_TRUE(IsOk(status));
  ASSERT_EQ(responses.size(), 500u);
  std::set<std::string> ids;
  for (const v1::EvaluateResponse& answer : responses) {
    ids.insert(answer.request_id());
    const int i = std::stoi(answer.request_id());
    if (i % 4 == 0) {
      EXPECT_EQ(answer.error().code(), "INVALID_ARGUMENT") << i;
    } else {
      EXPECT_EQ(answer.verdict(), v1::VERDICT_ACCEPT) << i << " " << answer.error().message();
    }
  }
  EXPECT_EQ(ids.size(), 500u);
}

// ---- max_array_items (ActivityParseOptions, fixed at 1000 in fedwalld) -----------------------

TEST_F(LimitsTest, ArrayElementsPastMaxArrayItemsAreIgnored) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  // `late` as element `index` of the tag array, after `index` filler hashtags.
  auto tagged = [](int index) {
    std::string tags;
    for (int i = 0; i < index; ++i)
      absl::StrAppend(&tags, R"({"type":"Hashtag","name":"#t)", i, R"("},)");
    tags += R"({"type":"Hashtag","name":"#late"})";
    return ReplaceAll(Activity("clean-note.json"), "\"tag\": []", "\"tag\": [" + tags + "]");
  };
  v1::EvaluateResponse last_read = client.Decide(tagged(999), "999");
  EXPECT_EQ(last_read.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(RuleIds(last_read), Contains("late_tag"));
  v1::EvaluateResponse ignored = client.Decide(tagged(1000), "1000");
  EXPECT_EQ(ignored.verdict(), v1::VERDICT_ACCEPT);
  EXPECT_THAT(RuleIds(ignored), Not(Contains("late_tag")));
}

// ---- Streams: GRPC_ARG_MAX_CONCURRENT_STREAMS = 1000 per connection ---------------------------

// Opens `count` streams on `client`'s one connection and gets one answer on each while all are
// open; returns them (still open).
std::vector<std::pair<std::unique_ptr<grpc::ClientContext>, std::unique_ptr<Stream>>> OpenStreams(
    Client& client, int count) {
  std::vector<std::pair<std::unique_ptr<grpc::ClientContext>, std::unique_ptr<Stream>>> streams;
  for (int i = 0; i < count; ++i) {
    auto context = std::make_unique<grpc::ClientContext>();
    Prepare(context.get(), nullptr, std::chrono::seconds(120));
    std::unique_ptr<Stream> stream = client.policy()->EvaluateStream(context.get());
    EXPECT_TRUE(stream->Write(Request("open-" + std::to_string(i), Activity("clean-note.json"))))
        << "stream " << i;
    streams.emplace_back(std::move(context), std::move(stream));
  }
  int answered = 0;
  for (auto& [context, stream] : streams) {
    v1::EvaluateResponse r;
    if (stream->Read(&r) && r.verdict() == v1::VERDICT_ACCEPT) ++answered;
  }
  EXPECT_EQ(answered, count);
  return streams;
}

void CloseStreams(
    std::vector<std::pair<std::unique_ptr<grpc::ClientContext>, std::unique_ptr<Stream>>>*
        streams) {
  int ok = 0;
  for (auto& [context, stream] : *streams) {
    stream->WritesDone();
    v1::EvaluateResponse r;
    while (stream->Read(&r)) {
    }
    ok += stream->Finish().ok();
  }
  EXPECT_EQ(ok, static_cast<int>(streams->size()));
  streams->clear();
}

TEST_F(LimitsTest, TwoHundredConcurrentStreamsAreAllServed) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  auto streams = OpenStreams(client, 200);
  // A second round on every stream while all 200 are still open.
  for (size_t i = 0; i < streams.size(); ++i) {
    EXPECT_TRUE(streams[i].second->Write(
        Request("again-" + std::to_string(i),
                Activity("casino-note.json", 4000 + static_cast<int64_t>(i)))));
  }
  int rejected = 0;
  for (auto& [context, stream] : streams) {
    v1::EvaluateResponse r;
    if (stream->Read(&r) && r.verdict() == v1::VERDICT_REJECT) ++rejected;
  }
  EXPECT_EQ(rejected, 200);
  CloseStreams(&streams);
}

TEST_F(LimitsTest, PastAThousandStreamsOnOneConnectionNewCallsWaitForAFreeStream) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  auto streams = OpenStreams(client, 1000);
  // The 1001st call on the same connection is not refused: it waits for a stream (here, until
  // its deadline).
  v1::EvaluateResponse r;
  grpc::Status waited = client.Evaluate(Request("1001st", Activity("clean-note.json")), &r,
                                        std::chrono::milliseconds(1500));
  EXPECT_EQ(waited.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << waited.error_message();
  // Another connection is served at once.
  Client other(*server);
  EXPECT_EQ(other.Decide(Activity("clean-note.json"), "other").verdict(), v1::VERDICT_ACCEPT);
  // One stream ends: the next call on the first connection goes through.
  streams.back().second->WritesDone();
  while (streams.back().second->Read(&r)) {
  }
  EXPECT_TRUE(IsOk(streams.back().second->Finish()));
  streams.pop_back();
  grpc::Status served = client.Evaluate(Request("after", Activity("clean-note.json")), &r);
  EXPECT_TRUE(IsOk(served));
  CloseStreams(&streams);
}

// ---- The store's string limit (ReviewStoreLimits::kMaxStringBytes, 64 KiB) ------------------

// An activity id is stored with its flag; one longer than the store takes cannot be flagged:
// the call fails (nothing is acknowledged) and the server goes on.
TEST_F(LimitsTest, FlagWithAnActivityIdPastTheStoreStringLimitFailsAlone) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  auto with_id = [](size_t bytes) {
    const std::string note = Activity("free-crypto-note.json");
    const std::string old_id = "\"https://mastodon.example/users/alice/statuses/1001/activity\"";
    std::string id = "https://mastodon.example/users/alice/statuses/";
    id += std::string(bytes - id.size(), '7');
    return ReplaceAll(note, old_id, "\"" + id + "\"");
  };
  v1::EvaluateResponse at = client.Decide(with_id(64 << 10), "at");
  EXPECT_EQ(at.verdict(), v1::VERDICT_FLAG);
  EXPECT_FALSE(at.flag_id().empty());

  v1::EvaluateResponse r;
  grpc::Status over = client.Evaluate(Request("over", with_id((64 << 10) + 1)), &r);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << over.error_message();
  // In a batch the item fails alone; a dry run stores nothing and decides as usual.
  v1::EvaluateBatchRequest batch;
  *batch.add_requests() = Request("over", with_id((64 << 10) + 1));
  *batch.add_requests() = Request("ok", Activity("free-crypto-note.json", 5555));
  *batch.add_requests() = Request("dry", with_id((64 << 10) + 1), /*dry_run=*/true);
  v1::EvaluateBatchResponse response;
  ASSERT_TRUE(IsOk(client.Batch(batch, &response)));
  ASSERT_EQ(response.responses_size(), 3);
  EXPECT_EQ(response.responses(0).error().code(), "INVALID_ARGUMENT");
  EXPECT_TRUE(response.responses(0).flag_id().empty());
  EXPECT_FALSE(response.responses(1).flag_id().empty());
  EXPECT_EQ(response.responses(2).verdict(), v1::VERDICT_FLAG);
  EXPECT_FALSE(response.responses(2).has_error());
}

// ---- Admin page sizes (ReviewStoreLimits::kMaxPageSize) ----------------------------------------

TEST_F(LimitsTest, ListFlagsPagesHoldAtMostAThousandFlags) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  for (int round = 0; round < 2; ++round) {  // 1010 flags in two batches
    v1::EvaluateBatchRequest batch;
    for (int i = 0; i < 505; ++i) {
      *batch.add_requests() =
          Request("f", Activity("free-crypto-note.json", 10'000 + round * 1000 + i));
    }
    v1::EvaluateBatchResponse response;
    ASSERT_TRUE(IsOk(client.Batch(batch, &response)));
    for (const v1::EvaluateResponse& r : response.responses()) {
      ASSERT_FALSE(r.flag_id().empty()) << r.ShortDebugString();
    }
  }
  auto list = [&](int page_size, const std::string& token, v1::ListFlagsResponse* page) {
    v1::ListFlagsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(token);
    return client.Admin(&v1::AdminService::Stub::ListFlags, request, page);
  };
  v1::ListFlagsResponse page;
  ASSERT_TRUE(IsOk(list(0, "", &page)));
  EXPECT_EQ(page.flags_size(), 50);  // the default
  ASSERT_TRUE(IsOk(list(1000, "", &page)));
  EXPECT_EQ(page.flags_size(), 1000);
  ASSERT_TRUE(IsOk(list(5000, "", &page)));
  EXPECT_EQ(page.flags_size(), 1000);  // capped
  ASSERT_FALSE(page.next_page_token().empty());
  v1::ListFlagsResponse rest;
  ASSERT_TRUE(IsOk(list(5000, page.next_page_token(), &rest)));
  EXPECT_EQ(rest.flags_size(), 10);
  EXPECT_TRUE(rest.next_page_token().empty());
  EXPECT_EQ(list(-1, "", &page).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(list(10, "not-a-token", &page).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// ---- Policy limits through ReloadPolicy (defaults of FrontEndOptions) --------------------------

// The diagnostics of a refused reload, "path:line:col: message".
std::vector<std::string> Errors(const v1::ReloadPolicyResponse& r) {
  std::vector<std::string> errors;
  for (const v1::Diagnostic& d : r.diagnostics()) {
    if (d.severity() == "error") {
      errors.push_back(absl::StrCat(d.path(), ":", d.line(), ":", d.column(), ": ", d.message()));
    }
  }
  return errors;
}

TEST_F(LimitsTest, PatternAtMaxPatternBytesLoadsAndOneByteMoreIsRefused) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  const std::string rule_at =
      "rule long_word { when content has \"" + std::string(4096, 'q') + "\" then reject }\n";
  WriteFile(policy_dir_ + "/long.rules", rule_at);
  v1::ReloadPolicyResponse at = client.Reload();
  EXPECT_TRUE(at.ok()) << at.ShortDebugString().substr(0, 500);
  EXPECT_EQ(client.Decide(NoteWithContent(std::string(4096, 'q'))).verdict(), v1::VERDICT_REJECT);

  WriteFile(policy_dir_ + "/long.rules",
            "rule long_word { when content has \"" + std::string(4097, 'q') + "\" then reject }\n");
  v1::ReloadPolicyResponse over = client.Reload();
  EXPECT_FALSE(over.ok());
  EXPECT_EQ(over.version(), at.version());
  EXPECT_THAT(Errors(over), Contains(HasSubstr("longer than 4096 bytes (max_pattern_bytes)")));

  // A regex longer than the limit too.
  WriteFile(policy_dir_ + "/long.rules",
            "rule long_regex { when content ~ /" + std::string(4097, 'q') + "/ then reject }\n");
  EXPECT_THAT(Errors(client.Reload()),
              Contains(HasSubstr("regex longer than 4096 bytes (max_pattern_bytes)")));
}

TEST_F(LimitsTest, RegexPastMaxRegexMemoryIsRefusedAtReload) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  // Short to write, but RE2 needs more than 8 MiB for it: every \pL is hundreds of
  // instructions, a thousand times.
  WriteFile(policy_dir_ + "/huge.rules",
            "rule huge { when content ~ /\\pL{1000}x/ then reject }\n");
  v1::ReloadPolicyResponse r = client.Reload();
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(Errors(r), Contains(HasSubstr("pattern too large")));
  EXPECT_EQ(client.Decide(Activity("casino-note.json")).verdict(), v1::VERDICT_REJECT);
}

TEST_F(LimitsTest, PolicyOfMaxRulesLoadsAndOneRuleMoreIsRefused) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  // The fixture has 4 rules (main.rules and limits.rules); 99,996 more make 100,000.
  auto rules = [](int count) {
    std::string text;
    for (int i = 0; i < count; ++i) {
      absl::StrAppend(&text, "rule n", i, " { when recipients.count >= ", 1'000'000 + i,
                      " then flag }\n");
    }
    return text;
  };
  WriteFile(policy_dir_ + "/many.rules", rules(99'996));
  absl::Time start = absl::Now();
  v1::ReloadPolicyResponse at = client.Reload();
  EXPECT_TRUE(at.ok()) << Errors(at).size() << " errors";
  std::cerr << "compiled 100000 rules in " << absl::FormatDuration(absl::Now() - start) << "\n";
  EXPECT_EQ(client.Decide(Activity("casino-note.json")).verdict(), v1::VERDICT_REJECT);

  WriteFile(policy_dir_ + "/many.rules", rules(99'997));
  v1::ReloadPolicyResponse over = client.Reload();
  EXPECT_FALSE(over.ok());
  EXPECT_THAT(Errors(over),
              Contains(HasSubstr("more than 100000 rules in the policy (max_rules)")));
  EXPECT_EQ(over.version(), at.version());
}

}  // namespace
}  // namespace fedwall::testing
