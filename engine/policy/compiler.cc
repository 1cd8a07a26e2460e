// The compiler: a checked PolicyAst -> CompiledRules (see compiled.h) -> Policy.
//
// Passes: blocklists and allowlists -> thresholds -> lowering of every rule's condition
// (macros expanded inline, literals folded, patterns deduplicated per text field) -> one
// TextMatcher per text field, except that content, summary and name share the matcher of
// `text` when it has patterns (they are parts of its text, scanned once) -> the rule index ->
// the domain table -> the version.
#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/blocklist/blocklist.h"
#include "engine/lang/front_end.h"
#include "engine/match/scoped_matcher.h"
#include "engine/policy/compiled.h"
#include "engine/policy/policy.h"
#include "engine/text/domain.h"
#include "engine/text/normalize.h"
#include "re2/re2.h"

namespace fedwall {
namespace policy_internal {
namespace {

using lang::CmpOp;
using lang::Expr;

std::string S(std::string_view v) { return std::string(v); }
std::string Msg(const absl::Status& s) { return std::string(s.message()); }

// ---------------------------------------------------------------------------------------
// Version hashing

void HashU64(EVP_MD_CTX* ctx, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  EVP_DigestUpdate(ctx, b, sizeof b);
}

void HashBytes(EVP_MD_CTX* ctx, std::string_view s) {
  HashU64(ctx, s.size());
  if (!s.empty()) EVP_DigestUpdate(ctx, s.data(), s.size());
}

std::shared_ptr<EVP_MD_CTX> NewDigest() {
  std::shared_ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new(), [](EVP_MD_CTX* c) { EVP_MD_CTX_free(c); });
  if (ctx) EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  return ctx;
}

std::shared_ptr<EVP_MD_CTX> VersionPrefix(const lang::PolicyAst& ast) {
  std::shared_ptr<EVP_MD_CTX> ctx = NewDigest();
  if (!ctx) return ctx;
  HashBytes(ctx.get(), kEngineVersion);
  for (const std::vector<lang::SourceFile>* files : {&ast.files, &ast.data_files}) {
    HashU64(ctx.get(), files->size());
    for (const lang::SourceFile& f : *files) {
      HashBytes(ctx.get(), f.path);
      HashBytes(ctx.get(), f.bytes);
    }
  }
  return ctx;
}

// ---------------------------------------------------------------------------------------
// Diagnostics

std::string PathOf(const lang::PolicyAst& ast, const lang::SourceLocation& loc) {
  return loc.file < ast.files.size() ? ast.files[loc.file].path : std::string();
}

Diagnostic MakeDiag(const lang::PolicyAst& ast, const lang::SourceLocation& loc,
                    Diagnostic::Severity severity, std::string message) {
  Diagnostic d;
  d.path = PathOf(ast, loc);
  d.line = loc.line;
  d.column = loc.column;
  d.severity = severity;
  d.message = std::move(message);
  return d;
}

// ---------------------------------------------------------------------------------------
// Literals

// A text literal as the folded text would contain it: normalised like a text field
// (ignorables removed, white space runs collapsed), but a leading or trailing space the user
// wrote is kept (`contains " crypto"` means a word starting with "crypto"), then folded.
std::string FoldTextLiteral(std::string_view literal) {
  // Unfold trims; surround with a sentinel that nothing composes with, then remove it.
  std::string wrapped = absl::StrCat("0", S(literal), "0");
  std::string unfolded = text::Unfold(wrapped);
  if (unfolded.size() >= 2 && unfolded.front() == '0' && unfolded.back() == '0') {
    unfolded = unfolded.substr(1, unfolded.size() - 2);
  } else {
    unfolded = text::Unfold(literal);
  }
  return text::Fold(unfolded);
}

// Hashtags and emojis: a leading '#' (hashtags) or ':' (emojis, with its closing ':') is
// stripped and the rest case-folded, as the values are.
std::string FoldKeywordLiteral(std::string_view field, std::string_view literal) {
  if (field == "hashtags") {
    if (!literal.empty() && literal.front() == '#') literal.remove_prefix(1);
  } else if (!literal.empty() && literal.front() == ':') {
    literal.remove_prefix(1);
    if (!literal.empty() && literal.back() == ':') literal.remove_suffix(1);
  }
  return text::CaseFold(literal);
}

bool IsDomainType(FieldType t) { return t == FieldType::kDomain || t == FieldType::kDomainList; }

// ---------------------------------------------------------------------------------------
// Lowering

class Lowering {
 public:
  Lowering(CompiledRules* out, const CompileOptions& options, std::vector<Diagnostic>* diags)
      : out_(out), options_(options), diags_(diags) {}

  uint32_t LowerRule(const lang::RuleDecl& rule) {
    rule_ = &rule;
    if (rule.when == nullptr) return AddNode(Node::Kind::kFalse, 0, 0);
    return Lower(*rule.when, 0);
  }

  // Builds the matchers and the rule index. False when a matcher could not be built.
  bool Finish();

 private:
  static constexpr size_t kMaxDepth = 256;

