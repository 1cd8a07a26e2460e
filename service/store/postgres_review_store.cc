// The PostgreSQL ReviewStore, for several fedwalld nodes sharing one database.
//
// Connections: a small pool (PostgresOptions::max_connections); each call takes a connection
// for its duration, so calls from different threads run at once. A pooled connection that the
// server closed (a restart, pg_terminate_backend) is noticed before use and re-opened
// (PQreset); a call whose connection breaks before anything could have been committed is
// retried once on the re-opened connection. A call whose connection breaks after a commit may
// have reached the server fails with Unavailable saying that the outcome is unknown.
//
// Statements: PQexecParams only, every parameter and every result in binary format. All the
// strings of the interface are stored as bytea, so that any bytes (NUL, invalid UTF-8) are kept
// exactly as SQLite keeps them and sort the same (memcmp order); times are unix microseconds
// in bigint columns.
//
// Schema (version 1; table schema_version holds ("fedwall", version), kMigrations the steps):
//   flags           one row per flag; id is an identity column (never reused); activity_id
//                   is NULL when empty so that its UNIQUE constraint only applies to real ids;
//                   rule_ids keeps NewFlag::rule_ids exactly (store_common.h's encoding).
//   flag_rules      (rule_id, flag_id) pairs, the index behind the rule filter of ListFlags.
//   domain_blocks   one row per blocked domain.
//   held_deliveries the request the inbox gateway holds with a flag, its deadline and what
//                   became of it (HeldState).
// Opening migrates in one transaction that holds an advisory lock, so nodes opening a new
// database at once migrate it once.
//
// Ids grow in commit order: AddFlags holds a transaction-level advisory lock while it inserts,
// so a reader that sees flag N sees every flag below N that will ever exist, and a page token
// ("after id N") never skips a flag committed later by another node. AddFlags calls are thereby
// serialised across nodes (each is one short transaction); reads never wait for them.
// PutDomainBlocks locks domain_blocks against other writers (SHARE ROW EXCLUSIVE) so that its
// read-merge-write never loses another node's block. ClaimHeld is one UPDATE ... RETURNING:
// of several nodes claiming at once, exactly one wins.

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/store/review_store.h"
#include "service/store/store_common.h"

namespace fedwall::store {
namespace {

using Limits = ReviewStoreLimits;
using internal::Av;
using internal::CheckString;
using internal::DecodeRuleIds;
using internal::EncodeRuleIds;
using internal::FilterFingerprint;
using internal::FlagBytes;
using internal::FlagNotFound;
using internal::MakePageToken;
using internal::ParseId;
using internal::ParsePageToken;
using internal::SameBlock;
using internal::ValidateBlock;
using internal::ValidateFlag;
using internal::ValidStatus;

// Type OIDs (pg_type.h is a server header; these numbers are fixed).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kBoolArrayOid = 1000;
constexpr Oid kByteaArrayOid = 1001;
constexpr Oid kInt8ArrayOid = 1016;

// Keys of the advisory locks ("fdw1" and neighbours).
constexpr int64_t kMigrationLock = 0x66647731;
constexpr int64_t kFlagInsertLock = 0x66647732;

constexpr const char* kApplication = "fedwall";
constexpr int kMaxConnections = 64;

// The schema steps, in order: kMigrations[i] takes a database from version i to i + 1. Never
// edit a step that has shipped; append a new one. (Fixed text without parameters: the only
// statements not sent through PQexecParams.)
constexpr const char* kMigrations[] = {
    // 1: flags, flag_rules, domain_blocks, held_deliveries.
    R"sql(
CREATE TABLE flags (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  activity_id BYTEA UNIQUE,
  activity_json BYTEA NOT NULL,
  actor BYTEA NOT NULL,
  actor_domain BYTEA NOT NULL,
  rule_ids BYTEA NOT NULL,
  matches BYTEA NOT NULL,
  score_milli BIGINT NOT NULL,
  policy_version BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  status BIGINT NOT NULL CHECK (status IN (1, 2, 3)),
  resolved_at BIGINT,
  moderator BYTEA NOT NULL DEFAULT '',
  note BYTEA NOT NULL DEFAULT ''
);
CREATE INDEX flags_by_status ON flags (status, id);
CREATE INDEX flags_by_domain ON flags (actor_domain, id);
CREATE TABLE flag_rules (
  rule_id BYTEA NOT NULL,
  flag_id BIGINT NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
  PRIMARY KEY (rule_id, flag_id)
);
CREATE INDEX flag_rules_by_flag ON flag_rules (flag_id);
CREATE TABLE domain_blocks (
  domain BYTEA PRIMARY KEY,
  severity BIGINT NOT NULL CHECK (severity IN (1, 2, 3)),
  reject_media BOOLEAN NOT NULL,
  reject_reports BOOLEAN NOT NULL,
  public_comment BYTEA NOT NULL,
  private_comment BYTEA NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE held_deliveries (
  flag_id BIGINT PRIMARY KEY REFERENCES flags (id) ON DELETE CASCADE,
  request BYTEA NOT NULL,
  deliver_before BIGINT NOT NULL,
  state BIGINT NOT NULL CHECK (state IN (1, 2, 3, 4, 5, 6)),
  detail BYTEA NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL
);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// ---- Connection strings and secrets ----

// The password of a URL or key=value string as written (percent-encoded or not), so that
// error messages never show it even when libpq could not parse the string.
std::vector<std::string> RawSecrets(const std::string& conninfo) {
  std::vector<std::string> out;
  const size_t scheme = conninfo.find("://");
  if (scheme != std::string::npos) {
    const std::string_view rest = std::string_view(conninfo).substr(scheme + 3);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    const size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      const std::string_view userinfo = authority.substr(0, at);
      const size_t colon = userinfo.find(':');
      if (colon != std::string_view::npos && colon + 1 < userinfo.size()) {
        out.emplace_back(userinfo.substr(colon + 1));
      }
    }
  }
  // "password=..." in a query string or a key=value string.
  for (size_t pos = conninfo.find("password="); pos != std::string::npos;
       pos = conninfo.find("password=", pos + 1)) {
    const size_t start = pos + 9;
    const size_t end = conninfo.find_first_of(" &'", start);
    const std::string value =
        conninfo.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!value.empty()) out.push_back(value);
  }
  return out;
}

std::string Redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    text = absl::StrReplaceAll(text, {{s, "***"}});
  }
  return text;
}

std::string TrimMessage(const char* msg) {
  return std::string(absl::StripTrailingAsciiWhitespace(msg != nullptr ? msg : ""));
}

// ---- Parameters and results ----

void PutBE32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
std::string Int8Bytes(int64_t v) {
  std::string out;
  const uint64_t u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(u >> shift));
  return out;
}

