// The line-oriented formats: mastodon_csv, fediblockhole_csv and plain.
//
// CSV as in RFC 4180, read leniently: fields separated by commas, optionally quoted with '"'
// ("" inside quotes is one quote; commas and line breaks inside quotes are data), CRLF or LF
// line ends, blank lines ignored, trailing empty fields (a trailing comma) ignored. Columns
// are found by their header names, in any order; a '#' before a name (Mastodon's export) is
// ignored. A quoted field left open is a damaged row: it is skipped and reading resumes on the
// next line, so one stray quote never swallows the rest of the file.
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/blocklist/parse_internal.h"

namespace fedwall::blocklist::internal {
namespace {

// A quoted field may span at most this many lines; past it, the quote counts as left open.
// This bounds the work of resuming after a stray quote.
constexpr uint32_t kMaxRecordLines = 32;
// Fields past this many are counted, not kept (a line of commas must not cost memory).
constexpr size_t kMaxFields = 64;

// One CSV record: its fields (unquoted and unescaped) and where it was.
struct Record {
  std::vector<std::string> fields;  // the first kMaxFields fields
  size_t field_count = 0;           // all of them
  uint32_t line = 0;                // 1-based line where the record starts
  bool has_nul = false;             // a NUL byte somewhere in the record
  bool unterminated = false;        // a quoted field was left open: fields are not meaningful
  bool blank = false;               // nothing but white space
};

class CsvReader {
 public:
  explicit CsvReader(std::string_view data) : data_(data) {}

  // Reads the next record; false at the end of the data.
  bool Next(Record* record) {
    if (pos_ >= data_.size()) return false;
    record->fields.clear();
    record->field_count = 0;
    record->line = line_;
    record->has_nul = false;
    record->unterminated = false;
    const size_t start = pos_;
    const uint32_t start_line = line_;
    if (!ReadRecord(record)) {
      // Unterminated quote: give up on the first line of the record only, resume after it.
      size_t eol = data_.find('\n', start);
      pos_ = eol == std::string_view::npos ? data_.size() : eol + 1;
      line_ = start_line + 1;
      record->fields.clear();
      record->unterminated = true;
      record->has_nul = data_.substr(start, pos_ - start).find('\0') != std::string_view::npos;
    }
    record->blank =
        !record->unterminated && record->fields.size() == 1 && Trim(record->fields[0]).empty();
    return true;
  }

 private:
  // Reads fields up to the end of the record. False when a quoted field is left open.
  bool ReadRecord(Record* record) {
    const uint32_t first_line = line_;
    std::string overflow;  // where fields past kMaxFields are read, and dropped
    while (true) {
      ++record->field_count;
      std::string& field =
          record->fields.size() < kMaxFields ? record->fields.emplace_back() : overflow;
      field.clear();
      if (pos_ < data_.size() && data_[pos_] == '"') {
        ++pos_;
        while (true) {
          size_t quote = data_.find('"', pos_);
          if (quote == std::string_view::npos) return false;
          std::string_view chunk = data_.substr(pos_, quote - pos_);
          for (char c : chunk) {
            if (c == '\n') ++line_;
            if (c == '\0') record->has_nul = true;
          }
          if (line_ - first_line > kMaxRecordLines) return false;
          field.append(chunk);
          pos_ = quote + 1;
          if (pos_ < data_.size() && data_[pos_] == '"') {  // "" is one quote
            field += '"';
            ++pos_;
            continue;
          }
          break;
        }
        // Anything between the closing quote and the next separator is kept as data.
      }
      while (pos_ < data_.size()) {
        char c = data_[pos_];
        if (c == ',' || c == '\n') break;
        if (c == '\0') record->has_nul = true;
        field += c;
        ++pos_;
      }
      if (!field.empty() && field.back() == '\r') field.pop_back();
      if (pos_ >= data_.size()) return true;
      if (data_[pos_++] == '\n') {
        ++line_;
        return true;
      }
      // ',': next field.
    }
  }

