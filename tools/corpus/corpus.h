// A deterministic generator of realistic fediverse traffic, for benchmarks and backtests.
//
// The reference workload of docs/performance.md: a seeded mix of 45% Create (Notes written
// the way Mastodon, Misskey and Pleroma/Akkoma serialise them: text from one sentence to long
// posts, mentions, hashtags, links, media with and without alt text, content warnings, a few
// German and Japanese posts), 30% Like, 15% Announce (some of them Lemmy-style
// Announce{Create{Page}}) and 10% Follow. A share of the Creates is spam of three kinds seen
// in the wild: mention spam (the February 2024 wave: a fresh account, many mentions, an image
// and a link), crypto scams (airdrops, wallet "verification", send-one-get-two, wallet
// addresses) and link spam (several links, URL shorteners). Every domain is under the
// reserved `.example` TLD.
//
// Same options, same bytes: activity i is a pure function of (options, i), computed with the
// generator's own PRNG and formatting (no std:: distributions, no wall clock), so a corpus is
// reproducible on any platform, and any slice of it can be generated alone.
//
// Example:
//   fedwall::corpus::CorpusGenerator gen({.seed = 42});
//   for (uint64_t i = 0; i < 1000; ++i) std::cout << gen.Generate(i).json << "\n";
//
// Thread safety: a CorpusGenerator is immutable after construction; Generate is const and may
// be called from several threads.
#ifndef FEDWALL_TOOLS_CORPUS_CORPUS_H_
#define FEDWALL_TOOLS_CORPUS_CORPUS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace fedwall::corpus {

enum class ActivityKind { kCreate, kLike, kAnnounce, kFollow };

// "Create", "Like", "Announce", "Follow".
const char* KindName(ActivityKind kind);

enum class SpamKind { kNone, kMentionSpam, kCryptoScam, kLinkSpam };

struct CorpusOptions {
  uint64_t seed = 1;
  // Share of the Create activities that are spam, in [0, 1] (clamped).
  double spam_share = 0.05;
  // Only Create activities (the "Create alone" benchmark).
  bool creates_only = false;
  // `published` of activity 0; later ones follow about 2 s apart.
  absl::Time start = absl::FromUnixSeconds(1707955200);  // 2024-02-15T00:00:00Z
};

struct GeneratedActivity {
  ActivityKind kind = ActivityKind::kCreate;
  SpamKind spam = SpamKind::kNone;
  std::string json;  // one line, no trailing newline
};

class CorpusGenerator {
 public:
  explicit CorpusGenerator(CorpusOptions options = {});

  // The activity at `index`.
  GeneratedActivity Generate(uint64_t index) const;

  // Activities [0, count) as JSON strings.
  std::vector<std::string> GenerateMany(uint64_t count) const;

  const CorpusOptions& options() const { return options_; }

  // The everyday words post texts are made of (benchmarks draw a few keywords from it, so
  // that some rules fire, as in real traffic).
  static std::span<const std::string_view> Vocabulary();

 private:
  CorpusOptions options_;
};

}  // namespace fedwall::corpus

#endif  // FEDWALL_TOOLS_CORPUS_CORPUS_H_