// A one-dimensional array in PostgreSQL's binary format, without NULL elements.
std::string EncodeArray(Oid element_type, const std::vector<std::string>& elements) {
  std::string out;
  size_t total = 20;
  for (const std::string& e : elements) total += 4 + e.size();
  out.reserve(total);
  PutBE32(&out, elements.empty() ? 0 : 1);  // dimensions
  PutBE32(&out, 0);                         // no NULLs
  PutBE32(&out, element_type);
  if (!elements.empty()) {
    PutBE32(&out, static_cast<uint32_t>(elements.size()));
    PutBE32(&out, 1);  // lower bound
  }
  for (const std::string& e : elements) {
    PutBE32(&out, static_cast<uint32_t>(e.size()));
    out += e;
  }
  return out;
}

// The parameters of one statement ($1, $2, ... in the order added), all in binary format.
class Params {
 public:
  Params& Int64(int64_t v) { return Own(kInt8Oid, Int8Bytes(v)); }
  // The bytes are borrowed: they must outlive the statement.
  Params& Bytes(std::string_view v) {
    return Add(kByteaOid, v.empty() ? kEmpty : v.data(), v.size());
  }
  // NULL for "".
  Params& BytesOrNull(std::string_view v) {
    if (v.empty()) return Add(kByteaOid, nullptr, 0);
    return Bytes(v);
  }
  Params& Array(Oid array_type, std::string encoded) { return Own(array_type, std::move(encoded)); }

