#include "engine/counters/counters.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engine/match/unicode_props.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FEDWALL_COUNTERS_AVX512 1
#else
#define FEDWALL_COUNTERS_AVX512 0
#endif

namespace fedwall::counters {
namespace {

struct KindName {
  CounterKind kind;
  std::string_view name;
};
constexpr KindName kKindNames[] = {
    {CounterKind::kActorRate, "actor.rate"},
    {CounterKind::kDomainRate, "actor.domain.rate"},
    {CounterKind::kTextSeen, "text.seen"},
    {CounterKind::kTextSeenDomains, "text.seen_domains"},
    {CounterKind::kTextSimilar, "text.similar"},
};

bool IsTextCounter(CounterKind kind) {
  return kind == CounterKind::kTextSeen || kind == CounterKind::kTextSeenDomains ||
         kind == CounterKind::kTextSimilar;
}

// Stable across processes and machines (nodes sharing Redis must agree): FNV-1a, then the
// SplitMix64 finaliser to spread the bits.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;  // kGolden
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t StableHash(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return Mix(h);
}

// The MinHash functions: h_i(w) = Mix(a_i * w + b_i), with fixed odd multipliers a_i. Kept
// in kMinHashLanes lanes (a multiple of 8 for the vector kernel; the lanes past the last
// function are computed and ignored), with b_i + Mix's first constant precomputed (MixNoAdd).
constexpr size_t kMinHashFunctions = kSimilarBands * kSimilarRows;
constexpr size_t kMinHashLanes = 32;
static_assert(kMinHashFunctions <= kMinHashLanes);
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

// Mix(x - kGolden): Mix without its first step.
uint64_t MixNoAdd(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct MinHashFamily {
  alignas(64) std::array<uint64_t, kMinHashLanes> a{};
  alignas(64) std::array<uint64_t, kMinHashLanes> b_golden{};  // b_i + kGolden
  MinHashFamily() {
    uint64_t seed = 0x66656477616c6c31ULL;  // "fedwall1"
    for (size_t i = 0; i < kMinHashFunctions; ++i) {
      seed = Mix(seed);
      a[i] = seed | 1;
      seed = Mix(seed);
      b_golden[i] = seed + kGolden;
    }
  }
};
const MinHashFamily& Family() {
  static const MinHashFamily family;
  return family;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "scam.example/y", "Example.COM/x": a link written without its scheme, with a path; or a bare
// host that is one of the activity's link domains. The last label must be letters only, two
// or more (so "e.g." and "3.14" stay words); "free.crypto.now" without a path stays words, so
// joining words with dots does not hide a text.
// The activity's link domains as a set, built on first use: most texts never ask (the check
// runs only for a dotted token without a path), so most activities allocate nothing here.
class LinkDomains {
 public:
  explicit LinkDomains(const Activity& activity) : activity_(activity) {}
  bool Contains(std::string_view host) {
    if (!set_.has_value()) {
      set_.emplace();
      for (const std::string& d : activity_.link_domains) {
        if (!d.empty()) set_->insert(d);
      }
    }
    return set_->contains(host);
  }

 private:
  const Activity& activity_;
  std::optional<absl::flat_hash_set<std::string_view>> set_;
};

bool IsBareLink(std::string_view token, LinkDomains& domains) {
  const size_t slash = token.find('/');
  std::string_view host = token.substr(0, slash);
  while (!host.empty() && (host.back() == '.' || host.back() == ',' || host.back() == '!' ||
                           host.back() == '?' || host.back() == ':' || host.back() == ';' ||
                           host.back() == ')')) {
    host.remove_suffix(1);
  }
  const size_t dot = host.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string_view tld = host.substr(dot + 1);
  if (tld.size() < 2) return false;
  for (char c : tld) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  }
  for (char c : host) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '-' && u < 0x80) return false;
  }
  if (host.find("..") != std::string_view::npos) return false;
  return slash != std::string_view::npos || domains.Contains(host);
}

// A byte that can be part of a URL's path, query or fragment (printable ASCII but <>"'`{}|\^).
bool IsUrlByte(unsigned char u) {
  if (u <= 0x20 || u >= 0x7f) return false;
  switch (u) {
    case '<': case '>': case '"': case '\'': case '`': case '{': case '}': case '|':
    case '\\': case '^':
      return false;
    default:
      return true;
  }
}

// Where the mention, hashtag or link starting at `i` of `token` ends; `i` when none starts
// there. A mention is '@' and the characters of a handle (letters, digits, marks, "_.-@"), a
// hashtag '#' and letters, digits, marks or '_', a link "http://", "https://" or "www." and
// URL bytes. Whatever follows (an em dash and more words) is read as words again.
size_t SkipMarked(std::string_view token, size_t i) {
  const unsigned char first = static_cast<unsigned char>(token[i]);
  const bool mention = first == '@';
  const bool hashtag = first == '#';
  if (mention || hashtag) {
    size_t j = i + 1;
    while (j < token.size()) {
      const unsigned char u = static_cast<unsigned char>(token[j]);
      if (u < 0x80) {
        if (std::isalnum(u) || u == '_' || (mention && (u == '.' || u == '-' || u == '@'))) {
          ++j;
          continue;
        }
        break;
      }
      char32_t c = 0;
      const size_t n = match::internal::DecodeUtf8(token, j, &c);
      if (n == 0 || !match::internal::IsWordChar(c)) break;
      j += n;
    }
    return j;
  }
  const std::string_view rest = token.substr(i);
  if (StartsWith(rest, "http://") || StartsWith(rest, "https://") || StartsWith(rest, "www.")) {
    size_t j = i;
    while (j < token.size() && IsUrlByte(static_cast<unsigned char>(token[j]))) ++j;
    return j;
  }
  return i;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
         c == kTextSeparator;
}

// CounterText into `*out` (cleared first; its capacity is reused).
void CounterTextInto(const Activity& activity, std::string* out_text) {
  std::string_view text = activity.text.folded;
  std::string& out = *out_text;
  out.clear();
  out.reserve(text.size());
  LinkDomains link_domains(activity);  // for bare hosts (bounded by the parser's limits)
  size_t words = 0;
  size_t tokens = 0;
  size_t pos = 0;
  while (pos < text.size() && words < kMaxCounterWords && tokens < kMaxCounterTokens) {
    while (pos < text.size() && IsSpace(text[pos])) ++pos;
    size_t end = pos;
    while (end < text.size() && !IsSpace(text[end])) ++end;
    std::string_view token = text.substr(pos, end - pos);
    pos = end;
    if (token.empty()) continue;
    ++tokens;
    if (token.find('.') != std::string_view::npos) {
      // Leading punctuation such as "(" does not hide a bare link.
      size_t lead = 0;
      while (lead < token.size() && static_cast<unsigned char>(token[lead]) < 0x80 &&
             !std::isalnum(static_cast<unsigned char>(token[lead]))) {
        ++lead;
      }
      if (IsBareLink(token.substr(lead), link_domains)) continue;
    }
    // Words: runs of letters, marks and digits; a character of a script written without
    // spaces (Han, Kana, Thai, ...) is a word of its own.
    size_t i = 0;
    size_t word_start = std::string_view::npos;
    auto close = [&](size_t at) {
      if (word_start == std::string_view::npos) return;
      if (words < kMaxCounterWords) {
        if (!out.empty()) out.push_back(' ');
        out.append(token.substr(word_start, at - word_start));
        ++words;
      }
      word_start = std::string_view::npos;
    };
    while (i < token.size()) {
      const unsigned char u = static_cast<unsigned char>(token[i]);
      if (word_start == std::string_view::npos && (u == '@' || u == '#' || u == 'h' || u == 'w')) {
        // Not inside a word: a mention, hashtag or link may start here.
        const size_t skip = SkipMarked(token, i);
        if (skip > i) {
          i = skip;
          continue;
        }
      }
      if (u < 0x80) {  // ASCII (most text): a letter or digit is a word character of no
                       // spaceless script, as IsWordChar and IsSpacelessScript say
        if ((u >= '0' && u <= '9') || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z')) {
          if (word_start == std::string_view::npos) word_start = i;
        } else {
          close(i);
        }
        ++i;
        continue;
      }
      char32_t c = 0;
      size_t n = match::internal::DecodeUtf8(token, i, &c);
      if (n == 0) {  // not valid UTF-8 (the parser sanitises; be safe): a boundary
        close(i);
        ++i;
        continue;
      }
      if (match::internal::IsWordChar(c)) {
        if (match::internal::IsSpacelessScript(c)) {
          close(i);
          word_start = i;
          close(i + n);
        } else if (word_start == std::string_view::npos) {
          word_start = i;
        }
      } else {
        close(i);
      }
      i += n;
    }
    close(token.size());
  }
}


// KeysFor into `*keys`, reusing its strings' capacity; `*text` is scratch for the counter text.
void KeysInto(const Activity& activity, bool with_bands, ActivityKeys* keys, std::string* text) {
  keys->id.assign(activity.id);
  keys->actor.assign(activity.actor);
  keys->actor_domain.assign(activity.actor_domain);
  keys->counts_text = false;
  keys->text_digest.clear();
  keys->bands.fill(0);
  if (activity.type != "Create" && activity.type != "Update") return;
  CounterTextInto(activity, text);
  if (text->empty()) return;
  keys->counts_text = true;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text->data(), text->size(), md, &len, EVP_sha256(), nullptr) != 1 || len < 16) {
    // Cannot happen with a working libcrypto; fall back to two stable 64-bit hashes.
    uint64_t h1 = StableHash(*text);
    uint64_t h2 = Mix(h1 ^ 0x5555555555555555ULL);
    keys->text_digest.assign(reinterpret_cast<const char*>(&h1), 8);
    keys->text_digest.append(reinterpret_cast<const char*>(&h2), 8);
  } else {
    keys->text_digest.assign(reinterpret_cast<const char*>(md), 16);
  }
  if (with_bands) keys->bands = SimilarityBands(*text);
}

