// The HTTP facts the inbox gateway works with, as pure functions (no sockets): which paths are
// inboxes, the signing domain of an HTTP signature, the client address behind trusted proxies,
// and the hop-by-hop headers a proxy may change (RFC 9110 §7.6.1). Spec: ../shared/spec/api.md,
// "Inbox gateway"; docs/integrations/gateway.md.
//
// Every input is a stranger's header; nothing here allocates more than its input's size.
#ifndef FEDWALL_SERVICE_GATEWAY_INBOX_HTTP_H_
#define FEDWALL_SERVICE_GATEWAY_INBOX_HTTP_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fedwall::gateway {

// Whether the path of `target` (the request target, query removed) is an inbox: equal to one
// of `patterns`, where `*` stands for exactly one non-empty path segment ("/users/*/inbox").
bool IsInboxPath(absl::string_view target, const std::vector<std::string>& patterns);
// A pattern must start with '/' and use `*` only as a whole segment.
absl::Status CheckInboxPattern(absl::string_view pattern);

// Who signed a delivery, from its `Signature` headers (draft-cavage, what Mastodon, Misskey,
// Akkoma and GoToSocial send: `keyId="https://social.example/users/a#main-key",...`) and its
// `Signature-Input` headers (RFC 9421: `sig1=(...);keyid="..."`). `domain` is the key URL's
// host, lowercased, without port or trailing dot; "" when no key id is an http(s) URL.
// `ambiguous`: the headers name more than one key owner (several key ids that differ, in any
// letter case or header), or a key URL with user info or a backslash, so that the server and
// fedwall could read different signers; the gateway refuses such deliveries.
struct Signer {
  std::string domain;
  bool ambiguous = false;
};
Signer SigningDomain(const std::vector<absl::string_view>& signature,
                     const std::vector<absl::string_view>& signature_input = {});

// The `Date` header (IMF-fixdate, RFC 9110 §5.6.7), or nullopt.
std::optional<absl::Time> ParseHttpDate(absl::string_view date);
// IMF-fixdate of `t`, for the responses' `Date`.
std::string FormatHttpDate(absl::Time t);

// IPv4 / IPv6 addresses and networks ("127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8").
class AddressSet {
 public:
  static absl::StatusOr<AddressSet> Parse(const std::vector<std::string>& entries);
  bool Contains(absl::string_view address) const;
  bool empty() const { return nets_.empty(); }

 private:
  struct Net {
    std::array<uint8_t, 16> bytes{};  // IPv4 as ::ffff:a.b.c.d
    int prefix = 128;
  };
  std::vector<Net> nets_;
};

// The sender's address: `peer` itself unless it is a trusted proxy; then the right-most
// address of the X-Forwarded-For values (all the request's headers, in order) that is not a
// trusted proxy (or the left-most, when all are). Entries that are not addresses end the walk.
// The result is in canonical form ("1.2.3.4", "2001:db8::1": no port, no brackets).
std::string ClientAddress(absl::string_view peer, const std::vector<absl::string_view>& forwarded_for,
                          const AddressSet& trusted);

// Whether `name` is hop-by-hop: Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade, or named in one of the `connection` header values (case-insensitive).
bool IsHopByHop(absl::string_view name, const std::vector<absl::string_view>& connection);

}  // namespace fedwall::gateway

#endif  // FEDWALL_SERVICE_GATEWAY_INBOX_HTTP_H_
