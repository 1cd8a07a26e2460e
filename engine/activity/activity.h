// Activity: what the engine reads from one ActivityStreams document.
//
// An ActivityParser parses the JSON once (simdjson) and extracts every field of the rule
// language's vocabulary into an Activity, coping with the variety real servers send
// (Mastodon, Misskey and forks, Pleroma/Akkoma, GoToSocial, Lemmy, PeerTube, Friendica, ...):
//   - `object` as a URI, an embedded object, or an array (first element for object.*, every
//     element for the domain checks); `actor` as a URI or an embedded object;
//   - a bare object is read as Create by its `attributedTo`; a bare actor as Update of itself;
//   - `Announce` of an embedded activity (Lemmy's Announce{Create{Page}}) is read as the inner
//     activity, with the announcing actor as `announcer`;
//   - single values or arrays for to/cc/tag/attachment; contentMap without content; polls
//     (oneOf/anyOf); Misskey/Fedibird quotes; links that are really mentions or hashtags;
//   - visibility derived as Mastodon does.
// A duplicate key among the keys the engine reads makes the document malformed.
//
// How documents are read where the contract leaves room (docs/rules.md repeats these):
//   Classifying the root
//     - An activity is a document whose type is a known activity type (Create, Update,
//       Delete, Follow, Accept, Reject, Add, Remove, Like, Dislike, Announce, Undo, Block,
//       Flag, Move, EmojiReact, EmojiReaction, Invite, Join, Leave, Offer, Read, View, ...)
//       or any other non-actor, non-object type that has an `object`. Question is always an
//       object (a poll). Person, Service, Application, Group and Organization are actors;
//       anything else is an object. `type` may be a JSON-LD array: its first string counts.
//       A document without a string `type` is refused ("activity has no \"type\"").
//   Actor and author
//     - `actor` may be a URI, an embedded actor or an array of either (the first counts).
//     - A bare object's actor is its `attributedTo`: a URI, an object's `id`, or in an array
//       the first entry of type Person, else the first entry (PeerTube lists the channel
//       Group before the account Person); without attributedTo, the object's `actor`.
//     - An activity without `actor` takes its embedded object's attributedTo the same way.
//   Announce
//     - Announce of an embedded activity is unwrapped (repeatedly, for Announce{Announce{..}});
//       `announcer` is the outermost announcing actor; `id` is the inner activity's id (the
//       outer one when the inner has none); addressing is the inner activity's and object's.
//     - Announce of a URI or of an embedded non-activity object stays Announce; `actor` is
//       the booster, `announcer` stays empty, and an embedded object's content counts.
//   Where content comes from
//     - content/summary/name/tags/attachments/poll/sensitive/reply/quote/language come from
//       the embedded (first) object when it is not an actor; otherwise (Like, EmojiReact,
//       Flag, Follow, Update{Person}, ...) from the activity itself: a Flag's comment and a
//       reaction's emoji are its `content`, a custom emoji reaction's Emoji tag its `emojis`.
//     - Actors never supply content: their name, bio and username go to actor_name,
//       actor_bio and actor_username only (actor tags, attachments and profile fields are
//       not read).
//     - `content` else the first `contentMap` value; the same for `summary`/`summaryMap`
//       and `name`/`nameMap`. content, summary, name and the actor's bio are HTML (turned
//       into text); attachment descriptions, poll options and the actor's name are plain.
//     - `text` joins the non-empty parts in this order: content, summary, name, each
//       attachment's `name` (alt text, for every attachment type), each `oneOf` then
//       `anyOf` option's `name`; separated by kTextSeparator (below).
//   Lists
//     - hashtags: `name` of Hashtag tags, leading '#'s removed, NFKC case-folded, distinct.
//     - mentions: `href` of Mention tags; without an href, `name` with one leading '@'
//       added when missing ("@user@host"); distinct.
//     - emojis: Emoji tags' names without the surrounding colons, NFKC case-folded (like
//       hashtags, so values compare with folded literals as they are), distinct.
//     - links: absolute URLs (with a host) only, in this order: content, summary and name
//       (`<a href>` and bare URLs), bare URLs in attachment descriptions and poll options,
//       then `href` of attachments of type Link; distinct; minus any Mention/Hashtag tag
//       href. An <a> is a mention/hashtag link when its `class` has the token "mention" or
//       "hashtag" (class tokens are case-sensitive, as in HTML) or its `rel` has the token
//       "tag" (case-insensitive). Bare URLs: http:// or https:// not preceded by a letter or
//       digit and not inside an <a>; the host runs over letters, digits, "-._~:@[]%" and
//       non-ASCII (IDN); a path, query or fragment over printable ASCII except <>"'`{}|\^;
//       trailing .,;:!?*' are dropped, and a closing ) or ] that has no opening partner.
//       Character references in hrefs and bare URLs are decoded (&amp; -> &). PeerTube's
//       `url` array is not read.
//     - link_domains: normalised hosts of the links (text::DomainOfUrl), distinct.
//     - attachment_types: one entry per media attachment, the lower-cased `mediaType`, or
//       "" when absent (a bare URI attachment counts too); Link attachments are links and
//       PropertyValue entries profile fields, neither is media. attachments.count is the
//       number of entries.
//   Flags and dates
//     - sensitive: only JSON `true` (null, strings, ... are false).
//     - reply: `inReplyTo` present and not null, "" or []. quote: the same test on any of
//       quoteUrl, quoteUri, _misskey_quote, quote.
//     - published: RFC 3339 ("Z" or an offset; fractions to the nanosecond); a time without
//       an offset (Pleroma) is read as UTC; anything else leaves it unknown. Read from the
//       embedded object or bare document, never from an activity around a URI object.
//     - language: the first contentMap key, else `language` as a string or as PeerTube's and
//       Lemmy's {"identifier": "en", "name": "English"}; unknown otherwise.
//   Addressing
//     - visibility uses the object's to/cc when it has at least one of them, else the
//       activity's. Public is "https://www.w3.org/ns/activitystreams#Public", its http://
//       spelling, "as:Public" or "Public". Followers collections: the embedded actor's
//       `followers` and any IRI ending in "/followers". A bare actor or an activity without
//       addressing is "direct".
//     - recipients_count: distinct IRIs (strings, or objects' `id`) in to, cc, bto, bcc of
//       the activity and its embedded object, minus Public and followers collections.
//   Values of the wrong JSON type (a number where a string belongs, ...) are ignored as if
//   absent: only malformed JSON, a duplicate key the engine reads, or a limit is an error.
//   Duplicate keys are checked in every object read, for the keys read from it (e.g. in a
//   tag: type, name, href; in contentMap: the first language); other keys may repeat.
//
// Ownership: an Activity owns all its data (no views into the input buffer).
// Thread safety: an ActivityParser holds a reusable simdjson parser and is NOT thread-safe;
// use one per thread. Activity is a plain value.
//
// Example:
//   fedwall::ActivityParser parser;
//   absl::StatusOr<fedwall::Activity> a = parser.Parse(json_bytes);
//   if (!a.ok()) return a.status();          // InvalidArgument with a clear message
//   fedwall::MergeActorFacts(request.actor, &*a);   // request facts win
//   std::cout << a->type << " by " << a->actor_domain << ": " << a->content.unfolded;
#ifndef FEDWALL_ENGINE_ACTIVITY_ACTIVITY_H_
#define FEDWALL_ENGINE_ACTIVITY_ACTIVITY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/activity/facts.h"
#include "engine/text/normalize.h"

