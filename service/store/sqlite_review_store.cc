// The SQLite ReviewStore: one connection in WAL mode, guarded by a mutex; prepared statements
// are cached for the life of the store. A database file it creates is owner-only (0600), and
// so are its -wal and -shm files. Every write runs in a BEGIN IMMEDIATE transaction, so
// a writer never has to upgrade a read lock (which WAL would refuse without waiting).
//
// Schema (version 2; `PRAGMA user_version` holds the version, kMigrations the steps):
//   flags         one row per flag; id is the AUTOINCREMENT row number (never reused);
//                 activity_id is NULL when empty so that the UNIQUE constraint only applies to
//                 real ids; rule_ids keeps NewFlag::rule_ids exactly (length-prefixed);
//                 times are unix microseconds.
//   flag_rules    (rule_id, flag_id) pairs, the index behind the rule filter of ListFlags.
//   domain_blocks one row per blocked domain.
//   held_deliveries (version 2) the request the inbox gateway holds with a flag, its deadline
//                 and what became of it (HeldState).

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
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
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
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

// "fdw1" in the database header: a file of another application is refused.
constexpr int32_t kApplicationId = 0x66647731;

// The schema steps, in order: kMigrations[i] takes a database from version i to i + 1. Never
// edit a step that has shipped; append a new one.
constexpr const char* kMigrations[] = {
    // 1: flags, flag_rules, domain_blocks.
    R"sql(
CREATE TABLE flags (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  activity_id TEXT UNIQUE,
  activity_json BLOB NOT NULL,
  actor TEXT NOT NULL,
  actor_domain TEXT NOT NULL,
  rule_ids BLOB NOT NULL,
  matches BLOB NOT NULL,
  score_milli INTEGER NOT NULL,
  policy_version TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  status INTEGER NOT NULL CHECK (status IN (1, 2, 3)),
  resolved_at INTEGER,
  moderator TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX flags_by_status ON flags (status, id);
CREATE INDEX flags_by_domain ON flags (actor_domain, id);
CREATE TABLE flag_rules (
  rule_id TEXT NOT NULL,
  flag_id INTEGER NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
  PRIMARY KEY (rule_id, flag_id)
) WITHOUT ROWID;
CREATE TABLE domain_blocks (
  domain TEXT PRIMARY KEY NOT NULL,
  severity INTEGER NOT NULL CHECK (severity IN (1, 2, 3)),
  reject_media INTEGER NOT NULL,
  reject_reports INTEGER NOT NULL,
  public_comment TEXT NOT NULL,
  private_comment TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA application_id = 1717860145;
)sql",
    // 2: held_deliveries (the inbox gateway's hold mode).
    R"sql(
CREATE TABLE held_deliveries (
  flag_id INTEGER PRIMARY KEY REFERENCES flags (id) ON DELETE CASCADE,
  request BLOB NOT NULL,
  deliver_before INTEGER NOT NULL,
  state INTEGER NOT NULL CHECK (state IN (1, 2, 3, 4, 5, 6)),
  detail TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL
);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));


absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

// The status for SQLite result code `rc` of operation `op` on `db` (may be null).
absl::Status SqliteError(sqlite3* db, int rc, std::string_view op) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return absl::Status(CodeFor(rc),
                      absl::StrCat("review store: ", Av(op), ": ", msg, " (sqlite code ", rc, ")"));
}

// A bind helper that remembers the first failure (bind_* only fail on misuse or NOMEM).
class Binder {
 public:
  explicit Binder(sqlite3_stmt* stmt) : stmt_(stmt) {}

  Binder& Text(const char* name, std::string_view v) {
    return Set(name, [&](int i) {
      return sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
    });
  }
  // NULL for an empty value.
  Binder& TextOrNull(const char* name, std::string_view v) {
    if (v.empty()) return Null(name);
    return Text(name, v);
  }
  Binder& Blob(const char* name, std::string_view v) {
    // A non-null pointer even for "", so that SQLite stores an empty blob, not NULL.
    static const char kEmpty = 0;
    const char* data = v.empty() ? &kEmpty : v.data();
    return Set(name,
               [&](int i) { return sqlite3_bind_blob64(stmt_, i, data, v.size(), SQLITE_STATIC); });
  }
  Binder& Int64(const char* name, int64_t v) {
    return Set(name, [&](int i) { return sqlite3_bind_int64(stmt_, i, v); });
  }
  Binder& Null(const char* name) {
    return Set(name, [&](int i) { return sqlite3_bind_null(stmt_, i); });
  }
  int rc() const { return rc_; }

 private:
  template <typename F>
  Binder& Set(const char* name, F bind) {
    if (rc_ != SQLITE_OK) return *this;
    const int i = sqlite3_bind_parameter_index(stmt_, name);
    rc_ = i == 0 ? SQLITE_RANGE : bind(i);
    return *this;
  }

  sqlite3_stmt* stmt_;
  int rc_ = SQLITE_OK;
};

