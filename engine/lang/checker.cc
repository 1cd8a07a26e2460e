#include "engine/lang/checker.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/blocklist/blocklist.h"
#include "engine/fields/field_registry.h"
#include "engine/lang/lexer.h"
#include "engine/lang/parser.h"
#include "engine/lang/strings.h"
#include "engine/text/domain.h"
#include "engine/text/normalize.h"

namespace fedwall::lang {
namespace {

using Severity = Diagnostic::Severity;

std::string Quote(std::string_view s, size_t max = 60) {
  if (s.size() <= max) return Cat("\"", std::string(s), "\"");
  // Cut on a UTF-8 boundary.
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return Cat("\"", std::string(s.substr(0, cut)), "...\"");
}

std::string FormatMilli(int64_t milli) {
  std::string sign = milli < 0 ? "-" : "";
  uint64_t m = milli < 0 ? static_cast<uint64_t>(-(milli + 1)) + 1 : static_cast<uint64_t>(milli);
  std::string out = Cat(sign, m / 1000);
  if (uint64_t f = m % 1000; f != 0) {
    std::string frac = Cat(f + 1000).substr(1);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    Append(&out, ".", frac);
  }
  return out;
}

// The closest of `candidates` to `word`, when it is a likely typo; "" otherwise.
template <typename Range>
std::string Closest(std::string_view word, const Range& candidates) {
  size_t cap = std::max<size_t>(1, std::min<size_t>(3, word.size() / 3));
  std::string best;
  size_t best_distance = cap + 1;
  for (const auto& c : candidates) {
    std::string_view cv(c);
    size_t d = EditDistance(word, cv, cap);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(cv);
    }
  }
  return best;
}

std::string DidYouMean(const std::string& suggestion) {
  return suggestion.empty() ? "" : Cat(" (did you mean '", suggestion, "'?)");
}

std::vector<std::string_view> AllFieldNames() {
  std::vector<std::string_view> names;
  for (const FieldDef& f : AllFields()) names.push_back(f.name);
  return names;
}

bool IsListType(FieldType t) { return t == FieldType::kKeywordList || t == FieldType::kDomainList; }
bool IsDomainType(FieldType t) { return t == FieldType::kDomain || t == FieldType::kDomainList; }
bool IsKeywordType(FieldType t) { return t == FieldType::kKeyword || t == FieldType::kKeywordList; }
bool IsStringType(FieldType t) {
  return t == FieldType::kText || IsKeywordType(t) || IsDomainType(t);
}

bool OpAllowed(FieldType type, CmpOp op) {
  switch (type) {
    case FieldType::kText:
      return op != CmpOp::kLt && op != CmpOp::kLe && op != CmpOp::kGt && op != CmpOp::kGe;
    case FieldType::kKeyword:
    case FieldType::kKeywordList:
      return op == CmpOp::kEq || op == CmpOp::kNe || op == CmpOp::kIn || op == CmpOp::kMatch ||
             op == CmpOp::kNotMatch || op == CmpOp::kStartsWith || op == CmpOp::kEndsWith ||
             op == CmpOp::kContains;
    case FieldType::kDomain:
    case FieldType::kDomainList:
      return op == CmpOp::kEq || op == CmpOp::kNe || op == CmpOp::kIn || op == CmpOp::kMatch ||
             op == CmpOp::kNotMatch;
    case FieldType::kNumber:
    case FieldType::kDuration:
      return op == CmpOp::kEq || op == CmpOp::kNe || op == CmpOp::kLt || op == CmpOp::kLe ||
             op == CmpOp::kGt || op == CmpOp::kGe;
    case FieldType::kBool:
      return op == CmpOp::kEq || op == CmpOp::kNe;
  }
  return false;
}

const char* OpsOf(FieldType type) {
  switch (type) {
    case FieldType::kText:
      return "== != contains has startswith endswith contains_any has_any in ~ !~";
    case FieldType::kKeyword:
    case FieldType::kKeywordList:
      return "== != in ~ !~ startswith endswith contains";
    case FieldType::kDomain:
    case FieldType::kDomainList:
      return "== != in ~ !~";
    case FieldType::kNumber:
    case FieldType::kDuration:
      return "== != < <= > >=";
    case FieldType::kBool:
      return "== != (or the field alone as a condition)";
  }
  return "";
}

const char* OperandPhrase(Operand::Kind k) {
  switch (k) {
    case Operand::Kind::kString:
      return "a string";
    case Operand::Kind::kNumber:
      return "a number";
    case Operand::Kind::kDuration:
      return "a duration";
    case Operand::Kind::kBool:
      return "true or false";
    case Operand::Kind::kList:
    case Operand::Kind::kListRef:
      return "a list";
    case Operand::Kind::kRegex:
      return "a regex";
  }
  return "a value";
}

bool IsListOperand(const Operand& o) {
  return o.kind == Operand::Kind::kList || o.kind == Operand::Kind::kListRef;
}

// Constructs no linear-time engine supports: backreferences and lookaround.
bool HasNonLinearConstruct(std::string_view re) {
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      if (i + 1 < re.size()) {
        char n = re[i + 1];
        if ((n >= '1' && n <= '9') || n == 'k' || n == 'g') return true;
      }
      ++i;
      continue;
    }
    if (c == '[') {  // a character class: everything literal until its ']'
      size_t j = i + 1;
      if (j < re.size() && re[j] == '^') ++j;
      if (j < re.size() && re[j] == ']') ++j;
      for (; j < re.size() && re[j] != ']'; ++j) {
        if (re[j] == '\\') ++j;
      }
      i = j;
      continue;
    }
    if (c == '(' && re.substr(i, 3) == "(?=") return true;
    if (c == '(' && re.substr(i, 3) == "(?!") return true;
    if (c == '(' && re.substr(i, 4) == "(?<=") return true;
    if (c == '(' && re.substr(i, 4) == "(?<!") return true;
  }
  return false;
}

// ------------------------------------------------------------ condition analysis

// What can be said about a condition without an activity (Kleene logic).
enum class Truth {
  kTrue,       // always true
  kFalse,      // always false
  kNeverTrue,  // false or unknown, never true
  kMaybe,
};

Truth Not(Truth t) {
  switch (t) {
    case Truth::kTrue:
      return Truth::kFalse;
    case Truth::kFalse:
      return Truth::kTrue;
    default:
      return Truth::kMaybe;
  }
}

enum class NameKind { kList, kMacro, kRule };

const char* NameKindName(NameKind k) {
  switch (k) {
    case NameKind::kList:
      return "list";
    case NameKind::kMacro:
      return "macro";
    case NameKind::kRule:
      return "rule";
  }
  return "name";
}

struct NameEntry {
  NameKind kind;
  size_t index;
  SourceLocation location;
};

struct MacroRefInfo {
  size_t target;
  uint32_t nesting;
};

struct FactSpec {
  std::string_view name;
  Operand::Kind kind;
};
constexpr std::array<FactSpec, 12> kFacts = {{
    {"actor.age", Operand::Kind::kDuration},
    {"actor.followers", Operand::Kind::kNumber},
    {"actor.following", Operand::Kind::kNumber},
    {"actor.posts", Operand::Kind::kNumber},
    {"actor.bot", Operand::Kind::kBool},
    {"actor.followed", Operand::Kind::kBool},
    {"actor.name", Operand::Kind::kString},
    {"actor.bio", Operand::Kind::kString},
    {"origin.domain", Operand::Kind::kString},
    {"origin.ip", Operand::Kind::kString},
    {"origin.signed", Operand::Kind::kBool},
    {"received_at", Operand::Kind::kString},
}};

