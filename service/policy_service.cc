#include "service/policy_service.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/fields/field_registry.h"
#include "proto/convert/decision_json.h"
#include "proto/convert/facts.h"

namespace fedwall::service {
namespace {

using fedwall::v1::EvaluateBatchRequest;
using fedwall::v1::EvaluateBatchResponse;
using fedwall::v1::EvaluateRequest;
using fedwall::v1::EvaluateResponse;

const char* CodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case absl::StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case absl::StatusCode::kUnavailable: return "UNAVAILABLE";
    case absl::StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case absl::StatusCode::kNotFound: return "NOT_FOUND";
    case absl::StatusCode::kCancelled: return "CANCELLED";
    case absl::StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case absl::StatusCode::kOk: return "OK";
    default: return "INTERNAL";
  }
}

void SetItemError(EvaluateResponse* response, const absl::Status& status) {
  std::string request_id = response->request_id();
  response->Clear();
  response->set_request_id(std::move(request_id));
  response->mutable_error()->set_code(CodeName(status.code()));
  response->mutable_error()->set_message(std::string(status.message()));
}

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

const absl::Status& Overloaded() {
  static const absl::Status* status = new absl::Status(absl::ResourceExhaustedError(
      "fedwalld is overloaded (evaluation queue full); retry later"));
  return *status;
}

// How far in the future a request's received_at may be for the counters (see DecideRequest).
constexpr absl::Duration kMaxReceivedAtSkew = absl::Minutes(5);

StatVerdict ToStat(fedwall::v1::Verdict v) {
  switch (v) {
    case fedwall::v1::VERDICT_FLAG: return StatVerdict::kFlag;
    case fedwall::v1::VERDICT_REJECT: return StatVerdict::kReject;
    default: return StatVerdict::kAccept;
  }
}

}  // namespace

ItemOutcome DecideRequest(WorkerPool::Worker& worker, const Policy& policy,
                          const EvaluateRequest& request, const DataPlaneLimits& limits,
                          Stats* stats, counters::CounterStore* counters,
                          std::span<const fedwall::v1::Effect> flag_effects) {
  absl::Time start = absl::Now();
  ItemOutcome out;
  out.response.set_request_id(request.request_id());
  const std::string& json = request.activity_json();
  absl::StatusOr<Activity> activity =
      json.size() > limits.max_activity_bytes
          ? absl::StatusOr<Activity>(absl::InvalidArgumentError(
                absl::StrCat("the activity is ", json.size(), " bytes, over the limit of ",
                             limits.max_activity_bytes, " bytes")))
          : worker.parser.Parse(json);
  if (!activity.ok()) {
    SetItemError(&out.response, activity.status());
    if (stats) stats->RecordDecision(StatVerdict::kError, {}, absl::Now() - start);
    return out;
  }
  RequestFacts facts = convert::FactsFromProto(request);
  MergeActorFacts(facts.actor, &*activity);
  const absl::Time now = EffectiveNow(facts, absl::Now());
  worker.counter_values.clear();
  if (counters != nullptr && !policy.counters().empty()) {
    // A received_at from the caller is trusted for replays (the past), but not far in the
    // future: a skewed clock would restart shared series for everyone.
    const absl::Time count_at = std::min(now, absl::Now() + kMaxReceivedAtSkew);
    counters::Count(*counters, policy.counters(), *activity, count_at, !request.dry_run(),
                    &worker.counter_values);
  }
  Decision decision =
      worker.evaluator.Decide(policy, *activity, facts, now, worker.counter_values);
  out.response = convert::DecisionToProto(decision, request.request_id());
  if (decision.verdict == Verdict::kAccept && !flag_effects.empty()) {
    for (int e : out.response.effects()) {
      if (std::find(flag_effects.begin(), flag_effects.end(), e) != flag_effects.end()) {
        decision.verdict = Verdict::kFlag;
        out.response.set_verdict(fedwall::v1::VERDICT_FLAG);
        break;
      }
    }
  }

  if (decision.verdict == Verdict::kFlag && !request.dry_run()) {
    store::NewFlag flag;
    flag.activity_id = activity->id;
    flag.activity_json = json;
    flag.actor = activity->actor;
    flag.actor_domain = activity->actor_domain;
    for (const RuleMatch& m : decision.matches) flag.rule_ids.push_back(m.rule_id);
    EvaluateResponse stored;  // what the store keeps of the decision: matches and score
    stored.set_verdict(out.response.verdict());
    stored.set_score(out.response.score());
    *stored.mutable_matches() = out.response.matches();
    stored.set_policy_version(out.response.policy_version());
    flag.matches = stored.SerializeAsString();
    flag.score_milli = decision.score_milli;
    flag.policy_version = decision.policy_version;
    flag.created_at = absl::Now();
    out.flag = std::move(flag);
  }
  if (stats) {
    absl::InlinedVector<std::string_view, 8> fired;
    for (const RuleMatch& m : decision.matches) fired.push_back(m.rule_id);
    stats->RecordDecision(ToStat(out.response.verdict()), fired, absl::Now() - start);
  }
  return out;
}

