#include "service/policy_manager.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "service/log.h"

namespace fedwall::service {
namespace {

constexpr size_t kMaxWatchedDirectories = 1000;
constexpr int kMaxWatchDepth = 8;

std::string ShortVersion(const std::string& version) { return version.substr(0, 12); }

void LogDiagnostics(const std::string& dir, const std::vector<Diagnostic>& diagnostics) {
  for (const Diagnostic& d : diagnostics) {
    Diagnostic shown = d;
    if (!shown.path.empty()) shown.path = (std::filesystem::path(dir) / shown.path).string();
    if (d.severity == Diagnostic::Severity::kError) {
      LogError(shown.ToString());
    } else {
      LogWarning(shown.ToString());
    }
  }
}

// Editors' temporary files should not trigger reloads.
bool IsIgnoredName(std::string_view name) {
  return name.empty() || name.front() == '.' || name.back() == '~' || name.ends_with(".swp") ||
         name.ends_with(".tmp");
}

}  // namespace

PolicyManager::PolicyManager(PolicyManagerOptions options, Stats* stats)
    : options_(std::move(options)), stats_(stats) {}

PolicyManager::~PolicyManager() { Stop(); }

absl::Time PolicyManager::loaded_at() const {
  absl::MutexLock lock(&mu_);
  return loaded_at_;
}

ReloadOutcome PolicyManager::LoadInitial(std::vector<blocklist::Entry> api_blocks) {
  {
    absl::MutexLock lock(&mu_);
    api_blocks_ = std::move(api_blocks);
  }
  return Compile("start");
}

ReloadOutcome PolicyManager::Compile(const std::string& reason) {
  std::vector<blocklist::Entry> blocks;
  {
    absl::MutexLock lock(&mu_);
    blocks = api_blocks_;
  }
  CompileOptions compile_options = options_.compile;
  compile_options.api_blocks = blocks;
  Compiler compiler(compile_options);
  CompileResult result = compiler.Compile(options_.policy_dir);

  ReloadOutcome outcome;
  outcome.ok = result.policy != nullptr;
  outcome.diagnostics = std::move(result.diagnostics);
  outcome.compile_seconds = result.compile_seconds;
  LogDiagnostics(options_.policy_dir, outcome.diagnostics);
  if (outcome.ok) {
    absl::MutexLock lock(&mu_);
    compiled_ = result.policy;
    loaded_at_ = absl::Now();
    // Blocks changed while compiling: apply the newest ones to the new rules.
    auto same = [](const blocklist::Entry& a, const blocklist::Entry& b) {
      return a.domain == b.domain && a.digest == b.digest && a.written == b.written &&
             a.severity == b.severity && a.reject_media == b.reject_media &&
             a.reject_reports == b.reject_reports && a.public_comment == b.public_comment &&
             a.private_comment == b.private_comment && a.path == b.path && a.line == b.line;
    };
    std::shared_ptr<const Policy> serving =
        std::equal(api_blocks_.begin(), api_blocks_.end(), blocks.begin(), blocks.end(), same)
            ? result.policy
            : result.policy->WithApiBlocks(api_blocks_);
    current_.store(serving);
    outcome.version = serving->version();
    LogInfo(absl::StrCat("policy ", ShortVersion(outcome.version), " loaded (", reason, "): ",
                         serving->rule_count(), " rules, ", serving->pattern_count(),
                         " patterns, ", serving->domain_count(), " domains, compiled in ",
                         absl::StrFormat("%.2f", outcome.compile_seconds), " s"));
  } else {
    std::shared_ptr<const Policy> serving = current_.load();
    if (serving) outcome.version = serving->version();
    size_t errors = 0;
    for (const Diagnostic& d : outcome.diagnostics) errors += d.severity == Diagnostic::Severity::kError;
    LogError(absl::StrCat("policy reload (", reason, ") failed with ", errors, " error(s)",
                          serving ? absl::StrCat("; still serving ", ShortVersion(outcome.version))
                                  : std::string()));
  }
  if (reason != "start" && stats_ != nullptr) stats_->RecordReload(outcome.ok);
  return outcome;
}

void PolicyManager::SetApiBlocks(std::vector<blocklist::Entry> blocks) {
  absl::MutexLock lock(&mu_);
  api_blocks_ = std::move(blocks);
  if (compiled_ == nullptr) return;
  std::shared_ptr<const Policy> serving = compiled_->WithApiBlocks(api_blocks_);
  current_.store(serving);
  LogInfo(absl::StrCat("domain blocks changed: ", api_blocks_.size(), " API blocks; policy ",
                       ShortVersion(serving->version())));
}

void PolicyManager::Start() {
  reload_thread_ = std::thread([this] { ReloadLoop(); });
  if (options_.watch) {
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) {
      LogWarning("cannot watch the policy directory (eventfd failed); reload with SIGHUP");
      return;
    }
    watch_thread_ = std::thread([this] { WatchLoop(); });
  }
}

