#include "service/http/sessions.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fedwall::service::http {

SessionStore::SessionStore(SessionOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::string> SessionStore::Create() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return absl::InternalError("the random generator failed; no session created");
  }
  std::string id =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
  absl::Time now = options_.now();
  absl::MutexLock lock(&mu_);
  DropExpiredLocked(now);
  while (expiry_.size() >= options_.max_sessions && !order_.empty()) {
    expiry_.erase(order_.front().first);
    order_.pop_front();
  }
  if (order_.size() > 2 * options_.max_sessions + 16) {
    // Entries of removed sessions pile up behind a long-lived one: compact.
    std::deque<std::pair<std::string, absl::Time>> live;
    for (auto& entry : order_) {
      auto it = expiry_.find(entry.first);
      if (it != expiry_.end() && it->second == entry.second) live.push_back(std::move(entry));
    }
    order_ = std::move(live);
  }
  if (options_.max_sessions == 0) return id;  // nothing is kept: the id never validates
  expiry_[id] = now + options_.ttl;
  order_.emplace_back(id, now + options_.ttl);
  return id;
}

bool SessionStore::Valid(std::string_view id) {
  if (id.size() != 64) return false;
  absl::Time now = options_.now();
  absl::MutexLock lock(&mu_);
  auto it = expiry_.find(std::string(id));
  if (it == expiry_.end()) return false;
  if (it->second <= now) {
    expiry_.erase(it);  // its order_ entry goes when it reaches the front
    return false;
  }
  return true;
}

void SessionStore::Remove(std::string_view id) {
  absl::MutexLock lock(&mu_);
  expiry_.erase(std::string(id));
}

size_t SessionStore::size() const {
  absl::MutexLock lock(&mu_);
  return expiry_.size();
}

void SessionStore::DropExpiredLocked(absl::Time now) {
  // order_ is in creation order, and every session has the same ttl: expired ones are first.
  // Entries of removed sessions are dropped too when they reach the front.
  while (!order_.empty()) {
    auto& [id, expires] = order_.front();
    auto it = expiry_.find(id);
    bool removed = it == expiry_.end() || it->second != expires;
    if (!removed && expires > now) break;
    if (!removed) expiry_.erase(it);
    order_.pop_front();
  }
}

std::string_view CookieValue(std::string_view cookie_header, std::string_view name) {
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(cookie_header.data(), cookie_header.size()), ';')) {
    part = absl::StripAsciiWhitespace(part);
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view key = absl::StripAsciiWhitespace(part.substr(0, eq));
    if (std::string_view(key.data(), key.size()) != name) continue;
    absl::string_view value = absl::StripAsciiWhitespace(part.substr(eq + 1));
    return std::string_view(value.data(), value.size());
  }
  return {};
}

}  // namespace fedwall::service::http
