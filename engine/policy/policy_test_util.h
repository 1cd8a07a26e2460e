// Helpers shared by engine/policy's tests and benchmark (not part of the library): compiling
// policies given in memory, and writing small activities.
#ifndef FEDWALL_ENGINE_POLICY_POLICY_TEST_UTIL_H_
#define FEDWALL_ENGINE_POLICY_POLICY_TEST_UTIL_H_

#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/lang/front_end.h"
#include "engine/policy/policy.h"

namespace fedwall::policy_testing {

// Rule files (path -> text, loaded in path order) and data files (lists, blocklists).
struct PolicyFiles {
  std::map<std::string, std::string> rules;
  std::map<std::string, std::string> data;
};

inline CompileResult CompileFiles(const PolicyFiles& files, CompileOptions options = {}) {
  std::vector<lang::SourceFile> sources;
  for (const auto& [path, text] : files.rules) sources.push_back({path, text});
  auto read = [&files](const std::string& path) -> absl::StatusOr<std::string> {
    auto it = files.data.find(path);
    if (it == files.data.end()) return absl::NotFoundError(absl::StrCat("no file ", path));
    return it->second;
  };
  lang::FrontEndOptions fe = options.front_end;
  lang::FrontEndResult r = lang::LoadPolicyFiles(std::move(sources), read, fe);
  Compiler compiler(std::move(options));
  return compiler.CompileAst(std::move(r.ast), std::move(r.diagnostics));
}

inline CompileResult CompileText(std::string rules, std::map<std::string, std::string> data = {},
                                 CompileOptions options = {}) {
  PolicyFiles files;
  files.rules["main.rules"] = std::move(rules);
  files.data = std::move(data);
  return CompileFiles(files, std::move(options));
}

inline std::string DiagnosticsText(const std::vector<Diagnostic>& diags) {
  std::string s;
  for (const Diagnostic& d : diags) absl::StrAppend(&s, d.ToString(), "\n");
  return s;
}

// `s` as a JSON string literal (with quotes).
inline std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += "\"";
  return out;
}

// A public Create{Note} by `actor` with `content` (HTML); `object_extra` is spliced into the
// object (",\"summary\": \"cw\"" ...), `activity_extra` into the activity.
inline std::string CreateNote(const std::string& actor, const std::string& content,
                              const std::string& object_extra = "",
                              const std::string& activity_extra = "", int id = 1) {
  std::string actor_json = JsonString(actor);
  return absl::StrCat("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"id\":",
                      JsonString(absl::StrCat(actor, "/statuses/", id, "/activity")),
                      ",\"type\":\"Create\",\"actor\":", actor_json,
                      ",\"to\":[\"https://www.w3.org/ns/activitystreams#Public\"]", activity_extra,
                      ",\"object\":{\"id\":", JsonString(absl::StrCat(actor, "/statuses/", id)),
                      ",\"type\":\"Note\",\"attributedTo\":", actor_json,
                      ",\"to\":[\"https://www.w3.org/ns/activitystreams#Public\"],\"content\":",
                      JsonString(content), object_extra, "}}");
}

// A Like (or another simple activity `type`) of `object` by `actor`.
inline std::string SimpleActivity(const std::string& type, const std::string& actor,
                                  const std::string& object) {
  return absl::StrCat("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"id\":",
                      JsonString(absl::StrCat(actor, "/", type, "/1")),
                      ",\"type\":", JsonString(type), ",\"actor\":", JsonString(actor),
                      ",\"object\":", JsonString(object), "}");
}

}  // namespace fedwall::policy_testing

#endif  // FEDWALL_ENGINE_POLICY_POLICY_TEST_UTIL_H_