  // The patterns of one text field, by local id (0, 1, ...), until Finish() builds matchers.
  struct Pattern {
    bool regex = false;
    std::string text;  // the folded literal, or the regex
    bool whole_word = false;
    match::TextMatcherBuilder::Anchor anchor = match::TextMatcherBuilder::Anchor::kNone;
    bool ignore_case = false;
  };
  struct TextBuild {
    uint32_t slot = 0;
    std::vector<Pattern> patterns;
    absl::flat_hash_map<std::string, uint32_t> ids;
    uint32_t count = 0;
    // `text`: regexes by local id, to search within parts (see TextField::part_regexes).
    std::vector<std::unique_ptr<RE2>> part_regexes;
    // Set by Finish(): the global id of local pattern 0, and the TextField that scans it.
    uint32_t base = 0;
    uint32_t text_field = 0;
  };

  void Error(const lang::SourceLocation& loc, std::string message) {
    diags_->push_back(MakeDiag(out_->ast, loc, Diagnostic::Severity::kError, std::move(message)));
  }

  uint32_t AddNode(Node::Kind kind, uint32_t arg, uint32_t count) {
    if (out_->nodes.size() >= options_.max_expression_nodes) {
      if (!budget_error_) {
        budget_error_ = true;
        lang::SourceLocation at = rule_ != nullptr ? rule_->location : lang::SourceLocation{};
        Error(at, absl::StrCat("the rules' conditions, macros expanded, grow past ",
                               options_.max_expression_nodes, " nodes",
                               rule_ != nullptr ? absl::StrCat(" at rule ", rule_->id) : "",
                               " (max_expression_nodes); simplify nested macros"));
      }
      // Keep going on the last node (the result is discarded: the compile failed).
      return static_cast<uint32_t>(out_->nodes.size() - 1);
    }
    out_->nodes.push_back({kind, arg, count});
    return static_cast<uint32_t>(out_->nodes.size() - 1);
  }

  uint32_t AddLeaf(const Leaf& leaf) {
    out_->leaves.push_back(leaf);
    return AddNode(Node::Kind::kLeaf, static_cast<uint32_t>(out_->leaves.size() - 1), 0);
  }

  uint32_t NotOf(uint32_t child) {
    uint32_t first = static_cast<uint32_t>(out_->children.size());
    out_->children.push_back(child);
    return AddNode(Node::Kind::kNot, first, 1);
  }

  uint32_t Junction(Node::Kind kind, const std::vector<uint32_t>& kids) {
    if (kids.size() == 1) return kids[0];
    uint32_t first = static_cast<uint32_t>(out_->children.size());
    for (uint32_t k : kids) {
      const Node& n = out_->nodes[k];
      if (n.kind == kind) {  // flatten (a and b) and c
        for (uint32_t i = 0; i < n.count; ++i) {
          out_->children.push_back(out_->children[n.arg + i]);
        }
      } else {
        out_->children.push_back(k);
      }
    }
    return AddNode(kind, first, static_cast<uint32_t>(out_->children.size() - first));
  }

  // Builds the matcher of text builds `group` (the first one's field is the text scanned; the
  // others are part fields of it) into `tf`. False (with a diagnostic) when it cannot be built.
  bool BuildMatcher(const std::vector<uint32_t>& group, TextField* tf);

  uint32_t Lower(const Expr& e, size_t depth);
  uint32_t LowerCompare(const Expr& e, CmpOp op);
  uint32_t LowerText(const Expr& e, uint32_t slot, CmpOp op);
  uint32_t LowerKeyword(const Expr& e, uint32_t slot, CmpOp op);

  uint32_t SlotFor(const FieldDef* def, std::optional<absl::Duration> window = std::nullopt) {
    if (def->counter) {
      counters::CounterRef ref{*counters::FindCounterKind(def->name),
                               window.value_or(absl::Hours(1))};
      for (uint32_t i = 0; i < out_->fields.size(); ++i) {
        const FieldSlot& f = out_->fields[i];
        if (f.accessor == Accessor::kCounter && out_->counters[f.counter] == ref) return i;
      }
      FieldSlot s;
      s.def = def;
      s.accessor = Accessor::kCounter;
      s.counter = static_cast<uint32_t>(out_->counters.size());
      s.name = counters::CounterRefName(ref);
      out_->counters.push_back(ref);
      out_->fields.push_back(std::move(s));
      return static_cast<uint32_t>(out_->fields.size() - 1);
    }
    auto [it, inserted] = slot_of_.try_emplace(def, static_cast<uint32_t>(out_->fields.size()));
    if (inserted) {
      FieldSlot s;
      s.def = def;
      s.accessor = AccessorFor(def->name);
      s.folded_keywords = def->name == "hashtags" || def->name == "emojis";
      s.name = std::string(def->name);
      out_->fields.push_back(std::move(s));
    }
    return it->second;
  }

  uint32_t TextBuildFor(uint32_t slot) {
    for (uint32_t i = 0; i < text_builds_.size(); ++i) {
      if (text_builds_[i]->slot == slot) return i;
    }
    auto b = std::make_unique<TextBuild>();
    b->slot = slot;
    text_builds_.push_back(std::move(b));
    return static_cast<uint32_t>(text_builds_.size() - 1);
  }

  uint32_t LiteralId(uint32_t tb, std::string folded, bool whole_word,
                     match::TextMatcherBuilder::Anchor anchor) {
    TextBuild& b = *text_builds_[tb];
    std::string key =
        absl::StrCat("L", whole_word ? "w" : "-", static_cast<int>(anchor), ":", folded);
    auto [it, inserted] = b.ids.try_emplace(std::move(key), b.count);
    if (inserted) {
      Pattern p;
      p.text = std::move(folded);
      p.whole_word = whole_word;
      p.anchor = anchor;
      b.patterns.push_back(std::move(p));
      ++b.count;
    }
    return it->second;
  }

