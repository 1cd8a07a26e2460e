// Helpers shared by the front end's tests (not part of the library).
//
//   FrontEndResult r = CheckPolicy("rule r { when sensitive then flag }");
//   EXPECT_THAT(Diags(r), ElementsAre("rules/main.rules:1:...: error: ..."));
#ifndef FEDWALL_ENGINE_LANG_LANG_TEST_UTIL_H_
#define FEDWALL_ENGINE_LANG_LANG_TEST_UTIL_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/common/diagnostic.h"
#include "engine/lang/front_end.h"

namespace fedwall::lang::testing {

inline constexpr char kMainPath[] = "rules/main.rules";

// Data files (list files, blocklists) by path relative to the policy directory.
using DataFiles = std::map<std::string, std::string>;

inline FrontEndResult CheckFiles(std::vector<SourceFile> files, DataFiles data = {},
                                 const FrontEndOptions& options = {}) {
  auto reader = [data = std::move(data)](const std::string& path) -> absl::StatusOr<std::string> {
    auto it = data.find(path);
    if (it == data.end()) return absl::NotFoundError("no such file");
    return it->second;
  };
  return LoadPolicyFiles(std::move(files), reader, options);
}

// One rule file, rules/main.rules.
inline FrontEndResult CheckSource(std::string source, DataFiles data = {},
                                  const FrontEndOptions& options = {}) {
  return CheckFiles({SourceFile{kMainPath, std::move(source)}}, std::move(data), options);
}

inline std::vector<std::string> Diags(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) out.push_back(d.ToString());
  return out;
}
inline std::vector<std::string> Diags(const FrontEndResult& r) { return Diags(r.diagnostics); }

inline std::vector<std::string> Errors(const FrontEndResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) {
    if (d.severity == Diagnostic::Severity::kError) out.push_back(d.ToString());
  }
  return out;
}

inline std::vector<std::string> Warnings(const FrontEndResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) {
    if (d.severity == Diagnostic::Severity::kWarning) out.push_back(d.ToString());
  }
  return out;
}

}  // namespace fedwall::lang::testing

#endif  // FEDWALL_ENGINE_LANG_LANG_TEST_UTIL_H_
