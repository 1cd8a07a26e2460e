// ReviewStore: where fedwalld keeps what must survive a restart: the flags waiting for (or
// resolved by) a moderator, and the domain blocks made through the AdminService.
//
// The interface is small on purpose so that an embedded store (SQLite, the default) and a
// shared one (PostgreSQL, for several evaluation nodes) can stand behind it; OpenReviewStore
// picks one from a path or URL. It knows nothing of gRPC, protobuf or the engine: the service
// hands it plain values, and keeps the matches of a flag as an opaque blob
// (`NewFlag::matches`) that the store returns unchanged.
//
// Durability: every mutating call returns only after its transaction is committed to stable
// storage, so an acknowledged flag or block survives `kill -9` (and, for SQLite with
// synchronous=FULL, a power cut; for PostgreSQL, as far as the server's synchronous_commit and
// fsync settings promise).
//
// Example:
//   absl::StatusOr<std::unique_ptr<fedwall::store::ReviewStore>> s =
//       fedwall::store::OpenSqliteStore("fedwall.db");
//   if (!s.ok()) return s.status();
//   fedwall::store::NewFlag flag{.activity_id = "https://a.example/1", ...};
//   absl::StatusOr<std::vector<fedwall::store::AddedFlag>> ids = (*s)->AddFlags({&flag, 1});
//   absl::StatusOr<fedwall::store::FlagPage> page = (*s)->ListFlags({.status = kPending});
//
// Thread-safety: implementations are thread-safe; calls may come from any thread.
#ifndef FEDWALL_SERVICE_STORE_REVIEW_STORE_H_
#define FEDWALL_SERVICE_STORE_REVIEW_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fedwall::store {

// Same numbers as fedwall.v1.FlagStatus.
enum class FlagStatus : uint8_t { kPending = 1, kApproved = 2, kRemoved = 3 };
// "pending", "approved", "removed".
const char* FlagStatusName(FlagStatus s);

// A flag to store.
struct NewFlag {
  std::string activity_id;    // the activity's "id"; at most one flag per non-empty id
  std::string activity_json;  // the activity exactly as received
  std::string actor;          // the actor's URI (may be empty when unknown)
  std::string actor_domain;   // normalised domain of the actor (filter key; block_domain target)
  std::vector<std::string> rule_ids;  // ids of the rules that matched (filter keys), in order
  std::string matches;                // opaque to the store (the service: serialized matches)
  int64_t score_milli = 0;            // total score in thousandths
  std::string policy_version;
  absl::Time created_at = absl::UnixEpoch();
  // The inbox gateway's `hold` mode: the HTTP request to deliver when a moderator approves
  // ("" when nothing is held), and the time after which its signature is too old to deliver.
  std::string held_request;
  absl::Time deliver_before = absl::UnixEpoch();
};

// What became of a held request (the gateway's `hold` mode).
enum class HeldState : uint8_t {
  kHeld = 1,       // waiting for a moderator
  kDelivered = 2,  // approved and delivered (the server answered 2xx)
  kDropped = 3,    // removed by a moderator: never delivered
  kExpired = 4,    // approved after deliver_before: not delivered (the signature was too old)
  kFailed = 5,     // approved, but the delivery failed (detail says why)
  kDelivering = 6, // approved, being delivered (after a restart: the outcome is unknown)
};
const char* HeldStateName(HeldState state);  // "held", "delivered", ...

// A flag's held request, as listings show it (without the request's bytes).
struct HeldInfo {
  absl::Time deliver_before = absl::UnixEpoch();
  HeldState state = HeldState::kHeld;
  std::string detail;  // why it failed or expired
};

// A stored flag.
struct Flag {
  std::string id;  // opaque, assigned by the store, never reused (both stores: a row number
                   // in decimal, so a later flag has a numerically larger id)
  FlagStatus status = FlagStatus::kPending;
  NewFlag data;
  std::optional<absl::Time> resolved_at;  // set once resolved
  std::string moderator;                  // who resolved it
  std::string note;
  std::optional<HeldInfo> held;           // set when the gateway holds its request
};

// What AddFlags did for one NewFlag.
struct AddedFlag {
  std::string id;
  bool existed = false;  // a flag for the same activity_id was already stored: its id
  bool held = false;     // NewFlag::held_request was stored (false: none was given, or the
                         // existing flag already holds a request for this activity)
};

