// Names, format detection, the checks every row goes through, and digests.
// The readers are in csv.cc and json.cc, the table in domain_table.cc.
#include "engine/blocklist/blocklist.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/blocklist/parse_internal.h"
#include "engine/text/domain.h"

namespace fedwall::blocklist {
namespace {

// Longer "domains" are refused before they reach IDNA (a name has at most 253 bytes; the
// margin leaves room for "*.", a trailing dot and non-ASCII letters before conversion).
constexpr size_t kMaxWrittenDomain = 1024;

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string FileName(const ParseOptions& options) {
  return options.path.empty() ? std::string("<input>") : options.path;
}

// True when the start of `data` looks like binary data rather than text: more than 5% of the
// first 4 KiB are control bytes other than tab, line feed and carriage return.
bool LooksBinary(std::string_view data) {
  std::string_view sample = data.substr(0, 4096);
  size_t control = 0;
  for (unsigned char c : sample) {
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) ++control;
  }
  return control >= 4 && control * 20 > sample.size();
}

}  // namespace

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kNone:
      return "none";
    case Severity::kNoop:
      return "noop";
    case Severity::kSilence:
      return "silence";
    case Severity::kSuspend:
      return "suspend";
  }
  return "none";
}

std::optional<Severity> ParseSeverity(std::string_view s) {
  s = internal::Trim(s);
  if (s.size() > 8) return std::nullopt;
  std::string lower = internal::AsciiLower(s);
  if (lower == "suspend") return Severity::kSuspend;
  if (lower == "silence" || lower == "limit") return Severity::kSilence;
  if (lower == "noop") return Severity::kNoop;
  if (lower == "none") return Severity::kNone;
  return std::nullopt;
}

const char* FormatName(Format f) {
  switch (f) {
    case Format::kDetect:
      return "detect";
    case Format::kMastodonCsv:
      return "mastodon_csv";
    case Format::kFediblockholeCsv:
      return "fediblockhole_csv";
    case Format::kMastodonApiJson:
      return "mastodon_api_json";
    case Format::kGotosocialJson:
      return "gotosocial_json";
    case Format::kRapidblockJson:
      return "rapidblock_json";
    case Format::kPlain:
      return "plain";
  }
  return "detect";
}

std::optional<Format> ParseFormat(std::string_view name) {
  for (Format f :
       {Format::kDetect, Format::kMastodonCsv, Format::kFediblockholeCsv, Format::kMastodonApiJson,
        Format::kGotosocialJson, Format::kRapidblockJson, Format::kPlain}) {
    if (name == FormatName(f)) return f;
  }
  return std::nullopt;
}

absl::StatusOr<ParseResult> ParseBlocklist(std::string_view data, const ParseOptions& options) {
  if (data.size() > options.max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(FileName(options), ": ", data.size(),
                                                   " bytes, more than max_bytes (",
                                                   options.max_bytes, ")"));
  }
  if (data.starts_with(kBom)) data.remove_prefix(kBom.size());

  ParseResult result;
  internal::RowSink sink(options, &result);
  Format format = options.format;
  if (format == Format::kDetect) {
    size_t first = data.find_first_not_of(" \t\r\n");
    bool mastodon = false;
    if (first != std::string_view::npos && (data[first] == '[' || data[first] == '{')) {
      format = Format::kDetect;  // ReadJson tells the shape apart
    } else if (LooksBinary(data)) {
      return absl::InvalidArgumentError(
          absl::StrCat(FileName(options), ": unknown blocklist format (binary data)"));
    } else if (internal::LooksLikeCsvHeader(data, &mastodon)) {
      format = mastodon ? Format::kMastodonCsv : Format::kFediblockholeCsv;
    } else {
      format = Format::kPlain;
    }
  }

  absl::Status status;
  switch (format) {
    case Format::kDetect:
    case Format::kMastodonApiJson:
    case Format::kGotosocialJson:
    case Format::kRapidblockJson: {
      absl::StatusOr<Format> read = internal::ReadJson(data, format, sink);
      if (read.ok()) {
        result.format = *read;
      } else {
        status = read.status();
      }
      break;
    }
    case Format::kMastodonCsv:
    case Format::kFediblockholeCsv:
      status = internal::ReadCsv(data, format, sink, &result.format);
      break;
    case Format::kPlain:
      result.format = Format::kPlain;
      status = internal::ReadPlain(data, sink);
      break;
  }
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(FileName(options), ": ", status.message()));
  }
  sink.Finish();
  return result;
}