// Bytes of column `col` (TEXT or BLOB; NULL reads as "").
std::string ColumnString(sqlite3_stmt* stmt, int col) {
  const void* p = sqlite3_column_blob(stmt, col);
  const int n = sqlite3_column_bytes(stmt, col);
  if (p == nullptr || n <= 0) return std::string();
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

// The columns every flag query selects, in this order; activity_json last, only when asked.
constexpr const char* kFlagColumns =
    "f.id, f.status, f.activity_id, f.actor, f.actor_domain, f.rule_ids, f.matches, "
    "f.score_milli, f.policy_version, f.created_at, f.resolved_at, f.moderator, f.note, "
    "(SELECT h.deliver_before FROM held_deliveries AS h WHERE h.flag_id = f.id), "
    "(SELECT h.state FROM held_deliveries AS h WHERE h.flag_id = f.id), "
    "(SELECT h.detail FROM held_deliveries AS h WHERE h.flag_id = f.id)";
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

absl::StatusOr<Flag> ReadFlag(sqlite3_stmt* stmt, bool with_activity) {
  Flag f;
  const int64_t id = sqlite3_column_int64(stmt, kColId);
  f.id = absl::StrCat(id);
  const int64_t status = sqlite3_column_int64(stmt, kColStatus);
  if (status < 1 || status > 3) {
    return absl::DataLossError(
        absl::StrCat("review store: flag ", id, " has an unknown status ", status));
  }
  f.status = static_cast<FlagStatus>(status);
  f.data.activity_id = ColumnString(stmt, kColActivityId);
  f.data.actor = ColumnString(stmt, kColActor);
  f.data.actor_domain = ColumnString(stmt, kColActorDomain);
  std::optional<std::vector<std::string>> rules = DecodeRuleIds(ColumnString(stmt, kColRuleIds));
  if (!rules.has_value()) {
    return absl::DataLossError(absl::StrCat("review store: flag ", id, " has corrupt rule_ids"));
  }
  f.data.rule_ids = *std::move(rules);
  f.data.matches = ColumnString(stmt, kColMatches);
  f.data.score_milli = sqlite3_column_int64(stmt, kColScore);
  f.data.policy_version = ColumnString(stmt, kColPolicyVersion);
  f.data.created_at = absl::FromUnixMicros(sqlite3_column_int64(stmt, kColCreatedAt));
  if (sqlite3_column_type(stmt, kColResolvedAt) != SQLITE_NULL) {
    f.resolved_at = absl::FromUnixMicros(sqlite3_column_int64(stmt, kColResolvedAt));
  }
  f.moderator = ColumnString(stmt, kColModerator);
  f.note = ColumnString(stmt, kColNote);
  if (sqlite3_column_type(stmt, kColHeldState) != SQLITE_NULL) {
    const int64_t state = sqlite3_column_int64(stmt, kColHeldState);
    if (state < 1 || state > 6) {
      return absl::DataLossError(
          absl::StrCat("review store: flag ", id, " has an unknown held state ", state));
    }
    HeldInfo held;
    held.deliver_before = absl::FromUnixMicros(sqlite3_column_int64(stmt, kColHeldBefore));
    held.state = static_cast<HeldState>(state);
    held.detail = ColumnString(stmt, kColHeldDetail);
    f.held = std::move(held);
  }
  if (with_activity) f.data.activity_json = ColumnString(stmt, kColActivityJson);
  return f;
}

class SqliteReviewStore final : public ReviewStore {
 public:
  // Takes ownership of an open connection.
  explicit SqliteReviewStore(sqlite3* db) : db_(db) {}
  ~SqliteReviewStore() override {
    absl::MutexLock lock(&mu_);
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    stmts_.clear();
    sqlite3_close_v2(db_);  // nothing to report to; every commit is already durable
  }
  SqliteReviewStore(const SqliteReviewStore&) = delete;
  SqliteReviewStore& operator=(const SqliteReviewStore&) = delete;

  // Pragmas and schema; run once before the store is shared.
  absl::Status Init(const std::string& path, const SqliteOptions& options);

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
  // Stores `f`'s held request for flag `flag_id` ("INSERT", or "INSERT OR IGNORE" to keep an
  // existing one); true when a row was added. Requires mu_ and a transaction.
  absl::StatusOr<bool> InsertHeldLocked(int64_t flag_id, const NewFlag& f, const char* verb);
  // A cached statement borrowed for one use: reset and unbound when it goes out of scope.
  class Stmt {
   public:
    explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
    ~Stmt() {
      sqlite3_reset(stmt_);  // returns the last step's error, already reported
      sqlite3_clear_bindings(stmt_);
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    sqlite3_stmt* get() const { return stmt_; }

   private:
    sqlite3_stmt* stmt_;
  };

  // A write transaction (BEGIN IMMEDIATE); rolled back unless committed.
  class Transaction {
   public:
    explicit Transaction(SqliteReviewStore* store) : store_(store) {}
    ~Transaction() {
      if (open_) (void)store_->RollbackLocked();
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    absl::Status Begin() ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_->mu_) {
      absl::Status s = store_->ExecLocked("BEGIN IMMEDIATE", "begin transaction");
      open_ = s.ok();
      return s;
    }
    absl::Status Commit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_->mu_) {
      absl::Status s = store_->ExecLocked("COMMIT", "commit");
      if (s.ok()) open_ = false;
      return s;
    }

   private:
    SqliteReviewStore* store_;
    bool open_ = false;
  };

  absl::Status Error(int rc, std::string_view op) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return SqliteError(db_, rc, op);
  }
  // The cached statement for `sql`, prepared on first use.
  absl::StatusOr<sqlite3_stmt*> PrepareLocked(std::string_view sql)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs a statement without parameters or rows.
  absl::Status ExecLocked(std::string_view sql, std::string_view op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RollbackLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // true: a row is ready; false: done.
  absl::StatusOr<bool> StepLocked(sqlite3_stmt* stmt, std::string_view op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int64_t> PragmaIntLocked(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status InitLocked(const std::string& path, const SqliteOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MigrateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<Flag>> FindFlagLocked(int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<DomainBlock>> FindBlockLocked(const std::string& domain)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, sqlite3_stmt*> stmts_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<sqlite3_stmt*> SqliteReviewStore::PrepareLocked(std::string_view sql) {
  auto it = stmts_.find(Av(sql));
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Error(rc, absl::StrCat("prepare \"", Av(sql), "\""));
  }
  if (stmt == nullptr) {
    return absl::InternalError(absl::StrCat("review store: empty statement \"", Av(sql), "\""));
  }
  stmts_.emplace(std::string(sql), stmt);
  return stmt;
}

absl::StatusOr<bool> SqliteReviewStore::StepLocked(sqlite3_stmt* stmt, std::string_view op) {
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(rc, op);
}

absl::Status SqliteReviewStore::ExecLocked(std::string_view sql, std::string_view op) {
  absl::StatusOr<sqlite3_stmt*> prepared = PrepareLocked(sql);
  if (!prepared.ok()) return prepared.status();
  Stmt stmt(*prepared);
  while (true) {
    absl::StatusOr<bool> row = StepLocked(stmt.get(), op);
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

absl::Status SqliteReviewStore::RollbackLocked() {
  // Some errors (full disk, I/O) already rolled the transaction back.
  if (sqlite3_get_autocommit(db_)) return absl::OkStatus();
  return ExecLocked("ROLLBACK", "rollback");
}

absl::StatusOr<int64_t> SqliteReviewStore::PragmaIntLocked(const char* sql) {
  absl::StatusOr<sqlite3_stmt*> prepared = PrepareLocked(sql);
  if (!prepared.ok()) return prepared.status();
  Stmt stmt(*prepared);
  absl::StatusOr<bool> row = StepLocked(stmt.get(), sql);
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("review store: ", sql, " gave no row"));
  return sqlite3_column_int64(stmt.get(), 0);
}

absl::Status SqliteReviewStore::Init(const std::string& path, const SqliteOptions& options) {
  absl::MutexLock lock(&mu_);
  absl::Status s = InitLocked(path, options);
  if (s.ok()) return s;
  // Name the file: "review store: fedwall.db: ...".
  return absl::Status(s.code(), absl::StrCat("review store: ", path, ": ",
                                             absl::StripPrefix(s.message(), "review store: ")));
}

absl::Status SqliteReviewStore::InitLocked(const std::string& path, const SqliteOptions& options) {
  int rc = sqlite3_extended_result_codes(db_, 1);
  if (rc != SQLITE_OK) return Error(rc, "enable extended result codes");
  // Defensive settings: no writes to the schema tables, no functions run from the schema.
  rc = sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "enable defensive mode");
  rc = sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "turn trusted_schema off");
  const int64_t busy_ms =
      std::clamp<int64_t>(absl::ToInt64Milliseconds(options.busy_timeout), 0, INT_MAX);
  rc = sqlite3_busy_timeout(db_, static_cast<int>(busy_ms));
  if (rc != SQLITE_OK) return Error(rc, "set busy_timeout");

  {
    absl::StatusOr<sqlite3_stmt*> prepared = PrepareLocked("PRAGMA journal_mode = WAL");
    if (!prepared.ok()) return prepared.status();
    Stmt stmt(*prepared);
    absl::StatusOr<bool> row = StepLocked(stmt.get(), "set journal_mode = WAL");
    if (!row.ok()) return row.status();
    const std::string mode = *row ? ColumnString(stmt.get(), 0) : "";
    if (mode != "wal" && !(path == ":memory:" && mode == "memory")) {
      return absl::FailedPreconditionError(
          absl::StrCat("review store: cannot switch to WAL mode (journal_mode is \"", mode, "\")"));
    }
  }
  if (absl::Status s = ExecLocked(
          options.full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
          "set synchronous");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ExecLocked("PRAGMA foreign_keys = ON", "enable foreign keys"); !s.ok()) {
    return s;
  }
  return MigrateLocked();
}

absl::Status SqliteReviewStore::MigrateLocked() {
  // One transaction for the check and each step, so that two processes opening a new file
  // at once do not both migrate it.
  while (true) {
    Transaction txn(this);
    if (absl::Status s = txn.Begin(); !s.ok()) return s;
    absl::StatusOr<int64_t> app = PragmaIntLocked("PRAGMA application_id");
    if (!app.ok()) return app.status();
    absl::StatusOr<int64_t> version = PragmaIntLocked("PRAGMA user_version");
    if (!version.ok()) return version.status();
    if (*app != 0 && *app != kApplicationId) {
      return absl::FailedPreconditionError(
          absl::StrCat("review store: not a fedwall database (application_id ", *app, ")"));
    }
    if (*version < 0 || *version > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "review store: the database has schema version ", *version, ", newer than version ",
          kSchemaVersion, " that this build knows; use a newer fedwalld or another file"));
    }
    if (*version == kSchemaVersion) return absl::OkStatus();  // rolls back a read-only txn
    if (*version == 0) {
      absl::StatusOr<int64_t> tables = PragmaIntLocked("SELECT count(*) FROM sqlite_schema");
      if (!tables.ok()) return tables.status();
      if (*tables != 0 && *app == 0) {
        return absl::FailedPreconditionError(
            "review store: not a fedwall database (it has tables but no fedwall schema)");
      }
    }
    const int next = static_cast<int>(*version) + 1;
    char* err = nullptr;
    int rc = sqlite3_exec(db_, kMigrations[next - 1], nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      absl::Status s(CodeFor(rc), absl::StrCat("review store: migrate schema to version ", next,
                                               ": ", err != nullptr ? err : sqlite3_errstr(rc)));
      sqlite3_free(err);
      return s;
    }
    // PRAGMA takes no parameters; `next` is our own number.
    rc = sqlite3_exec(db_, absl::StrCat("PRAGMA user_version = ", next).c_str(), nullptr, nullptr,
                      nullptr);
    if (rc != SQLITE_OK) return Error(rc, "set user_version");
    if (absl::Status s = txn.Commit(); !s.ok()) return s;
  }
}

absl::StatusOr<std::vector<AddedFlag>> SqliteReviewStore::AddFlags(std::span<const NewFlag> flags) {
  if (flags.size() > Limits::kMaxFlagsPerCall) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", flags.size(),
                                                   " flags in one call; at most ",
                                                   Limits::kMaxFlagsPerCall, " allowed"));
  }
  size_t batch_bytes = 0;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (absl::Status s = ValidateFlag(i, flags[i], &batch_bytes); !s.ok()) return s;
  }
  std::vector<AddedFlag> out;
  out.reserve(flags.size());
  if (flags.empty()) return out;

  absl::MutexLock lock(&mu_);
  Transaction txn(this);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  for (const NewFlag& f : flags) {
    if (!f.activity_id.empty()) {
      // Inside the transaction, so flags stored earlier in this call are seen too.
      absl::StatusOr<sqlite3_stmt*> find =
          PrepareLocked("SELECT id FROM flags WHERE activity_id = :aid");
      if (!find.ok()) return find.status();
      Stmt stmt(*find);
      if (int rc = Binder(stmt.get()).Text(":aid", f.activity_id).rc(); rc != SQLITE_OK) {
        return Error(rc, "bind flag lookup");
      }
      absl::StatusOr<bool> row = StepLocked(stmt.get(), "look up flag by activity id");
      if (!row.ok()) return row.status();
      if (*row) {
        const int64_t existing = sqlite3_column_int64(stmt.get(), 0);
        bool held = false;
        if (!f.held_request.empty()) {
          // The same activity sent again (to another inbox, or after a flag made through the
          // API): held with the flag unless it already holds a copy.
          absl::StatusOr<bool> inserted = InsertHeldLocked(existing, f, "INSERT OR IGNORE");
          if (!inserted.ok()) return inserted.status();
          held = *inserted;
        }
        out.push_back({absl::StrCat(existing), true, held});
        continue;
      }
    }
    absl::StatusOr<sqlite3_stmt*> insert = PrepareLocked(
        "INSERT INTO flags (activity_id, activity_json, actor, actor_domain, rule_ids, "
        "matches, score_milli, policy_version, created_at, status) VALUES (:aid, :json, "
        ":actor, :domain, :rules, :matches, :score, :policy, :created, 1)");
    if (!insert.ok()) return insert.status();
    const std::string rule_ids = EncodeRuleIds(f.rule_ids);
    int64_t id = 0;
    {
      Stmt stmt(*insert);
      const int rc = Binder(stmt.get())
                         .TextOrNull(":aid", f.activity_id)
                         .Blob(":json", f.activity_json)
                         .Text(":actor", f.actor)
                         .Text(":domain", f.actor_domain)
                         .Blob(":rules", rule_ids)
                         .Blob(":matches", f.matches)
                         .Int64(":score", f.score_milli)
                         .Text(":policy", f.policy_version)
                         .Int64(":created", absl::ToUnixMicros(f.created_at))
                         .rc();
      if (rc != SQLITE_OK) return Error(rc, "bind flag");
      absl::StatusOr<bool> row = StepLocked(stmt.get(), "insert flag");
      if (!row.ok()) return row.status();
      id = sqlite3_last_insert_rowid(db_);
    }
    for (const std::string& rule : f.rule_ids) {
      absl::StatusOr<sqlite3_stmt*> link = PrepareLocked(
          "INSERT OR IGNORE INTO flag_rules (rule_id, flag_id) VALUES (:rule, :flag)");
      if (!link.ok()) return link.status();
      Stmt stmt(*link);
      const int rc = Binder(stmt.get()).Text(":rule", rule).Int64(":flag", id).rc();
      if (rc != SQLITE_OK) return Error(rc, "bind flag rule");
      absl::StatusOr<bool> row = StepLocked(stmt.get(), "insert flag rule");
      if (!row.ok()) return row.status();
    }
    bool held = false;
    if (!f.held_request.empty()) {
      absl::StatusOr<bool> inserted = InsertHeldLocked(id, f, "INSERT");
      if (!inserted.ok()) return inserted.status();
      held = *inserted;
    }
    out.push_back({absl::StrCat(id), false, held});
  }
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return out;
}

