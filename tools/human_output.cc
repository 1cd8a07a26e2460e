#include "tools/human_output.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/activity/activity.h"
#include "engine/lang/ast.h"

namespace fedwall::tools {

std::string Paint(bool color, const char* sgr, std::string_view text) {
  if (!color) return std::string(text);
  return absl::StrCat(sgr, absl::string_view(text.data(), text.size()), kReset);
}

std::string PolicyPath(const std::string& dir, const std::string& relative) {
  if (relative.empty()) return dir;
  if (relative == dir) return dir;
  std::filesystem::path rel(relative);
  if (rel.is_absolute()) return relative;
  std::string joined = (std::filesystem::path(dir) / rel).lexically_normal().generic_string();
  return joined.empty() ? relative : joined;
}

std::string FormatDiagnostic(const std::string& dir, const Diagnostic& d, bool color) {
  Diagnostic shown = d;
  shown.path = PolicyPath(dir, d.path);
  if (!color) return shown.ToString();
  // The same layout as Diagnostic::ToString, with the location bold and the severity coloured
  // (as compilers do on a terminal).
  std::string where = shown.path;
  if (shown.line > 0) {
    absl::StrAppend(&where, ":", shown.line);
    if (shown.column > 0) absl::StrAppend(&where, ":", shown.column);
  }
  const bool error = d.severity == Diagnostic::Severity::kError;
  return absl::StrCat(
      Paint(true, kBold, absl::StrCat(where, ":")), " ",
      Paint(true, error ? kBoldRed : kBoldYellow, absl::StrCat(d.SeverityName(), ":")), " ",
      d.message);
}

std::string RewriteLeadingPath(const std::string& dir, const lang::PolicyAst& ast,
                               const std::string& message) {
  size_t colon = message.find(':');
  if (colon == std::string::npos || colon == 0) return message;
  const std::string path = message.substr(0, colon);
  for (const lang::SourceFile& f : ast.files) {
    if (f.path == path) return PolicyPath(dir, path) + message.substr(colon);
  }
  return message;
}

std::string CountNoun(uint64_t n, std::string_view singular, std::string_view plural) {
  return absl::StrCat(n, " ",
                      n == 1 ? absl::string_view(singular.data(), singular.size())
                             : absl::string_view(plural.data(), plural.size()));
}

std::string FormatMilli(int64_t milli) {
  const bool negative = milli < 0;
  // Careful with INT64_MIN: work with the unsigned magnitude.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(milli) : static_cast<uint64_t>(milli);
  std::string out = absl::StrCat(negative ? "-" : "", magnitude / 1000);
  uint64_t fraction = magnitude % 1000;
  if (fraction != 0) {
    std::string digits = absl::StrCat(fraction + 1000).substr(1);  // three digits
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    absl::StrAppend(&out, ".", digits);
  }
  return out;
}

std::string FormatSeconds(double seconds) {
  if (seconds < 0.01) return absl::StrFormat("%.2f ms", seconds * 1000);
  if (seconds < 1) return absl::StrFormat("%.0f ms", seconds * 1000);
  return absl::StrFormat("%.2f s", seconds);
}

std::string EffectNames(uint8_t effects) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {
      {lang::kStripMedia, "strip_media"},
      {lang::kMarkSensitive, "mark_sensitive"},
      {lang::kUnlist, "unlist"},
      {lang::kFollowersOnly, "followers_only"},
  };
  std::vector<std::string> names;
  for (const auto& [bit, name] : kNames) {
    if ((effects & bit) != 0) names.emplace_back(name);
  }
  return absl::StrJoin(names, ", ");
}

const char* VerdictColor(Verdict v) {
  switch (v) {
    case Verdict::kReject:
      return kBoldRed;
    case Verdict::kFlag:
      return kBoldYellow;
    case Verdict::kAccept:
      break;
  }
  return kBoldGreen;
}

std::shared_ptr<const Policy> LoadPolicyOrReport(std::string_view command, const std::string& dir,
                                                 std::ostream& err, bool err_color,
                                                 double* compile_seconds) {
  Compiler compiler;
  CompileResult result = compiler.Compile(dir);
  if (compile_seconds != nullptr) *compile_seconds = result.compile_seconds;
  if (result.policy != nullptr && !HasErrors(result.diagnostics)) return result.policy;
  uint64_t errors = 0;
  for (const Diagnostic& d : result.diagnostics) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    err << FormatDiagnostic(dir, d, err_color) << "\n";
    ++errors;
  }
  err << "fedwall " << command << ": " << dir << " does not compile ("
      << CountNoun(std::max<uint64_t>(errors, 1), "error", "errors") << "); run `fedwall check "
      << dir << "`\n";
  return nullptr;
}

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == static_cast<unsigned char>(kTextSeparator)) {
      out += " | ";
    } else if (c == '\n') {
      out += "\u21B5";
    } else if (c < 0x20 || c == 0x7F) {
      out += '?';
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += '?';  // a C1 control (U+0080..U+009F)
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string StatusLine(const absl::Status& status) {
  std::string_view message(status.message().data(), status.message().size());
  return Printable(message);
}

}  // namespace fedwall::tools
