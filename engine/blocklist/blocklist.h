// Domain blocklists: reading every published format, and a compact suffix-lookup table.
//
// Formats (detected from the header or shape, or named):
//   mastodon_csv       Mastodon's export: `#domain,#severity,#reject_media,#reject_reports,...`
//   fediblockhole_csv  `domain,severity,reject_media,...`: any subset of columns, any order,
//                      quoted fields, booleans in any case
//   mastodon_api_json  array of {domain, digest, severity, comment} (public API, obfuscated
//                      entries matched by SHA-256 digest) or the admin API shape
//   gotosocial_json    array of {domain, public_comment} without severity
//   rapidblock_json    {"@spec": ..., "blocks": {"domain": {"isBlocked": true, ...}}}
//   plain              one domain per line, '#' comments, optional "*." prefix
// A row that cannot be read is skipped with a warning naming the file and line: a bad domain,
// an unknown severity, a wrong number of columns, a NUL byte, an obfuscated domain
// ("exa**le.com") without a digest. An unreadable boolean is read as false, with a warning.
// CRLF line ends, a UTF-8 byte order mark, blank lines and trailing commas are accepted. The
// whole file is refused (an error, never a crash) when its format is unknown, when it is JSON
// that does not parse (or nests deeper than ParseOptions::max_json_depth), or when it is
// larger than ParseOptions::max_bytes.
//
// Matching: entries cover their subdomains ("example.com" covers "a.b.example.com" but not
// "notexample.com"); "*.example.com", ".example.com" and "example.com" are one entry; names are
// compared as lower-case IDNA A-labels. Entries for one domain merge by the strongest severity
// (suspend > silence > noop) and the union of flags; across suffix levels the most specific
// entry wins, as in Mastodon (a noop on friend.tk exempts it from a .tk block).
//
// Ownership and threads: DomainTable is immutable once built and safe to share between
// threads (std::shared_ptr<const DomainTable>). DomainTableBuilder is single-threaded.
//
// Example:
//   auto parsed = fedwall::blocklist::ParseBlocklist(bytes, {.path = "tier0.csv"});
//   if (!parsed.ok()) return parsed.status();          // unreadable as a whole
//   for (const auto& w : parsed->diagnostics) std::cerr << w.ToString() << "\n";
//   fedwall::blocklist::DomainTableBuilder b;
//   b.Add(*parsed);
//   std::shared_ptr<const DomainTable> table = std::move(b).Build();
//   if (auto m = table->Lookup("spam.example.com")) use(m->severity);
//
// Cost (blocklist_bench.cc, 1M random domains, 2-core VM): the table takes 28.8 MB (keys and
// per-entry records in one arena, a hash index of 32-bit offsets, a 1 MB Bloom filter);
// Lookup hashes each suffix whose label count occurs among the keys, and probes the index
// only where the filter allows: about 50-110 ns for a name not covered, 200-300 ns when
// covered (two cache misses), plus one SHA-256 per label when the table holds obfuscated
// entries (about 450 ns for a miss then).
#ifndef FEDWALL_ENGINE_BLOCKLIST_BLOCKLIST_H_
#define FEDWALL_ENGINE_BLOCKLIST_BLOCKLIST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/common/diagnostic.h"

