#include "engine/lang/parser.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/fields/field_registry.h"
#include "engine/lang/lexer.h"
#include "engine/lang/strings.h"

namespace fedwall::lang {
namespace {

constexpr std::array<std::string_view, 7> kStatementKeywords = {
    "list", "macro", "blocklist", "allowlist", "threshold", "rule", "test"};
constexpr std::array<std::string_view, 6> kRuleItems = {"when", "then", "score",
                                                        "tags", "mode", "reason"};
constexpr std::array<std::string_view, 3> kTestItems = {"activity", "with", "expect"};
constexpr std::array<std::string_view, 14> kExpressionWords = {
    "and", "or",         "not",      "true",         "false",   "known", "contains",
    "has", "startswith", "endswith", "contains_any", "has_any", "in",    "from"};

struct EffectName {
  std::string_view name;
  EffectBit bit;
};
constexpr std::array<EffectName, 4> kEffects = {{{"strip_media", kStripMedia},
                                                 {"mark_sensitive", kMarkSensitive},
                                                 {"unlist", kUnlist},
                                                 {"followers_only", kFollowersOnly}}};

template <size_t N>
bool In(const std::array<std::string_view, N>& words, std::string_view w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

std::optional<Action> ParseAction(std::string_view w) {
  if (w == "reject") return Action::kReject;
  if (w == "flag") return Action::kFlag;
  if (w == "accept") return Action::kAccept;
  return std::nullopt;
}

std::optional<EffectBit> ParseEffect(std::string_view w) {
  for (const EffectName& e : kEffects) {
    if (e.name == w) return e.bit;
  }
  return std::nullopt;
}

std::optional<CmpOp> SymbolOp(TokenKind k) {
  switch (k) {
    case TokenKind::kEq:
      return CmpOp::kEq;
    case TokenKind::kNe:
      return CmpOp::kNe;
    case TokenKind::kLt:
      return CmpOp::kLt;
    case TokenKind::kLe:
      return CmpOp::kLe;
    case TokenKind::kGt:
      return CmpOp::kGt;
    case TokenKind::kGe:
      return CmpOp::kGe;
    case TokenKind::kMatch:
      return CmpOp::kMatch;
    case TokenKind::kNotMatch:
      return CmpOp::kNotMatch;
    default:
      return std::nullopt;
  }
}

std::optional<CmpOp> WordOp(std::string_view w) {
  if (w == "contains") return CmpOp::kContains;
  if (w == "has") return CmpOp::kHas;
  if (w == "startswith") return CmpOp::kStartsWith;
  if (w == "endswith") return CmpOp::kEndsWith;
  if (w == "contains_any") return CmpOp::kContainsAny;
  if (w == "has_any") return CmpOp::kHasAny;
  if (w == "in") return CmpOp::kIn;
  return std::nullopt;
}

std::optional<CmpOp> TokenOp(const Token& t) {
  if (t.kind == TokenKind::kIdentifier) return WordOp(t.value);
  return SymbolOp(t.kind);
}

// The closest of `candidates` to `word`, when close enough to be a likely typo.
template <typename Range>
std::string Closest(std::string_view word, const Range& candidates) {
  size_t cap = std::max<size_t>(1, std::min<size_t>(3, word.size() / 3));
  std::string best;
  size_t best_distance = cap + 1;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(word, c, cap);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

std::string DidYouMean(const std::string& suggestion) {
  return suggestion.empty() ? "" : Cat(" (did you mean '", suggestion, "'?)");
}

class Parser {
 public:
  Parser(uint32_t file, std::string_view source, const FrontEndOptions& options, Reporter& reporter,
         PolicyAst& ast)
      : file_(file),
        options_(options),
        max_depth_(std::min(options.max_nesting_depth, kHardMaxNestingDepth)),
        reporter_(reporter),
        ast_(ast),
        lexer_(source, file, reporter) {
    cur_ = lexer_.Next();
  }

  void ParseFile() {
    while (!cur_.Is(TokenKind::kEnd)) {
      if (cur_.Is(TokenKind::kSemicolon)) {
        Advance();
        continue;
      }
      if (!ParseStatement()) SyncTopLevel();
    }
  }

 private:
  // ---------------------------------------------------------------- tokens
  void Advance() {
    if (peek_) {
      cur_ = std::move(*peek_);
      peek_.reset();
    } else {
      cur_ = lexer_.Next();
    }
  }
  const Token& Peek() {
    if (!peek_) peek_ = lexer_.Next();
    return *peek_;
  }
  SourceLocation Loc(const Token& t) const { return SourceLocation{file_, t.line, t.column}; }

  // Reports at `t`, unless `t` is invalid input (the lexer reported it already).
  void ErrorAt(const Token& t, std::string message) {
    if (t.Is(TokenKind::kInvalid)) return;
    reporter_.Error(Loc(t), std::move(message));
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::kEnd:
        return "end of file";
      case TokenKind::kIdentifier:
        return Cat("'", t.value, "'");
      case TokenKind::kString: {
        std::string shown = t.value.size() > 40 ? t.value.substr(0, 40) + "..." : t.value;
        return Cat("string \"", shown, "\"");
      }
      case TokenKind::kRegex:
        return Cat("regex ", std::string(t.text.substr(0, 40)));
      case TokenKind::kNumber:
      case TokenKind::kDuration:
        return Cat("'", std::string(t.text), "'");
      default:
        return TokenKindName(t.kind);
    }
  }

  bool IsStatementKeyword(const Token& t) const {
    return t.Is(TokenKind::kIdentifier) && In(kStatementKeywords, t.value);
  }
  bool IsStatementStart(const Token& t) const { return t.at_line_start && IsStatementKeyword(t); }
  bool IsRuleItem(const Token& t) const {
    return t.Is(TokenKind::kIdentifier) && In(kRuleItems, t.value);
  }

  // `cur_` must be `kind`; consumes it.
  bool Expect(TokenKind kind, std::string_view context) {
    if (cur_.Is(kind)) {
      Advance();
      return true;
    }
    ErrorAt(cur_, Cat("expected ", TokenKindName(kind), " ", context, ", got ", Describe(cur_)));
    return false;
  }

  // A name for a list, macro, rule or tag: an undotted identifier that is not reserved.
  bool ExpectName(std::string_view what, std::string* name, SourceLocation* at) {
    if (!cur_.Is(TokenKind::kIdentifier)) {
      ErrorAt(cur_, Cat("expected ", what, ", got ", Describe(cur_)));
      return false;
    }
    if (cur_.value.find('.') != std::string::npos) {
      ErrorAt(cur_, Cat("'", cur_.value, "' cannot be ", what, ": names have no dots"));
      return false;
    }
    if (IsReservedWord(cur_.value)) {
      ErrorAt(cur_, Cat("'", cur_.value, "' is a reserved word and cannot be ", what));
      return false;
    }
    *name = cur_.value;
    if (at != nullptr) *at = Loc(cur_);
    Advance();
    return true;
  }

  bool ExpectString(std::string_view context, std::string* value, SourceLocation* at) {
    if (!cur_.Is(TokenKind::kString)) {
      ErrorAt(cur_, Cat("expected a string ", context, ", got ", Describe(cur_)));
      return false;
    }
    *value = std::move(cur_.value);
    if (at != nullptr) *at = Loc(cur_);
    Advance();
    return true;
  }

  // ---------------------------------------------------------------- recovery
  void SyncTopLevel() {
    while (!cur_.Is(TokenKind::kEnd) && !IsStatementStart(cur_)) Advance();
  }

  // Inside a rule body: to '}', a rule item keyword, or a statement keyword on a new line.
  void SyncRuleBody() {
    while (!cur_.Is(TokenKind::kEnd) && !cur_.Is(TokenKind::kRBrace) && !IsRuleItem(cur_) &&
           !IsStatementStart(cur_)) {
      Advance();
    }
  }

  bool IsTestSync(const Token& t) const {
    return t.Is(TokenKind::kEnd) || t.Is(TokenKind::kRBrace) || IsStatementStart(t) ||
           (t.at_line_start && t.Is(TokenKind::kIdentifier) && In(kTestItems, t.value));
  }
  void SyncTestBody() {
    while (!IsTestSync(cur_)) Advance();
  }

  // ---------------------------------------------------------------- statements
  bool ParseStatement() {
    if (cur_.Is(TokenKind::kIdentifier)) {
      const std::string& w = cur_.value;
      if (w == "list") return ParseList();
      if (w == "macro") return ParseMacro();
      if (w == "blocklist") return ParseBlocklist(false);
      if (w == "allowlist") return ParseBlocklist(true);
      if (w == "threshold") return ParseThreshold();
      if (w == "rule") return ParseRule();
      if (w == "test") return ParseTest();
      std::string hint;
      if (In(kRuleItems, w)) {
        hint = Cat(" ('", w, "' belongs inside a rule's { })");
      } else {
        hint = DidYouMean(Closest(w, kStatementKeywords));
      }
      ErrorAt(cur_, Cat("expected a statement (list, macro, blocklist, allowlist, "
                        "threshold, rule or test), got ",
                        Describe(cur_), hint));
    } else {
      ErrorAt(cur_, Cat("expected a statement (list, macro, blocklist, allowlist, "
                        "threshold, rule or test), got ",
                        Describe(cur_)));
    }
    Advance();
    return false;
  }

  bool ParseStringList(std::string_view owner, std::vector<std::string>* items,
                       std::vector<SourceLocation>* locations) {
    SourceLocation open = Loc(cur_);
    if (!Expect(TokenKind::kLBracket, "to start a list")) return false;
    bool over_limit = false;
    while (!cur_.Is(TokenKind::kRBracket)) {
      if (!cur_.Is(TokenKind::kString)) {
        ErrorAt(cur_, Cat("expected a string in ", owner, ", got ", Describe(cur_),
                          cur_.Is(TokenKind::kEnd) || IsStatementStart(cur_)
                              ? Cat(" (missing ']' for the '[' at line ", open.line, ")")
                              : ""));
        return false;
      }
      if (items->size() >= options_.max_list_items) {
        if (!over_limit) {
          ErrorAt(cur_, Cat(owner, " has more than ", options_.max_list_items,
                            " items (max_list_items)"));
          over_limit = true;
        }
      } else {
        items->push_back(std::move(cur_.value));
        locations->push_back(Loc(cur_));
      }
      Advance();
      if (cur_.Is(TokenKind::kComma)) {
        Advance();
      } else if (!cur_.Is(TokenKind::kRBracket)) {
        ErrorAt(cur_, Cat("expected ',' or ']' in ", owner, ", got ", Describe(cur_)));
        return false;
      }
    }
    Advance();
    return !over_limit;
  }

  bool ParseList() {
    Advance();  // list
    ListDecl decl;
    if (!ExpectName("a list name", &decl.name, &decl.location)) return false;
    if (cur_.IsWord("from")) {
      Advance();
      SourceLocation at;
      if (!ExpectString("(the list file's path) after 'from'", &decl.from_path, &at)) {
        ast_.lists.push_back(std::move(decl));
        return false;
      }
      ast_.lists.push_back(std::move(decl));
      return true;
    }
    if (!cur_.Is(TokenKind::kAssign)) {
      ErrorAt(cur_,
              Cat("expected '=' or 'from' after 'list ", decl.name, "', got ", Describe(cur_)));
      ast_.lists.push_back(std::move(decl));
      return false;
    }
    Advance();
    std::vector<SourceLocation> locations;
    bool ok = ParseStringList(Cat("list '", decl.name, "'"), &decl.items, &locations);
    for (const SourceLocation& l : locations) {
      decl.item_lines.push_back(l.line);
      decl.item_columns.push_back(l.column);
    }
    ast_.lists.push_back(std::move(decl));
    return ok;
  }

  bool ParseMacro() {
    Advance();  // macro
    MacroDecl decl;
    if (!ExpectName("a macro name", &decl.name, &decl.location)) return false;
    if (!Expect(TokenKind::kAssign, Cat("after 'macro ", decl.name, "'"))) {
      ast_.macros.push_back(std::move(decl));
      return false;
    }
    decl.body = ParseExpr();
    bool ok = decl.body != nullptr && CheckAfterCondition(/*in_rule=*/false);
    if (!ok) decl.body = nullptr;
    ast_.macros.push_back(std::move(decl));
    return ok;
  }

  // After a complete condition: what may follow it. Catches `a == 1 b == 2` (missing and/or).
  bool CheckAfterCondition(bool in_rule) {
    const Token& t = cur_;
    bool fine = t.Is(TokenKind::kEnd) || t.Is(TokenKind::kSemicolon) || IsStatementKeyword(t) ||
                (in_rule && (t.Is(TokenKind::kRBrace) || IsRuleItem(t)));
    if (fine) return true;
    if (t.Is(TokenKind::kRParen)) {
      ErrorAt(t, "unbalanced ')'");
    } else {
      ErrorAt(t, Cat("unexpected ", Describe(t),
                     " after a complete condition (missing 'and' or 'or'?)"));
    }
    return false;
  }

  bool ParseBlocklist(bool allowlist) {
    std::string keyword = cur_.value;
    BlocklistDecl decl;
    decl.allowlist = allowlist;
    decl.location = Loc(cur_);
    Advance();
    if (!ExpectString(Cat("(the file's path) after '", keyword, "'"), &decl.path, nullptr)) {
      return false;
    }
    bool seen_format = false;
    bool seen_severity = false;
    while (cur_.IsWord("format") || cur_.IsWord("severity")) {
      bool is_format = cur_.value == "format";
      Token option = cur_;
      Advance();
      if (!cur_.Is(TokenKind::kIdentifier)) {
        ErrorAt(cur_, Cat("expected a ", option.value, " name after '", option.value, "', got ",
                          Describe(cur_)));
        return false;
      }
      bool& seen = is_format ? seen_format : seen_severity;
      if (seen) {
        ErrorAt(option, Cat("'", option.value, "' given twice"));
        return false;
      }
      seen = true;
      if (is_format) {
        decl.format = cur_.value;
      } else if (allowlist) {
        ErrorAt(option, "an allowlist has no severity (only its domains are read)");
        return false;
      } else {
        decl.severity = cur_.value;
      }
      Advance();
    }
    ast_.blocklists.push_back(std::move(decl));
    return true;
  }

  // NUMBER -> thousandths, in [-kMaxScoreMilli, kMaxScoreMilli].
  bool ExpectScore(std::string_view context, int64_t* milli) {
    if (!cur_.Is(TokenKind::kNumber)) {
      ErrorAt(cur_, Cat("expected a number ", context, ", got ", Describe(cur_)));
      return false;
    }
    if (cur_.milli > kMaxScoreMilli || cur_.milli < -kMaxScoreMilli) {
      ErrorAt(cur_, Cat("score ", std::string(cur_.text), " out of range (at most ",
                        kMaxScoreMilli / 1000, " either way)"));
      return false;
    }
    *milli = cur_.milli;
    Advance();
    return true;
  }

  bool ParseThreshold() {
    ThresholdDecl decl;
    decl.location = Loc(cur_);
    Advance();
    if (cur_.IsWord("flag") || cur_.IsWord("reject")) {
      decl.reject = cur_.value == "reject";
      Advance();
    } else {
      ErrorAt(cur_, Cat("expected 'flag' or 'reject' after 'threshold', got ", Describe(cur_)));
      return false;
    }
    if (!ExpectScore("after 'threshold'", &decl.milli)) return false;
    ast_.thresholds.push_back(decl);
    return true;
  }

  // ---------------------------------------------------------------- rules
  bool ParseRule() {
    Advance();  // rule
    RuleDecl rule;
    if (!ExpectName("a rule id", &rule.id, &rule.location)) return false;
    if (cur_.Is(TokenKind::kString)) {
      rule.title = std::move(cur_.value);
      Advance();
    }
    Token open = cur_;
    if (!Expect(TokenKind::kLBrace, Cat("to open rule '", rule.id, "'"))) {
      ast_.rules.push_back(std::move(rule));
      return false;
    }
    std::array<uint32_t, kRuleItems.size()> seen_line{};  // item -> line of its first use
    bool had_error = false;
    bool has_reason = false;
    bool closed = false;
    while (true) {
      if (cur_.Is(TokenKind::kRBrace)) {
        Advance();
        closed = true;
        break;
      }
      if (cur_.Is(TokenKind::kSemicolon)) {
        Advance();
        continue;
      }
      if (cur_.Is(TokenKind::kEnd) || IsStatementStart(cur_)) {
        ErrorAt(cur_,
                Cat("missing '}' to close rule '", rule.id, "' (opened at line ", open.line, ")"));
        had_error = true;
        break;
      }
      if (!IsRuleItem(cur_)) {
        std::string hint = DidYouMean(Closest(cur_.value, kRuleItems));
        ErrorAt(cur_, Cat("expected when, then, score, tags, mode, reason or '}' in "
                          "rule '",
                          rule.id, "', got ", Describe(cur_),
                          cur_.Is(TokenKind::kIdentifier) ? hint : ""));
        had_error = true;
        Advance();
        SyncRuleBody();
        continue;
      }
      size_t item =
          std::find(kRuleItems.begin(), kRuleItems.end(), cur_.value) - kRuleItems.begin();
      Token item_token = cur_;
      bool duplicate = seen_line[item] != 0;
      if (duplicate) {
        ErrorAt(cur_, Cat("duplicate '", cur_.value, "' in rule '", rule.id, "' (first at line ",
                          seen_line[item], ")"));
        had_error = true;
      } else {
        seen_line[item] = cur_.line;
      }
      Advance();
      // A duplicate item is parsed into a scratch rule, for its own errors.
      RuleDecl scratch;
      RuleDecl& target = duplicate ? scratch : rule;
      bool ok = ParseRuleItem(item_token, target, &has_reason);
      if (!ok) {
        had_error = true;
        SyncRuleBody();
      }
    }
    if (!had_error) {
      if (seen_line[0] == 0) {
        reporter_.Error(rule.location, Cat("rule '", rule.id, "' has no 'when'"));
      } else if (seen_line[1] == 0 && seen_line[2] == 0) {
        reporter_.Error(rule.location, Cat("rule '", rule.id, "' needs 'then' or 'score'"));
      }
    }
    if (!has_reason) rule.reason = rule.title.empty() ? rule.id : rule.title;
    ast_.rules.push_back(std::move(rule));
    return closed;
  }

  bool ParseRuleItem(const Token& item, RuleDecl& rule, bool* has_reason) {
    const std::string& w = item.value;
    if (w == "when") {
      rule.when = ParseExpr();
      return rule.when != nullptr && CheckAfterCondition(/*in_rule=*/true);
    }
    if (w == "then") return ParseThen(rule);
    if (w == "score") {
      if (!ExpectScore("after 'score'", &rule.score_milli)) return false;
      rule.has_score = true;
      return true;
    }
    if (w == "tags") {
      while (true) {
        std::string tag;
        if (!ExpectName("a tag", &tag, nullptr)) return false;
        rule.tags.push_back(std::move(tag));
        if (!cur_.Is(TokenKind::kComma)) return true;
        Advance();
      }
    }
    if (w == "mode") {
      if (cur_.IsWord("enforce") || cur_.IsWord("monitor")) {
        rule.monitor = cur_.value == "monitor";
        Advance();
        return true;
      }
      ErrorAt(cur_, Cat("expected 'enforce' or 'monitor' after 'mode', got ", Describe(cur_)));
      return false;
    }
    // reason
    if (!ExpectString("after 'reason'", &rule.reason, nullptr)) return false;
    *has_reason = true;
    return true;
  }

  bool ParseThen(RuleDecl& rule) {
    std::string action_word;
    while (true) {
      if (!cur_.Is(TokenKind::kIdentifier) || IsRuleItem(cur_) || IsStatementKeyword(cur_)) {
        ErrorAt(cur_, Cat("expected an action (reject, flag, accept) or an effect "
                          "(strip_media, mark_sensitive, unlist, followers_only) "
                          "after 'then', got ",
                          Describe(cur_)));
        return false;
      }
      if (std::optional<Action> a = ParseAction(cur_.value)) {
        if (rule.action != Action::kNone) {
          ErrorAt(cur_,
                  Cat("a rule takes one action: '", cur_.value, "' after '", action_word, "'"));
          return false;
        }
        rule.action = *a;
        action_word = cur_.value;
      } else if (std::optional<EffectBit> e = ParseEffect(cur_.value)) {
        if (rule.effects & *e) {
          reporter_.Warning(Loc(cur_), Cat("effect '", cur_.value, "' given twice"));
        }
        rule.effects |= *e;
      } else {
        std::vector<std::string_view> all = {"reject", "flag", "accept"};
        for (const EffectName& en : kEffects) all.push_back(en.name);
        ErrorAt(cur_, Cat("unknown action or effect '", cur_.value,
                          "' (actions: reject, flag, accept; effects: strip_media, "
                          "mark_sensitive, unlist, followers_only)",
                          DidYouMean(Closest(cur_.value, all))));
        return false;
      }
      Advance();
      if (!cur_.Is(TokenKind::kComma)) return true;
      Advance();
    }
  }

  // ---------------------------------------------------------------- tests
  bool ParseTest() {
    Advance();  // test
    TestDecl test;
    if (!ExpectString("(the test's name) after 'test'", &test.name, &test.location)) {
      return false;
    }
    Token open = cur_;
    if (!Expect(TokenKind::kLBrace, "to open the test")) {
      ast_.tests.push_back(std::move(test));
      return false;
    }
    bool closed = false;
    while (true) {
      if (cur_.Is(TokenKind::kRBrace)) {
        Advance();
        closed = true;
        break;
      }
      if (cur_.Is(TokenKind::kSemicolon)) {
        Advance();
        continue;
      }
      if (cur_.Is(TokenKind::kEnd) || IsStatementStart(cur_)) {
        ErrorAt(cur_, Cat("missing '}' to close test \"", test.name, "\" (opened at line ",
                          open.line, ")"));
        break;
      }
      bool ok = false;
      if (cur_.IsWord("activity")) {
        Advance();
        std::string path;
        SourceLocation at;
        ok = ExpectString("(the activity file's path) after 'activity'", &path, &at);
        if (ok) {
          test.activities.push_back(std::move(path));
          test.activity_locations.push_back(at);
        }
      } else if (cur_.IsWord("with")) {
        Advance();
        ok = ParseFacts(test);
      } else if (cur_.IsWord("expect")) {
        Token expect = cur_;
        Advance();
        ok = ParseExpectation(expect, test);
      } else {
        ErrorAt(cur_,
                Cat("expected activity, with, expect or '}' in a test, got ", Describe(cur_)));
        Advance();
      }
      if (!ok) SyncTestBody();
    }
    ast_.tests.push_back(std::move(test));
    return closed;
  }

  bool ParseFacts(TestDecl& test) {
    while (true) {
      FactAssignment fact;
      fact.location = Loc(cur_);
      if (!cur_.Is(TokenKind::kIdentifier)) {
        ErrorAt(cur_, Cat("expected a fact (e.g. actor.age = 1h), got ", Describe(cur_)));
        return false;
      }
      fact.field = cur_.value;
      Advance();
      if (!Expect(TokenKind::kAssign, Cat("after '", fact.field, "'"))) return false;
      fact.value.location = Loc(cur_);
      switch (cur_.kind) {
        case TokenKind::kString:
          fact.value.kind = Operand::Kind::kString;
          fact.value.string = std::move(cur_.value);
          break;
        case TokenKind::kNumber:
          fact.value.kind = Operand::Kind::kNumber;
          fact.value.number = cur_.number;
          break;
        case TokenKind::kDuration:
          fact.value.kind = Operand::Kind::kDuration;
          fact.value.duration = cur_.duration;
          break;
        default:
          if (cur_.IsWord("true") || cur_.IsWord("false")) {
            fact.value.kind = Operand::Kind::kBool;
            fact.value.boolean = cur_.value == "true";
            break;
          }
          ErrorAt(cur_, Cat("expected a value (string, number, duration, true or "
                            "false) for '",
                            fact.field, "', got ", Describe(cur_)));
          return false;
      }
      Advance();
      test.facts.push_back(std::move(fact));
      if (!cur_.Is(TokenKind::kComma)) return true;
      Advance();
    }
  }

  bool ParseNames(std::string_view after, std::vector<std::string>* names) {
    while (true) {
      std::string name;
      if (!ExpectName(Cat("a rule id after '", after, "'"), &name, nullptr)) {
        return false;
      }
      names->push_back(std::move(name));
      if (!cur_.Is(TokenKind::kComma)) return true;
      Advance();
    }
  }

  bool ParseExpectation(const Token& expect, TestDecl& test) {
    Expectation e;
    e.location = Loc(expect);
    if (cur_.Is(TokenKind::kIdentifier)) {
      if (std::optional<Action> a = ParseAction(cur_.value)) {
        e.kind = Expectation::Kind::kVerdict;
        e.verdict = *a;
        Advance();
        if (cur_.IsWord("by")) {
          Advance();
          if (!ParseNames("by", &e.rules)) return false;
        }
        test.expectations.push_back(std::move(e));
        return true;
      }
      if (cur_.value == "effects") {
        e.kind = Expectation::Kind::kEffects;
        Advance();
        while (true) {
          std::optional<EffectBit> bit;
          if (cur_.Is(TokenKind::kIdentifier)) bit = ParseEffect(cur_.value);
          if (!bit) {
            ErrorAt(cur_, Cat("expected an effect (strip_media, mark_sensitive, "
                              "unlist, followers_only), got ",
                              Describe(cur_)));
            return false;
          }
          e.effects |= *bit;
          Advance();
          if (!cur_.Is(TokenKind::kComma)) break;
          Advance();
        }
        test.expectations.push_back(std::move(e));
        return true;
      }
      if (cur_.value == "not") {
        e.kind = Expectation::Kind::kNotFired;
        Advance();
        if (!ParseNames("expect not", &e.rules)) return false;
        test.expectations.push_back(std::move(e));
        return true;
      }
    }
    ErrorAt(cur_, Cat("expected accept, flag, reject, effects or not after 'expect', "
                      "got ",
                      Describe(cur_)));
    return false;
  }

  // ---------------------------------------------------------------- expressions
  ExprPtr NewExpr(Expr::Kind kind, const SourceLocation& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->location = at;
    e->nesting = static_cast<uint32_t>(depth_);
    return e;
  }
  ExprPtr NewExpr(Expr::Kind kind, const Token& at) { return NewExpr(kind, Loc(at)); }

  bool Deeper(const Token& at) {
    if (depth_ + 1 > max_depth_) {
      ErrorAt(at, Cat("expression nested deeper than ", max_depth_,
                      " levels of parentheses and 'not' (max_nesting_depth)"));
      return false;
    }
    ++depth_;
    return true;
  }

  ExprPtr ParseExpr() {
    ExprPtr lhs = ParseAnd();
    if (lhs == nullptr || !cur_.IsWord("or")) return lhs;
    ExprPtr node = NewExpr(Expr::Kind::kOr, lhs->location);
    node->children.push_back(std::move(lhs));
    while (cur_.IsWord("or")) {
      Advance();
      ExprPtr rhs = ParseAnd();
      if (rhs == nullptr) return nullptr;
      node->children.push_back(std::move(rhs));
    }
    return node;
  }

  ExprPtr ParseAnd() {
    ExprPtr lhs = ParseNot();
    if (lhs == nullptr || !cur_.IsWord("and")) return lhs;
    ExprPtr node = NewExpr(Expr::Kind::kAnd, lhs->location);
    node->children.push_back(std::move(lhs));
    while (cur_.IsWord("and")) {
      Advance();
      ExprPtr rhs = ParseNot();
      if (rhs == nullptr) return nullptr;
      node->children.push_back(std::move(rhs));
    }
    return node;
  }

  ExprPtr ParseNot() {
    if (!cur_.IsWord("not")) return ParseComparison();
    Token not_token = cur_;
    ExprPtr node = NewExpr(Expr::Kind::kNot, not_token);
    if (!Deeper(not_token)) return nullptr;
    Advance();
    ExprPtr child = ParseNot();
    --depth_;
    if (child == nullptr) return nullptr;
    node->children.push_back(std::move(child));
    return node;
  }

  bool AtComparisonOperator() const { return TokenOp(cur_).has_value(); }

  ExprPtr ParseComparison() {
    Token t = cur_;
    if (t.Is(TokenKind::kLParen)) {
      if (!Deeper(t)) return nullptr;
      Advance();
      ExprPtr inner = ParseExpr();
      --depth_;
      if (inner == nullptr) return nullptr;
      if (!cur_.Is(TokenKind::kRParen)) {
        ErrorAt(cur_, Cat("expected ')' to close the '(' at ", t.line, ":", t.column, ", got ",
                          Describe(cur_)));
        return nullptr;
      }
      Advance();
      if (AtComparisonOperator()) {
        ErrorAt(cur_, Cat("a condition in parentheses cannot be compared with ", Describe(cur_),
                          " (comparisons do not chain)"));
        return nullptr;
      }
      return inner;
    }
    if (t.IsWord("true") || t.IsWord("false")) {
      ExprPtr e = NewExpr(Expr::Kind::kConstant, t);
      e->constant = t.value == "true";
      Advance();
      if (AtComparisonOperator()) {
        ErrorAt(cur_, Cat("'", t.value,
                          "' cannot be compared; put a field on the left "
                          "of ",
                          Describe(cur_)));
        return nullptr;
      }
      return e;
    }
    if (t.IsWord("known") && Peek().Is(TokenKind::kLParen)) {
      Advance();
      Advance();
      if (!cur_.Is(TokenKind::kIdentifier) || IsReservedWord(cur_.value)) {
        ErrorAt(cur_, Cat("expected a field in known(...), got ", Describe(cur_)));
        return nullptr;
      }
      ExprPtr e = NewExpr(Expr::Kind::kKnown, t);
      e->field = cur_.value;
      Advance();
      if (cur_.Is(TokenKind::kLParen)) {  // known(text.seen(1h))
        Advance();
        if (!cur_.Is(TokenKind::kDuration)) {
          ErrorAt(cur_, Cat("expected a duration window in '", e->field,
                            "(...)', e.g. 10m, got ", Describe(cur_)));
          return nullptr;
        }
        e->field_window = cur_.duration;
        Advance();
        if (!Expect(TokenKind::kRParen, Cat("after the window of '", e->field, "'"))) {
          return nullptr;
        }
      }
      if (!Expect(TokenKind::kRParen, "to close known(")) return nullptr;
      return e;
    }
    if (t.Is(TokenKind::kIdentifier) && !IsReservedWord(t.value)) return ParseFieldCondition();
    if (t.Is(TokenKind::kString) || t.Is(TokenKind::kNumber) || t.Is(TokenKind::kDuration) ||
        t.Is(TokenKind::kRegex) || t.Is(TokenKind::kLBracket)) {
      ErrorAt(t, Cat("expected a condition, got ", Describe(t),
                     " (a comparison starts with a field: content has \"x\")"));
      return nullptr;
    }
    ErrorAt(t, Cat("expected a condition, got ", Describe(t)));
    return nullptr;
  }

  // IDENT [ "(" DURATION ")" ] [ cmp_op operand ]
  ExprPtr ParseFieldCondition() {
    Token name = cur_;
    Advance();
    std::optional<absl::Duration> window;
    if (cur_.Is(TokenKind::kLParen)) {
      Advance();
      if (!cur_.Is(TokenKind::kDuration)) {
        ErrorAt(cur_, Cat("expected a duration window in '", name.value, "(...)', e.g. 10m, got ",
                          Describe(cur_)));
        return nullptr;
      }
      window = cur_.duration;
      Advance();
      if (!Expect(TokenKind::kRParen, Cat("after the window of '", name.value, "'"))) {
        return nullptr;
      }
    }
    std::optional<CmpOp> op = TokenOp(cur_);
    if (!op) {
      if (window) {
        ErrorAt(name, Cat("'", name.value, "(...)' is a number: compare it, e.g. ", name.value,
                          "(10m) > 5"));
        return nullptr;
      }
      const Token& n = cur_;
      bool operand_like = n.Is(TokenKind::kString) || n.Is(TokenKind::kNumber) ||
                          n.Is(TokenKind::kDuration) || n.Is(TokenKind::kRegex) ||
                          n.Is(TokenKind::kLBracket) || n.Is(TokenKind::kAssign) ||
                          (n.Is(TokenKind::kIdentifier) && !IsReservedWord(n.value) &&
                           !IsStatementKeyword(n) && !n.at_line_start);
      if (operand_like) {
        std::string hint = n.Is(TokenKind::kAssign) ? " ('=' assigns; compare with '==')"
                           : n.Is(TokenKind::kIdentifier)
                               ? DidYouMean(Closest(n.value,
                                                    std::array<std::string_view, 7>{
                                                        "contains", "has", "startswith", "endswith",
                                                        "contains_any", "has_any", "in"}))
                               : "";
        ErrorAt(n, Cat("expected an operator after '", name.value,
                       "' (== != < <= > >= ~ !~ contains has startswith endswith "
                       "contains_any has_any in), got ",
                       Describe(n), hint));
        return nullptr;
      }
      bool field_like = name.value.find('.') != std::string::npos || IsFieldRoot(name.value);
      ExprPtr e = NewExpr(field_like ? Expr::Kind::kBareBool : Expr::Kind::kMacroRef, name);
      if (field_like) {
        e->field = name.value;
      } else {
        e->macro_name = name.value;
      }
      return e;
    }
    ExprPtr e = NewExpr(Expr::Kind::kCompare, name);
    e->field = name.value;
    e->field_window = window;
    e->op = *op;
    Token op_token = cur_;
    Advance();
    if (!ParseOperand(op_token, &e->rhs)) return nullptr;
    if (AtComparisonOperator()) {
      ErrorAt(cur_, Cat("comparisons do not chain: ", Describe(cur_), " after '", name.value, " ",
                        CmpOpName(e->op), " ...'; combine comparisons with 'and'"));
      return nullptr;
    }
    return e;
  }

  bool ParseOperand(const Token& op, Operand* out) {
    out->location = Loc(cur_);
    switch (cur_.kind) {
      case TokenKind::kString:
        out->kind = Operand::Kind::kString;
        out->string = std::move(cur_.value);
        break;
      case TokenKind::kNumber:
        out->kind = Operand::Kind::kNumber;
        out->number = cur_.number;
        break;
      case TokenKind::kDuration:
        out->kind = Operand::Kind::kDuration;
        out->duration = cur_.duration;
        break;
      case TokenKind::kRegex:
        out->kind = Operand::Kind::kRegex;
        out->string = std::move(cur_.value);
        out->ignore_case = cur_.ignore_case;
        break;
      case TokenKind::kLBracket:
        out->kind = Operand::Kind::kList;
        return ParseStringList("a list", &out->items, &out->item_locations);
      case TokenKind::kIdentifier:
        if (cur_.value == "true" || cur_.value == "false") {
          out->kind = Operand::Kind::kBool;
          out->boolean = cur_.value == "true";
          break;
        }
        if (cur_.value.find('.') == std::string::npos && !IsReservedWord(cur_.value) &&
            !IsFieldRoot(cur_.value)) {
          out->kind = Operand::Kind::kListRef;
          out->list_name = cur_.value;
          break;
        }
        [[fallthrough]];
      default:
        ErrorAt(cur_, Cat("expected a value after ", Describe(op), ", got ", Describe(cur_),
                          cur_.Is(TokenKind::kIdentifier) && !IsReservedWord(cur_.value)
                              ? " (fields are compared with values, not with other "
                                "fields)"
                              : ""));
        return false;
    }
    Advance();
    return true;
  }

  uint32_t file_;
  const FrontEndOptions& options_;
  size_t max_depth_;
  Reporter& reporter_;
  PolicyAst& ast_;
  Lexer lexer_;
  Token cur_;
  std::optional<Token> peek_;
  size_t depth_ = 0;
};

}  // namespace

bool IsReservedWord(std::string_view word) {
  return In(kStatementKeywords, word) || In(kRuleItems, word) || In(kExpressionWords, word);
}

size_t EditDistance(std::string_view a, std::string_view b, size_t cap) {
  size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (diff > cap) return cap + 1;
  // Optimal string alignment: insertions, deletions, substitutions and adjacent transpositions.
  std::vector<size_t> before(b.size() + 1);
  std::vector<size_t> prev(b.size() + 1);
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    size_t best = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({sub, prev[j] + 1, row[j - 1] + 1});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
      best = std::min(best, row[j]);
    }
    if (best > cap) return cap + 1;
    std::swap(before, prev);
    std::swap(prev, row);
  }
  return std::min(prev[b.size()], cap + 1);
}

void ParseFile(uint32_t file, std::string_view source, const FrontEndOptions& options,
               Reporter& reporter, PolicyAst& ast) {
  Parser parser(file, source, options, reporter, ast);
  parser.ParseFile();
}

}  // namespace fedwall::lang