absl::StatusOr<bool> SqliteReviewStore::InsertHeldLocked(int64_t flag_id, const NewFlag& f,
                                                         const char* verb) {
  absl::StatusOr<sqlite3_stmt*> hold = PrepareLocked(absl::StrCat(
      verb,
      " INTO held_deliveries (flag_id, request, deliver_before, state, updated_at) "
      "VALUES (:flag, :request, :before, 1, :now)"));
  if (!hold.ok()) return hold.status();
  Stmt stmt(*hold);
  const int rc = Binder(stmt.get())
                     .Int64(":flag", flag_id)
                     .Blob(":request", f.held_request)
                     .Int64(":before", absl::ToUnixMicros(f.deliver_before))
                     .Int64(":now", absl::ToUnixMicros(f.created_at))
                     .rc();
  if (rc != SQLITE_OK) return Error(rc, "bind held request");
  absl::StatusOr<bool> row = StepLocked(stmt.get(), "insert held request");
  if (!row.ok()) return row.status();
  return sqlite3_changes(db_) == 1;
}

absl::StatusOr<bool> SqliteReviewStore::ClaimHeld(std::string_view id, absl::Time at,
                                                 absl::Time stale_before) {
  const std::optional<int64_t> n = ParseId(id);
  if (!n.has_value()) return absl::NotFoundError(absl::StrCat("flag ", Av(id), " holds no request"));
  absl::MutexLock lock(&mu_);
  Transaction txn(this);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  absl::StatusOr<sqlite3_stmt*> claim = PrepareLocked(
      "UPDATE held_deliveries SET state = 6, detail = '', updated_at = :at WHERE flag_id = :flag "
      "AND (state IN (1, 5) OR (state = 6 AND updated_at < :stale))");
  if (!claim.ok()) return claim.status();
  {
    Stmt stmt(*claim);
    const int rc = Binder(stmt.get())
                       .Int64(":at", absl::ToUnixMicros(at))
                       .Int64(":flag", *n)
                       .Int64(":stale", absl::ToUnixMicros(stale_before))
                       .rc();
    if (rc != SQLITE_OK) return Error(rc, "bind held claim");
    absl::StatusOr<bool> row = StepLocked(stmt.get(), "claim held request");
    if (!row.ok()) return row.status();
  }
  const bool won = sqlite3_changes(db_) == 1;
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return won;
}

