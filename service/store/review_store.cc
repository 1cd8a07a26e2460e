#include "service/store/review_store.h"

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

}  // namespace fedwall::store