  uint32_t RegexId(uint32_t tb, const std::string& pattern, bool ignore_case) {
    TextBuild& b = *text_builds_[tb];
    std::string key = absl::StrCat("R", ignore_case ? "i" : "-", ":", pattern);
    auto [it, inserted] = b.ids.try_emplace(std::move(key), b.count);
    if (inserted) {
      Pattern p;
      p.regex = true;
      p.text = pattern;
      p.ignore_case = ignore_case;
      b.patterns.push_back(std::move(p));
      if (out_->fields[b.slot].def->name == "text") {
        RE2::Options ro;
        ro.set_encoding(RE2::Options::EncodingUTF8);
        ro.set_case_sensitive(!ignore_case);
        ro.set_log_errors(false);
        ro.set_max_mem(static_cast<int64_t>(options_.matcher.max_regex_memory));
        b.part_regexes.resize(b.count + 1);
        b.part_regexes[b.count] = std::make_unique<RE2>(pattern, ro);
      }
      ++b.count;
    }
    return it->second;
  }

  // The leaf node for "any of `locals` matched" in text build `tb` (deduplicated).
  uint32_t PatternLeafNode(uint32_t tb, std::vector<uint32_t> locals, bool regex) {
    std::sort(locals.begin(), locals.end());
    locals.erase(std::unique(locals.begin(), locals.end()), locals.end());
    std::string key = absl::StrCat(tb, regex ? "r" : "l");
    for (uint32_t l : locals) absl::StrAppend(&key, ",", l);
    auto it = pleaf_of_.find(key);
    uint32_t leaf_index;
    if (it != pleaf_of_.end()) {
      leaf_index = it->second;
    } else {
      uint32_t pleaf = static_cast<uint32_t>(out_->pattern_leaves.size());
      Leaf leaf;
      leaf.kind = LeafKind::kPattern;
      leaf.field = text_builds_[tb]->slot;
      leaf.arg = pleaf;
      out_->leaves.push_back(leaf);
      leaf_index = static_cast<uint32_t>(out_->leaves.size() - 1);
      out_->pattern_leaves.push_back({tb, leaf_index, regex});
      pleaf_locals_.push_back(std::move(locals));
      pleaf_of_.emplace(std::move(key), leaf_index);
    }
    return AddNode(Node::Kind::kLeaf, leaf_index, 0);
  }

