// fedwall.toml: parsing, validation, the token and TLS files, and the start-up exposure check.
// One table (Keys()) lists every key with its type, its field and its allowed range; the
// parser, Validate() and ConfigKeyNames() all read it, so a new setting is one line there
// (plus the docs, which a test checks).
//
// toml++ is used with exceptions (as Debian's shared library is built); toml::parse_error is
// caught in ParseConfig and nothing else in this file throws on purpose.
#include "service/config/config.h"

#include <toml++/toml.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fedwall::service {
namespace {

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

// Debian's abseil has its own string_view type.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// User text inside a message: quoted, control characters escaped.
std::string Quote(std::string_view s) {
  return absl::StrCat("\"", absl::Utf8SafeCHexEscape(Av(s)), "\"");
}

// "16MiB" for 16777216; "1000" for 1000 (used to make range messages readable).
std::string HumanSize(uint64_t n) {
  if (n != 0 && n % kGiB == 0) return absl::StrCat(n / kGiB, "GiB");
  if (n != 0 && n % kMiB == 0) return absl::StrCat(n / kMiB, "MiB");
  if (n != 0 && n % kKiB == 0) return absl::StrCat(n / kKiB, "KiB");
  return absl::StrCat(n);
}

enum class Kind {
  kString,    // TOML string
  kBool,      // TOML boolean
  kInt,       // TOML integer, into an int
  kCount,     // TOML integer >= 0, into a size_t
  kSize,      // TOML integer of bytes >= 0, or a string ParseByteSize takes, into a size_t
  kDuration,  // TOML string absl::ParseDuration takes, >= 0 and finite
  kStrings,   // TOML array of strings (at most kMaxListItems)
};

constexpr size_t kMaxListItems = 1000;

struct KeySpec {
  std::string_view table;
  std::string_view key;
  Kind kind = Kind::kString;
  // Exactly one is set, matching `kind` (kCount and kSize share size_field).
  std::string ServiceConfig::*string_field = nullptr;
  bool ServiceConfig::*bool_field = nullptr;
  int ServiceConfig::*int_field = nullptr;
  size_t ServiceConfig::*size_field = nullptr;
  absl::Duration ServiceConfig::*duration_field = nullptr;
  std::vector<std::string> ServiceConfig::*strings_field = nullptr;
  // Inclusive range checked by Validate (kInt, kCount, kSize; kDuration below).
  int64_t min = 0;
  int64_t max = 0;
  absl::Duration min_duration;
  absl::Duration max_duration;