constexpr uint32_t kDepthSaturation = 1u << 20;

class Checker {
 public:
  Checker(PolicyAst& ast, const ReadFileFn& read_file, const FrontEndOptions& options,
          Reporter& reporter, size_t& bytes_read)
      : ast_(ast),
        read_file_(read_file),
        options_(options),
        max_depth_(std::min(options.max_nesting_depth, kHardMaxNestingDepth)),
        reporter_(reporter),
        bytes_read_(bytes_read) {}

  void Run() {
    if (ast_.rules.size() > options_.max_rules) {
      reporter_.Error(ast_.rules[options_.max_rules].location,
                      Cat("more than ", options_.max_rules, " rules in the policy (max_rules)"));
    }
    BuildNamespace();
    LoadLists();
    CheckListItems();
    CheckBlocklists();
    CheckThresholds();
    for (MacroDecl& m : ast_.macros) CheckExpr(m.body.get());
    for (RuleDecl& r : ast_.rules) CheckExpr(r.when.get());
    CheckMacroGraph();
    MarkUsed();
    AnalyseRules();
    CheckTests();
  }

 private:
  // ------------------------------------------------------------ helpers
  const std::string& PathOf(uint32_t file) const {
    static const std::string kNone = ".";
    return file < ast_.files.size() ? ast_.files[file].path : kNone;
  }
  std::string Where(const SourceLocation& at) const { return Cat(PathOf(at.file), ":", at.line); }
  void Error(const SourceLocation& at, std::string m) { reporter_.Error(at, std::move(m)); }
  void Warning(const SourceLocation& at, std::string m) { reporter_.Warning(at, std::move(m)); }

  const NameEntry* Lookup(const std::string& name) const {
    auto it = names_.find(name);
    return it == names_.end() ? nullptr : &it->second;
  }

  // " (did you mean 'x'?)" for the closest candidate, or "". Skipped once the diagnostics
  // are capped: a policy full of typos must not cost names x errors edit distances.
  template <typename Range>
  std::string Suggest(std::string_view word, const Range& candidates) const {
    if (reporter_.full()) return "";
    return DidYouMean(Closest(word, candidates));
  }

  // ------------------------------------------------------------ pass 1: names
  void BuildNamespace() {
    for (const FieldDef& f : AllFields()) {
      if (f.type == FieldType::kBool) condition_names_.emplace_back(f.name);
    }
    std::vector<NameEntry> all;
    for (size_t i = 0; i < ast_.lists.size(); ++i) {
      all.push_back({NameKind::kList, i, ast_.lists[i].location});
    }
    for (size_t i = 0; i < ast_.macros.size(); ++i) {
      all.push_back({NameKind::kMacro, i, ast_.macros[i].location});
    }
    for (size_t i = 0; i < ast_.rules.size(); ++i) {
      all.push_back({NameKind::kRule, i, ast_.rules[i].location});
    }
    std::stable_sort(all.begin(), all.end(), [](const NameEntry& a, const NameEntry& b) {
      return std::tie(a.location.file, a.location.line, a.location.column) <
             std::tie(b.location.file, b.location.line, b.location.column);
    });
    for (const NameEntry& e : all) {
      const std::string& name = NameOf(e);
      if (IsFieldRoot(name)) {
        Error(e.location,
              Cat("'", name, "' is a field name and cannot name a ", NameKindName(e.kind)));
        continue;
      }
      auto [it, inserted] = names_.emplace(name, e);
      if (inserted) {
        (e.kind == NameKind::kList    ? list_names_
         : e.kind == NameKind::kMacro ? condition_names_
                                      : rule_names_)
            .push_back(name);
      }
      if (!inserted) {
        Error(e.location, Cat("duplicate name '", name, "': already defined as a ",
                              NameKindName(it->second.kind), " at ", Where(it->second.location),
                              " (lists, macros and rules share one namespace)"));
      }
    }
  }

  const std::string& NameOf(const NameEntry& e) const {
    switch (e.kind) {
      case NameKind::kList:
        return ast_.lists[e.index].name;
      case NameKind::kMacro:
        return ast_.macros[e.index].name;
      case NameKind::kRule:
        break;
    }
    return ast_.rules[e.index].id;
  }

  // ------------------------------------------------------------ pass 2: files
  // Reads `path` (relative to the policy directory) once; its index in data_files, or -1.
  int ReadDataFile(const std::string& path, const SourceLocation& at, std::string_view what,
                   size_t max_bytes, std::string_view limit_name) {
    if (auto it = data_index_.find(path); it != data_index_.end()) return it->second;
    absl::StatusOr<std::string> bytes =
        read_file_ ? read_file_(path) : absl::NotFoundError("no file reader");
    if (!bytes.ok()) {
      Error(at, Cat("cannot read ", what, " '", path, "': ", bytes.status().message()));
      return -1;
    }
    if (bytes->size() > max_bytes) {
      Error(at, Cat(what, " '", path, "' is larger than ", max_bytes, " bytes (", limit_name, ")"));
      return -1;
    }
    if (bytes_read_ + bytes->size() > options_.max_total_bytes) {
      Error(at, Cat("reading ", what, " '", path, "' goes past ", options_.max_total_bytes,
                    " bytes read in all (max_total_bytes)"));
      return -1;
    }
    bytes_read_ += bytes->size();
    int index = static_cast<int>(ast_.data_files.size());
    ast_.data_files.push_back(SourceFile{path, *std::move(bytes)});
    data_index_.emplace(path, index);
    return index;
  }

  void LoadLists() {
    for (ListDecl& list : ast_.lists) {
      if (list.from_path.empty()) continue;
      absl::StatusOr<std::string> resolved =
          ResolvePolicyPath(PathOf(list.location.file), list.from_path);
      if (!resolved.ok()) {
        Error(list.location, Cat("list '", list.name, "': ", resolved.status().message()));
        continue;
      }
      list.resolved_path = *resolved;
      list.data_file = ReadDataFile(*resolved, list.location, "list file", options_.max_file_bytes,
                                    "max_file_bytes");
      if (list.data_file < 0) continue;
      std::vector<ListFileProblem> problems;
      std::vector<ListFileEntry> entries =
          ParseListFile(ast_.data_files[list.data_file].bytes, options_.max_list_items,
                        options_.max_pattern_bytes, &problems);
      for (ListFileProblem& p : problems) {
        reporter_.AddForFile(p.error ? Severity::kError : Severity::kWarning, list.resolved_path,
                             p.line, 1, std::move(p.message), list.location);
      }
      for (ListFileEntry& e : entries) {
        list.items.push_back(std::move(e.value));
        list.item_lines.push_back(e.line);
        list.item_columns.push_back(1);
      }
    }
  }

