#include "service/flag_writer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "service/log.h"

namespace fedwall::service {
namespace {

std::vector<absl::StatusOr<store::AddedFlag>> AllFailed(size_t n, const absl::Status& status) {
  return std::vector<absl::StatusOr<store::AddedFlag>>(n, status);
}

}  // namespace

FlagWriter::FlagWriter(store::ReviewStore* store, Options options)
    : store_(store), options_(options), thread_([this] { Run(); }) {}

FlagWriter::~FlagWriter() { Stop(); }

void FlagWriter::Submit(std::vector<store::NewFlag> flags, Callback done) {
  if (flags.empty()) {
    done({});
    return;
  }
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      refused = absl::UnavailableError("the service is stopping; the flag was not stored");
    } else if (pending_flags_ + flags.size() > options_.max_pending) {
      refused = absl::ResourceExhaustedError(absl::StrCat(
          "the review store is behind by ", pending_flags_, " flags; the flag was not stored"));
    } else {
      pending_flags_ += flags.size();
      queue_.push_back({std::move(flags), std::move(done)});
      return;
    }
  }
  done(AllFailed(flags.size(), refused));
}

void FlagWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void FlagWriter::Run() {
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
  while (true) {
    std::vector<Request> group;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping and drained
      // Take whole requests up to max_group flags (at least one request).
      size_t taken = 0, flags = 0;
      while (taken < queue_.size() &&
             (taken == 0 || flags + queue_[taken].flags.size() <= options_.max_group)) {
        flags += queue_[taken].flags.size();
        ++taken;
      }
      group.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(taken)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(taken));
      pending_flags_ -= flags;
    }
    std::vector<store::NewFlag> all;
    for (Request& r : group) {
      for (store::NewFlag& f : r.flags) all.push_back(std::move(f));
    }
    absl::StatusOr<std::vector<store::AddedFlag>> added = store_->AddFlags(all);
    if (!added.ok()) {
      LogError(absl::StrCat("storing ", all.size(), " flag(s) failed: ", added.status().ToString()));
    }
    size_t at = 0;
    for (Request& r : group) {
      std::vector<absl::StatusOr<store::AddedFlag>> results;
      results.reserve(r.flags.size());
      for (size_t i = 0; i < r.flags.size(); ++i, ++at) {
        if (added.ok()) {
          results.push_back((*added)[at]);
        } else {
          results.push_back(absl::UnavailableError(
              absl::StrCat("the review store failed: ", added.status().message())));
        }
      }
      r.done(std::move(results));
    }
  }
}

}  // namespace fedwall::service