  int size() const { return static_cast<int>(types_.size()); }
  const Oid* types() const { return types_.data(); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  static constexpr const char* kEmpty = "";

  Params& Own(Oid type, std::string bytes) {
    owned_.push_back(std::move(bytes));  // a deque: earlier elements never move
    return Add(type, owned_.back().data(), owned_.back().size());
  }
  Params& Add(Oid type, const char* data, size_t size) {
    types_.push_back(type);
    values_.push_back(data);
    lengths_.push_back(static_cast<int>(size));
    formats_.push_back(1);
    return *this;
  }

  std::deque<std::string> owned_;
  std::vector<Oid> types_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

bool IsNull(const PGresult* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }

// Bytes of a bytea/text column in binary format (NULL reads as "").
std::string GetBytes(const PGresult* r, int row, int col) {
  if (IsNull(r, row, col)) return std::string();
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

absl::StatusOr<int64_t> GetInt64(const PGresult* r, int row, int col) {
  if (IsNull(r, row, col) || PQgetlength(r, row, col) != 8) {
    return absl::DataLossError(
        absl::StrCat("review store: column ", PQfname(r, col), " is not a bigint as expected"));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
  return static_cast<int64_t>(u);
}

absl::StatusOr<bool> GetBool(const PGresult* r, int row, int col) {
  if (IsNull(r, row, col) || PQgetlength(r, row, col) != 1) {
    return absl::DataLossError(
        absl::StrCat("review store: column ", PQfname(r, col), " is not a boolean as expected"));
  }
  return PQgetvalue(r, row, col)[0] != 0;
}

// The status for a failed statement: the server's message and SQLSTATE.
absl::Status PgError(PGconn* conn, const PGresult* res, std::string_view op,
                     const std::vector<std::string>& secrets) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = TrimMessage(res != nullptr ? PQresultErrorMessage(res) : nullptr);
  if (msg.empty()) msg = TrimMessage(PQerrorMessage(conn));
  if (msg.empty()) msg = "no message from libpq";
  const std::string_view sqlstate = state != nullptr ? state : "";
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (PQstatus(conn) == CONNECTION_BAD || sqlstate.empty()) {
    code = absl::StatusCode::kUnavailable;  // the connection, not the statement
  } else if (sqlstate == "57014") {
    code = absl::StatusCode::kDeadlineExceeded;  // statement_timeout
  } else if (sqlstate == "XX001" || sqlstate == "XX002") {
    code = absl::StatusCode::kDataLoss;
  } else if (absl::StartsWith(Av(sqlstate), "53")) {
    code = sqlstate == "53300" ? absl::StatusCode::kUnavailable  // too many connections
                               : absl::StatusCode::kResourceExhausted;
  } else if (sqlstate == "42501") {
    code = absl::StatusCode::kPermissionDenied;
  } else if (absl::StartsWith(Av(sqlstate), "42")) {
    code = absl::StatusCode::kFailedPrecondition;  // the schema is not what it should be
  } else if (absl::StartsWith(Av(sqlstate), "22") || absl::StartsWith(Av(sqlstate), "23") ||
             absl::StartsWith(Av(sqlstate), "XX")) {
    code = absl::StatusCode::kInternal;
  }
  return absl::Status(code, Redact(absl::StrCat("review store: ", Av(op), ": ", msg,
                                                sqlstate.empty() ? "" : " (SQLSTATE ", Av(sqlstate),
                                                sqlstate.empty() ? "" : ")"),
                                   secrets));
}

// ---- Reading rows ----

// The columns every flag query selects (flags AS f LEFT JOIN held_deliveries AS h), in this
// order; activity_json last, only when asked.
constexpr const char* kFlagColumns =
    "f.id, f.status, f.activity_id, f.actor, f.actor_domain, f.rule_ids, f.matches, "
    "f.score_milli, f.policy_version, f.created_at, f.resolved_at, f.moderator, f.note, "
    "h.deliver_before, h.state, h.detail";
enum FlagColumn : int {
  kColId = 0,
  kColStatus,
  kColActivityId,
  kColActor,
  kColActorDomain,
  kColRuleIds,
  kColMatches,
  kColScore,
  kColPolicyVersion,
  kColCreatedAt,
  kColResolvedAt,
  kColModerator,
  kColNote,
  kColHeldBefore,
  kColHeldState,
  kColHeldDetail,
  kColActivityJson,
};

absl::StatusOr<Flag> ReadFlag(const PGresult* r, int row, bool with_activity) {
  Flag f;
  absl::StatusOr<int64_t> id = GetInt64(r, row, kColId);
  if (!id.ok()) return id.status();
  f.id = absl::StrCat(*id);
  absl::StatusOr<int64_t> status = GetInt64(r, row, kColStatus);
  if (!status.ok()) return status.status();
  if (*status < 1 || *status > 3) {
    return absl::DataLossError(
        absl::StrCat("review store: flag ", *id, " has an unknown status ", *status));
  }
  f.status = static_cast<FlagStatus>(*status);
  f.data.activity_id = GetBytes(r, row, kColActivityId);
  f.data.actor = GetBytes(r, row, kColActor);
  f.data.actor_domain = GetBytes(r, row, kColActorDomain);
  std::optional<std::vector<std::string>> rules = DecodeRuleIds(GetBytes(r, row, kColRuleIds));
  if (!rules.has_value()) {
    return absl::DataLossError(absl::StrCat("review store: flag ", *id, " has corrupt rule_ids"));
  }
  f.data.rule_ids = *std::move(rules);
  f.data.matches = GetBytes(r, row, kColMatches);
  absl::StatusOr<int64_t> score = GetInt64(r, row, kColScore);
  if (!score.ok()) return score.status();
  f.data.score_milli = *score;
  f.data.policy_version = GetBytes(r, row, kColPolicyVersion);
  absl::StatusOr<int64_t> created = GetInt64(r, row, kColCreatedAt);
  if (!created.ok()) return created.status();
  f.data.created_at = absl::FromUnixMicros(*created);
  if (!IsNull(r, row, kColResolvedAt)) {
    absl::StatusOr<int64_t> resolved = GetInt64(r, row, kColResolvedAt);
    if (!resolved.ok()) return resolved.status();
    f.resolved_at = absl::FromUnixMicros(*resolved);
  }
  f.moderator = GetBytes(r, row, kColModerator);
  f.note = GetBytes(r, row, kColNote);
  if (!IsNull(r, row, kColHeldState)) {
    absl::StatusOr<int64_t> state = GetInt64(r, row, kColHeldState);
    if (!state.ok()) return state.status();
    if (*state < 1 || *state > 6) {
      return absl::DataLossError(
          absl::StrCat("review store: flag ", *id, " has an unknown held state ", *state));
    }
    absl::StatusOr<int64_t> before = GetInt64(r, row, kColHeldBefore);
    if (!before.ok()) return before.status();
    HeldInfo held;
    held.deliver_before = absl::FromUnixMicros(*before);
    held.state = static_cast<HeldState>(*state);
    held.detail = GetBytes(r, row, kColHeldDetail);
    f.held = std::move(held);
  }
  if (with_activity) f.data.activity_json = GetBytes(r, row, kColActivityJson);
  return f;
}

constexpr const char* kBlockColumns =
    "domain, severity, reject_media, reject_reports, public_comment, private_comment, "
    "updated_at";

absl::StatusOr<DomainBlock> ReadBlock(const PGresult* r, int row) {
  DomainBlock b;
  b.domain = GetBytes(r, row, 0);
  absl::StatusOr<int64_t> severity = GetInt64(r, row, 1);
  if (!severity.ok()) return severity.status();
  if (*severity < 1 || *severity > 3) {
    return absl::DataLossError(
        absl::StrCat("review store: block of ", b.domain, " has an unknown severity ", *severity));
  }
  b.severity = static_cast<BlockSeverity>(*severity);
  absl::StatusOr<bool> media = GetBool(r, row, 2);
  if (!media.ok()) return media.status();
  absl::StatusOr<bool> reports = GetBool(r, row, 3);
  if (!reports.ok()) return reports.status();
  b.reject_media = *media;
  b.reject_reports = *reports;
  b.public_comment = GetBytes(r, row, 4);
  b.private_comment = GetBytes(r, row, 5);
  absl::StatusOr<int64_t> updated = GetInt64(r, row, 6);
  if (!updated.ok()) return updated.status();
  b.updated_at = absl::FromUnixMicros(*updated);
  return b;
}

absl::Status HeldNotFound(std::string_view id) {
  const std::string_view shown = id.substr(0, 64);
  return absl::NotFoundError(absl::StrCat("review store: flag \"", Av(shown),
                                          shown.size() < id.size() ? "...\"" : "\"",
                                          " holds no request"));
}

// ---- The store ----

class PostgresReviewStore;

// One pooled connection, lent to one call at a time.
class Conn {
 public:
  Conn(PGconn* pg, const std::vector<std::string>* secrets) : pg_(pg), secrets_(secrets) {}
  ~Conn() { PQfinish(pg_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  PGconn* pg() const { return pg_; }
  // Whether a statement that may have committed something was sent since the call began.
  bool maybe_committed() const { return maybe_committed_; }
  void StartCall() { maybe_committed_ = false; }

  // Runs one statement. `commits`: it may commit (COMMIT, or a write outside a transaction).
  absl::StatusOr<Result> Exec(std::string_view op, const std::string& sql, const Params& params,
                              bool commits = false) {
    if (commits) maybe_committed_ = true;
    Result res(PQexecParams(pg_, sql.c_str(), params.size(), params.types(), params.values(),
                            params.lengths(), params.formats(), /*resultFormat=*/1));
    const ExecStatusType st = res != nullptr ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return PgError(pg_, res.get(), op, *secrets_);
    }
    return res;
  }
  absl::Status Exec(std::string_view op, const std::string& sql, bool commits = false) {
    absl::StatusOr<Result> r = Exec(op, sql, Params(), commits);
    return r.status();
  }
  absl::Status Begin() { return Exec("begin transaction", "BEGIN"); }
  absl::Status Commit() { return Exec("commit", "COMMIT", /*commits=*/true); }

  // True when the server closed the connection while it sat in the pool (its socket is
  // readable, and reading finds the end).
  bool ClosedWhileIdle() {
    if (PQstatus(pg_) != CONNECTION_OK) return true;
    pollfd p{.fd = PQsocket(pg_), .events = POLLIN, .revents = 0};
    if (p.fd < 0) return true;
    if (poll(&p, 1, 0) <= 0) return false;
    PQconsumeInput(pg_);  // reads a termination notice and the end of the stream
    return PQstatus(pg_) != CONNECTION_OK;
  }

 private:
  PGconn* const pg_;
  const std::vector<std::string>* const secrets_;
  bool maybe_committed_ = false;
};

class PostgresReviewStore final : public ReviewStore {
 public:
  PostgresReviewStore(std::string conninfo, std::string shown, std::vector<std::string> secrets,
                      const PostgresOptions& options)
      : conninfo_(std::move(conninfo)),
        shown_(std::move(shown)),
        secrets_(std::move(secrets)),
        options_(options) {}
  ~PostgresReviewStore() override {
    absl::MutexLock lock(&mu_);
    idle_.clear();  // every call has returned its connection: the store is no longer used
  }
  PostgresReviewStore(const PostgresReviewStore&) = delete;
  PostgresReviewStore& operator=(const PostgresReviewStore&) = delete;

  // Connects once and migrates the schema.
  absl::Status Init();

  absl::StatusOr<std::vector<AddedFlag>> AddFlags(std::span<const NewFlag> flags) override;
  absl::StatusOr<FlagPage> ListFlags(const FlagQuery& query) override;
  absl::StatusOr<Flag> GetFlag(std::string_view id) override;
  absl::StatusOr<Flag> ResolveFlag(const Resolution& resolution) override;
  absl::StatusOr<std::vector<DomainBlock>> ListDomainBlocks() override;
  absl::StatusOr<PutBlocksResult> PutDomainBlocks(std::span<const DomainBlock> blocks,
                                                  bool replace) override;
  absl::StatusOr<bool> DeleteDomainBlock(std::string_view domain) override;
  absl::StatusOr<std::string> GetHeldRequest(std::string_view id) override;
  absl::Status SetHeldState(std::string_view id, HeldState state, std::string_view detail,
                            absl::Time at) override;
  absl::StatusOr<bool> ClaimHeld(std::string_view id, absl::Time at,
                                 absl::Time stale_before) override;

 private:
  // A connection taken from the pool; given back (or closed when unusable) on destruction.
  class Lease {
   public:
    Lease(PostgresReviewStore* store, std::unique_ptr<Conn> conn)
        : store_(store), conn_(std::move(conn)) {}
    ~Lease() { store_->Release(std::move(conn_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Conn& operator*() const { return *conn_; }

   private:
    PostgresReviewStore* store_;
    std::unique_ptr<Conn> conn_;
  };

  absl::StatusOr<std::unique_ptr<Conn>> Connect();
  absl::StatusOr<std::unique_ptr<Lease>> Acquire();
  void Release(std::unique_ptr<Conn> conn);
  absl::Status Reset(Conn& conn);

  // Runs `fn(conn)` on a pooled connection (see the file comment for the one retry). `fn`
  // may leave a transaction open on failure: it is rolled back here.
  template <typename T, typename F>
  absl::StatusOr<T> Run(std::string_view op, F fn);

  absl::Status Migrate(Conn& conn);
  absl::StatusOr<std::optional<Flag>> FindFlag(Conn& conn, int64_t id);
  // Inserts a held request for `flag_id`; `keep_existing`: ON CONFLICT DO NOTHING. True when
  // a row was added.
  absl::StatusOr<bool> InsertHeld(Conn& conn, int64_t flag_id, const NewFlag& f,
                                  bool keep_existing);

  const std::string conninfo_;
  const std::string shown_;  // conninfo_ without its password, for messages
  const std::vector<std::string> secrets_;
  const PostgresOptions options_;

  absl::Mutex mu_;
  absl::CondVar free_;  // signalled when a connection comes back or a slot frees up
  std::vector<std::unique_ptr<Conn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // connections open or being opened, lent or idle
};

absl::StatusOr<std::unique_ptr<Conn>> PostgresReviewStore::Connect() {
  const std::string timeout =
      absl::StrCat(std::max<int64_t>(2, absl::ToInt64Seconds(options_.connect_timeout)));
  // Keywords are applied in order, the URL where "dbname" stands (expand_dbname = 1): the
  // URL may change the keepalive settings before it, not the connect_timeout after it.
  // Keepalives and tcp_user_timeout end a call whose server or network went away mid-query.
  const char* keys[] = {"keepalives",       "keepalives_idle",           "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout",          "dbname",
                        "connect_timeout",  "fallback_application_name", nullptr};
  const char* values[] = {
      "1", "30", "10", "3", "60000", conninfo_.c_str(), timeout.c_str(), "fedwalld", nullptr};
  PGconn* pg = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (pg == nullptr) return absl::ResourceExhaustedError("review store: libpq is out of memory");
  auto conn = std::make_unique<Conn>(pg, &secrets_);
  if (PQstatus(pg) != CONNECTION_OK) {
    return absl::UnavailableError(Redact(
        absl::StrCat("review store: connect to ", shown_, ": ", TrimMessage(PQerrorMessage(pg))),
        secrets_));
  }
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(options_.statement_timeout));
  absl::StatusOr<Result> set =
      conn->Exec("set statement_timeout",
                 "SELECT set_config('statement_timeout', convert_from($1, 'UTF8'), false)",
                 Params().Bytes(absl::StrCat(ms)));
  if (!set.ok()) return set.status();
  return conn;
}

absl::Status PostgresReviewStore::Reset(Conn& conn) {
  PQreset(conn.pg());
  if (PQstatus(conn.pg()) != CONNECTION_OK) {
    return absl::UnavailableError(Redact(absl::StrCat("review store: reconnect to ", shown_, ": ",
                                                      TrimMessage(PQerrorMessage(conn.pg()))),
                                         secrets_));
  }
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(options_.statement_timeout));
  absl::StatusOr<Result> set =
      conn.Exec("set statement_timeout",
                "SELECT set_config('statement_timeout', convert_from($1, 'UTF8'), false)",
                Params().Bytes(absl::StrCat(ms)));
  return set.status();
}

absl::StatusOr<std::unique_ptr<PostgresReviewStore::Lease>> PostgresReviewStore::Acquire() {
  std::unique_ptr<Conn> conn;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + options_.acquire_timeout;
    while (idle_.empty() && open_ >= options_.max_connections) {
      if (free_.WaitWithDeadline(&mu_, deadline) && idle_.empty() &&
          open_ >= options_.max_connections) {
        return absl::UnavailableError(absl::StrCat("review store: all ", options_.max_connections,
                                                   " connections to ", shown_, " stayed busy for ",
                                                   absl::FormatDuration(options_.acquire_timeout)));
      }
    }
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  if (conn == nullptr) {
    absl::StatusOr<std::unique_ptr<Conn>> made = Connect();
    if (!made.ok()) {
      absl::MutexLock lock(&mu_);
      --open_;
      free_.Signal();
      return made.status();
    }
    conn = *std::move(made);
  } else if (conn->ClosedWhileIdle()) {
    if (absl::Status s = Reset(*conn); !s.ok()) {
      Release(std::move(conn));  // closed there: not usable
      return s;
    }
  }
  return std::make_unique<Lease>(this, std::move(conn));
}

void PostgresReviewStore::Release(std::unique_ptr<Conn> conn) {
  if (conn == nullptr) return;
  const bool usable =
      PQstatus(conn->pg()) == CONNECTION_OK && PQtransactionStatus(conn->pg()) == PQTRANS_IDLE;
  if (!usable) conn.reset();  // closed outside the lock
  absl::MutexLock lock(&mu_);
  if (usable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  free_.Signal();
}

template <typename T, typename F>
absl::StatusOr<T> PostgresReviewStore::Run(std::string_view op, F fn) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<std::unique_ptr<Lease>> lease = Acquire();
    if (!lease.ok()) return lease.status();
    Conn& conn = ***lease;
    conn.StartCall();
    absl::StatusOr<T> result = fn(conn);
    if (result.ok()) return result;
    if (PQstatus(conn.pg()) == CONNECTION_OK) {
      // A failed statement: leave no transaction open behind it.
      if (PQtransactionStatus(conn.pg()) != PQTRANS_IDLE) {
        (void)conn.Exec("rollback", "ROLLBACK");
      }
      return result;
    }
    // The connection broke.
    if (conn.maybe_committed()) {
      return absl::UnavailableError(
          absl::StrCat("review store: ", Av(op),
                       ": the connection was lost after the write was sent, so it "
                       "may or may not have been committed: ",
                       result.status().message()));
    }
    if (attempt > 0) return result;
    if (absl::Status s = Reset(conn); !s.ok()) {
      return absl::UnavailableError(
          absl::StrCat(result.status().message(), "; then: ", s.message()));
    }
  }
}

absl::Status PostgresReviewStore::Init() {
  absl::StatusOr<std::unique_ptr<Lease>> lease = Acquire();
  if (!lease.ok()) return lease.status();
  Conn& conn = ***lease;
  absl::Status s = Migrate(conn);
  if (s.ok()) return s;
  if (PQstatus(conn.pg()) == CONNECTION_OK && PQtransactionStatus(conn.pg()) != PQTRANS_IDLE) {
    (void)conn.Exec("rollback", "ROLLBACK");
  }
  // Name the database: "review store: postgresql://user@host:port/db: ...".
  return absl::Status(s.code(), absl::StrCat("review store: ", shown_, ": ",
                                             absl::StripPrefix(s.message(), "review store: ")));
}

absl::Status PostgresReviewStore::Migrate(Conn& conn) {
  if (absl::Status s = conn.Begin(); !s.ok()) return s;
  // Nodes opening the database at once: one migrates, the others wait and then see it done.
  absl::StatusOr<Result> locked = conn.Exec("lock the schema", "SELECT pg_advisory_xact_lock($1)",
                                            Params().Int64(kMigrationLock));
  if (!locked.ok()) return locked.status();
  absl::StatusOr<Result> tables =
      conn.Exec("look for the schema",
                "SELECT (to_regclass('schema_version') IS NOT NULL)::int::int8, "
                "(to_regclass('flags') IS NOT NULL OR to_regclass('flag_rules') IS NOT NULL OR "
                "to_regclass('domain_blocks') IS NOT NULL OR "
                "to_regclass('held_deliveries') IS NOT NULL)::int::int8",
                Params());
  if (!tables.ok()) return tables.status();
  absl::StatusOr<int64_t> has_version = GetInt64(tables->get(), 0, 0);
  if (!has_version.ok()) return has_version.status();
  absl::StatusOr<int64_t> has_tables = GetInt64(tables->get(), 0, 1);
  if (!has_tables.ok()) return has_tables.status();

  int64_t version = 0;
  if (*has_version != 0) {
    absl::StatusOr<Result> row = conn.Exec(
        "read schema_version", "SELECT application, version FROM schema_version", Params());
    if (!row.ok()) return row.status();
    if (PQntuples(row->get()) != 1 || GetBytes(row->get(), 0, 0) != kApplication) {
      return absl::FailedPreconditionError(
          "review store: not a fedwall database (its schema_version table is another "
          "application's)");
    }
    absl::StatusOr<int64_t> v = GetInt64(row->get(), 0, 1);
    if (!v.ok()) return v.status();
    version = *v;
  } else if (*has_tables != 0) {
    return absl::FailedPreconditionError(
        "review store: not a fedwall database (it has tables named like fedwall's but no "
        "fedwall schema_version)");
  }
  if (version < 0 || version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "review store: the database has schema version ", version, ", newer than version ",
        kSchemaVersion, " that this build knows; use a newer fedwalld or another database"));
  }
  if (version == kSchemaVersion) return conn.Exec("end schema check", "ROLLBACK");
  if (version == 0) {
    if (absl::Status s = conn.Exec("create schema_version",
                                   "CREATE TABLE schema_version (application TEXT NOT NULL, "
                                   "version BIGINT NOT NULL)");
        !s.ok()) {
      return s;
    }
    absl::StatusOr<Result> ins = conn.Exec(
        "fill schema_version",
        "INSERT INTO schema_version (application, version) VALUES ('fedwall', 0)", Params());
    if (!ins.ok()) return ins.status();
  }
  for (int next = static_cast<int>(version) + 1; next <= kSchemaVersion; ++next) {
    // Several statements without parameters: PQexec, the only place it is used.
    Result res(PQexec(conn.pg(), kMigrations[next - 1]));
    if (res == nullptr || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return PgError(conn.pg(), res.get(), absl::StrCat("migrate schema to version ", next),
                     secrets_);
    }
    absl::StatusOr<Result> set = conn.Exec(
        "set schema_version", "UPDATE schema_version SET version = $1", Params().Int64(next));
    if (!set.ok()) return set.status();
  }
  return conn.Commit();
}

absl::StatusOr<bool> PostgresReviewStore::InsertHeld(Conn& conn, int64_t flag_id, const NewFlag& f,
                                                     bool keep_existing) {
  static const std::string kInsert =
      "INSERT INTO held_deliveries (flag_id, request, deliver_before, state, updated_at) "
      "VALUES ($1, $2, $3, 1, $4)";
  static const std::string kInsertOrIgnore = kInsert + " ON CONFLICT (flag_id) DO NOTHING";
  absl::StatusOr<Result> r =
      conn.Exec("insert held request", keep_existing ? kInsertOrIgnore : kInsert,
                Params()
                    .Int64(flag_id)
                    .Bytes(f.held_request)
                    .Int64(absl::ToUnixMicros(f.deliver_before))
                    .Int64(absl::ToUnixMicros(f.created_at)));
  if (!r.ok()) return r.status();
  return std::string_view(PQcmdTuples(r->get())) == "1";
}

absl::StatusOr<std::vector<AddedFlag>> PostgresReviewStore::AddFlags(
    std::span<const NewFlag> flags) {
  if (flags.size() > Limits::kMaxFlagsPerCall) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", flags.size(),
                                                   " flags in one call; at most ",
                                                   Limits::kMaxFlagsPerCall, " allowed"));
  }
  size_t batch_bytes = 0;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (absl::Status s = ValidateFlag(i, flags[i], &batch_bytes); !s.ok()) return s;
  }
  if (flags.empty()) return std::vector<AddedFlag>();

  static const std::string kFind = "SELECT id FROM flags WHERE activity_id = $1";
  static const std::string kInsert =
      "INSERT INTO flags (activity_id, activity_json, actor, actor_domain, rule_ids, matches, "
      "score_milli, policy_version, created_at, status) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1) "
      "ON CONFLICT (activity_id) DO NOTHING RETURNING id";
  static const std::string kLink =
      "INSERT INTO flag_rules (rule_id, flag_id) SELECT DISTINCT r, $2::int8 "
      "FROM unnest($1::bytea[]) AS u (r) ON CONFLICT DO NOTHING";
  return Run<std::vector<AddedFlag>>(
      "add flags", [&](Conn& conn) -> absl::StatusOr<std::vector<AddedFlag>> {
        std::vector<AddedFlag> out;
        out.reserve(flags.size());
        if (absl::Status s = conn.Begin(); !s.ok()) return s;
        // Ids in commit order (file comment); released at COMMIT or ROLLBACK.
        absl::StatusOr<Result> locked =
            conn.Exec("lock flag inserts", "SELECT pg_advisory_xact_lock($1)",
                      Params().Int64(kFlagInsertLock));
        if (!locked.ok()) return locked.status();
        for (const NewFlag& f : flags) {
          std::optional<int64_t> existing;
          if (!f.activity_id.empty()) {
            // Inside the transaction, so flags stored earlier in this call are seen too.
            absl::StatusOr<Result> found =
                conn.Exec("look up flag by activity id", kFind, Params().Bytes(f.activity_id));
            if (!found.ok()) return found.status();
            if (PQntuples(found->get()) == 1) {
              absl::StatusOr<int64_t> id = GetInt64(found->get(), 0, 0);
              if (!id.ok()) return id.status();
              existing = *id;
            }
          }
          if (existing.has_value()) {
            bool held = false;
            if (!f.held_request.empty()) {
              // The same activity sent again (to another inbox, or after a flag made through the
              // API): held with the flag unless it already holds a copy.
              absl::StatusOr<bool> inserted =
                  InsertHeld(conn, *existing, f, /*keep_existing=*/true);
              if (!inserted.ok()) return inserted.status();
              held = *inserted;
            }
            out.push_back({absl::StrCat(*existing), true, held});
            continue;
          }
          const std::string rule_ids = EncodeRuleIds(f.rule_ids);
          absl::StatusOr<Result> inserted = conn.Exec("insert flag", kInsert,
                                                      Params()
                                                          .BytesOrNull(f.activity_id)
                                                          .Bytes(f.activity_json)
                                                          .Bytes(f.actor)
                                                          .Bytes(f.actor_domain)
                                                          .Bytes(rule_ids)
                                                          .Bytes(f.matches)
                                                          .Int64(f.score_milli)
                                                          .Bytes(f.policy_version)
                                                          .Int64(absl::ToUnixMicros(f.created_at)));
          if (!inserted.ok()) return inserted.status();
          if (PQntuples(inserted->get()) != 1) {
            // Only possible without the insert lock (a newer node's schema would take it too).
            return absl::UnavailableError(absl::StrCat(
                "review store: another node stored a flag for the same activity at the same time; "
                "try again"));
          }
          absl::StatusOr<int64_t> id = GetInt64(inserted->get(), 0, 0);
          if (!id.ok()) return id.status();
          if (!f.rule_ids.empty()) {
            std::vector<std::string> rules(f.rule_ids.begin(), f.rule_ids.end());
            absl::StatusOr<Result> linked =
                conn.Exec("insert flag rules", kLink,
                          Params().Array(kByteaArrayOid, EncodeArray(kByteaOid, rules)).Int64(*id));
            if (!linked.ok()) return linked.status();
          }
          bool held = false;
          if (!f.held_request.empty()) {
            absl::StatusOr<bool> h = InsertHeld(conn, *id, f, /*keep_existing=*/false);
            if (!h.ok()) return h.status();
            held = *h;
          }
          out.push_back({absl::StrCat(*id), false, held});
        }
        if (absl::Status s = conn.Commit(); !s.ok()) return s;
        return out;
      });
}