  void CheckListItems() {
    for (const ListDecl& list : ast_.lists) {
      if (!list.from_path.empty()) continue;  // checked by ParseListFile
      absl::flat_hash_map<std::string, size_t> first;
      for (size_t i = 0; i < list.items.size(); ++i) {
        SourceLocation at{list.location.file, list.item_lines[i], list.item_columns[i]};
        if (list.items[i].size() > options_.max_pattern_bytes) {
          Error(at, Cat("item longer than ", options_.max_pattern_bytes, " bytes in list '",
                        list.name, "' (max_pattern_bytes)"));
        }
        auto [it, inserted] = first.emplace(list.items[i], i);
        if (!inserted) {
          Warning(at, Cat("duplicate item ", Quote(list.items[i]), " in list '", list.name,
                          "' (first on line ", list.item_lines[it->second], ")"));
        }
      }
    }
  }

  void CheckBlocklists() {
    std::map<std::pair<bool, std::string>, SourceLocation> seen;
    for (BlocklistDecl& b : ast_.blocklists) {
      const char* what = b.allowlist ? "allowlist" : "blocklist";
      std::optional<blocklist::Format> format = blocklist::Format::kDetect;
      if (!b.format.empty()) {
        format = blocklist::ParseFormat(b.format);
        if (!format) {
          std::vector<std::string_view> names = {"detect"};
          for (blocklist::Format f :
               {blocklist::Format::kMastodonCsv, blocklist::Format::kFediblockholeCsv,
                blocklist::Format::kMastodonApiJson, blocklist::Format::kGotosocialJson,
                blocklist::Format::kRapidblockJson, blocklist::Format::kPlain}) {
            names.push_back(blocklist::FormatName(f));
          }
          Error(b.location, Cat("unknown ", what, " format '", b.format, "' (formats: ",
                                Join(names, ", "), ")", DidYouMean(Closest(b.format, names))));
        }
      }
      if (!b.severity.empty()) {
        std::optional<blocklist::Severity> sev = blocklist::ParseSeverity(b.severity);
        if (!sev || *sev == blocklist::Severity::kNone) {
          Error(b.location, Cat("unknown severity '", b.severity,
                                "' (severities: suspend, silence, limit, noop)"));
        } else if (format && *format != blocklist::Format::kDetect &&
                   *format != blocklist::Format::kPlain &&
                   *format != blocklist::Format::kGotosocialJson) {
          Error(b.location, Cat("severity applies only to plain and gotosocial_json blocklists; ",
                                b.format, " gives each entry its own severity"));
        }
      }
      absl::StatusOr<std::string> resolved = ResolvePolicyPath(PathOf(b.location.file), b.path);
      if (!resolved.ok()) {
        Error(b.location, Cat(what, " ", Quote(b.path), ": ", resolved.status().message()));
        continue;
      }
      b.resolved_path = *resolved;
      auto [it, inserted] = seen.emplace(std::make_pair(b.allowlist, b.resolved_path), b.location);
      if (!inserted) {
        Warning(b.location, Cat(what, " '", b.resolved_path, "' is named twice (first at ",
                                Where(it->second), ")"));
      }
      b.data_file = ReadDataFile(b.resolved_path, b.location, what, options_.max_blocklist_bytes,
                                 "max_blocklist_bytes");
    }
  }

  void CheckThresholds() {
    const ThresholdDecl* first[2] = {nullptr, nullptr};
    for (const ThresholdDecl& t : ast_.thresholds) {
      const char* kind = t.reject ? "reject" : "flag";
      if (t.milli <= 0) {
        Error(t.location, Cat("threshold ", kind, " must be positive, got ", FormatMilli(t.milli)));
      }
      const ThresholdDecl*& slot = first[t.reject ? 1 : 0];
      if (slot != nullptr) {
        Error(t.location,
              Cat("more than one 'threshold ", kind, "' (first at ", Where(slot->location), ")"));
        continue;
      }
      slot = &t;
    }
    if (first[0] != nullptr && first[1] != nullptr && first[0]->milli > first[1]->milli) {
      Error(first[0]->location,
            Cat("threshold flag ", FormatMilli(first[0]->milli), " is above threshold reject ",
                FormatMilli(first[1]->milli), " (flag must be at most reject)"));
    }
  }

  // ------------------------------------------------------------ pass 3: expressions
  void CheckExpr(Expr* e) {
    if (e == nullptr) return;
    switch (e->kind) {
      case Expr::Kind::kAnd:
      case Expr::Kind::kOr:
      case Expr::Kind::kNot:
        for (ExprPtr& c : e->children) CheckExpr(c.get());
        return;
      case Expr::Kind::kConstant:
        return;
      case Expr::Kind::kMacroRef:
        ResolveMacroRef(*e);
        return;
      case Expr::Kind::kKnown:
        e->field_def = ResolveField(*e);
        return;
      case Expr::Kind::kBareBool: {
        e->field_def = ResolveField(*e);
        if (e->field_def != nullptr && e->field_def->type != FieldType::kBool) {
          Error(e->location, NotACondition(*e->field_def));
        }
        return;
      }
      case Expr::Kind::kCompare:
        e->field_def = ResolveField(*e);
        if (e->field_def != nullptr) CheckCompare(*e);
        return;
    }
  }

  static std::string NotACondition(const FieldDef& f) {
    std::string example;
    switch (f.type) {
      case FieldType::kText:
        example = Cat(f.name, " has \"...\"");
        break;
      case FieldType::kKeyword:
      case FieldType::kDomain:
        example = Cat(f.name, " == \"...\"");
        break;
      case FieldType::kKeywordList:
      case FieldType::kDomainList:
        example = Cat(f.name, " in [...]");
        break;
      case FieldType::kNumber:
        example = Cat(f.name, " > 0");
        break;
      case FieldType::kDuration:
        example = Cat(f.name, " < 1d");
        break;
      case FieldType::kBool:
        break;
    }
    return Cat("'", f.name, "' is a ", FieldTypeName(f.type),
               " field, not a condition: compare it, e.g. ", example);
  }

  const FieldDef* ResolveField(const Expr& e) {
    if (const FieldDef* f = FindField(e.field)) {
      if (f->counter && !e.field_window) {
        Error(e.location, Cat("'", e.field, "' is a counter: give it a window, e.g. ", e.field,
                              "(1h)"));
        return nullptr;
      }
      if (!f->counter && e.field_window) {
        Error(e.location, Cat("'", e.field,
                              "' takes no window: only counters do (actor.rate, "
                              "actor.domain.rate, text.seen, text.seen_domains, text.similar)"));
        return nullptr;
      }
      if (e.field_window && (*e.field_window < absl::Seconds(1) ||
                             *e.field_window > absl::Hours(24 * 7))) {
        Error(e.location, Cat("the window of '", e.field,
                              "' must be from 1s to 7d (1w), got ",
                              absl::FormatDuration(*e.field_window)));
        return nullptr;
      }
      return f;
    }
    if (e.field_window) {
      static const std::vector<std::string_view> counters = {
          "actor.rate", "actor.domain.rate", "text.seen", "text.seen_domains", "text.similar"};
      Error(e.location, Cat("unknown counter '", e.field, "'", Suggest(e.field, counters)));
      return nullptr;
    }
    static const std::vector<std::string_view> names = AllFieldNames();
    Error(e.location, Cat("unknown field '", e.field, "'", Suggest(e.field, names)));
    return nullptr;
  }

