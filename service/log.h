// Log: fedwalld's log lines on standard error, one line each, safe from any thread.
//
//   2026-11-26T10:50:00.123Z info: policy 3f2a… loaded (17 rules, 0.21 s)
//
// A service log, not a library facility: the engine reports through return values
// (Diagnostic, Status) and the service decides what to log. Lines are written whole with one
// write(2), so concurrent lines never interleave.
//
// Example:
//   fedwall::service::LogInfo(absl::StrCat("listening on ", address));
#ifndef FEDWALL_SERVICE_LOG_H_
#define FEDWALL_SERVICE_LOG_H_

#include <string_view>

namespace fedwall::service {

void LogInfo(std::string_view message);
void LogWarning(std::string_view message);
void LogError(std::string_view message);

}  // namespace fedwall::service

#endif  // FEDWALL_SERVICE_LOG_H_