  std::string_view data_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
};

// Where the known columns are; -1 when absent.
struct Columns {
  int domain = -1;
  int digest = -1;
  int severity = -1;
  int reject_media = -1;
  int reject_reports = -1;
  int public_comment = -1;
  int private_comment = -1;
  size_t count = 0;       // header fields, trailing empty names left out
  bool mastodon = false;  // names written with '#'
};

// Reads a header record; false when it names no domain column.
bool ReadHeader(const std::vector<std::string>& fields, Columns* columns) {
  Columns c;
  c.count = fields.size();
  while (c.count > 0 && Trim(fields[c.count - 1]).empty()) --c.count;
  for (size_t i = 0; i < c.count; ++i) {
    std::string_view name = Trim(fields[i]);
    if (name.starts_with('#')) {
      name.remove_prefix(1);
      if (i == 0) c.mastodon = true;
    }
    if (name.size() > 32) continue;
    std::string lower = AsciiLower(name);
    int* slot = nullptr;
    if (lower == "domain") {
      slot = &c.domain;
    } else if (lower == "digest") {
      slot = &c.digest;
    } else if (lower == "severity") {
      slot = &c.severity;
    } else if (lower == "reject_media") {
      slot = &c.reject_media;
    } else if (lower == "reject_reports") {
      slot = &c.reject_reports;
    } else if (lower == "public_comment" || lower == "comment") {
      slot = &c.public_comment;
    } else if (lower == "private_comment") {
      slot = &c.private_comment;
    }
    if (slot != nullptr && *slot < 0) *slot = static_cast<int>(i);
  }
  if (c.domain < 0) return false;
  *columns = c;
  return true;
}

// Mastodon's export order, for a mastodon_csv file without a header line.
Columns MastodonDefaultColumns() {
  Columns c;
  c.domain = 0;
  c.severity = 1;
  c.reject_media = 2;
  c.reject_reports = 3;
  c.public_comment = 4;
  c.count = 6;
  c.mastodon = true;
  return c;
}

void ReadRow(const Record& record, const Columns& columns, RowSink& sink) {
  if (record.has_nul) {
    sink.Warn(record.line, "NUL byte in the row; row skipped");
    return;
  }
  size_t n = record.field_count;
  while (n > columns.count && n <= record.fields.size() && Trim(record.fields[n - 1]).empty()) {
    --n;  // trailing commas
  }
  if (n != columns.count) {
    sink.Warn(record.line,
              absl::StrCat("expected ", columns.count, " columns, found ", n, "; row skipped"));
    return;
  }
  auto field = [&](int column) -> std::string_view {
    return column < 0 ? std::string_view() : std::string_view(record.fields[column]);
  };
  Entry entry;
  entry.severity = sink.options().default_severity;
  std::string_view severity = Trim(field(columns.severity));
  if (!severity.empty()) {
    std::optional<Severity> s = ParseSeverity(severity);
    if (!s) {
      sink.Warn(record.line, absl::StrCat("unknown severity ", Quote(severity), "; row skipped"));
      return;
    }
    entry.severity = *s;
  }
  for (auto [column, flag, name] :
       {std::tuple{columns.reject_media, &entry.reject_media, "reject_media"},
        std::tuple{columns.reject_reports, &entry.reject_reports, "reject_reports"}}) {
    std::optional<bool> value = ParseBool(field(column));
    if (!value) {
      sink.Warn(record.line,
                absl::StrCat("unreadable ", name, " ", Quote(field(column)), ", read as false"));
    }
    *flag = value.value_or(false);
  }
  entry.public_comment = std::string(Trim(field(columns.public_comment)));
  entry.private_comment = std::string(Trim(field(columns.private_comment)));
  sink.Add(record.line, field(columns.domain), field(columns.digest), std::move(entry));
}

}  // namespace

bool LooksLikeCsvHeader(std::string_view data, bool* mastodon) {
  CsvReader reader(data.substr(0, 64 << 10));
  Record record;
  while (reader.Next(&record)) {
    if (record.blank) continue;
    Columns columns;
    if (record.unterminated || !ReadHeader(record.fields, &columns)) return false;
    *mastodon = columns.mastodon;
    return true;
  }
  return false;
}

absl::Status ReadCsv(std::string_view data, Format format, RowSink& sink, Format* read_as) {
  CsvReader reader(data);
  Record record;
  Columns columns;
  bool have_header = false;
  while (!sink.full() && reader.Next(&record)) {
    if (record.blank) continue;
    if (!have_header) {
      have_header = true;
      if (!record.unterminated && ReadHeader(record.fields, &columns)) {
        *read_as = columns.mastodon ? Format::kMastodonCsv : Format::kFediblockholeCsv;
        continue;
      }
      if (format != Format::kMastodonCsv) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", record.line,
                         ": a fediblockhole_csv file starts with a header naming a domain "
                         "column (\"domain,severity,...\")"));
      }
      columns = MastodonDefaultColumns();  // a Mastodon export without its header line
      *read_as = Format::kMastodonCsv;
    }
    if (record.unterminated) {
      sink.Warn(record.line, "quoted field never closed; line skipped");
      continue;
    }
    ReadRow(record, columns, sink);
  }
  if (!have_header) *read_as = format;
  return absl::OkStatus();
}

absl::Status ReadPlain(std::string_view data, RowSink& sink) {
  uint32_t line_number = 0;
  size_t pos = 0;
  while (pos < data.size() && !sink.full()) {
    ++line_number;
    size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) eol = data.size();
    std::string_view line = data.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.find('\0') != std::string_view::npos) {
      sink.Warn(line_number, "NUL byte in the line; line skipped");
      continue;
    }
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    Entry entry;
    entry.severity = sink.options().default_severity;
    sink.Add(line_number, line, {}, std::move(entry));
  }
  return absl::OkStatus();
}

}  // namespace fedwall::blocklist::internal
