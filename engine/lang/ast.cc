#include "engine/lang/ast.h"

namespace fedwall::lang {

const char* CmpOpName(CmpOp op) {
  switch (op) {
    case CmpOp::kEq:
      return "==";
    case CmpOp::kNe:
      return "!=";
    case CmpOp::kLt:
      return "<";
    case CmpOp::kLe:
      return "<=";
    case CmpOp::kGt:
      return ">";
    case CmpOp::kGe:
      return ">=";
    case CmpOp::kContains:
      return "contains";
    case CmpOp::kHas:
      return "has";
    case CmpOp::kStartsWith:
      return "startswith";
    case CmpOp::kEndsWith:
      return "endswith";
    case CmpOp::kContainsAny:
      return "contains_any";
    case CmpOp::kHasAny:
      return "has_any";
    case CmpOp::kIn:
      return "in";
    case CmpOp::kMatch:
      return "~";
    case CmpOp::kNotMatch:
      return "!~";
  }
  return "?";
}

}  // namespace fedwall::lang
