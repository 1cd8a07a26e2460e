// The field registry: one static table, in documentation order.
//
// Each extractor is a captureless lambda converted to a function pointer. Values follow the
// contract's three-valued logic (see field_registry.h): activity fields are always known
// except object.age and language; request facts are unknown unless supplied.
#include "engine/fields/field_registry.h"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/time/time.h"
#include "engine/blocklist/blocklist.h"
#include "engine/text/domain.h"

namespace fedwall {
namespace {

using In = const FieldInput&;

FieldValue Keyword(const std::string& s) { return s; }
FieldValue List(const std::vector<std::string>& v) { return v; }
FieldValue Count(const std::vector<std::string>& v) { return static_cast<double>(v.size()); }

template <typename T>
FieldValue Optional(const std::optional<T>& v) {
  if (!v.has_value()) return {};
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return static_cast<double>(*v);
  } else {
    return *v;
  }
}

FieldValue Text(const text::NormalizedText* t) {
  if (t == nullptr) return {};
  return t->unfolded;
}

// now - t, never negative.
absl::Duration Age(absl::Time now, absl::Time t) {
  absl::Duration d = now - t;
  return d < absl::ZeroDuration() ? absl::ZeroDuration() : d;
}

const text::NormalizedText* ContentText(In in) { return &in.activity.content; }
const text::NormalizedText* SummaryText(In in) { return &in.activity.summary; }
const text::NormalizedText* NameText(In in) { return &in.activity.name; }
const text::NormalizedText* AllText(In in) { return &in.activity.text; }
const text::NormalizedText* ActorNameText(In in) {
  return in.activity.actor_name ? &*in.activity.actor_name : nullptr;
}
const text::NormalizedText* ActorBioText(In in) {
  return in.activity.actor_bio ? &*in.activity.actor_bio : nullptr;
}

constexpr FieldType kText = FieldType::kText;
constexpr FieldType kKeyword = FieldType::kKeyword;
constexpr FieldType kDomain = FieldType::kDomain;
constexpr FieldType kNumber = FieldType::kNumber;
constexpr FieldType kDuration = FieldType::kDuration;
constexpr FieldType kBool = FieldType::kBool;
constexpr FieldType kKeywordList = FieldType::kKeywordList;
constexpr FieldType kDomainList = FieldType::kDomainList;

FieldValue Unknown(const FieldInput& /*in*/) { return {}; }

const FieldDef kFields[] = {
    // --- the activity
    {"type", kKeyword,
     "Activity type (Create, Announce, Follow, Like, Flag, ...); Create for a bare object",
     [](In in) { return Keyword(in.activity.type); }},
    {"object.type", kKeyword,
     "Type of the embedded object (Note, Article, Question, Page, Person, ...); \"\" for a URI",
     [](In in) { return Keyword(in.activity.object_type); }},
    {"actor", kKeyword, "Actor id: the URI of the account that sent the activity",
     [](In in) { return Keyword(in.activity.actor); }},
    {"actor.domain", kDomain, "Domain of the actor id",
     [](In in) { return Keyword(in.activity.actor_domain); }},
    {"object.domain", kDomain,
     "Domain of the object id (else of its attributedTo); the first object for Flag",
     [](In in) { return Keyword(in.activity.object_domain); }},
    {"announcer.domain", kDomain,
     "Domain of the group or relay that announced an embedded activity (Lemmy); \"\" otherwise",
     [](In in) { return Keyword(in.activity.announcer_domain); }},

    // --- the delivery (request facts)
    {"origin.domain", kDomain, "Domain of the server that delivered the activity (request fact)",
     [](In in) -> FieldValue {
       if (!in.facts.delivery.sender_domain) return {};
       absl::StatusOr<std::string> d = text::NormalizeDomain(*in.facts.delivery.sender_domain);
       if (!d.ok()) return {};
       return *std::move(d);
     }},
    {"origin.ip", kKeyword, "IP address the activity was delivered from (request fact)",
     [](In in) { return Optional(in.facts.delivery.remote_ip); }},
    {"origin.signed", kBool, "Whether the delivery's HTTP signature was verified (request fact)",
     [](In in) { return Optional(in.facts.delivery.signature_verified); }},

    // --- the content
    {"content", kText, "Post content (HTML as text), else the first contentMap value",
     [](In in) { return Text(ContentText(in)); }, ContentText},
    {"summary", kText, "Content warning (summary)", [](In in) { return Text(SummaryText(in)); },
     SummaryText},
    {"name", kText, "Object name: the title of an Article, Page, Event or Video",
     [](In in) { return Text(NameText(in)); }, NameText},
    {"text", kText,
     "Everything readable: content, summary, name, attachment descriptions and poll options",
     [](In in) { return Text(AllText(in)); }, AllText},
    {"hashtags", kKeywordList, "Distinct hashtags, case-folded, without '#'",
     [](In in) { return List(in.activity.hashtags); }},
    {"hashtags.count", kNumber, "Number of distinct hashtags",
     [](In in) { return Count(in.activity.hashtags); }},
    {"mentions", kKeywordList,
     "Distinct mentioned accounts: each Mention's href, or @user@host when it has none",
     [](In in) { return List(in.activity.mentions); }},
    {"mentions.count", kNumber, "Number of distinct mentioned accounts",
     [](In in) { return Count(in.activity.mentions); }},
    {"links", kKeywordList,
     "Distinct links in the post (not mentions or hashtags), bare URLs and Link attachments",
     [](In in) { return List(in.activity.links); }},
    {"links.count", kNumber, "Number of distinct links",
     [](In in) { return Count(in.activity.links); }},
    {"links.domains", kDomainList, "Distinct domains of the links",
     [](In in) { return List(in.activity.link_domains); }},
    {"attachments.types", kKeywordList,
     "Media type of each media attachment (image/png, video/mp4, ...; \"\" when not given)",
     [](In in) { return List(in.activity.attachment_types); }},
    {"attachments.count", kNumber, "Number of media attachments",
     [](In in) { return Count(in.activity.attachment_types); }},
    {"emojis", kKeywordList, "Distinct custom emoji shortcodes, case-folded, without colons",
     [](In in) { return List(in.activity.emojis); }},
    {"emojis.count", kNumber, "Number of distinct custom emojis",
     [](In in) { return Count(in.activity.emojis); }},
    {"language", kKeyword,
     "Language of the content: the contentMap key or the object's language (unknown if unsaid)",
     [](In in) { return Optional(in.activity.language); }},
    {"sensitive", kBool, "Marked sensitive by its author",
     [](In in) -> FieldValue { return in.activity.sensitive; }},
    {"reply", kBool, "A reply (has inReplyTo)",
     [](In in) -> FieldValue { return in.activity.reply; }},
    {"quote", kBool, "Quotes another post (quoteUrl, quoteUri, _misskey_quote or quote)",
     [](In in) -> FieldValue { return in.activity.quote; }},
    {"visibility", kKeyword,
     "public, unlisted, followers or direct, from the addressing, as Mastodon derives it",
     [](In in) { return Keyword(in.activity.visibility); }},
    {"recipients.count", kNumber,
     "Distinct addressees in to, cc, bto and bcc, not counting Public and followers collections",
     [](In in) -> FieldValue { return static_cast<double>(in.activity.recipients_count); }},
    {"object.age", kDuration, "Time since the object was published (unknown without published)",
     [](In in) -> FieldValue {
       if (!in.activity.published) return {};
       return Age(in.now, *in.activity.published);
     }},

    // --- the actor
    {"actor.name", kText, "Actor's display name (request fact, else the embedded actor)",
     [](In in) { return Text(ActorNameText(in)); }, ActorNameText},
    {"actor.bio", kText, "Actor's bio as text (request fact, else the embedded actor)",
     [](In in) { return Text(ActorBioText(in)); }, ActorBioText},
    {"actor.username", kKeyword, "Actor's preferredUsername (from an embedded actor)",
     [](In in) { return Optional(in.activity.actor_username); }},
    {"actor.age", kDuration, "Time since the actor's account was created (request fact)",
     [](In in) -> FieldValue {
       if (!in.facts.actor.created_at) return {};
       return Age(in.now, *in.facts.actor.created_at);
     }},
    {"actor.followers", kNumber, "Actor's follower count (request fact)",
     [](In in) { return Optional(in.facts.actor.followers_count); }},
    {"actor.following", kNumber, "Number of accounts the actor follows (request fact)",
     [](In in) { return Optional(in.facts.actor.following_count); }},
    {"actor.posts", kNumber, "Actor's post count (request fact)",
     [](In in) { return Optional(in.facts.actor.statuses_count); }},
    {"actor.bot", kBool, "Actor is a bot account (request fact)",
     [](In in) { return Optional(in.facts.actor.bot); }},
    {"actor.followed", kBool, "Some local user follows the actor (request fact)",
     [](In in) { return Optional(in.facts.actor.followed_by_local_users); }},
    {"actor.domain.severity", kKeyword,
     "Blocklist severity covering the actor domain: none, noop, silence or suspend",
     [](In in) -> FieldValue {
       if (in.domains == nullptr) return {};
       if (in.activity.actor_domain.empty()) return std::string("none");
       std::optional<blocklist::Match> m = in.domains->Lookup(in.activity.actor_domain);
       return std::string(blocklist::SeverityName(m ? m->severity : blocklist::Severity::kNone));
     }},

    // --- counters: memory across activities, over a window (`actor.rate(10m)`). Their values
    // come from a counter store before the rules run (engine/counters/counters.h); read from
    // an activity alone they are unknown.
    {"actor.rate", kNumber,
     "Activities from this actor in the window, this one included (counter)", Unknown, nullptr,
     true},
    {"actor.domain.rate", kNumber,
     "Activities from the actor's domain in the window, this one included (counter)", Unknown,
     nullptr, true},
    {"text.seen", kNumber,
     "Distinct actors that sent the same text (mentions, links, hashtags removed) in the "
     "window (counter)",
     Unknown, nullptr, true},
    {"text.seen_domains", kNumber,
     "Distinct actor domains that sent the same text in the window (counter)", Unknown, nullptr,
     true},
    {"text.similar", kNumber,
     "Distinct actors that sent the same or a near-duplicate text in the window (counter)",
     Unknown, nullptr, true},
};

}  // namespace

const char* FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kText:
      return "text";
    case FieldType::kKeyword:
      return "keyword";
    case FieldType::kDomain:
      return "domain";
    case FieldType::kNumber:
      return "number";
    case FieldType::kDuration:
      return "duration";
    case FieldType::kBool:
      return "bool";
    case FieldType::kKeywordList:
      return "keyword list";
    case FieldType::kDomainList:
      return "domain list";
  }
  return "unknown";
}

std::span<const FieldDef> AllFields() { return kFields; }

const FieldDef* FindField(std::string_view name) {
  for (const FieldDef& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool IsFieldRoot(std::string_view identifier) {
  if (identifier.empty()) return false;
  for (const FieldDef& f : kFields) {
    std::string_view root = f.name.substr(0, f.name.find('.'));
    if (root == identifier) return true;
  }
  return false;
}

absl::Time EffectiveNow(const RequestFacts& facts, absl::Time fallback) {
  return facts.delivery.received_at.value_or(fallback);
}

}  // namespace fedwall
