#include "tools/corpus/corpus.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"

namespace fedwall::corpus {
namespace {

// ----- Randomness: our own, so the bytes never depend on the standard library -------------

uint64_t Mix(uint64_t x) {  // SplitMix64's finaliser
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0 (the modulo bias is below 2^-40 for the n used here).
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi].
  int Between(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  // True with probability p.
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& items) {
    return items[Below(N)];
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }
  // Skewed towards small indexes (big instances, popular tags): the square of a uniform.
  uint64_t Skewed(uint64_t n) {
    double u = static_cast<double>(Next() >> 11) * 0x1.0p-53;
    return std::min<uint64_t>(n - 1, static_cast<uint64_t>(u * u * static_cast<double>(n)));
  }

 private:
  uint64_t state_;
};

// ----- Word lists --------------------------------------------------------------------------

constexpr std::array<std::string_view, 96> kNouns = {
    "coffee",  "garden",    "cat",       "dog",      "book",     "train",        "city",
    "morning", "weekend",   "project",   "code",     "bug",      "release",      "server",
    "photo",   "bird",      "tree",      "river",    "mountain", "bread",        "soup",
    "music",   "album",     "concert",   "game",     "movie",    "paper",        "meeting",
    "library", "bike",      "rain",      "snow",     "sun",      "window",       "kitchen",
    "friend",  "neighbour", "community", "instance", "timeline", "post",         "thread",
    "article", "podcast",   "episode",   "recipe",   "tomato",   "apple",        "forest",
    "beach",   "museum",    "painting",  "sketch",   "keyboard", "laptop",       "phone",
    "battery", "update",    "kernel",    "compiler", "database", "backup",       "station",
    "bus",     "tea",       "cake",      "harvest",  "lake",     "island",       "village",
    "market",  "sweater",   "scarf",     "poem",     "story",    "song",         "guitar",
    "piano",   "lecture",   "exam",      "thesis",   "grant",    "sensor",       "robot",
    "printer", "terminal",  "editor",    "shell",    "script",   "pull request", "issue",
    "review",  "deadline",  "holiday",   "festival", "sunset"};
constexpr std::array<std::string_view, 48> kVerbs = {
    "make",  "read",   "fix",     "build",  "watch",   "try",    "find",   "bake",
    "plant", "write",  "share",   "learn",  "ship",    "test",   "debug",  "draw",
    "paint", "visit",  "cook",    "walk",   "ride",    "play",   "record", "edit",
    "clean", "repair", "migrate", "deploy", "upgrade", "review", "merge",  "refactor",
    "knit",  "sew",    "climb",   "swim",   "run",     "hike",   "sing",   "study",
    "teach", "design", "plan",    "finish", "start",   "follow", "boost",  "archive"};
constexpr std::array<std::string_view, 48> kAdjectives = {
    "quiet",   "lovely",   "strange", "new",      "old",     "tiny",      "huge",    "cozy",
    "bright",  "rainy",    "slow",    "fast",     "broken",  "shiny",     "green",   "golden",
    "early",   "late",     "simple",  "weird",    "warm",    "cold",      "sunny",   "foggy",
    "busy",    "lazy",     "curious", "gentle",   "noisy",   "fresh",     "stale",   "wonderful",
    "awkward", "handmade", "local",   "distant",  "ancient", "modern",    "soft",    "sharp",
    "bitter",  "sweet",    "spicy",   "delicate", "sturdy",  "colourful", "patient", "clever"};
constexpr std::array<std::string_view, 40> kFiller = {
    "the",    "a",     "and",    "with",  "for",   "after",   "before", "today",
    "again",  "maybe", "really", "just",  "still", "finally", "almost", "never",
    "always", "some",  "my",     "our",   "their", "this",    "that",   "every",
    "in",     "on",    "at",     "about", "from",  "into",    "while",  "because",
    "so",     "but",   "very",   "quite", "too",   "also",    "here",   "there"};

constexpr std::array<std::string_view, 12> kOpeners = {"Just finished",
                                                       "Finally managed to",
                                                       "Does anyone know how to",
                                                       "Today I tried to",
                                                       "Can't believe I had to",
                                                       "Reminder to",
                                                       "Spent the whole evening trying to",
                                                       "Quick question: how do you",
                                                       "Started to",
                                                       "Trying to",
                                                       "Going to",
                                                       "Learned how to"};

constexpr std::array<std::string_view, 8> kGerman = {
    "Heute ist ein schöner Tag im Garten.",
    "Ich habe endlich das Buch fertig gelesen, sehr empfehlenswert.",
    "Der Zug hat wieder zwanzig Minuten Verspätung.",
    "Kennt jemand eine gute Bäckerei in der Nähe vom Bahnhof?",
    "Das neue Release ist draußen, danke an alle Beteiligten!",
    "Wir treffen uns am Samstag zum Stricken im Café.",
    "Mein Kater schläft schon den ganzen Nachmittag auf der Heizung.",
    "Frisches Brot aus dem eigenen Ofen ist einfach das Beste."};
constexpr std::array<std::string_view, 8> kJapanese = {
    "今日はとても良い天気ですね。",
    "新しいプロジェクトを始めました！",
    "猫が膝の上で寝ています。",
    "駅前のカフェでコーヒーを飲みながら作業中。",
    "週末は山に登る予定です。",
    "この本、思っていたよりずっと面白かった。",
    "新しいキーボードが届きました、打ち心地が最高。",
    "桜がもうすぐ咲きそうです。"};

constexpr std::array<std::string_view, 40> kHashtags = {"photography",    "caturday",
                                                        "gardening",      "foss",
                                                        "linux",          "rust",
                                                        "cplusplus",      "books",
                                                        "music",          "art",
                                                        "mastodon",       "fediverse",
                                                        "introduction",   "birds",
                                                        "cooking",        "bread",
                                                        "hiking",         "climate",
                                                        "science",        "history",
                                                        "knitting",       "opensource",
                                                        "python",         "selfhosting",
                                                        "homelab",        "cycling",
                                                        "coffee",         "tea",
                                                        "running",        "poetry",
                                                        "writing",        "accessibility",
                                                        "dogsofmastodon", "catsofmastodon",
                                                        "nature",         "space",
                                                        "astronomy",      "retrocomputing",
                                                        "vegan",          "travel"};

constexpr std::array<std::string_view, 40> kNames = {
    "alice",   "bob",  "carol",  "dana",  "erin",   "frank", "grace",  "heidi",  "ivan",   "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent",  "victor", "walter", "yuki",
    "zoe",     "aiko", "bernd",  "chloe", "deniz",  "emeka", "fatima", "goran",  "hana",   "ines",
    "jonas",   "kofi", "lena",   "mateo", "noor",   "oskar", "priya",  "quinn",  "rosa",   "sven"};

constexpr std::array<std::string_view, 10> kServerWords = {
    "social", "town", "zone", "space", "cafe", "club", "city", "party", "garden", "hub"};

constexpr std::array<std::string_view, 6> kMediaTypes = {"image/jpeg", "image/jpeg", "image/png",
                                                         "image/webp", "image/gif",  "video/mp4"};

// Spam material.
constexpr std::array<std::string_view, 8> kMentionSpamTexts = {
    "Mastodon japan the best! Join now",
    "Check this out!!! The best instance ever",
    "You have been selected! Look at this",
    "Hello friends, amazing offer only today",
    "free followers here, join the best server",
    "Don't miss it! Everyone is moving here",
    "\u65b0\u3057\u3044\u30b5\u30fc\u30d0\u30fc\u306b\u6765\u3066\u304f\u3060\u3055\u3044 join us",
    "WOW look at this, best deal of the year"};
constexpr std::array<std::string_view, 10> kCryptoTexts = {
    "Claim your airdrop now! The $MOON airdrop is live, connect your wallet before it ends.",
    "Your wallet has been selected for the ETH giveaway. Verify your wallet to receive it.",
    "Send 0.1 ETH and receive 0.2 ETH back! Double your crypto, limited time offer.",
    "Guaranteed daily profit with our trading bot, 300% guaranteed returns. Act now!",
    "Free NFT mint for early supporters. Claim your tokens before midnight UTC.",
    "Validate your wallet to keep your tokens: enter your recovery phrase on our portal.",
    "BTC giveaway: send 0.05 BTC and get 0.1 BTC back instantly. Trusted by thousands.",
    "Exclusive presale of the next 100x memecoin, claim yours now. Not financial advice.",
    "Synchronize your wallet to receive the pending airdrop reward.",
    "Celebrating 1M users: we give away 5000 ETH. Claim your reward now."};
constexpr std::array<std::string_view, 8> kLinkSpamTexts = {
    "Earn $500 a day working from home, no experience needed",
    "Best cheap replica watches, free shipping worldwide",
    "Casino bonus: 200 free spins for new players",
    "Lose 10 kg in 10 days with this one weird trick",
    "Buy followers and likes, instant delivery",
    "Hot singles in your area are waiting",
    "Cheap pills online without prescription",
    "Make money fast with this secret system"};
constexpr std::array<std::string_view, 8> kShorteners = {
    "bit.ly", "tinyurl.com", "cutt.ly", "is.gd", "rb.gy", "t.ly", "ow.ly", "s.id"};

// ----- Output helpers ----------------------------------------------------------------------
// Our own concatenation (abseil's StrCat does not take std::string_view on Debian, and the
// output must not depend on any library's number formatting: integers only, std::to_string).

void AppendOne(std::string* out, std::string_view s) { out->append(s); }
template <typename T>
requires std::is_integral_v<T>
void AppendOne(std::string* out, T v) { out->append(std::to_string(v)); }
template <typename... Args>
void Append(std::string* out, const Args&... args) {
  (AppendOne(out, args), ...);
}
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (AppendOne(&out, args), ...);
  return out;
}
std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(separator);
    out.append(items[i]);
  }
  return out;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