void ApplyStoredFlag(const absl::StatusOr<store::AddedFlag>& stored, EvaluateResponse* response) {
  if (stored.ok()) {
    response->set_flag_id(stored->id);
  } else {
    SetItemError(response, stored.status());
  }
}

PolicyServiceImpl::PolicyServiceImpl(PolicyManager* policies, WorkerPool* pool, FlagWriter* flags,
                                     Stats* stats, counters::CounterStore* counters,
                                     DataPlaneLimits limits)
    : policies_(policies),
      pool_(pool),
      flags_(flags),
      stats_(stats),
      counters_(counters),
      limits_(limits) {}

grpc::ServerUnaryReactor* PolicyServiceImpl::Evaluate(grpc::CallbackServerContext* context,
                                                      const EvaluateRequest* request,
                                                      EvaluateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  bool queued = pool_->Post([this, context, reactor, request, response](WorkerPool::Worker& worker) {
    // A call cancelled (or past its deadline) while queued is not evaluated: this also keeps
    // a drain short when the queue is long.
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status::CANCELLED);
      return;
    }
    std::shared_ptr<const Policy> policy = policies_->Current();
    ItemOutcome outcome = DecideRequest(worker, *policy, *request, limits_, stats_, counters_);
    if (outcome.response.has_error()) {
      // Only a malformed or oversized activity fails before a decision.
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   outcome.response.error().message()));
      return;
    }
    *response = std::move(outcome.response);
    if (!outcome.flag) {
      reactor->Finish(grpc::Status::OK);
      return;
    }
    std::vector<store::NewFlag> flags;
    flags.push_back(std::move(*outcome.flag));
    flags_->Submit(std::move(flags), [reactor, response](
                                         std::vector<absl::StatusOr<store::AddedFlag>> stored) {
      if (!stored.at(0).ok()) {
        response->Clear();
        reactor->Finish(ToGrpc(stored[0].status()));
        return;
      }
      response->set_flag_id(stored[0]->id);
      reactor->Finish(grpc::Status::OK);
    });
  });
  if (!queued) reactor->Finish(ToGrpc(Overloaded()));
  return reactor;
}

grpc::ServerUnaryReactor* PolicyServiceImpl::EvaluateBatch(grpc::CallbackServerContext* context,
                                                           const EvaluateBatchRequest* request,
                                                           EvaluateBatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (static_cast<size_t>(request->requests_size()) > limits_.max_batch_items) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("the batch has ", request->requests_size(), " requests, over the limit of ",
                     limits_.max_batch_items)));
    return reactor;
  }
  bool queued = pool_->Post([this, context, reactor, request, response](WorkerPool::Worker& worker) {
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status::CANCELLED);
      return;
    }
    std::shared_ptr<const Policy> policy = policies_->Current();
    std::vector<store::NewFlag> flags;
    std::vector<int> flagged;  // index of the response of each flag
    response->mutable_responses()->Reserve(request->requests_size());
    for (const EvaluateRequest& item : request->requests()) {
      ItemOutcome outcome = DecideRequest(worker, *policy, item, limits_, stats_, counters_);
      if (outcome.flag) {
        flags.push_back(std::move(*outcome.flag));
        flagged.push_back(response->responses_size());
      }
      *response->add_responses() = std::move(outcome.response);
    }
    if (flags.empty()) {
      reactor->Finish(grpc::Status::OK);
      return;
    }
    flags_->Submit(std::move(flags), [reactor, response, flagged = std::move(flagged)](
                                         std::vector<absl::StatusOr<store::AddedFlag>> stored) {
      for (size_t i = 0; i < flagged.size(); ++i) {
        ApplyStoredFlag(stored[i], response->mutable_responses(flagged[i]));
      }
      reactor->Finish(grpc::Status::OK);
    });
  });
  if (!queued) reactor->Finish(ToGrpc(Overloaded()));
  return reactor;
}