absl::StatusOr<std::string> SqliteReviewStore::GetHeldRequest(std::string_view id) {
  const std::optional<int64_t> n = ParseId(id);
  const auto not_found = [&] {
    return absl::NotFoundError(absl::StrCat("flag ", Av(id), " holds no request"));
  };
  if (!n.has_value()) return not_found();
  absl::MutexLock lock(&mu_);
  absl::StatusOr<sqlite3_stmt*> find =
      PrepareLocked("SELECT request FROM held_deliveries WHERE flag_id = :flag");
  if (!find.ok()) return find.status();
  Stmt stmt(*find);
  if (int rc = Binder(stmt.get()).Int64(":flag", *n).rc(); rc != SQLITE_OK) {
    return Error(rc, "bind held request lookup");
  }
  absl::StatusOr<bool> row = StepLocked(stmt.get(), "read held request");
  if (!row.ok()) return row.status();
  if (!*row) return not_found();
  return ColumnString(stmt.get(), 0);
}

absl::Status SqliteReviewStore::SetHeldState(std::string_view id, HeldState state,
                                             std::string_view detail, absl::Time at) {
  if (absl::Status s = CheckString("detail", detail); !s.ok()) return s;
  const std::optional<int64_t> n = ParseId(id);
  const auto not_found = [&] {
    return absl::NotFoundError(absl::StrCat("flag ", Av(id), " holds no request"));
  };
  if (!n.has_value()) return not_found();
  absl::MutexLock lock(&mu_);
  Transaction txn(this);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  absl::StatusOr<sqlite3_stmt*> update = PrepareLocked(
      "UPDATE held_deliveries SET state = :state, detail = :detail, updated_at = :at, "
      // Once delivered, dropped or expired the request is never sent: its bytes are freed.
      "request = CASE WHEN :state IN (2, 3, 4) THEN X'' ELSE request END "
      "WHERE flag_id = :flag");
  if (!update.ok()) return update.status();
  {
    Stmt stmt(*update);
    const int rc = Binder(stmt.get())
                       .Int64(":state", static_cast<int64_t>(state))
                       .Text(":detail", detail)
                       .Int64(":at", absl::ToUnixMicros(at))
                       .Int64(":flag", *n)
                       .rc();
    if (rc != SQLITE_OK) return Error(rc, "bind held state");
    absl::StatusOr<bool> row = StepLocked(stmt.get(), "update held state");
    if (!row.ok()) return row.status();
  }
  if (sqlite3_changes(db_) == 0) return not_found();
  return txn.Commit();
}

