// Internal to engine/policy: the compiled form of a policy, shared by the compiler (which
// builds it), the evaluator (which runs it) and the tests. Not a public API.
//
// A rule's `when` is lowered (macros expanded inline, `!=`/`!~` as `not`) into a tree of
// Nodes over Leaves, stored flat in CompiledRules. Leaves are of three families:
//   - pattern leaves (LeafKind::kPattern): a literal or regex operator on a text field; true
//     when any of its patterns matched in that field's one TextMatcher scan;
//   - direct leaves: keyword, domain, number, duration, bool and list comparisons, read from
//     the activity and the request facts (fast accessors for the registry's fields, the
//     registry's extractor for anything else);
//   - known(F), and text comparisons with an empty literal (`content == ""`).
// Evaluation uses Kleene three-valued logic (Tri).
//
// The rule index: a rule whose condition cannot be true when all its pattern leaves are false
// (every other leaf unknown) is evaluated only when one of its pattern leaves matched
// (pattern -> pattern leaves -> rules, as CSR arrays); every other rule is always evaluated.
//
// Ownership: CompiledRules owns the checked AST and everything compiled from it; it is
// immutable once built and shared (std::shared_ptr<const CompiledRules>) between every Policy
// made from it by WithApiBlocks. Thread-safe for concurrent reads.
#ifndef FEDWALL_ENGINE_POLICY_COMPILED_H_
#define FEDWALL_ENGINE_POLICY_COMPILED_H_

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "engine/blocklist/blocklist.h"
#include "engine/common/diagnostic.h"
#include "engine/counters/counters.h"
#include "engine/fields/field_registry.h"
#include "engine/lang/ast.h"
#include "engine/match/text_matcher.h"
#include "engine/policy/policy.h"
#include "re2/re2.h"

namespace fedwall::policy_internal {

// Kleene three-valued truth.
enum class Tri : uint8_t { kFalse = 0, kTrue = 1, kUnknown = 2 };

inline Tri TriNot(Tri a) {
  if (a == Tri::kUnknown) return a;
  return a == Tri::kTrue ? Tri::kFalse : Tri::kTrue;
}

// How a field's value is read at evaluation. kGeneric calls FieldDef::extract (and caches
// the value for the evaluation); the others read the Activity or the facts directly, without
// copying.
enum class Accessor : uint8_t {
  kGeneric,
  kType,
  kObjectType,
  kActor,
  kActorDomain,
  kObjectDomain,
  kAnnouncerDomain,
  kOriginDomain,
  kOriginIp,
  kOriginSigned,
  kHashtags,
  kHashtagsCount,
  kMentions,
  kMentionsCount,
  kLinks,
  kLinksCount,
  kLinkDomains,
  kAttachmentTypes,
  kAttachmentsCount,
  kEmojis,
  kEmojisCount,
  kLanguage,
  kSensitive,
  kReply,
  kQuote,
  kVisibility,
  kRecipientsCount,
  kObjectAge,
  kActorUsername,
  kActorAge,
  kActorFollowers,
  kActorFollowing,
  kActorPosts,
  kActorBot,
  kActorFollowed,
  kCounter,  // FieldSlot::counter: a value computed before the rules run
};

// The accessor for a registry field name (kGeneric when there is no fast one).
Accessor AccessorFor(std::string_view field_name);

// A field's value during one evaluation: views into the activity, the facts or a cache.
struct Value {
  enum class Kind : uint8_t { kUnknown, kString, kList, kNumber, kDuration, kBool };
  Kind kind = Kind::kUnknown;
  std::string_view str;
  const std::string* list = nullptr;
  size_t list_size = 0;
  double number = 0;
  absl::Duration duration;
  bool boolean = false;
};

// Reads a field through a fast accessor (not kGeneric). `origin_domain` is the normalised
// sender domain of this evaluation ("" when absent or invalid), `has_origin_domain` whether
// it is known.
Value ReadFast(Accessor accessor, const FieldInput& in, std::string_view origin_domain,
               bool has_origin_domain);

// A FieldValue (from FieldDef::extract) as a Value; views into `v`.
Value FromFieldValue(const FieldValue& v);

struct FieldSlot {
  const FieldDef* def = nullptr;
  Accessor accessor = Accessor::kGeneric;
  // Case-insensitive keyword list (hashtags, emojis): literals are stripped of a leading
  // '#' or ':' and case-folded at compile time.
  bool folded_keywords = false;
  // kCounter: the index into CompiledRules::counters (and into the evaluation's values).
  uint32_t counter = 0;
  // The field as evidence names it: the registry name, or a counter with its window
  // ("text.seen(1h)").
  std::string name;
};

enum class LeafKind : uint8_t {
  kPattern,      // text: any of the leaf's patterns matched (arg: pattern-leaf index)
  kTextEmpty,    // text: the folded form is empty (`== ""`)
  kTextKnown,    // text: true when the field is known (`contains ""`)
  kKnown,        // known(F)
  kStrEq,        // keyword/domain (or list: any element) == strings[arg]
  kStrIn,        // keyword (list) in sets[arg]
  kStrContains,  // keyword contains strings[arg]
  kStrStartsWith,
  kStrEndsWith,
  kStrRegex,  // keyword/domain ~ regexes[arg]
  kDomainIn,  // domain (list): the domain or a parent is in sets[arg]
  kNumber,    // number op `number`
  kDuration,  // duration op `duration`
  kBool,      // bool == `boolean`
};

struct Leaf {
  LeafKind kind = LeafKind::kKnown;
  lang::CmpOp op = lang::CmpOp::kEq;  // kNumber, kDuration: the comparison
  uint32_t field = 0;                 // FieldSlot index
  uint32_t arg = 0;                   // see LeafKind
  double number = 0;
  absl::Duration duration;
  bool boolean = false;
};

struct Node {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kLeaf, kTrue, kFalse };
  Kind kind = Kind::kFalse;
  uint32_t arg = 0;    // kAnd/kOr/kNot: first index into CompiledRules::children; kLeaf: leaf
  uint32_t count = 0;  // kAnd/kOr/kNot: number of children
};

