// GatewayDecider: the inbox gateway's Decider in fedwalld. It decides with the same live policy,
// stats and flag writer as the gRPC PolicyService (DecideRequest), so a delivery through the
// gateway and an Evaluate call get the same answer, and a held request is stored in the same
// transaction as its flag.
//
// It evaluates on the calling thread (the gateway's event loop), with engine state of that
// thread's own: a hand-off to the worker pool and back would cost two thread wake-ups per
// delivery, the larger part of the latency a proxy adds on a 2-core machine. The gateway
// bounds how many deliveries are in progress (max_in_flight).
//
// Thread-safe; the policy manager and flag writer must outlive it.
#ifndef FEDWALL_SERVICE_GATEWAY_DECIDER_H_
#define FEDWALL_SERVICE_GATEWAY_DECIDER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "service/flag_writer.h"
#include "service/gateway/gateway.h"
#include "service/policy_manager.h"
#include "service/policy_service.h"
#include "service/stats.h"
#include "service/worker_pool.h"

namespace fedwall::service {

class GatewayDecider final : public gateway::Decider {
 public:
  // Called (on the flag writer's thread) when a held request was stored with a flag that
  // already existed: that flag may be resolved already, and the copy must then be settled.
  using OnHeldForExisting = std::function<void(const std::string& flag_id)>;

  GatewayDecider(PolicyManager* policies, FlagWriter* flags, Stats* stats,
                 counters::CounterStore* counters, DataPlaneLimits limits,
                 EvaluatorOptions evaluator, OnHeldForExisting on_held_for_existing)
      : policies_(policies),
        flags_(flags),
        stats_(stats),
        counters_(counters),
        limits_(limits),
        evaluator_(std::move(evaluator)),
        on_held_for_existing_(std::move(on_held_for_existing)) {}

  void Decide(fedwall::v1::EvaluateRequest request,
              const std::vector<fedwall::v1::Effect>& flag_effects,
              std::unique_ptr<gateway::HeldRequest> held,
              std::function<void(gateway::Evaluation)> done) override;

 private:
  PolicyManager* const policies_;
  FlagWriter* const flags_;
  Stats* const stats_;
  counters::CounterStore* const counters_;
  const DataPlaneLimits limits_;
  const EvaluatorOptions evaluator_;
  const OnHeldForExisting on_held_for_existing_;
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_GATEWAY_DECIDER_H_