  void ResolveMacroRef(Expr& e) {
    const NameEntry* entry = Lookup(e.macro_name);
    if (entry != nullptr && entry->kind == NameKind::kMacro) {
      e.macro = &ast_.macros[entry->index];
      return;
    }
    if (entry != nullptr && entry->kind == NameKind::kList) {
      Error(e.location, Cat("'", e.macro_name,
                            "' is a list, not a condition: use it after in, "
                            "contains_any or has_any"));
      return;
    }
    if (entry != nullptr) {
      Error(e.location, Cat("'", e.macro_name,
                            "' is a rule, not a macro: rules cannot be used in "
                            "conditions"));
      return;
    }
    Error(e.location, Cat("unknown macro or field '", e.macro_name, "'",
                          Suggest(e.macro_name, condition_names_)));
  }

  void CheckCompare(Expr& e) {
    const FieldDef& f = *e.field_def;
    Operand& rhs = e.rhs;
    std::string what = Cat(FieldTypeName(f.type), " field '", f.name, "'");
    if (!OpAllowed(f.type, e.op)) {
      std::string hint;
      if (f.type == FieldType::kNumber || f.type == FieldType::kDuration) {
        hint = "";
      } else if (IsKeywordType(f.type) &&
                 (e.op == CmpOp::kHas || e.op == CmpOp::kHasAny || e.op == CmpOp::kContainsAny)) {
        hint = "; keywords are compared whole: use == or in";
      }
      Error(e.location, Cat("operator '", CmpOpName(e.op), "' does not apply to ", what, " (",
                            FieldTypeName(f.type), " operators: ", OpsOf(f.type), ")", hint));
      return;
    }
    // The operand kind each operator needs.
    switch (e.op) {
      case CmpOp::kMatch:
      case CmpOp::kNotMatch:
        if (rhs.kind != Operand::Kind::kRegex) {
          Error(rhs.location,
                Cat("'", CmpOpName(e.op), "' needs a regex /.../, got ", OperandPhrase(rhs.kind)));
          return;
        }
        CheckRegex(rhs);
        return;
      case CmpOp::kIn:
      case CmpOp::kContainsAny:
      case CmpOp::kHasAny:
        if (!IsListOperand(rhs)) {
          std::string hint;
          if (rhs.kind == Operand::Kind::kString) {
            hint = e.op == CmpOp::kIn       ? " (use == for one value)"
                   : e.op == CmpOp::kHasAny ? " (use has for one string)"
                                            : " (use contains for one string)";
          }
          Error(rhs.location, Cat("'", CmpOpName(e.op),
                                  "' needs a list [...] or a "
                                  "list name, got ",
                                  OperandPhrase(rhs.kind), hint));
          return;
        }
        CheckListOperand(e);
        return;
      case CmpOp::kContains:
      case CmpOp::kHas:
      case CmpOp::kStartsWith:
      case CmpOp::kEndsWith:
        if (rhs.kind != Operand::Kind::kString) {
          std::string hint;
          if (IsListOperand(rhs)) {
            hint = e.op == CmpOp::kHas        ? " (use has_any for a list)"
                   : e.op == CmpOp::kContains ? " (use contains_any for a list)"
                                              : "";
          }
          Error(rhs.location,
                Cat("'", CmpOpName(e.op), "' needs a string, got ", OperandPhrase(rhs.kind), hint));
          return;
        }
        CheckPattern(f, e.op, rhs.string, rhs.location);
        return;
      case CmpOp::kEq:
      case CmpOp::kNe:
      case CmpOp::kLt:
      case CmpOp::kLe:
      case CmpOp::kGt:
      case CmpOp::kGe:
        break;
    }
    Operand::Kind want = Operand::Kind::kString;
    if (f.type == FieldType::kNumber) want = Operand::Kind::kNumber;
    if (f.type == FieldType::kDuration) want = Operand::Kind::kDuration;
    if (f.type == FieldType::kBool) want = Operand::Kind::kBool;
    if (rhs.kind != want) {
      std::string message;
      if (f.type == FieldType::kDuration && rhs.kind == Operand::Kind::kNumber) {
        message = Cat("type error: comparing ", what,
                      " with a number; write a duration such as 30s, 5m, 2h, 7d or "
                      "2w");
      } else if (f.type == FieldType::kNumber && rhs.kind == Operand::Kind::kDuration) {
        message = Cat("type error: comparing ", what, " with a duration");
      } else {
        message = Cat("type error: '", CmpOpName(e.op), "' on ", what, " needs ",
                      OperandPhrase(want), ", got ", OperandPhrase(rhs.kind));
        if (IsListOperand(rhs) && IsStringType(f.type)) {
          Append(&message, " (use in for a list)");
        } else if (rhs.kind == Operand::Kind::kRegex) {
          Append(&message, " (use ~ for a regex)");
        }
      }
      Error(rhs.location, std::move(message));
      return;
    }
    if (want == Operand::Kind::kString) CheckPattern(f, e.op, rhs.string, rhs.location);
  }

  // A string operand of `op` on field `f`.
  void CheckPattern(const FieldDef& f, CmpOp op, const std::string& s, const SourceLocation& at) {
    if (s.size() > options_.max_pattern_bytes) {
      Error(at,
            Cat("string longer than ", options_.max_pattern_bytes, " bytes (max_pattern_bytes)"));
      return;
    }
    if (IsDomainType(f.type)) {
      absl::StatusOr<std::string> d = text::NormalizeDomain(s);
      if (!d.ok()) {
        Error(at, Cat("invalid domain ", Quote(s), " for '", f.name, "': ", d.status().message()));
      }
      return;
    }
    bool substring = op == CmpOp::kContains || op == CmpOp::kHas || op == CmpOp::kStartsWith ||
                     op == CmpOp::kEndsWith || op == CmpOp::kContainsAny || op == CmpOp::kHasAny;
    if (!substring) return;
    if (s.empty()) {
      Error(at, Cat("empty string with '", CmpOpName(op), "': it matches everything"));
      return;
    }
    if (f.type == FieldType::kText && text::Normalize(s).folded.empty()) {
      Error(at, Cat("string ", Quote(s),
                    " is empty once normalised (white space and "
                    "invisible characters only): with '",
                    CmpOpName(op), "' it matches everything"));
    }
  }