absl::StatusOr<bool> PostgresReviewStore::ClaimHeld(std::string_view id, absl::Time at,
                                                    absl::Time stale_before) {
  const std::optional<int64_t> n = ParseId(id);
  if (!n.has_value()) return HeldNotFound(id);
  static const std::string kClaim =
      "UPDATE held_deliveries SET state = 6, detail = '', updated_at = $1 WHERE flag_id = $2 "
      "AND (state IN (1, 5) OR (state = 6 AND updated_at < $3)) RETURNING flag_id";
  // One statement: of several nodes claiming at once, the first to update wins; the others
  // wait for its commit, then find the row no longer claimable.
  return Run<bool>("claim held request", [&](Conn& conn) -> absl::StatusOr<bool> {
    absl::StatusOr<Result> r = conn.Exec(
        "claim held request", kClaim,
        Params().Int64(absl::ToUnixMicros(at)).Int64(*n).Int64(absl::ToUnixMicros(stale_before)),
        /*commits=*/true);
    if (!r.ok()) return r.status();
    return PQntuples(r->get()) == 1;
  });
}

absl::StatusOr<std::string> PostgresReviewStore::GetHeldRequest(std::string_view id) {
  const std::optional<int64_t> n = ParseId(id);
  if (!n.has_value()) return HeldNotFound(id);
  static const std::string kFind = "SELECT request FROM held_deliveries WHERE flag_id = $1";
  return Run<std::string>("read held request", [&](Conn& conn) -> absl::StatusOr<std::string> {
    absl::StatusOr<Result> r = conn.Exec("read held request", kFind, Params().Int64(*n));
    if (!r.ok()) return r.status();
    if (PQntuples(r->get()) != 1) return HeldNotFound(id);
    return GetBytes(r->get(), 0, 0);
  });
}