// Filters of ListFlags; all given filters must hold.
struct FlagQuery {
  std::optional<FlagStatus> status;
  std::string rule_id;           // flags where this rule matched
  std::string domain;            // actor_domain is this domain or a subdomain of it (normalised)
  int32_t page_size = 50;        // <= 0: 50; capped at 1000
  std::string page_token;        // from FlagPage::next_page_token; "" for the first page
  bool include_activity = true;  // false: Flag::data.activity_json left empty
};

// One page of flags, oldest first (the order a queue is worked in).
struct FlagPage {
  std::vector<Flag> flags;
  std::string next_page_token;  // "" when this is the last page
};

// A moderator's decision on a flag.
struct Resolution {
  std::string id;
  FlagStatus status = FlagStatus::kApproved;  // kApproved or kRemoved
  std::string moderator;
  std::string note;
  absl::Time at = absl::UnixEpoch();
};

// Same numbers as fedwall.v1.Severity.
enum class BlockSeverity : uint8_t { kNoop = 1, kSilence = 2, kSuspend = 3 };

// A domain block made through the API.
struct DomainBlock {
  std::string domain;  // normalised (lower-case A-labels, no "*." or trailing dot)
  BlockSeverity severity = BlockSeverity::kSuspend;
  bool reject_media = false;
  bool reject_reports = false;
  std::string public_comment;
  std::string private_comment;
  absl::Time updated_at = absl::UnixEpoch();

  bool operator==(const DomainBlock&) const = default;
};

// What PutDomainBlocks did with each block.
struct PutBlocksResult {
  uint32_t added = 0;
  uint32_t changed = 0;
  uint32_t unchanged = 0;
  std::vector<DomainBlock> stored;  // the block as stored after the call, one per input, in order
};

// Bounds on what a store accepts: past them a call fails with InvalidArgument naming the
// field (and the index of the item in a span) before anything is written.
struct ReviewStoreLimits {
  static constexpr size_t kMaxActivityJsonBytes = size_t{16} << 20;  // NewFlag::activity_json
  static constexpr size_t kMaxMatchesBytes = size_t{16} << 20;       // NewFlag::matches
  static constexpr size_t kMaxHeldRequestBytes = size_t{17} << 20;   // NewFlag::held_request
  // Every other string: ids, actor, domains, policy_version, each rule id, moderator, note,
  // comments, FlagQuery filters.
  static constexpr size_t kMaxStringBytes = size_t{64} << 10;
  static constexpr size_t kMaxRuleIds = 10000;                 // NewFlag::rule_ids
  static constexpr size_t kMaxFlagsPerCall = 10000;            // AddFlags
  static constexpr size_t kMaxBatchBytes = size_t{256} << 20;  // all bytes of one AddFlags
  static constexpr size_t kMaxBlocksPerCall = 100000;          // PutDomainBlocks
  static constexpr int32_t kDefaultPageSize = 50;
  static constexpr int32_t kMaxPageSize = 1000;
  // A ListFlags page stops early (with a next_page_token) once its flags hold this many bytes;
  // it always holds at least one flag.
  static constexpr size_t kMaxPageBytes = size_t{8} << 20;
};

class ReviewStore {
 public:
  virtual ~ReviewStore() = default;

  // Stores flags in one transaction; results in input order. A flag whose non-empty
  // activity_id is already stored (also earlier in the same call) is not stored again: its
  // AddedFlag has the existing id and existed = true.
  virtual absl::StatusOr<std::vector<AddedFlag>> AddFlags(std::span<const NewFlag> flags) = 0;
  // InvalidArgument for a page_token that this store did not make, or made for other filters
  // (page_size and include_activity may change between pages).
  virtual absl::StatusOr<FlagPage> ListFlags(const FlagQuery& query) = 0;
  // NotFound when no flag has this id.
  virtual absl::StatusOr<Flag> GetFlag(std::string_view id) = 0;
  // Sets status, moderator, note and resolved_at; a resolved flag may be resolved again (the
  // last decision wins). NotFound; InvalidArgument when status is kPending.
  virtual absl::StatusOr<Flag> ResolveFlag(const Resolution& resolution) = 0;