  void CheckListOperand(Expr& e) {
    const FieldDef& f = *e.field_def;
    Operand& rhs = e.rhs;
    if (rhs.kind == Operand::Kind::kList) {
      absl::flat_hash_map<std::string, size_t> first;
      for (size_t i = 0; i < rhs.items.size(); ++i) {
        const SourceLocation& at =
            i < rhs.item_locations.size() ? rhs.item_locations[i] : rhs.location;
        CheckPattern(f, e.op, rhs.items[i], at);
        auto [it, inserted] = first.emplace(rhs.items[i], i);
        if (!inserted && it->second < rhs.item_locations.size()) {
          const SourceLocation& was = rhs.item_locations[it->second];
          Warning(at, Cat("duplicate item ", Quote(rhs.items[i]), " in list (first at line ",
                          was.line, ":", was.column, ")"));
        }
      }
      return;
    }
    // A list name.
    const NameEntry* entry = Lookup(rhs.list_name);
    if (entry == nullptr || entry->kind != NameKind::kList) {
      if (entry != nullptr) {
        Error(rhs.location,
              Cat("'", rhs.list_name, "' is a ", NameKindName(entry->kind), ", not a list"));
      } else {
        Error(rhs.location,
              Cat("unknown list '", rhs.list_name, "'", Suggest(rhs.list_name, list_names_)));
      }
      return;
    }
    const ListDecl& list = ast_.lists[entry->index];
    if (copied_items_ + list.items.size() > options_.max_total_list_items) {
      if (!reported_total_items_) {
        Error(rhs.location, Cat("more than ", options_.max_total_list_items,
                                " list items over every use of a list (max_total_list_items)"));
        reported_total_items_ = true;
      }
    } else {
      copied_items_ += list.items.size();
      rhs.items = list.items;
    }
    // Validate the list's items for this use once per (list, kind of use).
    int use = IsDomainType(f.type)         ? 0
              : (e.op == CmpOp::kIn)       ? 2
              : f.type == FieldType::kText ? 1
                                           : 3;
    if (use == 2) return;  // equality with any item: every string is fine
    if (!list_uses_checked_.insert({entry->index, use}).second) return;
    for (size_t i = 0; i < list.items.size(); ++i) {
      const std::string& item = list.items[i];
      std::string where = list.from_path.empty()
                              ? Cat(PathOf(list.location.file), ":", list.item_lines[i])
                              : Cat(list.resolved_path, ":", list.item_lines[i]);
      if (use == 0) {
        absl::StatusOr<std::string> d = text::NormalizeDomain(item);
        if (!d.ok()) {
          Error(rhs.location,
                Cat("list '", list.name, "' entry ", Quote(item), " (", where,
                    ") is not a valid domain for '", f.name, "': ", d.status().message()));
        }
      } else if (item.empty() || (use == 1 && text::Normalize(item).folded.empty())) {
        Error(rhs.location, Cat("list '", list.name, "' has an empty entry (", where, "): with '",
                                CmpOpName(e.op), "' it matches everything"));
      }
    }
  }

  void CheckRegex(const Operand& rhs) {
    if (rhs.string.size() > options_.max_pattern_bytes) {
      Error(rhs.location,
            Cat("regex longer than ", options_.max_pattern_bytes, " bytes (max_pattern_bytes)"));
      return;
    }
    std::string key = Cat(rhs.ignore_case ? "i" : "c", rhs.string);
    auto it = regex_errors_.find(key);
    if (it == regex_errors_.end()) {
      std::string error;
      if (HasNonLinearConstruct(rhs.string)) {
        error =
            "not supported: matching must stay linear-time (no backreferences or "
            "lookaround)";
      } else {
        RE2::Options o;
        o.set_encoding(RE2::Options::EncodingUTF8);
        o.set_case_sensitive(!rhs.ignore_case);
        o.set_max_mem(static_cast<int64_t>(options_.max_regex_memory));
        o.set_log_errors(false);
        RE2 re(rhs.string, o);
        if (!re.ok()) error = Cat("invalid regex: ", re.error());
      }
      it = regex_errors_.emplace(std::move(key), std::move(error)).first;
    }
    if (!it->second.empty()) {
      std::string shown = rhs.string.size() > 60 ? rhs.string.substr(0, 60) + "..." : rhs.string;
      Error(rhs.location, Cat("regex /", shown, "/: ", it->second));
    }
  }

  // ------------------------------------------------------------ pass 4: macros
  size_t MacroIndex(const MacroDecl* m) const {
    return static_cast<size_t>(m - ast_.macros.data());
  }

  // Macro references in `e` with their nesting, and the deepest nesting of any node.
  void CollectRefs(const Expr* e, std::vector<MacroRefInfo>* refs, uint32_t* deepest) const {
    if (e == nullptr) return;
    *deepest = std::max(*deepest, e->nesting);
    if (e->kind == Expr::Kind::kMacroRef && e->macro != nullptr) {
      refs->push_back({MacroIndex(e->macro), e->nesting});
    }
    for (const ExprPtr& c : e->children) CollectRefs(c.get(), refs, deepest);
  }

  uint32_t ExpandedDepth(uint32_t base, const std::vector<MacroRefInfo>& refs) const {
    uint64_t depth = base;
    for (const MacroRefInfo& r : refs) {
      if (recursive_[r.target]) continue;
      depth = std::max<uint64_t>(depth, uint64_t{r.nesting} + 1 + expanded_[r.target]);
    }
    return static_cast<uint32_t>(std::min<uint64_t>(depth, kDepthSaturation));
  }

