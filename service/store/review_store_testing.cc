#include "service/store/review_store_testing.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/store/review_store.h"
#include "tests/servers/postgres_server.h"

namespace fedwall::store::testing {

absl::Time T(int64_t i) { return absl::FromUnixMicros(1'700'000'000'123'456 + i); }

NewFlag MakeFlag(int i, std::string domain, std::vector<std::string> rules) {
  NewFlag f;
  f.activity_id = absl::StrCat("https://", domain, "/notes/", i);
  f.activity_json = absl::StrCat(R"({"id":"https://)", domain, "/notes/", i, R"("})");
  f.actor = absl::StrCat("https://", domain, "/users/u", i);
  f.actor_domain = std::move(domain);
  f.rule_ids = std::move(rules);
  f.matches = absl::StrCat("m", i);
  f.score_milli = 1000 + i;
  f.policy_version = "v1";
  f.created_at = T(i);
  return f;
}

DomainBlock Block(std::string domain, BlockSeverity severity, int64_t t) {
  return DomainBlock{.domain = std::move(domain), .severity = severity, .updated_at = T(t)};
}

void ExpectSameData(const NewFlag& want, const NewFlag& got, bool with_activity) {
  EXPECT_EQ(got.activity_id, want.activity_id);
  EXPECT_EQ(got.activity_json, with_activity ? want.activity_json : "");
  EXPECT_EQ(got.actor, want.actor);
  EXPECT_EQ(got.actor_domain, want.actor_domain);
  EXPECT_EQ(got.rule_ids, want.rule_ids);
  EXPECT_EQ(got.matches, want.matches);
  EXPECT_EQ(got.score_milli, want.score_milli);
  EXPECT_EQ(got.policy_version, want.policy_version);
  EXPECT_EQ(got.created_at, want.created_at);
}

std::vector<std::string> Ids(const FlagPage& page) {
  std::vector<std::string> ids;
  for (const Flag& f : page.flags) ids.push_back(f.id);
  return ids;
}

namespace {

struct Shared {
  absl::Mutex mu;
  bool tried ABSL_GUARDED_BY(mu) = false;
  absl::Status error ABSL_GUARDED_BY(mu);
  std::unique_ptr<fedwall::testing::PostgresServer> server ABSL_GUARDED_BY(mu);
};

Shared& TheShared() {
  // Destroyed at exit, which stops the server and removes its directory.
  static Shared shared;
  return shared;
}

}  // namespace

absl::StatusOr<fedwall::testing::PostgresServer*> SharedPostgres() {
  Shared& shared = TheShared();
  absl::MutexLock lock(&shared.mu);
  if (!shared.tried) {
    shared.tried = true;
    absl::StatusOr<std::unique_ptr<fedwall::testing::PostgresServer>> started =
        fedwall::testing::PostgresServer::Start();
    if (started.ok()) {
      shared.server = *std::move(started);
    } else {
      shared.error = started.status();
    }
  }
  if (shared.server == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "the PostgreSQL test server could not be started (the set-up installs postgresql): ",
        shared.error.ToString()));
  }
  return shared.server.get();
}

absl::StatusOr<std::string> NewPostgresDatabase() {
  static std::atomic<int> counter{0};
  absl::StatusOr<fedwall::testing::PostgresServer*> server = SharedPostgres();
  if (!server.ok()) return server.status();
  const std::string name = absl::StrCat("t", getpid(), "_", counter.fetch_add(1));
  if (absl::Status s = (*server)->CreateDatabase(name); !s.ok()) return s;
  return (*server)->url(name);
}

absl::StatusOr<std::string> PostgresQuery(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status s = absl::UnavailableError(PQerrorMessage(conn));
    PQfinish(conn);
    return s;
  }
  PGresult* res = PQexec(conn, sql.c_str());
  absl::StatusOr<std::string> out;
  const ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_TUPLES_OK) {
    out = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? std::string(PQgetvalue(res, 0, 0)) : "";
  } else if (st == PGRES_COMMAND_OK) {
    out = std::string();
  } else {
    out = absl::InternalError(absl::StrCat(sql, ": ", PQresultErrorMessage(res)));
  }
  PQclear(res);
  PQfinish(conn);
  return out;
}

}  // namespace fedwall::store::testing