  std::string Name() const { return absl::StrCat(Av(table), ".", Av(key)); }
};

KeySpec StringKey(std::string_view table, std::string_view key, std::string ServiceConfig::*field) {
  KeySpec k;
  k.table = table;
  k.key = key;
  k.kind = Kind::kString;
  k.string_field = field;
  return k;
}

KeySpec BoolKey(std::string_view table, std::string_view key, bool ServiceConfig::*field) {
  KeySpec k;
  k.table = table;
  k.key = key;
  k.kind = Kind::kBool;
  k.bool_field = field;
  return k;
}

KeySpec IntKey(std::string_view table, std::string_view key, int ServiceConfig::*field, int64_t min,
               int64_t max) {
  KeySpec k;
  k.table = table;
  k.key = key;
  k.kind = Kind::kInt;
  k.int_field = field;
  k.min = min;
  k.max = max;
  return k;
}

KeySpec SizeKey(std::string_view table, std::string_view key, Kind kind,
                size_t ServiceConfig::*field, int64_t min, int64_t max) {
  KeySpec k;
  k.table = table;
  k.key = key;
  k.kind = kind;
  k.size_field = field;
  k.min = min;
  k.max = max;
  return k;
}

KeySpec DurationKey(std::string_view table, std::string_view key,
                    absl::Duration ServiceConfig::*field, absl::Duration min, absl::Duration max) {
  KeySpec k;
  k.table = table;
  k.key = key;
  k.kind = Kind::kDuration;
  k.duration_field = field;
  k.min_duration = min;
  k.max_duration = max;
  return k;
}

KeySpec StringsKey(std::string_view table, std::string_view key,
                   std::vector<std::string> ServiceConfig::*field) {
  KeySpec k;
  k.table = table;
  k.key = key;
  k.kind = Kind::kStrings;
  k.strings_field = field;
  return k;
}

// Every key of fedwall.toml, in the order of the documentation.
const std::vector<KeySpec>& Keys() {
  using C = ServiceConfig;
  static const auto* const kKeys = new std::vector<KeySpec>{
      StringKey("server", "listen", &C::listen),
      StringKey("server", "admin_listen", &C::admin_listen),
      StringKey("server", "admin_token_file", &C::admin_token_file),
      StringKey("server", "admin_http_listen", &C::admin_http_listen),
      StringKey("server", "tls_cert_file", &C::tls_cert_file),
      StringKey("server", "tls_key_file", &C::tls_key_file),
      StringKey("server", "admin_client_ca_file", &C::admin_client_ca_file),
      IntKey("server", "workers", &C::workers, 0, 256),
      DurationKey("server", "drain_timeout", &C::drain_timeout, absl::ZeroDuration(),
                  absl::Minutes(5)),
      StringKey("policy", "dir", &C::policy_dir),
      BoolKey("policy", "watch", &C::watch),
      DurationKey("policy", "reload_debounce", &C::reload_debounce, absl::ZeroDuration(),
                  absl::Minutes(1)),
      StringKey("store", "path", &C::store),
      DurationKey("store", "sync_interval", &C::store_sync_interval, absl::Milliseconds(100),
                  absl::Hours(1)),
      StringKey("state", "url", &C::state),
      DurationKey("state", "timeout", &C::state_timeout, absl::Milliseconds(1),
                  absl::Seconds(10)),
      SizeKey("state", "max_memory_bytes", Kind::kSize, &C::state_max_memory_bytes, kMiB,
              size_t{64} << 30),
      SizeKey("limits", "max_activity_bytes", Kind::kSize, &C::max_activity_bytes, kKiB, 64 * kMiB),
      // The lower bound that matters is max_activity_bytes (checked in Validate).
      SizeKey("limits", "max_message_bytes", Kind::kSize, &C::max_message_bytes, kKiB, 256 * kMiB),
      SizeKey("limits", "max_batch_items", Kind::kCount, &C::max_batch_items, 1, 100000),
      SizeKey("limits", "max_json_depth", Kind::kCount, &C::max_json_depth, 2, 1024),
      SizeKey("limits", "max_stream_in_flight", Kind::kCount, &C::max_stream_in_flight, 1, 65536),
      StringKey("gateway", "listen", &C::gateway_listen),
      StringKey("gateway", "upstream", &C::gateway_upstream),
      StringKey("gateway", "flag", &C::gateway_flag),
      StringsKey("gateway", "inbox_paths", &C::gateway_inbox_paths),
      IntKey("gateway", "reject_status", &C::gateway_reject_status, 100, 599),
      StringsKey("gateway", "trusted_proxies", &C::gateway_trusted_proxies),
      StringKey("gateway", "fail", &C::gateway_fail),
      StringsKey("gateway", "flag_effects", &C::gateway_flag_effects),
      DurationKey("gateway", "hold_window", &C::gateway_hold_window, absl::Minutes(1),
                  absl::Hours(24 * 7)),
      SizeKey("gateway", "max_body_bytes", Kind::kSize, &C::gateway_max_body_bytes, kKiB,
              64 * kMiB),
      DurationKey("gateway", "read_timeout", &C::gateway_read_timeout, absl::Milliseconds(100),
                  absl::Minutes(10)),
      DurationKey("gateway", "upstream_timeout", &C::gateway_upstream_timeout,
                  absl::Milliseconds(100), absl::Minutes(10)),
      SizeKey("gateway", "max_in_flight", Kind::kCount, &C::gateway_max_in_flight, 1, 1'000'000),
      SizeKey("gateway", "max_connections", Kind::kCount, &C::gateway_max_connections, 1,
              1'000'000),
  };
  return *kKeys;
}

const KeySpec* FindKey(std::string_view table, std::string_view key) {
  for (const KeySpec& spec : Keys()) {
    if (spec.table == table && spec.key == key) return &spec;
  }
  return nullptr;
}

bool IsKnownTable(std::string_view table) {
  for (const KeySpec& spec : Keys()) {
    if (spec.table == table) return true;
  }
  return false;
}

// "[server], [policy], [store], [limits]"
std::string KnownTables() {
  std::vector<std::string> tables;
  for (const KeySpec& spec : Keys()) {
    std::string t = absl::StrCat("[", Av(spec.table), "]");
    if (tables.empty() || tables.back() != t) tables.push_back(std::move(t));
  }
  return absl::StrJoin(tables, ", ");
}

// "listen, admin_listen, ..." for one table.
std::string KnownKeys(std::string_view table) {
  std::vector<std::string> keys;
  for (const KeySpec& spec : Keys()) {
    if (spec.table == table) keys.emplace_back(spec.key);
  }
  return absl::StrJoin(keys, ", ");
}

std::string RangeMessage(const KeySpec& spec, std::string_view got) {
  switch (spec.kind) {
    case Kind::kDuration:
      return absl::StrCat(spec.Name(), " must be between ", absl::FormatDuration(spec.min_duration),
                          " and ", absl::FormatDuration(spec.max_duration), ", got ", Av(got));
    case Kind::kSize:
      return absl::StrCat(spec.Name(), " must be between ", spec.min, " (",
                          HumanSize(static_cast<uint64_t>(spec.min)), ") and ", spec.max, " (",
                          HumanSize(static_cast<uint64_t>(spec.max)), ") bytes, got ", Av(got));
    default:
      return absl::StrCat(spec.Name(), " must be between ", spec.min, " and ", spec.max, ", got ",
                          Av(got));
  }
}

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

// "path:line:col" (just "path" when toml++ knows no position).
std::string Where(std::string_view path, const toml::source_region& region) {
  if (region.begin.line == 0) return std::string(path);
  return absl::StrCat(Av(path), ":", region.begin.line, ":", region.begin.column);
}

std::string TypeMessage(const KeySpec& spec, const toml::node& node) {
  std::string_view want;
  switch (spec.kind) {
    case Kind::kString:
      want = "a string";
      break;
    case Kind::kBool:
      want = "a boolean (true or false)";
      break;
    case Kind::kInt:
    case Kind::kCount:
      want = "an integer";
      break;
    case Kind::kSize:
      want = "a size (an integer of bytes, or a string like \"16MiB\")";
      break;
    case Kind::kDuration:
      want = "a duration string like \"5s\" or \"300ms\"";
      break;
    case Kind::kStrings:
      want = "an array of strings";
      break;
  }
  return absl::StrCat(spec.Name(), " must be ", Av(want), ", got ", Av(TypeName(node.type())));
}

// Stores `node` into `config` as `spec` says; returns an error message ("" when fine), without
// the location prefix.
std::string Apply(const KeySpec& spec, const toml::node& node, ServiceConfig& config) {
  switch (spec.kind) {
    case Kind::kString: {
      const toml::value<std::string>* v = node.as_string();
      if (v == nullptr) return TypeMessage(spec, node);
      const std::string& s = v->get();
      if (s.find('\0') != std::string::npos) {
        return absl::StrCat(spec.Name(), " must not contain a NUL character");
      }
      config.*spec.string_field = s;
      return "";
    }
    case Kind::kBool: {
      const toml::value<bool>* v = node.as_boolean();
      if (v == nullptr) return TypeMessage(spec, node);
      config.*spec.bool_field = v->get();
      return "";
    }
    case Kind::kInt: {
      const toml::value<int64_t>* v = node.as_integer();
      if (v == nullptr) return TypeMessage(spec, node);
      const int64_t n = v->get();
      if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
        return RangeMessage(spec, absl::StrCat(n));
      }
      config.*spec.int_field = static_cast<int>(n);
      return "";
    }
    case Kind::kCount:
    case Kind::kSize: {
      if (const toml::value<int64_t>* v = node.as_integer(); v != nullptr) {
        const int64_t n = v->get();
        if (n < 0) return RangeMessage(spec, absl::StrCat(n));
        config.*spec.size_field = static_cast<size_t>(n);
        return "";
      }
      const toml::value<std::string>* v = node.as_string();
      if (spec.kind == Kind::kCount || v == nullptr) return TypeMessage(spec, node);
      absl::StatusOr<size_t> size = ParseByteSize(v->get());
      if (!size.ok()) return absl::StrCat(spec.Name(), ": ", size.status().message());
      config.*spec.size_field = *size;
      return "";
    }
    case Kind::kDuration: {
      const toml::value<std::string>* v = node.as_string();
      if (v == nullptr) return TypeMessage(spec, node);
      absl::Duration d;
      if (!absl::ParseDuration(Av(v->get()), &d)) {
        return absl::StrCat(spec.Name(), ": invalid duration ", Quote(v->get()),
                            " (use a number with a unit: \"300ms\", \"5s\", \"1m\")");
      }
      if (d < absl::ZeroDuration()) {
        return absl::StrCat(spec.Name(), " must not be negative, got ", Quote(v->get()));
      }
      if (d == absl::InfiniteDuration()) {
        return absl::StrCat(spec.Name(), " must be finite, got ", Quote(v->get()));
      }
      config.*spec.duration_field = d;
      return "";
    }
    case Kind::kStrings: {
      const toml::array* a = node.as_array();
      if (a == nullptr) return TypeMessage(spec, node);
      if (a->size() > kMaxListItems) {
        return absl::StrCat(spec.Name(), " has ", a->size(), " items, over the limit of ",
                            kMaxListItems);
      }
      std::vector<std::string> items;
      for (const toml::node& item : *a) {
        const toml::value<std::string>* v = item.as_string();
        if (v == nullptr) return TypeMessage(spec, node);
        if (v->get().find('\0') != std::string::npos) {
          return absl::StrCat(spec.Name(), " must not contain a NUL character");
        }
        items.push_back(v->get());
      }
      config.*spec.strings_field = std::move(items);
      return "";
    }
  }
  return absl::StrCat(spec.Name(), ": unsupported setting");
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// host:port with a non-empty host and a port 0..65535; IPv6 in brackets ("[::1]:50051").
bool LooksLikeHostPort(std::string_view s) {
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return false;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return false;
    for (char c : host) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != ':' && c != '.' && c != '%' &&
          c != '-' && c != '_') {
        return false;
      }
    }
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    for (char c : host) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        return false;
      }
    }
  }
  if (host.empty() || port.empty() || port.size() > 5) return false;
  uint32_t n = 0;
  for (char c : port) {
    if (!IsDigit(c)) return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n <= 65535;
}

