// Domain names and URLs: see domain.h for the contract.
//
// Policy (what counts as a host name), following the WHATWG URL standard's "domain to ASCII"
// where it is lenient and DNS where it is strict:
//   - IDNA is UTS #46 non-transitional with CheckBidi and CheckJoiners, without STD3 rules
//     and without CheckHyphens, as browsers do: "r3---sn-abc.googlevideo.com" and
//     "-foo.example" are accepted.
//   - After mapping, only ASCII letters, digits, '-', '_' and '.' may remain. Underscores are
//     accepted because real host names carry them (SRV-style labels, some CDN and
//     self-hosted instance names); every other ASCII symbol, space or control is an error.
//   - Labels are 1-63 bytes and the name at most 253 bytes, measured in A-label form.
//   - A bracketed IPv6 literal ("[::1]", "[2001:DB8::1]:443") is accepted and returned
//     lower-cased with its brackets; IPv4 addresses pass as ordinary names.
//   - Percent-encoded host names are not decoded (they are rejected for the '%').
// Plain LDH names that contain no "xn--" label never reach ICU.
#include "engine/text/domain.h"

#include <unicode/uidna.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"

namespace fedwall::text {
namespace {

constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxName = 253;
constexpr size_t kMaxQuotedInput = 80;

absl::Status InvalidDomain(std::string_view input, std::string_view reason) {
  std::string_view shown = input.substr(0, kMaxQuotedInput);
  std::string message = "invalid domain name \"";
  message += absl::Utf8SafeCHexEscape(absl::string_view(shown.data(), shown.size()));
  if (shown.size() < input.size()) message += "...";
  message += "\": ";
  message += reason;
  return absl::InvalidArgumentError(message);
}

bool IsLdhOrUnderscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         (c >= 'A' && c <= 'Z');
}

bool IsHexOrColonOrDot(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

void LowerInPlace(std::string* s) {
  for (char& c : *s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
}

// Checks the A-label form (ASCII): characters, label and name lengths. Returns "" when
// valid, else the reason.
std::string_view CheckAsciiName(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name.size() > kMaxName) return "longer than 253 bytes";
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return "empty label";
      label = 0;
      continue;
    }
    if (!IsLdhOrUnderscore(c)) {
      return c == ' ' ? std::string_view("contains a space")
                      : std::string_view("contains a character not allowed in a host name");
    }
    if (++label > kMaxLabel) return "label longer than 63 bytes";
  }
  if (label == 0) return "empty label";
  return "";
}

// True when `name` is plain ASCII letters/digits/hyphens/underscores/dots with no label
// starting with "xn--" (which needs Punycode validation).
bool IsPlainAscii(std::string_view name) {
  size_t label_start = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      label_start = i + 1;
      continue;
    }
    if (!IsLdhOrUnderscore(c)) return false;
    if (i == label_start + 3 && c == '-' && name[i - 1] == '-' &&
        (name[i - 2] == 'n' || name[i - 2] == 'N') && (name[i - 3] == 'x' || name[i - 3] == 'X')) {
      return false;
    }
  }
  return true;
}

const UIDNA* Uts46() {
  static const UIDNA* const kIdna = [] {
    UErrorCode err = U_ZERO_ERROR;
    UIDNA* idna =
        uidna_openUTS46(UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ | UIDNA_NONTRANSITIONAL_TO_ASCII |
                            UIDNA_NONTRANSITIONAL_TO_UNICODE,
                        &err);
    return U_SUCCESS(err) ? idna : nullptr;
  }();
  return kIdna;
}

// Errors UTS #46 reports that we tolerate (see the top of this file); length errors are
// checked by CheckAsciiName with our own messages.
constexpr uint32_t kToleratedIdnaErrors = UIDNA_ERROR_LEADING_HYPHEN | UIDNA_ERROR_TRAILING_HYPHEN |
                                          UIDNA_ERROR_HYPHEN_3_4 | UIDNA_ERROR_LABEL_TOO_LONG |
                                          UIDNA_ERROR_DOMAIN_NAME_TOO_LONG;

}  // namespace

