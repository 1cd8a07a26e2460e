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
// Ownership: an Activity owns all its data (no views into the input buffer).
// Thread safety: an ActivityParser holds a reusable simdjson parser and is NOT thread-safe;
// use one per thread. Activity is a plain value.
//
// Example:
//   fedwall::ActivityParser parser;
//   absl::StatusOr<fedwall::Activity> a = parser.Parse(json_bytes);
//   if (!a.ok()) return a.status();          // InvalidArgument with a clear message
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
  std::string id;           // the activity's id ("" when absent)
  std::string type;         // effective activity type: Create for a bare object, ...
  std::string actor;        // actor id (URI string or embedded actor's id)
  std::string actor_domain; // normalised host of `actor` ("" when none)

  std::string announcer;         // the announcing actor of Announce{Activity}, else ""
  std::string announcer_domain;  // its normalised host

  std::string object_id;        // id of the (first) object, URI or embedded
  std::string object_type;      // embedded object's type, "" for a bare URI
  std::string object_domain;    // host of object id, else of attributedTo
  std::vector<std::string> object_domains;  // distinct hosts of every object (Flag arrays)

  text::NormalizedText content;  // object content, else first contentMap value
  text::NormalizedText summary;  // content warning
  text::NormalizedText name;     // object name (titles of Article/Page/Event, ...)
  // content + summary + name + attachment descriptions + poll option names, joined with a
  // separator no pattern can match across.
  text::NormalizedText text;

  std::vector<std::string> hashtags;          // lower-case (case-folded), without '#', distinct
  std::vector<std::string> mentions;          // Mention hrefs, or "@user@host", distinct
  std::vector<std::string> links;             // distinct real links (not mentions/hashtags)
  std::vector<std::string> link_domains;      // distinct normalised hosts of `links`
  std::vector<std::string> attachment_types;  // mediaType of each attachment
  std::vector<std::string> emojis;            // custom emoji shortcodes, without colons

  std::optional<std::string> language;  // contentMap key or the object's language
  bool sensitive = false;
  bool reply = false;  // has inReplyTo
  bool quote = false;  // quoteUrl, quoteUri, _misskey_quote, quote
  std::string visibility = "direct";  // public | unlisted | followers | direct
  uint32_t recipients_count = 0;

  std::optional<absl::Time> published;  // object's published (for object.age)

  // From an embedded actor (or the object of Create/Update of an actor). Unknown when absent.
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
  // is not an object, a duplicate key among the keys read, or a document past a limit
  // (the message names the limit). Never crashes, whatever the bytes.
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
