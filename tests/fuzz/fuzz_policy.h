// The fixed policy that fuzz_activity and fuzz_grpc_request evaluate their inputs against:
// small, but touching every kind of field (text with literals and regexes, keyword and domain
// lists, numbers, durations, booleans, facts, a blocklist, an allowlist, thresholds, effects,
// monitor mode), compiled once per process from the in-memory files below.
//
// Thread safety: FuzzPolicy() builds the policy on first use (a function-local static) and
// returns the same immutable Policy afterwards.
//
// Example:
//   const fedwall::Policy& policy = fedwall::fuzzing::FuzzPolicy();
//   evaluator.Evaluate(policy, json, facts, fedwall::fuzzing::FuzzNow());
#ifndef FEDWALL_TESTS_FUZZ_FUZZ_POLICY_H_
#define FEDWALL_TESTS_FUZZ_FUZZ_POLICY_H_

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/lang/front_end.h"
#include "engine/policy/policy.h"

namespace fedwall::fuzzing {

inline constexpr char kFuzzRules[] = R"rules(
# The fuzz targets' policy (tests/fuzz/fuzz_policy.h).
threshold flag 5
threshold reject 10

blocklist "blocklists/tier0.csv"
blocklist "blocklists/silenced.txt" format plain severity silence
allowlist "blocklists/allow.txt" format plain

list spam_words = ["casino", "free crypto", "giveaway", "airdrop", "double your"]
list shorteners from "lists/shorteners.txt"

macro is_post = type in ["Create", "Update"]
  and object.type in ["Note", "Article", "Page", "Question", "Video"]
macro new_account = actor.age < 2d and actor.followers < 3

rule spam_wording "Spam wording" {
  when  is_post and text has_any spam_words
  then  flag
  tags  spam
}
rule casino_link "Casino with a link" {
  when  content has "casino" and links.count >= 1
  then  reject
}
rule wallet "A crypto wallet address" {
  when  text ~ /\b0x[0-9a-f]{40}\b/i or text ~ /\bsend\s+\d+\s*(?:btc|eth)\b.{0,40}\bget\b/i
  score 3
}
rule shortener "Shortened links" {
  when  links.domains in shorteners
  score 2.5
}
rule mass_mention "Mass mentions from a new account" {
  when  is_post and mentions.count >= 5 and new_account
  then  reject
  reason "Mass mentions from a brand-new account"
}
rule support_name "Impersonation of support" {
  when  actor.name ~ /\b(?:official|support)\b/i or actor.bio contains "staff"
  then  flag
  mode  monitor
}
rule random_user "Random user name" {
  when  actor.username ~ /^[a-z0-9]{10}$/
  score 1
}
rule cw_han "Sensitive without a content warning in Han" {
  when  sensitive and summary !~ /\p{Han}/
  score 0.5
}
rule nsfw_tags "NSFW hashtags" {
  when  hashtags in ["nsfw", "porn"] or emojis contains "nsfw"
  then  mark_sensitive
}
rule images_stranger "Images from an account without facts" {
  when  attachments.types startswith "image/" and not known(actor.followers)
  then  strip_media
}
rule ja_public "Public posts in Japanese" {
  when  language == "ja" and visibility == "public" and name startswith "PR"
  then  unlist, followers_only
}
rule many "Many emojis or recipients" {
  when  emojis.count > 3 or recipients.count > 50 or hashtags.count >= 10
  then  flag
}
rule quote_old "An old quote" {
  when  quote and not reply and object.age > 1h and object.age < 30d
  score 1
}
rule origin_mismatch "Delivered by another server" {
  when  known(origin.domain) and origin.domain != "relay.example" and not origin.signed
  score 4
}
rule silenced_bio "Crypto bio on a silenced server" {
  when  actor.bio has "crypto" and actor.domain.severity == "silence"
  then  reject
}
rule announced "Announced from a blocked server" {
  when  announcer.domain in ["spam.example", "bad.example"] or object.domain ~ /\.tk$/
  then  flag
}
rule bots "Bots posting links" {
  when  actor.bot and links.count > 2 and actor.posts < 10 and actor.following > 1000
  score 2
}
rule followed_here "Someone here follows the account" {
  when  actor.followed and origin.ip != "10.0.0.1"
  then  accept
}
rule wave "The same text from many accounts" {
  when  text.seen(1h) >= 3 or text.similar(10m) >= 3 or text.seen_domains(1d) >= 2
        or actor.rate(1s) > 5 or actor.domain.rate(1w) > 100
  then  flag
}
)rules";

// The data files the rules name, by path relative to the policy directory.
inline std::map<std::string, std::string> FuzzDataFiles() {
  return {
      {"blocklists/tier0.csv",
       "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
       "spam.example,suspend,false,false,Spam,false\n"
       "tk,suspend,false,false,,false\n"
       "friend.tk,noop,false,false,,false\n"
       "media.example,noop,true,false,,false\n"
       "reports.example,noop,false,true,,false\n"},
      {"blocklists/silenced.txt", "# silenced\nsilenced.example\n*.quiet.example\n"},
      {"blocklists/allow.txt", "allowed.example\n"},
      {"lists/shorteners.txt", "bit.ly\ntinyurl.com\nt.co\n"},
  };
}

// The policy, compiled on first use; aborts when it does not compile (a broken target).
inline const Policy& FuzzPolicy() {
  static const std::shared_ptr<const Policy> policy = [] {
    std::map<std::string, std::string> data = FuzzDataFiles();
    auto read = [&data](const std::string& path) -> absl::StatusOr<std::string> {
      auto it = data.find(path);
      if (it == data.end()) return absl::NotFoundError("no such file");
      return it->second;
    };
    lang::FrontEndResult front =
        lang::LoadPolicyFiles({lang::SourceFile{"main.rules", kFuzzRules}}, read, {});
    Compiler compiler;
    CompileResult r = compiler.CompileAst(std::move(front.ast), std::move(front.diagnostics));
    for (const Diagnostic& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    if (!r.policy) std::abort();
    return r.policy;
  }();
  return *policy;
}

// "Now" for decisions: fixed, so that a run is reproducible.
inline absl::Time FuzzNow() { return absl::FromUnixSeconds(1'708'000'000); }  // 2024-02-15

}  // namespace fedwall::fuzzing

#endif  // FEDWALL_TESTS_FUZZ_FUZZ_POLICY_H_