absl::Status PostgresReviewStore::SetHeldState(std::string_view id, HeldState state,
                                               std::string_view detail, absl::Time at) {
  if (absl::Status s = CheckString("detail", detail); !s.ok()) return s;
  const int64_t state_number = static_cast<int64_t>(state);
  if (state_number < 1 || state_number > 6) {
    return absl::InvalidArgumentError(
        absl::StrCat("review store: held state has the unknown value ", state_number));
  }
  const std::optional<int64_t> n = ParseId(id);
  if (!n.has_value()) return HeldNotFound(id);
  // Once delivered, dropped or expired the request is never sent: its bytes are freed.
  static const std::string kUpdate =
      "UPDATE held_deliveries SET state = $1, detail = $2, updated_at = $3, "
      "request = CASE WHEN $1 IN (2, 3, 4) THEN ''::bytea ELSE request END "
      "WHERE flag_id = $4 RETURNING flag_id";
  return Run<bool>("update held state",
                   [&](Conn& conn) -> absl::StatusOr<bool> {
                     absl::StatusOr<Result> r =
                         conn.Exec("update held state", kUpdate,
                                   Params()
                                       .Int64(state_number)
                                       .Bytes(detail)
                                       .Int64(absl::ToUnixMicros(at))
                                       .Int64(*n),
                                   // Idempotent: safe to retry once on a new connection.
                                   /*commits=*/false);
                     if (!r.ok()) return r.status();
                     if (PQntuples(r->get()) != 1) return HeldNotFound(id);
                     return true;
                   })
      .status();
}