namespace fedwall::blocklist {

enum class Severity : uint8_t { kNone = 0, kNoop = 1, kSilence = 2, kSuspend = 3 };

// "none", "noop", "silence", "suspend".
const char* SeverityName(Severity s);
// Accepts suspend, silence, limit (= silence), noop, none; case-insensitive.
std::optional<Severity> ParseSeverity(std::string_view s);

enum class Format {
  kDetect,
  kMastodonCsv,
  kFediblockholeCsv,
  kMastodonApiJson,
  kGotosocialJson,
  kRapidblockJson,
  kPlain,
};
// Names as in the rule language: "mastodon_csv", ..., "plain" ("detect" for kDetect).
const char* FormatName(Format f);
std::optional<Format> ParseFormat(std::string_view name);

// One row of a blocklist, as read.
struct Entry {
  std::string domain;   // normalised (lower-case A-labels, no "*." / leading dot); empty when
                        // only `digest` is known
  std::string digest;   // lower-case hex SHA-256 of the domain, for obfuscated entries
  std::string written;  // the domain as written in the file ("exa**le.com", "*.Example.COM")
  Severity severity = Severity::kSuspend;
  bool reject_media = false;
  bool reject_reports = false;
  std::string public_comment;
  std::string private_comment;
  std::string path;   // file the entry came from
  uint32_t line = 0;  // 1-based line (for JSON: the line where the item starts)
};

struct ParseOptions {
  std::string path;                 // used in diagnostics and Entry::path
  Format format = Format::kDetect;  // or force one
  // For plain and gotosocial_json, and for rows of the other formats that give no severity
  // (no severity column, an empty cell, a JSON item without "severity").
  Severity default_severity = Severity::kSuspend;
  size_t max_bytes = 64 << 20;     // larger inputs are refused
  size_t max_entries = 2'000'000;  // rows past this are refused with one warning
  size_t max_json_depth = 64;      // deeper JSON documents are refused (blocklists need 4)
  size_t max_warnings = 1000;      // further skipped rows are counted in one last warning
};

struct ParseResult {
  Format format = Format::kDetect;  // the format read
  std::vector<Entry> entries;
  std::vector<Diagnostic> diagnostics;  // warnings for skipped rows (never errors)
};

// Reads a whole blocklist. An error only when nothing can be read at all (unknown format,
// a JSON document that does not parse, past max_bytes); bad rows are warnings.
absl::StatusOr<ParseResult> ParseBlocklist(std::string_view data, const ParseOptions& options);

// Lower-case hex SHA-256 of `domain`, as in Mastodon's `digest` field (of the normalised name).
std::string DomainDigest(std::string_view domain);

// What a lookup found: the merged entry covering a domain.
struct Match {
  Severity severity = Severity::kNone;
  bool reject_media = false;
  bool reject_reports = false;
  std::string_view domain;   // the covering entry's key (normalised), or the digest's domain
  std::string_view written;  // as written in the file of the entry that set the severity
  std::string_view path;     // file of the entry that set the severity
  uint32_t line = 0;
  std::string_view public_comment;  // of the entry that set the severity
  // True when the entry is known only by its SHA-256 digest (an obfuscated entry of the
  // public Mastodon API); then `domain` and `written` are the obfuscated form ("exa**le.com").
  bool by_digest = false;
};

class DomainTable {
 public:
  virtual ~DomainTable() = default;
  // The most specific entry covering `domain` (itself or a parent), or nullopt. `domain` must
  // be normalised (text::NormalizeDomain). Views in the result live as long as the table.
  virtual std::optional<Match> Lookup(std::string_view domain) const = 0;
  // Number of distinct entries (domains plus digests).
  virtual size_t size() const = 0;
  // Approximate heap bytes held.
  virtual size_t MemoryBytes() const = 0;
};

class DomainTableBuilder {
 public:
  DomainTableBuilder();
  ~DomainTableBuilder();
  DomainTableBuilder(DomainTableBuilder&&) noexcept;
  DomainTableBuilder& operator=(DomainTableBuilder&&) noexcept;

  // `entry.domain` must be normalised (as ParseBlocklist gives it). Entries with neither a
  // domain nor a valid digest (64 hex digits), or with a domain longer than 255 bytes, are
  // ignored; an entry with both is keyed by its domain. A digest equal to the digest of a
  // domain added in clear is merged into that domain when the table is built.
  void Add(const Entry& entry);
  void Add(const ParseResult& parsed);
  // Merges everything added so far into an immutable table. The builder is empty afterwards.
  std::shared_ptr<const DomainTable> Build() &&;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedwall::blocklist

#endif  // FEDWALL_ENGINE_BLOCKLIST_BLOCKLIST_H_