std::string J(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, items[i]);
  }
  out.push_back(']');
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Base36(Rng& rng, int length) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (int i = 0; i < length; ++i) out.push_back(kDigits[rng.Below(36)]);
  return out;
}

std::string Hex(Rng& rng, int length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < length; ++i) out.push_back(kDigits[rng.Below(16)]);
  return out;
}

std::string Uuid(Rng& rng) {
  return Cat(Hex(rng, 8), "-", Hex(rng, 4), "-4", Hex(rng, 3), "-a", Hex(rng, 3), "-",
             Hex(rng, 12));
}

std::string Snowflake(Rng& rng, absl::Time t) {
  // Mastodon ids: milliseconds since the epoch << 16, plus a sequence.
  uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(t));
  return Cat((ms << 16) | rng.Below(1 << 16));
}

enum class Flavor { kMastodon, kMisskey, kPleroma };

std::string Timestamp(absl::Time t, Flavor f) {
  switch (f) {
    case Flavor::kMastodon:
      return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
    case Flavor::kMisskey:
      return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
    case Flavor::kPleroma:
      return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
  }
  return "";
}

constexpr char kAsPublic[] = "https://www.w3.org/ns/activitystreams#Public";
constexpr char kMastodonContext[] =
    "[\"https://www.w3.org/ns/activitystreams\",{\"ostatus\":\"http://ostatus.org#\","
    "\"atomUri\":\"ostatus:atomUri\",\"inReplyToAtomUri\":\"ostatus:inReplyToAtomUri\","
    "\"conversation\":\"ostatus:conversation\",\"sensitive\":\"as:sensitive\","
    "\"toot\":\"http://joinmastodon.org/ns#\",\"votersCount\":\"toot:votersCount\","
    "\"blurhash\":\"toot:blurhash\",\"focalPoint\":{\"@container\":\"@list\",\"@id\":"
    "\"toot:focalPoint\"},\"Hashtag\":\"as:Hashtag\"}]";
