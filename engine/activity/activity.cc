// ActivityParser: one simdjson DOM pass over an ActivityStreams document into an Activity.
//
// How a document is read (the decisions behind each step are in activity.h):
//   1. Size check, then simdjson parses and validates (UTF-8, depth) into a reused DOM.
//   2. The root is classified: an activity (a known activity type, or any unknown type with
//      an `object`), a bare actor (Person, Service, Application, Group, Organization) or a
//      bare object (anything else).
//   3. Every object the engine reads is scanned once, field by field: each key the engine
//      knows is recorded with its value, and a key seen twice is remembered. Reading an
//      object in a role (activity, object, actor, tag, attachment, ...) first checks that no
//      key of that role appears twice: that is the duplicate-key rule of the contract.
//   4. Content, summary and name are HTML: turned into text and scanned for links in one
//      pass over the markup (text::internal::HtmlToTextWithMarkup reports where each tag
//      is; HtmlLinkScanner reads the links from those reports, and hands the rare markup
//      the two readers could read differently to FindHtmlLinks), then normalised once.
//
// Everything is linear in the size of the document: arrays are read up to max_array_items,
// distinct lists use hash sets past a handful of entries, recipients are sorted once.
//
// Cost (see activity_bench.cc and docs/performance.md): the values read are views into the
// simdjson document until they are copied into the Activity; the buffers of a parse (HTML
// text, link lists, recipients, ...) live in the parser's Scratch and are reused, so a parse
// allocates little beyond the Activity's own strings.
#include "engine/activity/activity.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/text/domain.h"
#include "engine/text/normalize.h"
#include "engine/text/normalize_internal.h"
#include "simdjson.h"

namespace fedwall {
namespace {

namespace dom = simdjson::dom;

// ---------------------------------------------------------------------------------------
// The keys the engine reads, and which of them each role reads.

enum Key : int {
  kType,
  kId,
  kActor,
  kObject,
  kTo,
  kCc,
  kBto,
  kBcc,
  kAttributedTo,
  kContent,
  kContentMap,
  kSummary,
  kSummaryMap,
  kName,
  kNameMap,
  kTag,
  kAttachment,
  kOneOf,
  kAnyOf,
  kSensitive,
  kInReplyTo,
  kQuoteUrl,
  kQuoteUri,
  kMisskeyQuote,
  kQuote,
  kPublished,
  kLanguage,
  kPreferredUsername,
  kFollowers,
  kHref,
  kMediaType,
  kIdentifier,
  kNumKeys,
};

constexpr std::array<std::string_view, kNumKeys> kKeyNames = {
    "type",         "id",        "actor",      "object",
    "to",           "cc",        "bto",        "bcc",
    "attributedTo", "content",   "contentMap", "summary",
    "summaryMap",   "name",      "nameMap",    "tag",
    "attachment",   "oneOf",     "anyOf",      "sensitive",
    "inReplyTo",    "quoteUrl",  "quoteUri",   "_misskey_quote",
    "quote",        "published", "language",   "preferredUsername",
    "followers",    "href",      "mediaType",  "identifier",
};
static_assert(kNumKeys <= 64, "key masks are 64-bit");

constexpr uint64_t Bit(Key k) { return uint64_t{1} << k; }

constexpr uint64_t kAddressingKeys = Bit(kTo) | Bit(kCc) | Bit(kBto) | Bit(kBcc);
// An activity: its type, id, actor, object and addressing.
constexpr uint64_t kActivityKeys =
    Bit(kType) | Bit(kId) | Bit(kActor) | Bit(kObject) | kAddressingKeys;
// Everything read from the object that carries the content (a Note, a Page, ..., or the
// activity itself when its object is not embedded, as for Flag and EmojiReact).
constexpr uint64_t kContentKeys =
    Bit(kContent) | Bit(kContentMap) | Bit(kSummary) | Bit(kSummaryMap) | Bit(kName) |
    Bit(kNameMap) | Bit(kTag) | Bit(kAttachment) | Bit(kOneOf) | Bit(kAnyOf) | Bit(kSensitive) |
    Bit(kInReplyTo) | Bit(kQuoteUrl) | Bit(kQuoteUri) | Bit(kMisskeyQuote) | Bit(kQuote) |
    Bit(kPublished) | Bit(kLanguage);
constexpr uint64_t kObjectKeys =
    Bit(kType) | Bit(kId) | Bit(kAttributedTo) | kAddressingKeys | kContentKeys;
// An actor: embedded in `actor`, the object of Create/Update, or a bare actor.
constexpr uint64_t kActorKeys = Bit(kType) | Bit(kId) | Bit(kName) | Bit(kSummary) |
                                Bit(kPreferredUsername) | Bit(kFollowers) | Bit(kPublished) |
                                kAddressingKeys;
constexpr uint64_t kTagKeys = Bit(kType) | Bit(kName) | Bit(kHref);
constexpr uint64_t kAttachmentKeys = Bit(kType) | Bit(kName) | Bit(kMediaType) | Bit(kHref);
constexpr uint64_t kPollOptionKeys = Bit(kName);
// An object read only for its id (attributedTo entries, Flag's further objects, recipients).
constexpr uint64_t kReferenceKeys = Bit(kType) | Bit(kId);
constexpr uint64_t kLanguageObjectKeys = Bit(kIdentifier);

template <typename T>
T LoadBytes(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// a[0, n) == b[0, n) for n <= 24, with a few (overlapping) word loads instead of a call to
// memcmp, which costs more than the bytes of a short key.
inline bool SameShortBytes(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    if (LoadBytes<uint64_t>(a) != LoadBytes<uint64_t>(b)) return false;
    if (n > 16 && LoadBytes<uint64_t>(a + 8) != LoadBytes<uint64_t>(b + 8)) return false;
    return LoadBytes<uint64_t>(a + n - 8) == LoadBytes<uint64_t>(b + n - 8);
  }
  if (n >= 4) {
    return LoadBytes<uint32_t>(a) == LoadBytes<uint32_t>(b) &&
           LoadBytes<uint32_t>(a + n - 4) == LoadBytes<uint32_t>(b + n - 4);
  }
  if (n >= 2) {
    return LoadBytes<uint16_t>(a) == LoadBytes<uint16_t>(b) &&
           LoadBytes<uint16_t>(a + n - 2) == LoadBytes<uint16_t>(b + n - 2);
  }
  return n == 0 || a[0] == b[0];
}

// Key lookup: a hash of the length and the first and last bytes picks the only candidate,
// which one comparison confirms. The constants were chosen so that no two keys share a slot
// (checked at compile time); an unknown key (most keys of a real document) usually lands on
// an empty slot or fails at the length check.
constexpr size_t kMaxKeyLength = 17;  // "preferredUsername"
constexpr size_t kKeySlots = 128;

constexpr size_t KeySlot(size_t length, unsigned char first, unsigned char last) {
  return (length * 6 + first + last * size_t{58}) % kKeySlots;
}

struct KeyTable {
  std::array<int8_t, kKeySlots> slot{};
  bool collision_free = true;
};

constexpr KeyTable MakeKeyTable() {
  KeyTable t;
  for (int8_t& s : t.slot) s = -1;
  for (int k = 0; k < kNumKeys; ++k) {
    const std::string_view name = kKeyNames[k];
    int8_t& s = t.slot[KeySlot(name.size(), static_cast<unsigned char>(name.front()),
                               static_cast<unsigned char>(name.back()))];
    if (s != -1) t.collision_free = false;
    s = static_cast<int8_t>(k);
  }
  return t;
}
constexpr KeyTable kKeyTable = MakeKeyTable();
static_assert(kKeyTable.collision_free, "pick other KeySlot constants");

int KeyIndex(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength) return -1;
  const int k = kKeyTable.slot[KeySlot(key.size(), static_cast<unsigned char>(key.front()),
                                       static_cast<unsigned char>(key.back()))];
  if (k < 0) return -1;
  const std::string_view name = kKeyNames[k];
  if (name.size() != key.size() || !SameShortBytes(name.data(), key.data(), key.size())) {
    return -1;
  }
  return k;
}

// The known keys of one JSON object, each with its (first) value.
// The values are kept as raw bytes, so that a Fields costs nothing to create (dom::element
// zero-initialises itself, and 32 of them for every tag and attachment add up); only the
// slots of `present` keys are ever read.
static_assert(std::is_trivially_copyable_v<dom::element>);
struct Fields {
  struct Slot {
    alignas(dom::element) unsigned char bytes[sizeof(dom::element)];
  };
  std::array<Slot, kNumKeys> value;
  uint64_t present = 0;
  uint64_t duplicated = 0;