absl::StatusOr<FlagPage> PostgresReviewStore::ListFlags(const FlagQuery& query) {
  if (query.status.has_value() && !ValidStatus(*query.status)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "review store: status filter has the unknown value ", static_cast<int>(*query.status)));
  }
  if (absl::Status s = CheckString("rule_id filter", query.rule_id); !s.ok()) return s;
  if (absl::Status s = CheckString("domain filter", query.domain); !s.ok()) return s;
  const uint64_t fingerprint = FilterFingerprint(query);
  int64_t after = 0;
  if (!query.page_token.empty()) {
    absl::StatusOr<int64_t> parsed = ParsePageToken(query.page_token, fingerprint);
    if (!parsed.ok()) return parsed.status();
    after = *parsed;
  }
  const int32_t page_size = query.page_size <= 0 ? Limits::kDefaultPageSize
                                                 : std::min(query.page_size, Limits::kMaxPageSize);

  Params params;
  params.Int64(after).Int64(int64_t{page_size} + 1);  // $1, $2
  int next = 3;
  std::string sql =
      absl::StrCat("SELECT ", kFlagColumns, query.include_activity ? ", f.activity_json" : "",
                   " FROM flags AS f LEFT JOIN held_deliveries AS h ON h.flag_id = f.id");
  if (!query.rule_id.empty()) {
    absl::StrAppend(&sql, " JOIN flag_rules AS r ON r.flag_id = f.id AND r.rule_id = $", next++);
    params.Bytes(query.rule_id);
  }
  absl::StrAppend(&sql, " WHERE f.id > $1");
  if (query.status.has_value()) {
    absl::StrAppend(&sql, " AND f.status = $", next++);
    params.Int64(static_cast<int64_t>(*query.status));
  }
  const std::string dotted = absl::StrCat(".", query.domain);
  if (!query.domain.empty()) {
    // The domain itself or a subdomain: "b.example" covers "social.b.example".
    const int d = next++;
    const int dot = next++;
    absl::StrAppend(&sql, " AND (f.actor_domain = $", d, " OR substr(f.actor_domain, ",
                    "length(f.actor_domain) - length($", dot, ") + 1) = $", dot, ")");
    params.Bytes(query.domain).Bytes(dotted);
  }
  absl::StrAppend(&sql, " ORDER BY f.id LIMIT $2");

  return Run<FlagPage>("list flags", [&](Conn& conn) -> absl::StatusOr<FlagPage> {
    absl::StatusOr<Result> r = conn.Exec("list flags", sql, params);
    if (!r.ok()) return r.status();
    FlagPage page;
    size_t bytes = 0;
    int64_t last_id = 0;
    const int rows = PQntuples(r->get());
    for (int row = 0; row < rows; ++row) {
      // One row more than the page holds: there is a next page.
      if (page.flags.size() >= static_cast<size_t>(page_size) ||
          (!page.flags.empty() && bytes >= Limits::kMaxPageBytes)) {
        page.next_page_token = MakePageToken(last_id, fingerprint);
        break;
      }
      absl::StatusOr<Flag> flag = ReadFlag(r->get(), row, query.include_activity);
      if (!flag.ok()) return flag.status();
      absl::StatusOr<int64_t> id = GetInt64(r->get(), row, kColId);
      if (!id.ok()) return id.status();
      last_id = *id;
      bytes += FlagBytes(*flag);
      page.flags.push_back(*std::move(flag));
    }
    return page;
  });
}