constexpr char kMisskeyContext[] =
    "[\"https://www.w3.org/ns/activitystreams\",\"https://w3id.org/security/v1\",{"
    "\"manuallyApprovesFollowers\":\"as:manuallyApprovesFollowers\",\"sensitive\":"
    "\"as:sensitive\",\"Hashtag\":\"as:Hashtag\",\"quoteUrl\":\"as:quoteUrl\",\"toot\":"
    "\"http://joinmastodon.org/ns#\",\"Emoji\":\"toot:Emoji\",\"misskey\":"
    "\"https://misskey-hub.net/ns#\",\"_misskey_content\":\"misskey:_misskey_content\","
    "\"_misskey_quote\":\"misskey:_misskey_quote\",\"_misskey_reaction\":"
    "\"misskey:_misskey_reaction\",\"isCat\":\"misskey:isCat\"}]";
constexpr char kPleromaContext[] =
    "[\"https://www.w3.org/ns/activitystreams\",\"https://pleroma.example/schemas/litepub-0.1."
    "jsonld\",{\"@language\":\"und\"}]";

// ----- The world: instances and accounts -----------------------------------------------------

struct Instance {
  std::string domain;
  Flavor flavor;
};

const std::vector<Instance>& Instances() {
  static const std::vector<Instance>* instances = [] {
    auto* v = new std::vector<Instance>();
    Rng rng(0x1A57A9CE5ULL);  // fixed: the same world for every seed
    for (int i = 0; i < 240; ++i) {
      Flavor f = i % 4 == 1 ? Flavor::kMisskey : i % 4 == 3 ? Flavor::kPleroma : Flavor::kMastodon;
      std::string_view noun = kNouns[rng.Below(kNouns.size())];
      std::string_view word = kServerWords[rng.Below(kServerWords.size())];
      std::string base;
      for (char c : noun) base.push_back(c == ' ' ? '-' : c);
      std::string domain;
      switch (rng.Below(4)) {
        case 0:
          domain = Cat(f == Flavor::kMisskey   ? "misskey."
                       : f == Flavor::kPleroma ? "pl."
                                               : "mastodon.",
                       base, ".example");
          break;
        case 1:
          domain = Cat(base, "-", word, ".example");
          break;
        case 2:
          domain = Cat(base, ".", word, ".example");
          break;
        default:
          domain = Cat(kAdjectives[rng.Below(kAdjectives.size())], base, i, ".example");
      }
      v->push_back({std::move(domain), f});
    }
    return v;
  }();
  return *instances;
}

struct Account {
  std::string domain;
  Flavor flavor;
  std::string id;        // actor IRI
  std::string username;  // preferredUsername
  std::string profile;   // human URL (for mention hrefs)
};

Account MakeAccount(const Instance& inst, std::string username, Rng& rng) {
  Account a{inst.domain, inst.flavor, "", std::move(username), ""};
  switch (inst.flavor) {
    case Flavor::kMastodon:
      a.id = Cat("https://", inst.domain, "/users/", a.username);
      a.profile = Cat("https://", inst.domain, "/@", a.username);
      break;
    case Flavor::kMisskey:
      a.id = Cat("https://", inst.domain, "/users/", Base36(rng, 10));
      a.profile = Cat("https://", inst.domain, "/@", a.username);
      break;
    case Flavor::kPleroma:
      a.id = Cat("https://", inst.domain, "/users/", a.username);
      a.profile = a.id;
      break;
  }
  return a;
}

Account RandomAccount(Rng& rng) {
  const std::vector<Instance>& inst = Instances();
  const Instance& i = inst[rng.Skewed(inst.size())];
  std::string name(kNames[rng.Below(kNames.size())]);
  if (rng.Chance(0.6)) Append(&name, rng.Below(1000));
  // Misskey actor ids are random strings; derive them from the name and the domain so that
  // an account keeps its id across activities.
  uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a
  for (char c : Cat(name, "@", i.domain))
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
  Rng id_rng(Mix(h));
  return MakeAccount(i, std::move(name), id_rng);
}

std::string StatusUrl(const Account& a, Rng& rng, absl::Time t) {
  switch (a.flavor) {
    case Flavor::kMastodon:
      return Cat(a.id, "/statuses/", Snowflake(rng, t));
    case Flavor::kMisskey:
      return Cat("https://", a.domain, "/notes/", Base36(rng, 16));
    case Flavor::kPleroma:
      return Cat("https://", a.domain, "/objects/", Uuid(rng));
  }
  return "";
}

// ----- Post text -----------------------------------------------------------------------------

