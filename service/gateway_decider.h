// GatewayDecider: the inbox gateway's Decider in fedwalld. It decides on the same worker pool,
// with the same live policy, stats and flag writer as the gRPC PolicyService (DecideRequest),
// so a delivery through the gateway and an Evaluate call get the same answer, and a held
// request is stored in the same transaction as its flag.
//
// Thread-safe; the pool, policy manager and flag writer must outlive it.
#ifndef FEDWALL_SERVICE_GATEWAY_DECIDER_H_
#define FEDWALL_SERVICE_GATEWAY_DECIDER_H_

#include "service/flag_writer.h"
#include "service/gateway/gateway.h"
#include "service/policy_manager.h"
#include "service/policy_service.h"
#include "service/stats.h"
#include "service/worker_pool.h"

namespace fedwall::service {

class GatewayDecider final : public gateway::Decider {
 public:
  GatewayDecider(PolicyManager* policies, WorkerPool* pool, FlagWriter* flags, Stats* stats,
                 DataPlaneLimits limits)
      : policies_(policies), pool_(pool), flags_(flags), stats_(stats), limits_(limits) {}

  void Decide(fedwall::v1::EvaluateRequest request,
              const std::vector<fedwall::v1::Effect>& flag_effects,
              std::unique_ptr<gateway::HeldRequest> held,
              std::function<void(gateway::Evaluation)> done) override;

 private:
  PolicyManager* const policies_;
  WorkerPool* const pool_;
  FlagWriter* const flags_;
  Stats* const stats_;
  const DataPlaneLimits limits_;
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_GATEWAY_DECIDER_H_