absl::StatusOr<FlagPage> SqliteReviewStore::ListFlags(const FlagQuery& query) {
  if (query.status.has_value() && !ValidStatus(*query.status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("review store: status filter has the "
                     "unknown value ",
                     static_cast<int>(*query.status)));
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

  // At most 2 x 2 x 2 x 2 different texts, each prepared once.
  std::string sql =
      absl::StrCat("SELECT ", kFlagColumns, query.include_activity ? ", f.activity_json" : "");
  const char* id_column = "f.id";
  if (!query.rule_id.empty()) {
    // Walk the (rule_id, flag_id) key in order; CROSS JOIN keeps that loop outermost.
    absl::StrAppend(&sql,
                    " FROM flag_rules AS r CROSS JOIN flags AS f ON f.id = r.flag_id"
                    " WHERE r.rule_id = :rule AND r.flag_id > :after");
    id_column = "r.flag_id";
  } else {
    absl::StrAppend(&sql, " FROM flags AS f WHERE f.id > :after");
  }
  if (query.status.has_value()) absl::StrAppend(&sql, " AND f.status = :status");
  if (!query.domain.empty()) {
    // The domain itself or a subdomain: "b.example" covers "social.b.example".
    absl::StrAppend(&sql,
                    " AND (f.actor_domain = :domain OR"
                    " substr(f.actor_domain, -length(:dotted)) = :dotted)");
  }
  absl::StrAppend(&sql, " ORDER BY ", id_column, " LIMIT :limit");

  absl::MutexLock lock(&mu_);
  absl::StatusOr<sqlite3_stmt*> prepared = PrepareLocked(sql);
  if (!prepared.ok()) return prepared.status();
  Stmt stmt(*prepared);
  Binder bind(stmt.get());
  bind.Int64(":after", after).Int64(":limit", int64_t{page_size} + 1);
  if (!query.rule_id.empty()) bind.Text(":rule", query.rule_id);
  if (query.status.has_value()) bind.Int64(":status", static_cast<int64_t>(*query.status));
  std::string dotted = absl::StrCat(".", query.domain);
  if (!query.domain.empty()) bind.Text(":domain", query.domain).Text(":dotted", dotted);
  if (bind.rc() != SQLITE_OK) return Error(bind.rc(), "bind flag listing");

  FlagPage page;
  size_t bytes = 0;
  int64_t last_id = 0;
  while (true) {
    absl::StatusOr<bool> row = StepLocked(stmt.get(), "list flags");
    if (!row.ok()) return row.status();
    if (!*row) break;
    // One row more than the page holds: there is a next page.
    if (page.flags.size() >= static_cast<size_t>(page_size) ||
        (!page.flags.empty() && bytes >= Limits::kMaxPageBytes)) {
      page.next_page_token = MakePageToken(last_id, fingerprint);
      break;
    }
    absl::StatusOr<Flag> flag = ReadFlag(stmt.get(), query.include_activity);
    if (!flag.ok()) return flag.status();
    last_id = sqlite3_column_int64(stmt.get(), kColId);
    bytes += FlagBytes(*flag);
    page.flags.push_back(*std::move(flag));
  }
  return page;
}

absl::StatusOr<std::optional<Flag>> SqliteReviewStore::FindFlagLocked(int64_t id) {
  absl::StatusOr<sqlite3_stmt*> prepared = PrepareLocked(
      absl::StrCat("SELECT ", kFlagColumns, ", f.activity_json FROM flags AS f WHERE f.id = :id"));
  if (!prepared.ok()) return prepared.status();
  Stmt stmt(*prepared);
  if (int rc = Binder(stmt.get()).Int64(":id", id).rc(); rc != SQLITE_OK) {
    return Error(rc, "bind flag id");
  }
  absl::StatusOr<bool> row = StepLocked(stmt.get(), "get flag");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Flag>();
  absl::StatusOr<Flag> flag = ReadFlag(stmt.get(), /*with_activity=*/true);
  if (!flag.ok()) return flag.status();
  return std::optional<Flag>(*std::move(flag));
}

absl::StatusOr<Flag> SqliteReviewStore::GetFlag(std::string_view id) {
  const std::optional<int64_t> n = ParseId(id);
  if (!n.has_value()) return FlagNotFound(id);
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::optional<Flag>> flag = FindFlagLocked(*n);
  if (!flag.ok()) return flag.status();
  if (!flag->has_value()) return FlagNotFound(id);
  return **std::move(flag);
}

absl::StatusOr<Flag> SqliteReviewStore::ResolveFlag(const Resolution& r) {
  if (r.status != FlagStatus::kApproved && r.status != FlagStatus::kRemoved) {
    return absl::InvalidArgumentError(
        absl::StrCat("review store: a flag is resolved as approved or removed, not status ",
                     static_cast<int>(r.status)));
  }
  if (absl::Status s = CheckString("moderator", r.moderator); !s.ok()) return s;
  if (absl::Status s = CheckString("note", r.note); !s.ok()) return s;
  const std::optional<int64_t> n = ParseId(r.id);
  if (!n.has_value()) return FlagNotFound(r.id);

  absl::MutexLock lock(&mu_);
  Transaction txn(this);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  {
    absl::StatusOr<sqlite3_stmt*> prepared = PrepareLocked(
        "UPDATE flags SET status = :status, resolved_at = :at, moderator = :moderator, "
        "note = :note WHERE id = :id");
    if (!prepared.ok()) return prepared.status();
    Stmt stmt(*prepared);
    const int rc = Binder(stmt.get())
                       .Int64(":status", static_cast<int64_t>(r.status))
                       .Int64(":at", absl::ToUnixMicros(r.at))
                       .Text(":moderator", r.moderator)
                       .Text(":note", r.note)
                       .Int64(":id", *n)
                       .rc();
    if (rc != SQLITE_OK) return Error(rc, "bind resolution");
    absl::StatusOr<bool> row = StepLocked(stmt.get(), "resolve flag");
    if (!row.ok()) return row.status();
    if (sqlite3_changes64(db_) == 0) return FlagNotFound(r.id);
  }
  absl::StatusOr<std::optional<Flag>> flag = FindFlagLocked(*n);
  if (!flag.ok()) return flag.status();
  if (!flag->has_value()) return FlagNotFound(r.id);
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return **std::move(flag);
}

constexpr const char* kBlockColumns =
    "domain, severity, reject_media, reject_reports, public_comment, private_comment, "
    "updated_at";

absl::StatusOr<DomainBlock> ReadBlock(sqlite3_stmt* stmt) {
  DomainBlock b;
  b.domain = ColumnString(stmt, 0);
  const int64_t severity = sqlite3_column_int64(stmt, 1);
  if (severity < 1 || severity > 3) {
    return absl::DataLossError(
        absl::StrCat("review store: block of ", b.domain, " has an unknown severity ", severity));
  }
  b.severity = static_cast<BlockSeverity>(severity);
  b.reject_media = sqlite3_column_int64(stmt, 2) != 0;
  b.reject_reports = sqlite3_column_int64(stmt, 3) != 0;
  b.public_comment = ColumnString(stmt, 4);
  b.private_comment = ColumnString(stmt, 5);
  b.updated_at = absl::FromUnixMicros(sqlite3_column_int64(stmt, 6));
  return b;
}

absl::StatusOr<std::vector<DomainBlock>> SqliteReviewStore::ListDomainBlocks() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<sqlite3_stmt*> prepared =
      PrepareLocked(absl::StrCat("SELECT ", kBlockColumns, " FROM domain_blocks ORDER BY domain"));
  if (!prepared.ok()) return prepared.status();
  Stmt stmt(*prepared);
  std::vector<DomainBlock> out;
  while (true) {
    absl::StatusOr<bool> row = StepLocked(stmt.get(), "list domain blocks");
    if (!row.ok()) return row.status();
    if (!*row) break;
    absl::StatusOr<DomainBlock> block = ReadBlock(stmt.get());
    if (!block.ok()) return block.status();
    out.push_back(*std::move(block));
  }
  return out;
}