std::string Capitalise(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

std::string Sentence(Rng& rng) {
  std::vector<std::string> words;
  switch (rng.Below(4)) {
    case 0:  // "Just finished the tiny garden project."
      words.emplace_back(kOpeners[rng.Below(kOpeners.size())]);
      words.emplace_back(kVerbs[rng.Below(kVerbs.size())]);
      words.emplace_back(kFiller[rng.Below(kFiller.size())]);
      words.emplace_back(kAdjectives[rng.Below(kAdjectives.size())]);
      words.emplace_back(kNouns[rng.Below(kNouns.size())]);
      break;
    case 1:  // "The old bike is finally fixed."
      words.emplace_back("the");
      words.emplace_back(kAdjectives[rng.Below(kAdjectives.size())]);
      words.emplace_back(kNouns[rng.Below(kNouns.size())]);
      words.emplace_back(rng.Chance(0.5) ? "is" : "was");
      words.emplace_back(kFiller[rng.Below(kFiller.size())]);
      words.emplace_back(kAdjectives[rng.Below(kAdjectives.size())]);
      break;
    default: {  // free word salad of everyday words
      int n = rng.Between(5, 16);
      for (int i = 0; i < n; ++i) {
        switch (rng.Below(4)) {
          case 0:
            words.emplace_back(kNouns[rng.Below(kNouns.size())]);
            break;
          case 1:
            words.emplace_back(kVerbs[rng.Below(kVerbs.size())]);
            break;
          case 2:
            words.emplace_back(kAdjectives[rng.Below(kAdjectives.size())]);
            break;
          default:
            words.emplace_back(kFiller[rng.Below(kFiller.size())]);
        }
      }
    }
  }
  static constexpr std::array<std::string_view, 6> kEnds = {".", ".", ".", "!", "?", "..."};
  return Capitalise(Cat(Join(words, " "), kEnds[rng.Below(kEnds.size())]));
}

// Sentences of one post: one sentence to long posts.
std::vector<std::string> Sentences(Rng& rng, std::string_view* language) {
  int n;
  uint64_t r = rng.Below(100);
  if (r < 40) {
    n = 1;
  } else if (r < 70) {
    n = rng.Between(2, 3);
  } else if (r < 90) {
    n = rng.Between(4, 8);
  } else {
    n = rng.Between(9, 30);
  }
  std::vector<std::string> out;
  uint64_t lang = rng.Below(100);
  *language = lang < 5 ? "de" : lang < 10 ? "ja" : "en";
  for (int i = 0; i < n; ++i) {
    if (*language == "de") {
      out.emplace_back(kGerman[rng.Below(kGerman.size())]);
    } else if (*language == "ja") {
      out.emplace_back(kJapanese[rng.Below(kJapanese.size())]);
    } else {
      out.push_back(Sentence(rng));
    }
  }
  return out;
}

// ----- Building a Create{Note} ----------------------------------------------------------------

struct Mention {
  std::string href;  // actor IRI
  std::string name;  // @user@domain
  std::string profile;
  std::string username;
};

struct Media {
  std::string media_type;
  std::string url;
  std::string alt;  // "" = none
};

struct Post {
  Account author;
  absl::Time published;
  std::string id;   // object IRI
  std::string url;  // human URL
  std::string_view language = "en";
  std::vector<std::string> paragraphs;  // HTML paragraphs (without <p>)
  std::string plain;                    // the source text (Misskey's _misskey_content)
  std::vector<Mention> mentions;
  std::vector<std::string> hashtags;
  std::vector<Media> media;
  std::string summary;  // content warning
  bool sensitive = false;
  std::string in_reply_to;
  enum class Visibility {
    kPublic,
    kUnlisted,
    kFollowers,
    kDirect
  } visibility = Visibility::kPublic;
};

std::string MentionHtml(const Mention& m, Flavor f) {
  if (f == Flavor::kMisskey) {
    return Cat("<a href=\"", m.profile, "\" class=\"u-url mention\">", HtmlEscape(m.name), "</a>");
  }
  return Cat("<span class=\"h-card\" translate=\"no\"><a href=\"", m.profile,
             "\" class=\"u-url mention\">@<span>", HtmlEscape(m.username), "</span></a></span>");
}

std::string HashtagHtml(const Account& a, std::string_view tag) {
  return Cat("<a href=\"https://", a.domain, "/tags/", tag,
             "\" class=\"mention hashtag\" rel=\"tag\">#<span>", tag, "</span></a>");
}

std::string LinkHtml(std::string_view url) {
  std::string_view shown = url;
  if (shown.substr(0, 8) == "https://") shown.remove_prefix(8);
  return Cat("<a href=\"", url, "\" target=\"_blank\" rel=\"nofollow noopener noreferrer\">",
             HtmlEscape(shown), "</a>");
}

std::vector<std::string> Recipients(const Post& p, std::vector<std::string>* cc) {
  const std::string followers = Cat(p.author.id, "/followers");
  std::vector<std::string> to;
  cc->clear();
  switch (p.visibility) {
    case Post::Visibility::kPublic:
      to.push_back(kAsPublic);
      cc->push_back(followers);
      break;
    case Post::Visibility::kUnlisted:
      to.push_back(followers);
      cc->push_back(kAsPublic);
      break;
    case Post::Visibility::kFollowers:
      to.push_back(followers);
      break;
    case Post::Visibility::kDirect:
      break;
  }
  for (const Mention& m : p.mentions) {
    (p.visibility == Post::Visibility::kDirect ? to : *cc).push_back(m.href);
  }
  return to;
}

std::string TagsJson(const Post& p) {
  std::vector<std::string> tags;
  for (const Mention& m : p.mentions) {
    tags.push_back(Cat("{\"type\":\"Mention\",\"href\":", J(m.href), ",\"name\":", J(m.name), "}"));
  }
  for (const std::string& h : p.hashtags) {
    tags.push_back(
        Cat("{\"type\":\"Hashtag\",\"href\":", J(Cat("https://", p.author.domain, "/tags/", h)),
            ",\"name\":", J(Cat("#", h)), "}"));
  }
  return Cat("[", Join(tags, ","), "]");
}

std::string AttachmentsJson(const Post& p, Rng& rng) {
  std::vector<std::string> items;
  for (const Media& m : p.media) {
    std::string item = Cat("{\"type\":\"Document\",\"mediaType\":", J(m.media_type),
                           ",\"url\":", J(m.url), ",\"name\":", m.alt.empty() ? "null" : J(m.alt));
    if (p.author.flavor == Flavor::kMastodon) {
      Append(&item, ",\"blurhash\":", J(Cat("U", Base36(rng, 27))),
             ",\"width\":", 640 + rng.Below(1400), ",\"height\":", 480 + rng.Below(1000));
    }
    item += "}";
    items.push_back(std::move(item));
  }
  return Cat("[", Join(items, ","), "]");
}

std::string ContentHtml(const Post& p) {
  std::string html;
  for (const std::string& para : p.paragraphs) Append(&html, "<p>", para, "</p>");
  return html;
}

std::string CreateJson(const Post& p, Rng& rng, std::string_view activity_id) {
  std::vector<std::string> cc;
  std::vector<std::string> to = Recipients(p, &cc);
  const Flavor f = p.author.flavor;
  const std::string published = Timestamp(p.published, f);
  const std::string content = ContentHtml(p);
  const std::string summary =
      p.summary.empty() ? (f == Flavor::kPleroma ? "\"\"" : "null") : J(p.summary);
  const std::string reply = p.in_reply_to.empty() ? "null" : J(p.in_reply_to);
  std::string object;
  switch (f) {
    case Flavor::kMastodon:
      object = Cat("{\"id\":", J(p.id), ",\"type\":\"Note\",\"summary\":", summary,
                   ",\"inReplyTo\":", reply, ",\"published\":", J(published), ",\"url\":", J(p.url),
                   ",\"attributedTo\":", J(p.author.id), ",\"to\":", JsonArray(to),
                   ",\"cc\":", JsonArray(cc), ",\"sensitive\":", p.sensitive ? "true" : "false",
                   ",\"atomUri\":", J(p.id), ",\"inReplyToAtomUri\":", reply, ",\"conversation\":",
                   J(Cat("tag:", p.author.domain, ",2024-02-15:objectId=", rng.Below(100000000),
                         ":objectType=Conversation")),
                   ",\"content\":", J(content), ",\"contentMap\":{", J(p.language), ":", J(content),
                   "},\"attachment\":", AttachmentsJson(p, rng), ",\"tag\":", TagsJson(p),
                   ",\"replies\":{\"id\":", J(Cat(p.id, "/replies")),
                   ",\"type\":\"Collection\",\"first\":{\"type\":\"CollectionPage\",\"next\":",
                   J(Cat(p.id, "/replies?only_other_accounts=true&page=true")),
                   ",\"partOf\":", J(Cat(p.id, "/replies")), ",\"items\":[]}}}");
      return Cat("{\"@context\":", kMastodonContext, ",\"id\":", J(activity_id),
                 ",\"type\":\"Create\",\"actor\":", J(p.author.id), ",\"published\":", J(published),
                 ",\"to\":", JsonArray(to), ",\"cc\":", JsonArray(cc), ",\"object\":", object, "}");
    case Flavor::kMisskey:
      object = Cat("{\"id\":", J(p.id), ",\"type\":\"Note\",\"attributedTo\":", J(p.author.id),
                   ",\"content\":", J(content), ",\"_misskey_content\":", J(p.plain),
                   ",\"source\":{\"content\":", J(p.plain),
                   ",\"mediaType\":\"text/x.misskeymarkdown\"},\"published\":", J(published),
                   ",\"to\":", JsonArray(to), ",\"cc\":", JsonArray(cc), ",\"inReplyTo\":", reply,
                   ",\"attachment\":", AttachmentsJson(p, rng),
                   ",\"sensitive\":", p.sensitive ? "true" : "false", ",\"tag\":", TagsJson(p));
      if (!p.summary.empty()) Append(&object, ",\"summary\":", summary);
      object += "}";
      return Cat("{\"@context\":", kMisskeyContext, ",\"id\":", J(activity_id),
                 ",\"actor\":", J(p.author.id), ",\"type\":\"Create\",\"published\":", J(published),
                 ",\"object\":", object, ",\"to\":", JsonArray(to), ",\"cc\":", JsonArray(cc), "}");
    case Flavor::kPleroma: {
      const std::string context = Cat("https://", p.author.domain, "/contexts/", Uuid(rng));
      object =
          Cat("{\"actor\":", J(p.author.id), ",\"attachment\":", AttachmentsJson(p, rng),
              ",\"attributedTo\":", J(p.author.id), ",\"cc\":", JsonArray(cc),
              ",\"content\":", J(content), ",\"context\":", J(context),
              ",\"conversation\":", J(context), ",\"id\":", J(p.id), ",\"inReplyTo\":", reply,
              ",\"published\":", J(published), ",\"sensitive\":", p.sensitive ? "true" : "null",
              ",\"source\":{\"content\":", J(p.plain),
              ",\"mediaType\":\"text/plain\"},\"summary\":", summary, ",\"tag\":", TagsJson(p),
              ",\"to\":", JsonArray(to), ",\"type\":\"Note\"}");
      return Cat(
          "{\"@context\":", kPleromaContext, ",\"actor\":", J(p.author.id),
          ",\"cc\":", JsonArray(cc), ",\"context\":", J(context),
          ",\"directMessage\":", p.visibility == Post::Visibility::kDirect ? "true" : "false",
          ",\"id\":", J(activity_id), ",\"object\":", object, ",\"published\":", J(published),
          ",\"to\":", JsonArray(to), ",\"type\":\"Create\"}");
    }
  }
  return "";
}

std::string ActivityIdFor(const Post& p, Rng& rng) {
  switch (p.author.flavor) {
    case Flavor::kMastodon:
      return Cat(p.id, "/activity");
    case Flavor::kMisskey:
      return Cat(p.id, "/activity");
    case Flavor::kPleroma:
      return Cat("https://", p.author.domain, "/activities/", Uuid(rng));
  }
  return "";
}

Mention MentionOf(const Account& a) {
  return {a.id, Cat("@", a.username, "@", a.domain), a.profile, a.username};
}

// A normal post.
Post OrdinaryPost(Rng& rng, absl::Time t) {
  Post p;
  p.author = RandomAccount(rng);
  p.published = t;
  p.id = StatusUrl(p.author, rng, t);
  p.url = p.author.flavor == Flavor::kMastodon
              ? Cat(p.author.profile, "/", p.id.substr(p.id.rfind('/') + 1))
              : p.id;
  std::vector<std::string> sentences = Sentences(rng, &p.language);

  // Replies mention the people they answer.
  if (rng.Chance(0.25)) {
    int n = rng.Chance(0.8) ? 1 : rng.Between(2, 4);
    for (int i = 0; i < n; ++i) p.mentions.push_back(MentionOf(RandomAccount(rng)));
    p.in_reply_to = StatusUrl(RandomAccount(rng), rng, t - absl::Minutes(rng.Between(1, 600)));
  } else if (rng.Chance(0.05)) {
    p.mentions.push_back(MentionOf(RandomAccount(rng)));
  }
  if (rng.Chance(0.3)) {
    int n = rng.Between(1, 4);
    for (int i = 0; i < n; ++i) {
      std::string tag(kHashtags[rng.Skewed(kHashtags.size())]);
      if (std::find(p.hashtags.begin(), p.hashtags.end(), tag) == p.hashtags.end()) {
        p.hashtags.push_back(std::move(tag));
      }
    }
  }
  std::string link;
  if (rng.Chance(0.15)) {
    const Instance& site = Instances()[rng.Below(Instances().size())];
    link =
        Cat("https://", rng.Chance(0.5) ? "blog." : "www.", site.domain, "/",
            kNouns[rng.Below(kNouns.size())][0] == 'p' ? "posts/" : "",
            Cat(kAdjectives[rng.Below(kAdjectives.size())], "-", kNouns[rng.Below(kNouns.size())]));
    for (char& c : link) c = c == ' ' ? '-' : c;
  }
  if (rng.Chance(0.12)) {
    int n = rng.Chance(0.7) ? 1 : rng.Between(2, 4);
    for (int i = 0; i < n; ++i) {
      Media m;
      m.media_type = std::string(kMediaTypes[rng.Below(kMediaTypes.size())]);
      m.url = Cat("https://files.", p.author.domain, "/media_attachments/files/", Hex(rng, 16),
                  m.media_type == "video/mp4" ? ".mp4" : ".jpg");
      if (rng.Chance(0.6)) {
        m.alt = Cat("A ", kAdjectives[rng.Below(kAdjectives.size())], " ",
                    kNouns[rng.Below(kNouns.size())], " ", kFiller[rng.Below(kFiller.size())],
                    " the ", kNouns[rng.Below(kNouns.size())]);
      }
      p.media.push_back(std::move(m));
    }
  }
  if (rng.Chance(0.05)) {
    p.summary = Cat(rng.Chance(0.5) ? "cw: " : "", kNouns[rng.Below(kNouns.size())]);
    p.sensitive = true;
  } else if (!p.media.empty() && rng.Chance(0.1)) {
    p.sensitive = true;
  }
  uint64_t v = rng.Below(100);
  p.visibility = v < 70   ? Post::Visibility::kPublic
                 : v < 85 ? Post::Visibility::kUnlisted
                 : v < 95 ? Post::Visibility::kFollowers
                          : Post::Visibility::kDirect;
  if (p.visibility == Post::Visibility::kDirect && p.mentions.empty()) {
    p.mentions.push_back(MentionOf(RandomAccount(rng)));
  }

  // HTML: mentions first (replies), then paragraphs of up to three sentences, the link and
  // the hashtags at the end.
  std::string mention_html;
  std::string mention_plain;
  for (const Mention& m : p.mentions) {
    Append(&mention_html, MentionHtml(m, p.author.flavor), " ");
    Append(&mention_plain, m.name, " ");
  }
  std::string para = mention_html;
  p.plain = mention_plain;
  for (size_t i = 0; i < sentences.size(); ++i) {
    if (i > 0 && i % 3 == 0) {
      p.paragraphs.push_back(std::move(para));
      para.clear();
      p.plain += "\n\n";
    } else if (i > 0) {
      para += " ";
      p.plain += " ";
    }
    para += HtmlEscape(sentences[i]);
    p.plain += sentences[i];
  }
  if (!link.empty()) {
    Append(&para, " ", LinkHtml(link));
    Append(&p.plain, " ", link);
  }
  p.paragraphs.push_back(std::move(para));
  if (!p.hashtags.empty()) {
    std::vector<std::string> tags_html;
    std::vector<std::string> tags_plain;
    for (const std::string& h : p.hashtags) {
      tags_html.push_back(HashtagHtml(p.author, h));
      tags_plain.push_back(Cat("#", h));
    }
    p.paragraphs.push_back(Join(tags_html, " "));
    Append(&p.plain, "\n\n", Join(tags_plain, " "));
  }
  return p;
}

// A fresh account on a throwaway domain, as spam waves use.
Account SpamAccount(Rng& rng) {
  Instance inst;
  if (rng.Chance(0.5)) {
    inst = Instances()[rng.Below(Instances().size())];  // open registrations somewhere
  } else {
    inst = {Cat(Base36(rng, rng.Between(6, 10)), ".example"),
            rng.Chance(0.7) ? Flavor::kMastodon : Flavor::kMisskey};
  }
  return MakeAccount(inst, Base36(rng, 10), rng);
}

Post SpamPost(Rng& rng, absl::Time t, SpamKind kind) {
  Post p;
  p.author = SpamAccount(rng);
  p.published = t;
  p.id = StatusUrl(p.author, rng, t);
  p.url = p.id;
  p.visibility = Post::Visibility::kPublic;
  std::string text;
  std::vector<std::string> links;
  switch (kind) {
    case SpamKind::kMentionSpam: {
      int n = rng.Between(5, 12);
      for (int i = 0; i < n; ++i) p.mentions.push_back(MentionOf(RandomAccount(rng)));
      text = std::string(kMentionSpamTexts[rng.Below(kMentionSpamTexts.size())]);
      links.push_back(Cat("https://", Base36(rng, 8), ".example/"));
      Media m{"image/png", Cat("https://", p.author.domain, "/files/", Hex(rng, 32), ".png"), ""};
      p.media.push_back(std::move(m));
      break;
    }
    case SpamKind::kCryptoScam: {
      text = std::string(kCryptoTexts[rng.Below(kCryptoTexts.size())]);
      if (rng.Chance(0.5)) Append(&text, " Wallet: 0x", Hex(rng, 40));
      links.push_back(
          Cat("https://claim-", Base36(rng, 6), ".example/airdrop?ref=", Base36(rng, 8)));
      static constexpr std::array<std::string_view, 6> kTags = {"crypto",  "airdrop", "eth",
                                                                "bitcoin", "nft",     "giveaway"};
      int n = rng.Between(1, 4);
      for (int i = 0; i < n; ++i) {
        std::string tag(kTags[rng.Below(kTags.size())]);
        if (std::find(p.hashtags.begin(), p.hashtags.end(), tag) == p.hashtags.end()) {
          p.hashtags.push_back(std::move(tag));
        }
      }
      if (rng.Chance(0.3)) p.mentions.push_back(MentionOf(RandomAccount(rng)));
      break;
    }
    case SpamKind::kLinkSpam: {
      text = std::string(kLinkSpamTexts[rng.Below(kLinkSpamTexts.size())]);
      int n = rng.Between(3, 6);
      for (int i = 0; i < n; ++i) {
        links.push_back(
            rng.Chance(0.5)
                ? Cat("https://", kShorteners[rng.Below(kShorteners.size())], "/", Base36(rng, 7))
                : Cat("https://", Base36(rng, 9), ".example/", kNouns[rng.Below(kNouns.size())]));
      }
      break;
    }
    case SpamKind::kNone:
      break;
  }
  std::string para;
  p.plain.clear();
  for (const Mention& m : p.mentions) {
    Append(&para, MentionHtml(m, p.author.flavor), " ");
    Append(&p.plain, m.name, " ");
  }
  Append(&para, HtmlEscape(text));
  Append(&p.plain, text);
  for (std::string& l : links) {
    for (char& c : l) c = c == ' ' ? '-' : c;
    Append(&para, " ", LinkHtml(l));
    Append(&p.plain, " ", l);
  }
  p.paragraphs.push_back(std::move(para));
  if (!p.hashtags.empty()) {
    std::vector<std::string> tags_html;
    for (const std::string& h : p.hashtags) tags_html.push_back(HashtagHtml(p.author, h));
    p.paragraphs.push_back(Join(tags_html, " "));
  }
  return p;
}

// ----- The other activities --------------------------------------------------------------

std::string LikeJson(Rng& rng, absl::Time t) {
  Account a = RandomAccount(rng);
  Account author = RandomAccount(rng);
  const std::string object = StatusUrl(author, rng, t - absl::Minutes(rng.Between(1, 3000)));
  switch (a.flavor) {
    case Flavor::kMastodon:
      return Cat("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"id\":",
                 J(Cat(a.id, "#likes/", rng.Below(100000000))),
                 ",\"type\":\"Like\",\"actor\":", J(a.id), ",\"object\":", J(object), "}");
    case Flavor::kMisskey: {
      static constexpr std::array<std::string_view, 6> kReactions = {
          "\u2764", "\U0001F44D", "\U0001F606", "\U0001F389", "\U0001F914", "\u2b50"};
      std::string_view reaction = kReactions[rng.Below(kReactions.size())];
      return Cat("{\"@context\":", kMisskeyContext, ",\"type\":\"Like\",\"id\":",
                 J(Cat("https://", a.domain, "/likes/", Base36(rng, 16))), ",\"actor\":", J(a.id),
                 ",\"object\":", J(object), ",\"content\":", J(reaction),
                 ",\"_misskey_reaction\":", J(reaction), "}");
    }
    case Flavor::kPleroma: {
      std::vector<std::string> to = {Cat(a.id, "/followers"), author.id};
      std::vector<std::string> cc = {kAsPublic};
      return Cat("{\"@context\":", kPleromaContext, ",\"actor\":", J(a.id),
                 ",\"cc\":", JsonArray(cc),
                 ",\"context\":", J(Cat("https://", author.domain, "/contexts/", Uuid(rng))),
                 ",\"id\":", J(Cat("https://", a.domain, "/activities/", Uuid(rng))),
                 ",\"object\":", J(object), ",\"to\":", JsonArray(to), ",\"type\":\"Like\"}");
    }
  }
  return "";
}

std::string AnnounceJson(Rng& rng, absl::Time t) {
  if (rng.Chance(0.1)) {
    // A Lemmy community announcing a new post: Announce{Create{Page}}.
    std::string lemmy_domain = "lemmy.";
    for (char c : kNouns[rng.Below(kNouns.size())]) lemmy_domain.push_back(c == ' ' ? '-' : c);
    lemmy_domain += ".example";
    std::string community =
        Cat("https://", lemmy_domain, "/c/", kHashtags[rng.Below(kHashtags.size())]);
    Account author = RandomAccount(rng);
    std::string page = Cat("https://", author.domain, "/post/", rng.Below(10000000));
    std::string_view lang;
    std::vector<std::string> sentences = Sentences(rng, &lang);
    std::string html;
    for (const std::string& s : sentences) Append(&html, "<p>", HtmlEscape(s), "</p>\n");
    std::string published = absl::FormatTime("%Y-%m-%dT%H:%M:%E6S+00:00", t, absl::UTCTimeZone());
    std::string title = Capitalise(
        Cat(kAdjectives[rng.Below(kAdjectives.size())], " ", kNouns[rng.Below(kNouns.size())], " ",
            kFiller[rng.Below(kFiller.size())], " ", kNouns[rng.Below(kNouns.size())]));
    std::string create =
        Cat("{\"actor\":", J(author.id), ",\"to\":[", J(kAsPublic),
            "],\"object\":{\"type\":\"Page\",\"id\":", J(page), ",\"attributedTo\":", J(author.id),
            ",\"to\":[", J(community), ",", J(kAsPublic), "],\"name\":", J(title),
            ",\"cc\":[],\"content\":", J(html),
            ",\"mediaType\":\"text/html\",\"source\":{\"content\":", J(Join(sentences, "\n\n")),
            ",\"mediaType\":\"text/markdown\"},\"sensitive\":false,\"language\":{\"identifier\":",
            J(lang), ",\"name\":",
            J(lang == "de"   ? "Deutsch"
              : lang == "ja" ? "日本語"
                             : "English"),
            "},\"published\":", J(published), ",\"audience\":", J(community), "},\"cc\":[",
            J(community), "],\"type\":\"Create\",\"id\":",
            J(Cat("https://", author.domain, "/activities/create/", Uuid(rng))),
            ",\"audience\":", J(community), "}");
    return Cat("{\"actor\":", J(community), ",\"to\":[", J(kAsPublic), "],\"object\":", create,
               ",\"cc\":[", J(Cat(community, "/followers")), "],\"type\":\"Announce\",\"id\":",
               J(Cat("https://", lemmy_domain, "/activities/announce/", Uuid(rng))),
               ",\"@context\":[\"https://www.w3.org/ns/activitystreams\",\"https://w3id.org/"
               "security/v1\"]}");
  }
  Account a = RandomAccount(rng);
  Account author = RandomAccount(rng);
  const std::string object = StatusUrl(author, rng, t - absl::Minutes(rng.Between(1, 3000)));
  std::vector<std::string> to = {kAsPublic};
  std::vector<std::string> cc = {author.id, Cat(a.id, "/followers")};
  const std::string published = Timestamp(t, a.flavor);
  switch (a.flavor) {
    case Flavor::kMastodon:
      return Cat("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"id\":",
                 J(Cat(a.id, "/statuses/", Snowflake(rng, t), "/activity")),
                 ",\"type\":\"Announce\",\"actor\":", J(a.id), ",\"published\":", J(published),
                 ",\"to\":", JsonArray(to), ",\"cc\":", JsonArray(cc), ",\"object\":", J(object),
                 "}");
    case Flavor::kMisskey:
      return Cat("{\"@context\":", kMisskeyContext,
                 ",\"id\":", J(Cat("https://", a.domain, "/notes/", Base36(rng, 16), "/activity")),
                 ",\"actor\":", J(a.id), ",\"type\":\"Announce\",\"published\":", J(published),
                 ",\"object\":", J(object), ",\"to\":", JsonArray(to), ",\"cc\":", JsonArray(cc),
                 "}");
    case Flavor::kPleroma:
      return Cat("{\"@context\":", kPleromaContext, ",\"actor\":", J(a.id),
                 ",\"cc\":", JsonArray(cc),
                 ",\"context\":", J(Cat("https://", author.domain, "/contexts/", Uuid(rng))),
                 ",\"id\":", J(Cat("https://", a.domain, "/activities/", Uuid(rng))),
                 ",\"object\":", J(object), ",\"published\":", J(published),
                 ",\"to\":", JsonArray(to), ",\"type\":\"Announce\"}");
  }
  return "";
}

std::string FollowJson(Rng& rng) {
  Account a = RandomAccount(rng);
  Account b = RandomAccount(rng);
  switch (a.flavor) {
    case Flavor::kMastodon:
      return Cat("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"id\":",
                 J(Cat("https://", a.domain, "/", Uuid(rng))),
                 ",\"type\":\"Follow\",\"actor\":", J(a.id), ",\"object\":", J(b.id), "}");
    case Flavor::kMisskey:
      return Cat("{\"@context\":", kMisskeyContext, ",\"id\":",
                 J(Cat("https://", a.domain, "/follows/", Base36(rng, 10), "/", Base36(rng, 10))),
                 ",\"type\":\"Follow\",\"actor\":", J(a.id), ",\"object\":", J(b.id), "}");
    case Flavor::kPleroma:
      return Cat("{\"@context\":", kPleromaContext, ",\"actor\":", J(a.id),
                 ",\"cc\":[],\"id\":", J(Cat("https://", a.domain, "/activities/", Uuid(rng))),
                 ",\"object\":", J(b.id), ",\"state\":\"pending\",\"to\":[", J(b.id),
                 "],\"type\":\"Follow\"}");
  }
  return "";
}

}  // namespace