bool IsPortZero(std::string_view address) {
  return address.size() >= 2 && address.substr(address.size() - 2) == ":0";
}

void CheckAddress(std::string_view name, const std::string& value, bool required,
                  std::vector<std::string>& errors) {
  if (value.empty()) {
    if (required) errors.push_back(absl::StrCat(Av(name), " must not be empty"));
    return;
  }
  if (!LooksLikeHostPort(value)) {
    errors.push_back(absl::StrCat(Av(name),
                                  " must be host:port (like \"127.0.0.1:50051\" or "
                                  "\"[::1]:50051\"), got ",
                                  Quote(value)));
  }
}

// Two listeners on the same fixed address would fail at bind time with a less clear message.
void CheckDistinct(std::string_view name_a, const std::string& a, std::string_view name_b,
                   const std::string& b, std::vector<std::string>& errors) {
  if (a.empty() || b.empty() || a != b || IsPortZero(a)) return;
  errors.push_back(
      absl::StrCat(Av(name_a), " and ", Av(name_b), " must differ, both are ", Quote(a)));
}

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
}  // namespace

std::string RedactedUrl(std::string_view input) {
  std::string url(input);
  // A password given as a query parameter (libpq's ?password=...).
  for (const char* key : {"?password=", "&password="}) {
    size_t p = url.find(key);
    while (p != std::string::npos) {
      const size_t value = p + std::string_view(key).size();
      size_t end = url.find('&', value);
      if (end == std::string::npos) end = url.size();
      url.replace(value, end - value, "***");
      p = url.find(key, value + 3);
    }
  }
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t start = scheme + 3;
  // The last '@' ends the user-info, as the Redis URL parser reads it (a password may hold
  // '/', '?' or '#'); hiding too much is harmless, showing a password is not.
  const std::string_view rest = std::string_view(url).substr(start);
  const size_t at = rest.rfind('@');
  if (at == std::string_view::npos) return url;
  const size_t colon = rest.substr(0, at).find(':');
  if (colon == std::string_view::npos) return url;
  return absl::StrCat(url.substr(0, start + colon + 1), "***", url.substr(start + at));
}