void PolicyManager::Stop() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  if (stop_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
  }
  if (watch_thread_.joinable()) watch_thread_.join();
  if (reload_thread_.joinable()) reload_thread_.join();
  if (stop_fd_ >= 0) {
    ::close(stop_fd_);
    stop_fd_ = -1;
  }
  std::vector<Callback> left;
  {
    absl::MutexLock lock(&queue_mu_);
    left.swap(pending_callbacks_);
  }
  ReloadOutcome stopped;
  stopped.diagnostics.push_back({"", 0, 0, Diagnostic::Severity::kError, "the service is stopping"});
  for (Callback& c : left) c(stopped);
}

void PolicyManager::RequestReload(std::string reason, Callback done) {
  {
    absl::MutexLock lock(&queue_mu_);
    if (!stopping_) {
      if (std::find(pending_reasons_.begin(), pending_reasons_.end(), reason) ==
          pending_reasons_.end()) {
        pending_reasons_.push_back(std::move(reason));
      }
      if (done) pending_callbacks_.push_back(std::move(done));
      return;
    }
  }
  if (done) {  // called without the lock: `done` may call back into the manager
    ReloadOutcome stopped;
    stopped.diagnostics.push_back({"", 0, 0, Diagnostic::Severity::kError, "the service is stopping"});
    done(stopped);
  }
}

void PolicyManager::ReloadLoop() {
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
    return stopping_ || !pending_reasons_.empty();
  };
  while (true) {
    std::vector<std::string> reasons;
    std::vector<Callback> callbacks;
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      reasons.swap(pending_reasons_);
      callbacks.swap(pending_callbacks_);
    }
    // Requests that arrived together share one compile.
    ReloadOutcome outcome = Compile(absl::StrJoin(reasons, ", "));
    for (Callback& c : callbacks) c(outcome);
  }
}

void PolicyManager::WatchLoop() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    LogWarning("cannot watch the policy directory (inotify unavailable); reload with SIGHUP");
    return;
  }
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                             IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;
  size_t watched = 0;
  auto add_tree = [&](const std::filesystem::path& root) {
    std::error_code ec;
    if (::inotify_add_watch(fd, root.c_str(), kMask) >= 0) ++watched;
    std::filesystem::recursive_directory_iterator it(
        root, std::filesystem::directory_options::skip_permission_denied, ec);
    for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it.depth() >= kMaxWatchDepth) it.disable_recursion_pending();
      std::error_code entry_ec;  // a broken symlink or a vanished entry: skip just that one
      if (!it->is_directory(entry_ec)) continue;
      if (watched >= kMaxWatchedDirectories) {
        LogWarning(absl::StrCat("watching only the first ", kMaxWatchedDirectories,
                                " directories of the policy"));
        return;
      }
      if (::inotify_add_watch(fd, it->path().c_str(), kMask) >= 0) ++watched;
    }
  };
  add_tree(options_.policy_dir);

  alignas(inotify_event) char buffer[16 * 1024];
  std::optional<absl::Time> due;
  std::optional<absl::Time> first_change;  // files that never stop changing still reload
  while (true) {
    int timeout = -1;
    if (due) {
      timeout = static_cast<int>(std::max<int64_t>(
          0, absl::ToInt64Milliseconds(absl::Ceil(*due - absl::Now(), absl::Milliseconds(1)))));
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) break;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      bool relevant = false;
      bool rescan = false;
      while (true) {
        ssize_t len = ::read(fd, buffer, sizeof buffer);
        if (len <= 0) break;
        for (char* p = buffer; p < buffer + len;) {
          auto* event = reinterpret_cast<inotify_event*>(p);
          std::string_view name = event->len > 0 ? std::string_view(event->name) : "";
          if ((event->mask & IN_ISDIR) && (event->mask & (IN_CREATE | IN_MOVED_TO))) {
            // A new subdirectory (lists/, blocklists/): watch it at once, so files written
            // into it push the reload back too.
            relevant = true;
            rescan = true;
          }
          if (event->mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED)) {
            // The directory (or one below it) was moved or replaced: watch the tree anew.
            relevant = true;
            rescan = true;
          }
          if (!IsIgnoredName(name) || event->len == 0) relevant = true;
          if (event->mask & IN_Q_OVERFLOW) relevant = true;
          p += sizeof(inotify_event) + event->len;
        }
      }
      if (rescan) {
        // Adding an existing watch again is harmless (inotify returns the same descriptor).
        watched = 0;
        add_tree(options_.policy_dir);
      }
      if (relevant) {
        absl::Time now = absl::Now();
        if (!first_change) first_change = now;
        due = std::min(now + options_.debounce, *first_change + 10 * options_.debounce);
      }
    }
    if (due && absl::Now() >= *due) {
      due.reset();
      first_change.reset();
      watched = 0;
      add_tree(options_.policy_dir);
      RequestReload("files changed");
    }
  }
  ::close(fd);
}

}  // namespace fedwall::service
