#include "engine/counters/counters.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/match/unicode_props.h"

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
  x += 0x9e3779b97f4a7c15ULL;
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

// The MinHash functions: h_i(w) = Mix(a_i * w + b_i), with fixed odd multipliers a_i.
struct MinHashFamily {
  std::array<uint64_t, kSimilarBands * kSimilarRows> a{};
  std::array<uint64_t, kSimilarBands * kSimilarRows> b{};
  MinHashFamily() {
    uint64_t seed = 0x66656477616c6c31ULL;  // "fedwall1"
    for (size_t i = 0; i < a.size(); ++i) {
      seed = Mix(seed);
      a[i] = seed | 1;
      seed = Mix(seed);
      b[i] = seed;
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

// "scam.example", "scam.example/y", "Example.COM.": a link written without its scheme. The
// last label must be letters only, two or more (so "e.g." and "3.14" stay words).
bool LooksLikeDomainOrUrl(std::string_view token) {
  size_t end = token.find('/');
  std::string_view host = token.substr(0, end);
  while (!host.empty() && (host.back() == '.' || host.back() == ',' || host.back() == '!' ||
                           host.back() == '?' || host.back() == ':' || host.back() == ';' ||
                           host.back() == ')')) {
    host.remove_suffix(1);
  }
  size_t dot = host.rfind('.');
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
  return true;
}

// A whitespace-separated token that is a mention, a hashtag or a link.
bool IsDroppedToken(std::string_view token, const Activity& activity) {
  // Leading punctuation such as "(" or a quote does not hide a mention or a link.
  size_t i = 0;
  while (i < token.size() && static_cast<unsigned char>(token[i]) < 0x80 &&
         !std::isalnum(static_cast<unsigned char>(token[i])) && token[i] != '@' &&
         token[i] != '#') {
    ++i;
  }
  token.remove_prefix(i);
  if (token.empty()) return false;
  if (token[0] == '@' || token[0] == '#') return true;
  if (token.find("://") != std::string_view::npos) return true;
  if (StartsWith(token, "www.")) return true;
  if (LooksLikeDomainOrUrl(token)) return true;
  for (const std::string& domain : activity.link_domains) {
    if (!domain.empty() && StartsWith(token, domain)) return true;
  }
  return false;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
         c == kTextSeparator;
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
  std::string_view text = activity.text.folded;
  std::string out;
  size_t words = 0;
  size_t pos = 0;
  while (pos < text.size() && words < kMaxCounterWords) {
    while (pos < text.size() && IsSpace(text[pos])) ++pos;
    size_t end = pos;
    while (end < text.size() && !IsSpace(text[end])) ++end;
    std::string_view token = text.substr(pos, end - pos);
    pos = end;
    if (token.empty() || IsDroppedToken(token, activity)) continue;
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
  return out;
}

std::array<uint64_t, kSimilarBands> SimilarityBands(std::string_view counter_text) {
  std::array<uint64_t, kSimilarBands> bands{};
  if (counter_text.empty()) return bands;
  const MinHashFamily& family = Family();
  std::array<uint64_t, kSimilarBands * kSimilarRows> minima;
  minima.fill(std::numeric_limits<uint64_t>::max());
  size_t pos = 0;
  while (pos <= counter_text.size()) {
    size_t end = counter_text.find(' ', pos);
    if (end == std::string_view::npos) end = counter_text.size();
    uint64_t w = StableHash(counter_text.substr(pos, end - pos));
    for (size_t i = 0; i < minima.size(); ++i) {
      minima[i] = std::min(minima[i], Mix(family.a[i] * w + family.b[i]));
    }
    pos = end + 1;
  }
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
  keys.actor = activity.actor;
  keys.actor_domain = activity.actor_domain;
  if (activity.type != "Create" && activity.type != "Update") return keys;
  std::string text = CounterText(activity);
  if (text.empty()) return keys;
  keys.counts_text = true;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr) != 1 || len < 16) {
    // Cannot happen with a working libcrypto; fall back to two stable 64-bit hashes.
    uint64_t h1 = StableHash(text);
    uint64_t h2 = Mix(h1 ^ 0x5555555555555555ULL);
    keys.text_digest.assign(reinterpret_cast<const char*>(&h1), 8);
    keys.text_digest.append(reinterpret_cast<const char*>(&h2), 8);
  } else {
    keys.text_digest.assign(reinterpret_cast<const char*>(md), 16);
  }
  if (with_bands) keys.bands = SimilarityBands(text);
  return keys;
}

CounterPlan PlanFor(std::span<const CounterRef> refs, const ActivityKeys& keys) {
  CounterPlan plan;
  plan.query_of.assign(refs.size(), -1);
  for (size_t i = 0; i < refs.size(); ++i) {
    const CounterRef& ref = refs[i];
    CounterQuery q;
    q.window = ref.window;
    switch (ref.kind) {
      case CounterKind::kActorRate:
        if (keys.actor.empty()) continue;
        q.keys.push_back(absl::StrCat("ar:", keys.actor));
        break;
      case CounterKind::kDomainRate:
        if (keys.actor_domain.empty()) continue;
        q.keys.push_back(absl::StrCat("dr:", keys.actor_domain));
        break;
      case CounterKind::kTextSeen:
      case CounterKind::kTextSeenDomains: {
        if (!keys.counts_text) continue;
        const bool domains = ref.kind == CounterKind::kTextSeenDomains;
        // Without an actor (or its domain) the activity still counts once, as an anonymous
        // member of its own.
        const std::string& member = domains ? keys.actor_domain : keys.actor;
        q.distinct = true;
        q.keys.push_back(absl::StrCat(domains ? "td:" : "ts:", keys.text_digest));
        q.member = member.empty() ? std::string("-") : member;
        break;
      }
      case CounterKind::kTextSimilar:
        if (!keys.counts_text) continue;
        q.distinct = true;
        for (int b = 0; b < kSimilarBands; ++b) {
          uint64_t band = keys.bands[static_cast<size_t>(b)];
          q.keys.push_back(absl::StrCat("sb", b, ":",
                                        std::string(reinterpret_cast<const char*>(&band),
                                                    sizeof band)));
        }
        q.member = keys.actor.empty() ? std::string("-") : keys.actor;
        break;
    }
    plan.query_of[i] = static_cast<int>(plan.queries.size());
    plan.queries.push_back(std::move(q));
  }
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
  ActivityKeys keys;
  if (needs_text) {
    keys = KeysFor(activity, needs_bands);
  } else {
    keys.actor = activity.actor;
    keys.actor_domain = activity.actor_domain;
  }
  CounterPlan plan = PlanFor(refs, keys);
  std::vector<std::optional<double>> answers;
  if (!plan.queries.empty()) store.Count(now, record, plan.queries, &answers);
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