// `prefix` then `rest` into `*out`, reusing its capacity.
void SetKey(std::string* out, std::string_view prefix, std::string_view rest) {
  out->assign(prefix.data(), prefix.size());
  out->append(rest.data(), rest.size());
}

// PlanFor into `*plan`, reusing the queries' and keys' capacity: plan->queries may hold more
// entries than used; returns how many are used (the first ones).
size_t PlanInto(std::span<const CounterRef> refs, const ActivityKeys& keys, CounterPlan* plan) {
  plan->query_of.assign(refs.size(), -1);
  size_t n = 0;
  for (size_t i = 0; i < refs.size(); ++i) {
    const CounterRef& ref = refs[i];
    switch (ref.kind) {
      case CounterKind::kActorRate:
      case CounterKind::kDomainRate:
        if ((ref.kind == CounterKind::kActorRate ? keys.actor : keys.actor_domain).empty()) {
          continue;
        }
        break;
      case CounterKind::kTextSeen:
      case CounterKind::kTextSeenDomains:
      case CounterKind::kTextSimilar:
        if (!keys.counts_text) continue;
        break;
    }
    if (plan->queries.size() <= n) plan->queries.emplace_back();
    CounterQuery& q = plan->queries[n];
    q.window = ref.window;
    q.distinct = false;
    q.member.clear();
    switch (ref.kind) {
      case CounterKind::kActorRate:
        q.keys.resize(1);
        SetKey(&q.keys[0], "ar:", keys.actor);
        break;
      case CounterKind::kDomainRate:
        q.keys.resize(1);
        SetKey(&q.keys[0], "dr:", keys.actor_domain);
        break;
      case CounterKind::kTextSeen:
      case CounterKind::kTextSeenDomains: {
        const bool domains = ref.kind == CounterKind::kTextSeenDomains;
        // Without an actor (or its domain) the activity still counts, once per activity id, as
        // a member of its own.
        const std::string& member = domains ? keys.actor_domain : keys.actor;
        q.distinct = true;
        q.keys.resize(1);
        SetKey(&q.keys[0], domains ? "td:" : "ts:", keys.text_digest);
        if (member.empty()) {
          SetKey(&q.member, "id:", keys.id);
        } else {
          q.member.assign(member);
        }
        break;
      }
      case CounterKind::kTextSimilar:
        q.distinct = true;
        q.keys.resize(kSimilarBands);
        for (int b = 0; b < kSimilarBands; ++b) {
          // "sb<b>:" and the band's 8 bytes in memory order (b < 10: one digit).
          static_assert(kSimilarBands <= 10);
          const char prefix[4] = {'s', 'b', static_cast<char>('0' + b), ':'};
          const uint64_t band = keys.bands[static_cast<size_t>(b)];
          SetKey(&q.keys[static_cast<size_t>(b)], std::string_view(prefix, 4),
                 std::string_view(reinterpret_cast<const char*>(&band), sizeof band));
        }
        if (keys.actor.empty()) {
          SetKey(&q.member, "id:", keys.id);
        } else {
          q.member.assign(keys.actor);
        }
        break;
    }
    plan->query_of[i] = static_cast<int>(n);
    ++n;
  }
  return n;
}

