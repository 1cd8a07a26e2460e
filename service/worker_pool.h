// WorkerPool: the threads that evaluate activities, one per core by default, each with its own
// evaluation state (the engine's Evaluator and ActivityParser hold per-thread scratch that
// must never be shared). gRPC reactions hand work to the pool and return at once, so no
// reaction ever runs an evaluation or waits on one.
//
// The queue is bounded: Post() refuses work past `max_queued` instead of growing without
// limit when callers send faster than the pool evaluates; the caller answers
// RESOURCE_EXHAUSTED.
//
// Example:
//   WorkerPool pool({.threads = 2, .evaluator = {}});
//   bool queued = pool.Post([](WorkerPool::Worker& w) { w.evaluator.Evaluate(...); });
//   pool.Stop();   // runs what is queued, then joins
//
// Thread-safe: Post may be called from any thread, also from inside a task.
#ifndef FEDWALL_SERVICE_WORKER_POOL_H_
#define FEDWALL_SERVICE_WORKER_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "engine/activity/activity.h"
#include "engine/policy/policy.h"

namespace fedwall::service {

class WorkerPool {
 public:
  // What one thread owns.
  struct Worker {
    explicit Worker(const EvaluatorOptions& options)
        : evaluator(options), parser(options.parse) {}
    Evaluator evaluator;
    std::vector<std::optional<double>> counter_values;  // DecideRequest's, reused
    ActivityParser parser;
    size_t index = 0;
  };
  using Task = std::function<void(Worker&)>;

  struct Options {
    size_t threads = 0;  // 0: std::thread::hardware_concurrency()
    size_t max_queued = 100'000;
    EvaluatorOptions evaluator;
  };

  explicit WorkerPool(Options options);
  ~WorkerPool();  // Stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a task; false when the queue is full or the pool is stopping (the task is dropped).
  bool Post(Task task);
  // Runs every queued task, then joins the threads. Idempotent.
  void Stop();

  size_t size() const { return threads_.size(); }

 private:
  void Run(size_t index);

  Options options_;
  absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_WORKER_POOL_H_
