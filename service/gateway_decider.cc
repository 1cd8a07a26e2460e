#include "service/gateway_decider.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fedwall::service {

void GatewayDecider::Decide(fedwall::v1::EvaluateRequest request,
                            const std::vector<fedwall::v1::Effect>& flag_effects,
                            std::unique_ptr<gateway::HeldRequest> held,
                            std::function<void(gateway::Evaluation)> done) {
  // std::function needs copyable captures: the request and the held bytes go in a shared box.
  struct Work {
    fedwall::v1::EvaluateRequest request;
    std::vector<fedwall::v1::Effect> flag_effects;
    std::unique_ptr<gateway::HeldRequest> held;
    std::function<void(gateway::Evaluation)> done;
  };
  auto work = std::make_shared<Work>(
      Work{std::move(request), flag_effects, std::move(held), std::move(done)});
  const bool queued = pool_->Post([this, work](WorkerPool::Worker& worker) {
    gateway::Evaluation e;
    std::shared_ptr<const Policy> policy = policies_->Current();
    if (policy == nullptr) {
      e.error = "no policy is loaded";
      work->done(std::move(e));
      return;
    }
    ItemOutcome outcome =
        DecideRequest(worker, *policy, work->request, limits_, stats_, work->flag_effects);
    if (outcome.response.has_error()) {
      e.outcome = gateway::Evaluation::Outcome::kBadActivity;
      e.error = outcome.response.error().message();
      work->done(std::move(e));
      return;
    }
    e.outcome = gateway::Evaluation::Outcome::kDecided;
    e.response = std::move(outcome.response);
    if (!outcome.flag) {
      work->done(std::move(e));
      return;
    }
    if (work->held) {
      outcome.flag->held_request = std::move(work->held->raw);
      outcome.flag->deliver_before = work->held->deliver_before;
    }
    std::vector<store::NewFlag> flags;
    flags.push_back(std::move(*outcome.flag));
    auto shared = std::make_shared<gateway::Evaluation>(std::move(e));
    flags_->Submit(std::move(flags),
                   [work, shared](std::vector<absl::StatusOr<store::AddedFlag>> stored) {
                     if (stored.at(0).ok()) {
                       shared->response.set_flag_id(stored[0]->id);
                     } else {
                       // Not stored, so not held and not reviewable: no decision to act on.
                       shared->outcome = gateway::Evaluation::Outcome::kUnavailable;
                       shared->error = absl::StrCat("the flag could not be stored: ",
                                                    stored[0].status().message());
                     }
                     work->done(std::move(*shared));
                   });
  });
  if (!queued) {
    gateway::Evaluation e;
    e.error = "the evaluation queue is full";
    work->done(std::move(e));
  }
}

}  // namespace fedwall::service
