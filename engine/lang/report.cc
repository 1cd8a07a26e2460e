#include "engine/lang/report.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "engine/lang/strings.h"

namespace fedwall::lang {

const std::string Reporter::kPolicyPath = ".";

void Reporter::Push(Diagnostic d, const SourceLocation& sort_at) {
  bool error = d.severity == Diagnostic::Severity::kError;
  if (error) ++errors_;
  if (entries_.size() >= max_) {
    ++dropped_;
    dropped_error_ = dropped_error_ || error;
    return;
  }
  entries_.push_back({std::move(d), sort_at, sequence_++});
}

std::vector<Diagnostic> Reporter::Finish() && {
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.sort_at.file, a.sort_at.line, a.sort_at.column, a.sequence) <
           std::tie(b.sort_at.file, b.sort_at.line, b.sort_at.column, b.sequence);
  });
  std::vector<Diagnostic> out;
  out.reserve(entries_.size() + 1);
  for (Entry& e : entries_) out.push_back(std::move(e.diagnostic));
  if (dropped_ > 0) {
    Diagnostic summary;
    summary.path = kPolicyPath;
    summary.severity =
        dropped_error_ ? Diagnostic::Severity::kError : Diagnostic::Severity::kWarning;
    summary.message = Cat(dropped_, " more diagnostics not shown (max_diagnostics is ", max_, ")");
    out.push_back(std::move(summary));
  }
  return out;
}

}  // namespace fedwall::lang