  void CheckMacroGraph() {
    size_t n = ast_.macros.size();
    refs_.assign(n, {});
    std::vector<uint32_t> base(n, 0);
    for (size_t i = 0; i < n; ++i) CollectRefs(ast_.macros[i].body.get(), &refs_[i], &base[i]);
    recursive_.assign(n, false);
    expanded_.assign(n, 0);
    macro_truth_.assign(n, Truth::kMaybe);

    // Iterative depth-first search: recursion is found without deep native recursion.
    std::vector<int> color(n, 0);  // 0 unseen, 1 on the stack, 2 done
    std::vector<size_t> position(n, 0);
    std::vector<size_t> post_order;
    std::vector<std::pair<size_t, size_t>> stack;  // (macro, next reference)
    for (size_t root = 0; root < n; ++root) {
      if (color[root] != 0) continue;
      color[root] = 1;
      position[root] = 0;
      stack.push_back({root, 0});
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < refs_[node].size()) {
          size_t target = refs_[node][next++].target;
          if (color[target] == 0) {
            color[target] = 1;
            position[target] = stack.size();
            stack.push_back({target, 0});
          } else if (color[target] == 1) {
            ReportCycle(stack, position[target], target);
          }
          continue;
        }
        color[node] = 2;
        post_order.push_back(node);
        stack.pop_back();
      }
    }
    // Depth and constant value, dependencies first.
    for (size_t i : post_order) {
      expanded_[i] = ExpandedDepth(base[i], refs_[i]);
      if (!recursive_[i]) macro_truth_[i] = Evaluate(ast_.macros[i].body.get());
    }
    for (size_t i : post_order) {
      if (expanded_[i] <= max_depth_) continue;
      bool cause_elsewhere =
          std::any_of(refs_[i].begin(), refs_[i].end(),
                      [&](const MacroRefInfo& r) { return expanded_[r.target] > max_depth_; });
      if (!cause_elsewhere) {
        Error(ast_.macros[i].location,
              Cat("macro '", ast_.macros[i].name, "' nests deeper than ", max_depth_,
                  " levels once the macros it uses are expanded (max_nesting_depth)"));
      }
    }
    for (const RuleDecl& r : ast_.rules) {
      std::vector<MacroRefInfo> refs;
      uint32_t deepest = 0;
      CollectRefs(r.when.get(), &refs, &deepest);
      if (ExpandedDepth(deepest, refs) <= max_depth_) continue;
      bool cause_elsewhere = std::any_of(refs.begin(), refs.end(), [&](const MacroRefInfo& ref) {
        return expanded_[ref.target] > max_depth_;
      });
      if (!cause_elsewhere) {
        Error(r.location, Cat("the condition of rule '", r.id, "' nests deeper than ", max_depth_,
                              " levels once its macros are expanded (max_nesting_depth)"));
      }
    }
  }

  void ReportCycle(const std::vector<std::pair<size_t, size_t>>& stack, size_t from,
                   size_t target) {
    if (recursive_[target]) return;
    std::vector<std::string> path;
    for (size_t k = from; k < stack.size(); ++k) {
      recursive_[stack[k].first] = true;
      path.push_back(ast_.macros[stack[k].first].name);
    }
    path.push_back(ast_.macros[target].name);
    const MacroDecl& m = ast_.macros[target];
    if (path.size() == 2) {
      Error(m.location, Cat("macro '", m.name, "' refers to itself"));
    } else {
      Error(m.location, Cat("macro '", m.name, "' is recursive: ", Join(path, " -> ")));
    }
  }

  // ------------------------------------------------------------ pass 5: warnings
  void CollectUses(const Expr* e, std::vector<size_t>* macros) {
    if (e == nullptr) return;
    if (e->kind == Expr::Kind::kMacroRef && e->macro != nullptr) {
      macros->push_back(MacroIndex(e->macro));
    }
    if (e->kind == Expr::Kind::kCompare && e->rhs.kind == Operand::Kind::kListRef) {
      const NameEntry* entry = Lookup(e->rhs.list_name);
      if (entry != nullptr && entry->kind == NameKind::kList) {
        ast_.lists[entry->index].used = true;
      }
    }
    for (const ExprPtr& c : e->children) CollectUses(c.get(), macros);
  }

  void MarkUsed() {
    std::vector<size_t> pending;
    for (const RuleDecl& r : ast_.rules) CollectUses(r.when.get(), &pending);
    while (!pending.empty()) {
      size_t m = pending.back();
      pending.pop_back();
      if (ast_.macros[m].used) continue;
      ast_.macros[m].used = true;
      CollectUses(ast_.macros[m].body.get(), &pending);
    }
    // After a syntax error some uses may be missing: no unused warnings then.
    bool incomplete = std::any_of(ast_.rules.begin(), ast_.rules.end(),
                                  [](const RuleDecl& r) { return r.when == nullptr; }) ||
                      std::any_of(ast_.macros.begin(), ast_.macros.end(),
                                  [](const MacroDecl& m) { return m.body == nullptr; });
    if (incomplete) return;
    for (const ListDecl& l : ast_.lists) {
      if (!l.used) Warning(l.location, Cat("list '", l.name, "' is never used"));
    }
    for (const MacroDecl& m : ast_.macros) {
      if (!m.used) {
        Warning(m.location, Cat("macro '", m.name, "' is never used by a rule"));
      }
    }
  }

  // A leaf's identity for contradiction checks, and whether it is negated: `f != v` is
  // `not (f == v)`, `f !~ r` is `not (f ~ r)`, bool comparisons become `f == true/false`.
  struct LeafKey {
    std::string key;
    bool positive = true;
  };

  std::optional<LeafKey> KeyOf(const Expr& e) const {
    switch (e.kind) {
      case Expr::Kind::kBareBool:
        return LeafKey{Cat("B|", e.field, "|true"), true};
      case Expr::Kind::kKnown:
        return LeafKey{Cat("K|", e.field), true};
      case Expr::Kind::kMacroRef:
        if (e.macro == nullptr) return std::nullopt;
        return LeafKey{Cat("M|", e.macro_name), true};
      case Expr::Kind::kNot: {
        if (e.children.size() != 1 || e.children[0] == nullptr) return std::nullopt;
        std::optional<LeafKey> inner = KeyOf(*e.children[0]);
        if (inner) inner->positive = !inner->positive;
        return inner;
      }
      case Expr::Kind::kCompare:
        break;
      default:
        return std::nullopt;
    }
    if (e.field_def == nullptr) return std::nullopt;
    const Operand& r = e.rhs;
    if (e.field_def->type == FieldType::kBool && r.kind == Operand::Kind::kBool) {
      bool value = r.boolean == (e.op == CmpOp::kEq);
      return LeafKey{Cat("B|", e.field, "|", value ? "true" : "false"), true};
    }
    CmpOp op = e.op;
    bool positive = true;
    if (op == CmpOp::kNe) {
      op = CmpOp::kEq;
      positive = false;
    } else if (op == CmpOp::kNotMatch) {
      op = CmpOp::kMatch;
      positive = false;
    }
    std::string value;
    switch (r.kind) {
      case Operand::Kind::kString:
        value = CanonicalString(*e.field_def, r.string);
        break;
      case Operand::Kind::kNumber:
        value = Cat(r.number);
        break;
      case Operand::Kind::kDuration:
        value = absl::FormatDuration(r.duration);
        break;
      case Operand::Kind::kBool:
        value = r.boolean ? "true" : "false";
        break;
      case Operand::Kind::kRegex:
        value = Cat(r.ignore_case ? "i/" : "/", r.string);
        break;
      case Operand::Kind::kList:
        value = Cat("[", Join(r.items, "\x1f"), "]");
        break;
      case Operand::Kind::kListRef:
        value = Cat("@", r.list_name);
        break;
    }
    return LeafKey{Cat("C|", e.field, "|", CmpOpName(op), "|", value), positive};
  }

  static std::string CanonicalString(const FieldDef& f, const std::string& s) {
    if (IsDomainType(f.type)) {
      absl::StatusOr<std::string> d = text::NormalizeDomain(s);
      return d.ok() ? *d : s;
    }
    if (f.type == FieldType::kText) return text::Normalize(s).folded;
    return s;
  }

  static void Conjuncts(const Expr* e, std::vector<const Expr*>* out) {
    if (e == nullptr) return;
    if (e->kind == Expr::Kind::kAnd) {
      for (const ExprPtr& c : e->children) Conjuncts(c.get(), out);
      return;
    }
    out->push_back(e);
  }

  // `x and not x`, two different values for one scalar field, an empty number range.
  bool Contradictory(const Expr& and_node) const {
    std::vector<const Expr*> parts;
    Conjuncts(&and_node, &parts);
    absl::flat_hash_map<std::string, bool> polarity;         // key -> positive
    absl::flat_hash_map<std::string, std::string> equal_to;  // scalar field -> value key
    struct Range {
      double lo = -INFINITY, hi = INFINITY;
      bool lo_strict = false, hi_strict = false;
    };
    absl::flat_hash_map<std::string, Range> ranges;
    for (const Expr* p : parts) {
      std::optional<LeafKey> k = KeyOf(*p);
      if (!k) continue;
      auto [it, inserted] = polarity.emplace(k->key, k->positive);
      if (!inserted && it->second != k->positive) return true;
      // Bool fields: `f == true` and `f == false`.
      if (k->key.rfind("B|", 0) == 0 && k->positive) {
        std::string field = k->key.substr(0, k->key.rfind('|'));
        auto [jt, fresh] = equal_to.emplace(field, k->key);
        if (!fresh && jt->second != k->key) return true;
      }
      const Expr* leaf = p;
      bool negated = false;
      if (leaf->kind == Expr::Kind::kNot && leaf->children.size() == 1 && leaf->children[0]) {
        leaf = leaf->children[0].get();
        negated = true;
      }
      if (leaf->kind != Expr::Kind::kCompare || leaf->field_def == nullptr) continue;
      FieldType type = leaf->field_def->type;
      if (IsListType(type)) continue;
      if (leaf->op == CmpOp::kEq && !negated &&
          (IsStringType(type) || type == FieldType::kNumber || type == FieldType::kDuration)) {
        auto [jt, fresh] = equal_to.emplace(std::string("=|") + leaf->field, k->key);
        if (!fresh && jt->second != k->key) return true;
      }
      if (type != FieldType::kNumber && type != FieldType::kDuration) continue;
      double v = 0;
      if (leaf->rhs.kind == Operand::Kind::kNumber) {
        v = leaf->rhs.number;
      } else if (leaf->rhs.kind == Operand::Kind::kDuration) {
        v = absl::ToDoubleSeconds(leaf->rhs.duration);
      } else {
        continue;
      }
      CmpOp op = leaf->op;
      if (negated) {  // not (a < v) is a >= v whenever it is true
        switch (op) {
          case CmpOp::kLt:
            op = CmpOp::kGe;
            break;
          case CmpOp::kLe:
            op = CmpOp::kGt;
            break;
          case CmpOp::kGt:
            op = CmpOp::kLe;
            break;
          case CmpOp::kGe:
            op = CmpOp::kLt;
            break;
          default:
            continue;
        }
      }
      Range& r = ranges[leaf->field];
      auto raise = [&](double lo, bool strict) {
        if (lo > r.lo || (lo == r.lo && strict)) {
          r.lo = lo;
          r.lo_strict = strict;
        }
      };
      auto lower = [&](double hi, bool strict) {
        if (hi < r.hi || (hi == r.hi && strict)) {
          r.hi = hi;
          r.hi_strict = strict;
        }
      };
      switch (op) {
        case CmpOp::kLt:
          lower(v, true);
          break;
        case CmpOp::kLe:
          lower(v, false);
          break;
        case CmpOp::kGt:
          raise(v, true);
          break;
        case CmpOp::kGe:
          raise(v, false);
          break;
        case CmpOp::kEq:
          raise(v, false);
          lower(v, false);
          break;
        default:
          break;
      }
      if (r.lo > r.hi || (r.lo == r.hi && (r.lo_strict || r.hi_strict))) return true;
    }
    return false;
  }

  Truth Evaluate(const Expr* e) const {
    if (e == nullptr) return Truth::kMaybe;
    switch (e->kind) {
      case Expr::Kind::kConstant:
        return e->constant ? Truth::kTrue : Truth::kFalse;
      case Expr::Kind::kMacroRef:
        if (e->macro == nullptr) return Truth::kMaybe;
        return macro_truth_[MacroIndex(e->macro)];
      case Expr::Kind::kNot:
        if (e->children.size() != 1) return Truth::kMaybe;
        return Not(Evaluate(e->children[0].get()));
      case Expr::Kind::kAnd: {
        bool all_true = true;
        bool never_true = false;
        for (const ExprPtr& c : e->children) {
          Truth t = Evaluate(c.get());
          if (t == Truth::kFalse) return Truth::kFalse;
          if (t == Truth::kNeverTrue) never_true = true;
          if (t != Truth::kTrue) all_true = false;
        }
        if (never_true || Contradictory(*e)) return Truth::kNeverTrue;
        return all_true ? Truth::kTrue : Truth::kMaybe;
      }
      case Expr::Kind::kOr: {
        bool all_false = true;
        bool all_never = true;
        for (const ExprPtr& c : e->children) {
          Truth t = Evaluate(c.get());
          if (t == Truth::kTrue) return Truth::kTrue;
          if (t != Truth::kFalse) all_false = false;
          if (t != Truth::kFalse && t != Truth::kNeverTrue) all_never = false;
        }
        if (all_false) return Truth::kFalse;
        return all_never ? Truth::kNeverTrue : Truth::kMaybe;
      }
      default:
        return Truth::kMaybe;
    }
  }

  void CollectPatterns(const Expr* e, const RuleDecl& rule,
                       absl::flat_hash_map<std::string, SourceLocation>* seen) {
    if (e == nullptr) return;
    if (e->kind == Expr::Kind::kCompare && e->field_def != nullptr &&
        (e->rhs.kind == Operand::Kind::kString || e->rhs.kind == Operand::Kind::kRegex)) {
      bool regex = e->rhs.kind == Operand::Kind::kRegex;
      std::string written = regex ? Cat("/", e->rhs.string, "/", e->rhs.ignore_case ? "i" : "")
                                  : Quote(e->rhs.string);
      std::string key = Cat(e->field, " ", CmpOpName(e->op), " ", written);
      auto [it, inserted] = seen->emplace(key, e->location);
      if (!inserted) {
        Warning(e->location, Cat("duplicate pattern in rule '", rule.id, "': ", key,
                                 " (first at line ", it->second.line, ")"));
      }
    }
    for (const ExprPtr& c : e->children) CollectPatterns(c.get(), rule, seen);
  }

  void AnalyseRules() {
    for (const RuleDecl& r : ast_.rules) {
      if (r.when == nullptr) continue;
      absl::flat_hash_map<std::string, SourceLocation> seen;
      CollectPatterns(r.when.get(), r, &seen);
      Truth t = Evaluate(r.when.get());
      if (t == Truth::kFalse) {
        Warning(r.location, Cat("rule '", r.id, "' can never fire: its condition is always false"));
      } else if (t == Truth::kNeverTrue) {
        Warning(r.location,
                Cat("rule '", r.id, "' can never fire: its condition contradicts itself"));
      }
    }
  }

  // ------------------------------------------------------------ pass 6: tests
  void CheckTests() {
    absl::flat_hash_map<std::string, SourceLocation> names;
    for (TestDecl& t : ast_.tests) {
      auto [it, inserted] = names.emplace(t.name, t.location);
      if (!inserted) {
        Warning(t.location,
                Cat("duplicate test name ", Quote(t.name), " (first at ", Where(it->second), ")"));
      }
      if (t.activities.empty()) {
        Error(t.location, Cat("test ", Quote(t.name), " has no activity"));
      }
      for (size_t i = 0; i < t.activities.size(); ++i) {
        const SourceLocation& at =
            i < t.activity_locations.size() ? t.activity_locations[i] : t.location;
        absl::StatusOr<std::string> resolved =
            ResolvePolicyPath(PathOf(t.location.file), t.activities[i]);
        if (!resolved.ok()) {
          Error(at, Cat("activity ", Quote(t.activities[i]), ": ", resolved.status().message()));
          t.resolved_activities.emplace_back();
          continue;
        }
        // The test runner reads the activity. A missing one is a warning here (the rules can
        // still be deployed without their test files) and a failed test in `fedwall test`.
        if (activity_checked_.insert(*resolved).second) {
          absl::StatusOr<std::string> bytes =
              read_file_ ? read_file_(*resolved) : absl::NotFoundError("no file reader");
          if (!bytes.ok()) {
            Warning(at, Cat("cannot read activity '", *resolved, "': ", bytes.status().message(),
                            " (the test will fail)"));
          }
        }
        t.resolved_activities.push_back(*std::move(resolved));
      }
      CheckFacts(t);
      const Expectation* verdict = nullptr;
      for (const Expectation& e : t.expectations) {
        if (e.kind == Expectation::Kind::kVerdict) {
          if (verdict != nullptr) {
            Error(e.location, Cat("more than one expected verdict in test ", Quote(t.name),
                                  " (first at line ", verdict->location.line, ")"));
          }
          verdict = &e;
        }
        for (const std::string& id : e.rules) CheckRuleId(id, e.location);
      }
      if (t.expectations.empty()) {
        Warning(t.location, Cat("test ", Quote(t.name),
                                " expects nothing (add expect accept|flag|reject, "
                                "expect effects or expect not)"));
      }
    }
  }

  void CheckRuleId(const std::string& id, const SourceLocation& at) {
    const NameEntry* entry = Lookup(id);
    if (entry != nullptr && entry->kind == NameKind::kRule) return;
    if (entry != nullptr) {
      Error(at, Cat("'", id, "' is a ", NameKindName(entry->kind), ", not a rule"));
      return;
    }
    Error(at, Cat("unknown rule '", id, "'", Suggest(id, rule_names_)));
  }

  void CheckFacts(const TestDecl& t) {
    absl::flat_hash_map<std::string, uint32_t> seen;
    for (const FactAssignment& f : t.facts) {
      const FactSpec* spec = nullptr;
      for (const FactSpec& s : kFacts) {
        if (s.name == f.field) spec = &s;
      }
      if (spec == nullptr) {
        std::vector<std::string_view> names;
        for (const FactSpec& s : kFacts) names.push_back(s.name);
        std::string reason = FindField(f.field) != nullptr
                                 ? " is read from the activity, not a request fact"
                                 : " is not a request fact";
        Error(f.location, Cat("'", f.field, "'", reason, DidYouMean(Closest(f.field, names)),
                              "; `with` sets: ", Join(names, ", ")));
        continue;
      }
      auto [it, inserted] = seen.emplace(f.field, f.location.line);
      if (!inserted) {
        Error(f.location, Cat("fact '", f.field, "' set twice (first on line ", it->second, ")"));
        continue;
      }
      if (f.value.kind != spec->kind) {
        Error(f.value.location, Cat("'", f.field, "' needs ", OperandPhrase(spec->kind), ", got ",
                                    OperandPhrase(f.value.kind)));
        continue;
      }
      if (spec->kind == Operand::Kind::kNumber &&
          (f.value.number < 0 || f.value.number != std::floor(f.value.number))) {
        Error(f.value.location, Cat("'", f.field, "' is a count: a whole number >= 0"));
      }
      if (f.field == "origin.domain") {
        absl::StatusOr<std::string> d = text::NormalizeDomain(f.value.string);
        if (!d.ok()) {
          Error(f.value.location,
                Cat("invalid domain ", Quote(f.value.string), ": ", d.status().message()));
        }
      }
      if (f.field == "received_at") {
        absl::Time time;
        std::string err;
        if (!absl::ParseTime(absl::RFC3339_full, f.value.string, &time, &err)) {
          Error(f.value.location, Cat("received_at ", Quote(f.value.string),
                                      " is not an RFC 3339 time such as \"2024-02-15T12:00:00Z\""));
        }
      }
    }
  }

  PolicyAst& ast_;
  const ReadFileFn& read_file_;
  const FrontEndOptions& options_;
  size_t max_depth_;
  Reporter& reporter_;
  size_t& bytes_read_;

  std::map<std::string, NameEntry> names_;
  std::vector<std::string> list_names_;
  std::vector<std::string> condition_names_;  // macros and bool fields
  std::vector<std::string> rule_names_;
  absl::flat_hash_set<std::string> activity_checked_;
  size_t copied_items_ = 0;
  bool reported_total_items_ = false;
  absl::flat_hash_map<std::string, int> data_index_;
  absl::flat_hash_map<std::string, std::string> regex_errors_;
  std::set<std::pair<size_t, int>> list_uses_checked_;
  std::vector<std::vector<MacroRefInfo>> refs_;
  std::vector<bool> recursive_;
  std::vector<uint32_t> expanded_;
  std::vector<Truth> macro_truth_;
};

}  // namespace

