// Diagnostic: one problem found in a user-supplied file (rule file, blocklist, list).
//
// Loaders never stop at the first problem: they collect every diagnostic, each with the
// file, line and column, and keep errors and warnings apart (see Falco's loader). The
// textual form is the one `fedwall check` prints and editors understand:
//
//   path:line:col: error: message
//
// Example:
//   std::vector<Diagnostic> diags;
//   diags.push_back({"lists/crypto.txt", 3, 1, Severity::kWarning, "duplicate entry"});
//   for (const auto& d : diags) std::cerr << d.ToString() << "\n";
//   bool ok = !HasErrors(diags);
//
// Plain value type; no synchronisation needed.
#ifndef FEDWALL_ENGINE_COMMON_DIAGNOSTIC_H_
#define FEDWALL_ENGINE_COMMON_DIAGNOSTIC_H_

#include <cstdint>
#include <string>
#include <vector>

namespace fedwall {

struct Diagnostic {
  enum class Severity { kError, kWarning };

  std::string path;   // as the user named it (relative to the policy directory when loading one)
  uint32_t line = 0;  // 1-based; 0 when the problem concerns the whole file
  uint32_t column = 0;  // 1-based; 0 when unknown
  Severity severity = Severity::kError;
  std::string message;

  // "path:line:col: error: message" (line and column left out when 0).
  std::string ToString() const;
  // "error" or "warning", as in the API's Diagnostic.severity.
  const char* SeverityName() const;

  bool operator==(const Diagnostic&) const = default;
};

// True when any diagnostic is an error.
bool HasErrors(const std::vector<Diagnostic>& diagnostics);

}  // namespace fedwall

#endif  // FEDWALL_ENGINE_COMMON_DIAGNOSTIC_H_
