// Tests of the SQLite ReviewStore alone: files, their modes, WAL, migration from version 1,
// foreign and newer databases. What every store does is tested in review_store_test.cc.
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/store/review_store.h"
#include "service/store/review_store_testing.h"

namespace fedwall::store {
namespace {

using ::testing::HasSubstr;
using testing::MakeFlag;
using testing::T;

class SqliteReviewStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "review_store_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string DbPath() const { return dir_ + "/fedwall.db"; }

  std::string dir_;
};

TEST_F(SqliteReviewStoreTest, NewFilesAreOwnerOnly) {
  // A permissive umask, as a service manager or a shell may leave it: the files stay 0600.
  const mode_t old_umask = umask(022);
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
  umask(old_umask);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE((*s)->AddFlags(std::vector{MakeFlag(1)}).ok());  // the WAL has content
  const auto mode = [](const std::string& path) -> int {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return -1;
    return static_cast<int>(st.st_mode & 07777);
  };
  for (const std::string& path : {DbPath(), DbPath() + "-wal", DbPath() + "-shm"}) {
    EXPECT_EQ(mode(path), 0600) << path;
  }
  s->reset();
  EXPECT_EQ(mode(DbPath()), 0600);

  // An existing database keeps the mode its owner gave it (and the new -wal/-shm follow it).
  const std::string shared = dir_ + "/shared.db";
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> first = OpenSqliteStore(shared);
    ASSERT_TRUE(first.ok()) << first.status();
  }
  ASSERT_EQ(chmod(shared.c_str(), 0640), 0);
  absl::StatusOr<std::unique_ptr<ReviewStore>> again = OpenSqliteStore(shared);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(mode(shared), 0640);
  EXPECT_EQ(mode(shared + "-wal"), 0640);

  // A symbolic link in place of the file is followed by SQLite as before, never replaced.
  const std::string link = dir_ + "/link.db";
  ASSERT_EQ(symlink(DbPath().c_str(), link.c_str()), 0);
  absl::StatusOr<std::unique_ptr<ReviewStore>> linked = OpenSqliteStore(link);
  ASSERT_TRUE(linked.ok()) << linked.status();
  EXPECT_EQ(mode(DbPath()), 0600);
}

// Runs `sql` on the file with a raw connection; returns the first column of the first row.
std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string out;
  const int rc = sqlite3_step(stmt);
  EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
  return out;
}

TEST_F(SqliteReviewStoreTest, AVersionOneDatabaseIsMigratedAndKeepsItsFlags) {
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
    ASSERT_TRUE(s.ok()) << s.status();
    NewFlag f = MakeFlag(1);
    ASSERT_TRUE((*s)->AddFlags({&f, 1}).ok());
  }
  // What a version 1 file looked like: no held_deliveries.
  RawQuery(DbPath(), "DROP TABLE held_deliveries");
  RawQuery(DbPath(), "PRAGMA user_version = 1");
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA user_version"), "2");
  absl::StatusOr<FlagPage> page = (*s)->ListFlags({});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->flags.size(), 1u);
  EXPECT_FALSE(page->flags[0].held.has_value());
}

TEST_F(SqliteReviewStoreTest, FileIsInWalModeWithTheCurrentSchema) {
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(RawQuery(DbPath(), "PRAGMA journal_mode"), "wal");
  }
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA user_version"), "2");
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA application_id"), "1717860145");  // "fdw1"
  // Opening again migrates nothing and works.
  absl::StatusOr<std::unique_ptr<ReviewStore>> s =
      OpenSqliteStore(DbPath(), {.full_sync = false, .busy_timeout = absl::Milliseconds(10)});
  ASSERT_TRUE(s.ok()) << s.status();
}

TEST_F(SqliteReviewStoreTest, NewerSchemaIsRefused) {
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
    ASSERT_TRUE(s.ok()) << s.status();
  }
  RawQuery(DbPath(), "PRAGMA user_version = 999");
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("999"));
  EXPECT_THAT(s.status().message(), HasSubstr("version 2 "));

  const std::string fresh = dir_ + "/fresh.db";
  RawQuery(fresh, "PRAGMA user_version = 999");
  s = OpenSqliteStore(fresh);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("999"));
}

TEST_F(SqliteReviewStoreTest, ForeignDatabasesAreRefused) {
  const std::string other = dir_ + "/other.db";
  RawQuery(other, "CREATE TABLE t (x)");
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(other);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("not a fedwall database"));

  const std::string app = dir_ + "/app.db";
  RawQuery(app, "PRAGMA application_id = 42");
  s = OpenSqliteStore(app);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);

  const std::string garbage = dir_ + "/garbage.db";
  {
    FILE* f = fopen(garbage.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string junk(4096, 'j');
    fwrite(junk.data(), 1, junk.size(), f);
    fclose(f);
  }
  s = OpenSqliteStore(garbage);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
}

TEST_F(SqliteReviewStoreTest, OpenErrorsNameTheOperationAndPath) {
  const std::string path = dir_ + "/no/such/dir/fedwall.db";
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("open " + path));
  EXPECT_THAT(s.status().message(), HasSubstr("unable to open"));
  EXPECT_EQ(OpenSqliteStore("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenSqliteStore(std::string("a\0b", 3)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteReviewStoreTest, OpenReviewStorePicksSqliteForAPath) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenReviewStore(DbPath());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(OpenReviewStore(":memory:").ok());
}

}  // namespace
}  // namespace fedwall::store