namespace {


// Reads at most `limit` bytes of `path`; larger files are an error. `what` names the file's
// role in messages ("config file", "token file").
absl::StatusOr<std::string> ReadBounded(const std::string& path, size_t limit,
                                        std::string_view what) {
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    const int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat("cannot open ", Av(what), " ", Av(path)));
  }
  std::string content;
  char buffer[16384];
  while (true) {
    const size_t n = std::fread(buffer, 1, sizeof(buffer), file.get());
    if (n > 0) {
      if (content.size() + n > limit) {
        return absl::InvalidArgumentError(
            absl::StrCat(Av(what), " ", Av(path), " is larger than ", HumanSize(limit)));
      }
      content.append(buffer, n);
    }
    if (n < sizeof(buffer)) {
      if (std::ferror(file.get())) {
        const int error = errno;
        return absl::ErrnoToStatus(error, absl::StrCat("cannot read ", Av(what), " ", Av(path)));
      }
      break;
    }
  }
  return content;
}


// The host part of "host:port" ("::1" for "[::1]:50051"); the input when it has no port.
std::string_view HostOf(std::string_view address) {
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    return close == std::string_view::npos ? address.substr(1) : address.substr(1, close - 1);
  }
  const size_t colon = address.rfind(':');
  return colon == std::string_view::npos ? address : address.substr(0, colon);
}