absl::StatusOr<std::string> ResolvePolicyPath(std::string_view from_file, std::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("empty path");
  if (path.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("path contains a NUL byte");
  }
  if (path.front() == '/') {
    return absl::InvalidArgumentError(
        Cat("absolute path '", std::string(path), "': paths are relative to the rule file"));
  }
  std::vector<std::string_view> out;
  // Splits on '/' and applies each part; false when ".." climbs above the root.
  auto apply = [&out](std::string_view s) -> bool {
    while (true) {
      size_t slash = s.find('/');
      std::string_view p = s.substr(0, slash);
      if (p == "..") {
        if (out.empty()) return false;
        out.pop_back();
      } else if (!p.empty() && p != ".") {
        out.push_back(p);
      }
      if (slash == std::string_view::npos) return true;
      s.remove_prefix(slash + 1);
    }
  };
  size_t slash = from_file.rfind('/');
  if (slash != std::string_view::npos && !apply(from_file.substr(0, slash))) {
    return absl::InvalidArgumentError("rule file outside the policy directory");
  }
  if (!apply(path)) {
    return absl::InvalidArgumentError(Cat("path '", path, "' leaves the policy directory"));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        Cat("path '", std::string(path), "' names the policy directory, not a file"));
  }
  std::string result;
  for (std::string_view p : out) {
    if (!result.empty()) result.push_back('/');
    result.append(p);
  }
  return result;
}

