// Helpers for the ReviewStore tests (review_store_test.cc, sqlite_review_store_test.cc,
// postgres_review_store_test.cc): flag and block makers, and the one PostgreSQL server of the
// test process.
//
// Thread-safety: SharedPostgres() and NewPostgresDatabase() may be called from any thread; the
// rest are pure.
//
// Example:
//   absl::StatusOr<std::string> url = NewPostgresDatabase();  // a fresh, empty database
//   ASSERT_TRUE(url.ok()) << url.status();  // fails (never skips) when no server can start
//   auto store = OpenPostgresStore(*url);
#ifndef FEDWALL_SERVICE_STORE_REVIEW_STORE_TESTING_H_
#define FEDWALL_SERVICE_STORE_REVIEW_STORE_TESTING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/store/review_store.h"
#include "tests/servers/postgres_server.h"

// GCC 12 warns about designated initializers that leave out members with default member
// initializers (GCC bug 96868); the tests build queries that way on purpose.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const absl::Status assert_ok_status = (expr);           \
    ASSERT_TRUE(assert_ok_status.ok()) << assert_ok_status; \
  } while (0)

namespace fedwall::store::testing {

// A unix-microsecond time with a non-zero microsecond part.
absl::Time T(int64_t i);

NewFlag MakeFlag(int i, std::string domain = "a.example",
                 std::vector<std::string> rules = {"spam"});
DomainBlock Block(std::string domain, BlockSeverity severity, int64_t t);

void ExpectSameData(const NewFlag& want, const NewFlag& got, bool with_activity = true);
std::vector<std::string> Ids(const FlagPage& page);

// The PostgreSQL server of this test process, started on first use and stopped at exit; the
// error (with the server's log) when it could not be started, every time it is asked for.
absl::StatusOr<fedwall::testing::PostgresServer*> SharedPostgres();
// A new empty database on SharedPostgres(); its URL.
absl::StatusOr<std::string> NewPostgresDatabase();

// Runs `sql` on the database at `url` with a connection of its own; the first column of the
// first row as text ("" when none).
absl::StatusOr<std::string> PostgresQuery(const std::string& url, const std::string& sql);

}  // namespace fedwall::store::testing

#endif  // FEDWALL_SERVICE_STORE_REVIEW_STORE_TESTING_H_
