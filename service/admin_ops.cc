#include "service/admin_ops.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/policy/policy.h"
#include "engine/text/domain.h"
#include "service/log.h"

namespace fedwall::service {

std::vector<blocklist::Entry> ToBlocklistEntries(const std::vector<store::DomainBlock>& blocks) {
  std::vector<blocklist::Entry> entries;
  entries.reserve(blocks.size());
  for (const store::DomainBlock& b : blocks) {
    blocklist::Entry e;
    e.domain = b.domain;
    e.written = b.domain;
    e.severity = static_cast<blocklist::Severity>(b.severity);
    e.reject_media = b.reject_media;
    e.reject_reports = b.reject_reports;
    e.public_comment = b.public_comment;
    e.private_comment = b.private_comment;
    entries.push_back(std::move(e));
  }
  return entries;
}

absl::StatusOr<std::string> RequestDomain(std::string_view domain, std::string_view field) {
  if (domain.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), " is required"));
  }
  absl::StatusOr<std::string> normalised = text::NormalizeDomain(domain);
  if (!normalised.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), " \"", std::string(domain),
                     "\" is not a valid domain: ", normalised.status().message()));
  }
  return normalised;
}

AdminOps::AdminOps(PolicyManager* policies, store::ReviewStore* store)
    : policies_(policies), store_(store) {}

absl::StatusOr<store::FlagPage> AdminOps::ListFlags(const store::FlagQuery& query) {
  return store_->ListFlags(query);
}

absl::StatusOr<store::Flag> AdminOps::GetFlag(std::string_view id) { return store_->GetFlag(id); }

absl::StatusOr<store::Flag> AdminOps::ResolveFlag(const ResolveRequest& request) {
  if (request.resolution != store::FlagStatus::kApproved &&
      request.resolution != store::FlagStatus::kRemoved) {
    return absl::InvalidArgumentError("resolution must be approved or removed");
  }
  absl::StatusOr<store::Flag> flag = store_->GetFlag(request.id);
  if (!flag.ok()) return flag.status();
  if (request.block_domain && flag->data.actor_domain.empty()) {
    return absl::FailedPreconditionError("the flagged activity has no actor domain to block");
  }
  store::Resolution resolution;
  resolution.id = request.id;
  resolution.status = request.resolution;
  resolution.moderator = request.moderator;
  resolution.note = request.note;
  resolution.at = absl::Now();
  absl::StatusOr<store::Flag> resolved = store_->ResolveFlag(resolution);
  if (!resolved.ok()) return resolved.status();
  if (resolved->held.has_value()) {
    if (absl::Status s = SettleHeld(*resolved); !s.ok()) return s;
    resolved = store_->GetFlag(resolved->id);
    if (!resolved.ok()) return resolved.status();
  }
  if (request.block_domain) {
    store::DomainBlock block;
    block.domain = resolved->data.actor_domain;
    block.severity = store::BlockSeverity::kSuspend;
    block.private_comment = absl::StrCat(
        "flag ", resolved->id, request.moderator.empty() ? "" : " by ", request.moderator);
    block.updated_at = absl::Now();
    absl::StatusOr<store::PutBlocksResult> put = PutDomainBlocks({&block, 1}, /*replace=*/false);
    if (!put.ok()) return put.status();
    LogInfo(absl::StrCat("domain ", block.domain, " suspended from flag ", resolved->id));
  }
  return resolved;
}

void AdminOps::SettleHeldAsync(const store::Flag& flag, std::function<void()> settled) {
  const store::HeldState state = flag.held->state;
  const absl::Time now = absl::Now();
  const auto record = [this, &flag, &settled](store::HeldState to, const std::string& detail) {
    if (absl::Status s = store_->SetHeldState(flag.id, to, detail, absl::Now()); !s.ok()) {
      LogWarning(absl::StrCat("held delivery of flag ", flag.id, ": ", s.message()));
    }
    settled();
  };
  const bool open = state == store::HeldState::kHeld || state == store::HeldState::kFailed;
  if (flag.status == store::FlagStatus::kPending) return settled();
  if (flag.status == store::FlagStatus::kRemoved) {
    if (!open) return settled();  // delivered, dropped or expired already: nothing to undo
    LogInfo(absl::StrCat("held delivery of flag ", flag.id, " dropped (removed)"));
    return record(store::HeldState::kDropped, "removed by a moderator");
  }
  // Approved: deliver, unless that happened, is happening, or cannot any more.
  if (!open && state != store::HeldState::kDelivering) return settled();
  if (now > flag.held->deliver_before) {
    if (!open) return settled();
    const std::string detail = absl::StrCat(
        "approved at ", absl::FormatTime(now), ", after the deadline ",
        absl::FormatTime(flag.held->deliver_before),
        ": the sender's signature is too old for the server to accept; not delivered");
    LogInfo(absl::StrCat("held delivery of flag ", flag.id, " expired"));
    return record(store::HeldState::kExpired, detail);
  }
  if (!deliverer_) {
    if (!open) return settled();
    return record(store::HeldState::kFailed,
                  "the inbox gateway is not running; approve again once it is");
  }
  // One delivery at a time: the claim is atomic in the store (approvals may come from the
  // gRPC AdminService and the review page at once). A delivery that never reported back (the
  // process stopped) can be claimed again after twice the delivery timeout.
  absl::StatusOr<bool> claimed =
      store_->ClaimHeld(flag.id, now, now - 2 * delivery_timeout_ - absl::Seconds(10));
  if (!claimed.ok() || !*claimed) {
    if (!claimed.ok()) LogWarning(absl::StrCat("held delivery of flag ", flag.id, ": ",
                                               claimed.status().message()));
    return settled();
  }
  absl::StatusOr<std::string> raw = store_->GetHeldRequest(flag.id);
  if (!raw.ok()) return record(store::HeldState::kFailed, std::string(raw.status().message()));
  // The outcome is recorded when the server answers, however long the caller waits.
  deliverer_(*std::move(raw), [this, id = flag.id, settled](absl::Status delivered) {
    if (delivered.ok()) {
      LogInfo(absl::StrCat("held delivery of flag ", id, " delivered (approved)"));
    } else {
      LogWarning(absl::StrCat("held delivery of flag ", id, " failed: ", delivered.message()));
    }
    const absl::Status s = store_->SetHeldState(
        id, delivered.ok() ? store::HeldState::kDelivered : store::HeldState::kFailed,
        delivered.ok() ? "" : absl::StrCat(delivered.message(), "; approve again to retry"),
        absl::Now());
    if (!s.ok()) LogWarning(absl::StrCat("held delivery of flag ", id, ": ", s.message()));
    settled();
  });
}

