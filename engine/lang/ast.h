// The rule language's syntax tree, as the parser builds it and the checker annotates it.
//
// A policy is a directory of `*.rules` files (docs/rules.md). The front end (front_end.h)
// reads them in byte-wise order of their relative paths, parses each into statements, then
// resolves names (lists, macros, rules share one namespace and may be used before their
// definition) and type-checks every expression against the field registry
// (engine/fields/field_registry.h). The result, a PolicyAst, is what the compiler consumes.
//
// Ownership: a PolicyAst owns everything; expressions are trees of std::unique_ptr. After a
// successful check, every Compare has `field_def` set and its right-hand side resolved (list
// references replaced by their items, regexes validated), every MacroRef has `macro` set, and
// no macro is recursive. The AST is not modified after the front end returns.
//
// Thread safety: plain data; share read-only.
//
// Example (what the front end returns for `rule r { when mentions.count >= 5 then flag }`):
//   ast.rules[0].id == "r"; ast.rules[0].action == Action::kFlag;
//   const Expr& e = *ast.rules[0].when;     // e.kind == Expr::Kind::kCompare
//   e.field == "mentions.count"; e.op == CmpOp::kGe; e.rhs.number == 5;
#ifndef FEDWALL_ENGINE_LANG_AST_H_
#define FEDWALL_ENGINE_LANG_AST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/fields/field_registry.h"

namespace fedwall::lang {

// Where something was written. `file` indexes PolicyAst::files.
struct SourceLocation {
  uint32_t file = 0;
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in bytes
};

// Comparison and matching operators. They do not chain.
enum class CmpOp {
  kEq,           // ==
  kNe,           // !=
  kLt,           // <
  kLe,           // <=
  kGt,           // >
  kGe,           // >=
  kContains,     // contains "x"        (text: folded substring; keyword: substring)
  kHas,          // has "x"             (text: whole word or phrase on the folded text)
  kStartsWith,   // startswith "x"
  kEndsWith,     // endswith "x"
  kContainsAny,  // contains_any LIST
  kHasAny,       // has_any LIST
  kIn,           // in LIST             (domain: the domain or a parent is listed)
  kMatch,        // ~ /re/
  kNotMatch,     // !~ /re/
};

// "==", "contains", "~", ...
const char* CmpOpName(CmpOp op);

// The right-hand side of a comparison.
struct Operand {
  enum class Kind { kString, kNumber, kDuration, kBool, kList, kListRef, kRegex };
  Kind kind = Kind::kString;
  SourceLocation location;
  std::string string;              // kString; kRegex: the pattern source between the slashes
  bool ignore_case = false;        // kRegex with flag `i`
  double number = 0;               // kNumber (at most 3 fraction digits)
  absl::Duration duration;         // kDuration
  bool boolean = false;            // kBool
  std::vector<std::string> items;  // kList; kListRef after resolution: the list's items
  std::string list_name;           // kListRef: the name as written
  // kList: where each item was written (same order as `items`). Empty for kListRef.
  std::vector<SourceLocation> item_locations;
};

struct MacroDecl;

struct Expr {
  enum class Kind {
    kAnd,       // children: two or more operands, left to right
    kOr,        // children: two or more
    kNot,       // children: exactly one
    kCompare,   // field op rhs
    kBareBool,  // a bool field used as a condition: `sensitive`
    kKnown,     // known(field)
    kMacroRef,  // a macro's name used as a condition
    kConstant,  // `true` / `false` used as a condition
  };
  Kind kind = Kind::kConstant;
  SourceLocation location;
  std::vector<std::unique_ptr<Expr>> children;

  // kCompare, kBareBool, kKnown: the field as written ("mentions.count", "actor.rate").
  std::string field;
  // A counter's window (`actor.rate(10m)`); not yet supported by the checker.
  std::optional<absl::Duration> field_window;
  // Set by the checker: the registry entry of `field`.
  const FieldDef* field_def = nullptr;

  CmpOp op = CmpOp::kEq;  // kCompare
  Operand rhs;            // kCompare

  std::string macro_name;            // kMacroRef
  const MacroDecl* macro = nullptr;  // kMacroRef, set by the checker

  bool constant = false;  // kConstant

