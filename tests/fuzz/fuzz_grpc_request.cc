// fuzz_grpc_request: the bytes of a gRPC request message -> protobuf decoding -> what fedwalld
// does with each request (service/policy_service.cc, DecideRequest): the activity size limit,
// ActivityParser::Parse, convert::FactsFromProto, MergeActorFacts, Evaluator::Decide at
// EffectiveNow, convert::DecisionToProto, and for a FLAG the stored copy of the response.
// The steps are replicated here (a dozen calls) rather than linking fedwall::service, which
// brings gRPC, SQLite and the HTTP server into the fuzz build.
//
// The first byte picks the message (byte % 3): 0 an EvaluateRequest (Evaluate and each
// message of EvaluateStream), 1 an EvaluateBatchRequest (at most 1024 items, as the service),
// 2 the facts JSON of `fedwall eval --facts` (convert::ParseFactsJson). The rest is the
// serialised message (seeds: corpus/grpc_request, made with `protoc --encode`, see
// docs/fuzzing.md).
//
// Invariants checked: each response carries the request's id; an activity that does not parse
// gives an InvalidArgument (or ResourceExhausted) error, never a verdict; the response
// serialises and its proto3 JSON form prints.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/fields/field_registry.h"
#include "engine/policy/policy.h"
#include "fedwall/v1/policy_service.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "proto/convert/decision_json.h"
#include "proto/convert/facts.h"
#include "tests/fuzz/fuzz_policy.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

constexpr size_t kMaxActivityBytes = 1 << 20;  // DataPlaneLimits::max_activity_bytes
constexpr int kMaxBatchItems = 1024;           // DataPlaneLimits::max_batch_items

struct Worker {
  fedwall::ActivityParser parser;
  fedwall::Evaluator evaluator;
};

void Decide(Worker& worker, const fedwall::v1::EvaluateRequest& request) {
  const fedwall::Policy& policy = fedwall::fuzzing::FuzzPolicy();
  const std::string& json = request.activity_json();
  if (json.size() > kMaxActivityBytes) return;  // answered INVALID_ARGUMENT without parsing
  absl::StatusOr<fedwall::Activity> activity = worker.parser.Parse(json);
  if (!activity.ok()) {
    FEDWALL_FUZZ_CHECK(activity.status().code() == absl::StatusCode::kInvalidArgument ||
                       activity.status().code() == absl::StatusCode::kResourceExhausted);
    return;
  }
  fedwall::RequestFacts facts = fedwall::convert::FactsFromProto(request);
  fedwall::MergeActorFacts(facts.actor, &*activity);
  fedwall::Decision decision = worker.evaluator.Decide(
      policy, *activity, facts, fedwall::EffectiveNow(facts, fedwall::fuzzing::FuzzNow()));
  fedwall::v1::EvaluateResponse response =
      fedwall::convert::DecisionToProto(decision, request.request_id());
  FEDWALL_FUZZ_CHECK(response.request_id() == request.request_id());
  FEDWALL_FUZZ_CHECK(response.verdict() == fedwall::convert::VerdictToProto(decision.verdict));
  FEDWALL_FUZZ_CHECK(response.policy_version() == policy.version());
  if (decision.verdict == fedwall::Verdict::kFlag && !request.dry_run()) {
    fedwall::v1::EvaluateResponse stored;  // what the review store keeps of the decision
    stored.set_verdict(response.verdict());
    stored.set_score(response.score());
    *stored.mutable_matches() = response.matches();
    stored.set_policy_version(response.policy_version());
    std::string bytes = stored.SerializeAsString();
    fedwall::v1::EvaluateResponse back;
    FEDWALL_FUZZ_CHECK(back.ParseFromString(bytes));
  }
  std::string wire;
  FEDWALL_FUZZ_CHECK(response.SerializeToString(&wire));
  FEDWALL_FUZZ_CHECK(!fedwall::convert::MessageToJson(response, /*pretty=*/false).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Worker* worker = [] {
    google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 in a string field is logged
    return new Worker();
  }();
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  const uint8_t* message = data + 1;
  const int message_size = static_cast<int>(size - 1);

  if (mode == 0) {
    fedwall::v1::EvaluateRequest request;
    if (!request.ParseFromArray(message, message_size)) return 0;
    Decide(*worker, request);
  } else if (mode == 1) {
    fedwall::v1::EvaluateBatchRequest batch;
    if (!batch.ParseFromArray(message, message_size)) return 0;
    if (batch.requests_size() > kMaxBatchItems) return 0;  // refused as a whole
    for (const fedwall::v1::EvaluateRequest& request : batch.requests()) Decide(*worker, request);
  } else {
    std::string_view json(reinterpret_cast<const char*>(message), size - 1);
    absl::StatusOr<fedwall::RequestFacts> facts = fedwall::convert::ParseFactsJson(json);
    if (!facts.ok()) {
      FEDWALL_FUZZ_CHECK(facts.status().code() == absl::StatusCode::kInvalidArgument);
      return 0;
    }
    (void)fedwall::EffectiveNow(*facts, fedwall::fuzzing::FuzzNow());
  }
  return 0;
}