  CompiledRules* out_;
  const CompileOptions& options_;
  std::vector<Diagnostic>* diags_;
  bool budget_error_ = false;
  const lang::RuleDecl* rule_ = nullptr;  // the rule being lowered
  absl::flat_hash_map<const FieldDef*, uint32_t> slot_of_;
  std::vector<std::unique_ptr<TextBuild>> text_builds_;
  absl::flat_hash_map<std::string, uint32_t> pleaf_of_;  // key -> Leaf index
  std::vector<std::vector<uint32_t>> pleaf_locals_;      // per pattern leaf: local ids
};

uint32_t Lowering::Lower(const Expr& e, size_t depth) {
  // Past the node budget the compile has failed: stop expanding (the expansion may be
  // exponential in the number of macros).
  if (budget_error_) return static_cast<uint32_t>(out_->nodes.size() - 1);
  if (depth > kMaxDepth) {
    Error(e.location,
          absl::StrCat("expression nested deeper than ", kMaxDepth, " levels (macros expanded)"));
    return AddNode(Node::Kind::kFalse, 0, 0);
  }
  switch (e.kind) {
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr: {
      std::vector<uint32_t> kids;
      kids.reserve(e.children.size());
      for (const auto& c : e.children) kids.push_back(Lower(*c, depth + 1));
      if (kids.empty()) {
        return AddNode(e.kind == Expr::Kind::kAnd ? Node::Kind::kTrue : Node::Kind::kFalse, 0, 0);
      }
      return Junction(e.kind == Expr::Kind::kAnd ? Node::Kind::kAnd : Node::Kind::kOr, kids);
    }
    case Expr::Kind::kNot:
      if (e.children.size() != 1 || e.children[0] == nullptr) {
        Error(e.location, "internal: `not` without exactly one operand");
        return AddNode(Node::Kind::kFalse, 0, 0);
      }
      return NotOf(Lower(*e.children[0], depth + 1));
    case Expr::Kind::kCompare:
      if (e.op == CmpOp::kNe) return NotOf(LowerCompare(e, CmpOp::kEq));
      if (e.op == CmpOp::kNotMatch) return NotOf(LowerCompare(e, CmpOp::kMatch));
      return LowerCompare(e, e.op);
    case Expr::Kind::kBareBool:
    case Expr::Kind::kKnown: {
      if (e.field_def == nullptr) {
        Error(e.location, absl::StrCat("internal: unchecked field `", e.field, "`"));
        return AddNode(Node::Kind::kFalse, 0, 0);
      }
      Leaf leaf;
      leaf.field = SlotFor(e.field_def, e.field_window);
      if (e.kind == Expr::Kind::kKnown) {
        leaf.kind = LeafKind::kKnown;
      } else {
        if (e.field_def->type != FieldType::kBool) {
          Error(e.location, absl::StrCat("`", e.field, "` is not a bool field"));
          return AddNode(Node::Kind::kFalse, 0, 0);
        }
        leaf.kind = LeafKind::kBool;
        leaf.boolean = true;
      }
      return AddLeaf(leaf);
    }
    case Expr::Kind::kMacroRef:
      if (e.macro == nullptr || e.macro->body == nullptr) {
        Error(e.location, absl::StrCat("internal: unresolved macro `", e.macro_name, "`"));
        return AddNode(Node::Kind::kFalse, 0, 0);
      }
      return Lower(*e.macro->body, depth + 1);
    case Expr::Kind::kConstant:
      return AddNode(e.constant ? Node::Kind::kTrue : Node::Kind::kFalse, 0, 0);
  }
  return AddNode(Node::Kind::kFalse, 0, 0);
}

// The string items of a comparison's right-hand side (one for a string, the list's items).
std::vector<std::string> Items(const lang::Operand& rhs) {
  if (rhs.kind == lang::Operand::Kind::kList || rhs.kind == lang::Operand::Kind::kListRef) {
    return rhs.items;
  }
  return {rhs.string};
}

uint32_t Lowering::LowerCompare(const Expr& e, CmpOp op) {
  const FieldDef* def = e.field_def;
  if (def == nullptr) {
    Error(e.location, absl::StrCat("internal: unchecked field `", e.field, "`"));
    return AddNode(Node::Kind::kFalse, 0, 0);
  }
  uint32_t slot = SlotFor(def, e.field_window);
  auto bad_op = [&] {
    Error(e.location, absl::StrCat("operator `", lang::CmpOpName(e.op), "` does not apply to ",
                                   FieldTypeName(def->type), " field `", e.field, "`"));
    return AddNode(Node::Kind::kFalse, 0, 0);
  };
  switch (def->type) {
    case FieldType::kText:
      if (def->text == nullptr) {
        Error(e.location, absl::StrCat("internal: text field `", e.field, "` has no text"));
        return AddNode(Node::Kind::kFalse, 0, 0);
      }
      return LowerText(e, slot, op);
    case FieldType::kKeyword:
    case FieldType::kKeywordList:
    case FieldType::kDomain:
    case FieldType::kDomainList:
      return LowerKeyword(e, slot, op);
    case FieldType::kNumber:
    case FieldType::kDuration: {
      switch (op) {
        case CmpOp::kEq:
        case CmpOp::kLt:
        case CmpOp::kLe:
        case CmpOp::kGt:
        case CmpOp::kGe:
          break;
        default:
          return bad_op();
      }
      Leaf leaf;
      leaf.field = slot;
      leaf.op = op;
      if (def->type == FieldType::kNumber) {
        if (e.rhs.kind != lang::Operand::Kind::kNumber) return bad_op();
        leaf.kind = LeafKind::kNumber;
        leaf.number = e.rhs.number;
      } else {
        if (e.rhs.kind != lang::Operand::Kind::kDuration) return bad_op();
        leaf.kind = LeafKind::kDuration;
        leaf.duration = e.rhs.duration;
      }
      return AddLeaf(leaf);
    }
    case FieldType::kBool: {
      if (op != CmpOp::kEq || e.rhs.kind != lang::Operand::Kind::kBool) return bad_op();
      Leaf leaf;
      leaf.kind = LeafKind::kBool;
      leaf.field = slot;
      leaf.boolean = e.rhs.boolean;
      return AddLeaf(leaf);
    }
  }
  return bad_op();
}

uint32_t Lowering::LowerText(const Expr& e, uint32_t slot, CmpOp op) {
  using Anchor = match::TextMatcherBuilder::Anchor;
  uint32_t tb = TextBuildFor(slot);
  auto special = [&](LeafKind kind) {
    Leaf leaf;
    leaf.kind = kind;
    leaf.field = slot;
    return AddLeaf(leaf);
  };
  switch (op) {
    case CmpOp::kMatch:
      if (e.rhs.kind != lang::Operand::Kind::kRegex) break;
      return PatternLeafNode(tb, {RegexId(tb, e.rhs.string, e.rhs.ignore_case)}, true);
    case CmpOp::kEq:
    case CmpOp::kIn: {
      bool empty_item = false;
      std::vector<uint32_t> ids;
      for (const std::string& item : Items(e.rhs)) {
        std::string folded = FoldTextLiteral(item);
        if (folded.empty()) {
          empty_item = true;
        } else {
          ids.push_back(LiteralId(tb, std::move(folded), false, Anchor::kWhole));
        }
      }
      if (!empty_item) return PatternLeafNode(tb, std::move(ids), false);
      if (ids.empty()) return special(LeafKind::kTextEmpty);
      uint32_t empty = special(LeafKind::kTextEmpty);
      uint32_t any = PatternLeafNode(tb, std::move(ids), false);
      return Junction(Node::Kind::kOr, {empty, any});
    }
    case CmpOp::kContains:
    case CmpOp::kHas:
    case CmpOp::kStartsWith:
    case CmpOp::kEndsWith:
    case CmpOp::kContainsAny:
    case CmpOp::kHasAny: {
      bool whole_word = op == CmpOp::kHas || op == CmpOp::kHasAny;
      Anchor anchor = op == CmpOp::kStartsWith ? Anchor::kStart
                      : op == CmpOp::kEndsWith ? Anchor::kEnd
                                               : Anchor::kNone;
      std::vector<uint32_t> ids;
      for (const std::string& item : Items(e.rhs)) {
        std::string folded = FoldTextLiteral(item);
        // Every text contains the empty string (and has it, by convention).
        if (folded.empty()) return special(LeafKind::kTextKnown);
        ids.push_back(LiteralId(tb, std::move(folded), whole_word, anchor));
      }
      return PatternLeafNode(tb, std::move(ids), false);
    }
    default:
      break;
  }
  Error(e.location, absl::StrCat("operator `", lang::CmpOpName(e.op),
                                 "` does not apply to text field `", e.field, "`"));
  return AddNode(Node::Kind::kFalse, 0, 0);
}

uint32_t Lowering::LowerKeyword(const Expr& e, uint32_t slot, CmpOp op) {
  const FieldSlot fs = out_->fields[slot];
  const bool domain = IsDomainType(fs.def->type);
  bool ok = true;
  auto normalise = [&](const std::string& literal) -> std::string {
    if (domain) {
      if (literal.empty()) return literal;
      absl::StatusOr<std::string> d = text::NormalizeDomain(literal);
      if (!d.ok()) {
        Error(e.rhs.location, absl::StrCat("invalid domain \"", literal, "\": ", Msg(d.status())));
        ok = false;
        return literal;
      }
      return *std::move(d);
    }
    if (fs.folded_keywords) return FoldKeywordLiteral(fs.def->name, literal);
    return literal;
  };
  Leaf leaf;
  leaf.field = slot;
  switch (op) {
    case CmpOp::kEq:
    case CmpOp::kContains:
    case CmpOp::kStartsWith:
    case CmpOp::kEndsWith: {
      if (e.rhs.kind != lang::Operand::Kind::kString) break;
      if (domain && op != CmpOp::kEq) break;
      leaf.kind = op == CmpOp::kEq           ? LeafKind::kStrEq
                  : op == CmpOp::kContains   ? LeafKind::kStrContains
                  : op == CmpOp::kStartsWith ? LeafKind::kStrStartsWith
                                             : LeafKind::kStrEndsWith;
      std::string v = normalise(e.rhs.string);
      if (!ok) return AddNode(Node::Kind::kFalse, 0, 0);
      out_->strings.push_back(std::move(v));
      leaf.arg = static_cast<uint32_t>(out_->strings.size() - 1);
      return AddLeaf(leaf);
    }
    case CmpOp::kIn: {
      absl::flat_hash_set<std::string> set;
      for (const std::string& item : Items(e.rhs)) set.insert(normalise(item));
      if (!ok) return AddNode(Node::Kind::kFalse, 0, 0);
      leaf.kind = domain ? LeafKind::kDomainIn : LeafKind::kStrIn;
      out_->sets.push_back(std::move(set));
      leaf.arg = static_cast<uint32_t>(out_->sets.size() - 1);
      return AddLeaf(leaf);
    }
    case CmpOp::kMatch: {
      if (e.rhs.kind != lang::Operand::Kind::kRegex) break;
      RE2::Options ro;
      ro.set_encoding(RE2::Options::EncodingUTF8);
      ro.set_case_sensitive(!e.rhs.ignore_case);
      ro.set_log_errors(false);
      ro.set_max_mem(static_cast<int64_t>(options_.matcher.max_regex_memory));
      auto re = std::make_unique<RE2>(e.rhs.string, ro);
      if (!re->ok()) {
        Error(e.rhs.location, absl::StrCat("invalid regex /", e.rhs.string, "/: ", re->error()));
        return AddNode(Node::Kind::kFalse, 0, 0);
      }
      leaf.kind = LeafKind::kStrRegex;
      out_->regexes.push_back(std::move(re));
      leaf.arg = static_cast<uint32_t>(out_->regexes.size() - 1);
      return AddLeaf(leaf);
    }
    default:
      break;
  }
  Error(e.location, absl::StrCat("operator `", lang::CmpOpName(e.op), "` does not apply to ",
                                 FieldTypeName(fs.def->type), " field `", e.field, "`"));
  return AddNode(Node::Kind::kFalse, 0, 0);
}

// The value of a node when every pattern leaf is false and every other leaf unknown.
Tri AnalyseNode(const CompiledRules& c, uint32_t n) {
  const Node& node = c.nodes[n];
  switch (node.kind) {
    case Node::Kind::kTrue:
      return Tri::kTrue;
    case Node::Kind::kFalse:
      return Tri::kFalse;
    case Node::Kind::kLeaf:
      return c.leaves[node.arg].kind == LeafKind::kPattern ? Tri::kFalse : Tri::kUnknown;
    case Node::Kind::kNot:
      return TriNot(AnalyseNode(c, c.children[node.arg]));
    case Node::Kind::kAnd: {
      Tri r = Tri::kTrue;
      for (uint32_t i = 0; i < node.count; ++i) {
        Tri t = AnalyseNode(c, c.children[node.arg + i]);
        if (t == Tri::kFalse) return Tri::kFalse;
        if (t == Tri::kUnknown) r = Tri::kUnknown;
      }
      return r;
    }
    case Node::Kind::kOr: {
      Tri r = Tri::kFalse;
      for (uint32_t i = 0; i < node.count; ++i) {
        Tri t = AnalyseNode(c, c.children[node.arg + i]);
        if (t == Tri::kTrue) return Tri::kTrue;
        if (t == Tri::kUnknown) r = Tri::kUnknown;
      }
      return r;
    }
  }
  return Tri::kUnknown;
}

void CollectPatternLeaves(const CompiledRules& c, uint32_t n, std::vector<uint32_t>* out) {
  const Node& node = c.nodes[n];
  switch (node.kind) {
    case Node::Kind::kLeaf: {
      const Leaf& leaf = c.leaves[node.arg];
      if (leaf.kind == LeafKind::kPattern) out->push_back(leaf.arg);
      return;
    }
    case Node::Kind::kNot:
    case Node::Kind::kAnd:
    case Node::Kind::kOr:
      for (uint32_t i = 0; i < node.count; ++i) {
        CollectPatternLeaves(c, c.children[node.arg + i], out);
      }
      return;
    default:
      return;
  }
}

// CSR from (key, value) pairs with keys in [0, n).
void BuildCsr(size_t n, const std::vector<std::pair<uint32_t, uint32_t>>& pairs,
              std::vector<uint32_t>* begin, std::vector<uint32_t>* values) {
  begin->assign(n + 1, 0);
  for (const auto& [k, v] : pairs) ++(*begin)[k + 1];
  for (size_t i = 0; i < n; ++i) (*begin)[i + 1] += (*begin)[i];
  values->assign(pairs.size(), 0);
  std::vector<uint32_t> next(begin->begin(), begin->end() - 1);
  for (const auto& [k, v] : pairs) (*values)[next[k]++] = v;
}

// Content, summary and name are the first parts of Activity::text, in this order (activity.h).
int PartPosition(std::string_view field_name) {
  if (field_name == "content") return 0;
  if (field_name == "summary") return 1;
  if (field_name == "name") return 2;
  return -1;
}

bool Lowering::BuildMatcher(const std::vector<uint32_t>& group, TextField* tf) {
  auto build = [&](const std::vector<uint32_t>& members) {
    const uint32_t group_base = text_builds_[members[0]]->base;
    match::ScopedTextMatcherBuilder builder;
    for (size_t m = 0; m < members.size(); ++m) {
      TextBuild& b = *text_builds_[members[m]];
      const uint32_t scope = m == 0 ? 0 : static_cast<uint32_t>(tf->parts[m - 1].scope);
      for (uint32_t local = 0; local < b.patterns.size(); ++local) {
        const Pattern& p = b.patterns[local];
        const uint32_t id = b.base - group_base + local;
        if (p.regex) {
          builder.AddRegex(id, p.text, p.ignore_case, scope);
        } else {
          builder.AddLiteral(id, p.text, p.whole_word, p.anchor, scope);
        }
      }
    }
    return std::move(builder).Build(options_.matcher);
  };
  absl::StatusOr<std::unique_ptr<const match::TextMatcher>> m = build(group);
  if (m.ok()) {
    tf->matcher = *std::move(m);
    return true;
  }
  // Name the field whose patterns fail (ids are only meaningful per field).
  bool named = false;
  for (uint32_t b : group) {
    absl::Status st = group.size() == 1 ? m.status() : build({b}).status();
    if (st.ok()) continue;
    named = true;
    diags_->push_back(
        {"", 0, 0, Diagnostic::Severity::kError,
         absl::StrCat("cannot compile the patterns of field `",
                      S(out_->fields[text_builds_[b]->slot].def->name), "`: ", Msg(st))});
  }
  if (!named) {
    diags_->push_back(
        {"", 0, 0, Diagnostic::Severity::kError,
         absl::StrCat("cannot compile the patterns of field `", S(out_->fields[tf->slot].def->name),
                      "` and its parts: ", Msg(m.status()))});
  }
  return false;
}

bool Lowering::Finish() {
  bool ok = true;
  // Matchers: `text` (when it has patterns) with its part fields, every other field alone.
  std::vector<std::vector<uint32_t>> groups;
  int text_build = -1;
  for (uint32_t i = 0; i < text_builds_.size(); ++i) {
    if (out_->fields[text_builds_[i]->slot].def->name == "text" && text_builds_[i]->count > 0) {
      text_build = static_cast<int>(i);
    }
  }
  if (text_build >= 0) groups.push_back({static_cast<uint32_t>(text_build)});
  for (uint32_t i = 0; i < text_builds_.size(); ++i) {
    if (static_cast<int>(i) == text_build) continue;
    if (text_build >= 0 && text_builds_[i]->count > 0 &&
        PartPosition(out_->fields[text_builds_[i]->slot].def->name) >= 0) {
      groups.front().push_back(i);
    } else {
      groups.push_back({i});
    }
  }

  // Global pattern ids (each group's contiguous), and one matcher per group.
  uint32_t base = 0;
  for (const std::vector<uint32_t>& group : groups) {
    TextField tf;
    tf.slot = text_builds_[group[0]]->slot;
    tf.pattern_base = base;
    for (size_t m = 0; m < group.size(); ++m) {
      TextBuild& b = *text_builds_[group[m]];
      b.base = base;
      b.text_field = static_cast<uint32_t>(out_->text_fields.size());
      base += b.count;
      if (m > 0) {
        PartField part;
        part.slot = b.slot;
        part.position = static_cast<uint32_t>(PartPosition(out_->fields[b.slot].def->name));
        part.scope = static_cast<uint32_t>(m);
        tf.parts.push_back(part);
      }
    }
    tf.pattern_count = base - tf.pattern_base;
    TextBuild& first = *text_builds_[group[0]];
    if (!first.part_regexes.empty()) {
      first.part_regexes.resize(tf.pattern_count);
      tf.part_regexes = std::move(first.part_regexes);
    }
    if (!BuildMatcher(group, &tf)) ok = false;
    out_->text_fields.push_back(std::move(tf));
  }
  // Pattern leaves: from their text build to its matcher; their patterns' global ids.
  std::vector<uint32_t> pleaf_base(out_->pattern_leaves.size());
  for (size_t p = 0; p < out_->pattern_leaves.size(); ++p) {
    PatternLeaf& pl = out_->pattern_leaves[p];
    pleaf_base[p] = text_builds_[pl.text_field]->base;
    pl.text_field = text_builds_[pl.text_field]->text_field;
  }
  out_->pattern_count = base;
  text_builds_.clear();

  // pattern -> pattern leaves.
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  for (uint32_t p = 0; p < out_->pattern_leaves.size(); ++p) {
    const uint32_t b = pleaf_base[p];
    for (uint32_t local : pleaf_locals_[p]) pairs.emplace_back(b + local, p);
  }
  BuildCsr(out_->pattern_count, pairs, &out_->pattern_leaf_begin, &out_->pattern_leaf_ids);
  pleaf_locals_.clear();

  // The rule index.
  pairs.clear();
  std::vector<uint32_t> pleaves;
  for (uint32_t r = 0; r < out_->rule_roots.size(); ++r) {
    uint32_t root = out_->rule_roots[r];
    if (AnalyseNode(*out_, root) != Tri::kFalse) {
      out_->always_rules.push_back(r);
      continue;
    }
    pleaves.clear();
    CollectPatternLeaves(*out_, root, &pleaves);
    std::sort(pleaves.begin(), pleaves.end());
    pleaves.erase(std::unique(pleaves.begin(), pleaves.end()), pleaves.end());
    for (uint32_t p : pleaves) pairs.emplace_back(p, r);
  }
  BuildCsr(out_->pattern_leaves.size(), pairs, &out_->pleaf_rule_begin, &out_->pleaf_rule_ids);
  return ok;
}

// ---------------------------------------------------------------------------------------
// Blocklists

absl::StatusOr<std::string> ReadFileBytes(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string bytes;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    bytes.append(buf, static_cast<size_t>(in.gcount()));
    if (bytes.size() > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
    }
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return bytes;
}

void LoadBlocklists(CompiledRules* c, const std::string* directory,
                    std::vector<Diagnostic>* diags) {
  const lang::PolicyAst& ast = c->ast;
  for (const lang::BlocklistDecl& decl : ast.blocklists) {
    const char* what = decl.allowlist ? "allowlist" : "blocklist";
    auto error = [&](std::string message) {
      diags->push_back(
          MakeDiag(ast, decl.location, Diagnostic::Severity::kError, std::move(message)));
    };
    blocklist::ParseOptions po;
    po.path = decl.resolved_path;
    if (!decl.format.empty()) {
      std::optional<blocklist::Format> f = blocklist::ParseFormat(decl.format);
      if (!f) {
        error(absl::StrCat("unknown ", what, " format `", decl.format, "`"));
        continue;
      }
      po.format = *f;
    }
    if (!decl.severity.empty()) {
      std::optional<blocklist::Severity> s = blocklist::ParseSeverity(decl.severity);
      if (!s) {
        error(absl::StrCat("unknown severity `", decl.severity, "`"));
        continue;
      }
      po.default_severity = *s;
    }
    // The front end normally read the file already (ast.data_files); else read it now.
    const std::string* bytes = nullptr;
    if (decl.data_file >= 0 && static_cast<size_t>(decl.data_file) < ast.data_files.size() &&
        ast.data_files[decl.data_file].path == decl.resolved_path) {
      bytes = &ast.data_files[decl.data_file].bytes;
    }
    for (const lang::SourceFile& f : ast.data_files) {
      if (bytes != nullptr) break;
      if (f.path == decl.resolved_path) {
        bytes = &f.bytes;
        break;
      }
    }
    if (bytes == nullptr) {
      if (directory == nullptr) {
        error(absl::StrCat("cannot read ", what, " \"", decl.path, "\": not loaded"));
        continue;
      }
      absl::StatusOr<std::string> read =
          ReadFileBytes(absl::StrCat(*directory, "/", decl.resolved_path), po.max_bytes);
      if (!read.ok()) {
        error(absl::StrCat("cannot read ", what, " \"", decl.path, "\": ", Msg(read.status())));
        continue;
      }
      c->ast.data_files.push_back({decl.resolved_path, *std::move(read)});
      bytes = &c->ast.data_files.back().bytes;
    }
    absl::StatusOr<blocklist::ParseResult> parsed = blocklist::ParseBlocklist(*bytes, po);
    if (!parsed.ok()) {
      error(absl::StrCat("cannot read ", what, " \"", decl.path, "\": ", Msg(parsed.status())));
      continue;
    }
    for (Diagnostic& d : parsed->diagnostics) {
      d.severity = Diagnostic::Severity::kWarning;
      diags->push_back(std::move(d));
    }
    if (decl.allowlist) {
      c->has_allowlist = true;
      absl::StrAppend(&c->allowlist_sources, c->allowlist_sources.empty() ? "" : ", ",
                      decl.resolved_path);
      size_t before = c->allowlist.size();
      for (const blocklist::Entry& e : parsed->entries) {
        if (!e.domain.empty()) c->allowlist.insert(e.domain);
      }
      if (c->allowlist.size() == before && parsed->entries.empty()) {
        diags->push_back(MakeDiag(ast, decl.location, Diagnostic::Severity::kWarning,
                                  absl::StrCat("allowlist \"", decl.path, "\" lists no domain")));
      }
    } else {
      for (blocklist::Entry& e : parsed->entries) c->file_entries.push_back(std::move(e));
    }
  }
  if (c->has_allowlist && c->allowlist.empty()) {
    diags->push_back({"", 0, 0, Diagnostic::Severity::kWarning,
                      "the allowlists list no domain: every activity will be rejected"});
  }
}

CompileResult CompileImpl(const CompileOptions& options, lang::PolicyAst ast,
                          std::vector<Diagnostic> diagnostics, const std::string* directory,
                          absl::Time start) {
  CompileResult result;
  result.diagnostics = std::move(diagnostics);
  auto finish = [&]() {
    result.compile_seconds = absl::ToDoubleSeconds(absl::Now() - start);
    return std::move(result);
  };
  if (HasErrors(result.diagnostics)) return finish();

  auto rules = std::make_shared<CompiledRules>();
  rules->ast = std::move(ast);
  std::vector<Diagnostic>& diags = result.diagnostics;

  LoadBlocklists(rules.get(), directory, &diags);

  for (const lang::ThresholdDecl& t : rules->ast.thresholds) {
    Threshold& th = t.reject ? rules->reject_threshold : rules->flag_threshold;
    th.set = true;
    th.milli = t.milli;
    th.where = absl::StrCat(PathOf(rules->ast, t.location), ":", t.location.line);
  }

  Lowering lowering(rules.get(), options, &diags);
  rules->rule_roots.reserve(rules->ast.rules.size());
  for (const lang::RuleDecl& r : rules->ast.rules) {
    rules->rule_roots.push_back(lowering.LowerRule(r));
  }
  if (HasErrors(diags)) return finish();
  if (!lowering.Finish()) return finish();

  for (const Diagnostic& d : diags) {
    if (d.severity == Diagnostic::Severity::kWarning) rules->warnings.push_back(d);
  }

  rules->version_prefix = VersionPrefix(rules->ast);
  if (!rules->version_prefix) {
    diags.push_back({"", 0, 0, Diagnostic::Severity::kError, "cannot initialise SHA-256"});
    return finish();
  }
  std::shared_ptr<const CompiledRules> shared = std::move(rules);
  std::shared_ptr<const blocklist::DomainTable> table =
      BuildDomainTable(*shared, options.api_blocks);
  std::string version = FinishVersion(*shared, options.api_blocks);
  result.policy =
      std::make_shared<PolicyImpl>(std::move(shared), std::move(table), std::move(version));
  return finish();
}

}  // namespace

std::shared_ptr<const blocklist::DomainTable> BuildDomainTable(
    const CompiledRules& rules, const std::vector<blocklist::Entry>& api_blocks) {
  blocklist::DomainTableBuilder builder;
  for (const blocklist::Entry& e : rules.file_entries) builder.Add(e);
  for (const blocklist::Entry& e : api_blocks) builder.Add(e);
  return std::move(builder).Build();
}

std::string FinishVersion(const CompiledRules& rules, std::vector<blocklist::Entry> api_blocks) {
  std::sort(api_blocks.begin(), api_blocks.end(),
            [](const blocklist::Entry& a, const blocklist::Entry& b) {
              return std::tie(a.domain, a.digest, a.written, a.severity, a.reject_media,
                              a.reject_reports, a.public_comment, a.private_comment, a.path,
                              a.line) < std::tie(b.domain, b.digest, b.written, b.severity,
                                                 b.reject_media, b.reject_reports, b.public_comment,
                                                 b.private_comment, b.path, b.line);
            });
  std::shared_ptr<EVP_MD_CTX> ctx = NewDigest();
  if (!ctx || !rules.version_prefix ||
      EVP_MD_CTX_copy_ex(ctx.get(), rules.version_prefix.get()) != 1) {
    return "";
  }
  HashU64(ctx.get(), api_blocks.size());
  for (const blocklist::Entry& e : api_blocks) {
    HashBytes(ctx.get(), e.domain);
    HashBytes(ctx.get(), e.digest);
    HashBytes(ctx.get(), e.written);
    HashU64(ctx.get(), static_cast<uint64_t>(e.severity));
    HashU64(ctx.get(), e.reject_media ? 1 : 0);
    HashU64(ctx.get(), e.reject_reports ? 1 : 0);
    HashBytes(ctx.get(), e.public_comment);
    HashBytes(ctx.get(), e.private_comment);
    HashBytes(ctx.get(), e.path);
    HashU64(ctx.get(), e.line);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

std::shared_ptr<const Policy> PolicyImpl::WithApiBlocks(
    std::vector<blocklist::Entry> api_blocks) const {
  std::shared_ptr<const blocklist::DomainTable> table = BuildDomainTable(*rules_, api_blocks);
  std::string version = FinishVersion(*rules_, std::move(api_blocks));
  return std::make_shared<PolicyImpl>(rules_, std::move(table), std::move(version));
}

}  // namespace policy_internal

Compiler::Compiler(CompileOptions options) : options_(std::move(options)) {}

CompileResult Compiler::Compile(const std::string& directory) {
  absl::Time start = absl::Now();
  lang::FrontEndResult fe = lang::LoadPolicyDirectory(directory, options_.front_end);
  return policy_internal::CompileImpl(options_, std::move(fe.ast), std::move(fe.diagnostics),
                                      &directory, start);
}

CompileResult Compiler::CompileAst(lang::PolicyAst ast, std::vector<Diagnostic> diagnostics) {
  return policy_internal::CompileImpl(options_, std::move(ast), std::move(diagnostics), nullptr,
                                      absl::Now());
}

}  // namespace fedwall
