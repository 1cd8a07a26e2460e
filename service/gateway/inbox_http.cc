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

std::string SigningDomain(absl::string_view header) {
  // keyId="..." (the parameter name is case-insensitive in practice: some send keyid).
  const absl::string_view h(header.data(), header.size());
  size_t pos = 0;
  while (pos < h.size()) {
    const size_t eq = h.find('=', pos);
    if (eq == absl::string_view::npos) return "";
    const absl::string_view name = absl::StripAsciiWhitespace(h.substr(pos, eq - pos));
    size_t value_begin = eq + 1, value_end;
    if (value_begin < h.size() && h[value_begin] == '"') {
      ++value_begin;
      value_end = h.find('"', value_begin);
      if (value_end == absl::string_view::npos) return "";
      pos = h.find(',', value_end);
    } else {
      value_end = h.find(',', value_begin);
      if (value_end == absl::string_view::npos) value_end = h.size();
      pos = value_end;
    }
    pos = pos == absl::string_view::npos ? h.size() : pos + 1;
    if (!absl::EqualsIgnoreCase(name, "keyId")) continue;
    absl::string_view url = h.substr(value_begin, value_end - value_begin);
    if (!absl::ConsumePrefix(&url, "https://") && !absl::ConsumePrefix(&url, "http://")) {
      return "";
    }
    url = url.substr(0, url.find_first_of("/?#"));
    if (const size_t at = url.rfind('@'); at != absl::string_view::npos) url = url.substr(at + 1);
    if (!url.empty() && url.front() == '[') return "";  // an address, not a domain
    url = url.substr(0, url.find(':'));
    absl::ConsumeSuffix(&url, ".");
    if (url.empty() || url.size() > 253) return "";
    return absl::AsciiStrToLower(url);
  }
  return "";
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
    std::array<uint8_t, 16> unused;
    if (!ParseAddress(*it, &unused)) break;
    client = std::string(*it);
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
