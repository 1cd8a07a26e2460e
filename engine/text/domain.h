// Domain names and URLs: the one place where fedwall decides what a domain is.
//
// Every domain the engine compares (actor, object, origin, link hosts, blocklist entries,
// rule literals) goes through NormalizeDomain, so `Example.COM.`, `*.example.com`,
// `.example.com` and `example.com` are the same key, and `bücher.example` equals
// `xn--bcher-kva.example` (IDNA UTS #46, non-transitional, via ICU's uidna_openUTS46).
//
// Thread safety: all functions are thread-safe.
//
// Example:
//   auto d = fedwall::text::NormalizeDomain("*.Bücher.Example.");
//   // d.ok(), *d == "xn--bcher-kva.example"
//   std::string_view host = fedwall::text::HostOfUrl("https://Mastodon.social/users/x");
//   // host == "Mastodon.social"  (not yet normalised)
#ifndef FEDWALL_ENGINE_TEXT_DOMAIN_H_
#define FEDWALL_ENGINE_TEXT_DOMAIN_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fedwall::text {

// Lower-case IDNA A-label form; a leading "*." or "." and one trailing "." removed; a port
// (":443") removed. Errors (InvalidArgument, naming the input) for an empty name, a label
// longer than 63 bytes, a name longer than 253 bytes, spaces or other characters that cannot
// be in a host name, or anything UTS #46 rejects.
absl::StatusOr<std::string> NormalizeDomain(std::string_view domain);

// The host part of an absolute http(s) URL (or of any `scheme://host...` IRI), without
// userinfo or port, as written; "" when there is none (e.g. a URN or a relative reference).
std::string_view HostOfUrl(std::string_view url);

// HostOfUrl followed by NormalizeDomain; "" when there is no host or it is invalid.
std::string DomainOfUrl(std::string_view url);

// Each parent of a normalised domain, itself first:
//   "a.b.example.com" -> "a.b.example.com", "b.example.com", "example.com", "com".
// Calls `fn(suffix)` for each; stops early when fn returns false.
template <typename Fn>
void ForEachSuffix(std::string_view domain, Fn fn) {
  while (!domain.empty()) {
    if (!fn(domain)) return;
    size_t dot = domain.find('.');
    if (dot == std::string_view::npos) return;
    domain.remove_prefix(dot + 1);
  }
}

}  // namespace fedwall::text

#endif  // FEDWALL_ENGINE_TEXT_DOMAIN_H_
