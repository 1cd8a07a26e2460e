#include "tools/files.h"

#include "proto/convert/facts.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace fedwall::tools {

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int err = errno;
    std::string message = absl::StrCat(path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(
      f, f == stdin ? +[](std::FILE*) { return 0; } : &std::fclose);
  std::string data;
  char buf[1 << 16];
  while (true) {
    size_t n = std::fread(buf, 1, sizeof buf, f);
    if (n == 0) break;
    if (data.size() + n > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": larger than the limit of ", max_bytes, " bytes"));
    }
    data.append(buf, n);
  }
  if (std::ferror(f)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": read error: ", std::strerror(errno)));
  }
  return data;
}

namespace {
constexpr size_t kReadChunk = 1 << 16;
}  // namespace

LineReader::LineReader(std::FILE* file, size_t max_line_bytes)
    : file_(file),
      max_line_bytes_(max_line_bytes),
      buffer_(max_line_bytes + kReadChunk + 2, '\0') {}

bool LineReader::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {  // move the unread bytes to the front
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  size_t room = buffer_.size() - end_;
  if (room == 0) return false;
  size_t n = std::fread(buffer_.data() + end_, 1, std::min(room, kReadChunk), file_);
  if (n == 0) {
    eof_ = true;
    if (std::ferror(file_)) error_ = std::strerror(errno);
    return false;
  }
  end_ += n;
  bytes_read_ += n;
  return true;
}

LineReader::Result LineReader::Next(std::string_view* line) {
  size_t scanned = begin_;  // bytes before this were already searched for '\n'
  while (true) {
    const char* start = buffer_.data() + scanned;
    const void* nl = std::memchr(start, '\n', end_ - scanned);
    if (nl != nullptr) {
      size_t pos = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.data());
      std::string_view l(buffer_.data() + begin_, pos - begin_);
      begin_ = pos + 1;
      ++line_number_;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      if (l.size() > max_line_bytes_) return Result::kTooLong;
      *line = l;
      return Result::kLine;
    }
    if (end_ - begin_ > max_line_bytes_ + 1) {
      // Too long: drop what we have and skip to the next line break.
      ++line_number_;
      begin_ = end_ = 0;
      while (Fill()) {
        const void* skip_nl = std::memchr(buffer_.data(), '\n', end_);
        if (skip_nl != nullptr) {
          begin_ = static_cast<size_t>(static_cast<const char*>(skip_nl) - buffer_.data()) + 1;
          return Result::kTooLong;
        }
        begin_ = end_ = 0;
      }
      return error_.empty() ? Result::kTooLong : Result::kError;
    }
    scanned = end_;
    size_t before = begin_;
    if (!Fill()) {
      if (!error_.empty()) return Result::kError;
      if (begin_ == end_) return Result::kEnd;
      std::string_view l(buffer_.data() + begin_, end_ - begin_);  // last line, no '\n'
      begin_ = end_;
      ++line_number_;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      if (l.size() > max_line_bytes_) return Result::kTooLong;
      *line = l;
      return Result::kLine;
    }
    scanned -= before - begin_;  // Fill() moved the bytes to the front
  }
}

absl::StatusOr<RequestFacts> LoadFactsFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path, kMaxFactsFileBytes);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<RequestFacts> facts = convert::ParseFactsJson(*bytes);
  if (!facts.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", facts.status().message()));
  return facts;
}

}  // namespace fedwall::tools
