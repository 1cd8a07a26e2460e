#include "service/gateway/inbox_http.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fedwall::gateway {
namespace {

absl::string_view PathOf(absl::string_view target) {
  const size_t q = target.find_first_of("?#");
  return q == absl::string_view::npos ? target : target.substr(0, q);
}

absl::string_view Trim(absl::string_view s) { return absl::StripAsciiWhitespace(s); }

bool ParseAddress(absl::string_view text, std::array<uint8_t, 16>* out) {
  if (text.empty() || text.size() > 64) return false;
  std::string s(text);
  // "[::1]" and "[::1]:443" and "1.2.3.4:80" as they appear in some X-Forwarded-For values.
  if (s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos) return false;
    s = s.substr(1, close - 1);
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    s = s.substr(0, s.find(':'));
  }
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out->fill(0);
    (*out)[10] = 0xff;
    (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &v4, 4);
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out->data(), &v6, 16);
    return true;
  }
  return false;
}

// "1.2.3.4" for an IPv4 (mapped) address, else the IPv6 text form.
std::string Canonical(const std::array<uint8_t, 16>& a) {
  char text[INET6_ADDRSTRLEN];
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.data(), kMapped, 12) == 0) {
    inet_ntop(AF_INET, a.data() + 12, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, a.data(), text, sizeof text);
  }
  return text;
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

absl::Status CheckInboxPattern(absl::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("inbox path \"", pattern, "\" must start with '/'"));
  }
  for (absl::string_view seg : absl::StrSplit(absl::string_view(pattern.data(), pattern.size()), '/')) {
    if (seg.find('*') != absl::string_view::npos && seg != "*") {
      return absl::InvalidArgumentError(absl::StrCat(
          "inbox path \"", pattern, "\": '*' may only stand for a whole segment (/users/*/inbox)"));
    }
  }
  return absl::OkStatus();
}

bool IsInboxPath(absl::string_view target, const std::vector<std::string>& patterns) {
  const absl::string_view path = PathOf(target);
  for (const std::string& pattern : patterns) {
    std::vector<absl::string_view> want = absl::StrSplit(pattern, '/');
    std::vector<absl::string_view> got =
        absl::StrSplit(absl::string_view(path.data(), path.size()), '/');
    if (want.size() != got.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < want.size() && ok; ++i) {
      ok = want[i] == "*" ? !got[i].empty() : want[i] == got[i];
    }
    if (ok) return true;
  }
  return false;
}

namespace {

// Splits `s` at any of `seps` outside double quotes and parentheses.
std::vector<absl::string_view> SplitOutsideQuotes(absl::string_view s, absl::string_view seps) {
  std::vector<absl::string_view> out;
  bool quoted = false;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (depth == 0 && seps.find(c) != absl::string_view::npos) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

// The key ids among `name=value` items (the name in any case, the value quoted or not).
void CollectKeyIds(absl::string_view header, absl::string_view seps,
                   std::vector<std::string>* out) {
  for (absl::string_view item : SplitOutsideQuotes(header, seps)) {
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) continue;
    if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(item.substr(0, eq)), "keyid")) continue;
    absl::string_view value = absl::StripAsciiWhitespace(item.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    out->emplace_back(value);
  }
}

// The owner of one key id: the URL's host, or the key id itself when it is not a URL (so two
// different opaque ids still count as two owners). Sets `bad` for user info or a backslash.
std::string KeyOwner(absl::string_view key_id, bool* bad) {
  absl::string_view url = key_id;
  if (!absl::ConsumePrefix(&url, "https://") && !absl::ConsumePrefix(&url, "http://")) {
    return absl::StrCat("opaque:", key_id);
  }
  url = url.substr(0, url.find_first_of("/?#"));
  if (url.find('@') != absl::string_view::npos || key_id.find('\\') != absl::string_view::npos) {
    *bad = true;
  }
  if (!url.empty() && url.front() == '[') return "";  // an address, not a domain
  url = url.substr(0, url.find(':'));
  absl::ConsumeSuffix(&url, ".");
  if (url.empty() || url.size() > 253) return "";
  return absl::AsciiStrToLower(url);
}

}  // namespace

