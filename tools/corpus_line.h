// One line of a corpus (`fedwall replay`, `fedwall bench --corpus`): an activity, or a wrapper
// object {"activity": {...}, "delivery": {...}, "actor": {...}} whose facts let fact-based rules
// be backtested (docs/cli.md). A line with a "type" key is an activity, even if it also has an
// "activity" key.
//
// Example:
//   simdjson::ondemand::parser json;
//   simdjson::padded_string scratch;
//   fedwall::tools::CorpusLine split;
//   std::string error = fedwall::tools::SplitCorpusLine(line, json, scratch, &split);
//   if (!error.empty()) report(error);
//   // split.activity_json views `line`; split.facts_json is "" or {"delivery":…,"actor":…}
//
// Not thread-safe (the parser and scratch are the caller's); the function itself is pure.
#ifndef FEDWALL_TOOLS_CORPUS_LINE_H_
#define FEDWALL_TOOLS_CORPUS_LINE_H_

#include <simdjson.h>

#include <string>
#include <string_view>

namespace fedwall::tools {

struct CorpusLine {
  std::string_view activity_json;  // a view into the line given to SplitCorpusLine
  std::string facts_json;          // proto3 JSON of an EvaluateRequest's facts; "" when none
};

// Splits a line. A line that is not a wrapper (not JSON, not an object, no "activity" object,
// or a "type" key) is the activity itself, untouched: the activity parser reports what is
// wrong with it. Returns "" or, for a malformed wrapper (an unexpected key, a duplicate key,
// facts that are not objects), an error message. `padded` is scratch.
std::string SplitCorpusLine(std::string_view line, simdjson::ondemand::parser& json,
                            simdjson::padded_string& padded, CorpusLine* out);

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_CORPUS_LINE_H_