std::vector<ListFileEntry> ParseListFile(std::string_view bytes, size_t max_entries,
                                         size_t max_entry_bytes,
                                         std::vector<ListFileProblem>* problems) {
  std::vector<ListFileEntry> entries;
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  absl::flat_hash_map<std::string, uint32_t> first;
  uint32_t line_number = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!bytes.empty()) {
    ++line_number;
    size_t nl = bytes.find('\n');
    std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] != '#') continue;
      // As the contract says: '#' followed by a space or the line's end starts a comment,
      // wherever it stands ("#nsfw" is an entry; "c# tips" is the entry "c").
      if (i + 1 == line.size() || is_space(line[i + 1])) {
        line = line.substr(0, i);
        break;
      }
    }
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    if (line.empty()) continue;
    if (!text::IsValidUtf8(line)) {
      problems->push_back({line_number, true, "invalid UTF-8 in list entry"});
      continue;
    }
    if (std::any_of(line.begin(), line.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\t'; })) {
      problems->push_back({line_number, true, "control character in list entry"});
      continue;
    }
    if (line.size() > max_entry_bytes) {
      problems->push_back(
          {line_number, true,
           Cat("entry longer than ", max_entry_bytes, " bytes (max_pattern_bytes)")});
      continue;
    }
    if (entries.size() >= max_entries) {
      problems->push_back(
          {line_number, true,
           Cat("more than ", max_entries, " entries in the list (max_list_items)")});
      break;
    }
    auto [it, inserted] = first.emplace(std::string(line), line_number);
    if (!inserted) {
      problems->push_back(
          {line_number, false,
           Cat("duplicate entry ", Quote(line), " (first on line ", it->second, ")")});
      continue;
    }
    entries.push_back({std::string(line), line_number});
  }
  return entries;
}

void CheckPolicy(PolicyAst& ast, const ReadFileFn& read_file, const FrontEndOptions& options,
                 Reporter& reporter, size_t& bytes_read) {
  Checker checker(ast, read_file, options, reporter, bytes_read);
  checker.Run();
}

}  // namespace fedwall::lang
