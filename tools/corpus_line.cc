#include "tools/corpus_line.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "tools/human_output.h"

namespace fedwall::tools {

std::string SplitCorpusLine(std::string_view line, simdjson::ondemand::parser& json,
                            simdjson::padded_string& padded, CorpusLine* out) {
  out->activity_json = line;
  out->facts_json.clear();
  // Only a line that mentions the key can be a wrapper.
  if (line.find("\"activity\"") == std::string_view::npos) return "";
  padded = simdjson::padded_string(line);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  // First pass: the root must be one object with nothing but white space after it.
  std::string_view whole;
  if (json.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS ||
      root.raw_json().get(whole) != simdjson::SUCCESS) {
    return "";
  }
  const size_t after = static_cast<size_t>(whole.data() - padded.data()) + whole.size();
  if (std::string_view(padded.data(), padded.size()).substr(after).find_first_not_of(" \t\r\n") !=
      std::string_view::npos) {
    return "";
  }
  // Second pass: the keys. Decide first whether this is a wrapper (an "activity" object and no
  // "type"); remember the first problem and report it only then.
  if (json.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS) {
    return "";
  }
  std::optional<std::string_view> activity;
  std::string facts_json;
  std::string problem;
  int seen = 0;  // bits: activity, delivery, actor
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return "";  // the parser will say
    if (key == "type") return "";  // an activity that has an "activity" key
    if (key != "activity" && key != "delivery" && key != "actor") {
      if (problem.empty()) {
        problem = absl::StrCat("unexpected key \"", Printable(key),
                               "\" in a wrapper line (expected activity, delivery, actor)");
      }
      continue;
    }
    simdjson::ondemand::object value;
    std::string_view raw;
    if (field.value().get_object().get(value) != simdjson::SUCCESS ||
        value.raw_json().get(raw) != simdjson::SUCCESS) {
      if (key == "activity") return "";  // not a wrapper's "activity": read as an activity
      if (problem.empty()) {
        problem = absl::StrCat("\"", std::string(key), "\" must be a JSON object");
      }
      continue;
    }
    // A duplicate key is malformed, as in activities: readers disagree on which copy counts.
    const int bit = key == "activity" ? 1 : key == "delivery" ? 2 : 4;
    if ((seen & bit) != 0 && problem.empty()) {
      problem = absl::StrCat("duplicate key \"", std::string(key), "\"");
    }
    seen |= bit;
    if (key == "activity") {
      activity = raw;
    } else {
      absl::StrAppend(&facts_json, facts_json.empty() ? "{" : ",", "\"", std::string(key),
                      "\":", absl::string_view(raw.data(), raw.size()));
    }
  }
  if (!activity.has_value()) return "";
  if (!problem.empty()) return problem;
  // The views point into `padded`; re-point them into `line` (same offsets).
  out->activity_json =
      line.substr(static_cast<size_t>(activity->data() - padded.data()), activity->size());
  if (!facts_json.empty()) out->facts_json = facts_json + "}";
  return "";
}

}  // namespace fedwall::tools
