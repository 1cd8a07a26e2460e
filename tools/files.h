// Reading the command line's input files with a size bound and clear errors.
#ifndef FEDWALL_TOOLS_FILES_H_
#define FEDWALL_TOOLS_FILES_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/activity/facts.h"

namespace fedwall::tools {

inline constexpr size_t kMaxFactsFileBytes = 1 << 20;       // 1 MiB
inline constexpr size_t kMaxActivityFileBytes = 16 << 20;   // the parser refuses > 1 MiB
inline constexpr size_t kMaxBlocklistFileBytes = 64 << 20;  // 64 MiB

// The whole file, or NotFound / InvalidArgument / ResourceExhausted with a message that names
// the path ("-" reads standard input).
absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes);

// Reads and parses a facts file (proto3 JSON of an EvaluateRequest without the activity, see
// proto/convert/facts.h); errors name the file. Files over kMaxFactsFileBytes are refused.
absl::StatusOr<RequestFacts> LoadFactsFile(const std::string& path);

// Reads a stream line by line with a bound on the length of a line, so that a corpus of any
// size is streamed in constant memory (about max_line_bytes + 64 KiB) and one overlong line is
// reported and skipped instead of read whole. Lines end at '\n'; a trailing '\r' is removed;
// a last line without '\n' counts. The FILE is not owned.
//
//   LineReader reader(stdin, 1 << 20);
//   std::string_view line;
//   while (true) {
//     LineReader::Result r = reader.Next(&line);
//     if (r == LineReader::Result::kEnd || r == LineReader::Result::kError) break;
//     if (r == LineReader::Result::kTooLong) { ... reader.line_number() ...; continue; }
//     use(line);   // valid until the next call
//   }
class LineReader {
 public:
  enum class Result {
    kLine,     // `*line` holds the line
    kTooLong,  // the line was longer than max_line_bytes; it was skipped
    kEnd,      // no more lines
    kError,    // a read error (see error())
  };

  LineReader(std::FILE* file, size_t max_line_bytes);

  Result Next(std::string_view* line);

  uint64_t line_number() const { return line_number_; }  // of the line last returned, from 1
  uint64_t bytes_read() const { return bytes_read_; }    // from the stream so far
  const std::string& error() const { return error_; }

 private:
  // Reads more bytes after end_; false at the end of the stream or on an error.
  bool Fill();

  std::FILE* file_;
  size_t max_line_bytes_;
  std::string buffer_;
  size_t begin_ = 0;  // unread bytes are [begin_, end_)
  size_t end_ = 0;
  bool eof_ = false;
  uint64_t line_number_ = 0;
  uint64_t bytes_read_ = 0;
  std::string error_;
};

}  // namespace fedwall::tools

#endif  // FEDWALL_TOOLS_FILES_H_