namespace fedwall {

// The separator between the parts of Activity::text: U+001E INFORMATION SEPARATOR TWO
// ("record separator"), one byte in UTF-8 (0x1E, never part of a multi-byte sequence). It
// never occurs inside a part: the parser turns every U+001E of the input into a space in all
// text fields (content, summary, name, alt texts, poll options, actor name and bio) before
// normalising, so a part boundary is exactly where this byte is, in both the unfolded and the
// folded text. It is not white space, not a letter or digit (so
// `has` sees a word boundary there) and no literal written in a rule can contain it once the
// compiler refuses it in patterns. Regexes are another matter: `.` and negated classes match
// any character, so whoever matches a regex against `text` must not accept a match that spans
// this byte (e.g. match each part alone, or reject spans containing it).
inline constexpr char kTextSeparator = '\x1e';
inline constexpr std::string_view kTextSeparatorString = "\x1e";

// Limits on untrusted input. Defaults are safe for a public inbox.
struct ActivityParseOptions {
  // Documents larger than this are refused (default 1 MiB, the per-activity API limit).
  size_t max_bytes = 1 << 20;
  // Deepest nesting of arrays/objects accepted (default 64; real activities use < 12).
  size_t max_depth = 64;
  // Elements read from any one array (tag, attachment, to, cc, oneOf, ...); the rest are
  // ignored (default 1000).
  size_t max_array_items = 1000;
};

struct Activity {
  std::string id;            // the activity's id ("" when absent)
  std::string type;          // effective activity type: Create for a bare object, ...
  std::string actor;         // actor id (URI string or embedded actor's id)
  std::string actor_domain;  // normalised host of `actor` ("" when none)

