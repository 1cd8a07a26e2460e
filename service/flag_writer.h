// FlagWriter: stores FLAG decisions in the review store before their responses are sent,
// without making any gRPC reaction or evaluation thread wait on the disk.
//
// Evaluation threads Submit() the flags of one request (one activity, or every flag of a
// batch) with a callback; the writer's own thread takes everything submitted since its last
// commit and stores it with one ReviewStore::AddFlags call, i.e. one transaction and one
// fsync for many requests (group commit), then runs the callbacks, which send the responses.
// So a response that carries a flag_id always follows a durable commit, and the disk is
// touched once per group, not once per flag.
//
// The backlog is bounded (`max_pending` flags and `max_pending_bytes`): past it Submit fails at
// once with ResourceExhausted, and the caller answers with an error instead of queueing
// forever. A flag past the store's limits (ReviewStoreLimits) fails alone with
// InvalidArgument; if a group's commit fails, its requests are committed one by one, so one
// request never fails another's flags.
//
// Example:
//   FlagWriter writer(store.get(), {});
//   writer.Submit({flag}, [reactor](std::vector<absl::StatusOr<store::AddedFlag>> r) {...});
//   writer.Stop();   // commits what is queued, then joins
//
// Thread-safe.
#ifndef FEDWALL_SERVICE_FLAG_WRITER_H_
#define FEDWALL_SERVICE_FLAG_WRITER_H_

#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/store/review_store.h"

namespace fedwall::service {

class FlagWriter {
 public:
  // One result per submitted flag, in order.
  using Callback = std::function<void(std::vector<absl::StatusOr<store::AddedFlag>>)>;

  struct Options {
    size_t max_pending = 50'000;                   // flags waiting for a commit
    size_t max_pending_bytes = size_t{512} << 20;  // their bytes (activities are copied)
    size_t max_group = 1'000;                      // flags in one transaction
    size_t max_group_bytes = size_t{64} << 20;     // bytes in one transaction
  };

  FlagWriter(store::ReviewStore* store, Options options);
  ~FlagWriter();  // Stop()
  FlagWriter(const FlagWriter&) = delete;
  FlagWriter& operator=(const FlagWriter&) = delete;

  // Queues flags; `done` runs on the writer thread after the commit (or at once, on this
  // thread, with ResourceExhausted / Unavailable results when the backlog is full or the
  // writer is stopping).
  void Submit(std::vector<store::NewFlag> flags, Callback done);
  // Commits everything queued, then joins the thread. Idempotent.
  void Stop();

 private:
  struct Request {
    std::vector<store::NewFlag> flags;
    Callback done;
    size_t bytes = 0;
  };
  void Run();
  void Commit(std::vector<Request>& group);

  store::ReviewStore* const store_;
  const Options options_;
  absl::Mutex mu_;
  std::vector<Request> queue_ ABSL_GUARDED_BY(mu_);
  size_t pending_flags_ ABSL_GUARDED_BY(mu_) = 0;
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_FLAG_WRITER_H_
