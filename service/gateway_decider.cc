#include "service/gateway_decider.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fedwall::service {

void GatewayDecider::Decide(fedwall::v1::EvaluateRequest request,
                            const std::vector<fedwall::v1::Effect>& flag_effects,
                            std::unique_ptr<gateway::HeldRequest> held,
                            std::function<void(gateway::Evaluation)> done) {
  thread_local std::unique_ptr<WorkerPool::Worker> worker;
  if (worker == nullptr) worker = std::make_unique<WorkerPool::Worker>(evaluator_);

  gateway::Evaluation e;
  std::shared_ptr<const Policy> policy = policies_->Current();
  if (policy == nullptr) {
    e.error = "no policy is loaded";
    done(std::move(e));
    return;
  }
  ItemOutcome outcome = DecideRequest(*worker, *policy, request, limits_, stats_, counters_,
                                      flag_effects);
  if (outcome.response.has_error()) {
    e.outcome = gateway::Evaluation::Outcome::kBadActivity;
    e.error = outcome.response.error().message();
    done(std::move(e));
    return;
  }
  e.outcome = gateway::Evaluation::Outcome::kDecided;
  e.response = std::move(outcome.response);
  if (!outcome.flag) {
    done(std::move(e));
    return;
  }
  if (held) {
    outcome.flag->held_request = std::move(held->raw);
    outcome.flag->deliver_before = held->deliver_before;
  }
  std::vector<store::NewFlag> flags;
  flags.push_back(std::move(*outcome.flag));
  // std::function needs copyable captures.
  auto shared = std::make_shared<gateway::Evaluation>(std::move(e));
  auto shared_done = std::make_shared<std::function<void(gateway::Evaluation)>>(std::move(done));
  flags_->Submit(std::move(flags), [this, shared, shared_done](
                                       std::vector<absl::StatusOr<store::AddedFlag>> stored) {
    if (stored.at(0).ok()) {
      shared->response.set_flag_id(stored[0]->id);
      if (stored[0]->existed && stored[0]->held && on_held_for_existing_) {
        on_held_for_existing_(stored[0]->id);
      }
    } else {
      // Not stored: not reviewable, and not held. Acknowledging it would lose it.
      shared->outcome = gateway::Evaluation::Outcome::kNotStored;
      shared->error =
          absl::StrCat("the flag could not be stored: ", stored[0].status().message());
    }
    (*shared_done)(std::move(*shared));
  });
}

}  // namespace fedwall::service
