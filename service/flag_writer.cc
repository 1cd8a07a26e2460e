#include "service/flag_writer.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "service/log.h"

namespace fedwall::service {
namespace {

using Limits = store::ReviewStoreLimits;

std::vector<absl::StatusOr<store::AddedFlag>> AllFailed(size_t n, const absl::Status& status) {
  return std::vector<absl::StatusOr<store::AddedFlag>>(n, status);
}

size_t FlagBytes(const store::NewFlag& f) {
  size_t n = f.activity_id.size() + f.activity_json.size() + f.actor.size() +
             f.actor_domain.size() + f.matches.size() + f.policy_version.size();
  for (const std::string& id : f.rule_ids) n += id.size();
  return n;
}

// The store refuses a whole AddFlags call for one flag past its limits: check each flag
// before it joins a group, so one odd activity never fails other callers' flags.
absl::Status CheckFlag(const store::NewFlag& f) {
  auto too_long = [](const std::string& s) { return s.size() > Limits::kMaxStringBytes; };
  if (f.activity_json.size() > Limits::kMaxActivityJsonBytes || f.matches.size() > Limits::kMaxMatchesBytes ||
      too_long(f.activity_id) || too_long(f.actor) || too_long(f.actor_domain) ||
      too_long(f.policy_version) || f.rule_ids.size() > Limits::kMaxRuleIds ||
      std::any_of(f.rule_ids.begin(), f.rule_ids.end(), too_long)) {
    return absl::InvalidArgumentError(
        "the flagged activity cannot be stored for review: its id, actor or size is past the "
        "review store's limits");
  }
  return absl::OkStatus();
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
  if (flags.size() > Limits::kMaxFlagsPerCall) {
    done(AllFailed(flags.size(), absl::InvalidArgumentError("too many flags in one request")));
    return;
  }
  // A flag the store would refuse fails alone; the others of the request are still stored.
  std::vector<absl::Status> invalid(flags.size());
  bool any_invalid = false;
  for (size_t i = 0; i < flags.size(); ++i) {
    invalid[i] = CheckFlag(flags[i]);
    any_invalid |= !invalid[i].ok();
  }
  if (any_invalid) {
    std::vector<store::NewFlag> valid;
    std::vector<size_t> where;
    for (size_t i = 0; i < flags.size(); ++i) {
      if (!invalid[i].ok()) continue;
      valid.push_back(std::move(flags[i]));
      where.push_back(i);
    }
    size_t total = flags.size();
    Submit(std::move(valid), [total, invalid = std::move(invalid), where = std::move(where),
                              done = std::move(done)](
                                 std::vector<absl::StatusOr<store::AddedFlag>> stored) {
      std::vector<absl::StatusOr<store::AddedFlag>> results(total);
      for (size_t i = 0; i < total; ++i) {
        if (!invalid[i].ok()) results[i] = invalid[i];
      }
      for (size_t k = 0; k < where.size(); ++k) results[where[k]] = std::move(stored[k]);
      done(std::move(results));
    });
    return;
  }
  size_t bytes = 0;
  for (const store::NewFlag& f : flags) bytes += FlagBytes(f);
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      refused = absl::UnavailableError("the service is stopping; the flag was not stored");
    } else if (pending_flags_ + flags.size() > options_.max_pending ||
               pending_bytes_ + bytes > options_.max_pending_bytes) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat("the review store is behind by ", pending_flags_, " flags (",
                       pending_bytes_ >> 20, " MiB); the flag was not stored"));
    } else {
      pending_flags_ += flags.size();
      pending_bytes_ += bytes;
      queue_.push_back({std::move(flags), std::move(done), bytes});
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
      // Take whole requests up to max_group flags and max_group_bytes (at least one request).
      size_t taken = 0, flags = 0, bytes = 0;
      while (taken < queue_.size() &&
             (taken == 0 || (flags + queue_[taken].flags.size() <= options_.max_group &&
                             bytes + queue_[taken].bytes <= options_.max_group_bytes))) {
        flags += queue_[taken].flags.size();
        bytes += queue_[taken].bytes;
        ++taken;
      }
      group.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(taken)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(taken));
      pending_flags_ -= flags;
      pending_bytes_ -= bytes;
    }
    Commit(group);
  }
}

void FlagWriter::Commit(std::vector<Request>& group) {
  std::vector<store::NewFlag> all;
  for (Request& r : group) {
    for (store::NewFlag& f : r.flags) all.push_back(std::move(f));
  }
  absl::StatusOr<std::vector<store::AddedFlag>> added = store_->AddFlags(all);
  if (added.ok() && added->size() != all.size()) {
    added = absl::InternalError("the review store answered for a different number of flags");
  }
  if (!added.ok() && group.size() > 1) {
    // Whatever failed the group (the store's limits, a transient error): each request on its
    // own, so one request never fails the others.
    size_t at = 0;
    for (Request& r : group) {
      for (store::NewFlag& f : r.flags) f = std::move(all[at++]);
      std::vector<Request> one;
      one.push_back(std::move(r));
      Commit(one);
    }
    return;
  }
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
      } else if (added.status().code() == absl::StatusCode::kInvalidArgument) {
        results.push_back(added.status());
      } else {
        results.push_back(absl::UnavailableError(
            absl::StrCat("the review store failed: ", added.status().message())));
      }
    }
    r.done(std::move(results));
  }
}

}  // namespace fedwall::service