absl::StatusOr<std::optional<DomainBlock>> SqliteReviewStore::FindBlockLocked(
    const std::string& domain) {
  absl::StatusOr<sqlite3_stmt*> prepared = PrepareLocked(
      absl::StrCat("SELECT ", kBlockColumns, " FROM domain_blocks WHERE domain = :domain"));
  if (!prepared.ok()) return prepared.status();
  Stmt stmt(*prepared);
  if (int rc = Binder(stmt.get()).Text(":domain", domain).rc(); rc != SQLITE_OK) {
    return Error(rc, "bind domain");
  }
  absl::StatusOr<bool> row = StepLocked(stmt.get(), "look up domain block");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<DomainBlock>();
  absl::StatusOr<DomainBlock> block = ReadBlock(stmt.get());
  if (!block.ok()) return block.status();
  return std::optional<DomainBlock>(*std::move(block));
}

absl::StatusOr<PutBlocksResult> SqliteReviewStore::PutDomainBlocks(
    std::span<const DomainBlock> blocks, bool replace) {
  if (blocks.size() > Limits::kMaxBlocksPerCall) {
    return absl::InvalidArgumentError(absl::StrCat("review store: ", blocks.size(),
                                                   " domain blocks in one call; at most ",
                                                   Limits::kMaxBlocksPerCall, " allowed"));
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (absl::Status s = ValidateBlock(i, blocks[i]); !s.ok()) return s;
  }
  PutBlocksResult result;
  result.stored.reserve(blocks.size());
  if (blocks.empty()) return result;

  absl::MutexLock lock(&mu_);
  Transaction txn(this);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  for (const DomainBlock& in : blocks) {
    absl::StatusOr<std::optional<DomainBlock>> old = FindBlockLocked(in.domain);
    if (!old.ok()) return old.status();
    DomainBlock merged = in;
    if (old->has_value() && !replace) {
      const DomainBlock& o = **old;
      merged.severity = std::max(o.severity, in.severity);
      merged.reject_media = o.reject_media || in.reject_media;
      merged.reject_reports = o.reject_reports || in.reject_reports;
      if (in.public_comment.empty()) merged.public_comment = o.public_comment;
      if (in.private_comment.empty()) merged.private_comment = o.private_comment;
    }
    if (old->has_value() && SameBlock(**old, merged)) {
      ++result.unchanged;
      result.stored.push_back(**old);
      continue;
    }
    absl::StatusOr<sqlite3_stmt*> prepared = PrepareLocked(
        "INSERT OR REPLACE INTO domain_blocks (domain, severity, reject_media, reject_reports, "
        "public_comment, private_comment, updated_at) VALUES (:domain, :severity, :media, "
        ":reports, :public, :private, :updated)");
    if (!prepared.ok()) return prepared.status();
    Stmt stmt(*prepared);
    const int rc = Binder(stmt.get())
                       .Text(":domain", merged.domain)
                       .Int64(":severity", static_cast<int64_t>(merged.severity))
                       .Int64(":media", merged.reject_media ? 1 : 0)
                       .Int64(":reports", merged.reject_reports ? 1 : 0)
                       .Text(":public", merged.public_comment)
                       .Text(":private", merged.private_comment)
                       .Int64(":updated", absl::ToUnixMicros(merged.updated_at))
                       .rc();
    if (rc != SQLITE_OK) return Error(rc, "bind domain block");
    absl::StatusOr<bool> row = StepLocked(stmt.get(), "store domain block");
    if (!row.ok()) return row.status();
    ++(old->has_value() ? result.changed : result.added);
    // As it reads back: times are kept to the microsecond.
    merged.updated_at = absl::FromUnixMicros(absl::ToUnixMicros(merged.updated_at));
    result.stored.push_back(std::move(merged));
  }
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return result;
}

