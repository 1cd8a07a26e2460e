// PolicyManager: the live policy of fedwalld and its lifecycle.
//
//   start ──LoadInitial──► compiled rules + API blocks ──► Current() (what requests use)
//   SIGHUP, ReloadPolicy, a changed file ──RequestReload──► compile on the reload thread
//        ok: swap atomically (requests in flight finish on the old policy)
//        errors: keep serving the old policy; the diagnostics go to the caller and the log
//   an API block added or removed ──SetApiBlocks──► the same compiled rules with a new domain
//        table (Policy::WithApiBlocks: milliseconds, no recompile, works even while the rule
//        files do not compile)
//
// Compiling never happens on a request path: RequestReload queues the work for the manager's
// own thread and calls back when it is done; concurrent requests are folded into one compile.
// With `watch`, an inotify watch on the policy directory (and its subdirectories) requests a
// reload once files have been quiet for `debounce`.
//
// Example:
//   PolicyManager manager(options, &stats);
//   ReloadOutcome first = manager.LoadInitial(api_blocks);
//   if (!first.ok) { for (auto& d : first.diagnostics) log(d.ToString()); return 1; }
//   manager.Start();
//   std::shared_ptr<const Policy> p = manager.Current();    // on any thread, never waits on a compile
//   manager.RequestReload("SIGHUP", [](const ReloadOutcome& r) { ... });
//
// Thread-safe, except LoadInitial and Start (call once, before serving) and Stop.
#ifndef FEDWALL_SERVICE_POLICY_MANAGER_H_
#define FEDWALL_SERVICE_POLICY_MANAGER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/blocklist/blocklist.h"
#include "engine/common/diagnostic.h"
#include "engine/policy/policy.h"
#include "service/stats.h"

namespace fedwall::service {

struct PolicyManagerOptions {
  std::string policy_dir;
  CompileOptions compile;  // its api_blocks are ignored: the manager sets them
  bool watch = true;
  absl::Duration debounce = absl::Milliseconds(300);
};

// What a compile gave.
struct ReloadOutcome {
  bool ok = false;
  std::string version;                  // the serving policy's version afterwards
  std::vector<Diagnostic> diagnostics;  // errors and warnings of this compile
  double compile_seconds = 0;
};

class PolicyManager {
 public:
  PolicyManager(PolicyManagerOptions options, Stats* stats);
  ~PolicyManager();  // Stop()
  PolicyManager(const PolicyManager&) = delete;
  PolicyManager& operator=(const PolicyManager&) = delete;

  // Compiles the policy directory with these API blocks. Call once, before Start().
  ReloadOutcome LoadInitial(std::vector<blocklist::Entry> api_blocks);
  // Starts the reload thread and, with `watch`, the file watcher.
  void Start();
  // Stops both threads; pending reload callbacks are called with ok = false.
  void Stop();

  // The serving policy (null before a successful LoadInitial).
  std::shared_ptr<const Policy> Current() const { return current_.load(); }
  // When the serving rules were compiled (not changed by SetApiBlocks).
  absl::Time loaded_at() const;

  // Queues a recompile of the directory; `done` (optional) runs on the reload thread.
  void RequestReload(std::string reason, std::function<void(const ReloadOutcome&)> done = nullptr);

  // Replaces the API-made blocks: the serving rules get a new domain table at once.
  void SetApiBlocks(std::vector<blocklist::Entry> blocks);

 private:
  using Callback = std::function<void(const ReloadOutcome&)>;
  ReloadOutcome Compile(const std::string& reason);
  void ReloadLoop();
  void WatchLoop();

  const PolicyManagerOptions options_;
  Stats* const stats_;
  std::atomic<std::shared_ptr<const Policy>> current_;

  // The compiled rules (without API blocks applied) and the blocks; swaps happen under mu_.
  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> compiled_ ABSL_GUARDED_BY(mu_);
  std::vector<blocklist::Entry> api_blocks_ ABSL_GUARDED_BY(mu_);
  absl::Time loaded_at_ ABSL_GUARDED_BY(mu_);

  // Reload requests.
  absl::Mutex queue_mu_;
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::vector<std::string> pending_reasons_ ABSL_GUARDED_BY(queue_mu_);
  std::vector<Callback> pending_callbacks_ ABSL_GUARDED_BY(queue_mu_);
  std::thread reload_thread_;

  int stop_fd_ = -1;  // eventfd that wakes the watcher to stop
  std::thread watch_thread_;
};

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_POLICY_MANAGER_H_
