// PolicyServiceImpl: the data plane (fedwall.v1.PolicyService, spec: docs/api.md), on gRPC's
// callback API.
//
// Every reaction only checks limits and hands the work to the WorkerPool; a worker parses and
// decides with its own engine state, and a FLAG (unless dry_run) goes through the FlagWriter,
// whose commit callback sends the response, so an acknowledged flag is durable. Nothing here
// blocks a gRPC thread.
//
//   Evaluate        malformed or oversized activity: INVALID_ARGUMENT; a flag that could not
//                   be stored: the store's code (UNAVAILABLE, RESOURCE_EXHAUSTED when its
//                   backlog is full, INVALID_ARGUMENT past its limits); nothing acknowledged
//   EvaluateBatch   at most max_batch_items requests (else INVALID_ARGUMENT for the call);
//                   responses in request order; a bad item gets an item `error`
//   EvaluateStream  one response per request, matched by request_id (they may come out of
//                   order); up to max_stream_in_flight requests of one stream are evaluated at
//                   once, then reading pauses (flow control, not buffering); a bad item gets
//                   an item error and the stream goes on
// An overloaded pool answers RESOURCE_EXHAUSTED (unary, batch) or an item error (stream).
//
// Thread-safe; owned by the Server, which outlives every call.
#ifndef FEDWALL_SERVICE_POLICY_SERVICE_H_
#define FEDWALL_SERVICE_POLICY_SERVICE_H_

#include <cstddef>
#include <optional>
#include <span>

// The generated callback service overrides one overload of each method and hides the
// synchronous one on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
#include "fedwall/v1/policy_service.grpc.pb.h"
#pragma GCC diagnostic pop
#include "service/flag_writer.h"
#include "service/policy_manager.h"
#include "service/stats.h"
#include "service/worker_pool.h"

namespace fedwall::service {

struct DataPlaneLimits {
  size_t max_activity_bytes = 1 << 20;
  size_t max_batch_items = 1024;
  size_t max_stream_in_flight = 256;
};

// The outcome of deciding one request on a worker.
struct ItemOutcome {
  fedwall::v1::EvaluateResponse response;  // with `error` set when it could not be evaluated
  std::optional<store::NewFlag> flag;      // a FLAG to store before answering
};

// Decides one request (runs on a worker thread); records stats. When the policy uses counters,
// `counters` answers them before the rules run and, unless the request is a dry run, records
// the activity (null: the counters are unknown). An ACCEPT that carries one of `flag_effects`
// becomes a FLAG (the inbox gateway's mapping of the effects it cannot apply).
ItemOutcome DecideRequest(WorkerPool::Worker& worker, const Policy& policy,
                          const fedwall::v1::EvaluateRequest& request,
                          const DataPlaneLimits& limits, Stats* stats,
                          counters::CounterStore* counters,
                          std::span<const fedwall::v1::Effect> flag_effects = {});

// Puts the result of storing an item's flag into its response: the flag id, or an item error.
void ApplyStoredFlag(const absl::StatusOr<store::AddedFlag>& stored,
                     fedwall::v1::EvaluateResponse* response);

class PolicyServiceImpl final : public fedwall::v1::PolicyService::CallbackService {
 public:
  PolicyServiceImpl(PolicyManager* policies, WorkerPool* pool, FlagWriter* flags, Stats* stats,
                    counters::CounterStore* counters, DataPlaneLimits limits);

  grpc::ServerUnaryReactor* Evaluate(grpc::CallbackServerContext* context,
                                     const fedwall::v1::EvaluateRequest* request,
                                     fedwall::v1::EvaluateResponse* response) override;
  grpc::ServerUnaryReactor* EvaluateBatch(grpc::CallbackServerContext* context,
                                          const fedwall::v1::EvaluateBatchRequest* request,
                                          fedwall::v1::EvaluateBatchResponse* response) override;
  grpc::ServerBidiReactor<fedwall::v1::EvaluateRequest, fedwall::v1::EvaluateResponse>*
  EvaluateStream(grpc::CallbackServerContext* context) override;

 private:
  class StreamReactor;

  PolicyManager* const policies_;
  WorkerPool* const pool_;
  FlagWriter* const flags_;
  Stats* const stats_;
  counters::CounterStore* const counters_;
  const DataPlaneLimits limits_;
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_POLICY_SERVICE_H_