// A pattern leaf: its text field, and whether spans are in the unfolded text (regexes) or
// the folded text (literals).
struct PatternLeaf {
  uint32_t text_field = 0;  // index into CompiledRules::text_fields (the matcher scanning it)
  uint32_t leaf = 0;        // its Leaf index (for evidence)
  bool regex = false;
};

// A field matched as a part of the `text` field's text: content, summary and name are parts of
// Activity::text, so their patterns go into the `text` matcher with a scope of their own and
// the text is scanned once (engine/match/scoped_matcher.h).
struct PartField {
  uint32_t slot = 0;      // FieldSlot index
  uint32_t scope = 0;     // scope of its patterns in the matcher (>= 1)
  uint32_t position = 0;  // 0 content, 1 summary, 2 name: its place among Activity::text's parts
};

// One matcher and the text it scans.
struct TextField {
  uint32_t slot = 0;          // FieldSlot index of the text scanned
  uint32_t pattern_base = 0;  // global pattern id of the matcher's pattern 0
  uint32_t pattern_count = 0;
  std::unique_ptr<const match::TextMatcher> matcher;
  // For a field whose parts are joined with kTextSeparator (`text`): by local pattern id, the
  // regex again (null for literals and for the part fields' patterns). A regex match the
  // matcher reports across a separator is searched again within each part, with the whole text
  // as context (so ^ and $ keep their whole-text meaning): no regex matches across parts.
  std::vector<std::unique_ptr<RE2>> part_regexes;
  // Fields whose patterns this matcher also holds (only for `text`). The evaluator scans the
  // text's parts as segments, each part field's segment with its scope (an empty part field as
  // an extra empty segment); a part field whose text is not found among the parts exactly (a
  // hand-built Activity) is scanned alone.
  std::vector<PartField> parts;
};

struct Threshold {
  bool set = false;
  int64_t milli = 0;
  std::string where;  // "path:line"
};