// One bidirectional stream. Reads one request at a time; each read request is evaluated on the
// pool while the next one is read, up to max_stream_in_flight at once (then reading pauses until
// a response has been written). Responses are written one at a time from a queue. The reactor
// finishes when the client has half-closed and every response is written, and deletes itself
// in OnDone, after which no pool task can refer to it (none is in flight by then).
//
// State changes happen under mu_; the gRPC operations they call for (StartRead, StartWrite,
// Finish) are started after mu_ is released, so a reaction run by gRPC on another thread (and
// the OnDone that deletes the reactor) never races a thread still holding the lock.
class PolicyServiceImpl::StreamReactor final
    : public grpc::ServerBidiReactor<EvaluateRequest, EvaluateResponse> {
 public:
  explicit StreamReactor(PolicyServiceImpl* service) : service_(service) {
    {
      absl::MutexLock lock(&mu_);
      reading_ = true;
    }
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed, or the call broke (e.g. a message over the limit)
      Actions actions;
      {
        absl::MutexLock lock(&mu_);
        reading_ = false;
        reads_done_ = true;
        PlanLocked(&actions);
      }
      Run(actions);
      return;
    }
    // incoming_ belongs to the read path until the next StartRead.
    auto request = std::make_shared<EvaluateRequest>(std::move(incoming_));
    incoming_.Clear();
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      ++in_flight_;
      PlanLocked(&actions);  // may read the next request while this one is evaluated
    }
    Run(actions);
    bool queued = service_->pool_->Post([this, request](WorkerPool::Worker& worker) {
      if (Broken()) {  // the client is gone: nobody reads the answer
        Respond(EvaluateResponse());
        return;
      }
      std::shared_ptr<const Policy> policy = service_->policies_->Current();
      ItemOutcome outcome =
          DecideRequest(worker, *policy, *request, service_->limits_, service_->stats_,
                        service_->counters_);
      if (!outcome.flag) {
        Respond(std::move(outcome.response));
        return;
      }
      auto response = std::make_shared<EvaluateResponse>(std::move(outcome.response));
      std::vector<store::NewFlag> flags;
      flags.push_back(std::move(*outcome.flag));
      service_->flags_->Submit(std::move(flags), [this, response](
                                   std::vector<absl::StatusOr<store::AddedFlag>> stored) {
        ApplyStoredFlag(stored.at(0), response.get());
        Respond(std::move(*response));
      });
    });
    if (!queued) {
      EvaluateResponse refused;
      refused.set_request_id(request->request_id());
      SetItemError(&refused, Overloaded());
      Respond(std::move(refused));
    }
  }

  void OnWriteDone(bool ok) override {
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) broken_ = true;  // the client went away: drop what is left
      PlanLocked(&actions);
    }
    Run(actions);
  }

  void OnCancel() override {
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      broken_ = true;
      PlanLocked(&actions);
    }
    Run(actions);
  }

  void OnDone() override { delete this; }

 private:
  // What to start once mu_ is released.
  struct Actions {
    bool read = false;
    bool write = false;
    bool finish = false;
  };

  bool Broken() {
    absl::MutexLock lock(&mu_);
    return broken_;
  }

  void Respond(EvaluateResponse response) {
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      --in_flight_;
      if (!broken_) outgoing_.push_back(std::move(response));
      PlanLocked(&actions);
    }
    Run(actions);
  }

  // Decides the next operations from the state, and marks them started.
  void PlanLocked(Actions* actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    if (broken_) outgoing_.clear();
    if (!writing_ && !outgoing_.empty()) {
      writing_ = true;
      current_ = std::move(outgoing_.front());
      outgoing_.pop_front();
      actions->write = true;
    }
    // Read the next request unless one is being read, the client is done, or too many are in
    // flight or waiting to be written (back-pressure: the client's sends wait in flow control).
    if (!reading_ && !reads_done_ && !broken_ &&
        in_flight_ + outgoing_.size() < service_->limits_.max_stream_in_flight) {
      reading_ = true;
      actions->read = true;
    }
    if (in_flight_ == 0 && !writing_ && outgoing_.empty() && !reading_ &&
        (reads_done_ || broken_)) {
      finished_ = true;
      finish_status_ = broken_ ? grpc::Status::CANCELLED : grpc::Status::OK;
      actions->finish = true;
    }
  }

  void Run(const Actions& actions) {
    // Finish is planned only when nothing else is outstanding, and after it nothing may touch
    // `this` (OnDone may already have run).
    if (actions.finish) {
      Finish(finish_status_);
      return;
    }
    if (actions.write) StartWrite(&current_);
    if (actions.read) StartRead(&incoming_);
  }

  PolicyServiceImpl* const service_;
  absl::Mutex mu_;
  EvaluateRequest incoming_;  // owned by the read path (one read at a time)
  EvaluateResponse current_;  // owned by the write path (one write at a time)
  std::deque<EvaluateResponse> outgoing_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_;
};

grpc::ServerBidiReactor<EvaluateRequest, EvaluateResponse>* PolicyServiceImpl::EvaluateStream(
    grpc::CallbackServerContext* /*context*/) {
  return new StreamReactor(this);
}

}  // namespace fedwall::service