// Reads one PEM file of a TLS setting. `block` is the PEM label the file must hold
// ("CERTIFICATE", "PRIVATE KEY"). Messages name `key` and `path`, never the contents.
absl::StatusOr<std::string> ReadPemFile(std::string_view key, const std::string& path,
                                        std::string_view block) {
  absl::StatusOr<std::string> text = ReadBounded(path, kMaxPemFileBytes, "PEM file");
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(Av(key), ": ", text.status().message()));
  }
  const std::string& pem = *text;
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(Av(key), ": PEM file ", Av(path), " ", Av(why)));
  };
  if (block == "PRIVATE KEY") {
    // "BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY", "BEGIN EC PRIVATE KEY"...
    const size_t begin = pem.find("-----BEGIN ");
    if (begin == std::string::npos || pem.find("PRIVATE KEY-----", begin) == std::string::npos) {
      return bad("holds no \"-----BEGIN PRIVATE KEY-----\" block");
    }
    if (pem.find("ENCRYPTED PRIVATE KEY") != std::string::npos ||
        pem.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
      return bad(
          "holds an encrypted private key; fedwalld needs it unencrypted (keep the file "
          "readable by the service user only)");
    }
  } else if (pem.find(absl::StrCat("-----BEGIN ", Av(block), "-----")) == std::string::npos) {
    return bad(absl::StrCat("holds no \"-----BEGIN ", Av(block), "-----\" block"));
  }
  return text;
}

}  // namespace

