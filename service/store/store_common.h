// Helpers shared by the ReviewStore implementations (SQLite, PostgreSQL), so that both check
// the same limits, make the same page tokens and keep rule ids the same way. Internal to
// fedwall::review_store: not part of its interface.
//
// Thread-safety: pure functions.
//
// Example:
//   size_t bytes = 0;
//   for (size_t i = 0; i < flags.size(); ++i) {
//     if (absl::Status s = internal::ValidateFlag(i, flags[i], &bytes); !s.ok()) return s;
//   }
#ifndef FEDWALL_SERVICE_STORE_STORE_COMMON_H_
#define FEDWALL_SERVICE_STORE_STORE_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/store/review_store.h"

namespace fedwall::store::internal {

inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// InvalidArgument naming `field` when `value` is longer than ReviewStoreLimits::kMaxStringBytes.
absl::Status CheckString(std::string_view field, std::string_view value);
bool ValidStatus(FlagStatus s);
bool ValidSeverity(BlockSeverity s);

// A flag id as stored: a positive decimal number without sign or leading zeros.
std::optional<int64_t> ParseId(std::string_view s);

// NewFlag::rule_ids kept exactly: for each id, its length as a LEB128 varint, then its bytes.
std::string EncodeRuleIds(const std::vector<std::string>& ids);
// nullopt for bytes that EncodeRuleIds did not make (or more than kMaxRuleIds ids).
std::optional<std::vector<std::string>> DecodeRuleIds(std::string_view in);

// FNV-1a over the filters of a query, so that a page token only continues the listing it
// was made for.
uint64_t FilterFingerprint(const FlagQuery& q);
std::string MakePageToken(int64_t last_id, uint64_t fingerprint);
// The id after which the next page starts; InvalidArgument for a token not made by
// MakePageToken for these filters.
absl::StatusOr<int64_t> ParsePageToken(const std::string& token, uint64_t fingerprint);

// The bytes a flag holds, for ReviewStoreLimits::kMaxPageBytes.
size_t FlagBytes(const Flag& f);
// Checks flags[index] against the limits; adds its bytes to *batch_bytes and checks the
// batch limit too.
absl::Status ValidateFlag(size_t index, const NewFlag& f, size_t* batch_bytes);
absl::Status ValidateBlock(size_t index, const DomainBlock& b);
// Everything but updated_at.
bool SameBlock(const DomainBlock& a, const DomainBlock& b);

// NotFound for flag `id` (shown cut to 64 bytes).
absl::Status FlagNotFound(std::string_view id);

}  // namespace fedwall::store::internal

#endif  // FEDWALL_SERVICE_STORE_STORE_COMMON_H_