// The MinHash minima of `words` under every function of the family, in kMinHashLanes lanes
// (the last two unused). Integer arithmetic only: every kernel gives the same bits.
void MinimaPortable(std::span<const uint64_t> words, std::array<uint64_t, kMinHashLanes>& minima) {
  const MinHashFamily& f = Family();
  for (uint64_t w : words) {
    for (size_t i = 0; i < kMinHashLanes; ++i) {
      minima[i] = std::min(minima[i], MixNoAdd(f.a[i] * w + f.b_golden[i]));
    }
  }
}

#if FEDWALL_COUNTERS_AVX512
// The same with AVX-512 (8 lanes of 64 bits, four vectors): about 4x fewer instructions than
// the portable loop. Chosen at run time when the CPU has AVX-512F and AVX-512DQ. Written with
// GCC/Clang vector types rather than intrinsics (GCC 12's AVX-512 headers trip
// -Wmaybe-uninitialized).
typedef uint64_t U64x8 __attribute__((vector_size(64)));
typedef int64_t I64x8 __attribute__((vector_size(64)));

__attribute__((target("avx512f,avx512dq"))) void MinimaAvx512(
    std::span<const uint64_t> words, std::array<uint64_t, kMinHashLanes>& minima) {
  static_assert(kMinHashLanes == 4 * 8);
  const MinHashFamily& f = Family();
  U64x8 a[4];
  U64x8 b[4];
  U64x8 m[4];
  std::memcpy(a, f.a.data(), sizeof a);
  std::memcpy(b, f.b_golden.data(), sizeof b);
  std::memcpy(m, minima.data(), sizeof m);
  for (uint64_t w : words) {
    for (int j = 0; j < 4; ++j) {
      U64x8 x = a[j] * w + b[j];
      x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
      x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
      x = x ^ (x >> 31);
      const U64x8 keep = reinterpret_cast<U64x8>(static_cast<I64x8>(m[j] < x));  // all ones
      m[j] = (m[j] & keep) | (x & ~keep);
    }
  }
  std::memcpy(minima.data(), m, sizeof m);
}