absl::Status ServiceConfig::Validate() const {
  std::vector<std::string> errors;
  for (const KeySpec& spec : Keys()) {
    switch (spec.kind) {
      case Kind::kString:
      case Kind::kBool:
      case Kind::kStrings:
        break;
      case Kind::kInt: {
        const int n = this->*spec.int_field;
        if (n < spec.min || n > spec.max) errors.push_back(RangeMessage(spec, absl::StrCat(n)));
        break;
      }
      case Kind::kCount:
      case Kind::kSize: {
        const uint64_t n = this->*spec.size_field;
        if (n < static_cast<uint64_t>(spec.min) || n > static_cast<uint64_t>(spec.max)) {
          errors.push_back(RangeMessage(spec, absl::StrCat(n)));
        }
        break;
      }
      case Kind::kDuration: {
        const absl::Duration d = this->*spec.duration_field;
        if (d < spec.min_duration || d > spec.max_duration) {
          errors.push_back(RangeMessage(spec, absl::FormatDuration(d)));
        }
        break;
      }
    }
  }
  if (max_message_bytes < max_activity_bytes) {
    errors.push_back(absl::StrCat("limits.max_message_bytes (", max_message_bytes,
                                  ") must be at least limits.max_activity_bytes (",
                                  max_activity_bytes, ")"));
  }
  CheckAddress("server.listen", listen, /*required=*/true, errors);
  CheckAddress("server.admin_listen", admin_listen, /*required=*/false, errors);
  CheckAddress("server.admin_http_listen", admin_http_listen, /*required=*/false, errors);
  CheckDistinct("server.listen", listen, "server.admin_listen", admin_listen, errors);
  CheckDistinct("server.listen", listen, "server.admin_http_listen", admin_http_listen, errors);
  CheckDistinct("server.admin_listen", admin_listen, "server.admin_http_listen", admin_http_listen,
                errors);
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    errors.push_back(absl::StrCat(
        "server.tls_cert_file and server.tls_key_file go together: set both (TLS) or neither "
        "(plaintext); only ",
        tls_cert_file.empty() ? "server.tls_key_file" : "server.tls_cert_file", " is set"));
  }
  if (!admin_client_ca_file.empty() && tls_cert_file.empty()) {
    errors.push_back(
        "server.admin_client_ca_file needs TLS: set server.tls_cert_file and "
        "server.tls_key_file too");
  }
  CheckAddress("gateway.listen", gateway_listen, /*required=*/false, errors);
  if (!gateway_listen.empty()) {
    CheckDistinct("server.listen", listen, "gateway.listen", gateway_listen, errors);
    if (gateway_upstream.empty()) {
      errors.push_back(
          "gateway.upstream must be set with gateway.listen (the server behind the gateway, "
          "like \"http://127.0.0.1:3000\")");
    } else if (!HasPrefix(gateway_upstream, "http://")) {
      errors.push_back(absl::StrCat("gateway.upstream must be an http:// URL, got ",
                                    Quote(gateway_upstream)));
    }
  }
  if (gateway_flag != "forward" && gateway_flag != "hold") {
    errors.push_back(
        absl::StrCat("gateway.flag must be \"forward\" or \"hold\", got ", Quote(gateway_flag)));
  }
  if (gateway_fail != "open" && gateway_fail != "closed") {
    errors.push_back(
        absl::StrCat("gateway.fail must be \"open\" or \"closed\", got ", Quote(gateway_fail)));
  }
  if (gateway_reject_status != 202 && gateway_reject_status != 403) {
    errors.push_back(absl::StrCat("gateway.reject_status must be 202 or 403, got ",
                                  gateway_reject_status));
  }
  for (const std::string& p : gateway_inbox_paths) {
    if (p.empty() || p.front() != '/') {
      errors.push_back(absl::StrCat("gateway.inbox_paths: ", Quote(p), " must start with '/'"));
    }
  }
  for (const std::string& e : gateway_flag_effects) {
    if (e != "strip_media" && e != "mark_sensitive" && e != "unlist" && e != "followers_only") {
      errors.push_back(absl::StrCat("gateway.flag_effects: unknown effect ", Quote(e),
                                    " (strip_media, mark_sensitive, unlist, followers_only)"));
    }
  }
  if (policy_dir.empty()) errors.push_back("policy.dir must not be empty");
  if (store.empty()) {
    errors.push_back(
        "store.path must not be empty (use \":memory:\" for a store that is not kept)");
  }
  if (state != "memory" && !HasPrefix(state, "redis://") && !HasPrefix(state, "unix://")) {
    errors.push_back(absl::StrCat("state.url: ", Quote(RedactedUrl(state)),
                                  " is neither \"memory\" nor a redis:// URL"));
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
}

