// fuzz_blocklist: blocklist bytes -> ParseBlocklist -> DomainTableBuilder -> DomainTable::Lookup.
//
// The first byte picks the format (byte % 7: detect, mastodon_csv, fediblockhole_csv,
// mastodon_api_json, gotosocial_json, rapidblock_json, plain), the second the default
// severity; the rest is the file. Seeds (corpus/blocklist) start with those two bytes.
//
// Invariants checked: an entry's domain is normalised and at most 253 bytes, its digest empty
// or 64 lower-case hex digits; every entry with a domain is found by Lookup under its own name
// with at least its severity (entries merge by the strongest), and a subdomain of it is
// covered; the table holds no more entries than were added.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "engine/blocklist/blocklist.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

using fedwall::blocklist::Format;
using fedwall::blocklist::Severity;

constexpr Format kFormats[] = {Format::kDetect,
                               Format::kMastodonCsv,
                               Format::kFediblockholeCsv,
                               Format::kMastodonApiJson,
                               Format::kGotosocialJson,
                               Format::kRapidblockJson,
                               Format::kPlain};
constexpr Severity kSeverities[] = {Severity::kSuspend, Severity::kSilence, Severity::kNoop};

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  fedwall::blocklist::ParseOptions options;
  options.path = "fuzz.list";
  options.format = kFormats[data[0] % std::size(kFormats)];
  options.default_severity = kSeverities[data[1] % std::size(kSeverities)];
  options.max_bytes = 1 << 20;
  options.max_entries = 20'000;
  options.max_warnings = 50;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);

  auto parsed = fedwall::blocklist::ParseBlocklist(bytes, options);
  if (!parsed.ok()) {
    FEDWALL_FUZZ_CHECK(!parsed.status().message().empty());
    return 0;
  }
  FEDWALL_FUZZ_CHECK(parsed->entries.size() <= options.max_entries);
  FEDWALL_FUZZ_CHECK(parsed->diagnostics.size() <= options.max_warnings + 1);
  for (const fedwall::blocklist::Entry& e : parsed->entries) {
    FEDWALL_FUZZ_CHECK(e.domain.size() <= 253);
    FEDWALL_FUZZ_CHECK(e.domain.empty() || absl::AsciiStrToLower(e.domain) == e.domain);
    FEDWALL_FUZZ_CHECK(e.digest.empty() || (e.digest.size() == 64 && IsLowerHex(e.digest)));
    FEDWALL_FUZZ_CHECK(!e.domain.empty() || !e.digest.empty());
    FEDWALL_FUZZ_CHECK(e.path == options.path);
  }

  fedwall::blocklist::DomainTableBuilder builder;
  builder.Add(*parsed);
  std::shared_ptr<const fedwall::blocklist::DomainTable> table = std::move(builder).Build();
  FEDWALL_FUZZ_CHECK(table->size() <= parsed->entries.size());
  FEDWALL_FUZZ_CHECK(table->MemoryBytes() > 0);

  size_t looked_up = 0;
  for (const fedwall::blocklist::Entry& e : parsed->entries) {
    if (e.domain.empty() || ++looked_up > 200) continue;
    auto m = table->Lookup(e.domain);
    FEDWALL_FUZZ_CHECK(m.has_value());
    FEDWALL_FUZZ_CHECK(m->domain == e.domain);
    FEDWALL_FUZZ_CHECK(m->severity >= e.severity);
    FEDWALL_FUZZ_CHECK(!m->path.empty());
    std::string sub = "www." + e.domain;
    if (sub.size() <= 253) FEDWALL_FUZZ_CHECK(table->Lookup(sub).has_value());
  }
  for (std::string_view d : {"example.com", "a.b.c.example.com", "tk", "x", "", "."}) {
    (void)table->Lookup(d);
  }
  return 0;
}
