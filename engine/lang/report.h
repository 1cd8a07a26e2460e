// Reporter: where the front end's passes (lexer, parser, checker) put their diagnostics.
//
// Internal to engine/lang. It turns SourceLocations into `path:line:col`, keeps at most
// FrontEndOptions::max_diagnostics diagnostics (further ones are only counted and summarised
// in one last diagnostic, so a file of garbage cannot grow memory without bound), and returns
// them sorted in file order (policy file order, then line, then column; diagnostics about a
// data file, such as a list file, sort with the statement that named it).
//
// Not thread-safe; one per LoadPolicyFiles call.
//
// Example:
//   Reporter reporter(ast.files, options.max_diagnostics);
//   reporter.Error(location, "unknown field 'x'");
//   std::vector<Diagnostic> out = std::move(reporter).Finish();
#ifndef FEDWALL_ENGINE_LANG_REPORT_H_
#define FEDWALL_ENGINE_LANG_REPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/diagnostic.h"
#include "engine/lang/ast.h"

namespace fedwall::lang {

class Reporter {
 public:
  // `files` must outlive the reporter (paths are looked up when reporting).
  Reporter(const std::vector<SourceFile>& files, size_t max_diagnostics)
      : files_(files), max_(max_diagnostics) {}

  void Error(const SourceLocation& at, std::string message) {
    Add(Diagnostic::Severity::kError, at, std::move(message));
  }
  void Warning(const SourceLocation& at, std::string message) {
    Add(Diagnostic::Severity::kWarning, at, std::move(message));
  }

  // A diagnostic about another file (a list file, a blocklist), sorted with `sort_at`.
  void AddForFile(Diagnostic::Severity severity, const std::string& path, uint32_t line,
                  uint32_t column, std::string message, const SourceLocation& sort_at) {
    Push({path, line, column, severity, std::move(message)}, sort_at);
  }

  // A diagnostic about the policy as a whole: path "." (the policy directory), sorted first.
  void Global(Diagnostic::Severity severity, std::string message) {
    Push({kPolicyPath, 0, 0, severity, std::move(message)}, SourceLocation{0, 0, 0});
  }

  // The path used for diagnostics about the whole policy.
  static const std::string kPolicyPath;

  bool has_errors() const { return errors_ > 0; }
  // True once max_diagnostics are stored: further ones are only counted, so callers may skip
  // costly extras such as did-you-mean suggestions.
  bool full() const { return entries_.size() >= max_; }
  size_t error_count() const { return errors_; }

  // The diagnostics in file order, plus the summary of those left out.
  std::vector<Diagnostic> Finish() &&;

 private:
  struct Entry {
    Diagnostic diagnostic;
    SourceLocation sort_at;
    size_t sequence;
  };

  void Add(Diagnostic::Severity severity, const SourceLocation& at, std::string message) {
    const std::string& path = at.file < files_.size() ? files_[at.file].path : kPolicyPath;
    Push({path, at.line, at.column, severity, std::move(message)}, at);
  }
  void Push(Diagnostic d, const SourceLocation& sort_at);

  const std::vector<SourceFile>& files_;
  size_t max_;
  size_t errors_ = 0;
  size_t sequence_ = 0;
  size_t dropped_ = 0;
  bool dropped_error_ = false;
  std::vector<Entry> entries_;
};

}  // namespace fedwall::lang

#endif  // FEDWALL_ENGINE_LANG_REPORT_H_
