// AdminServiceImpl: the control plane (fedwall.v1.AdminService, spec: docs/api.md), on gRPC's
// callback API.
//
// Every call first checks `authorization: Bearer <token>` against the configured token in
// constant time; a missing or wrong token, or no token configured at all, is UNAUTHENTICATED.
// The work itself (store reads and writes, which wait for the disk) runs on the service's own
// admin thread, one call at a time, never on a gRPC thread; a reload waits for the
// PolicyManager's compile thread and answers from its callback.
//
// Choices where the contract is silent (docs/api.md documents them):
//   CreateDomainBlock  replaces any block of the same domain; severity UNSPECIFIED = SUSPEND
//   ImportDomainBlocks rows known only by a digest (obfuscated) are skipped with a diagnostic
//   ListFlags          leaves activity_json empty (GetFlag has it); page_size default 50
//   ResolveFlag        resolution must be APPROVED or REMOVED; block_domain suspends the
//                      actor's domain without weakening an existing block of it
//
// Thread-safe; owned by the Server.
#ifndef FEDWALL_SERVICE_ADMIN_SERVICE_H_
#define FEDWALL_SERVICE_ADMIN_SERVICE_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
// The generated callback service overrides one overload of each method and hides the
// synchronous one on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
#include "fedwall/v1/admin_service.grpc.pb.h"
#pragma GCC diagnostic pop
#include "service/admin_ops.h"
#include "service/policy_manager.h"
#include "service/stats.h"
#include "service/store/review_store.h"

namespace fedwall::service {

// Compares the `authorization` metadata value with "Bearer " + token in constant time (for a
// given token length). False when `token` is empty.
bool CheckBearerToken(std::string_view authorization, std::string_view token);

class AdminServiceImpl final : public fedwall::v1::AdminService::CallbackService {
 public:
  // Flag and block changes go through `ops` (shared with the review page); all pointers are
  // borrowed and must outlive the service.
  AdminServiceImpl(std::string token, PolicyManager* policies, store::ReviewStore* store,
                   AdminOps* ops, Stats* stats);
  ~AdminServiceImpl() override;  // Stop()
  // Runs the admin calls still queued, then joins the admin thread.
  void Stop();

  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* context,
                                      const fedwall::v1::GetPolicyRequest* request,
                                      fedwall::v1::GetPolicyResponse* response) override;
  grpc::ServerUnaryReactor* ReloadPolicy(grpc::CallbackServerContext* context,
                                         const fedwall::v1::ReloadPolicyRequest* request,
                                         fedwall::v1::ReloadPolicyResponse* response) override;
  grpc::ServerUnaryReactor* ListDomainBlocks(
      grpc::CallbackServerContext* context, const fedwall::v1::ListDomainBlocksRequest* request,
      fedwall::v1::ListDomainBlocksResponse* response) override;
  grpc::ServerUnaryReactor* CreateDomainBlock(
      grpc::CallbackServerContext* context, const fedwall::v1::CreateDomainBlockRequest* request,
      fedwall::v1::DomainBlock* response) override;
  grpc::ServerUnaryReactor* DeleteDomainBlock(
      grpc::CallbackServerContext* context, const fedwall::v1::DeleteDomainBlockRequest* request,
      fedwall::v1::DeleteDomainBlockResponse* response) override;
  grpc::ServerUnaryReactor* ImportDomainBlocks(
      grpc::CallbackServerContext* context, const fedwall::v1::ImportDomainBlocksRequest* request,
      fedwall::v1::ImportDomainBlocksResponse* response) override;
  grpc::ServerUnaryReactor* ListFlags(grpc::CallbackServerContext* context,
                                      const fedwall::v1::ListFlagsRequest* request,
                                      fedwall::v1::ListFlagsResponse* response) override;
  grpc::ServerUnaryReactor* GetFlag(grpc::CallbackServerContext* context,
                                    const fedwall::v1::GetFlagRequest* request,
                                    fedwall::v1::Flag* response) override;
  grpc::ServerUnaryReactor* ResolveFlag(grpc::CallbackServerContext* context,
                                        const fedwall::v1::ResolveFlagRequest* request,
                                        fedwall::v1::Flag* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const fedwall::v1::GetStatsRequest* request,
                                     fedwall::v1::GetStatsResponse* response) override;

 private:
  // Checks the bearer token; on failure finishes the call with UNAUTHENTICATED.
  bool Authenticate(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor) const;
  // Authenticates, then runs `work` on the admin thread and finishes with its status.
  grpc::ServerUnaryReactor* Handle(grpc::CallbackServerContext* context,
                                   std::function<grpc::Status()> work);
  void Run();

  const std::string token_;
  PolicyManager* const policies_;
  store::ReviewStore* const store_;
  AdminOps* const ops_;
  Stats* const stats_;

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_ADMIN_SERVICE_H_
