// Tests of the PostgreSQL ReviewStore alone: the schema and its migration lock, URLs and
// errors (never showing the password), lost connections, the pool. What every store does is
// tested in review_store_test.cc. Each test gets a fresh database on the test process's
// server (review_store_testing.h); a test fails, never skips, when that server cannot start.
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/store/review_store.h"
#include "service/store/review_store_testing.h"
#include "tests/servers/postgres_server.h"

namespace fedwall::store {
namespace {

using ::testing::HasSubstr;
using testing::MakeFlag;
using ::testing::Not;
using testing::PostgresQuery;

class PostgresReviewStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> url = testing::NewPostgresDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }
  // "postgresql://fedwall:PASSWORD@127.0.0.1:PORT/DB": the server trusts the user and ignores
  // the password, which must never show in a message.
  std::string UrlWithPassword(const std::string& db, int port = 0) const {
    absl::StatusOr<fedwall::testing::PostgresServer*> server = testing::SharedPostgres();
    return absl::StrCat("postgresql://fedwall:", kPassword,
                        "@127.0.0.1:", port != 0 ? port : (server.ok() ? (*server)->port() : 1),
                        "/", db);
  }

  static constexpr const char* kPassword = "s3cr%2Fet-pw";
  std::string url_;
};

// A loopback port with nothing listening on it (free a moment ago).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(PostgresReviewStoreTest, CreatesTheSchemaOnceAndReopens) {
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(url_);
    ASSERT_TRUE(s.ok()) << s.status();
  }
  EXPECT_EQ(*PostgresQuery(url_, "SELECT version FROM schema_version"), "1");
  EXPECT_EQ(*PostgresQuery(url_, "SELECT application FROM schema_version"), "fedwall");
  absl::StatusOr<std::unique_ptr<ReviewStore>> again = OpenPostgresStore(url_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*PostgresQuery(url_, "SELECT count(*) FROM schema_version"), "1");
}

TEST_F(PostgresReviewStoreTest, NodesOpeningANewDatabaseAtOnceMigrateItOnce) {
  constexpr int kNodes = 6;
  std::vector<absl::Status> results(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([this, i, &results] {
      absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(url_);
      results[i] = s.status();
      if (s.ok()) {
        NewFlag f = MakeFlag(i);
        results[i] = (*s)->AddFlags({&f, 1}).status();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(*PostgresQuery(url_, "SELECT count(*) FROM schema_version"), "1");
  EXPECT_EQ(*PostgresQuery(url_, "SELECT count(*) FROM flags"), absl::StrCat(kNodes));
}

TEST_F(PostgresReviewStoreTest, NewerSchemaIsRefused) {
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(url_);
    ASSERT_TRUE(s.ok()) << s.status();
  }
  ASSERT_TRUE(PostgresQuery(url_, "UPDATE schema_version SET version = 999").ok());
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(url_);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("999"));
  EXPECT_THAT(s.status().message(), HasSubstr("version 1 "));
  // Refused without changing anything.
  EXPECT_EQ(*PostgresQuery(url_, "SELECT version FROM schema_version"), "999");
}

TEST_F(PostgresReviewStoreTest, ForeignDatabasesAreRefused) {
  ASSERT_TRUE(PostgresQuery(url_, "CREATE TABLE flags (x int)").ok());
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(url_);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("not a fedwall database"));

  absl::StatusOr<std::string> other = testing::NewPostgresDatabase();
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(PostgresQuery(*other,
                            "CREATE TABLE schema_version (application text, version bigint); "
                            "INSERT INTO schema_version VALUES ('someone else', 1)")
                  .ok());
  s = OpenPostgresStore(*other);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("not a fedwall database"));
}