void AdminOps::SettleHeldOf(const std::string& flag_id) {
  absl::StatusOr<store::Flag> flag = store_->GetFlag(flag_id);
  if (!flag.ok() || !flag->held.has_value()) return;
  SettleHeldAsync(*flag, [] {});
}

absl::Status AdminOps::SettleHeld(const store::Flag& flag) {
  struct Wait {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
  };
  auto wait = std::make_shared<Wait>();
  SettleHeldAsync(flag, [wait] {
    absl::MutexLock lock(&wait->mu);
    wait->done = true;
  });
  // The answer shows "delivering" when the server takes longer; the outcome is recorded later.
  absl::MutexLock lock(&wait->mu);
  auto finished = [w = wait.get()]() ABSL_SHARED_LOCKS_REQUIRED(w->mu) { return w->done; };
  wait->mu.AwaitWithTimeout(absl::Condition(&finished), delivery_timeout_ + absl::Seconds(1));
  return absl::OkStatus();
}

absl::StatusOr<store::PutBlocksResult> AdminOps::PutDomainBlocks(
    std::span<const store::DomainBlock> blocks, bool replace) {
  absl::MutexLock lock(&block_mu_);
  absl::StatusOr<store::PutBlocksResult> put = store_->PutDomainBlocks(blocks, replace);
  if (!put.ok()) return put.status();
  if (put->added + put->changed > 0) {
    if (absl::Status s = RefreshBlocksLocked(); !s.ok()) return s;
  }
  return put;
}

absl::StatusOr<bool> AdminOps::DeleteDomainBlock(std::string_view domain) {
  absl::MutexLock lock(&block_mu_);
  absl::StatusOr<bool> deleted = store_->DeleteDomainBlock(domain);
  if (!deleted.ok() || !*deleted) return deleted;
  if (absl::Status s = RefreshBlocksLocked(); !s.ok()) return s;
  return true;
}

absl::Status AdminOps::RefreshBlocksLocked() {
  absl::StatusOr<std::vector<store::DomainBlock>> blocks = store_->ListDomainBlocks();
  if (!blocks.ok()) return blocks.status();
  policies_->SetApiBlocks(ToBlocklistEntries(*blocks));
  applied_blocks_ = *std::move(blocks);
  return absl::OkStatus();
}

absl::Status AdminOps::SyncBlocksFromStore() {
  absl::MutexLock lock(&block_mu_);
  absl::StatusOr<std::vector<store::DomainBlock>> blocks = store_->ListDomainBlocks();
  if (!blocks.ok()) return blocks.status();
  if (applied_blocks_.has_value() && *applied_blocks_ == *blocks) return absl::OkStatus();
  policies_->SetApiBlocks(ToBlocklistEntries(*blocks));
  applied_blocks_ = *std::move(blocks);
  return absl::OkStatus();
}

DomainStatus AdminOps::LookupDomain(std::string_view domain) const {
  DomainStatus status;
  if (domain.empty()) return status;
  absl::StatusOr<std::string> normalised = text::NormalizeDomain(domain);
  if (!normalised.ok()) return status;
  status.domain = *normalised;
  std::shared_ptr<const Policy> policy = policies_->Current();
  if (policy == nullptr) return status;
  std::optional<blocklist::Match> match = policy->domains().Lookup(status.domain);
  if (!match) return status;
  status.blocked = match->severity != blocklist::Severity::kNone;
  if (status.blocked) status.severity = blocklist::SeverityName(match->severity);
  status.covering_domain = std::string(match->domain);
  status.reject_media = match->reject_media;
  status.reject_reports = match->reject_reports;
  status.api_block = match->path.empty();
  status.source = status.api_block
                      ? "API block"
                      : absl::StrCat(absl::string_view(match->path.data(), match->path.size()), ":",
                                     match->line);
  status.public_comment = std::string(match->public_comment);
  return status;
}

}  // namespace fedwall::service