absl::StatusOr<std::string> NormalizeDomain(std::string_view domain) {
  std::string_view d = domain;
  if (d.starts_with("*.")) {
    d.remove_prefix(2);
  } else if (d.starts_with(".")) {
    d.remove_prefix(1);
  }
  if (d.starts_with("[")) {  // IPv6 literal, optionally with a port
    size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) {
      return InvalidDomain(domain, "malformed IPv6 literal");
    }
    std::string_view rest = d.substr(close + 1);
    if (!rest.empty() && (rest[0] != ':' || rest.substr(1).find_first_not_of("0123456789") !=
                                                std::string_view::npos)) {
      return InvalidDomain(domain, "malformed IPv6 literal");
    }
    std::string literal(d.substr(0, close + 1));
    for (size_t i = 1; i + 1 < literal.size(); ++i) {
      if (!IsHexOrColonOrDot(literal[i])) return InvalidDomain(domain, "malformed IPv6 literal");
    }
    LowerInPlace(&literal);
    return literal;
  }
  // Port: ":" followed by digits only (or nothing).
  if (size_t colon = d.rfind(':'); colon != std::string_view::npos) {
    if (d.substr(colon + 1).find_first_not_of("0123456789") != std::string_view::npos) {
      return InvalidDomain(domain, "contains a character not allowed in a host name");
    }
    d = d.substr(0, colon);
  }
  if (d.ends_with(".")) d.remove_suffix(1);
  if (d.empty()) return InvalidDomain(domain, "empty name");

  std::string out;
  if (IsPlainAscii(d)) {
    out.assign(d);
  } else {
    const UIDNA* idna = Uts46();
    if (idna == nullptr) return absl::InternalError("ICU UTS #46 IDNA is unavailable");
    char buf[1024];
    UIDNAInfo info = UIDNA_INFO_INITIALIZER;
    UErrorCode err = U_ZERO_ERROR;
    if (d.size() > sizeof buf) return InvalidDomain(domain, "longer than 253 bytes");
    int32_t n = uidna_nameToASCII_UTF8(idna, d.data(), static_cast<int32_t>(d.size()), buf,
                                       static_cast<int32_t>(sizeof buf), &info, &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) return InvalidDomain(domain, "longer than 253 bytes");
    if (U_FAILURE(err)) return InvalidDomain(domain, u_errorName(err));
    const uint32_t errors = info.errors & ~kToleratedIdnaErrors;
    if (errors != 0) {
      if (errors & UIDNA_ERROR_EMPTY_LABEL) return InvalidDomain(domain, "empty label");
      if (errors & UIDNA_ERROR_DISALLOWED) {
        return InvalidDomain(domain, "contains a character not allowed in a host name");
      }
      if (errors & UIDNA_ERROR_BIDI) return InvalidDomain(domain, "violates the IDNA bidi rule");
      return InvalidDomain(domain, "rejected by IDNA (UTS #46)");
    }
    out.assign(buf, static_cast<size_t>(n));
    // UTS #46 maps U+3002 and friends to '.', so a trailing one only shows up now.
    if (!out.empty() && out.back() == '.') out.pop_back();
  }
  LowerInPlace(&out);
  if (std::string_view reason = CheckAsciiName(out); !reason.empty()) {
    return InvalidDomain(domain, reason);
  }
  return out;
}

std::string_view HostOfUrl(std::string_view url) {
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://".
  size_t i = 0;
  if (url.empty() || !((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z'))) {
    return {};
  }
  while (i < url.size()) {
    const char c = url[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
        c == '-' || c == '.') {
      ++i;
      continue;
    }
    break;
  }
  if (url.substr(i, 3) != "://") return {};
  std::string_view authority = url.substr(i + 3);
  authority = authority.substr(0, authority.find_first_of("/?#\\"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return {};
    return authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

std::string DomainOfUrl(std::string_view url) {
  std::string_view host = HostOfUrl(url);
  if (host.empty()) return {};
  absl::StatusOr<std::string> d = NormalizeDomain(host);
  return d.ok() ? *std::move(d) : std::string();
}

}  // namespace fedwall::text
