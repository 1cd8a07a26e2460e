// Parser: the tokens of one rule file -> statements appended to a PolicyAst.
//
// Grammar (EBNF; terminals in quotes are identifiers spelled so, upper-case names are the
// lexer's tokens, see lexer.h):
//
//   file        = { statement } ;
//   statement   = ( list | macro | blocklist | allowlist | threshold | rule | test ) [ ";" ] ;
//   list        = "list" NAME ( "=" string_list | "from" STRING ) ;
//   string_list = "[" [ STRING { "," STRING } [ "," ] ] "]" ;
//   macro       = "macro" NAME "=" expr ;
//   blocklist   = "blocklist" STRING { "format" IDENT | "severity" IDENT } ;   (each at most once)
//   allowlist   = "allowlist" STRING [ "format" IDENT ] ;
//   threshold   = "threshold" ( "flag" | "reject" ) NUMBER ;
//   rule        = "rule" NAME [ STRING ] "{" { rule_item [ ";" ] } "}" ;
//   rule_item   = "when" expr                                     (each item at most once)
//               | "then" then_word { "," then_word }
//               | "score" NUMBER
//               | "tags" NAME { "," NAME }
//               | "mode" ( "enforce" | "monitor" )
//               | "reason" STRING ;
//   then_word   = "reject" | "flag" | "accept"                       (at most one action)
//               | "strip_media" | "mark_sensitive" | "unlist" | "followers_only" ;
//   test        = "test" STRING "{" { test_item [ ";" ] } "}" ;
//   test_item   = "activity" STRING
//               | "with" fact { "," fact }
//               | "expect" ( verdict [ "by" NAME { "," NAME } ]
//                          | "effects" effect { "," effect }
//                          | "not" NAME { "," NAME } ) ;
//   fact        = IDENT "=" ( STRING | NUMBER | DURATION | "true" | "false" ) ;
//   verdict     = "accept" | "flag" | "reject" ;
//
//   expr        = and_expr { "or" and_expr } ;
//   and_expr    = not_expr { "and" not_expr } ;
//   not_expr    = "not" not_expr | comparison ;
//   comparison  = IDENT [ "(" DURATION ")" ] cmp_op operand       (comparisons do not chain)
//               | primary ;
//   primary     = "(" expr ")" | "true" | "false" | "known" "(" IDENT ")"
//               | IDENT ;            (a bool field when dotted or a field root, else a macro)
//   cmp_op      = "==" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~" | "contains" | "has"
//               | "startswith" | "endswith" | "contains_any" | "has_any" | "in" ;
//   operand     = STRING | NUMBER | DURATION | REGEX | "true" | "false" | string_list
//               | NAME ;                                                    (a list's name)
//
//   NAME is an IDENT without dots that is not a reserved word (IsReservedWord). Precedence,
//   tightest first: comparisons, `not`, `and`, `or`; so `not a == 1 and b or c` is
//   `((not (a == 1)) and b) or c`.
//
// What the parser checks itself: the grammar, each rule item at most once, at most one action
// in `then`, known actions, effects, modes and verdicts, that a rule has `when` and `then` or
// `score`, score and threshold ranges, list literal sizes (max_list_items), and nesting depth
// (parentheses and `not`, max_nesting_depth; deeper input is an error, never deep recursion).
// Names, fields, types and paths are the checker's (checker.h).
//
// Error recovery: an error is reported once, then the parser skips to a point where it can go
// on: inside a rule, the next rule item keyword (reserved, so safe anywhere) or the closing
// '}'; inside a test, the next test item at the start of a line or '}'; elsewhere, the next
// statement keyword at the start of a line. So every statement's problems are reported in one
// run. A declaration whose body failed to parse is still recorded (with a null expression or
// the items read so far), so that its uses do not cascade into "unknown name" errors.
//
// Not thread-safe; one call per file.
//
// Example:
//   Reporter reporter(ast.files, 1000);
//   ParseFile(0, ast.files[0].bytes, options, reporter, ast);
#ifndef FEDWALL_ENGINE_LANG_PARSER_H_
#define FEDWALL_ENGINE_LANG_PARSER_H_

#include <cstdint>
#include <string_view>

#include "engine/lang/ast.h"
#include "engine/lang/front_end.h"
#include "engine/lang/report.h"

namespace fedwall::lang {

// The parser never nests deeper than this, whatever FrontEndOptions::max_nesting_depth says.
inline constexpr size_t kHardMaxNestingDepth = 1000;

// Scores and thresholds are at most this in absolute value (sums stay exact in int64).
inline constexpr int64_t kMaxScoreMilli = int64_t{1'000'000} * 1000;

// Parses `source` (the contents of ast.files[file]) and appends its statements to `ast`.
void ParseFile(uint32_t file, std::string_view source, const FrontEndOptions& options,
               Reporter& reporter, PolicyAst& ast);

// Words that cannot name a list, macro or rule: statement and rule item keywords, the
// expression words (and or not true false known, word operators) and `from`.
bool IsReservedWord(std::string_view word);

// Edit distance (insertions, deletions, substitutions, adjacent transpositions), capped:
// returns cap + 1 when larger. For did-you-mean hints.
size_t EditDistance(std::string_view a, std::string_view b, size_t cap);

}  // namespace fedwall::lang

#endif  // FEDWALL_ENGINE_LANG_PARSER_H_
