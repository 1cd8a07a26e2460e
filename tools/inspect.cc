#include <ostream>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/activity/activity.h"
#include "engine/fields/field_registry.h"
#include "tools/commands.h"
#include "proto/convert/facts.h"
#include "tools/files.h"
#include "tools/json_writer.h"

namespace fedwall::tools {
namespace {

// Durations print as in the proto3 JSON mapping of google.protobuf.Duration ("3600s").
std::string DurationJson(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Seconds(d), "s");
}

void WriteValue(const FieldValue& value, JsonWriter& w) {
  std::visit(
      [&w](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          w.Null();
        } else if constexpr (std::is_same_v<T, std::string>) {
          w.String(v);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          w.BeginArray();
          for (const auto& s : v) w.String(s);
          w.EndArray();
        } else if constexpr (std::is_same_v<T, double>) {
          w.Number(v);
        } else if constexpr (std::is_same_v<T, absl::Duration>) {
          w.String(DurationJson(v));
        } else if constexpr (std::is_same_v<T, bool>) {
          w.Bool(v);
        }
      },
      value);
}

}  // namespace

int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err) {
  RequestFacts facts;
  if (!options.facts_path.empty()) {
    absl::StatusOr<RequestFacts> loaded = LoadFactsFile(options.facts_path);
    if (!loaded.ok()) {
      err << "fedwall inspect: " << loaded.status().message() << "\n";
      return 2;
    }
    facts = *std::move(loaded);
  }
  absl::Time fallback_now = absl::Now();
  if (!options.now.empty()) {
    std::string parse_error;
    if (!absl::ParseTime(absl::RFC3339_full, options.now, &fallback_now, &parse_error)) {
      err << "fedwall inspect: --now: not an RFC 3339 time: " << options.now << "\n";
      return 2;
    }
  }
  absl::StatusOr<std::string> json = ReadFile(options.activity_path, kMaxActivityFileBytes);
  if (!json.ok()) {
    err << "fedwall inspect: " << json.status().message() << "\n";
    return 1;
  }
  ActivityParser parser;
  absl::StatusOr<Activity> activity = parser.Parse(*json);
  if (!activity.ok()) {
    err << "fedwall inspect: " << options.activity_path << ": " << activity.status().message()
        << "\n";
    return 1;
  }
  MergeActorFacts(facts.actor, &*activity);

  FieldInput input{*activity, facts, EffectiveNow(facts, fallback_now)};
  JsonWriter w(options.output.pretty);
  w.BeginObject();
  for (const FieldDef& field : AllFields()) {
    FieldValue value = field.extract(input);
    if (!IsKnown(value)) continue;
    w.Key(field.name);
    WriteValue(value, w);
  }
  w.EndObject();
  out << w.str() << "\n";
  return 0;
}

}  // namespace fedwall::tools