absl::StatusOr<size_t> ParseByteSize(std::string_view text) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid size ", Quote(text),
        " (use a number of bytes, or a number with a unit: B, kB, MB, GB, KiB, MiB, GiB; "
        "like \"16MiB\")"));
  };
  size_t digits = 0;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  if (digits == 0 || digits > 20) return invalid();
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  uint64_t multiplier = 0;
  if (unit.empty() || unit == "B") {
    multiplier = 1;
  } else if (unit == "kB") {
    multiplier = 1000;
  } else if (unit == "MB") {
    multiplier = 1000 * 1000;
  } else if (unit == "GB") {
    multiplier = 1000 * 1000 * 1000;
  } else if (unit == "KiB") {
    multiplier = kKiB;
  } else if (unit == "MiB") {
    multiplier = kMiB;
  } else if (unit == "GiB") {
    multiplier = kGiB;
  } else {
    return invalid();
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(Av(text.substr(0, digits)), &value) ||
      value > std::numeric_limits<size_t>::max() / multiplier) {
    return absl::InvalidArgumentError(absl::StrCat("size ", Quote(text), " is too large"));
  }
  return static_cast<size_t>(value * multiplier);
}

std::vector<std::string> ConfigKeyNames() {
  std::vector<std::string> names;
  names.reserve(Keys().size());
  for (const KeySpec& spec : Keys()) names.push_back(spec.Name());
  return names;
}

absl::StatusOr<ServiceConfig> ParseConfig(std::string_view text, std::string_view path) {
  if (text.size() > kMaxConfigFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(path), ": larger than ", HumanSize(kMaxConfigFileBytes)));
  }
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path, e.source()), ": ", Av(e.description())));
  } catch (const std::exception& e) {  // std::bad_alloc; nothing else is expected
    return absl::InvalidArgumentError(absl::StrCat(Av(path), ": ", e.what()));
  }

  // toml::table iterates in key order; the messages go out in file order.
  struct Diagnostic {
    toml::source_position at;
    std::string text;
  };
  std::vector<Diagnostic> diagnostics;
  const auto error = [&](const toml::source_region& region, std::string message) {
    diagnostics.push_back({region.begin, absl::StrCat(Where(path, region), ": ", message)});
  };
  ServiceConfig config;
  for (auto&& [table_key, table_node] : root) {
    const std::string_view table_name = table_key.str();
    const toml::table* table = table_node.as_table();
    if (!IsKnownTable(table_name)) {
      if (table != nullptr) {
        error(table_key.source(),
              absl::StrCat("unknown table [", absl::Utf8SafeCHexEscape(Av(table_name)),
                           "] (known: ", KnownTables(), ")"));
      } else {
        error(table_key.source(),
              absl::StrCat("unknown key ", Quote(table_name),
                           " (every setting belongs in a table: ", KnownTables(), ")"));
      }
      continue;
    }
    if (table == nullptr) {
      error(table_node.source(), absl::StrCat(Av(table_name), " must be a table ([", Av(table_name),
                                              "]), got ", Av(TypeName(table_node.type()))));
      continue;
    }
    for (auto&& [key, node] : *table) {
      const KeySpec* spec = FindKey(table_name, key.str());
      if (spec == nullptr) {
        error(key.source(),
              absl::StrCat("unknown key ", Quote(absl::StrCat(Av(table_name), ".", Av(key.str()))),
                           " (known in [", Av(table_name), "]: ", KnownKeys(table_name), ")"));
        continue;
      }
      if (std::string message = Apply(*spec, node, config); !message.empty()) {
        error(node.source(), std::move(message));
      }
    }
  }
  if (diagnostics.empty()) return config;
  std::stable_sort(
      diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return a.at.line != b.at.line ? a.at.line < b.at.line : a.at.column < b.at.column;
      });
  std::vector<std::string> lines;
  lines.reserve(diagnostics.size());
  for (Diagnostic& d : diagnostics) lines.push_back(std::move(d.text));
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

