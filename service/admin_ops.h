// AdminOps: the moderation and block operations that the gRPC AdminService and the review
// page (service/http/) share, so that every action goes through the same store and the same
// logic whichever door it came in by.
//
//   ListFlags / GetFlag           read the review store
//   ResolveFlag                   approve or remove; with block_domain also suspends the actor's
//                                 domain (never weakening an existing block) and refreshes the
//                                 live policy's API blocks. A request the inbox gateway holds
//                                 with the flag is delivered on approval (before its deadline;
//                                 after it: "expired", not delivered) and dropped on removal.
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

#include <functional>

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
  // Sends a held request to the server behind the gateway; `done` gets OK on a 2xx answer.
  using HeldDeliverer =
      std::function<void(std::string raw, std::function<void(absl::Status)> done)>;

  AdminOps(PolicyManager* policies, store::ReviewStore* store);
  // A request was held with a flag that already existed (the same activity sent again): if
  // the flag is resolved already, deliver or drop the copy now (without waiting).
  void SettleHeldOf(const std::string& flag_id);

  // Before the first ResolveFlag: how approved held requests are delivered, and how long an
  // approval waits for the server's answer. Without a deliverer an approval records "failed"
  // (the gateway is off); approving again retries.
  void SetHeldDeliverer(HeldDeliverer deliverer, absl::Duration timeout) {
    deliverer_ = std::move(deliverer);
    delivery_timeout_ = timeout;
  }
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

  // Reads the API blocks from the store and, when they differ from the ones the policy has,
  // gives the policy the stored list: how a node sees blocks other nodes made in a shared
  // (PostgreSQL) store. The server calls it every store.sync_interval.
  absl::Status SyncBlocksFromStore();
  // The blocks the policy was first loaded with (so the first sync changes nothing when the
  // store did not change).
  void NoteLoadedBlocks(std::vector<store::DomainBlock> blocks) {
    absl::MutexLock lock(&block_mu_);
    applied_blocks_ = std::move(blocks);
  }

  // The live policy's view of `domain` (normalised here; "" or an invalid name gives
  // blocked = false and domain = "").
  DomainStatus LookupDomain(std::string_view domain) const;

 private:
  // Delivers or drops the request held with `flag` as its resolution says, and records it;
  // waits for the server's answer up to the delivery timeout.
  absl::Status SettleHeld(const store::Flag& flag);
  // The same without waiting; `settled` runs once the outcome is recorded (on any thread).
  void SettleHeldAsync(const store::Flag& flag, std::function<void()> settled);
  // Hands the stored blocks to the policy manager; requires block_mu_.
  absl::Status RefreshBlocksLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(block_mu_);

  PolicyManager* const policies_;
  store::ReviewStore* const store_;
  absl::Mutex block_mu_;  // serialises block changes with their refresh
  // The blocks last handed to the policy (by a change here or a sync).
  std::optional<std::vector<store::DomainBlock>> applied_blocks_ ABSL_GUARDED_BY(block_mu_);
  HeldDeliverer deliverer_;
  absl::Duration delivery_timeout_ = absl::Seconds(30);
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_ADMIN_OPS_H_