  std::string announcer;         // the announcing actor of Announce{Activity}, else ""
  std::string announcer_domain;  // its normalised host

  std::string object_id;                    // id of the (first) object, URI or embedded
  std::string object_type;                  // embedded object's type, "" for a bare URI
  std::string object_domain;                // host of object id, else of attributedTo
  std::vector<std::string> object_domains;  // distinct hosts of every object (Flag arrays)

  text::NormalizedText content;  // object content, else first contentMap value
  text::NormalizedText summary;  // content warning
  text::NormalizedText name;     // object name (titles of Article/Page/Event, ...)
  // content + summary + name + attachment descriptions + poll option names (the non-empty
  // ones, in that order), joined with kTextSeparator; folded_breaks are offsets in the join.
  text::NormalizedText text;

  std::vector<std::string> hashtags;          // lower-case (case-folded), without '#', distinct
  std::vector<std::string> mentions;          // Mention hrefs, or "@user@host", distinct
  std::vector<std::string> links;             // distinct real links (not mentions/hashtags)
  std::vector<std::string> link_domains;      // distinct normalised hosts of `links`
  std::vector<std::string> attachment_types;  // lower-case mediaType of each media attachment,
                                              // "" when not given (one entry per attachment)
  std::vector<std::string> emojis;            // custom emoji shortcodes, without colons,
                                              // case-folded, distinct

  std::optional<std::string> language;  // contentMap key or the object's language
  bool sensitive = false;
  bool reply = false;                 // has inReplyTo
  bool quote = false;                 // quoteUrl, quoteUri, _misskey_quote, quote
  std::string visibility = "direct";  // public | unlisted | followers | direct
  uint32_t recipients_count = 0;

  std::optional<absl::Time> published;  // object's published (for object.age)

  // From an embedded actor (or the object of Create/Update of an actor, or a bare actor):
  // known when that object has the key (`name`, `summary`, `preferredUsername`; null reads as
  // ""), unknown otherwise. MergeActorFacts lets request facts override name and bio.
  std::optional<text::NormalizedText> actor_name;
  std::optional<text::NormalizedText> actor_bio;
  std::optional<std::string> actor_username;  // preferredUsername
};

class ActivityParser {
 public:
  explicit ActivityParser(ActivityParseOptions options = {});
  ~ActivityParser();
  ActivityParser(const ActivityParser&) = delete;
  ActivityParser& operator=(const ActivityParser&) = delete;

  // Parses one document. InvalidArgument for malformed JSON, invalid UTF-8, a document that
  // is not an object or has no "type", a duplicate key among the keys read, or a document
  // past a limit (the message names the limit: max_bytes is checked before parsing,
  // max_depth by simdjson while parsing); ResourceExhausted if memory cannot be allocated.
  // Never crashes, whatever the bytes. Cost is linear in the size of the document.
  absl::StatusOr<Activity> Parse(std::string_view json);

  const ActivityParseOptions& options() const { return options_; }

 private:
  struct Impl;
  ActivityParseOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Request facts win over embedded values: sets activity->actor_name / actor_bio (normalised;
// the bio is HTML) from facts.display_name / facts.bio when given. Call once after Parse.
void MergeActorFacts(const ActorFacts& facts, Activity* activity);

}  // namespace fedwall

#endif  // FEDWALL_ENGINE_ACTIVITY_ACTIVITY_H_
