// Decision -> fedwall.v1.EvaluateResponse, and its proto3 JSON form (what `fedwall eval --json`
// prints and what the service answers).
//
// The mapping: verdict ACCEPT/FLAG/REJECT -> VERDICT_*; the effect bits -> repeated Effect in
// enum order (strip_media, mark_sensitive, unlist, followers_only), each at most once; scores
// in thousandths -> double (score_milli / 1000); matches and evidence field by field, in the
// decision's order. The JSON prints every field, zero values included ("score": 0,
// "monitor": false, "flagId": ""), with enum names and lowerCamelCase keys; the `error`
// message is left out (it is set only when an item could not be evaluated).
//
// Example:
//   fedwall::v1::EvaluateResponse r = fedwall::convert::DecisionToProto(decision);
//   std::cout << fedwall::convert::DecisionToJson(decision, /*pretty=*/false) << "\n";
//   // {"requestId":"","verdict":"VERDICT_REJECT","effects":[],"score":0,"matches":[...],...}
//
// Pure functions; thread-safe.
#ifndef FEDWALL_PROTO_CONVERT_DECISION_JSON_H_
#define FEDWALL_PROTO_CONVERT_DECISION_JSON_H_

#include <string>
#include <string_view>

#include "engine/policy/policy.h"
#include "fedwall/v1/policy_service.pb.h"

namespace fedwall::convert {

fedwall::v1::Verdict VerdictToProto(Verdict verdict);

// Sets `request_id` in the response (it is not part of a Decision).
fedwall::v1::EvaluateResponse DecisionToProto(const Decision& decision,
                                              std::string_view request_id = "");

// Any message in the proto3 JSON mapping with every field printed and enum names; one line,
// or indented when `pretty`.
std::string MessageToJson(const google::protobuf::Message& message, bool pretty);

// DecisionToProto then MessageToJson.
std::string DecisionToJson(const Decision& decision, bool pretty, std::string_view request_id = "");

}  // namespace fedwall::convert

#endif  // FEDWALL_PROTO_CONVERT_DECISION_JSON_H_