Signer SigningDomain(const std::vector<absl::string_view>& signature,
                     const std::vector<absl::string_view>& signature_input) {
  constexpr size_t kMaxHeaderBytes = 64 << 10;  // the gateway's header limit bounds it anyway
  std::vector<std::string> key_ids;
  for (absl::string_view h : signature) {
    if (h.size() <= kMaxHeaderBytes) CollectKeyIds(h, ",", &key_ids);
  }
  for (absl::string_view h : signature_input) {
    if (h.size() <= kMaxHeaderBytes) CollectKeyIds(h, ",;", &key_ids);
  }
  Signer signer;
  std::string owner;
  bool first = true;
  for (const std::string& id : key_ids) {
    const std::string o = KeyOwner(id, &signer.ambiguous);
    if (!first && o != owner) signer.ambiguous = true;
    owner = o;
    first = false;
  }
  if (!absl::StartsWith(owner, "opaque:")) signer.domain = owner;
  if (signer.ambiguous) signer.domain.clear();
  return signer;
}

std::optional<absl::Time> ParseHttpDate(absl::string_view date) {
  std::string err;
  absl::Time t;
  const std::string s(Trim(date));
  if (s.size() > 64) return std::nullopt;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", s, absl::UTCTimeZone(), &t, &err)) return t;
  return std::nullopt;
}

std::string FormatHttpDate(absl::Time t) {
  const absl::TimeZone::CivilInfo c = absl::UTCTimeZone().At(t);
  const absl::CivilDay day(c.cs);
  const int weekday = (static_cast<int>(absl::GetWeekday(day)) + 1) % 7;  // Monday is 0 in absl
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[weekday],
                c.cs.day(), kMonths[c.cs.month() - 1], static_cast<int>(c.cs.year()), c.cs.hour(),
                c.cs.minute(), c.cs.second());
  return buf;
}

absl::StatusOr<AddressSet> AddressSet::Parse(const std::vector<std::string>& entries) {
  AddressSet set;
  for (const std::string& entry : entries) {
    Net net;
    absl::string_view address = entry;
    const size_t slash = entry.find('/');
    int prefix = -1;
    if (slash != std::string::npos) {
      address = absl::string_view(entry).substr(0, slash);
      if (!absl::SimpleAtoi(entry.substr(slash + 1), &prefix) || prefix < 0 || prefix > 128) {
        return absl::InvalidArgumentError(absl::StrCat("trusted proxy \"", entry, "\": bad prefix"));
      }
    }
    if (!ParseAddress(address, &net.bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("trusted proxy \"", entry, "\" is not an IP address or network"));
    }
    const bool v4 = address.find(':') == absl::string_view::npos;
    if (prefix < 0) prefix = v4 ? 32 : 128;
    if (v4 && prefix > 32) {
      return absl::InvalidArgumentError(absl::StrCat("trusted proxy \"", entry, "\": bad prefix"));
    }
    net.prefix = v4 ? prefix + 96 : prefix;
    set.nets_.push_back(net);
  }
  return set;
}

bool AddressSet::Contains(absl::string_view address) const {
  std::array<uint8_t, 16> a;
  if (!ParseAddress(Trim(address), &a)) return false;
  for (const Net& n : nets_) {
    int bits = n.prefix, i = 0;
    for (; bits >= 8; bits -= 8, ++i) {
      if (a[i] != n.bytes[i]) break;
    }
    if (bits >= 8) continue;
    if (bits == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) == (n.bytes[i] & mask)) return true;
  }
  return false;
}

std::string ClientAddress(absl::string_view peer, const std::vector<absl::string_view>& forwarded_for,
                          const AddressSet& trusted) {
  if (!trusted.Contains(peer)) return std::string(peer);
  std::vector<absl::string_view> hops;
  for (absl::string_view value : forwarded_for) {
    for (absl::string_view part : absl::StrSplit(absl::string_view(value.data(), value.size()), ',')) {
      hops.push_back(Trim(absl::string_view(part.data(), part.size())));
    }
  }
  std::string client(peer);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    std::array<uint8_t, 16> bytes;
    if (!ParseAddress(*it, &bytes)) break;
    client = Canonical(bytes);
    if (!trusted.Contains(*it)) break;
  }
  return client;
}

bool IsHopByHop(absl::string_view name, const std::vector<absl::string_view>& connection) {
  const absl::string_view n(name.data(), name.size());
  for (const char* h : {"connection", "proxy-connection", "keep-alive", "te", "transfer-encoding",
                        "upgrade"}) {
    if (absl::EqualsIgnoreCase(n, h)) return true;
  }
  for (absl::string_view value : connection) {
    for (absl::string_view token : absl::StrSplit(absl::string_view(value.data(), value.size()), ',')) {
      if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(token), n)) return true;
    }
  }
  return false;
}

}  // namespace fedwall::gateway