absl::StatusOr<std::optional<Flag>> PostgresReviewStore::FindFlag(Conn& conn, int64_t id) {
  static const std::string kGet = absl::StrCat(
      "SELECT ", kFlagColumns,
      ", f.activity_json FROM flags AS f LEFT JOIN held_deliveries AS h ON h.flag_id = f.id "
      "WHERE f.id = $1");
  absl::StatusOr<Result> r = conn.Exec("get flag", kGet, Params().Int64(id));
  if (!r.ok()) return r.status();
  if (PQntuples(r->get()) != 1) return std::optional<Flag>();
  absl::StatusOr<Flag> flag = ReadFlag(r->get(), 0, /*with_activity=*/true);
  if (!flag.ok()) return flag.status();
  return std::optional<Flag>(*std::move(flag));
}

absl::StatusOr<Flag> PostgresReviewStore::GetFlag(std::string_view id) {
  const std::optional<int64_t> n = ParseId(id);
  if (!n.has_value()) return FlagNotFound(id);
  return Run<Flag>("get flag", [&](Conn& conn) -> absl::StatusOr<Flag> {
    absl::StatusOr<std::optional<Flag>> flag = FindFlag(conn, *n);
    if (!flag.ok()) return flag.status();
    if (!flag->has_value()) return FlagNotFound(id);
    return **std::move(flag);
  });
}

absl::StatusOr<Flag> PostgresReviewStore::ResolveFlag(const Resolution& r) {
  if (r.status != FlagStatus::kApproved && r.status != FlagStatus::kRemoved) {
    return absl::InvalidArgumentError(
        absl::StrCat("review store: a flag is resolved as approved or removed, not status ",
                     static_cast<int>(r.status)));
  }
  if (absl::Status s = CheckString("moderator", r.moderator); !s.ok()) return s;
  if (absl::Status s = CheckString("note", r.note); !s.ok()) return s;
  const std::optional<int64_t> n = ParseId(r.id);
  if (!n.has_value()) return FlagNotFound(r.id);
  // One statement: the update and the flag as it now is (RETURNING gives the new values).
  static const std::string kResolve = absl::StrCat(
      "WITH f AS (UPDATE flags SET status = $1, resolved_at = $2, moderator = $3, note = $4 "
      "WHERE id = $5 RETURNING *) SELECT ",
      kFlagColumns, ", f.activity_json FROM f LEFT JOIN held_deliveries AS h ON h.flag_id = f.id");
  return Run<Flag>("resolve flag", [&](Conn& conn) -> absl::StatusOr<Flag> {
    absl::StatusOr<Result> res = conn.Exec("resolve flag", kResolve,
                                           Params()
                                               .Int64(static_cast<int64_t>(r.status))
                                               .Int64(absl::ToUnixMicros(r.at))
                                               .Bytes(r.moderator)
                                               .Bytes(r.note)
                                               .Int64(*n),
                                           // Idempotent: safe to retry once on a new connection.
                                           /*commits=*/false);
    if (!res.ok()) return res.status();
    if (PQntuples(res->get()) != 1) return FlagNotFound(r.id);
    return ReadFlag(res->get(), 0, /*with_activity=*/true);
  });
}

absl::StatusOr<std::vector<DomainBlock>> PostgresReviewStore::ListDomainBlocks() {
  static const std::string kList =
      absl::StrCat("SELECT ", kBlockColumns, " FROM domain_blocks ORDER BY domain");
  return Run<std::vector<DomainBlock>>(
      "list domain blocks", [&](Conn& conn) -> absl::StatusOr<std::vector<DomainBlock>> {
        absl::StatusOr<Result> r = conn.Exec("list domain blocks", kList, Params());
        if (!r.ok()) return r.status();
        std::vector<DomainBlock> out;
        const int rows = PQntuples(r->get());
        out.reserve(rows);
        for (int row = 0; row < rows; ++row) {
          absl::StatusOr<DomainBlock> b = ReadBlock(r->get(), row);
          if (!b.ok()) return b.status();
          out.push_back(*std::move(b));
        }
        return out;
      });
}

