// Request facts from their proto3 JSON form (the `--facts FILE` of `fedwall inspect` and
// `fedwall eval`): an EvaluateRequest without the activity,
//   {"delivery": {"senderDomain": "spam.example", "receivedAt": "2024-02-15T00:00:00Z"},
//    "actor": {"followersCount": 0, "createdAt": "2024-02-14T23:00:00Z"}}
// converted to the engine's plain RequestFacts (absent stays absent).
//
// Example:
//   absl::StatusOr<fedwall::RequestFacts> facts = fedwall::convert::ParseFactsJson(json);
#ifndef FEDWALL_PROTO_CONVERT_FACTS_H_
#define FEDWALL_PROTO_CONVERT_FACTS_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/activity/facts.h"
#include "fedwall/v1/policy_service.pb.h"

namespace fedwall::convert {

// The facts of an EvaluateRequest (delivery and actor); empty strings and unset optionals
// are absent facts.
RequestFacts FactsFromProto(const fedwall::v1::EvaluateRequest& request);

// Parses proto3 JSON (unknown fields are an error, so typos do not go unnoticed).
absl::StatusOr<RequestFacts> ParseFactsJson(std::string_view json);


}  // namespace fedwall::convert

#endif  // FEDWALL_PROTO_CONVERT_FACTS_H_