  // How deeply this node is nested as written: the number of enclosing parentheses and `not`s
  // (set by the parser). The checker adds macro expansion to it to enforce
  // FrontEndOptions::max_nesting_depth across macros.
  uint32_t nesting = 0;
};

using ExprPtr = std::unique_ptr<Expr>;

// `list NAME = [...]` or `list NAME from "file"`.
struct ListDecl {
  std::string name;
  SourceLocation location;
  std::vector<std::string> items;  // inline items, or the file's entries once loaded
  std::string from_path;           // as written; "" for an inline list
  bool used = false;               // set by the checker (unused lists are warned about)
  // `from` lists: the file relative to the policy directory, and its index in
  // PolicyAst::data_files (-1 when it could not be read). Set by the front end.
  std::string resolved_path;
  int data_file = -1;
  // The 1-based line and column of each item (same order as `items`): in the rule file for
  // an inline list, in `resolved_path` for a list file (column 1).
  std::vector<uint32_t> item_lines;
  std::vector<uint32_t> item_columns;
};

// `macro NAME = EXPR`.
struct MacroDecl {
  std::string name;
  SourceLocation location;
  ExprPtr body;
  bool used = false;
};

// `blocklist "file" [format F] [severity S]` and `allowlist "file" [format F]`.
struct BlocklistDecl {
  bool allowlist = false;
  std::string path;           // as written (relative to the rule file)
  std::string resolved_path;  // relative to the policy directory, set by the front end
  std::string format;         // "" = detect
  std::string severity;       // "" = default (suspend)
  SourceLocation location;
  // Index of the file's bytes in PolicyAst::data_files (-1 when it could not be read); the
  // compiler parses those bytes, so the policy version covers exactly what was compiled.
  int data_file = -1;
};

// `threshold flag N` / `threshold reject N`.
struct ThresholdDecl {
  bool reject = false;
  int64_t milli = 0;  // the score in thousandths
  SourceLocation location;
};

enum class Action { kNone, kAccept, kFlag, kReject };

// Effects as a bit set, in the API's enum order.
enum EffectBit : uint8_t {
  kStripMedia = 1 << 0,
  kMarkSensitive = 1 << 1,
  kUnlist = 1 << 2,
  kFollowersOnly = 1 << 3,
};

struct RuleDecl {
  std::string id;
  std::string title;  // the optional string after the id; "" when absent
  SourceLocation location;
  ExprPtr when;
  Action action = Action::kNone;
  uint8_t effects = 0;      // EffectBit set
  int64_t score_milli = 0;  // `score`, in thousandths; 0 when absent
  bool has_score = false;
  std::vector<std::string> tags;
  bool monitor = false;  // `mode monitor`
  std::string reason;    // `reason`, else the title, else the id
};

// `with FIELD = VALUE` in a test: a request fact (or `received_at`).
struct FactAssignment {
  std::string field;  // actor.age, actor.followers, origin.domain, received_at, ...
  Operand value;
  SourceLocation location;
};

struct Expectation {
  enum class Kind { kVerdict, kEffects, kNotFired };
  Kind kind = Kind::kVerdict;
  SourceLocation location;
  Action verdict = Action::kNone;  // kVerdict: kAccept, kFlag or kReject
  std::vector<std::string> rules;  // kVerdict: `by` rules that must fire; kNotFired: rules
  uint8_t effects = 0;             // kEffects
};

struct TestDecl {
  std::string name;
  SourceLocation location;
  std::vector<std::string> activities;             // paths as written
  std::vector<std::string> resolved_activities;    // relative to the policy directory
  std::vector<SourceLocation> activity_locations;  // where each `activity` was written
  std::vector<FactAssignment> facts;
  std::vector<Expectation> expectations;
};

// One file of the policy.
struct SourceFile {
  std::string path;   // relative to the policy directory, '/'-separated
  std::string bytes;  // the file's contents (for diagnostics and the policy version)
};

// Every statement of every file, each kind in policy order (file order, then file position).
struct PolicyAst {
  std::vector<SourceFile> files;
  std::vector<ListDecl> lists;
  std::vector<MacroDecl> macros;
  std::vector<BlocklistDecl> blocklists;  // blocklists and allowlists
  std::vector<ThresholdDecl> thresholds;
  std::vector<RuleDecl> rules;
  std::vector<TestDecl> tests;
  // Other files read (lists `from`, blocklists and allowlists; not test activities): path relative
  // to the policy directory and bytes, in the order read; part of the policy version.
  std::vector<SourceFile> data_files;
};

}  // namespace fedwall::lang

#endif  // FEDWALL_ENGINE_LANG_AST_H_
