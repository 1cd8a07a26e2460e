#include "service/store/store_common.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/store/review_store.h"

namespace fedwall::store::internal {

using Limits = ReviewStoreLimits;

absl::Status CheckString(std::string_view field, std::string_view value) {
  if (value.size() > Limits::kMaxStringBytes) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", Av(field), " is ",
                                                   value.size(), " bytes; at most ",
                                                   Limits::kMaxStringBytes, " allowed"));
  }
  return absl::OkStatus();
}

bool ValidStatus(FlagStatus s) {
  return s == FlagStatus::kPending || s == FlagStatus::kApproved || s == FlagStatus::kRemoved;
}
bool ValidSeverity(BlockSeverity s) {
  return s == BlockSeverity::kNoop || s == BlockSeverity::kSilence || s == BlockSeverity::kSuspend;
}

std::optional<int64_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 19 || s[0] == '0') return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const int d = c - '0';
    if (v > (INT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::string EncodeRuleIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) {
    uint64_t n = id.size();
    do {
      uint8_t b = n & 0x7f;
      n >>= 7;
      if (n != 0) b |= 0x80;
      out.push_back(static_cast<char>(b));
    } while (n != 0);
    out += id;
  }
  return out;
}

std::optional<std::vector<std::string>> DecodeRuleIds(std::string_view in) {
  std::vector<std::string> ids;
  size_t i = 0;
  while (i < in.size()) {
    uint64_t n = 0;
    int shift = 0;
    while (true) {
      if (i >= in.size() || shift > 28) return std::nullopt;
      const uint8_t b = static_cast<uint8_t>(in[i++]);
      n |= uint64_t{b & 0x7fu} << shift;
      shift += 7;
      if ((b & 0x80) == 0) break;
    }
    if (n > in.size() - i || ids.size() >= Limits::kMaxRuleIds) return std::nullopt;
    ids.emplace_back(in.substr(i, n));
    i += n;
  }
  return ids;
}

uint64_t FilterFingerprint(const FlagQuery& q) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view bytes) {
    for (char c : bytes) {
      h ^= static_cast<uint8_t>(c);
      h *= 1099511628211ull;
    }
  };
  const std::string head = absl::StrCat(q.status ? static_cast<int>(*q.status) : 0, ":",
                                        q.rule_id.size(), ":", q.domain.size(), ":");
  mix(head);
  mix(q.rule_id);
  mix(q.domain);
  return h;
}

std::string MakePageToken(int64_t last_id, uint64_t fingerprint) {
  return absl::WebSafeBase64Escape(
      absl::StrCat("v1:", last_id, ":", absl::Hex(fingerprint, absl::kZeroPad16)));
}

absl::StatusOr<int64_t> ParsePageToken(const std::string& token, uint64_t fingerprint) {
  if (token.size() <= 128) {
    std::string raw;
    if (absl::WebSafeBase64Unescape(token, &raw) && raw.size() > 20 &&
        raw.compare(0, 3, "v1:") == 0 && raw[raw.size() - 17] == ':') {
      const std::optional<int64_t> id = ParseId(std::string_view(raw).substr(3, raw.size() - 20));
      if (id.has_value()) {
        if (MakePageToken(*id, fingerprint) == token) return *id;
        // Well formed, so made for other filters (or not canonical).
        return absl::InvalidArgumentError(
            "review store: page_token does not belong to a listing with these filters");
      }
    }
  }
  return absl::InvalidArgumentError("review store: page_token is not one this store made");
}

size_t FlagBytes(const Flag& f) {
  size_t n = f.id.size() + f.data.activity_id.size() + f.data.activity_json.size() +
             f.data.actor.size() + f.data.actor_domain.size() + f.data.matches.size() +
             f.data.policy_version.size() + f.moderator.size() + f.note.size();
  for (const std::string& r : f.data.rule_ids) n += r.size();
  return n;
}

absl::Status ValidateFlag(size_t index, const NewFlag& f, size_t* batch_bytes) {
  const std::string where = absl::StrCat("flags[", index, "].");
  if (f.activity_json.size() > Limits::kMaxActivityJsonBytes) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", where, "activity_json is ",
                                                   f.activity_json.size(), " bytes; at most ",
                                                   Limits::kMaxActivityJsonBytes, " allowed"));
  }
  if (f.matches.size() > Limits::kMaxMatchesBytes) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", where, "matches is ",
                                                   f.matches.size(), " bytes; at most ",
                                                   Limits::kMaxMatchesBytes, " allowed"));
  }
  if (f.held_request.size() > Limits::kMaxHeldRequestBytes) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", where, "held_request is ",
                                                   f.held_request.size(), " bytes; at most ",
                                                   Limits::kMaxHeldRequestBytes, " allowed"));
  }
  if (f.rule_ids.size() > Limits::kMaxRuleIds) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", where, "rule_ids has ",
                                                   f.rule_ids.size(), " ids; at most ",
                                                   Limits::kMaxRuleIds, " allowed"));
  }
  const std::pair<const char*, const std::string*> strings[] = {
      {"activity_id", &f.activity_id},
      {"actor", &f.actor},
      {"actor_domain", &f.actor_domain},
      {"policy_version", &f.policy_version}};
  size_t bytes = f.activity_json.size() + f.matches.size() + f.held_request.size();
  for (const auto& [name, value] : strings) {
    if (absl::Status s = CheckString(absl::StrCat(where, name), *value); !s.ok()) return s;
    bytes += value->size();
  }
  for (size_t i = 0; i < f.rule_ids.size(); ++i) {
    if (absl::Status s = CheckString(absl::StrCat(where, "rule_ids[", i, "]"), f.rule_ids[i]);
        !s.ok()) {
      return s;
    }
    bytes += f.rule_ids[i].size();
  }
  *batch_bytes += bytes;
  if (*batch_bytes > Limits::kMaxBatchBytes) {
    return absl::InvalidArgumentError(absl::StrCat("review store: the flags up to ", where,
                                                   " hold more than ", Limits::kMaxBatchBytes,
                                                   " bytes; store them in smaller calls"));
  }
  return absl::OkStatus();
}

absl::Status ValidateBlock(size_t index, const DomainBlock& b) {
  const std::string where = absl::StrCat("blocks[", index, "].");
  if (b.domain.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", where, "domain is empty"));
  }
  if (!ValidSeverity(b.severity)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "review store: ", where, "severity has the unknown value ", static_cast<int>(b.severity)));
  }
  if (absl::Status s = CheckString(absl::StrCat(where, "domain"), b.domain); !s.ok()) return s;
  if (absl::Status s = CheckString(absl::StrCat(where, "public_comment"), b.public_comment);
      !s.ok()) {
    return s;
  }
  return CheckString(absl::StrCat(where, "private_comment"), b.private_comment);
}

bool SameBlock(const DomainBlock& a, const DomainBlock& b) {
  return a.domain == b.domain && a.severity == b.severity && a.reject_media == b.reject_media &&
         a.reject_reports == b.reject_reports && a.public_comment == b.public_comment &&
         a.private_comment == b.private_comment;
}

absl::Status FlagNotFound(std::string_view id) {
  const std::string_view shown = id.substr(0, 64);
  return absl::NotFoundError(absl::StrCat("review store: no flag with id \"", Av(shown),
                                          shown.size() < id.size() ? "...\"" : "\""));
}

}  // namespace fedwall::store::internal
