// SessionStore: the review page's login sessions.
//
// A session id is 32 bytes from OpenSSL's CSPRNG, written as 64 hex digits, handed to the
// browser in an HttpOnly, SameSite=Strict cookie. The store keeps at most `max_sessions`
// (creating one more evicts the oldest) and each lives for `ttl` from its creation; expired
// ones are dropped when met and on every Create. Ids are never logged.
//
// Example:
//   SessionStore sessions({.max_sessions = 1000, .ttl = absl::Hours(12)});
//   absl::StatusOr<std::string> id = sessions.Create();    // after a good login
//   if (sessions.Valid(cookie_value)) ...                    // on every API call
//   sessions.Remove(cookie_value);                           // logout
//
// Thread-safe.
#ifndef FEDWALL_SERVICE_HTTP_SESSIONS_H_
#define FEDWALL_SERVICE_HTTP_SESSIONS_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fedwall::service::http {

struct SessionOptions {
  size_t max_sessions = 1000;
  absl::Duration ttl = absl::Hours(12);
  std::function<absl::Time()> now = [] { return absl::Now(); };  // tests replace the clock
};

class SessionStore {
 public:
  explicit SessionStore(SessionOptions options = {});

  // A new session id; Internal when the random generator fails.
  absl::StatusOr<std::string> Create();
  // True for an id made by Create that has not expired, been evicted or removed.
  bool Valid(std::string_view id);
  void Remove(std::string_view id);
  size_t size() const;

 private:
  void DropExpiredLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SessionOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::Time> expiry_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<std::string, absl::Time>> order_ ABSL_GUARDED_BY(mu_);  // oldest first
};

// The value of cookie `name` in a Cookie header ("a=1; fedwall_session=abc"), or "".
std::string_view CookieValue(std::string_view cookie_header, std::string_view name);

}  // namespace fedwall::service::http

#endif  // FEDWALL_SERVICE_HTTP_SESSIONS_H_
