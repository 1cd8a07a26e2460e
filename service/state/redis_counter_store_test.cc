// Tests of RedisCounterStore against real redis-server processes: the shared CounterStore
// conformance suite (one shared server, a fresh key prefix per case) and Redis-only cases
// (URLs, expiry, failures and recovery, timeouts, threads, two nodes, AUTH, SELECT).
#include "service/state/redis_counter_store.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/counters/counter_store_conformance.h"
#include "gtest/gtest.h"
#include "tests/servers/redis_server.h"

namespace fedwall::state {
namespace {

using counters::CounterQuery;
using counters::CounterStoreStats;
using counters::DistinctQuery;
using counters::EventQuery;
using fedwall::testing::RedisServer;

bool HaveRedis() { return access(RedisServer::kDefaultBinary, X_OK) == 0; }

// One server for the whole binary (conformance cases and cases that do not break it), stopped
// by the environment at exit.
RedisServer* shared_server = nullptr;

class SharedServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // as fedwalld does
    if (!HaveRedis()) return;
    absl::StatusOr<std::unique_ptr<RedisServer>> s = RedisServer::Start();
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
    shared_server = server_.get();
  }
  void TearDown() override {
    shared_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<RedisServer> server_;
};

const ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedServerEnvironment);

using counters::testing::CounterStoreConformance;

INSTANTIATE_TEST_SUITE_P(
    Redis, CounterStoreConformance,
    ::testing::Values(counters::testing::StoreFactory{
        .name = "redis",
        .make = [](const std::string& unique) -> std::unique_ptr<counters::CounterStore> {
          if (shared_server == nullptr) return nullptr;
          RedisOptions options;
          options.timeout = absl::Seconds(5);  // a shared, slow test machine; big batches
          options.key_prefix = absl::StrCat("conf:", unique, ":");
          auto store = OpenRedisCounterStore(shared_server->url(), options);
          EXPECT_TRUE(store.ok()) << store.status();
          if (!store.ok()) return nullptr;
          return *std::move(store);
        },
        .skip_reason = "no /usr/bin/redis-server (or it did not start)"}),
    counters::testing::FactoryName);

// The values of one Count call.
std::vector<std::optional<double>> CountAll(counters::CounterStore& store, absl::Time now,
                                            const std::vector<CounterQuery>& qs,
                                            bool record = true) {
  std::vector<std::optional<double>> values;
  store.Count(now, record, qs, &values);
  return values;
}