absl::StatusOr<ServiceConfig> LoadConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadBounded(path, kMaxConfigFileBytes, "config file");
  if (!text.ok()) return text.status();
  absl::StatusOr<ServiceConfig> config = ParseConfig(*text, path);
  if (!config.ok()) return config.status();

  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  const auto resolve = [&base](std::string& value) {
    if (value.empty() || base.empty()) return;
    const std::filesystem::path p(value);
    if (p.is_absolute()) return;
    value = (base / p).lexically_normal().string();
  };
  resolve(config->policy_dir);
  resolve(config->admin_token_file);
  resolve(config->tls_cert_file);
  resolve(config->tls_key_file);
  resolve(config->admin_client_ca_file);
  if (config->store != ":memory:" && config->store.find("://") == std::string::npos) {
    resolve(config->store);
  }
  return config;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> content = ReadBounded(path, kMaxTokenFileBytes, "token file");
  if (!content.ok()) return content.status();
  std::string_view line = *content;
  line = line.substr(0, line.find('\n'));
  const absl::string_view token = absl::StripAsciiWhitespace(Av(line));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token file ", Av(path), ": the first line is empty (put the token there)"));
  }
  // Never echo the token itself: the message may end up in a log.
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("token file ", Av(path),
                       ": the token has a byte that cannot go in an authorization "
                       "header at position ",
                       i + 1, " (use printable ASCII without spaces)"));
    }
  }
  return std::string(token);
}

bool IsLoopbackListenAddress(std::string_view address) {
  std::string host(HostOf(address));
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  host = host.substr(0, host.find('%'));  // a zone ("fe80::1%eth0") is not loopback anyway
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

absl::Status CheckAdminExposure(const ServiceConfig& config) {
  if (!config.admin_token_file.empty()) return absl::OkStatus();
  std::vector<std::string> exposed;
  const bool shared = config.admin_listen.empty();
  const std::string& grpc_admin = shared ? config.listen : config.admin_listen;
  if (!IsLoopbackListenAddress(grpc_admin)) {
    exposed.push_back(absl::StrCat("the AdminService on ", grpc_admin, " (",
                                   shared ? "server.listen" : "server.admin_listen", ")"));
  }
  if (!config.admin_http_listen.empty() && !IsLoopbackListenAddress(config.admin_http_listen)) {
    exposed.push_back(absl::StrCat("the admin HTTP port on ", config.admin_http_listen,
                                   " (server.admin_http_listen)"));
  }
  if (exposed.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "refusing to start: ", absl::StrJoin(exposed, " and "), exposed.size() == 1 ? " is" : " are",
      " reachable from the network and no admin token is configured; set "
      "server.admin_token_file (--admin-token-file), or bind ",
      exposed.size() == 1 ? "it" : "them", " to 127.0.0.1",
      shared && !IsLoopbackListenAddress(grpc_admin)
          ? " (server.admin_listen serves the AdminService apart from the data plane)"
          : ""));
}

absl::StatusOr<TlsFiles> ReadTlsFiles(const ServiceConfig& config) {
  TlsFiles files;
  if (!config.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadPemFile("server.tls_cert_file", config.tls_cert_file, "CERTIFICATE");
    if (!cert.ok()) return cert.status();
    files.cert_chain = *std::move(cert);
  }
  if (!config.tls_key_file.empty()) {
    absl::StatusOr<std::string> key =
        ReadPemFile("server.tls_key_file", config.tls_key_file, "PRIVATE KEY");
    if (!key.ok()) return key.status();
    files.private_key = *std::move(key);
  }
  if (!config.admin_client_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadPemFile("server.admin_client_ca_file", config.admin_client_ca_file, "CERTIFICATE");
    if (!ca.ok()) return ca.status();
    files.admin_client_ca = *std::move(ca);
  }
  return files;
}

}  // namespace fedwall::service