TEST_F(PostgresReviewStoreTest, BadUrlsAreInvalidArgumentWithoutThePassword) {
  for (const std::string& url : {
           absl::StrCat("postgresql://fedwall:", kPassword, "@[::1/db"),
           absl::StrCat("postgresql://fedwall:", kPassword, "@127.0.0.1/db?nosuch=1"),
           absl::StrCat("postgresql://fedwall:", kPassword, "@127.0.0.1/db?sslmode"),
           absl::StrCat("host=127.0.0.1 password=", kPassword, " bogus"),
           std::string("postgresql://fedwall:pw%zz@127.0.0.1/db"),
       }) {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(url);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << url << ": " << s.status();
    EXPECT_THAT(s.status().message(), Not(HasSubstr(kPassword))) << url;
    EXPECT_THAT(s.status().message(), Not(HasSubstr("pw%zz"))) << url;
    EXPECT_THAT(s.status().message(), HasSubstr("review store")) << url;
  }
  EXPECT_EQ(OpenPostgresStore("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenPostgresStore(std::string("postgresql://a\0b", 16)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PostgresReviewStoreTest, OptionsAreChecked) {
  EXPECT_EQ(OpenPostgresStore(url_, {.max_connections = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenPostgresStore(url_, {.max_connections = 65}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenPostgresStore(url_, {.connect_timeout = absl::ZeroDuration()}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenPostgresStore(url_, {.statement_timeout = absl::Seconds(-1)}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PostgresReviewStoreTest, NoServerIsUnavailableWithoutThePassword) {
  const std::string url = UrlWithPassword("x", ClosedPort());
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(url);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr("connect to postgresql://fedwall@127.0.0.1:"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr(kPassword)));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("s3cr")));
}

TEST_F(PostgresReviewStoreTest, UnknownDatabaseIsUnavailableWithTheServersMessage) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(UrlWithPassword("nosuchdb"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr("\"nosuchdb\" does not exist"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("s3cr")));
}

TEST_F(PostgresReviewStoreTest, ReconnectsAfterTheServerDropsItsConnections) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(url_, {.max_connections = 2});
  ASSERT_TRUE(s.ok()) << s.status();
  NewFlag f = MakeFlag(1);
  ASSERT_TRUE((*s)->AddFlags({&f, 1}).ok());
  // The store's connections (fallback_application_name "fedwalld"), not autovacuum's.
  const std::string mine =
      " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
      "AND application_name = 'fedwalld'";
  for (int round = 0; round < 3; ++round) {
    // As a server restart or an administrator would: every connection of the store goes.
    absl::StatusOr<std::string> killed =
        PostgresQuery(url_, "SELECT count(pg_terminate_backend(pid))" + mine);
    ASSERT_TRUE(killed.ok()) << killed.status();
    EXPECT_EQ(*killed, "1");
    if (round != 1) {  // round 1: the store finds out while the backend is going
      for (int i = 0; i < 1000; ++i) {
        absl::StatusOr<std::string> left = PostgresQuery(url_, "SELECT count(*)" + mine);
        ASSERT_TRUE(left.ok());
        if (*left == "0") break;
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
    absl::StatusOr<FlagPage> page = (*s)->ListFlags({});
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->flags.size(), static_cast<size_t>(round + 1));
    NewFlag next = MakeFlag(round + 2);
    absl::StatusOr<std::vector<AddedFlag>> added = (*s)->AddFlags({&next, 1});
    ASSERT_TRUE(added.ok()) << added.status();
  }
}

TEST_F(PostgresReviewStoreTest, AStoppedServerGivesUnavailableNotACrash) {
  absl::StatusOr<std::unique_ptr<fedwall::testing::PostgresServer>> own =
      fedwall::testing::PostgresServer::Start();
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_TRUE((*own)->CreateDatabase("gone").ok());
  absl::StatusOr<std::unique_ptr<ReviewStore>> s =
      OpenPostgresStore((*own)->url("gone"), {.connect_timeout = absl::Seconds(2)});
  ASSERT_TRUE(s.ok()) << s.status();
  NewFlag f = MakeFlag(1);
  ASSERT_TRUE((*s)->AddFlags({&f, 1}).ok());
  (*own)->Stop();
  EXPECT_FALSE((*own)->running());

  const absl::Time start = absl::Now();
  EXPECT_EQ((*s)->ListFlags({}).status().code(), absl::StatusCode::kUnavailable);
  absl::Status add = (*s)->AddFlags({&f, 1}).status();
  EXPECT_EQ(add.code(), absl::StatusCode::kUnavailable) << add;
  EXPECT_THAT(add.message(), HasSubstr("review store"));
  EXPECT_EQ((*s)->ClaimHeld("1", absl::Now(), absl::Now()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ((*s)->DeleteDomainBlock("a.example").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

TEST_F(PostgresReviewStoreTest, OneConnectionServesManyThreads) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenPostgresStore(url_, {.max_connections = 1});
  ASSERT_TRUE(s.ok()) << s.status();
  ReviewStore* store = s->get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([store, t] {
      for (int i = 0; i < 25; ++i) {
        NewFlag f = MakeFlag(t * 100 + i);
        absl::Status st = store->AddFlags({&f, 1}).status();
        if (!st.ok()) ADD_FAILURE() << st;
        absl::Status list = store->ListFlags({.page_size = 5}).status();
        if (!list.ok()) ADD_FAILURE() << list;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(*PostgresQuery(url_, "SELECT count(*) FROM flags"), "100");
  // At most one connection of the store was ever open at once (the store's connections are
  // named "fedwalld"; an autovacuum worker may be connected too).
  EXPECT_EQ(*PostgresQuery(url_,
                           "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND pid <> pg_backend_pid() "
                           "AND application_name = 'fedwalld'"),
            "1");
}

TEST_F(PostgresReviewStoreTest, OpenReviewStorePicksPostgresForItsUrls) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenReviewStore(url_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*PostgresQuery(url_, "SELECT version FROM schema_version"), "1");
  const std::string short_scheme = "postgres://" + url_.substr(std::string("postgresql://").size());
  absl::StatusOr<std::unique_ptr<ReviewStore>> again = OpenReviewStore(short_scheme);
  ASSERT_TRUE(again.ok()) << again.status();
  // Not a URL: a SQLite path, which fails here in its own way.
  EXPECT_THAT(OpenReviewStore("/nonexistent/dir/fedwall.db").status().message(),
              HasSubstr("unable to open"));
}

// The test server itself (tests/servers/postgres_server.h).
TEST(PostgresServerTest, StartsStopsAndCleansUp) {
  absl::StatusOr<std::unique_ptr<fedwall::testing::PostgresServer>> pg =
      fedwall::testing::PostgresServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  const std::string dir = (*pg)->dir();
  EXPECT_TRUE(std::filesystem::exists(dir + "/data/PG_VERSION"));
  EXPECT_GT((*pg)->port(), 0);
  EXPECT_EQ((*pg)->url("x"), absl::StrCat("postgresql://fedwall@127.0.0.1:", (*pg)->port(), "/x"));
  EXPECT_EQ(PQping((*pg)->url().c_str()), PQPING_OK);
  ASSERT_TRUE((*pg)->CreateDatabase("db_1").ok());
  EXPECT_EQ(*PostgresQuery((*pg)->url("db_1"), "SELECT current_user"), "fedwall");
  EXPECT_EQ((*pg)->CreateDatabase("db_1").code(), absl::StatusCode::kInternal);  // exists
  for (const std::string& bad : {std::string(""), std::string("1db"), std::string("Db"),
                                 std::string("a-b"), std::string("a\"b"), std::string(64, 'a')}) {
    EXPECT_EQ((*pg)->CreateDatabase(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  (*pg)->Stop();
  EXPECT_FALSE((*pg)->running());
  EXPECT_NE(PQping((*pg)->url().c_str()), PQPING_OK);
  (*pg)->Stop();  // again: nothing to do
  pg->reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(PostgresServerTest, MissingBinariesFailWithTheReason) {
  setenv("FEDWALL_PG_BINDIR", "/nonexistent/bin", 1);
  absl::StatusOr<std::unique_ptr<fedwall::testing::PostgresServer>> pg =
      fedwall::testing::PostgresServer::Start();
  unsetenv("FEDWALL_PG_BINDIR");
  ASSERT_FALSE(pg.ok());
  EXPECT_THAT(pg.status().message(), HasSubstr("initdb exited with status 127"));
  EXPECT_THAT(pg.status().message(), HasSubstr("exec failed"));
}

}  // namespace
}  // namespace fedwall::store