// A direct hiredis connection, for looking at what the store wrote.
struct Direct {
  explicit Direct(int port) : ctx(redisConnect("127.0.0.1", port)) {}
  ~Direct() {
    if (ctx != nullptr) redisFree(ctx);
  }
  // Runs a command; the reply as text (integers in decimal, arrays joined by '\n').
  std::string Cmd(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) return "<io error>";
    std::string out = Text(r);
    freeReplyObject(r);
    return out;
  }
  static std::string Text(const redisReply* r) {
    switch (r->type) {
      case REDIS_REPLY_INTEGER:
        return absl::StrCat(r->integer);
      case REDIS_REPLY_NIL:
        return "<nil>";
      case REDIS_REPLY_ARRAY: {
        std::string out;
        for (size_t i = 0; i < r->elements; ++i) {
          if (i > 0) out += "\n";
          out += Text(r->element[i]);
        }
        return out;
      }
      case REDIS_REPLY_ERROR:
        return absl::StrCat("<error> ", std::string(r->str, r->len));
      default:
        return std::string(r->str, r->len);
    }
  }
  redisContext* ctx;
};

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t nl = s.find('\n', start);
    out.push_back(s.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

class RedisCounterStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveRedis()) GTEST_SKIP() << "no " << RedisServer::kDefaultBinary;
    ASSERT_NE(shared_server, nullptr);
  }
  // A store on the shared server with a prefix of its own.
  std::unique_ptr<RedisCounterStore> Open(RedisOptions options = RedisOptions(),
                                          std::string url = "") {
    if (options.key_prefix == RedisOptions().key_prefix) {
      const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
      options.key_prefix = absl::StrCat("t:", info->name(), ":", ++made_, ":");
    }
    if (options.timeout == RedisOptions().timeout) options.timeout = absl::Seconds(2);
    auto store = OpenRedisCounterStore(url.empty() ? shared_server->url() : url, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  int made_ = 0;
};

TEST(RedisUrlTest, RejectsBadUrls) {
  for (const std::string& url :
       std::vector<std::string>{"",
                                "localhost:6379",
                                "http://localhost",
                                "rediss://localhost:6380",
                                "redis://",
                                "redis://:6379",
                                "redis://host:0",
                                "redis://host:65536",
                                "redis://host:12x",
                                "redis://host:",
                                "redis://host/abc",
                                "redis://host/-1",
                                "redis://host/99999999",
                                "redis://[::1",
                                "redis://[::1]x",
                                "redis://[zz]:1",
                                "redis://ho st",
                                "redis://host\n",
                                "redis://user@host",
                                "redis://:@host",
                                "redis://:pa%zzss@host",
                                "redis://:pa%4@host",
                                "redis://h%41st",
                                "redis://host/0?x=1",
                                "unix://",
                                "unix://relative.sock",
                                "unix:///a.sock?x=1",
                                "unix:///a.sock?db=x",
                                std::string("unix:///") + std::string(200, 'a'),
                                std::string("redis://") + std::string(3000, 'a'),
                                std::string("redis://") + std::string(300, 'a')}) {
    auto store = OpenRedisCounterStore(url);
    ASSERT_FALSE(store.ok()) << url;
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_TRUE(absl::StartsWith(store.status().message(), "invalid Redis URL")) << url;
  }
}

TEST(RedisUrlTest, AcceptsGoodUrlsAndHidesThePassword) {
  struct Case {
    std::string url;
    std::string description;
  };
  for (const Case& c :
       std::vector<Case>{{"redis://localhost", "redis://localhost:6379/0"},
                         {"redis://127.0.0.1:7000/", "redis://127.0.0.1:7000/0"},
                         {"redis://10.0.0.5:6379/3", "redis://10.0.0.5:6379/3"},
                         {"redis://:s3cret@redis.internal:6380/2", "redis://redis.internal:6380/2"},
                         {"redis://fedwall:p%40ss%3Aw0rd@host/1", "redis://host:6379/1"},
                         {"redis://[::1]:6390/4", "redis://[::1]:6390/4"},
                         {"redis://[::1]", "redis://[::1]:6379/0"},
                         {"unix:///run/redis/redis.sock", "unix:///run/redis/redis.sock"},
                         {"unix:///run/redis.sock?db=5", "unix:///run/redis.sock?db=5"}}) {
    auto store = OpenRedisCounterStore(c.url);
    ASSERT_TRUE(store.ok()) << c.url << ": " << store.status();
    EXPECT_EQ((*store)->description(), c.description);
    EXPECT_FALSE(absl::StrContains((*store)->description(), "s3cret"));
  }
}

TEST(RedisUrlTest, RejectsBadOptions) {
  auto bad = [](auto change) {
    RedisOptions o;
    change(o);
    auto store = OpenRedisCounterStore("redis://127.0.0.1:6379", o);
    return !store.ok() && store.status().code() == absl::StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(bad([](RedisOptions& o) { o.timeout = absl::ZeroDuration(); }));
  EXPECT_TRUE(bad([](RedisOptions& o) { o.timeout = absl::Minutes(1); }));
  EXPECT_TRUE(bad([](RedisOptions& o) { o.retry_after = absl::Seconds(-1); }));
  EXPECT_TRUE(bad([](RedisOptions& o) { o.retry_after = absl::Hours(1); }));
  EXPECT_TRUE(bad([](RedisOptions& o) { o.key_prefix = ""; }));
  EXPECT_TRUE(bad([](RedisOptions& o) { o.key_prefix = std::string(129, 'p'); }));
  EXPECT_TRUE(bad([](RedisOptions& o) { o.max_connections = 0; }));
  EXPECT_TRUE(bad([](RedisOptions& o) { o.max_connections = 1000; }));
  EXPECT_TRUE(bad([](RedisOptions& o) { o.max_queries_per_call = 0; }));
  EXPECT_TRUE(bad([](RedisOptions& o) { o.max_keys_per_call = 1'000'000; }));
  EXPECT_FALSE(bad([](RedisOptions&) {}));
}

TEST_F(RedisCounterStoreTest, KeysExpireAndAreFewAndHashed) {
  RedisOptions options;
  options.key_prefix = "exp:";
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  const std::string long_url = "https://example.com/" + std::string(5000, 'x');
  CountAll(
      *store, absl::Now(),
      {EventQuery(long_url, absl::Minutes(10)), DistinctQuery({long_url, "band2"}, long_url, absl::Hours(1)),
       EventQuery("short", absl::Seconds(1))});
  Direct redis(shared_server->port());
  ASSERT_NE(redis.ctx, nullptr);
  std::vector<std::string> keys = Lines(redis.Cmd({"KEYS", "exp:*"}));
  // One hash per window (series are its fields); no HyperLogLog below 65 members.
  EXPECT_EQ(keys.size(), 3u) << redis.Cmd({"KEYS", "exp:*"});
  size_t fields = 0;
  for (const std::string& key : keys) {
    EXPECT_LT(key.size(), 40u) << key;
    EXPECT_EQ(redis.Cmd({"TYPE", key}), "hash") << key;
    for (const std::string& field : Lines(redis.Cmd({"HKEYS", key}))) {
      EXPECT_LT(field.size(), 60u) << field;  // hashed: the long URL is not there
      ++fields;
    }
    int64_t pttl = std::stoll(redis.Cmd({"PTTL", key}));
    // An epoch's hash lives until the next epoch ends: at most 2 (W + b) + 10 s slack.
    EXPECT_GT(pttl, 0) << key;
    EXPECT_LE(pttl, 2 * 3'660'000 + 10'000) << key;
    if (absl::StrContains(key, ":w:1000:")) {
      EXPECT_LE(pttl, 2 * 1'016 + 10'000) << key;
    }
  }
  EXPECT_EQ(fields, 3u + 4u);  // 4 series, and each hash's epoch marker
  // A dry run writes nothing.
  RedisOptions dry_options;
  dry_options.key_prefix = "dry:";
  auto dry = Open(dry_options);
  CountAll(*dry, absl::Now(),
           {EventQuery("a", absl::Minutes(1)), DistinctQuery({"b"}, "m", absl::Minutes(1))},
           /*record=*/false);
  EXPECT_EQ(redis.Cmd({"KEYS", "dry:*"}), "");
  // Short windows really go away.
  RedisOptions short_options;
  short_options.key_prefix = "short:";
  auto short_lived = Open(short_options);
  CountAll(*short_lived, absl::Now(), {EventQuery("a", absl::Seconds(1))});
  EXPECT_EQ(Lines(redis.Cmd({"KEYS", "short:*"})).size(), 1u);
  redis.Cmd({"PEXPIRE", Lines(redis.Cmd({"KEYS", "short:*"}))[0], "1"});  // skip the slack
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(redis.Cmd({"KEYS", "short:*"}), "");
}

TEST_F(RedisCounterStoreTest, SeriesKeepAtMost65MembersThenHyperLogLogs) {
  RedisOptions options;
  options.key_prefix = "cap:";
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  absl::Time t = absl::FromUnixSeconds(1'700'000'000);
  Direct redis(shared_server->port());
  auto entries = [&] {
    std::vector<std::string> keys = Lines(redis.Cmd({"KEYS", "cap:w:*"}));
    if (keys.size() != 1u) return std::string("keys: ") + absl::StrCat(keys.size());
    std::vector<std::string> fields = Lines(redis.Cmd({"HKEYS", keys[0]}));
    for (const std::string& f : fields) {
      if (f == "~") continue;
      // 24 bytes per member: a 16-byte hash and the time it was last seen.
      return redis.Cmd({"HSTRLEN", keys[0], f});
    }
    return std::string("no field");
  };
  for (int i = 0; i < 64; ++i) {
    CountAll(*store, t + absl::Milliseconds(i),
             {DistinctQuery({"k"}, absl::StrCat("m", i), absl::Hours(1))});
  }
  EXPECT_EQ(entries(), "1536");                     // 64 members
  EXPECT_EQ(redis.Cmd({"KEYS", "cap:*:h:*"}), "");  // exact: no HyperLogLog yet
  for (int i = 64; i < 300; ++i) {
    CountAll(*store, t + absl::Milliseconds(i),
             {DistinctQuery({"k"}, absl::StrCat("m", i), absl::Hours(1))});
  }
  EXPECT_EQ(entries(), "1560");                                   // capped at 65
  EXPECT_EQ(Lines(redis.Cmd({"KEYS", "cap:*:h:*"})).size(), 1u);  // one bucket so far
  std::vector<std::optional<double>> v =
      CountAll(*store, t + absl::Seconds(1), {DistinctQuery({"k"}, "m0", absl::Hours(1))});
  ASSERT_TRUE(v[0].has_value());
  EXPECT_NEAR(*v[0], 300, 15);
  // The HLL scratch key never stays.
  EXPECT_EQ(redis.Cmd({"EXISTS", "cap:scratch"}), "0");
}

TEST_F(RedisCounterStoreTest, ScriptIsReloadedAfterFlush) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  absl::Time t = absl::Now();
  EXPECT_EQ(CountAll(*store, t, {EventQuery("a", absl::Minutes(1))})[0], 1);
  Direct redis(shared_server->port());
  EXPECT_EQ(redis.Cmd({"SCRIPT", "FLUSH"}), "OK");
  EXPECT_EQ(CountAll(*store, t, {EventQuery("a", absl::Minutes(1))})[0], 2);
  EXPECT_EQ(store->stats().failures, 0u);
}

TEST_F(RedisCounterStoreTest, TwoNodesShareCounts) {
  RedisOptions options;
  options.key_prefix = "nodes:";
  auto a = Open(options);
  auto b = Open(options);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  absl::Time t = absl::Now();
  const absl::Duration w = absl::Minutes(10);
  EXPECT_EQ(CountAll(*a, t, {EventQuery("actor", w)})[0], 1);
  EXPECT_EQ(CountAll(*b, t, {EventQuery("actor", w)})[0], 2);
  EXPECT_EQ(CountAll(*a, t, {DistinctQuery({"text"}, "alice", w)})[0], 1);
  EXPECT_EQ(CountAll(*b, t, {DistinctQuery({"text"}, "bob", w)})[0], 2);
  EXPECT_EQ(CountAll(*a, t, {DistinctQuery({"text"}, "bob", w)}, false)[0], 2);
  // A different prefix is a different deployment.
  RedisOptions other;
  other.key_prefix = "nodes-other:";
  auto c = Open(other);
  EXPECT_EQ(CountAll(*c, t, {EventQuery("actor", w)})[0], 1);
}

TEST_F(RedisCounterStoreTest, ConcurrentCountsFromFourThreads) {
  RedisOptions options;
  options.max_connections = 4;
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  absl::Time t = absl::Now();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::atomic<int> unknown{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPerThread; ++j) {
        auto v =
            CountAll(*store, t,
                     {EventQuery("shared", absl::Hours(1)),
                      DistinctQuery({"text"}, absl::StrCat("actor-", i, "-", j % 10), absl::Hours(1))});
        if (!v[0] || !v[1]) unknown.fetch_add(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(unknown.load(), 0) << store->last_error();
  auto v = CountAll(
      *store, t, {EventQuery("shared", absl::Hours(1)), DistinctQuery({"text"}, "x", absl::Hours(1))}, false);
  EXPECT_EQ(v[0], kThreads * kPerThread + 1);
  EXPECT_EQ(v[1], kThreads * 10 + 1);
  CounterStoreStats s = store->stats();
  EXPECT_EQ(s.queries, 2u * (kThreads * kPerThread + 1));
  EXPECT_EQ(s.failures, 0u);
}

TEST_F(RedisCounterStoreTest, OneConnectionServesManyThreads) {
  RedisOptions options;
  options.max_connections = 1;
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  absl::Time t = absl::Now();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j) CountAll(*store, t, {EventQuery("one", absl::Hours(1))});
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(CountAll(*store, t, {EventQuery("one", absl::Hours(1))}, false)[0], 201);
  EXPECT_EQ(store->stats().failures, 0u) << store->last_error();
}

TEST_F(RedisCounterStoreTest, UnixSocketAndDatabases) {
  RedisOptions options;
  options.key_prefix = "db:";
  auto unix0 = Open(options, "unix://" + shared_server->unix_socket());
  auto tcp0 = Open(options, absl::StrCat("redis://127.0.0.1:", shared_server->port(), "/0"));
  auto tcp3 = Open(options, absl::StrCat("redis://127.0.0.1:", shared_server->port(), "/3"));
  auto unix3 = Open(options, "unix://" + shared_server->unix_socket() + "?db=3");
  ASSERT_TRUE(unix0 && tcp0 && tcp3 && unix3);
  absl::Time t = absl::Now();
  EXPECT_EQ(CountAll(*unix0, t, {EventQuery("k", absl::Minutes(1))})[0], 1);
  EXPECT_EQ(CountAll(*tcp0, t, {EventQuery("k", absl::Minutes(1))})[0], 2);
  EXPECT_EQ(CountAll(*tcp3, t, {EventQuery("k", absl::Minutes(1))})[0], 1);
  EXPECT_EQ(CountAll(*unix3, t, {EventQuery("k", absl::Minutes(1))})[0], 2);
  // A database Redis does not have: unknown, with SELECT's error.
  auto db99 = Open(options, absl::StrCat("redis://127.0.0.1:", shared_server->port(), "/99"));
  EXPECT_FALSE(CountAll(*db99, t, {EventQuery("k", absl::Minutes(1))})[0].has_value());
  EXPECT_TRUE(absl::StrContains(db99->last_error(), "SELECT")) << db99->last_error();
}

TEST_F(RedisCounterStoreTest, LimitsPerCall) {
  RedisOptions options;
  options.max_queries_per_call = 3;
  options.max_keys_per_call = 4;
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  absl::Time t = absl::Now();
  std::vector<CounterQuery> four(4, EventQuery("k", absl::Minutes(1)));
  for (const auto& v : CountAll(*store, t, four)) EXPECT_FALSE(v.has_value());
  auto keys5 = CountAll(*store, t, {DistinctQuery({"a", "b", "c", "d", "e"}, "m", absl::Minutes(1))});
  EXPECT_FALSE(keys5[0].has_value());
  EXPECT_EQ(store->stats().failures, 2u);
  EXPECT_EQ(store->stats().unknown, 5u);
  // Within the limits, and not paused by those failures.
  auto ok = CountAll(*store, t,
                     {EventQuery("k", absl::Minutes(1)), DistinctQuery({"a", "b"}, "m", absl::Minutes(1))});
  EXPECT_EQ(ok[0], 1);
  EXPECT_EQ(ok[1], 1);
  // A query without keys (against the contract) is unknown alone.
  CounterQuery empty;
  auto mixed = CountAll(*store, t, {empty, EventQuery("k", absl::Minutes(1))});
  EXPECT_FALSE(mixed[0].has_value());
  EXPECT_EQ(mixed[1], 2);
}

TEST_F(RedisCounterStoreTest, WindowsOutsideTheContractAreClamped) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  absl::Time t = absl::Now();
  EXPECT_EQ(CountAll(*store, t, {EventQuery("k", absl::ZeroDuration())})[0], 1);
  EXPECT_EQ(CountAll(*store, t, {EventQuery("k", absl::Milliseconds(-5))})[0], 2);  // both are 1 s
  EXPECT_EQ(CountAll(*store, t, {EventQuery("k", absl::Hours(24 * 365))})[0], 1);
}

TEST_F(RedisCounterStoreTest, PasswordFromTheUrl) {
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  {
    Direct admin((*server)->port());
    ASSERT_EQ(admin.Cmd({"CONFIG", "SET", "requirepass", "p@ss:word"}), "OK");
  }
  RedisOptions options;
  options.timeout = absl::Seconds(2);
  auto good = OpenRedisCounterStore(
      absl::StrCat("redis://:p%40ss%3Aword@127.0.0.1:", (*server)->port()), options);
  auto user = OpenRedisCounterStore(
      absl::StrCat("redis://default:p%40ss%3Aword@127.0.0.1:", (*server)->port()), options);
  auto wrong =
      OpenRedisCounterStore(absl::StrCat("redis://:nope@127.0.0.1:", (*server)->port()), options);
  auto none = OpenRedisCounterStore((*server)->url(), options);
  ASSERT_TRUE(good.ok() && user.ok() && wrong.ok() && none.ok());
  absl::Time t = absl::Now();
  EXPECT_EQ(CountAll(**good, t, {EventQuery("k", absl::Minutes(1))})[0], 1);
  EXPECT_EQ(CountAll(**user, t, {EventQuery("k", absl::Minutes(1))})[0], 2);
  EXPECT_FALSE(CountAll(**wrong, t, {EventQuery("k", absl::Minutes(1))})[0].has_value());
  EXPECT_TRUE(absl::StrContains((*wrong)->last_error(), "AUTH")) << (*wrong)->last_error();
  EXPECT_FALSE(CountAll(**none, t, {EventQuery("k", absl::Minutes(1))})[0].has_value());
  EXPECT_TRUE((*good)->Ping().ok());
  EXPECT_FALSE((*wrong)->Ping().ok());
}

TEST_F(RedisCounterStoreTest, UnknownWhileRedisIsDownThenKnownAgain) {
  absl::StatusOr<std::unique_ptr<RedisServer>> started = RedisServer::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  RedisServer& server = **started;
  RedisOptions options;
  options.timeout = absl::Milliseconds(200);
  options.retry_after = absl::Milliseconds(300);
  auto store = OpenRedisCounterStore(server.url(), options);
  ASSERT_TRUE(store.ok());
  RedisCounterStore& s = **store;
  std::vector<CounterQuery> qs = {EventQuery("k", absl::Minutes(1)),
                                  DistinctQuery({"t1", "t2"}, "m", absl::Minutes(1))};
  absl::Time t = absl::Now();
  auto v = CountAll(s, t, qs);
  ASSERT_TRUE(v[0] && v[1]) << s.last_error();

  server.Stop();
  absl::Time start = absl::Now();
  v = CountAll(s, t, qs);
  EXPECT_FALSE(v[0].has_value());
  EXPECT_FALSE(v[1].has_value());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(600));
  EXPECT_FALSE(s.last_error().empty());
  CounterStoreStats stats = s.stats();
  EXPECT_EQ(stats.queries, 4u);
  EXPECT_EQ(stats.unknown, 2u);
  EXPECT_EQ(stats.failures, 1u);
  // Within retry_after: unknown at once, without trying.
  start = absl::Now();
  for (int i = 0; i < 100; ++i) {
    v = CountAll(s, t, qs);
    EXPECT_FALSE(v[0].has_value());
  }
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(s.stats().failures, 101u);
  EXPECT_EQ(s.stats().unknown, 202u);
  EXPECT_FALSE(s.Ping().ok());

  // Back (empty: no persistence): known again once retry_after has passed.
  ASSERT_TRUE(server.Restart().ok());
  absl::SleepFor(options.retry_after + absl::Milliseconds(50));
  v = CountAll(s, t, qs);
  ASSERT_TRUE(v[0].has_value()) << s.last_error();
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[1], 1);
  EXPECT_TRUE(s.Ping().ok());
}

TEST_F(RedisCounterStoreTest, RestartIsSeenOnTheNextCallAfterThePause) {
  // Idle pooled connections to a restarted server: the next Count reconnects by itself.
  absl::StatusOr<std::unique_ptr<RedisServer>> started = RedisServer::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  RedisOptions options;
  options.timeout = absl::Seconds(2);
  auto store = OpenRedisCounterStore((*started)->url(), options);
  ASSERT_TRUE(store.ok());
  absl::Time t = absl::Now();
  EXPECT_EQ(CountAll(**store, t, {EventQuery("k", absl::Minutes(1))})[0], 1);
  ASSERT_TRUE((*started)->Restart().ok());
  EXPECT_EQ(CountAll(**store, t, {EventQuery("k", absl::Minutes(1))})[0], 1) << (*store)->last_error();
  EXPECT_EQ((*store)->stats().failures, 0u);
}

TEST_F(RedisCounterStoreTest, StuckRedisCostsOneTimeout) {
  absl::StatusOr<std::unique_ptr<RedisServer>> started = RedisServer::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  RedisServer& server = **started;
  RedisOptions options;
  options.timeout = absl::Milliseconds(100);
  options.retry_after = absl::Milliseconds(500);
  options.max_connections = 2;
  auto store = OpenRedisCounterStore(server.url(), options);
  ASSERT_TRUE(store.ok());
  RedisCounterStore& s = **store;
  std::vector<CounterQuery> qs = {EventQuery("k", absl::Minutes(1))};
  absl::Time t = absl::Now();
  ASSERT_TRUE(CountAll(s, t, qs)[0].has_value()) << s.last_error();

  ASSERT_TRUE(server.Pause().ok());
  // A pooled connection: the script times out.
  absl::Time start = absl::Now();
  EXPECT_FALSE(CountAll(s, t, qs)[0].has_value());
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(90));
  EXPECT_LT(took, absl::Milliseconds(400));
  // Then unknown at once for retry_after.
  start = absl::Now();
  EXPECT_FALSE(CountAll(s, t, qs)[0].has_value());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(20));
  // After the pause, a new connection (the kernel accepts it) and a timeout again.
  absl::SleepFor(options.retry_after);
  start = absl::Now();
  EXPECT_FALSE(CountAll(s, t, qs)[0].has_value());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(400));
  // Four threads at once against the stuck server: each returns within the timeout.
  absl::SleepFor(options.retry_after);
  std::vector<std::thread> threads;
  std::atomic<int64_t> worst_ms{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      absl::Time begin = absl::Now();
      std::vector<std::optional<double>> values;
      s.Count(t, true, qs, &values);
      int64_t ms = absl::ToInt64Milliseconds(absl::Now() - begin);
      int64_t seen = worst_ms.load();
      while (ms > seen && !worst_ms.compare_exchange_weak(seen, ms)) {
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_LT(worst_ms.load(), 400);

  ASSERT_TRUE(server.Resume().ok());
  absl::SleepFor(options.retry_after + absl::Milliseconds(50));
  // The stuck calls were recorded late or not at all: just known again.
  auto v = CountAll(s, t, qs);
  EXPECT_TRUE(v[0].has_value()) << s.last_error();
  EXPECT_GE(s.stats().failures, 3u);
}

}  // namespace
}  // namespace fedwall::state
