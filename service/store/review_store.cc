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

}  // namespace fedwall::store
