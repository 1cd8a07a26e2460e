// Checker: resolves names and paths in a parsed PolicyAst and type-checks every expression.
//
// Passes, in order (each reports every problem it finds, never just the first):
//   1. Names: lists, macros and rules share one namespace; a duplicate is an error naming the
//      first definition; a name may not be a field root (text, type, actor, ...).
//   2. Files: `list NAME from "f"`, `blocklist "f"`, `allowlist "f"` and `activity "f"` paths
//      are resolved relative to the rule file (ResolvePolicyPath) and must stay inside the
//      policy directory. List files and blocklists are read through `read_file` and recorded
//      in PolicyAst::data_files (once per path, in the order read); list files are parsed
//      (ParseListFile); blocklist format and severity names are validated. Test activities are
//      resolved, and read once only to warn early when one is missing (the test runner reads
//      them; they are not data files and do not count towards max_total_bytes).
//   3. Expressions (macro bodies and rule conditions): every field exists in the registry,
//      every operator fits the field's type and its operand's kind (the contract's operator
//      table), list and macro names resolve, domain literals are valid domains
//      (text::NormalizeDomain), regexes compile with RE2 (UTF-8, case-insensitive for /i/,
//      FrontEndOptions::max_regex_memory), patterns are not empty and not longer than
//      max_pattern_bytes. On success: Compare::field_def set, kListRef operands hold the
//      list's items, MacroRef::macro set. Literals are kept as written (the compiler folds).
//   4. Macros: no recursion (direct or through other macros); nesting depth with macros
//      expanded within max_nesting_depth.
//   5. Warnings: unused lists and macros (not reachable from any rule), duplicate list items,
//      duplicate patterns within one rule, rules whose condition can never be true
//      (constant false, `x and not x`, conflicting equalities, empty number ranges), test
//      activities that cannot be read.
//   6. Thresholds (at most one of each kind, positive, flag <= reject) and tests (rule ids in
//      `expect ... by` and `expect not` exist, `with` facts are request facts of the right
//      type, at least one activity).
//
// Not thread-safe; one call per policy. The AST's vectors must not change size afterwards
// (MacroRef::macro points into PolicyAst::macros).
//
// Example:
//   Reporter reporter(ast.files, options.max_diagnostics);
//   size_t bytes = 0;
//   CheckPolicy(ast, read_file, options, reporter, bytes);
#ifndef FEDWALL_ENGINE_LANG_CHECKER_H_
#define FEDWALL_ENGINE_LANG_CHECKER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/lang/ast.h"
#include "engine/lang/front_end.h"
#include "engine/lang/report.h"

namespace fedwall::lang {

using ReadFileFn = std::function<absl::StatusOr<std::string>(const std::string& path)>;

// `path` as written in the rule file `from_file` (both '/'-separated; from_file relative to
// the policy directory) -> the path relative to the policy directory, with "." and ".."
// resolved. InvalidArgument for an empty or absolute path, a NUL byte, a path that leaves the
// policy directory, or one that names the directory itself.
absl::StatusOr<std::string> ResolvePolicyPath(std::string_view from_file, std::string_view path);

// One entry of a list file.
struct ListFileEntry {
  std::string value;
  uint32_t line = 0;
};

// Diagnostics of ParseListFile, with the 1-based line they concern.
struct ListFileProblem {
  uint32_t line = 0;
  bool error = true;
  std::string message;
};

// A list file: one entry per line, trimmed of spaces and tabs; blank lines ignored; a CR
// before the LF and a UTF-8 byte order mark ignored. A comment starts at any '#' followed by
// white space or the line's end (the contract's rule): `#nsfw` is an entry, `# note` is a
// comment, `bitcoin # the coin` is `bitcoin`, and `c# tutorial` is `c`. Errors: invalid UTF-8 or a NUL byte on a line (skipped), an entry longer than
// `max_entry_bytes` (skipped), more than `max_entries` entries (the rest is ignored).
// Warnings: an entry given twice (the first is kept).
std::vector<ListFileEntry> ParseListFile(std::string_view bytes, size_t max_entries,
                                         size_t max_entry_bytes,
                                         std::vector<ListFileProblem>* problems);

// Runs every pass over `ast`. `bytes_read` counts the bytes of everything read so far
// (against FrontEndOptions::max_total_bytes) and is updated with the data files read.
void CheckPolicy(PolicyAst& ast, const ReadFileFn& read_file, const FrontEndOptions& options,
                 Reporter& reporter, size_t& bytes_read);

}  // namespace fedwall::lang

#endif  // FEDWALL_ENGINE_LANG_CHECKER_H_