  bool Has(Key k) const { return (present & Bit(k)) != 0; }
  // Present and not null.
  bool HasValue(Key k) const { return Has(k) && !(*this)[k].is_null(); }
  // Only for a present key.
  dom::element operator[](Key k) const { return std::bit_cast<dom::element>(value[k]); }
  void Set(int k, dom::element e) { value[k] = std::bit_cast<Slot>(e); }
};

void Scan(dom::object object, Fields* f) {
  for (dom::key_value_pair field : object) {
    int k = KeyIndex(field.key);
    if (k < 0) continue;
    uint64_t bit = uint64_t{1} << k;
    if (f->present & bit) {
      f->duplicated |= bit;
    } else {
      f->present |= bit;
      f->Set(k, field.value);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Small helpers over DOM values.

std::string_view StringOf(dom::element e) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) return {};
  return s;
}

std::string_view StringField(const Fields& f, Key k) {
  return f.Has(k) ? StringOf(f[k]) : std::string_view();
}

// `type` is a string, or (JSON-LD) an array whose first string counts.
std::string_view TypeOf(const Fields& f, size_t max_items) {
  if (!f.Has(kType)) return {};
  dom::element t = f[kType];
  if (t.is_string()) return StringOf(t);
  dom::array a;
  if (t.get_array().get(a) != simdjson::SUCCESS) return {};
  size_t n = 0;
  for (dom::element item : a) {
    if (n++ >= max_items) break;
    if (item.is_string()) return StringOf(item);
  }
  return {};
}

// Calls fn(item) for a single value or for each element of an array (up to max_items);
// nulls are skipped.
template <typename Fn>
void ForEachItem(dom::element e, size_t max_items, Fn fn) {
  if (e.is_null()) return;
  dom::array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) {
    fn(e);
    return;
  }
  size_t n = 0;
  for (dom::element item : a) {
    if (n++ >= max_items) break;
    if (!item.is_null()) fn(item);
  }
}

// The first non-null item of a single value or an array.
bool FirstItem(dom::element e, dom::element* first) {
  if (e.is_null()) return false;
  dom::array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) {
    *first = e;
    return true;
  }
  for (dom::element item : a) {
    if (!item.is_null()) {
      *first = item;
      return true;
    }
  }
  return false;
}

bool NonEmptyValue(dom::element e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      return false;
    case dom::element_type::STRING:
      return !StringOf(e).empty();
    case dom::element_type::ARRAY: {
      dom::array a;
      return e.get_array().get(a) == simdjson::SUCCESS && a.begin() != a.end();
    }
    case dom::element_type::BOOL: {
      bool b = false;
      return e.get_bool().get(b) == simdjson::SUCCESS && b;
    }
    default:
      return true;
  }
}

bool IsActorType(std::string_view t) {
  return t == "Person" || t == "Service" || t == "Application" || t == "Group" ||
         t == "Organization";
}

// Activity types of ActivityStreams 2.0 and the extensions servers send. Question is left
// out on purpose: in practice it is a poll (an object), never an intransitive activity.
bool IsKnownActivityType(std::string_view t) {
  static constexpr std::string_view kTypes[] = {
      "Accept",
      "Add",
      "Announce",
      "Arrive",
      "Block",
      "Create",
      "Delete",
      "Dislike",
      "EmojiReact",
      "EmojiReaction",
      "Flag",
      "Follow",
      "Ignore",
      "Invite",
      "Join",
      "Leave",
      "Like",
      "Listen",
      "Move",
      "Offer",
      "Read",
      "Reject",
      "Remove",
      "TentativeAccept",
      "TentativeReject",
      "Travel",
      "Undo",
      "Update",
      "View",
  };
  for (std::string_view k : kTypes) {
    if (t == k) return true;
  }
  return false;
}

// An activity: a known activity type, or an unknown non-actor type that has an `object`.
bool LooksLikeActivity(std::string_view type, const Fields& f) {
  if (IsKnownActivityType(type)) return true;
  if (IsActorType(type)) return false;
  static constexpr std::string_view kObjectTypes[] = {
      "Note",  "Article",  "Page",      "Question", "Image",       "Video",   "Audio",
      "Event", "Document", "Tombstone", "Place",    "ChatMessage", "Profile",
  };
  for (std::string_view k : kObjectTypes) {
    if (type == k) return false;
  }
  return f.Has(kObject);
}

bool IsPublicIri(std::string_view s) {
  return s == "https://www.w3.org/ns/activitystreams#Public" || s == "as:Public" || s == "Public" ||
         s == "http://www.w3.org/ns/activitystreams#Public";
}

// Classes of bytes for the markup readers below, one table lookup per byte.
enum : uint8_t {
  kClassSpace = 1,  // ' ' and '\t' to '\r' (IsAsciiSpace)
  kClassSlash = 2,  // '/'
  kClassGt = 4,     // '>'
  kClassEq = 8,     // '='
};
constexpr std::array<uint8_t, 256> MakeByteClasses() {
  std::array<uint8_t, 256> t{};
  for (unsigned char c : {' ', '\t', '\n', '\v', '\f', '\r'}) t[c] = kClassSpace;
  t['/'] = kClassSlash;
  t['>'] = kClassGt;
  t['='] = kClassEq;
  return t;
}
constexpr std::array<uint8_t, 256> kByteClasses = MakeByteClasses();

inline bool IsClass(char c, uint8_t classes) {
  return (kByteClasses[static_cast<unsigned char>(c)] & classes) != 0;
}

inline bool IsAsciiSpace(char c) { return IsClass(c, kClassSpace); }

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// ASCII case-insensitive equality with `letters`, which must be lower-case ASCII letters
// (then a byte matches exactly when it is that letter in either case, which is what setting
// bit 5 tests).
inline bool EqualsIgnoreCase(std::string_view a, std::string_view letters) {
  if (a.size() != letters.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != letters[i]) return false;
  }
  return true;
}

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