absl::StatusOr<bool> SqliteReviewStore::DeleteDomainBlock(std::string_view domain) {
  if (absl::Status s = CheckString("domain", domain); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<sqlite3_stmt*> prepared =
      PrepareLocked("DELETE FROM domain_blocks WHERE domain = :domain");
  if (!prepared.ok()) return prepared.status();
  Stmt stmt(*prepared);
  if (int rc = Binder(stmt.get()).Text(":domain", domain).rc(); rc != SQLITE_OK) {
    return Error(rc, "bind domain");
  }
  // One statement in autocommit mode: committed (and synced) when the step returns.
  absl::StatusOr<bool> row = StepLocked(stmt.get(), "delete domain block");
  if (!row.ok()) return row.status();
  return sqlite3_changes64(db_) > 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReviewStore>> OpenSqliteStore(const std::string& path,
                                                             const SqliteOptions& options) {
  if (path.empty() || path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        "review store: the database path is empty or holds a NUL byte");
  }
  // A new database is created here first, empty and owner-only (0600, whatever the umask):
  // SQLite takes an empty file as a new database and gives its -wal and -shm files the
  // database file's permissions. An existing file keeps the mode it has. Failures are left to
  // sqlite3_open_v2 below, which reports them with the path.
  if (path != ":memory:" && !absl::StartsWith(path, "file:")) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      fchmod(fd, 0600);  // in case the umask took bits away from the owner
      close(fd);
    }
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteError(db, rc, absl::StrCat("open ", path));
    sqlite3_close_v2(db);
    return s;
  }
  auto store = std::make_unique<SqliteReviewStore>(db);
  if (absl::Status s = store->Init(path, options); !s.ok()) return s;
  return store;
}

}  // namespace fedwall::store