  // Every API-made block, sorted by domain.
  virtual absl::StatusOr<std::vector<DomainBlock>> ListDomainBlocks() = 0;
  // Adds or updates blocks in one transaction. With `replace`, a block for a domain already
  // blocked replaces it. Without, an existing block is never weakened: the severity becomes
  // the stronger of the two, reject_media/reject_reports are or-ed, and a comment is changed
  // only when the new one is not empty. A block equal to the stored one (updated_at not
  // compared) counts as unchanged and keeps its stored updated_at; an added or changed block
  // takes the updated_at of the input. A domain given twice sees the first one's effect.
  virtual absl::StatusOr<PutBlocksResult> PutDomainBlocks(std::span<const DomainBlock> blocks,
                                                          bool replace) = 0;
  // False when no block for this domain existed.
  virtual absl::StatusOr<bool> DeleteDomainBlock(std::string_view domain) = 0;

  // The request held with flag `id` (NewFlag::held_request); NotFound when the flag has none.
  virtual absl::StatusOr<std::string> GetHeldRequest(std::string_view id) = 0;
  // Records what became of it; NotFound when the flag holds no request. Delivered, dropped
  // and expired requests are settled for good: their bytes are freed (GetHeldRequest then
  // returns "").
  virtual absl::Status SetHeldState(std::string_view id, HeldState state, std::string_view detail,
                                    absl::Time at) = 0;
  // Marks the held request kDelivering if it is kHeld or kFailed, or kDelivering since before
  // `stale_before` (a delivery that never reported back); false when another caller has it or
  // it is settled. The one claim that returns true delivers: never two at once.
  virtual absl::StatusOr<bool> ClaimHeld(std::string_view id, absl::Time at,
                                         absl::Time stale_before) = 0;
};

struct SqliteOptions {
  // synchronous=FULL: a commit survives a power cut, not only a crash of the process.
  bool full_sync = true;
  // How long a writer waits for a lock held by another process before failing.
  absl::Duration busy_timeout = absl::Seconds(5);
};

// Opens (creating when missing) a SQLite database in WAL mode and migrates its schema to the
// current version; a database with a newer schema than this build knows is refused
// (FailedPrecondition). ":memory:" gives a private in-memory store (tests).
absl::StatusOr<std::unique_ptr<ReviewStore>> OpenSqliteStore(const std::string& path,
                                                             const SqliteOptions& options = {});

struct PostgresOptions {
  // Connections kept open; each call takes one for its duration, so at most this many calls
  // run at once (1 to 64).
  int max_connections = 4;
  // Bound on opening (and re-opening) one connection: libpq's connect_timeout, in whole
  // seconds (at least 2 s, libpq's minimum). Overrides a connect_timeout given in the URL.
  absl::Duration connect_timeout = absl::Seconds(5);
  // How long a call waits for a free connection when all of them are busy (Unavailable then).
  absl::Duration acquire_timeout = absl::Seconds(10);
  // statement_timeout of every connection, so that no call waits on a lock for ever
  // (DeadlineExceeded then); zero: none.
  absl::Duration statement_timeout = absl::Seconds(60);
};

// Connects to the PostgreSQL database at `url` ("postgresql://user:password@host:port/db?...",
// or a libpq "key=value" string) and migrates its schema to the current version (once, even
// when several nodes open it at once); a database with a newer schema than this build knows
// is refused (FailedPrecondition), and so is one whose tables are not fedwall's. Several
// fedwalld nodes may share one database. Errors name the server without the password:
// InvalidArgument for a URL libpq cannot parse, Unavailable when the server cannot be reached.
absl::StatusOr<std::unique_ptr<ReviewStore>> OpenPostgresStore(const std::string& url,
                                                               const PostgresOptions& options = {});

// The store fedwalld is configured with: PostgreSQL for a "postgresql://" or "postgres://"
// URL (default PostgresOptions), else a SQLite file at the path `spec` (default
// SqliteOptions).
absl::StatusOr<std::unique_ptr<ReviewStore>> OpenReviewStore(const std::string& spec);

// Whether OpenReviewStore reads `spec` as a PostgreSQL URL ("postgresql://", "postgres://"):
// a store several nodes share.
bool IsPostgresUrl(std::string_view spec);

}  // namespace fedwall::store

#endif  // FEDWALL_SERVICE_STORE_REVIEW_STORE_H_