// True when the space-separated token list `list` contains `token`.
bool HasToken(std::string_view list, std::string_view token, bool ignore_case) {
  const char* p = list.data();
  const size_t n = list.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && IsAsciiSpace(p[i])) ++i;
    const size_t start = i;
    while (i < n && !IsAsciiSpace(p[i])) ++i;
    if (i - start != token.size()) continue;
    const std::string_view t(p + start, i - start);
    if (ignore_case ? EqualsIgnoreCase(t, token) : t == token) return true;
  }
  return false;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes the character references that appear in URLs inside HTML (&amp; &lt; &gt; &quot;
// &apos; and numeric ones) into *out (contents replaced); any other '&' is kept as written.
void DecodeUrlEntities(std::string_view s, std::string* out) {
  out->clear();
  size_t i = 0;
  while (i < s.size()) {
    const size_t amp = s.find('&', i);
    if (amp == std::string_view::npos) {
      out->append(s.data() + i, s.size() - i);
      return;
    }
    out->append(s.data() + i, amp - i);
    i = amp;
    // Only a short window is searched for the ';', so a run of '&' stays linear.
    size_t semi = s.substr(0, std::min(s.size(), i + 12)).find(';', i + 1);
    if (semi == std::string_view::npos) {
      out->push_back(s[i++]);
      continue;
    }
    std::string_view ref = s.substr(i + 1, semi - i - 1);
    bool decoded = true;
    if (ref == "amp") {
      out->push_back('&');
    } else if (ref == "lt") {
      out->push_back('<');
    } else if (ref == "gt") {
      out->push_back('>');
    } else if (ref == "quot") {
      out->push_back('"');
    } else if (ref == "apos") {
      out->push_back('\'');
    } else if (ref.size() >= 2 && ref[0] == '#') {
      bool hex = ref[1] == 'x' || ref[1] == 'X';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      bool ok = !digits.empty();
      for (char c : digits) {
        uint32_t d;
        if (c >= '0' && c <= '9') {
          d = static_cast<uint32_t>(c - '0');
        } else if (hex && AsciiLower(c) >= 'a' && AsciiLower(c) <= 'f') {
          d = static_cast<uint32_t>(AsciiLower(c) - 'a' + 10);
        } else {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10FFFF) cp = 0x110000;  // saturate; mapped to U+FFFD
      }
      if (ok) {
        AppendUtf8(cp, out);
      } else {
        decoded = false;
      }
    } else {
      decoded = false;
    }
    if (decoded) {
      i = semi + 1;
    } else {
      out->push_back(s[i++]);
    }
  }
}

// A set of strings (views): a short list searched linearly, a hash set past kLinearLimit
// entries (so n operations stay O(n)). Tags and links are few; hashing each one costs more
// than comparing it with a handful of others, whose lengths mostly differ anyway.
class SmallViewSet {
 public:
  void Insert(std::string_view v) {
    if (big_.empty() && small_.size() < kLinearLimit) {
      if (!ContainsSmall(v)) small_.push_back(v);
      return;
    }
    if (big_.empty()) big_.insert(small_.begin(), small_.end());
    big_.insert(v);
  }
  bool Contains(std::string_view v) const {
    return big_.empty() ? ContainsSmall(v) : big_.contains(v);
  }
  void Clear() {
    small_.clear();
    big_.clear();
  }
  // Memory kept for reuse, in entries.
  size_t Capacity() const { return small_.capacity() + big_.capacity(); }
  void Release() {
    std::vector<std::string_view>().swap(small_);
    big_ = {};
  }

 private:
  bool ContainsSmall(std::string_view v) const {
    for (std::string_view s : small_) {
      if (s == v) return true;
    }
    return false;
  }

  static constexpr size_t kLinearLimit = 16;
  std::vector<std::string_view> small_;
  absl::flat_hash_set<std::string_view> big_;
};

// A list of distinct strings in first-seen order; a hash set takes over past a few entries,
// so adding n values costs O(n).
class DistinctList {
 public:
  explicit DistinctList(std::vector<std::string>* out) : out_(out) {}

  bool Add(std::string_view v) {
    if (Seen(v)) return false;
    Reserve();
    out_->emplace_back(v);
    return true;
  }
  bool Add(std::string&& v) {
    if (Seen(v)) return false;
    Reserve();
    out_->push_back(std::move(v));
    return true;
  }

 private:
  // Whether v is already in the list; if not, it is about to be added.
  bool Seen(std::string_view v) {
    if (out_->size() < kLinearLimit) {
      for (const std::string& s : *out_) {
        if (s == v) return true;
      }
      return false;
    }
    if (seen_.empty()) seen_.insert(out_->begin(), out_->end());
    return !seen_.insert(std::string(v)).second;
  }

  // Room for a few values at once: lists are short, and growing 1, 2, 4 costs allocations.
  void Reserve() {
    if (out_->capacity() == 0) out_->reserve(4);
  }

  static constexpr size_t kLinearLimit = 8;
  std::vector<std::string>* out_;
  absl::flat_hash_set<std::string> seen_;
};

// text::CaseFold, with a fast path for ASCII (where NFKC case folding is lower-casing).
std::string FoldKeyword(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return text::CaseFold(s);
  }
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

// Turns every U+001E (the text separator) into a space.
void RemoveSeparators(std::string* s) {
  char* p = s->data();
  char* end = p + s->size();
  while ((p = static_cast<char*>(std::memchr(p, kTextSeparator, end - p))) != nullptr) *p++ = ' ';
}

// NormalizePlain into *out, reusing its buffers.
void NormalizePlainInto(std::string_view plain, text::NormalizedText* out) {
  if (plain.find(kTextSeparator) == std::string_view::npos) {
    text::internal::NormalizeInto(plain, out);
    return;
  }
  std::string copy(plain);
  RemoveSeparators(&copy);
  text::internal::NormalizeInto(copy, out);
}

text::NormalizedText NormalizePlain(std::string_view plain) {
  if (plain.empty()) return {};
  if (plain.find(kTextSeparator) == std::string_view::npos) return text::Normalize(plain);
  std::string copy(plain);
  RemoveSeparators(&copy);
  return text::Normalize(copy);
}

text::NormalizedText NormalizeHtml(std::string_view html) {
  if (html.empty()) return {};
  std::string plain = text::HtmlToText(html);
  RemoveSeparators(&plain);
  text::NormalizedText t = text::Normalize(plain);
  // Normalisation never produces U+001E from other characters, but the guarantee that the
  // separator only ever separates is cheap to keep.
  RemoveSeparators(&t.unfolded);
  RemoveSeparators(&t.folded);
  return t;
}

// Appends a part to Activity::text: the non-empty parts joined with kTextSeparator, in both
// forms. `first` is true until a part was appended.
void AppendPart(const text::NormalizedText& part, bool* first, text::NormalizedText* out) {
  if (part.unfolded.empty() && part.folded.empty()) return;
  if (!*first) {
    out->unfolded.push_back(kTextSeparator);
    out->folded.push_back(kTextSeparator);
  }
  *first = false;
  const uint32_t base = static_cast<uint32_t>(out->folded.size());
  out->unfolded += part.unfolded;
  out->folded += part.folded;
  for (uint32_t b : part.folded_breaks) out->folded_breaks.push_back(base + b);
}

// A read position in a short string, for the date parser below.
struct Cursor {
  std::string_view s;
  size_t i = 0;

  bool AtEnd() const { return i >= s.size(); }
  char Peek() const { return AtEnd() ? '\0' : s[i]; }
  bool Take(char c) {
    if (Peek() != c) return false;
    ++i;
    return true;
  }
  // Exactly n ASCII digits.
  bool Number(size_t n, int* out) {
    if (i + n > s.size()) return false;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    *out = v;
    return true;
  }
};

constexpr bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr int DaysInMonth(int64_t y, int m) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Days from 1970-01-01 to the date y-m-d of the proleptic Gregorian calendar (m in 1..12,
// d in 1..31), in closed form (the usual era arithmetic), without absl's time-zone machinery.
constexpr int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;                                   // [0, 399]
  const int64_t day_of_year = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // [0, 146096]
  return era * 146097 + day_of_era - 719468;
}
static_assert(DaysFromCivil(1970, 1, 1) == 0 && DaysFromCivil(2000, 3, 1) == 11017 &&
              DaysFromCivil(2024, 2, 29) == 19782 && DaysFromCivil(0, 1, 1) == -719528);

// The common shapes, "2024-02-15T09:30:00Z", "...00.123456Z", "...00+01:00", and no offset
// (read as UTC), without absl::ParseTime's generality and cost. nullopt: not one of these.
std::optional<absl::Time> ParseRfc3339Fast(std::string_view s) {
  Cursor c{s};
  int y, mo, d, h, mi, sec;
  if (!c.Number(4, &y) || !c.Take('-') || !c.Number(2, &mo) || !c.Take('-') || !c.Number(2, &d) ||
      !(c.Take('T') || c.Take('t')) || !c.Number(2, &h) || !c.Take(':') || !c.Number(2, &mi) ||
      !c.Take(':') || !c.Number(2, &sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  absl::Duration fraction = absl::ZeroDuration();
  if (c.Take('.')) {
    int64_t nanos = 0;
    size_t digits = 0;
    while (c.Peek() >= '0' && c.Peek() <= '9') {
      if (digits < 9) nanos = nanos * 10 + (c.Peek() - '0');
      ++digits;
      ++c.i;
    }
    if (digits == 0) return std::nullopt;
    for (size_t k = digits; k < 9; ++k) nanos *= 10;
    fraction = absl::Nanoseconds(nanos);
  }
  int offset_minutes = 0;
  if (c.Take('Z') || c.Take('z')) {
    // UTC
  } else if (c.Peek() == '+' || c.Peek() == '-') {
    int sign = c.Take('-') ? -1 : (c.Take('+'), 1);
    int oh, om;
    if (!c.Number(2, &oh) || !c.Take(':') || !c.Number(2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = sign * (oh * 60 + om);
  }
  if (!c.AtEnd()) return std::nullopt;
  // An impossible day (Feb 30) is not a date, nor is a leap second that would carry into the
  // next day (23:59:60); another :60 is the next minute's :00 (absl::CivilSecond's reading).
  if (d > DaysInMonth(y, mo) || (h == 23 && mi == 59 && sec == 60)) return std::nullopt;
  const int64_t seconds = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
  return absl::FromUnixSeconds(seconds) + fraction - absl::Minutes(offset_minutes);
}

// absl's RFC3339_full needs an offset; servers (Pleroma) sometimes send none: read as UTC.
std::optional<absl::Time> ParsePublished(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  if (std::optional<absl::Time> t = ParseRfc3339Fast(s)) return t;
  absl::string_view input(s.data(), s.size());  // Debian's abseil: not std::string_view
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, input, &t, &err)) return t;
  if (absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S", input, absl::UTCTimeZone(), &t, &err)) return t;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Links: <a href> in HTML and bare http(s) URLs in text.

// Characters a bare URL's host may contain: ASCII letters, digits and "-._~:@[]%", and
// non-ASCII (IDN hosts) except the white space and punctuation that end a URL in running
// text (U+00A0, U+2000-U+206F, U+3000-U+303F).
size_t HostCharLength(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    if (IsAsciiAlnum(static_cast<char>(c))) return 1;
    return std::strchr("-._~:@[]%", c) != nullptr && c != 0 ? 1 : 0;
  }
  if (i + 1 < s.size()) {
    unsigned char d = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xC2 && d == 0xA0) return 0;
    if (c == 0xE2 && (d == 0x80 || d == 0x81)) return 0;
    if (c == 0xE3 && d == 0x80) return 0;
  }
  return 1;
}

// Characters a bare URL's path, query or fragment may contain: printable ASCII except
// white space and <>"'`{}|\^.
bool IsPathChar(char c) {
  if (c <= 0x20 || c >= 0x7F) return false;
  return std::strchr("<>\"'`{}|\\^", c) == nullptr;
}

// Calls add(url) for every bare http(s) URL in `s`, as written (in HTML, the caller decodes
// its character references). Jumps from one "://" to the next, so text without URLs costs
// one memchr-speed search.
template <typename Add>
void FindBareUrls(std::string_view s, Add add) {
  size_t n = s.size();
  size_t from = 0;
  while (from < n) {
    size_t colon = s.find("://", from);
    if (colon == std::string_view::npos) return;
    from = colon + 3;
    size_t start;
    if (colon >= 5 && EqualsIgnoreCase(s.substr(colon - 5, 5), "https")) {
      start = colon - 5;
    } else if (colon >= 4 && EqualsIgnoreCase(s.substr(colon - 4, 4), "http")) {
      start = colon - 4;
    } else {
      continue;
    }
    if (start > 0 && IsAsciiAlnum(s[start - 1])) continue;  // "xhttp://" is not a URL
    size_t p = colon + 3;
    size_t j = p;
    while (j < n) {
      size_t len = HostCharLength(s, j);
      if (len == 0) break;
      j += len;
    }
    if (j == p) continue;
    if (j < n && (s[j] == '/' || s[j] == '?' || s[j] == '#')) {
      while (j < n && IsPathChar(s[j])) ++j;
    }
    // Trailing punctuation belongs to the sentence, and a closing bracket too when the URL
    // has fewer opening ones. Brackets are counted once, so this stays linear.
    std::string_view candidate = s.substr(start, j - start);
    ptrdiff_t parens = std::count(candidate.begin(), candidate.end(), '(') -
                       std::count(candidate.begin(), candidate.end(), ')');
    ptrdiff_t squares = std::count(candidate.begin(), candidate.end(), '[') -
                        std::count(candidate.begin(), candidate.end(), ']');
    while (j > p) {
      char c = s[j - 1];
      if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == '*' ||
          c == '\'') {
        --j;
      } else if (c == ')' && parens < 0) {
        ++parens;
        --j;
      } else if (c == ']' && squares < 0) {
        ++squares;
        --j;
      } else {
        break;
      }
    }
    if (j > p) add(s.substr(start, j - start));
    from = std::max(j, from);
  }
}

// The attributes of one start tag that matter for links.
struct AnchorAttributes {
  std::string_view href, cls, rel;
  bool has_href = false;
};

enum class TagKind { kNotATag, kStartA, kEndA, kOther };

// Reads the markup starting at s[lt] == '<'. Returns its kind and sets *end past it.
TagKind ReadTag(std::string_view s, size_t lt, size_t* end, AnchorAttributes* attrs) {
  size_t n = s.size();
  size_t i = lt + 1;
  if (i >= n) return TagKind::kNotATag;
  if (s[i] == '!' || s[i] == '?') {
    if (s.substr(i).starts_with("!--")) {
      size_t close = s.find("-->", i + 3);
      *end = close == std::string_view::npos ? n : close + 3;
    } else {
      size_t close = s.find('>', i);
      *end = close == std::string_view::npos ? n : close + 1;
    }
    return TagKind::kOther;
  }
  bool closing = false;
  if (s[i] == '/') {
    closing = true;
    ++i;
  }
  if (i >= n || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) {
    return TagKind::kNotATag;
  }
  size_t name_start = i;
  while (i < n && !IsAsciiSpace(s[i]) && s[i] != '>' && s[i] != '/') ++i;
  bool is_a = i - name_start == 1 && (s[name_start] == 'a' || s[name_start] == 'A');
  if (!is_a) {
    // Any other tag: only its end matters. Without a quote before the next '>', that is it.
    size_t gt = s.find('>', i);
    if (gt == std::string_view::npos) gt = n;
    std::string_view rest = s.substr(i, gt - i);
    if (rest.find('"') == std::string_view::npos && rest.find('\'') == std::string_view::npos) {
      *end = gt < n ? gt + 1 : n;
      return TagKind::kOther;
    }
    // A quote opens a value only right after '='; a '>' inside a value does not end the tag.
    char prev = 0;
    while (i < n) {
      char c = s[i];
      if (c == '>') {
        *end = i + 1;
        return TagKind::kOther;
      }
      if ((c == '"' || c == '\'') && prev == '=') {
        size_t close = s.find(c, i + 1);
        if (close == std::string_view::npos) break;
        i = close + 1;
        prev = 0;
        continue;
      }
      if (!IsAsciiSpace(c)) prev = c;
      ++i;
    }
    *end = n;
    return TagKind::kOther;
  }
  if (closing) {
    size_t close = s.find('>', i);
    *end = close == std::string_view::npos ? n : close + 1;
    return is_a ? TagKind::kEndA : TagKind::kOther;
  }
  // Attributes: name, optionally = and a quoted or unquoted value.
  const char* p = s.data();
  while (i < n) {
    while (i < n && IsClass(p[i], kClassSpace | kClassSlash)) ++i;
    if (i >= n) break;
    if (p[i] == '>') {
      ++i;
      break;
    }
    size_t an = i;
    while (i < n && !IsClass(p[i], kClassSpace | kClassEq | kClassGt | kClassSlash)) ++i;
    if (i == an) ++i;  // a stray '=': skip it
    const std::string_view attr_name(p + an, i - an);
    while (i < n && IsAsciiSpace(p[i])) ++i;
    if (i >= n || p[i] != '=') continue;  // no value: nothing to record
    ++i;
    while (i < n && IsAsciiSpace(p[i])) ++i;
    std::string_view value;
    if (i < n && (p[i] == '"' || p[i] == '\'')) {
      const char q = p[i++];
      const void* close = i < n ? std::memchr(p + i, q, n - i) : nullptr;
      const size_t end_of_value =
          close == nullptr ? n : static_cast<size_t>(static_cast<const char*>(close) - p);
      value = std::string_view(p + i, end_of_value - i);
      i = end_of_value < n ? end_of_value + 1 : n;
    } else {
      const size_t vs = i;
      while (i < n && !IsClass(p[i], kClassSpace | kClassGt)) ++i;
      value = std::string_view(p + vs, i - vs);
    }
    // The first href counts; class and rel: the last.
    switch (attr_name.size()) {
      case 3:
        if (EqualsIgnoreCase(attr_name, "rel")) attrs->rel = value;
        break;
      case 4:
        if (!attrs->has_href && EqualsIgnoreCase(attr_name, "href")) {
          attrs->href = value;
          attrs->has_href = true;
        }
        break;
      case 5:
        if (EqualsIgnoreCase(attr_name, "class")) attrs->cls = value;
        break;
      default:
        break;
    }
  }
  *end = i;
  return is_a ? TagKind::kStartA : TagKind::kOther;
}

// Whether an <a> with these attributes is a real link (not a mention or hashtag link).
bool IsRealLink(const AnchorAttributes& attrs) {
  return attrs.has_href && !HasToken(attrs.cls, "mention", false) &&
         !HasToken(attrs.cls, "hashtag", false) && !HasToken(attrs.rel, "tag", true);
}

// Calls add(url) for each link of an HTML fragment, as written (character references not
// yet decoded; never empty): every <a href> not marked as a mention or hashtag, and every
// bare URL outside <a> elements. One linear pass. This is the reference reading of links:
// HtmlLinkScanner below gets the same results during the HTML-to-text pass and falls back
// to this function for markup where the two tokenizers could disagree.
template <typename Add>
void FindHtmlLinks(std::string_view html, Add add) {
  size_t n = html.size();
  size_t text_start = 0;
  size_t i = 0;
  bool in_anchor = false;
  while (i < n) {
    size_t lt = html.find('<', i);
    if (lt == std::string_view::npos) break;
    size_t end = lt + 1;
    AnchorAttributes attrs;
    TagKind kind = ReadTag(html, lt, &end, &attrs);
    if (kind == TagKind::kNotATag) {
      i = lt + 1;
      continue;
    }
    if (!in_anchor && lt > text_start) {
      FindBareUrls(html.substr(text_start, lt - text_start), add);
    }
    if (kind == TagKind::kStartA) {
      in_anchor = true;
      if (IsRealLink(attrs)) {
        std::string_view href = TrimAscii(attrs.href);
        if (!href.empty()) add(href);
      }
    } else if (kind == TagKind::kEndA) {
      in_anchor = false;
    }
    i = text_start = end;
  }
  if (!in_anchor && text_start < n) FindBareUrls(html.substr(text_start), add);
}

// Finds the links of one HTML field during the HTML-to-text pass
// (text::internal::HtmlToTextWithMarkup reports each tag), with exactly the results of
// FindHtmlLinks, so the markup is read once. The text tokenizer and FindHtmlLinks's agree on
// ordinary markup: same tags, same tag ends, same text between them. Where they could read
// something differently (comments, "<!", "<?", "</" + non-letter, script and style, a
// vertical tab, which only one of them counts as white space, or an <a> or </a> whose end
// they place differently), the scanner gives up and the caller runs FindHtmlLinks.
class HtmlLinkScanner final : public text::internal::HtmlMarkupVisitor {
 public:
  // Links found are appended to *links, as for FindHtmlLinks.
  HtmlLinkScanner(std::string_view html, std::vector<std::string_view>* links)
      : html_(html), links_(links) {
    gave_up_ = html.find('\v') != std::string_view::npos;
    next_scheme_ = html.find("://");
  }

  void OnTag(size_t begin, size_t end, bool end_tag, std::string_view name) override {
    if (gave_up_) return;
    if (name.size() == 1 && name[0] == 'a') {
      OnAnchorTag(begin, end, end_tag);
      return;
    }
    if (!end_tag && (name == "script" || name == "style")) {
      gave_up_ = true;
      return;
    }
    if (!in_anchor_ && begin > text_start_) BareUrls(text_start_, begin);
    text_start_ = end;
  }

  void OnOtherMarkup(size_t, size_t) override { gave_up_ = true; }

  // After the pass: the bare URLs after the last tag. False when the scanner gave up (what
  // it appended is then incomplete).
  bool Finish() {
    if (gave_up_) return false;
    if (!in_anchor_ && text_start_ < html_.size()) BareUrls(text_start_, html_.size());
    return true;
  }

 private:
  // <a ...> or </a ...>: read as FindHtmlLinks reads it; give up if its end differs.
  void OnAnchorTag(size_t begin, size_t end, bool end_tag) {
    AnchorAttributes attrs;
    size_t a_end;
    if (end_tag) {
      // As ReadTag reads "</a": up to the first '>' (quotes are not special there).
      const size_t gt = html_.find('>', begin + 3);
      a_end = gt == std::string_view::npos ? html_.size() : gt + 1;
    } else {
      a_end = begin + 1;
      if (ReadTag(html_, begin, &a_end, &attrs) != TagKind::kStartA) a_end = 0;
    }
    if (a_end != end) {
      gave_up_ = true;
      return;
    }
    if (!in_anchor_ && begin > text_start_) BareUrls(text_start_, begin);
    in_anchor_ = !end_tag;
    if (!end_tag && IsRealLink(attrs)) {
      std::string_view href = TrimAscii(attrs.href);
      if (!href.empty()) links_->push_back(href);
    }
    text_start_ = end;
  }

  // Bare URLs of html_[from, to), a text between tags. Only a text containing "://" can
  // have one; the next "://" is found once per occurrence, so this stays linear.
  void BareUrls(size_t from, size_t to) {
    if (next_scheme_ == std::string_view::npos) return;
    if (next_scheme_ < from) {
      next_scheme_ = html_.find("://", from);
      if (next_scheme_ == std::string_view::npos) return;
    }
    if (next_scheme_ + 3 > to) return;
    FindBareUrls(html_.substr(from, to - from),
                 [this](std::string_view url) { links_->push_back(url); });
  }

  std::string_view html_;
  std::vector<std::string_view>* links_;
  bool gave_up_ = false;
  bool in_anchor_ = false;
  size_t text_start_ = 0;   // where the text after the last tag starts
  size_t next_scheme_ = 0;  // the first "://" at or after some earlier text start
};

// text::HostOfUrl, with a shortcut for the shape of nearly every IRI an activity holds:
// "https://" or "http://", then a host of ASCII letters, digits, '-' and '.', then the end
// or '/', '?' or '#'. For that shape text::HostOfUrl returns exactly those host bytes (no
// userinfo, port, brackets or backslash to consider); anything else goes to it.
std::string_view HostOfUrl(std::string_view url) {
  size_t start;
  if (url.starts_with("https://")) {
    start = 8;
  } else if (url.starts_with("http://")) {
    start = 7;
  } else {
    return text::HostOfUrl(url);
  }
  size_t i = start;
  for (; i < url.size(); ++i) {
    const char c = url[i];
    if (IsAsciiAlnum(c) || c == '-' || c == '.') continue;
    if (c == '/' || c == '?' || c == '#') break;
    return text::HostOfUrl(url);
  }
  return url.substr(start, i - start);
}

absl::Status DuplicateKeyError(std::string_view key, std::string_view where) {
  std::string m = "duplicate key \"";
  m.append(key);
  m += "\" in ";
  m.append(where);
  m += ": the document is malformed (servers disagree on which copy counts)";
  return absl::InvalidArgumentError(m);
}

// ---------------------------------------------------------------------------------------
// State kept between parses by one ActivityParser (never shared between threads).

struct Scratch {
  // Fields of the objects read, reused from one parse to the next.
  std::vector<std::unique_ptr<Fields>> fields;
  size_t fields_used = 0;
  // Host as written -> normalised domain ("" when invalid). Actor and object hosts repeat
  // from one activity to the next; the cache is emptied when it reaches kMaxDomains.
  absl::flat_hash_map<std::string, std::string> domains;
  static constexpr size_t kMaxDomains = 4096;
  static constexpr size_t kMaxCachedHost = 253;

  // Buffers of one parse, kept so that their capacity is reused (see Reset()). Views point
  // into the document being parsed.
  std::string html_text;                      // HTML of one field turned into text
  std::string decoded_url;                    // one link with its references decoded
  text::NormalizedText part;                  // one plain text part, normalised
  std::vector<std::string_view> field_links;  // links of one field, as written
  std::vector<std::string_view> plain_parts;  // attachment descriptions, poll options
  std::vector<std::string_view> link_attachment_hrefs;
  std::vector<std::string_view> to, cc, recipients;
  SmallViewSet tag_hrefs;  // Mention and Hashtag hrefs
  // Buffers larger than this are released after a parse, so one huge document does not
  // keep its memory for the parser's life.
  static constexpr size_t kMaxKeptBytes = 64 * 1024;

  // Before a parse.
  void Reset() {
    fields_used = 0;
    field_links.clear();
    plain_parts.clear();
    link_attachment_hrefs.clear();
    to.clear();
    cc.clear();
    recipients.clear();
    tag_hrefs.Clear();
  }

  // After a parse: no views into the document survive it, and big buffers are released.
  void Release() {
    Reset();
    if (html_text.capacity() > kMaxKeptBytes) std::string().swap(html_text);
    if (decoded_url.capacity() > kMaxKeptBytes) std::string().swap(decoded_url);
    if (part.unfolded.capacity() > kMaxKeptBytes || part.folded.capacity() > kMaxKeptBytes ||
        part.folded_breaks.capacity() > kMaxKeptBytes / sizeof(uint32_t)) {
      part = text::NormalizedText();
    }
    constexpr size_t kMaxViews = kMaxKeptBytes / sizeof(std::string_view);
    for (std::vector<std::string_view>* v :
         {&field_links, &plain_parts, &link_attachment_hrefs, &to, &cc, &recipients}) {
      if (v->capacity() > kMaxViews) std::vector<std::string_view>().swap(*v);
    }
    if (tag_hrefs.Capacity() > kMaxViews) tag_hrefs.Release();
  }

  Fields& NewFields() {
    if (fields_used == fields.size()) fields.push_back(std::make_unique<Fields>());
    Fields& f = *fields[fields_used++];
    f.present = f.duplicated = 0;
    return f;
  }

  std::string Domain(std::string_view url) { return DomainOfHost(HostOfUrl(url)); }

  std::string DomainOfHost(std::string_view host) {
    if (host.empty()) return {};
    if (host.size() > kMaxCachedHost) {
      absl::StatusOr<std::string> d = text::NormalizeDomain(host);
      return d.ok() ? *std::move(d) : std::string();
    }
    return std::string(CachedDomainOfHost(host));
  }

  // The normalised domain of a host of at most kMaxCachedHost bytes, valid until the next
  // call.
  std::string_view CachedDomainOfHost(std::string_view host) {
    absl::string_view key(host.data(), host.size());
    if (auto it = domains.find(key); it != domains.end()) return it->second;
    absl::StatusOr<std::string> d = text::NormalizeDomain(host);
    if (domains.size() >= kMaxDomains) domains.clear();
    auto it = domains.emplace(std::string(host), d.ok() ? *std::move(d) : std::string()).first;
    return it->second;
  }
};

// ---------------------------------------------------------------------------------------
// The reader: one Parse call.

class Reader {
 public:
  Reader(const ActivityParseOptions& options, Scratch* scratch, Activity* out)
      : options_(options),
        scratch_(scratch),
        out_(out),
        hashtags_(&out->hashtags),
        mentions_(&out->mentions),
        links_(&out->links),
        link_domains_(&out->link_domains),
        emojis_(&out->emojis),
        object_domains_(&out->object_domains) {}

  absl::Status Read(dom::object root) {
    Fields& f = NewFields();
    Scan(root, &f);
    if (f.duplicated & Bit(kType)) return Duplicate(kType, "activity");
    std::string_view type = TypeOf(f, options_.max_array_items);
    if (type.empty()) {
      return absl::InvalidArgumentError(
          "activity has no \"type\" (an ActivityStreams document needs a string \"type\")");
    }
    if (LooksLikeActivity(type, f)) {
      ReadActivity(f, type);
    } else if (IsActorType(type)) {
      ReadBareActor(f, type);
    } else {
      ReadBareObject(f, type);
    }
    if (!status_.ok()) return status_;
    Finish();
    return status_;
  }

 private:
  // Records the first error; later reads are skipped.
  bool Check(const Fields& f, uint64_t role_keys, std::string_view where) {
    if (!status_.ok()) return false;
    uint64_t dup = f.duplicated & role_keys;
    if (dup == 0) return true;
    for (int k = 0; k < kNumKeys; ++k) {
      if (dup & (uint64_t{1} << k)) {
        status_ = Duplicate(static_cast<Key>(k), where);
        break;
      }
    }
    return false;
  }

  // Fields that later steps point to live as long as the reader.
  Fields& NewFields() { return scratch_->NewFields(); }

  static absl::Status Duplicate(Key k, std::string_view where) {
    return DuplicateKeyError(kKeyNames[k], std::string("the ") + std::string(where));
  }

  // Scans an object element and checks it for the role; false when it is not an object or
  // has a duplicate key of the role.
  bool ScanObject(dom::element e, uint64_t role_keys, std::string_view where, Fields* f) {
    dom::object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) return false;
    Scan(o, f);
    return Check(*f, role_keys, where);
  }

  std::string Domain(std::string_view url) { return scratch_->Domain(url); }

  void AddObjectDomain(std::string_view url) {
    std::string d = Domain(url);
    if (!d.empty()) object_domains_.Add(std::move(d));
  }

  // The id of a reference: a string, or an object's "id".
  std::string_view IdOf(dom::element e) {
    if (e.is_string()) return StringOf(e);
    Fields f;
    if (!ScanObject(e, kReferenceKeys, "reference", &f)) return {};
    return StringField(f, kId);
  }

  // ----- activities

  void ReadActivity(const Fields& activity, std::string_view type) {
    const Fields* act = &activity;
    const Fields* object = nullptr;  // the embedded (first) object
    dom::element first;
    bool has_first = false;
    std::string_view outer_id;
    for (;;) {
      if (!Check(*act, kActivityKeys, "activity")) return;
      object = nullptr;
      has_first = act->HasValue(kObject) && FirstItem((*act)[kObject], &first);
      if (has_first && first.is_object()) {
        Fields& of = NewFields();
        dom::object o;
        if (first.get_object().get(o) == simdjson::SUCCESS) Scan(o, &of);
        object = &of;
      }
      // Announce{Activity} (Lemmy and other group servers): read the inner activity, with
      // the outermost announcing actor as announcer. Announce{Note}, Announce{URI} stay.
      if (type != "Announce" || object == nullptr || (*act)[kObject].is_array()) break;
      std::string_view inner_type = TypeOf(*object, options_.max_array_items);
      if (!LooksLikeActivity(inner_type, *object)) break;
      if (out_->announcer.empty()) {
        dom::element announcer;
        if (act->HasValue(kActor) && FirstItem((*act)[kActor], &announcer)) {
          out_->announcer = std::string(IdOf(announcer));
          out_->announcer_domain = Domain(out_->announcer);
        }
        if (!status_.ok()) return;
      }
      if (outer_id.empty()) outer_id = StringField(*act, kId);
      act = object;
      type = inner_type;
    }
    std::string_view object_type = object ? TypeOf(*object, options_.max_array_items) : "";

    out_->type = std::string(type);
    out_->id = std::string(StringField(*act, kId));
    if (out_->id.empty()) out_->id = std::string(outer_id);
    activity_ = act;
    if (act->HasValue(kActor)) ReadActorReference((*act)[kActor]);
    if (!status_.ok()) return;

    if (act->HasValue(kObject)) {
      dom::element objects = (*act)[kObject];
      if (objects.is_array()) {
        // Flag and friends: first element for object.*, every element for the domains.
        dom::array a;
        if (objects.get_array().get(a) != simdjson::SUCCESS) return;
        size_t n = 0;
        for (dom::element item : a) {
          if (n >= options_.max_array_items) break;
          if (item.is_null()) continue;
          ++n;
          if (n == 1) continue;  // the first is read below
          AddObjectDomain(IdOf(item));
          if (!status_.ok()) return;
        }
      }
      if (has_first) {
        if (object != nullptr) {
          ReadEmbeddedObject(*object, object_type);
        } else if (first.is_string()) {
          out_->object_id = std::string(StringOf(first));
          out_->object_domain = Domain(out_->object_id);
        }
      }
    }
    if (!status_.ok()) return;
    // Without an embedded object (Like, EmojiReact, Flag, Follow, ...), what the activity
    // itself says is the content: a report's comment, a reaction's emoji.
    if (content_ == nullptr) {
      if (!Check(*act, kContentKeys & ~Bit(kPublished), "activity")) return;
      ReadContent(*act, /*read_published=*/false);
    }
    // An activity without an actor: the author of its object, if known.
    if (out_->actor.empty() && object != nullptr && object->HasValue(kAttributedTo)) {
      ReadAttributedTo((*object)[kAttributedTo]);
    }
  }

  // The embedded (first) object of an activity.
  void ReadEmbeddedObject(const Fields& object, std::string_view object_type) {
    object_ = &object;
    out_->object_type = std::string(object_type);
    out_->object_id = std::string(StringField(object, kId));
    if (IsActorType(object_type)) {
      if (!Check(object, kActorKeys, "object")) return;
      out_->object_domain = Domain(out_->object_id);
      // Create/Update of an actor describes the actor: its name, bio, username.
      if (out_->type == "Create" || out_->type == "Update") ReadActorFields(object);
      if (object.HasValue(kPublished)) {
        out_->published = ParsePublished(StringOf(object[kPublished]));
      }
      return;
    }
    if (!Check(object, kObjectKeys, "object")) return;
    out_->object_domain = Domain(out_->object_id);
    if (out_->object_domain.empty() && object.HasValue(kAttributedTo)) {
      dom::element author;
      if (PickAttributedTo(object[kAttributedTo], &author)) {
        out_->object_domain = Domain(IdOf(author));
      }
    }
    ReadContent(object, /*read_published=*/true);
  }

  // ----- bare documents

  // A bare actor: Update of itself.
  void ReadBareActor(const Fields& actor, std::string_view type) {
    if (!Check(actor, kActorKeys, "actor")) return;
    out_->type = "Update";
    out_->id = std::string(StringField(actor, kId));
    out_->actor = out_->id;
    out_->actor_domain = Domain(out_->actor);
    out_->object_id = out_->id;
    out_->object_type = std::string(type);
    out_->object_domain = out_->actor_domain;
    object_ = &actor;
    ReadActorFields(actor);
    if (actor.HasValue(kPublished)) out_->published = ParsePublished(StringOf(actor[kPublished]));
  }

  // A bare object: Create by its attributedTo (else its `actor`).
  void ReadBareObject(const Fields& object, std::string_view type) {
    if (!Check(object, kObjectKeys, "object")) return;
    out_->type = "Create";
    out_->id = std::string(StringField(object, kId));
    if (object.HasValue(kAttributedTo)) {
      ReadAttributedTo(object[kAttributedTo]);
    } else if (object.HasValue(kActor)) {
      if (!Check(object, Bit(kActor), "object")) return;
      ReadActorReference(object[kActor]);
    }
    if (!status_.ok()) return;
    ReadEmbeddedObject(object, type);
    if (out_->object_domain.empty()) out_->object_domain = out_->actor_domain;
  }

  // ----- actors

  // attributedTo: a string, an object with an id, or an array: its first Person, else its
  // first entry (PeerTube lists the channel Group before the account Person).
  bool PickAttributedTo(dom::element e, dom::element* picked) {
    if (!e.is_array()) {
      *picked = e;
      return !e.is_null();
    }
    dom::array a;
    if (e.get_array().get(a) != simdjson::SUCCESS) return false;
    bool have = false;
    size_t n = 0;
    for (dom::element item : a) {
      if (n++ >= options_.max_array_items) break;
      if (item.is_null()) continue;
      if (!have) {
        *picked = item;
        have = true;
      }
      if (item.is_object()) {
        Fields f;
        if (!ScanObject(item, kReferenceKeys, "attributedTo", &f)) return false;
        if (TypeOf(f, options_.max_array_items) == "Person") {
          *picked = item;
          return true;
        }
      }
    }
    return have;
  }

  void ReadAttributedTo(dom::element e) {
    dom::element author;
    if (PickAttributedTo(e, &author)) ReadActorReference(author);
  }

  // `actor`: a URI, an embedded actor, or (rarely) an array of either: the first counts.
  void ReadActorReference(dom::element e) {
    dom::element first;
    if (!FirstItem(e, &first)) return;
    if (first.is_string()) {
      out_->actor = std::string(StringOf(first));
    } else if (first.is_object()) {
      Fields f;
      if (!ScanObject(first, kActorKeys, "actor", &f)) return;
      out_->actor = std::string(StringField(f, kId));
      ReadActorFields(f);
    }
    out_->actor_domain = Domain(out_->actor);
  }

  // An actor's description. A key present (even null) makes the value known.
  void ReadActorFields(const Fields& f) {
    if (f.Has(kName)) out_->actor_name = NormalizePlain(StringOf(f[kName]));
    if (f.Has(kSummary)) out_->actor_bio = NormalizeHtml(StringOf(f[kSummary]));
    if (f.Has(kPreferredUsername)) {
      out_->actor_username = std::string(StringOf(f[kPreferredUsername]));
    }
    std::string_view followers = StringField(f, kFollowers);
    if (!followers.empty()) actor_followers_ = followers;
  }

  // ----- content

  // A text field and, failing that, the first value of its language map.
  std::string_view TextOrMap(const Fields& f, Key text_key, Key map_key,
                             std::string_view* map_language) {
    if (f.Has(text_key) && f[text_key].is_string()) return StringOf(f[text_key]);
    if (!f.HasValue(map_key)) return {};
    dom::object map;
    if (f[map_key].get_object().get(map) != simdjson::SUCCESS) return {};
    auto it = map.begin();
    if (!(it != map.end())) return {};
    std::string_view first_key = it.key();
    dom::element first_value = it.value();
    // The first key is read: a second copy of it is a duplicate.
    for (++it; it != map.end(); ++it) {
      if (it.key() == first_key) {
        status_ = DuplicateKeyError(first_key, "\"" + std::string(kKeyNames[map_key]) + "\"");
        return {};
      }
    }
    if (map_language != nullptr) *map_language = first_key;
    return StringOf(first_value);
  }

  void ReadContent(const Fields& f, bool read_published) {
    content_ = &f;
    std::string_view map_language;
    content_html_ = TextOrMap(f, kContent, kContentMap, &map_language);
    summary_html_ = TextOrMap(f, kSummary, kSummaryMap, nullptr);
    name_html_ = TextOrMap(f, kName, kNameMap, nullptr);
    if (!status_.ok()) return;

    // Language: the contentMap key, else `language` (a string, or PeerTube's and Lemmy's
    // {"identifier": "en", "name": "English"}).
    if (map_language.empty() && f.HasValue(kContentMap)) {
      dom::object map;
      if (f[kContentMap].get_object().get(map) == simdjson::SUCCESS && map.begin() != map.end()) {
        map_language = map.begin().key();
      }
    }
    if (!map_language.empty()) {
      out_->language = std::string(map_language);
    } else if (f.HasValue(kLanguage)) {
      dom::element lang = f[kLanguage];
      std::string_view l;
      if (lang.is_string()) {
        l = StringOf(lang);
      } else if (lang.is_object()) {
        Fields lf;
        if (!ScanObject(lang, kLanguageObjectKeys, "language", &lf)) return;
        l = StringField(lf, kIdentifier);
      }
      if (!l.empty()) out_->language = std::string(l);
    }

    // Tags first: their hrefs tell mention and hashtag links from real links.
    if (f.HasValue(kTag)) {
      ForEachItem(f[kTag], options_.max_array_items, [&](dom::element t) { ReadTag(t); });
      if (!status_.ok()) return;
    }
    if (f.HasValue(kAttachment)) {
      ForEachItem(f[kAttachment], options_.max_array_items,
                  [&](dom::element a) { ReadAttachment(a); });
      if (!status_.ok()) return;
    }
    for (Key poll : {kOneOf, kAnyOf}) {
      if (!f.HasValue(poll)) continue;
      ForEachItem(f[poll], options_.max_array_items, [&](dom::element option) {
        Fields of;
        if (!ScanObject(option, kPollOptionKeys, "poll option", &of)) return;
        std::string_view name = StringField(of, kName);
        if (!name.empty()) scratch_->plain_parts.push_back(name);
      });
      if (!status_.ok()) return;
    }

    if (f.Has(kSensitive)) {
      bool b = false;
      out_->sensitive = f[kSensitive].get_bool().get(b) == simdjson::SUCCESS && b;
    }
    out_->reply = f.Has(kInReplyTo) && NonEmptyValue(f[kInReplyTo]);
    for (Key q : {kQuoteUrl, kQuoteUri, kMisskeyQuote, kQuote}) {
      if (f.Has(q) && NonEmptyValue(f[q])) out_->quote = true;
    }
    if (read_published && f.HasValue(kPublished)) {
      out_->published = ParsePublished(StringOf(f[kPublished]));
    }
  }

  void ReadTag(dom::element e) {
    Fields t;
    if (!ScanObject(e, kTagKeys, "tag", &t)) return;
    std::string_view type = TypeOf(t, options_.max_array_items);
    std::string_view name = StringField(t, kName);
    std::string_view href = StringField(t, kHref);
    if (type == "Hashtag") {
      if (!href.empty()) scratch_->tag_hrefs.Insert(href);
      while (name.starts_with('#')) name.remove_prefix(1);
      name = TrimAscii(name);
      if (!name.empty()) hashtags_.Add(FoldKeyword(name));
    } else if (type == "Mention") {
      if (!href.empty()) {
        scratch_->tag_hrefs.Insert(href);
        mentions_.Add(href);
      } else {
        name = TrimAscii(name);
        if (name.empty()) return;
        if (name.starts_with('@')) {
          mentions_.Add(name);
        } else {
          mentions_.Add("@" + std::string(name));
        }
      }
    } else if (type == "Emoji") {
      name = TrimAscii(name);
      if (name.starts_with(':')) name.remove_prefix(1);
      if (name.ends_with(':')) name.remove_suffix(1);
      if (!name.empty()) emojis_.Add(FoldKeyword(name));
    }
  }

  void ReadAttachment(dom::element e) {
    if (e.is_string()) {  // a bare URI: media of unknown type
      out_->attachment_types.emplace_back();
      return;
    }
    Fields a;
    if (!ScanObject(e, kAttachmentKeys, "attachment", &a)) return;
    std::string_view type = TypeOf(a, options_.max_array_items);
    std::string_view name = StringField(a, kName);
    if (!name.empty()) scratch_->plain_parts.push_back(name);
    if (type == "Link") {
      std::string_view href = TrimAscii(StringField(a, kHref));
      if (!href.empty()) scratch_->link_attachment_hrefs.push_back(href);
      return;
    }
    if (type == "PropertyValue") return;  // profile metadata, not media
    std::string media_type(TrimAscii(StringField(a, kMediaType)));
    for (char& c : media_type) c = AsciiLower(c);
    out_->attachment_types.push_back(std::move(media_type));
  }

  // ----- the rest, once everything is read

  // A link as it will be listed: absolute (with a host), not a mention or hashtag href,
  // distinct; its domain too.
  void AddLink(std::string_view url) {
    std::string_view host = HostOfUrl(url);
    if (host.empty()) return;  // only absolute URLs with a host
    if (scratch_->tag_hrefs.Contains(url)) return;
    if (!links_.Add(url)) return;
    if (host.size() > Scratch::kMaxCachedHost) {
      std::string domain = scratch_->DomainOfHost(host);
      if (!domain.empty()) link_domains_.Add(std::move(domain));
      return;
    }
    std::string_view domain = scratch_->CachedDomainOfHost(host);
    if (!domain.empty()) link_domains_.Add(domain);
  }

  // A link found in HTML: its character references are decoded first.
  void AddHtmlLink(std::string_view url) {
    if (url.find('&') == std::string_view::npos) {
      AddLink(url);
    } else {
      DecodeUrlEntities(url, &scratch_->decoded_url);
      AddLink(scratch_->decoded_url);
    }
  }

  // An HTML field (content, summary, name): its text, normalised, and its links, found in
  // the same pass over the markup.
  void ReadHtmlField(std::string_view html, text::NormalizedText* out) {
    if (html.empty()) return;
    std::vector<std::string_view>& links = scratch_->field_links;
    links.clear();
    HtmlLinkScanner scanner(html, &links);
    text::internal::HtmlToTextWithMarkup(html, &scratch_->html_text, &scanner);
    if (!scanner.Finish()) {
      links.clear();
      FindHtmlLinks(html, [&links](std::string_view url) { links.push_back(url); });
    }
    RemoveSeparators(&scratch_->html_text);
    text::internal::NormalizeInto(scratch_->html_text, out);
    // Normalisation never produces U+001E from other characters, but the guarantee that the
    // separator only ever separates is cheap to keep.
    RemoveSeparators(&out->unfolded);
    RemoveSeparators(&out->folded);
    for (std::string_view url : links) AddHtmlLink(url);
  }

  void Finish() {
    // Links in this order: content, summary, name, plain parts, Link attachments.
    ReadHtmlField(content_html_, &out_->content);
    ReadHtmlField(summary_html_, &out_->summary);
    ReadHtmlField(name_html_, &out_->name);

    text::NormalizedText& text = out_->text;
    size_t estimate = out_->content.unfolded.size() + out_->summary.unfolded.size() +
                      out_->name.unfolded.size() + 3;
    for (std::string_view p : scratch_->plain_parts) estimate += p.size() + 1;
    text.unfolded.reserve(estimate);
    text.folded.reserve(estimate);
    bool first = true;
    AppendPart(out_->content, &first, &text);
    AppendPart(out_->summary, &first, &text);
    AppendPart(out_->name, &first, &text);
    for (std::string_view p : scratch_->plain_parts) {
      if (p.empty()) continue;
      NormalizePlainInto(p, &scratch_->part);
      AppendPart(scratch_->part, &first, &text);
    }

    for (std::string_view p : scratch_->plain_parts) {
      FindBareUrls(p, [this](std::string_view url) { AddLink(url); });
    }
    for (std::string_view href : scratch_->link_attachment_hrefs) AddLink(href);

    if (!out_->object_domain.empty()) {
      // The first object's domain leads the list.
      std::vector<std::string> rest = std::move(out_->object_domains);
      out_->object_domains.clear();
      DistinctList all(&out_->object_domains);
      all.Add(out_->object_domain);
      for (const std::string& d : rest) all.Add(d);
    }
    ReadAddressing();
  }

  bool IsFollowers(std::string_view iri) const {
    return (!actor_followers_.empty() && iri == actor_followers_) || iri.ends_with("/followers");
  }

  void CollectIris(const Fields* f, Key k, std::vector<std::string_view>* out) {
    if (f == nullptr || !f->HasValue(k)) return;
    ForEachItem((*f)[k], options_.max_array_items, [&](dom::element e) {
      std::string_view iri = IdOf(e);
      if (!iri.empty()) out->push_back(iri);
    });
  }

  // Visibility as Mastodon derives it, and the number of distinct recipients.
  void ReadAddressing() {
    // The object's to/cc when it has any, else the activity's.
    const Fields* source = nullptr;
    std::vector<std::string_view>& to = scratch_->to;
    std::vector<std::string_view>& cc = scratch_->cc;
    to.clear();
    cc.clear();
    if (object_ != nullptr) {
      CollectIris(object_, kTo, &to);
      CollectIris(object_, kCc, &cc);
      if (!to.empty() || !cc.empty()) source = object_;
    }
    if (source == nullptr && activity_ != nullptr) {
      to.clear();
      cc.clear();
      CollectIris(activity_, kTo, &to);
      CollectIris(activity_, kCc, &cc);
    }
    auto any = [](const std::vector<std::string_view>& v, auto pred) {
      return std::any_of(v.begin(), v.end(), pred);
    };
    auto followers = [this](std::string_view s) { return IsFollowers(s); };
    if (any(to, IsPublicIri)) {
      out_->visibility = "public";
    } else if (any(cc, IsPublicIri)) {
      out_->visibility = "unlisted";
    } else if (any(to, followers) || any(cc, followers)) {
      out_->visibility = "followers";
    } else {
      out_->visibility = "direct";
    }

    std::vector<std::string_view>& all = scratch_->recipients;
    all.clear();
    for (Key k : {kTo, kCc, kBto, kBcc}) {
      CollectIris(activity_, k, &all);
      CollectIris(object_, k, &all);
    }
    std::erase_if(all, [this](std::string_view s) { return IsPublicIri(s) || IsFollowers(s); });
    std::sort(all.begin(), all.end());
    out_->recipients_count =
        static_cast<uint32_t>(std::unique(all.begin(), all.end()) - all.begin());
  }

  const ActivityParseOptions& options_;
  Scratch* scratch_;
  Activity* out_;
  absl::Status status_;

  DistinctList hashtags_, mentions_, links_, link_domains_, emojis_, object_domains_;

  const Fields* activity_ = nullptr;  // the activity read (null for bare documents)
  const Fields* object_ = nullptr;    // its embedded object (or the bare document)
  const Fields* content_ = nullptr;   // where the content was read from
  std::string_view actor_followers_;  // the actor's followers collection, when embedded

  std::string_view content_html_, summary_html_, name_html_;
};

}  // namespace

