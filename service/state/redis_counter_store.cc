#include "service/state/redis_counter_store.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace fedwall::state {
namespace {

using counters::CounterQuery;

constexpr size_t kMaxUrlBytes = 2048;
constexpr size_t kMaxHostBytes = 253;
constexpr size_t kMaxUnixPathBytes = 107;  // sizeof(sockaddr_un::sun_path) - 1
constexpr size_t kMaxPrefixBytes = 128;
constexpr int64_t kMaxDb = 1'000'000;
constexpr int kMaxConnections = 256;
constexpr size_t kMaxPerCall = 65536;
// Keys live W + b + this: room for a slow call or a node whose clock is a little behind.
constexpr absl::Duration kExpirySlack = absl::Seconds(10);

// The Lua script. ARGV: now_ms, record ("1"/"0"), query count, kExactMembers, scratch key,
// expiry slack ms, key prefix, window count; per window: w, b (ms), first and current bucket,
// the current, previous and older epoch's hash names, the current hash's expiry (ms from
// now); then per query: window index (from 1), kind ("e"/"d"), key count, member hash. KEYS:
// each query's series in order (H ":" W ":c" or ":m", without the prefix; hash fields, and HLL
// names once the prefix is added). Answers an array of integers, one per query.
//
// Cost (measured with INFO commandstats and perf on a local redis-server): per command and per
// string created in Lua, not per byte. So the series of a call are fields of one hash per
// (window, epoch): per window one HMGET of the current epoch, one of the previous epoch for
// the series not found, and one HSET of everything written; no key is created in the common
// case; the per-series work is on one string (events: a small msgpack array, cmsgpack is C;
// distinct: fixed-size records handled with string.find / sub, also C). HyperLogLogs are
// touched only by series that reached 65 members.
constexpr char kScript[] = R"lua(
local now = tonumber(ARGV[1])
local record = ARGV[2] == '1'
local nq = tonumber(ARGV[3])
local exact_max = tonumber(ARGV[4])
local scratch = ARGV[5]
local slack = tonumber(ARGV[6])
local prefix = ARGV[7]
local cap = exact_max + 1
local mp_unpack, mp_pack = cmsgpack.unpack, cmsgpack.pack
local floor = math.floor
local ssub, sfind, spack, sunpack = string.sub, string.find, struct.pack, struct.unpack
local function int(x) return string.format('%.0f', x) end

-- Series values live as fields of one HASH per (window, epoch): an epoch is w + b long, a
-- value is written to the current epoch's hash and read from it or, when absent there, from
-- the previous epoch's (older epochs hold nothing still in a window). Few keys: a new series
-- is a new field, not a new key with its own expiry.
-- The windows of the call (the client computes their numbers and names: number formatting
-- is slow in Redis's Lua): ARGV per window: w, b, first, cur, current / previous / older
-- epoch hash, the current hash's expiry (ms from now).
local windows = {}
local a = 9
for i = 1, tonumber(ARGV[8]) do
  windows[i] = {w = tonumber(ARGV[a]), b = tonumber(ARGV[a + 1]), first = tonumber(ARGV[a + 2]),
                cur = tonumber(ARGV[a + 3]), hcur = ARGV[a + 4], hprev = ARGV[a + 5],
                hold = ARGV[a + 6], ttl = ARGV[a + 7], fields = {'~'}}
  a = a + 8
end
local qstart = a
local listed = {}  -- field -> true
local k = 1
for q = 1, nq do
  local win = windows[tonumber(ARGV[a])]
  local nk = tonumber(ARGV[a + 2])
  local fields = win.fields
  for j = k, k + nk - 1 do
    local field = KEYS[j]
    if not listed[field] then
      listed[field] = true
      fields[#fields + 1] = field
    end
  end
  k = k + nk
  a = a + 4
end
local hashes = windows
local value = {}
-- An events value as a table ({} when absent or malformed; a table already decoded as is).
local function decode(v)
  if type(v) == 'table' then return v end
  if v then
    local ok, d = pcall(mp_unpack, v)
    if ok and type(d) == 'table' then return d end
  end
  return {}
end
for _, hs in pairs(hashes) do
  local missing = {}
  for s = 1, #hs.fields, 500 do
    local got = redis.call('HMGET', hs.hcur, unpack(hs.fields, s, math.min(s + 499, #hs.fields)))
    for i = 1, #got do
      local field = hs.fields[s + i - 1]
      if field == '~' then
        hs.exists = got[i] ~= false
      else
        value[field] = got[i]  -- raw: decoded where used
        if not got[i] then missing[#missing + 1] = field end
      end
    end
  end
  for s = 1, #missing, 500 do
    local got = redis.call('HMGET', hs.hprev, unpack(missing, s, math.min(s + 499, #missing)))
    for i = 1, #got do value[missing[s + i - 1]] = got[i] end
  end
end
local dirty = {}  -- field -> true: values to write back

-- Events: {bucket, count, bucket, count, ...} ascending. Keeps the buckets >= first (and up to
-- a window ahead, for a node whose clock leads), adds `add` to bucket cur; returns the new
-- array and the sum of buckets first..cur.
local function events(t, first, cur, add)
  local out, sum, placed = {}, 0, add == 0
  local ahead = cur + 2 * (cur - first + 1)
  for i = 1, #t - 1, 2 do
    local idx, c = t[i], t[i + 1]
    if type(idx) == 'number' and type(c) == 'number' and idx >= first and idx <= ahead then
      if not placed and idx >= cur then
        if idx == cur then
          c = c + add
        else
          out[#out + 1] = cur
          out[#out + 1] = add
          sum = sum + add
        end
        placed = true
      end
      out[#out + 1] = idx
      out[#out + 1] = c
      if idx <= cur then sum = sum + c end
    end
  end
  if not placed then
    out[#out + 1] = cur
    out[#out + 1] = add
    sum = sum + add
  end
  return out, sum
end

-- Distinct: a string of 24-byte records (16-byte member hash, last seen ms as a double), in
-- the order they were last seen (the oldest first): the 65 most recently seen members still
-- in the window. String operations run in C: finding the member, dropping the oldest and
-- moving a member to the end cost a few string copies, not a Lua step per member. Drops the
-- members at or before lo; when `record`, the member moves to the end with time now (added,
-- or replacing the oldest at the cap). Returns the string, the members in the window (time
-- <= now; the current one included when recorded), whether the member was there already, and
-- whether it is new at exactly the cap (the series starts keeping HyperLogLogs).
local R = 24
local function time_at(s, i) return (sunpack('d', s, (i - 1) * R + 17)) end
local function members(s, lo, member)
  if type(s) ~= 'string' or #s % R ~= 0 then s = '' end
  local n = #s / R
  local cut = 0
  while cut < n and time_at(s, cut + 1) <= lo do cut = cut + 1 end
  if cut > 0 then
    s = ssub(s, cut * R + 1)
    n = n - cut
  end
  local at = 1
  while true do
    at = sfind(s, member, at, true)
    if not at or (at - 1) % R == 0 then break end
    at = at + 1
  end
  local c = n
  for i = n, 1, -1 do
    if time_at(s, i) <= now then break end
    c = c - 1  -- seen ahead of now (a node whose clock leads)
  end
  if not record then return s, c, at ~= nil, false end
  if at then
    local ts = time_at(s, (at - 1) / R + 1)
    if ts < now then ts = now end
    return ssub(s, 1, at - 1) .. ssub(s, at + R) .. member .. spack('d', ts), c, true, false
  end
  local rec = member .. spack('d', now)
  if n < cap then return s .. rec, c + 1, false, n == exact_max end
  -- At the cap: the oldest member leaves (it was in the window: it counted).
  if time_at(s, 1) <= now then c = c - 1 end
  return ssub(s, R + 1) .. rec, c + 1, false, false
end

-- The HyperLogLogs of one series for buckets first..cur: the cached union of first..cur-1
-- (":hu:first:last"; those buckets no longer change) and bucket cur, appended to `out`.
local function sketches(base, first, cur, b, out)
  local prefix = base .. ':h:'
  if cur > first then
    local cache = base .. ':hu:' .. int(first) .. ':' .. int(cur - 1)
    if redis.call('EXISTS', cache) == 0 then
      local parts = {}
      for i = first, cur - 1 do parts[#parts + 1] = prefix .. int(i) end
      for s = 1, #parts, 64 do
        redis.call('PFMERGE', cache, unpack(parts, s, math.min(s + 63, #parts)))
      end
      redis.call('PEXPIRE', cache, b + slack)
    end
    out[#out + 1] = cache
  end
  out[#out + 1] = prefix .. int(cur)
end

local out = {}
a, k = qstart, 1
for q = 1, nq do
  local win = windows[tonumber(ARGV[a])]
  local kind = ARGV[a + 1]
  local nk = tonumber(ARGV[a + 2])
  local member = ARGV[a + 3]
  a = a + 4
  local w, b, cur, first = win.w, win.b, win.cur, win.first  -- buckets first..cur: the window
  local ttl = w + b + slack  -- of HyperLogLogs
  if kind == 'e' then
    local name = KEYS[k]
    local t, sum = events(decode(value[name]), first, cur, record and 1 or 0)
    if record then
      value[name] = t
      dirty[name] = true
    else
      sum = sum + 1
    end
    out[q] = sum
  else
    local lo = now - w
    local seen, n, over, small, known = {}, 0, {}, {}, false
    local lower = 0  -- the largest in-window count of one series (a lower bound)
    for j = k, k + nk - 1 do
      local name = KEYS[j]
      local base = prefix .. name
      local t, c, found, seed = members(value[name], lo, member)
      if found then known = true end
      if record then
        value[name] = t
        dirty[name] = true
        if seed then
          -- The series reaches the cap: from now on it keeps HyperLogLogs too. Its members
          -- so far go into the buckets of their last time (a union cached earlier misses
          -- them: dropped).
          local by_bucket = {}
          for i = 1, #t / R do
            local ts = time_at(t, i)
            if ts <= now then
              local bi = floor(ts / b)
              local l = by_bucket[bi]
              if not l then
                l = {}
                by_bucket[bi] = l
              end
              l[#l + 1] = ssub(t, (i - 1) * R + 1, (i - 1) * R + 16)
            end
          end
          for bi, l in pairs(by_bucket) do
            local h = base .. ':h:' .. int(bi)
            redis.call('PFADD', h, unpack(l))
            redis.call('PEXPIRE', h, ttl)
          end
          redis.call('DEL', base .. ':hu:' .. int(first) .. ':' .. int(cur - 1))
        elseif #t >= R * cap then
          local h = base .. ':h:' .. int(cur)
          redis.call('PFADD', h, member)
          redis.call('PEXPIRE', h, ttl)
        end
      end
      if c > lower then lower = c end
      if c > exact_max then
        over[#over + 1] = base
      elseif nk > 1 then
        -- Members of a union (exact while every series is under the cap).
        for i = 1, #t / R do
          if time_at(t, i) <= now then
            local m = ssub(t, (i - 1) * R + 1, (i - 1) * R + 16)
            small[#small + 1] = m
            if not seen[m] then
              seen[m] = true
              n = n + 1
            end
          end
        end
      end
    end
    if nk == 1 then
      n = lower
    elseif record and not seen[member] and #over == 0 then
      n = n + 1  -- recorded, but at a time ahead of now in every series: still counts
    end
    if not record and not known then n = n + 1 end
    if n < lower then n = lower end
    if #over > 0 then
      -- Above the cap: the series past it answer with their HyperLogLogs; the members of the
      -- others (all in their exact sets) join through the scratch HyperLogLog.
      local hlls = {}
      for _, base in ipairs(over) do sketches(base, first, cur, b, hlls) end
      local estimate
      if #small > 0 or #hlls > 1000 then
        redis.call('DEL', scratch)
        for s = 1, #small, 500 do
          redis.call('PFADD', scratch, unpack(small, s, math.min(s + 499, #small)))
        end
        for s = 1, #hlls, 64 do
          redis.call('PFMERGE', scratch, unpack(hlls, s, math.min(s + 63, #hlls)))
        end
        estimate = redis.call('PFCOUNT', scratch)
        redis.call('DEL', scratch)
      else
        estimate = redis.call('PFCOUNT', unpack(hlls))
      end
      if not record and not known then estimate = estimate + 1 end
      if estimate > n then n = estimate end
    end
    out[q] = n
  end
  k = k + nk
end
for _, hs in pairs(hashes) do
  local args = {}
  for i = 2, #hs.fields do
    local field = hs.fields[i]
    if dirty[field] then
      args[#args + 1] = field
      local v = value[field]
      args[#args + 1] = type(v) == 'table' and mp_pack(v) or v
    end
  end
  if #args > 0 then
    for s = 1, #args, 1000 do
      redis.call('HSET', hs.hcur, unpack(args, s, math.min(s + 999, #args)))
    end
    if not hs.exists then
      -- A new epoch: its hash expires when the next epoch ends; the one before the previous
      -- holds nothing in a window any more (UNLINK frees a big hash in the background).
      redis.call('HSET', hs.hcur, '~', '1')
      redis.call('PEXPIRE', hs.hcur, hs.ttl)
      redis.call('UNLINK', hs.hold)
    end
  end
end
return out
)lua";

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

// The digest algorithms, fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up
// on every digest (a global lock and a hash lookup, as much as the hash of a short key). Never
// freed (they live as long as the process).
const EVP_MD* Sha256() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return fetched != nullptr ? static_cast<const EVP_MD*>(fetched) : EVP_sha256();
  }();
  return md;
}
const EVP_MD* Sha1() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    return fetched != nullptr ? static_cast<const EVP_MD*>(fetched) : EVP_sha1();
  }();
  return md;
}

// The first 16 bytes of SHA-256(data) (raw), or of SHA-1 when `sha1` (all 20 bytes).
std::string Digest(absl::string_view data, bool sha1 = false) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, sha1 ? Sha1() : Sha256(), nullptr) != 1) {
    // Only on allocation failure inside OpenSSL; a fixed value keeps the store usable.
    len = sha1 ? 20 : 16;
    std::memset(md, 0, len);
  }
  return std::string(reinterpret_cast<const char*>(md), sha1 ? 20 : std::min(len, 16u));
}

struct Endpoint {
  bool unix_socket = false;
  std::string host;  // without brackets
  int port = 6379;
  std::string path;  // unix socket
  int64_t db = 0;
  std::string user;
  std::string password;
  bool has_password = false;
};

absl::Status BadUrl(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid Redis URL: ", why));
}

absl::StatusOr<std::string> PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || !absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return BadUrl("a '%' in the user information is not followed by two hex digits");
    }
    auto nibble = [](char c) {
      return absl::ascii_isdigit(static_cast<unsigned char>(c))
                 ? c - '0'
                 : absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    };
    out.push_back(static_cast<char>(nibble(s[i + 1]) * 16 + nibble(s[i + 2])));
    i += 2;
  }
  return out;
}

absl::StatusOr<int64_t> ParseDb(absl::string_view s) {
  int64_t db = 0;
  if (s.empty() || s.size() > 7 ||
      !std::all_of(s.begin(), s.end(),
                   [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
      !absl::SimpleAtoi(s, &db) || db > kMaxDb) {
    return BadUrl(absl::StrCat("database \"", s, "\" is not a number from 0 to ", kMaxDb));
  }
  return db;
}

absl::StatusOr<Endpoint> ParseUrl(absl::string_view url) {
  if (url.size() > kMaxUrlBytes)
    return BadUrl(absl::StrCat("longer than ", kMaxUrlBytes, " bytes"));
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return BadUrl("control characters or spaces (percent-encode them in the password)");
    }
  }
  Endpoint ep;
  constexpr absl::string_view kRedis = "redis://";
  constexpr absl::string_view kUnix = "unix://";
  if (url.substr(0, kUnix.size()) == kUnix) {
    ep.unix_socket = true;
    absl::string_view rest = url.substr(kUnix.size());
    size_t q = rest.find('?');
    absl::string_view path = rest.substr(0, q);
    if (q != absl::string_view::npos) {
      absl::string_view query = rest.substr(q + 1);
      if (query.substr(0, 3) != "db=") return BadUrl("a unix URL takes only \"?db=N\"");
      absl::StatusOr<int64_t> db = ParseDb(query.substr(3));
      if (!db.ok()) return db.status();
      ep.db = *db;
    }
    if (path.empty() || path[0] != '/') return BadUrl("unix:///path needs an absolute path");
    if (path.size() > kMaxUnixPathBytes) {
      return BadUrl(absl::StrCat("the socket path is longer than ", kMaxUnixPathBytes, " bytes"));
    }
    ep.path = std::string(path);
    return ep;
  }
  if (url.substr(0, kRedis.size()) != kRedis) {
    if (url.substr(0, 9) == "rediss://") return BadUrl("TLS (rediss://) is not supported");
    return BadUrl("must start with redis:// or unix://");
  }
  absl::string_view rest = url.substr(kRedis.size());
  size_t at = rest.rfind('@');
  if (at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == absl::string_view::npos) {
      return BadUrl("user information must be \":password\" or \"user:password\"");
    }
    absl::StatusOr<std::string> user = PercentDecode(userinfo.substr(0, colon));
    if (!user.ok()) return user.status();
    absl::StatusOr<std::string> password = PercentDecode(userinfo.substr(colon + 1));
    if (!password.ok()) return password.status();
    if (password->empty()) return BadUrl("empty password");
    ep.user = *std::move(user);
    ep.password = *std::move(password);
    ep.has_password = true;
  }
  size_t slash = rest.find('/');
  absl::string_view hostport = rest.substr(0, slash);
  if (slash != absl::string_view::npos) {
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      absl::StatusOr<int64_t> n = ParseDb(db);
      if (!n.ok()) return n.status();
      ep.db = *n;
    }
  }
  absl::string_view host;
  absl::string_view port;
  bool has_port = false;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == absl::string_view::npos) return BadUrl("an IPv6 address lacks its ']'");
    host = hostport.substr(1, close - 1);
    absl::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return BadUrl("unexpected text after the IPv6 address");
      port = after.substr(1);
      has_port = true;
    }
    for (char c : host) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return BadUrl("the IPv6 address has characters other than hex digits, ':' and '.'");
      }
    }
  } else {
    size_t colon = hostport.find(':');
    host = hostport.substr(0, colon);
    if (colon != absl::string_view::npos) {
      port = hostport.substr(colon + 1);
      has_port = true;
    }
    for (char c : host) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        return BadUrl(absl::StrCat("the host \"", host,
                                   "\" has a character other than letters, "
                                   "digits, '.', '-' and '_'"));
      }
    }
  }
  if (host.empty()) return BadUrl("no host");
  if (host.size() > kMaxHostBytes) return BadUrl("the host name is too long");
  ep.host = std::string(host);
  if (has_port) {
    int p = 0;
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
        !absl::SimpleAtoi(port, &p) || p < 1 || p > 65535) {
      return BadUrl(absl::StrCat("port \"", port, "\" is not a number from 1 to 65535"));
    }
    ep.port = p;
  }
  return ep;
}

absl::Status CheckOptions(const RedisOptions& o) {
  auto bad = [](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid Redis options: ", why));
  };
  if (o.timeout < absl::Milliseconds(1) || o.timeout > absl::Seconds(10)) {
    return bad("timeout must be between 1ms and 10s");
  }
  if (o.retry_after < absl::ZeroDuration() || o.retry_after > absl::Minutes(1)) {
    return bad("retry_after must be between 0 and 1m");
  }
  if (o.key_prefix.empty() || o.key_prefix.size() > kMaxPrefixBytes) {
    return bad(absl::StrCat("key_prefix must hold 1 to ", kMaxPrefixBytes, " bytes"));
  }
  if (o.max_connections < 1 || o.max_connections > kMaxConnections) {
    return bad(absl::StrCat("max_connections must be between 1 and ", kMaxConnections));
  }
  if (o.max_queries_per_call < 1 || o.max_queries_per_call > kMaxPerCall) {
    return bad(absl::StrCat("max_queries_per_call must be between 1 and ", kMaxPerCall));
  }
  if (o.max_keys_per_call < 1 || o.max_keys_per_call > kMaxPerCall) {
    return bad(absl::StrCat("max_keys_per_call must be between 1 and ", kMaxPerCall));
  }
  return absl::OkStatus();
}

timeval Timeval(absl::Duration d) {
  d = std::max(d, absl::Milliseconds(1));
  return absl::ToTimeval(d);
}

// Division rounding towards negative infinity (as Lua's math.floor(a / b)); b > 0.
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

}  // namespace

class RedisCounterStore::Impl {
 public:
  Impl(Endpoint ep, RedisOptions options)
      : ep_(std::move(ep)),
        options_(std::move(options)),
        script_sha_(Hex(reinterpret_cast<const unsigned char*>(Digest(kScript, true).data()), 20)),
        scratch_key_(options_.key_prefix + "scratch") {}

  ~Impl() {
    absl::MutexLock lock(&mu_);
    for (redisContext* c : idle_) redisFree(c);
    idle_.clear();
  }

  void Count(absl::Time now, bool record, std::span<const CounterQuery> queries,
             std::vector<std::optional<double>>* values);
  counters::CounterStoreStats stats() const {
    counters::CounterStoreStats s;
    s.queries = queries_.load(std::memory_order_relaxed);
    s.unknown = unknown_.load(std::memory_order_relaxed);
    s.failures = failures_.load(std::memory_order_relaxed);
    return s;
  }
  std::string description() const;
  absl::Status Ping();
  std::string last_error() const {
    absl::MutexLock lock(&mu_);
    return last_error_;
  }

 private:
  struct Conn {
    redisContext* ctx = nullptr;
    bool reused = false;
  };
  // A connection by `deadline`: an idle one, or a new one if fewer than max_connections are
  // open.
  absl::StatusOr<Conn> Acquire(absl::Time deadline);
  // True within retry_after of a connection failure or timeout.
  bool Paused() const {
    absl::MutexLock lock(&mu_);
    return absl::Now() < retry_at_;
  }
  absl::StatusOr<redisContext*> Connect(absl::Time deadline);
  // Returns a connection to the pool, or closes it when it is broken (`healthy` false).
  void Release(redisContext* ctx, bool healthy);
  // Sends one command with the time left until `deadline`. nullptr when the connection broke
  // (ctx->err set; the connection must be dropped).
  static Reply Command(redisContext* ctx, const std::vector<std::string>& args,
                       absl::Time deadline);
  // Records a failure: the message, and the retry_after pause when `pause`.
  void Fail(std::string message, bool pause);

  const Endpoint ep_;
  const RedisOptions options_;
  const std::string script_sha_;
  const std::string scratch_key_;

  mutable absl::Mutex mu_;
  std::vector<redisContext*> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + in use
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> queries_{0};
  std::atomic<uint64_t> unknown_{0};
  std::atomic<uint64_t> failures_{0};
};

std::string RedisCounterStore::Impl::description() const {
  if (ep_.unix_socket) {
    return ep_.db == 0 ? absl::StrCat("unix://", ep_.path)
                       : absl::StrCat("unix://", ep_.path, "?db=", ep_.db);
  }
  bool v6 = ep_.host.find(':') != std::string::npos;
  return absl::StrCat("redis://", v6 ? "[" : "", ep_.host, v6 ? "]" : "", ":", ep_.port, "/",
                      ep_.db);
}

void RedisCounterStore::Impl::Fail(std::string message, bool pause) {
  absl::MutexLock lock(&mu_);
  last_error_ = std::move(message);
  if (pause) retry_at_ = absl::Now() + options_.retry_after;
}

Reply RedisCounterStore::Impl::Command(redisContext* ctx, const std::vector<std::string>& args,
                                       absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) {
    // Treat as a timeout without touching the socket: the connection is still clean.
    ctx->err = REDIS_ERR_IO;
    std::snprintf(ctx->errstr, sizeof(ctx->errstr), "deadline passed before the command");
    return nullptr;
  }
  if (redisSetTimeout(ctx, Timeval(left)) != REDIS_OK) return nullptr;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

absl::StatusOr<redisContext*> RedisCounterStore::Impl::Connect(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError("Redis: no time left to connect");
  }
  redisContext* ctx = ep_.unix_socket
                          ? redisConnectUnixWithTimeout(ep_.path.c_str(), Timeval(left))
                          : redisConnectWithTimeout(ep_.host.c_str(), ep_.port, Timeval(left));
  if (ctx == nullptr) return absl::ResourceExhaustedError("Redis: cannot allocate a connection");
  if (ctx->err != 0) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("Redis: cannot connect to ", description(), ": ", ctx->errstr));
    redisFree(ctx);
    return s;
  }
  auto setup = [&](std::vector<std::string> args, absl::string_view what) -> absl::Status {
    Reply r = Command(ctx, args, deadline);
    if (r == nullptr) {
      return absl::UnavailableError(absl::StrCat("Redis: ", what, ": ", ctx->errstr));
    }
    if (r->type == REDIS_REPLY_ERROR) {
      return absl::PermissionDeniedError(
          absl::StrCat("Redis: ", what, ": ", absl::string_view(r->str, r->len)));
    }
    return absl::OkStatus();
  };
  absl::Status s;
  if (ep_.has_password) {
    s = ep_.user.empty() ? setup({"AUTH", ep_.password}, "AUTH")
                         : setup({"AUTH", ep_.user, ep_.password}, "AUTH");
  }
  if (s.ok() && ep_.db != 0) s = setup({"SELECT", absl::StrCat(ep_.db)}, "SELECT");
  if (!s.ok()) {
    redisFree(ctx);
    return s;
  }
  return ctx;
}

absl::StatusOr<RedisCounterStore::Impl::Conn> RedisCounterStore::Impl::Acquire(
    absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.max_connections;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("Redis: all ", options_.max_connections, " connections stayed busy"));
    }
    if (!idle_.empty()) {
      redisContext* c = idle_.back();
      idle_.pop_back();
      return Conn{c, true};
    }
    ++open_;
  }
  absl::StatusOr<redisContext*> c = Connect(deadline);
  if (!c.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return c.status();
  }
  return Conn{*c, false};
}

void RedisCounterStore::Impl::Release(redisContext* ctx, bool healthy) {
  {
    absl::MutexLock lock(&mu_);
    if (healthy) {
      idle_.push_back(ctx);
      return;
    }
    --open_;
  }
  redisFree(ctx);
}

void RedisCounterStore::Impl::Count(absl::Time now, bool record,
                                    std::span<const CounterQuery> queries,
                                    std::vector<std::optional<double>>* values) {
  values->assign(queries.size(), std::nullopt);
  queries_.fetch_add(queries.size(), std::memory_order_relaxed);
  if (queries.empty()) return;
  const absl::Time deadline = absl::Now() + options_.timeout;
  auto fail_all = [&](std::string message, bool pause) {
    unknown_.fetch_add(queries.size(), std::memory_order_relaxed);
    failures_.fetch_add(1, std::memory_order_relaxed);
    Fail(std::move(message), pause);
  };

  // The script's arguments, all built before taking a connection.
  size_t total_keys = 0;
  for (const CounterQuery& q : queries) total_keys += q.keys.size();
  if (queries.size() > options_.max_queries_per_call || total_keys > options_.max_keys_per_call) {
    fail_all(absl::StrCat("Redis: a Count call with ", queries.size(), " queries and ", total_keys,
                          " keys is past the limits (", options_.max_queries_per_call, ", ",
                          options_.max_keys_per_call, ")"),
             /*pause=*/false);
    return;
  }
  std::vector<size_t> sent;  // indexes of the queries sent (those with keys)
  sent.reserve(queries.size());
  std::vector<std::string> keys;
  keys.reserve(total_keys);
  const int64_t now_ms = absl::ToUnixMillis(now);
  const int64_t slack_ms = absl::ToInt64Milliseconds(kExpirySlack);
  std::vector<std::string> argv = {absl::StrCat(now_ms),
                                   record ? "1" : "0",
                                   "",  // the query count, below
                                   absl::StrCat(counters::kExactMembers),
                                   scratch_key_,
                                   absl::StrCat(slack_ms),
                                   options_.key_prefix,
                                   ""};  // the window count, below
  std::vector<int64_t> windows;          // distinct window lengths (ms), in first-use order
  std::vector<std::string> query_args;
  query_args.reserve(4 * queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    const CounterQuery& q = queries[i];
    if (q.keys.empty()) continue;  // against the contract: unknown, alone
    absl::Duration window = std::clamp(q.window, counters::kMinWindow, counters::kMaxWindow);
    int64_t w = absl::ToInt64Milliseconds(window);
    size_t wi = std::find(windows.begin(), windows.end(), w) - windows.begin();
    if (wi == windows.size()) {
      // The window's numbers, as the script's header describes them.
      windows.push_back(w);
      int64_t b = std::max<int64_t>(1, w / counters::kBucketsPerWindow);
      int64_t epoch = FloorDiv(now_ms, w + b);
      std::string hash = absl::StrCat(options_.key_prefix, "w:", w, ":");
      for (std::string& a : std::vector<std::string>{
               absl::StrCat(w), absl::StrCat(b), absl::StrCat(FloorDiv(now_ms - w, b) + 1),
               absl::StrCat(FloorDiv(now_ms, b)), absl::StrCat(hash, epoch),
               absl::StrCat(hash, epoch - 1), absl::StrCat(hash, epoch - 2),
               absl::StrCat((epoch + 2) * (w + b) - now_ms + slack_ms)}) {
        argv.push_back(std::move(a));
      }
    }
    // Events count one series (the first key); distinct ones the union of all.
    size_t nk = q.distinct ? q.keys.size() : 1;
    for (size_t j = 0; j < nk; ++j) {
      std::string h = Digest(q.keys[j]);
      keys.push_back(absl::StrCat(Hex(reinterpret_cast<const unsigned char*>(h.data()), h.size()),
                                  ":", w, q.distinct ? ":m" : ":c"));
    }
    query_args.push_back(absl::StrCat(wi + 1));
    query_args.push_back(q.distinct ? "d" : "e");
    query_args.push_back(absl::StrCat(nk));
    query_args.push_back(q.distinct ? Digest(q.member) : std::string());
    sent.push_back(i);
  }
  unknown_.fetch_add(queries.size() - sent.size(), std::memory_order_relaxed);
  if (sent.empty()) return;
  argv[2] = absl::StrCat(sent.size());
  argv[7] = absl::StrCat(windows.size());
  for (std::string& a : query_args) argv.push_back(std::move(a));
  std::vector<std::string> command;
  command.reserve(3 + keys.size() + argv.size());
  command.push_back("EVALSHA");
  command.push_back(script_sha_);
  command.push_back(absl::StrCat(keys.size()));
  for (std::string& k : keys) command.push_back(std::move(k));
  for (std::string& a : argv) command.push_back(std::move(a));

  auto fail_sent = [&](std::string message, bool pause) {
    unknown_.fetch_add(sent.size(), std::memory_order_relaxed);
    failures_.fetch_add(1, std::memory_order_relaxed);
    Fail(std::move(message), pause);
  };

  if (Paused()) {
    // Within retry_after of a failure: unknown at once, and no new pause (it would never end
    // while traffic lasts).
    unknown_.fetch_add(sent.size(), std::memory_order_relaxed);
    failures_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  absl::StatusOr<Conn> conn = Acquire(deadline);
  if (!conn.ok()) {
    fail_sent(std::string(conn.status().message()), true);
    return;
  }
  Reply reply = Command(conn->ctx, command, deadline);
  if (reply == nullptr && conn->reused &&
      (conn->ctx->err == REDIS_ERR_EOF ||
       (conn->ctx->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE)))) {
    // An idle connection the server closed (a restart): the script did not run; once more on
    // a fresh connection.
    redisFree(conn->ctx);  // its slot in open_ passes to the fresh connection
    absl::StatusOr<redisContext*> fresh = Connect(deadline);
    if (!fresh.ok()) {
      {
        absl::MutexLock lock(&mu_);
        --open_;
      }
      fail_sent(std::string(fresh.status().message()), true);
      return;
    }
    conn = Conn{*fresh, false};
    reply = Command(conn->ctx, command, deadline);
  }
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
      absl::string_view(reply->str, reply->len).substr(0, 8) == "NOSCRIPT") {
    // The script cache is empty (a restart, SCRIPT FLUSH): send it whole; Redis caches it.
    command[0] = "EVAL";
    command[1] = kScript;
    reply = Command(conn->ctx, command, deadline);
  }
  if (reply == nullptr) {
    std::string message = absl::StrCat("Redis: ", description(), ": ", conn->ctx->errstr);
    Release(conn->ctx, false);
    fail_sent(std::move(message), true);
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string message =
        absl::StrCat("Redis: ", description(), ": ", absl::string_view(reply->str, reply->len));
    Release(conn->ctx, true);
    fail_sent(std::move(message), false);
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != sent.size()) {
    Release(conn->ctx, true);
    fail_sent(absl::StrCat("Redis: ", description(), ": unexpected reply to the counter script"),
              false);
    return;
  }
  for (size_t i = 0; i < sent.size(); ++i) {
    const redisReply* e = reply->element[i];
    if (e->type == REDIS_REPLY_INTEGER) {
      (*values)[sent[i]] = static_cast<double>(e->integer);
    } else {
      unknown_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  Release(conn->ctx, true);
}

absl::Status RedisCounterStore::Impl::Ping() {
  absl::Time deadline = absl::Now() + options_.timeout;
  absl::StatusOr<Conn> conn = Acquire(deadline);
  if (!conn.ok()) return conn.status();
  Reply reply = Command(conn->ctx, {"PING"}, deadline);
  if (reply == nullptr) {
    absl::Status s =
        absl::UnavailableError(absl::StrCat("Redis: ", description(), ": ", conn->ctx->errstr));
    Release(conn->ctx, false);
    return s;
  }
  absl::Status s =
      reply->type == REDIS_REPLY_ERROR
          ? absl::UnavailableError(absl::StrCat("Redis: ", description(), ": ",
                                                absl::string_view(reply->str, reply->len)))
          : absl::OkStatus();
  Release(conn->ctx, true);
  return s;
}

RedisCounterStore::RedisCounterStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisCounterStore::~RedisCounterStore() = default;

void RedisCounterStore::Count(absl::Time now, bool record,
                              std::span<const counters::CounterQuery> queries,
                              std::vector<std::optional<double>>* values) {
  impl_->Count(now, record, queries, values);
}
counters::CounterStoreStats RedisCounterStore::stats() const { return impl_->stats(); }
std::string RedisCounterStore::description() const { return impl_->description(); }
absl::Status RedisCounterStore::Ping() { return impl_->Ping(); }
std::string RedisCounterStore::last_error() const { return impl_->last_error(); }

absl::StatusOr<std::unique_ptr<RedisCounterStore>> OpenRedisCounterStore(
    const std::string& url, const RedisOptions& options) {
  absl::StatusOr<Endpoint> ep = ParseUrl(url);
  if (!ep.ok()) return ep.status();
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  return std::unique_ptr<RedisCounterStore>(
      new RedisCounterStore(std::make_unique<RedisCounterStore::Impl>(*std::move(ep), options)));
}

}  // namespace fedwall::state
