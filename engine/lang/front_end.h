// The rule language's front end: files -> tokens -> statements -> resolved, type-checked AST.
//
// Passes (as in Falco's loader): read the policy directory (every `*.rules` file, recursively,
// in byte-wise order of relative paths; names starting with '.' and symlinks leaving the
// directory skipped) -> lex and parse each file (grammar in parser.h) -> resolve names (lists,
// macros and rules share one namespace, usable before their definition; list files and
// blocklist paths resolved relative to the file that names them) -> type-check every
// expression against the field registry -> warnings (unused list or macro, a rule that can
// never fire, a duplicate list item).
//
// Every problem is reported, not just the first, as a Diagnostic with path:line:col; errors
// and warnings are kept apart. A policy with any error must not be compiled.
//
// Limits (FrontEndOptions) bound everything read from the files: file count and size, rule
// count, pattern length, list size, expression nesting depth. Past a limit: an error naming it.
//
// Thread safety: the functions are reentrant; nothing is shared.
//
// Example:
//   fedwall::lang::FrontEndResult r = fedwall::lang::LoadPolicyDirectory("rules/", {});
//   for (const auto& d : r.diagnostics) std::cerr << d.ToString() << "\n";
//   if (HasErrors(r.diagnostics)) return 1;
//   use(r.ast.rules.size());
#ifndef FEDWALL_ENGINE_LANG_FRONT_END_H_
#define FEDWALL_ENGINE_LANG_FRONT_END_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/common/diagnostic.h"
#include "engine/lang/ast.h"

namespace fedwall::lang {

// Limits on everything read from a policy (docs/rules.md, "Limits"). Past each one, the front
// end reports an error naming the option, never a crash, a hang or unbounded memory.
struct FrontEndOptions {
  size_t max_files = 10'000;                 // *.rules files in a policy
  size_t max_file_bytes = 16 << 20;          // one rule file or list file
  size_t max_blocklist_bytes = 64 << 20;     // one blocklist or allowlist file
  size_t max_total_bytes = 256 << 20;        // everything read (rule, list, blocklist files)
  size_t max_rules = 100'000;                // rules in a policy
  size_t max_list_items = 1'000'000;         // items in one list (inline or file)
  size_t max_total_list_items = 10'000'000;  // list items over every use of a list (a list
                                             // used by two comparisons counts twice)
  size_t max_pattern_bytes = 4096;           // one string literal, list item or regex
  size_t max_nesting_depth = 64;             // parentheses / not / macro expansion depth
                                             // (values above 1000 are taken as 1000)
  size_t max_diagnostics = 1000;             // further ones are summarised in one last one
  size_t max_regex_memory = 8 << 20;         // RE2 max_mem when validating one regex
};

struct FrontEndResult {
  PolicyAst ast;
  std::vector<Diagnostic> diagnostics;  // paths relative to the policy directory
};

// Loads and checks a whole policy directory.
FrontEndResult LoadPolicyDirectory(const std::string& directory, const FrontEndOptions& options);

// Parses and checks policy text given in memory: `files` are (relative path, contents) in load
// order; `read_file(relative_path)` supplies list files and blocklists (returning an error
// status when missing). Used by LoadPolicyDirectory and by tests.
FrontEndResult LoadPolicyFiles(
    std::vector<SourceFile> files,
    const std::function<absl::StatusOr<std::string>(const std::string& path)>& read_file,
    const FrontEndOptions& options);

}  // namespace fedwall::lang

#endif  // FEDWALL_ENGINE_LANG_FRONT_END_H_