std::string DomainDigest(std::string_view domain) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(domain.data(), domain.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[md[i] >> 4];
    hex[2 * i + 1] = kHex[md[i] & 0xf];
  }
  return hex;
}

namespace internal {

RowSink::RowSink(const ParseOptions& options, ParseResult* result)
    : options_(options), result_(result) {}

void RowSink::Warn(uint32_t line, std::string message) {
  if (result_->diagnostics.size() >= options_.max_warnings) {
    ++suppressed_;
    return;
  }
  result_->diagnostics.push_back(
      {FileName(options_), line, 0, Diagnostic::Severity::kWarning, std::move(message)});
}

void RowSink::Finish() {
  if (suppressed_ == 0) return;
  result_->diagnostics.push_back({FileName(options_), 0, 0, Diagnostic::Severity::kWarning,
                                  absl::StrCat(suppressed_, " more warnings not shown")});
  suppressed_ = 0;
}

void RowSink::Add(uint32_t line, std::string_view written, std::string_view digest, Entry entry) {
  if (full_) return;
  written = Trim(written);
  digest = Trim(digest);
  const bool has_digest = IsHexDigest(digest);
  std::string why;
  if (written.find('\0') != std::string_view::npos || digest.find('\0') != std::string_view::npos) {
    why = "NUL byte in the domain";
  } else if (written.empty() && !has_digest) {
    why = digest.empty() ? "empty domain" : absl::StrCat("invalid digest ", Quote(digest));
  } else if (written.size() > kMaxWrittenDomain) {
    why = absl::StrCat("domain too long (", written.size(), " bytes)");
  } else if (written.find('*', written.starts_with("*.") ? 2 : 0) != std::string_view::npos) {
    // Obfuscated ("exa**le.com"): only its digest can be matched.
    if (has_digest) {
      entry.digest = AsciiLower(digest);
    } else {
      why =
          absl::StrCat("obfuscated domain ", Quote(written), " without a digest cannot be matched");
    }
  } else if (!written.empty()) {
    absl::StatusOr<std::string> domain = text::NormalizeDomain(written);
    if (domain.ok()) {
      entry.domain = *std::move(domain);
      if (has_digest) entry.digest = AsciiLower(digest);
    } else if (has_digest) {
      entry.digest = AsciiLower(digest);
    } else {
      why = absl::StrCat("invalid domain ", Quote(written));
    }
  } else {
    entry.digest = AsciiLower(digest);
  }
  if (!why.empty()) {
    Warn(line, absl::StrCat(why, "; row skipped"));
    return;
  }
  if (result_->entries.size() >= options_.max_entries) {
    full_ = true;
    result_->diagnostics.push_back(
        {FileName(options_), line, 0, Diagnostic::Severity::kWarning,
         absl::StrCat("more than max_entries (", options_.max_entries,
                      ") entries; this row and the rest of the file are ignored")});
    return;
  }
  entry.written = std::string(written);
  entry.path = options_.path;
  entry.line = line;
  result_->entries.push_back(std::move(entry));
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      }
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

std::optional<bool> ParseBool(std::string_view s) {
  std::string lower = AsciiLower(Trim(s));
  if (lower.empty() || lower == "false" || lower == "0" || lower == "no") return false;
  if (lower == "true" || lower == "1" || lower == "yes") return true;
  return std::nullopt;
}

bool IsHexDigest(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace internal
}  // namespace fedwall::blocklist
