#include "service/store/review_store.h"

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"

namespace fedwall::store {

const char* FlagStatusName(FlagStatus s) {
  switch (s) {
    case FlagStatus::kPending:
      return "pending";
    case FlagStatus::kApproved:
      return "approved";
    case FlagStatus::kRemoved:
      return "removed";
  }
  return "unknown";
}

const char* HeldStateName(HeldState state) {
  switch (state) {
    case HeldState::kHeld:
      return "held";
    case HeldState::kDelivered:
      return "delivered";
    case HeldState::kDropped:
      return "dropped";
    case HeldState::kExpired:
      return "expired";
    case HeldState::kFailed:
      return "failed";
    case HeldState::kDelivering:
      return "delivering";
  }
  return "unknown";
}

bool IsPostgresUrl(std::string_view spec) {
  const absl::string_view s(spec.data(), spec.size());
  return absl::StartsWith(s, "postgresql://") || absl::StartsWith(s, "postgres://");
}

absl::StatusOr<std::unique_ptr<ReviewStore>> OpenReviewStore(const std::string& spec) {
  // The two URI prefixes libpq knows (it compares them case-sensitively too).
  if (IsPostgresUrl(spec)) {
    return OpenPostgresStore(spec);
  }
  return OpenSqliteStore(spec);
}

}  // namespace fedwall::store