bool HaveAvx512() {
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  }();
  return have;
}
#endif

void Minima(std::span<const uint64_t> words, std::array<uint64_t, kMinHashLanes>& minima) {
#if FEDWALL_COUNTERS_AVX512
  if (HaveAvx512()) {
    MinimaAvx512(words, minima);
    return;
  }
#endif
  MinimaPortable(words, minima);
}

}  // namespace

std::string_view CounterKindName(CounterKind kind) {
  for (const KindName& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "counter";
}

std::optional<CounterKind> FindCounterKind(std::string_view name) {
  for (const KindName& k : kKindNames) {
    if (k.name == name) return k.kind;
  }
  return std::nullopt;
}

std::string CounterRefName(const CounterRef& ref) {
  // The largest unit that divides the window, as durations are written in rules.
  int64_t s = absl::ToInt64Seconds(ref.window);
  std::string window;
  if (s > 0 && s % (7 * 86400) == 0) {
    window = absl::StrCat(s / (7 * 86400), "w");
  } else if (s > 0 && s % 86400 == 0) {
    window = absl::StrCat(s / 86400, "d");
  } else if (s > 0 && s % 3600 == 0) {
    window = absl::StrCat(s / 3600, "h");
  } else if (s > 0 && s % 60 == 0) {
    window = absl::StrCat(s / 60, "m");
  } else {
    window = absl::StrCat(s, "s");
  }
  return absl::StrCat(std::string(CounterKindName(ref.kind)), "(", window, ")");
}

std::string CounterText(const Activity& activity) {
  std::string out;
  CounterTextInto(activity, &out);
  return out;
}

std::array<uint64_t, kSimilarBands> SimilarityBands(std::string_view counter_text) {
  std::array<uint64_t, kSimilarBands> bands{};
  if (counter_text.empty()) return bands;
  // The distinct words' hashes: a repeated word cannot change a minimum, so it is hashed only
  // once (a small open-addressing set; 0 is its empty mark, and a word hashing to 0 is simply
  // never deduplicated, which is harmless).
  thread_local std::vector<uint64_t> words;
  thread_local std::vector<uint64_t> seen;
  const size_t max_words =
      1 + static_cast<size_t>(std::count(counter_text.begin(), counter_text.end(), ' '));
  size_t cap = 64;
  while (cap < 2 * max_words) cap <<= 1;
  seen.assign(cap, 0);
  words.clear();
  size_t pos = 0;
  while (pos <= counter_text.size()) {
    size_t end = counter_text.find(' ', pos);
    if (end == std::string_view::npos) end = counter_text.size();
    const uint64_t w = StableHash(counter_text.substr(pos, end - pos));
    pos = end + 1;
    if (w != 0) {
      size_t at = static_cast<size_t>(w) & (cap - 1);
      while (seen[at] != 0 && seen[at] != w) at = (at + 1) & (cap - 1);
      if (seen[at] == w) continue;
      seen[at] = w;
    }
    words.push_back(w);
  }
  std::array<uint64_t, kMinHashLanes> minima;
  minima.fill(std::numeric_limits<uint64_t>::max());
  Minima(words, minima);
  for (int band = 0; band < kSimilarBands; ++band) {
    uint64_t h = Mix(static_cast<uint64_t>(band) + 1);
    for (int row = 0; row < kSimilarRows; ++row) {
      h = Mix(h ^ minima[static_cast<size_t>(band * kSimilarRows + row)]);
    }
    bands[static_cast<size_t>(band)] = h;
  }
  return bands;
}

ActivityKeys KeysFor(const Activity& activity, bool with_bands) {
  ActivityKeys keys;
  std::string text;
  KeysInto(activity, with_bands, &keys, &text);
  return keys;
}

CounterPlan PlanFor(std::span<const CounterRef> refs, const ActivityKeys& keys) {
  CounterPlan plan;
  const size_t n = PlanInto(refs, keys, &plan);
  plan.queries.resize(n);
  return plan;
}

void Count(CounterStore& store, std::span<const CounterRef> refs, const Activity& activity,
           absl::Time now, bool record, std::vector<std::optional<double>>* values) {
  values->assign(refs.size(), std::nullopt);
  if (refs.empty()) return;
  const bool needs_text = std::any_of(refs.begin(), refs.end(),
                                      [](const CounterRef& r) { return IsTextCounter(r.kind); });
  const bool needs_bands = std::any_of(refs.begin(), refs.end(), [](const CounterRef& r) {
    return r.kind == CounterKind::kTextSimilar;
  });
  // Per-thread scratch: the keys, the plan and the answers keep their capacity from one
  // activity to the next, so that a steady stream of activities allocates nothing here.
  // (Count never runs inside itself: a store does not call back into the counters.)
  thread_local ActivityKeys keys;
  thread_local std::string text;
  thread_local CounterPlan plan;
  thread_local std::vector<std::optional<double>> answers;
  if (needs_text) {
    KeysInto(activity, needs_bands, &keys, &text);
  } else {
    keys.actor.assign(activity.actor);
    keys.actor_domain.assign(activity.actor_domain);
    keys.counts_text = false;
  }
  const size_t n = PlanInto(refs, keys, &plan);
  answers.clear();
  if (n != 0) {
    store.Count(now, record, std::span<const CounterQuery>(plan.queries.data(), n), &answers);
  }
  for (size_t i = 0; i < refs.size(); ++i) {
    const int q = plan.query_of[i];
    if (q >= 0) {
      if (static_cast<size_t>(q) < answers.size()) (*values)[i] = answers[static_cast<size_t>(q)];
    } else if (IsTextCounter(refs[i].kind)) {
      (*values)[i] = 0.0;  // not a text activity: no one sent this text
    }
  }
}

}  // namespace fedwall::counters
