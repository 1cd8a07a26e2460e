// AdminOps: the moderation and block operations that the gRPC AdminService and the review
// page (service/http/) share, so that every action goes through the same store and the same
// logic whichever door it came in by.
//
//   ListFlags / GetFlag           read the review store
//   ResolveFlag                   approve or remove; with block_domain also suspends the actor's
//                                 domain (never weakening an existing block) and refreshes the
//                                 live policy's API blocks
//   PutDomainBlocks / DeleteDomainBlock   change API-made blocks and refresh the live policy
//   DomainStatus                  how the live policy's domain table treats a domain
//
// Block changes and the refresh that follows them run under one mutex, so two changes from
// different threads (the gRPC admin thread and an HTTP worker) never hand the policy manager
// an outdated list of blocks.
//
// Example:
//   AdminOps ops(&policies, store.get());
//   ResolveRequest r{.id = "12", .resolution = store::FlagStatus::kRemoved, .block_domain = true};
//   absl::StatusOr<store::Flag> flag = ops.ResolveFlag(r);
//
// Thread-safe. Borrows the PolicyManager and the store; both must outlive it.
#ifndef FEDWALL_SERVICE_ADMIN_OPS_H_
#define FEDWALL_SERVICE_ADMIN_OPS_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/blocklist/blocklist.h"
#include "service/policy_manager.h"
#include "service/store/review_store.h"

namespace fedwall::service {

// API-made blocks as engine blocklist entries (path "", so decisions name them "API block").
std::vector<blocklist::Entry> ToBlocklistEntries(const std::vector<store::DomainBlock>& blocks);

// A domain from a request, normalised; InvalidArgument naming `field` when it is empty or not
// a valid domain.
absl::StatusOr<std::string> RequestDomain(std::string_view domain, std::string_view field);

// A moderator's decision as the operations take it.
struct ResolveRequest {
  std::string id;
  store::FlagStatus resolution = store::FlagStatus::kApproved;  // kApproved or kRemoved
  std::string note;
  std::string moderator;
  bool block_domain = false;  // also suspend the actor's domain
};

// How the live policy treats a domain (its blocklist files and the API blocks together).
struct DomainStatus {
  std::string domain;           // normalised
  bool blocked = false;         // a covering entry with a severity other than none
  std::string severity;         // "suspend", "silence", "noop" or "" (flags only / none)
  std::string covering_domain;  // the entry's key: the domain itself or a parent
  bool reject_media = false;
  bool reject_reports = false;
  bool api_block = false;  // the entry comes from an API-made block (else a policy file)
  std::string source;      // "path:line" of the file entry, or "API block"
  std::string public_comment;
};

class AdminOps {
 public:
  AdminOps(PolicyManager* policies, store::ReviewStore* store);
  AdminOps(const AdminOps&) = delete;
  AdminOps& operator=(const AdminOps&) = delete;

  absl::StatusOr<store::FlagPage> ListFlags(const store::FlagQuery& query);
  // NotFound when no flag has this id.
  absl::StatusOr<store::Flag> GetFlag(std::string_view id);
  // InvalidArgument for a resolution other than approved/removed; NotFound; FailedPrecondition
  // when block_domain is asked for a flag without an actor domain.
  absl::StatusOr<store::Flag> ResolveFlag(const ResolveRequest& request);

  // Store the blocks (see ReviewStore::PutDomainBlocks) and, when any was added or changed,
  // give the policy the new list.
  absl::StatusOr<store::PutBlocksResult> PutDomainBlocks(std::span<const store::DomainBlock> blocks,
                                                         bool replace);
  // False when there was no API block for the domain (nothing changed).
  absl::StatusOr<bool> DeleteDomainBlock(std::string_view domain);

  // The live policy's view of `domain` (normalised here; "" or an invalid name gives
  // blocked = false and domain = "").
  DomainStatus LookupDomain(std::string_view domain) const;

 private:
  // Hands the stored blocks to the policy manager; requires block_mu_.
  absl::Status RefreshBlocksLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(block_mu_);

  PolicyManager* const policies_;
  store::ReviewStore* const store_;
  absl::Mutex block_mu_;  // serialises block changes with their refresh
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_ADMIN_OPS_H_
