#include "service/http/sessions.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace fedwall::service::http {
namespace {

TEST(SessionStoreTest, CreateValidRemove) {
  SessionStore store;
  absl::StatusOr<std::string> id = store.Create();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->size(), 64u);
  EXPECT_TRUE(store.Valid(*id));
  EXPECT_FALSE(store.Valid(""));
  EXPECT_FALSE(store.Valid(std::string(64, '0')));
  store.Remove(*id);
  EXPECT_FALSE(store.Valid(*id));
}

TEST(SessionStoreTest, IdsAreDistinct) {
  SessionStore store;
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(*store.Create());
  EXPECT_EQ(ids.size(), 100u);
}

TEST(SessionStoreTest, Expire) {
  absl::Time now = absl::FromUnixSeconds(1000);
  SessionOptions options;
  options.ttl = absl::Hours(12);
  options.now = [&now] { return now; };
  SessionStore store(options);
  std::string id = *store.Create();
  now += absl::Hours(11);
  EXPECT_TRUE(store.Valid(id));
  now += absl::Hours(1);
  EXPECT_FALSE(store.Valid(id));
  EXPECT_EQ(store.size(), 0u);
}

TEST(SessionStoreTest, BoundedOldestEvicted) {
  SessionOptions options;
  options.max_sessions = 3;
  SessionStore store(options);
  std::string first = *store.Create();
  std::string second = *store.Create();
  store.Create().IgnoreError();
  store.Create().IgnoreError();
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.Valid(first));
  EXPECT_TRUE(store.Valid(second));
  // Login/logout cycles keep the bookkeeping bounded too.
  for (int i = 0; i < 1000; ++i) store.Remove(*store.Create());
  EXPECT_LE(store.size(), 3u);
}

TEST(CookieValueTest, FindsTheNamedCookie) {
  EXPECT_EQ(CookieValue("a=1; fedwall_session=abc; b=2", "fedwall_session"), "abc");
  EXPECT_EQ(CookieValue("fedwall_session=abc", "fedwall_session"), "abc");
  EXPECT_EQ(CookieValue("xfedwall_session=abc", "fedwall_session"), "");
  EXPECT_EQ(CookieValue("", "fedwall_session"), "");
  EXPECT_EQ(CookieValue("fedwall_session", "fedwall_session"), "");
}

}  // namespace
}  // namespace fedwall::service::http