struct CompiledRules {
  CompiledRules() = default;
  CompiledRules(const CompiledRules&) = delete;
  CompiledRules& operator=(const CompiledRules&) = delete;

  lang::PolicyAst ast;
  std::vector<Diagnostic> warnings;

  // Expressions.
  std::vector<FieldSlot> fields;
  // Every counter the conditions use, once per (kind, window), in order of first use.
  std::vector<counters::CounterRef> counters;
  std::vector<Leaf> leaves;
  std::vector<Node> nodes;
  std::vector<uint32_t> children;
  std::vector<uint32_t> rule_roots;  // node index per rule (ast.rules order)
  std::vector<std::string> strings;
  std::vector<absl::flat_hash_set<std::string>> sets;
  std::vector<std::unique_ptr<RE2>> regexes;

  // Text matching and the rule index.
  std::vector<TextField> text_fields;
  uint32_t pattern_count = 0;                // global pattern ids: [0, pattern_count)
  std::vector<uint32_t> pattern_leaf_begin;  // CSR: pattern -> pattern leaves
  std::vector<uint32_t> pattern_leaf_ids;
  std::vector<PatternLeaf> pattern_leaves;
  std::vector<uint32_t> pleaf_rule_begin;  // CSR: pattern leaf -> rules indexed by it
  std::vector<uint32_t> pleaf_rule_ids;
  std::vector<uint32_t> always_rules;  // rules evaluated on every activity, sorted

  Threshold flag_threshold;
  Threshold reject_threshold;

  // Domains: every entry read from the policy's blocklist files (API blocks come separately),
  // and the allowlist.
  std::vector<blocklist::Entry> file_entries;
  bool has_allowlist = false;
  absl::flat_hash_set<std::string> allowlist;
  std::string allowlist_sources;  // "friends.txt, more.txt" (for reasons)

  // SHA-256 state after the engine version and every policy file: WithApiBlocks copies it and
  // adds the API blocks.
  std::shared_ptr<EVP_MD_CTX> version_prefix;
};

class PolicyImpl final : public Policy {
 public:
  PolicyImpl(std::shared_ptr<const CompiledRules> rules,
             std::shared_ptr<const blocklist::DomainTable> table, std::string version)
      : rules_(std::move(rules)), table_(std::move(table)), version_(std::move(version)) {}

  const std::string& version() const override { return version_; }
  size_t rule_count() const override { return rules_->ast.rules.size(); }
  size_t pattern_count() const override { return rules_->pattern_count; }
  size_t domain_count() const override { return table_->size(); }
  const std::vector<Diagnostic>& warnings() const override { return rules_->warnings; }
  const lang::PolicyAst& ast() const override { return rules_->ast; }
  const blocklist::DomainTable& domains() const override { return *table_; }
  std::span<const counters::CounterRef> counters() const override { return rules_->counters; }
  std::shared_ptr<const Policy> WithApiBlocks(
      std::vector<blocklist::Entry> api_blocks) const override;

  const CompiledRules& rules() const { return *rules_; }

 private:
  std::shared_ptr<const CompiledRules> rules_;
  std::shared_ptr<const blocklist::DomainTable> table_;
  std::string version_;
};

// Builds the domain table from the policy's file entries and the API blocks.
std::shared_ptr<const blocklist::DomainTable> BuildDomainTable(
    const CompiledRules& rules, const std::vector<blocklist::Entry>& api_blocks);

// The policy version: `rules.version_prefix` completed with the canonical API blocks.
std::string FinishVersion(const CompiledRules& rules, std::vector<blocklist::Entry> api_blocks);

// "1h", "2d3h", "45s", "0s": a duration as the rule language writes it (whole seconds).
std::string FormatDurationLiteral(absl::Duration d);
// "5", "2.5", "-0.125": a number in its shortest exact form (3 fraction digits at most).
std::string FormatNumber(double v);
std::string FormatMilli(int64_t milli);

}  // namespace fedwall::policy_internal

#endif  // FEDWALL_ENGINE_POLICY_COMPILED_H_