struct ActivityParser::Impl {
  dom::parser parser;
  bool allocated = false;
  Scratch scratch;

  // Capacity grows on demand and keeps the depth limit; the depth stack is allocated here.
  bool Allocate(size_t max_depth) {
    if (!allocated) {
      allocated = parser.allocate(64 * 1024, std::max<size_t>(max_depth, 1)) == simdjson::SUCCESS;
    }
    return allocated;
  }
};

ActivityParser::ActivityParser(ActivityParseOptions options)
    : options_(options), impl_(std::make_unique<Impl>()) {
  impl_->Allocate(options_.max_depth);
}

ActivityParser::~ActivityParser() = default;

absl::StatusOr<Activity> ActivityParser::Parse(std::string_view json) {
  if (json.size() > options_.max_bytes) {
    return absl::InvalidArgumentError("activity is " + std::to_string(json.size()) +
                                      " bytes, over the limit of " +
                                      std::to_string(options_.max_bytes) + " bytes (max_bytes)");
  }
  if (!impl_->Allocate(options_.max_depth)) {
    return absl::ResourceExhaustedError("cannot allocate the JSON parser (max_depth " +
                                        std::to_string(options_.max_depth) + ")");
  }
  dom::element root;
  simdjson::error_code error = impl_->parser.parse(json.data(), json.size(), true).get(root);
  if (error != simdjson::SUCCESS) {
    switch (error) {
      case simdjson::DEPTH_ERROR:
        return absl::InvalidArgumentError("activity is nested deeper than " +
                                          std::to_string(options_.max_depth) +
                                          " levels of arrays and objects (max_depth)");
      case simdjson::UTF8_ERROR:
        return absl::InvalidArgumentError("activity is not valid UTF-8");
      case simdjson::EMPTY:
        return absl::InvalidArgumentError("activity is empty (no JSON value)");
      case simdjson::MEMALLOC:
      case simdjson::CAPACITY:
        return absl::ResourceExhaustedError(
            std::string("cannot allocate memory to parse the activity: ") +
            simdjson::error_message(error));
      default:
        return absl::InvalidArgumentError(std::string("activity is not valid JSON: ") +
                                          simdjson::error_message(error));
    }
  }
  dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("activity is not a JSON object");
  }
  // Built in place: an Activity has some thirty members, and moving them all out of a local
  // costs as much as reading a small activity's flags.
  absl::StatusOr<Activity> activity(absl::in_place);
  impl_->scratch.Reset();
  Reader reader(options_, &impl_->scratch, &*activity);
  absl::Status status = reader.Read(object);
  impl_->scratch.Release();
  if (!status.ok()) activity = std::move(status);
  return activity;  // the only return of `activity`, so it is constructed in the caller's place
}

void MergeActorFacts(const ActorFacts& facts, Activity* activity) {
  if (facts.display_name.has_value()) {
    activity->actor_name = NormalizePlain(*facts.display_name);
  }
  if (facts.bio.has_value()) activity->actor_bio = NormalizeHtml(*facts.bio);
}

}  // namespace fedwall