absl::StatusOr<PutBlocksResult> PostgresReviewStore::PutDomainBlocks(
    std::span<const DomainBlock> blocks, bool replace) {
  if (blocks.size() > Limits::kMaxBlocksPerCall) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", blocks.size(),
                                                   " domain blocks in one call; at most ",
                                                   Limits::kMaxBlocksPerCall, " allowed"));
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (absl::Status s = ValidateBlock(i, blocks[i]); !s.ok()) return s;
  }
  if (blocks.empty()) return PutBlocksResult();

  // The distinct domains of the call, for reading the stored blocks in one statement.
  std::vector<std::string> domains;
  {
    absl::flat_hash_set<std::string_view> seen;
    for (const DomainBlock& b : blocks) {
      if (seen.insert(b.domain).second) domains.push_back(b.domain);
    }
  }
  static const std::string kRead =
      absl::StrCat("SELECT ", kBlockColumns, " FROM domain_blocks WHERE domain = ANY ($1)");
  static const std::string kWrite =
      "INSERT INTO domain_blocks (domain, severity, reject_media, reject_reports, "
      "public_comment, private_comment, updated_at) "
      "SELECT * FROM unnest($1::bytea[], $2::int8[], $3::bool[], $4::bool[], $5::bytea[], "
      "$6::bytea[], $7::int8[]) "
      "ON CONFLICT (domain) DO UPDATE SET severity = EXCLUDED.severity, "
      "reject_media = EXCLUDED.reject_media, reject_reports = EXCLUDED.reject_reports, "
      "public_comment = EXCLUDED.public_comment, private_comment = EXCLUDED.private_comment, "
      "updated_at = EXCLUDED.updated_at";
  return Run<PutBlocksResult>(
      "store domain blocks", [&](Conn& conn) -> absl::StatusOr<PutBlocksResult> {
        if (absl::Status s = conn.Begin(); !s.ok()) return s;
        // Other writers wait (readers do not), so the merge below sees the latest blocks.
        if (absl::Status s = conn.Exec("lock domain_blocks",
                                       "LOCK TABLE domain_blocks IN SHARE ROW EXCLUSIVE MODE");
            !s.ok()) {
          return s;
        }
        absl::StatusOr<Result> r =
            conn.Exec("read domain blocks", kRead,
                      Params().Array(kByteaArrayOid, EncodeArray(kByteaOid, domains)));
        if (!r.ok()) return r.status();
        // Each domain's block as it stands, updated as the call goes on (a domain given twice
        // sees the first one's effect).
        absl::flat_hash_map<std::string, DomainBlock> current;
        const int rows = PQntuples(r->get());
        for (int row = 0; row < rows; ++row) {
          absl::StatusOr<DomainBlock> b = ReadBlock(r->get(), row);
          if (!b.ok()) return b.status();
          std::string key = b->domain;
          current.emplace(std::move(key), *std::move(b));
        }
        PutBlocksResult result;
        result.stored.reserve(blocks.size());
        std::vector<std::string> written;  // domains to write, each once, in first-change order
        absl::flat_hash_set<std::string> to_write;
        for (const DomainBlock& in : blocks) {
          auto it = current.find(in.domain);
          const bool existed = it != current.end();
          DomainBlock merged = in;
          if (existed && !replace) {
            const DomainBlock& o = it->second;
            merged.severity = std::max(o.severity, in.severity);
            merged.reject_media = o.reject_media || in.reject_media;
            merged.reject_reports = o.reject_reports || in.reject_reports;
            if (in.public_comment.empty()) merged.public_comment = o.public_comment;
            if (in.private_comment.empty()) merged.private_comment = o.private_comment;
          }
          if (existed && SameBlock(it->second, merged)) {
            ++result.unchanged;
            result.stored.push_back(it->second);
            continue;
          }
          ++(existed ? result.changed : result.added);
          // As it reads back: times are kept to the microsecond.
          merged.updated_at = absl::FromUnixMicros(absl::ToUnixMicros(merged.updated_at));
          result.stored.push_back(merged);
          if (to_write.insert(merged.domain).second) written.push_back(merged.domain);
          std::string key = merged.domain;
          current.insert_or_assign(std::move(key), std::move(merged));
        }
        if (!written.empty()) {
          std::vector<std::string> domain, severity, media, reports, pub, priv, updated;
          for (const std::string& d : written) {
            const DomainBlock& b = current.at(d);
            domain.push_back(b.domain);
            severity.push_back(Int8Bytes(static_cast<int64_t>(b.severity)));
            media.push_back(std::string(1, b.reject_media ? '\1' : '\0'));
            reports.push_back(std::string(1, b.reject_reports ? '\1' : '\0'));
            pub.push_back(b.public_comment);
            priv.push_back(b.private_comment);
            updated.push_back(Int8Bytes(absl::ToUnixMicros(b.updated_at)));
          }
          absl::StatusOr<Result> w =
              conn.Exec("store domain blocks", kWrite,
                        Params()
                            .Array(kByteaArrayOid, EncodeArray(kByteaOid, domain))
                            .Array(kInt8ArrayOid, EncodeArray(kInt8Oid, severity))
                            .Array(kBoolArrayOid, EncodeArray(kBoolOid, media))
                            .Array(kBoolArrayOid, EncodeArray(kBoolOid, reports))
                            .Array(kByteaArrayOid, EncodeArray(kByteaOid, pub))
                            .Array(kByteaArrayOid, EncodeArray(kByteaOid, priv))
                            .Array(kInt8ArrayOid, EncodeArray(kInt8Oid, updated)));
          if (!w.ok()) return w.status();
        }
        if (absl::Status s = conn.Commit(); !s.ok()) return s;
        return result;
      });
}

absl::StatusOr<bool> PostgresReviewStore::DeleteDomainBlock(std::string_view domain) {
  if (absl::Status s = CheckString("domain", domain); !s.ok()) return s;
  static const std::string kDelete = "DELETE FROM domain_blocks WHERE domain = $1 RETURNING 1";
  return Run<bool>("delete domain block", [&](Conn& conn) -> absl::StatusOr<bool> {
    absl::StatusOr<Result> r =
        conn.Exec("delete domain block", kDelete, Params().Bytes(domain), /*commits=*/true);
    if (!r.ok()) return r.status();
    return PQntuples(r->get()) > 0;
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReviewStore>> OpenPostgresStore(const std::string& url,
                                                               const PostgresOptions& options) {
  if (options.max_connections < 1 || options.max_connections > kMaxConnections) {
    return absl::InvalidArgumentError(absl::StrCat("review store: max_connections is ",
                                                   options.max_connections, "; 1 to ",
                                                   kMaxConnections, " allowed"));
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.acquire_timeout < absl::ZeroDuration() ||
      options.statement_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "review store: connect_timeout must be positive, acquire_timeout and "
        "statement_timeout not negative");
  }
  std::vector<std::string> secrets = RawSecrets(url);
  if (url.empty() || url.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("review store: the PostgreSQL URL is empty or holds a NUL");
  }
  // Parse first: a malformed URL is the caller's mistake, not an unreachable server.
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &err);
  if (parsed == nullptr) {
    std::string msg = err != nullptr ? TrimMessage(err) : "out of memory";
    PQfreemem(err);
    return absl::InvalidArgumentError(
        Redact(absl::StrCat("review store: not a valid PostgreSQL URL: ", msg), secrets));
  }
  // The parsed password too (percent-decoded), and the target as messages show it.
  std::string host = "", port = "", dbname = "", user = "";
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key = o->keyword;
    if (key == "password" && *o->val != '\0') secrets.emplace_back(o->val);
    if (key == "host") host = o->val;
    if (key == "hostaddr" && host.empty()) host = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
    if (key == "user") user = o->val;
  }
  PQconninfoFree(parsed);
  std::string shown = absl::StrCat("postgresql://", user, user.empty() ? "" : "@",
                                   host.empty() ? "(default host)" : host, port.empty() ? "" : ":",
                                   port, "/", dbname);
  shown = Redact(std::move(shown), secrets);

  auto store =
      std::make_unique<PostgresReviewStore>(url, std::move(shown), std::move(secrets), options);
  if (absl::Status s = store->Init(); !s.ok()) return s;
  return store;
}

}  // namespace fedwall::store