const char* KindName(ActivityKind kind) {
  switch (kind) {
    case ActivityKind::kCreate:
      return "Create";
    case ActivityKind::kLike:
      return "Like";
    case ActivityKind::kAnnounce:
      return "Announce";
    case ActivityKind::kFollow:
      return "Follow";
  }
  return "";
}

CorpusGenerator::CorpusGenerator(CorpusOptions options) : options_(std::move(options)) {
  options_.spam_share = std::clamp(options_.spam_share, 0.0, 1.0);
  if (!(options_.spam_share == options_.spam_share)) options_.spam_share = 0;  // NaN
}

GeneratedActivity CorpusGenerator::Generate(uint64_t index) const {
  Rng rng(Mix(Mix(options_.seed) ^ index));
  // About 2 s apart, with jitter (deterministic; never decreasing).
  const absl::Time t = options_.start + absl::Seconds(static_cast<int64_t>(index) * 2) +
                       absl::Milliseconds(static_cast<int64_t>(rng.Below(2000)));
  GeneratedActivity out;
  uint64_t r = options_.creates_only ? 0 : rng.Below(100);
  if (r < 45) {
    out.kind = ActivityKind::kCreate;
    Post post;
    if (rng.Chance(options_.spam_share)) {
      uint64_t s = rng.Below(100);
      out.spam = s < 40   ? SpamKind::kMentionSpam
                 : s < 75 ? SpamKind::kCryptoScam
                          : SpamKind::kLinkSpam;
      post = SpamPost(rng, t, out.spam);
    } else {
      post = OrdinaryPost(rng, t);
    }
    out.json = CreateJson(post, rng, ActivityIdFor(post, rng));
  } else if (r < 75) {
    out.kind = ActivityKind::kLike;
    out.json = LikeJson(rng, t);
  } else if (r < 90) {
    out.kind = ActivityKind::kAnnounce;
    out.json = AnnounceJson(rng, t);
  } else {
    out.kind = ActivityKind::kFollow;
    out.json = FollowJson(rng);
  }
  return out;
}

std::vector<std::string> CorpusGenerator::GenerateMany(uint64_t count) const {
  std::vector<std::string> out;
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) out.push_back(Generate(i).json);
  return out;
}

std::span<const std::string_view> CorpusGenerator::Vocabulary() {
  static const std::vector<std::string_view>* words = [] {
    auto* v = new std::vector<std::string_view>();
    v->insert(v->end(), kNouns.begin(), kNouns.end());
    v->insert(v->end(), kVerbs.begin(), kVerbs.end());
    v->insert(v->end(), kAdjectives.begin(), kAdjectives.end());
    return v;
  }();
  return *words;
}

}  // namespace fedwall::corpus
