#include "proto/convert/facts.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"

namespace fedwall::convert {
namespace {

absl::Time ToAbslTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

RequestFacts FactsFromProto(const fedwall::v1::EvaluateRequest& request) {
  RequestFacts facts;
  if (request.has_delivery()) {
    const auto& d = request.delivery();
    if (!d.sender_domain().empty()) facts.delivery.sender_domain = d.sender_domain();
    if (!d.remote_ip().empty()) facts.delivery.remote_ip = d.remote_ip();
    if (d.has_signature_verified()) facts.delivery.signature_verified = d.signature_verified();
    if (d.has_received_at()) facts.delivery.received_at = ToAbslTime(d.received_at());
  }
  if (request.has_actor()) {
    const auto& a = request.actor();
    if (a.has_created_at()) facts.actor.created_at = ToAbslTime(a.created_at());
    if (a.has_followers_count()) facts.actor.followers_count = a.followers_count();
    if (a.has_following_count()) facts.actor.following_count = a.following_count();
    if (a.has_statuses_count()) facts.actor.statuses_count = a.statuses_count();
    if (a.has_bot()) facts.actor.bot = a.bot();
    if (a.has_followed_by_local_users()) {
      facts.actor.followed_by_local_users = a.followed_by_local_users();
    }
    if (a.has_display_name()) facts.actor.display_name = a.display_name();
    if (a.has_bio()) facts.actor.bio = a.bio();
  }
  return facts;
}

absl::StatusOr<RequestFacts> ParseFactsJson(std::string_view json) {
  fedwall::v1::EvaluateRequest request;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &request, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an EvaluateRequest in proto3 JSON: ", status.message().as_string()));
  }
  if (!request.activity_json().empty()) {
    return absl::InvalidArgumentError(
        "a facts file holds only \"delivery\" and \"actor\"; pass the activity as its own file");
  }
  return FactsFromProto(request);
}

}  // namespace fedwall::convert
