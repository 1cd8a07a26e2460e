// Internal to engine/blocklist: what the format readers share. Not part of the public API.
//
// Each reader (csv.cc, json.cc) walks one file and hands every row to a RowSink, which
// checks the domain, enforces ParseOptions' limits and collects the warnings.
#ifndef FEDWALL_ENGINE_BLOCKLIST_PARSE_INTERNAL_H_
#define FEDWALL_ENGINE_BLOCKLIST_PARSE_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/blocklist/blocklist.h"

namespace fedwall::blocklist::internal {

// Collects the entries and warnings of one file.
class RowSink {
 public:
  RowSink(const ParseOptions& options, ParseResult* result);

  // A warning for `line` (1-based; 0 for the whole file). Past options.max_warnings, warnings
  // are only counted; Finish() reports the count.
  void Warn(uint32_t line, std::string message);

  // Completes `entry` from the domain as written and an optional digest (hex), and keeps it;
  // or skips the row with a warning saying why. Sets entry.path and entry.line.
  void Add(uint32_t line, std::string_view written, std::string_view digest, Entry entry);

  // True once max_entries rows were kept and one more was offered: readers stop then.
  bool full() const { return full_; }

  const ParseOptions& options() const { return options_; }

  // Adds the "N more rows skipped" warning, if any.
  void Finish();

 private:
  const ParseOptions& options_;
  ParseResult* result_;
  size_t suppressed_ = 0;
  bool full_ = false;
};

// `s` without ASCII white space at either end.
std::string_view Trim(std::string_view s);

// `s` quoted for a message: at most 64 bytes, control and non-ASCII bytes as \xNN.
std::string Quote(std::string_view s);

// "true"/"false"/"1"/"0"/"yes"/"no"/"" (= false) in any case; nullopt otherwise.
std::optional<bool> ParseBool(std::string_view s);

// True for 64 hex digits (either case).
bool IsHexDigest(std::string_view s);

// ASCII lower-case copy.
std::string AsciiLower(std::string_view s);

// The readers. `data` has no byte order mark. `format` is the format to read (never kDetect
// for the CSV readers); the JSON reader detects the shape when `format` is kDetect and
// returns the format it read.
absl::Status ReadCsv(std::string_view data, Format format, RowSink& sink, Format* read_as);
absl::Status ReadPlain(std::string_view data, RowSink& sink);
absl::StatusOr<Format> ReadJson(std::string_view data, Format format, RowSink& sink);

// For detection: true when the first non-blank line of `data` is a CSV header naming a
// "domain" (or "#domain") column; `mastodon` tells whether its names start with '#'.
bool LooksLikeCsvHeader(std::string_view data, bool* mastodon);

}  // namespace fedwall::blocklist::internal

#endif  // FEDWALL_ENGINE_BLOCKLIST_PARSE_INTERNAL_H_
