#include "service/config/config.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedwall::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// A fresh directory under the test's temporary directory.
fs::path MakeTempDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("config_test_", name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void ExpectSameSettings(const ServiceConfig& a, const ServiceConfig& b) {
  EXPECT_EQ(a.listen, b.listen);
  EXPECT_EQ(a.admin_listen, b.admin_listen);
  EXPECT_EQ(a.admin_token_file, b.admin_token_file);
  EXPECT_EQ(a.admin_http_listen, b.admin_http_listen);
  EXPECT_EQ(a.tls_cert_file, b.tls_cert_file);
  EXPECT_EQ(a.tls_key_file, b.tls_key_file);
  EXPECT_EQ(a.admin_client_ca_file, b.admin_client_ca_file);
  EXPECT_EQ(a.workers, b.workers);
  EXPECT_EQ(a.drain_timeout, b.drain_timeout);
  EXPECT_EQ(a.policy_dir, b.policy_dir);
  EXPECT_EQ(a.watch, b.watch);
  EXPECT_EQ(a.reload_debounce, b.reload_debounce);
  EXPECT_EQ(a.store, b.store);
  EXPECT_EQ(a.store_sync_interval, b.store_sync_interval);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.state_timeout, b.state_timeout);
  EXPECT_EQ(a.state_max_memory_bytes, b.state_max_memory_bytes);
  EXPECT_EQ(a.max_activity_bytes, b.max_activity_bytes);
  EXPECT_EQ(a.max_message_bytes, b.max_message_bytes);
  EXPECT_EQ(a.max_batch_items, b.max_batch_items);
  EXPECT_EQ(a.max_json_depth, b.max_json_depth);
  EXPECT_EQ(a.max_stream_in_flight, b.max_stream_in_flight);
  EXPECT_EQ(a.gateway_listen, b.gateway_listen);
  EXPECT_EQ(a.gateway_upstream, b.gateway_upstream);
  EXPECT_EQ(a.gateway_flag, b.gateway_flag);
  EXPECT_EQ(a.gateway_inbox_paths, b.gateway_inbox_paths);
  EXPECT_EQ(a.gateway_reject_status, b.gateway_reject_status);
  EXPECT_EQ(a.gateway_trusted_proxies, b.gateway_trusted_proxies);
  EXPECT_EQ(a.gateway_fail, b.gateway_fail);
  EXPECT_EQ(a.gateway_flag_effects, b.gateway_flag_effects);
  EXPECT_EQ(a.gateway_hold_window, b.gateway_hold_window);
  EXPECT_EQ(a.gateway_max_body_bytes, b.gateway_max_body_bytes);
  EXPECT_EQ(a.gateway_read_timeout, b.gateway_read_timeout);
  EXPECT_EQ(a.gateway_upstream_timeout, b.gateway_upstream_timeout);
  EXPECT_EQ(a.gateway_max_in_flight, b.gateway_max_in_flight);
  EXPECT_EQ(a.gateway_max_connections, b.gateway_max_connections);
}

// ParseConfig's error message for `toml` ("" when it parses).
std::string ParseError(const std::string& toml) {
  absl::StatusOr<ServiceConfig> c = ParseConfig(toml, "fedwall.toml");
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return Message(c.status());
}

TEST(ConfigTest, DefaultsAreSafe) {
  const ServiceConfig c;
  EXPECT_TRUE(absl::StartsWith(c.listen, "127.0.0.1:")) << c.listen;
  EXPECT_EQ(c.admin_listen, "");
  EXPECT_EQ(c.admin_token_file, "");  // admin refused
  EXPECT_EQ(c.admin_http_listen, "");
  EXPECT_EQ(c.tls_cert_file, "");  // plaintext unless configured
  EXPECT_EQ(c.tls_key_file, "");
  EXPECT_EQ(c.admin_client_ca_file, "");
  EXPECT_TRUE(CheckAdminExposure(c).ok());  // loopback without a token may start
  EXPECT_EQ(c.max_activity_bytes, 1 * kMiB);
  EXPECT_EQ(c.max_message_bytes, 16 * kMiB);
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ConfigTest, EmptyFileKeepsDefaults) {
  absl::StatusOr<ServiceConfig> c = ParseConfig("# nothing\n\n[server]\n[limits]\n", "f.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectSameSettings(*c, ServiceConfig{});
}

TEST(ConfigTest, ParsesEveryKey) {
  absl::StatusOr<ServiceConfig> c = ParseConfig(R"toml(
[server]
listen = "0.0.0.0:6000"
admin_listen = "127.0.0.1:6001"
admin_token_file = "/etc/fedwall/admin.token"
admin_http_listen = "[::1]:6002"
tls_cert_file = "/etc/fedwall/tls/cert.pem"
tls_key_file = "/etc/fedwall/tls/key.pem"
admin_client_ca_file = "/etc/fedwall/tls/admin-ca.pem"
workers = 8
drain_timeout = "10s"

[policy]
dir = "/etc/fedwall/rules"
watch = false
reload_debounce = "1s500ms"

[store]
path = "/var/lib/fedwall/fedwall.db"

[limits]
max_activity_bytes = "2MiB"
max_message_bytes = 33_554_432
max_batch_items = 500
max_json_depth = 32
max_stream_in_flight = 64
)toml",
                                                "f.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "0.0.0.0:6000");
  EXPECT_EQ(c->admin_listen, "127.0.0.1:6001");
  EXPECT_EQ(c->admin_token_file, "/etc/fedwall/admin.token");
  EXPECT_EQ(c->admin_http_listen, "[::1]:6002");
  EXPECT_EQ(c->tls_cert_file, "/etc/fedwall/tls/cert.pem");
  EXPECT_EQ(c->tls_key_file, "/etc/fedwall/tls/key.pem");
  EXPECT_EQ(c->admin_client_ca_file, "/etc/fedwall/tls/admin-ca.pem");
  EXPECT_EQ(c->workers, 8);
  EXPECT_EQ(c->drain_timeout, absl::Seconds(10));
  EXPECT_EQ(c->policy_dir, "/etc/fedwall/rules");
  EXPECT_FALSE(c->watch);
  EXPECT_EQ(c->reload_debounce, absl::Milliseconds(1500));
  EXPECT_EQ(c->store, "/var/lib/fedwall/fedwall.db");
  EXPECT_EQ(c->max_activity_bytes, 2 * kMiB);
  EXPECT_EQ(c->max_message_bytes, 32 * kMiB);
  EXPECT_EQ(c->max_batch_items, 500u);
  EXPECT_EQ(c->max_json_depth, 32u);
  EXPECT_EQ(c->max_stream_in_flight, 64u);
  EXPECT_TRUE(c->Validate().ok()) << c->Validate();
}

TEST(ConfigTest, GatewaySettings) {
  absl::StatusOr<ServiceConfig> c = ParseConfig(R"toml(
[gateway]
listen = "127.0.0.1:8088"
upstream = "http://127.0.0.1:3000"
flag = "hold"
inbox_paths = ["/inbox", "/u/*/inbox"]
reject_status = 403
trusted_proxies = ["10.0.0.0/8"]
fail = "closed"
flag_effects = ["mark_sensitive", "strip_media"]
hold_window = "6h"
max_body_bytes = "512KiB"
read_timeout = "10s"
upstream_timeout = "5s"
max_in_flight = 64
max_connections = 100
)toml",
                                                "f.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->Validate().ok()) << c->Validate();
  EXPECT_EQ(c->gateway_flag, "hold");
  EXPECT_EQ(c->gateway_inbox_paths, (std::vector<std::string>{"/inbox", "/u/*/inbox"}));
  EXPECT_EQ(c->gateway_trusted_proxies, (std::vector<std::string>{"10.0.0.0/8"}));
  EXPECT_EQ(c->gateway_flag_effects, (std::vector<std::string>{"mark_sensitive", "strip_media"}));
  EXPECT_EQ(c->gateway_reject_status, 403);
  EXPECT_EQ(c->gateway_hold_window, absl::Hours(6));
  EXPECT_EQ(c->gateway_max_body_bytes, 512u << 10);
  EXPECT_EQ(c->gateway_max_connections, 100u);

  EXPECT_THAT(ParseError("[gateway]\ninbox_paths = \"/inbox\"\n"),
              HasSubstr("gateway.inbox_paths must be an array of strings"));
  EXPECT_THAT(ParseError("[gateway]\ninbox_paths = [1]\n"),
              HasSubstr("gateway.inbox_paths must be an array of strings"));

  ServiceConfig bad;
  bad.gateway_listen = "127.0.0.1:8088";
  EXPECT_THAT(Message(bad.Validate()), HasSubstr("gateway.upstream must be set"));
  bad.gateway_upstream = "https://127.0.0.1:3000";
  EXPECT_THAT(Message(bad.Validate()), HasSubstr("gateway.upstream must be an http:// URL"));
  bad.gateway_upstream = "http://127.0.0.1:3000";
  bad.gateway_flag = "keep";
  bad.gateway_fail = "maybe";
  bad.gateway_reject_status = 200;
  bad.gateway_inbox_paths = {"inbox"};
  bad.gateway_flag_effects = {"hide"};
  const std::string m = Message(bad.Validate());
  EXPECT_THAT(m, HasSubstr("gateway.flag must be \"forward\" or \"hold\""));
  EXPECT_THAT(m, HasSubstr("gateway.fail must be \"open\" or \"closed\""));
  EXPECT_THAT(m, HasSubstr("gateway.reject_status must be 202 or 403"));
  EXPECT_THAT(m, HasSubstr("gateway.inbox_paths: \"inbox\" must start with '/'"));
  EXPECT_THAT(m, HasSubstr("gateway.flag_effects: unknown effect \"hide\""));
  ServiceConfig same;
  same.gateway_listen = same.listen;
  same.gateway_upstream = "http://127.0.0.1:3000";
  EXPECT_THAT(Message(same.Validate()), HasSubstr("must differ"));
}

TEST(ConfigTest, RedactedUrlHidesPasswords) {
  EXPECT_EQ(RedactedUrl("redis://:secret@10.0.0.5:6379/2"), "redis://:***@10.0.0.5:6379/2");
  EXPECT_EQ(RedactedUrl("postgresql://fedwall:pw@db/fedwall"), "postgresql://fedwall:***@db/fedwall");
  EXPECT_EQ(RedactedUrl("postgresql://fedwall@db/fedwall?sslmode=require&password=pw"),
            "postgresql://fedwall@db/fedwall?sslmode=require&password=***");
  EXPECT_EQ(RedactedUrl("postgresql://u:a@b@db/x?password=p&x=1"),
            "postgresql://u:***@db/x?password=***&x=1");
  EXPECT_EQ(RedactedUrl("postgresql://fedwall@db/fedwall"), "postgresql://fedwall@db/fedwall");
  EXPECT_EQ(RedactedUrl("redis://:pa/ss?x#y@10.0.0.5:6379/0"), "redis://:***@10.0.0.5:6379/0");
  EXPECT_EQ(RedactedUrl("fedwall.db"), "fedwall.db");
  EXPECT_EQ(RedactedUrl("memory"), "memory");
}

TEST(ConfigTest, KeyNamesListEveryKeyOnce) {
  const std::vector<std::string> names = ConfigKeyNames();
  EXPECT_EQ(names.size(), 36u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(names.front(), "server.listen");
  EXPECT_EQ(names.back(), "gateway.max_connections");
}

TEST(ConfigTest, UnknownKeyNamesLineAndKey) {
  const std::string e = ParseError("[server]\nlisten = \"127.0.0.1:1\"\nlistne = \"x\"\n");
  EXPECT_THAT(e, HasSubstr("fedwall.toml:3:1: unknown key \"server.listne\""));
  EXPECT_THAT(e, HasSubstr("known in [server]: listen, admin_listen"));
}

TEST(ConfigTest, UnknownTableNamesLine) {
  const std::string e = ParseError("[server]\nworkers = 2\n\n[serve]\nlisten = \"a:1\"\n");
  EXPECT_THAT(e, HasSubstr("fedwall.toml:4:"));
  EXPECT_THAT(e, HasSubstr("unknown table [serve]"));
  EXPECT_THAT(e, HasSubstr("[server], [policy], [store], [state], [limits]"));
}

TEST(ConfigTest, TopLevelKeyIsUnknown) {
  EXPECT_THAT(ParseError("listen = \"127.0.0.1:1\"\n"),
              HasSubstr("fedwall.toml:1:1: unknown key \"listen\" (every setting belongs in a "
                        "table"));
}

TEST(ConfigTest, NestedTableIsUnknownKey) {
  EXPECT_THAT(ParseError("[server.tls]\ncert = \"x\"\n"), HasSubstr("unknown key \"server.tls\""));
  EXPECT_THAT(ParseError("[limits]\nmax_json_depth = 10\nextra.deep = 1\n"),
              HasSubstr("fedwall.toml:3:1: unknown key \"limits.extra\""));
}

TEST(ConfigTest, WrongTypesNameKeyAndPosition) {
  struct Case {
    std::string toml;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"[server]\nlisten = 50051\n",
       "fedwall.toml:2:10: server.listen must be a string, got an integer"},
      {"[server]\nworkers = \"4\"\n", "server.workers must be an integer, got a string"},
      {"[server]\nworkers = 4.0\n", "server.workers must be an integer, got a float"},
      {"[server]\ndrain_timeout = 5\n",
       "server.drain_timeout must be a duration string like \"5s\" or \"300ms\", got an "
       "integer"},
      {"[policy]\nwatch = \"yes\"\n",
       "policy.watch must be a boolean (true or false), got a "
       "string"},
      {"[policy]\ndir = [\"a\", \"b\"]\n", "policy.dir must be a string, got an array"},
      {"[store]\npath = { file = \"x\" }\n", "store.path must be a string, got a table"},
      {"[limits]\nmax_batch_items = \"10\"\n",
       "limits.max_batch_items must be an integer, got a string"},
      {"[limits]\nmax_activity_bytes = true\n",
       "limits.max_activity_bytes must be a size (an integer of bytes, or a string like "
       "\"16MiB\"), got a boolean"},
      {"[limits]\nmax_json_depth = 1979-05-27\n",
       "limits.max_json_depth must be an integer, got a date"},
      {"server = 1\n", "fedwall.toml:1:10: server must be a table ([server]), got an integer"},
      {"[[server]]\nlisten = \"a:1\"\n", "server must be a table ([server]), got an array"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseError(c.toml), HasSubstr(c.want)) << c.toml;
  }
}

TEST(ConfigTest, ReportsEveryErrorInFileOrder) {
  const std::string e =
      ParseError("[server]\nworkers = \"x\"\nbogus = 1\n[limits]\nmax_json_depth = false\n[aaa]\n");
  const size_t workers = e.find("fedwall.toml:2:11: server.workers");
  const size_t bogus = e.find("fedwall.toml:3:1: unknown key \"server.bogus\"");
  const size_t depth = e.find("fedwall.toml:5:18: limits.max_json_depth");
  const size_t table = e.find("fedwall.toml:6:2: unknown table [aaa]");
  ASSERT_NE(workers, std::string::npos) << e;
  ASSERT_NE(bogus, std::string::npos) << e;
  ASSERT_NE(depth, std::string::npos) << e;
  ASSERT_NE(table, std::string::npos) << e;
  EXPECT_LT(workers, bogus);
  EXPECT_LT(bogus, depth);
  EXPECT_LT(depth, table);
}

TEST(ConfigTest, SyntaxErrorNamesLine) {
  EXPECT_THAT(ParseError("[server]\nlisten = \n"), HasSubstr("fedwall.toml:2:"));
  EXPECT_THAT(ParseError("[server]\nworkers = 1\nworkers = 2\n"), HasSubstr("fedwall.toml:3:"));
  EXPECT_THAT(ParseError("[server\n"), HasSubstr("fedwall.toml:1:"));
}

TEST(ConfigTest, HostileInputIsAnErrorNotACrash) {
  // Nesting far past toml++'s limit.
  EXPECT_THAT(ParseError("[limits]\nmax_json_depth = " + std::string(100000, '[')),
              HasSubstr("fedwall.toml:"));
  EXPECT_THAT(ParseError("x = " + std::string(100000, '{')), HasSubstr("fedwall.toml:"));
  // Invalid UTF-8, NUL bytes, NUL escapes.
  EXPECT_NE(ParseError("[server]\nlisten = \"\xff\xfe\"\n"), "");
  EXPECT_NE(ParseError(std::string("[server]\0listen = 1\n", 20)), "");
  EXPECT_THAT(ParseError("[server]\nlisten = \"a\\u0000b:1\"\n"),
              HasSubstr("server.listen must not contain a NUL character"));
  // Control characters in a key are escaped in the message.
  EXPECT_THAT(ParseError("[server]\n\"a\\nb\" = 1\n"), HasSubstr("server.a\\nb"));
  // Past the size bound.
  EXPECT_THAT(ParseError("#" + std::string(kMaxConfigFileBytes, 'x')),
              HasSubstr("fedwall.toml: larger than 1MiB"));
}

TEST(ConfigTest, Durations) {
  struct Case {
    std::string text;
    absl::Duration want;
  };
  const std::vector<Case> good = {{"300ms", absl::Milliseconds(300)}, {"5s", absl::Seconds(5)},
                                  {"1m", absl::Minutes(1)},           {"1m30s", absl::Seconds(90)},
                                  {"0", absl::ZeroDuration()},        {"0s", absl::ZeroDuration()}};
  for (const Case& c : good) {
    absl::StatusOr<ServiceConfig> config =
        ParseConfig("[server]\ndrain_timeout = \"" + c.text + "\"\n", "f.toml");
    ASSERT_TRUE(config.ok()) << c.text << ": " << config.status();
    EXPECT_EQ(config->drain_timeout, c.want) << c.text;
  }
  EXPECT_THAT(ParseError("[policy]\nreload_debounce = \"5\"\n"),
              HasSubstr("fedwall.toml:2:19: policy.reload_debounce: invalid duration \"5\""));
  EXPECT_THAT(ParseError("[server]\ndrain_timeout = \"five seconds\"\n"),
              HasSubstr("server.drain_timeout: invalid duration \"five seconds\""));
  EXPECT_THAT(ParseError("[server]\ndrain_timeout = \"\"\n"), HasSubstr("invalid duration \"\""));
  EXPECT_THAT(ParseError("[server]\ndrain_timeout = \"-1s\"\n"),
              HasSubstr("server.drain_timeout must not be negative, got \"-1s\""));
  EXPECT_THAT(ParseError("[server]\ndrain_timeout = \"inf\"\n"),
              HasSubstr("server.drain_timeout must be finite"));
}

TEST(ConfigTest, ParseByteSize) {
  struct Case {
    std::string text;
    size_t want;
  };
  const std::vector<Case> good = {
      {"0", 0},
      {"1024", 1024},
      {"5B", 5},
      {"1kB", 1000},
      {"1MB", 1000000},
      {"1GB", 1000000000},
      {"1KiB", kKiB},
      {"512KiB", 512 * kKiB},
      {"16MiB", 16 * kMiB},
      {"1GiB", 1024 * kMiB},
      {"1 MiB", kMiB},
  };
  for (const Case& c : good) {
    absl::StatusOr<size_t> n = ParseByteSize(c.text);
    ASSERT_TRUE(n.ok()) << c.text << ": " << n.status();
    EXPECT_EQ(*n, c.want) << c.text;
  }
  for (const std::string bad : {"", "MiB", "1.5MiB", "-1", "+1", "1 mib", "1KB", "1k", "1M",
                                "1  MiB", " 1MiB", "1MiB ", "1TiB", "0x10", "1_000", "1e6"}) {
    absl::StatusOr<size_t> n = ParseByteSize(bad);
    EXPECT_FALSE(n.ok()) << bad;
    EXPECT_THAT(Message(n.status()), HasSubstr("invalid size")) << bad;
  }
  for (const std::string huge :
       {"18446744073709551616", "18446744073709551615KiB", "99999999999999999999GiB"}) {
    absl::StatusOr<size_t> n = ParseByteSize(huge);
    EXPECT_FALSE(n.ok()) << huge;
    EXPECT_THAT(Message(n.status()), HasSubstr("too large")) << huge;
  }
  EXPECT_THAT(Message(ParseByteSize("123456789012345678901").status()), HasSubstr("invalid"));
}

TEST(ConfigTest, SizesInTheFile) {
  absl::StatusOr<ServiceConfig> c = ParseConfig(
      "[limits]\nmax_activity_bytes = 1_048_576\nmax_message_bytes = \"64MB\"\n", "f.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_activity_bytes, kMiB);
  EXPECT_EQ(c->max_message_bytes, 64000000u);
  EXPECT_THAT(ParseError("[limits]\nmax_activity_bytes = \"1 megabyte\"\n"),
              HasSubstr("fedwall.toml:2:22: limits.max_activity_bytes: invalid size "
                        "\"1 megabyte\""));
  EXPECT_THAT(ParseError("[limits]\nmax_message_bytes = -1\n"),
              HasSubstr("limits.max_message_bytes must be between 1024 (1KiB) and 268435456 "
                        "(256MiB) bytes, got -1"));
  EXPECT_THAT(ParseError("[limits]\nmax_batch_items = -5\n"),
              HasSubstr("limits.max_batch_items must be between 1 and 100000, got -5"));
  EXPECT_THAT(ParseError("[server]\nworkers = 9999999999\n"),
              HasSubstr("server.workers must be between 0 and 256, got 9999999999"));
}

TEST(ConfigTest, ValidateRanges) {
  struct Case {
    std::function<void(ServiceConfig&)> change;
    std::string want;  // "" = valid
  };
  const std::vector<Case> cases = {
      {[](ServiceConfig& c) { c.workers = -1; },
       "server.workers must be between 0 and 256, got -1"},
      {[](ServiceConfig& c) { c.workers = 257; }, "server.workers must be between 0 and 256"},
      {[](ServiceConfig& c) { c.workers = 256; }, ""},
      {[](ServiceConfig& c) { c.workers = 0; }, ""},
      {[](ServiceConfig& c) { c.max_activity_bytes = 1023; },
       "limits.max_activity_bytes must be between 1024 (1KiB) and 67108864 (64MiB) bytes, got "
       "1023"},
      {[](ServiceConfig& c) { c.max_activity_bytes = kKiB; }, ""},
      {[](ServiceConfig& c) { c.max_activity_bytes = c.max_message_bytes = 64 * kMiB; }, ""},
      {[](ServiceConfig& c) { c.max_activity_bytes = c.max_message_bytes = 64 * kMiB + 1; },
       "limits.max_activity_bytes must be between"},
      {[](ServiceConfig& c) { c.max_message_bytes = 256 * kMiB; }, ""},
      {[](ServiceConfig& c) { c.max_message_bytes = 256 * kMiB + 1; },
       "limits.max_message_bytes must be between 1024 (1KiB) and 268435456 (256MiB) bytes"},
      {[](ServiceConfig& c) { c.max_message_bytes = c.max_activity_bytes - 1; },
       "limits.max_message_bytes (1048575) must be at least limits.max_activity_bytes "
       "(1048576)"},
      {[](ServiceConfig& c) { c.max_message_bytes = c.max_activity_bytes; }, ""},
      {[](ServiceConfig& c) { c.max_batch_items = 0; },
       "limits.max_batch_items must be between 1 and 100000, got 0"},
      {[](ServiceConfig& c) { c.max_batch_items = 100001; },
       "limits.max_batch_items must be between 1 and 100000, got 100001"},
      {[](ServiceConfig& c) { c.max_batch_items = 1; }, ""},
      {[](ServiceConfig& c) { c.max_batch_items = 100000; }, ""},
      {[](ServiceConfig& c) { c.max_json_depth = 1; },
       "limits.max_json_depth must be between 2 and 1024, got 1"},
      {[](ServiceConfig& c) { c.max_json_depth = 1025; }, "limits.max_json_depth"},
      {[](ServiceConfig& c) { c.max_json_depth = 2; }, ""},
      {[](ServiceConfig& c) { c.max_json_depth = 1024; }, ""},
      {[](ServiceConfig& c) { c.max_stream_in_flight = 0; },
       "limits.max_stream_in_flight must be between 1 and 65536, got 0"},
      {[](ServiceConfig& c) { c.max_stream_in_flight = 65537; }, "limits.max_stream_in_flight"},
      {[](ServiceConfig& c) { c.max_stream_in_flight = 65536; }, ""},
      {[](ServiceConfig& c) { c.drain_timeout = absl::Minutes(5) + absl::Nanoseconds(1); },
       "server.drain_timeout must be between 0 and 5m, got 5m0.000000001s"},
      {[](ServiceConfig& c) { c.drain_timeout = -absl::Seconds(1); },
       "server.drain_timeout must be between 0 and 5m, got -1s"},
      {[](ServiceConfig& c) { c.drain_timeout = absl::Minutes(5); }, ""},
      {[](ServiceConfig& c) { c.drain_timeout = absl::ZeroDuration(); }, ""},
      {[](ServiceConfig& c) { c.reload_debounce = absl::Seconds(61); },
       "policy.reload_debounce must be between 0 and 1m, got 1m1s"},
      {[](ServiceConfig& c) { c.reload_debounce = absl::Minutes(1); }, ""},
      {[](ServiceConfig& c) { c.policy_dir = ""; }, "policy.dir must not be empty"},
      {[](ServiceConfig& c) { c.store = ""; }, "store.path must not be empty"},
      {[](ServiceConfig& c) { c.store = ":memory:"; }, ""},
      {[](ServiceConfig& c) { c.store = "postgresql://db/fedwall"; }, ""},
      {[](ServiceConfig& c) { c.state = "redis://127.0.0.1:6379/0"; }, ""},
      {[](ServiceConfig& c) { c.state = "rediss://:secret@x"; },
       "state.url: \"rediss://:***@x\" is neither"},
      {[](ServiceConfig& c) { c.state = "memcached://x"; },
       "state.url: \"memcached://x\" is neither \"memory\" nor a redis:// URL"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    ServiceConfig c;
    cases[i].change(c);
    const absl::Status s = c.Validate();
    if (cases[i].want.empty()) {
      EXPECT_TRUE(s.ok()) << "case " << i << ": " << s;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << "case " << i;
      EXPECT_THAT(Message(s), HasSubstr(cases[i].want)) << "case " << i;
    }
  }
}

TEST(ConfigTest, ValidateAddresses) {
  for (const std::string good :
       {"127.0.0.1:50051", "[::1]:50051", "[::]:0", "localhost:0", "0.0.0.0:65535",
        "fedwall-1.internal:443", "[fe80::1%eth0]:8080"}) {
    ServiceConfig c;
    c.listen = good;
    EXPECT_TRUE(c.Validate().ok()) << good << ": " << c.Validate();
    ServiceConfig d;
    d.listen = "[::1]:9";
    d.admin_listen = good;
    d.admin_http_listen = good == "[::]:0" ? good : "";
    EXPECT_TRUE(d.Validate().ok()) << good << ": " << d.Validate();
  }
  for (const std::string bad :
       {"127.0.0.1", ":50051", "::1:50051", "host:65536", "host:port", "[::1]50051", "[]:1",
        "[::1]:", "a b:1", "host:123456", "127.0.0.1:-1", "unix:/run/fedwall.sock",
        "http://127.0.0.1:1", "[127.0.0.1]:1"}) {
    ServiceConfig c;
    c.listen = bad;
    EXPECT_THAT(Message(c.Validate()), HasSubstr("server.listen must be host:port")) << bad;
    ServiceConfig d;
    d.admin_listen = bad;
    EXPECT_THAT(Message(d.Validate()), HasSubstr("server.admin_listen must be host:port")) << bad;
    ServiceConfig e;
    e.admin_http_listen = bad;
    EXPECT_THAT(Message(e.Validate()), HasSubstr("server.admin_http_listen must be host:port"))
        << bad;
  }
  ServiceConfig empty;
  empty.listen = "";
  EXPECT_THAT(Message(empty.Validate()), HasSubstr("server.listen must not be empty"));
}

TEST(ConfigTest, ValidateListenersDiffer) {
  ServiceConfig c;
  c.admin_listen = c.listen;
  EXPECT_THAT(Message(c.Validate()),
              HasSubstr("server.listen and server.admin_listen must differ"));
  c.admin_listen = "127.0.0.1:50052";
  c.admin_http_listen = "127.0.0.1:50052";
  EXPECT_THAT(Message(c.Validate()),
              HasSubstr("server.admin_listen and server.admin_http_listen must differ"));
  // Port 0 picks a fresh port each time: no clash.
  c.listen = c.admin_listen = c.admin_http_listen = "127.0.0.1:0";
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ConfigTest, ValidateReportsEveryProblem) {
  ServiceConfig c;
  c.workers = 1000;
  c.max_batch_items = 0;
  c.listen = "nope";
  const std::string e = Message(c.Validate());
  EXPECT_THAT(e, HasSubstr("server.workers"));
  EXPECT_THAT(e, HasSubstr("limits.max_batch_items"));
  EXPECT_THAT(e, HasSubstr("server.listen"));
}

TEST(ConfigTest, LoadResolvesRelativePathsAgainstTheFile) {
  const fs::path dir = MakeTempDir("relative");
  fs::create_directories(dir / "etc");
  WriteFile(dir / "etc" / "fedwall.toml", R"toml(
[server]
admin_token_file = "secrets/admin.token"
tls_cert_file = "tls/cert.pem"
tls_key_file = "/abs/key.pem"
admin_client_ca_file = "../ca.pem"
[policy]
dir = "../rules"
[store]
path = "./data/fedwall.db"
)toml");
  absl::StatusOr<ServiceConfig> c = LoadConfigFile((dir / "etc" / "fedwall.toml").string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->admin_token_file, (dir / "etc" / "secrets" / "admin.token").string());
  EXPECT_EQ(c->tls_cert_file, (dir / "etc" / "tls" / "cert.pem").string());
  EXPECT_EQ(c->tls_key_file, "/abs/key.pem");
  EXPECT_EQ(c->admin_client_ca_file, (dir / "ca.pem").string());
  EXPECT_EQ(c->policy_dir, (dir / "rules").string());
  EXPECT_EQ(c->store, (dir / "etc" / "data" / "fedwall.db").string());

  // Defaults are relative too: they follow the file.
  WriteFile(dir / "etc" / "empty.toml", "");
  c = LoadConfigFile((dir / "etc" / "empty.toml").string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->policy_dir, (dir / "etc" / "rules").string());
  EXPECT_EQ(c->store, (dir / "etc" / "fedwall.db").string());
  EXPECT_EQ(c->admin_token_file, "");  // empty stays empty (admin refused)
}

TEST(ConfigTest, LoadKeepsAbsolutePathsAndSpecialStores) {
  const fs::path dir = MakeTempDir("absolute");
  WriteFile(dir / "a.toml",
            "[server]\nadmin_token_file = \"/etc/fedwall/token\"\n[policy]\ndir = \"/srv/rules\"\n"
            "[store]\npath = \":memory:\"\n");
  absl::StatusOr<ServiceConfig> c = LoadConfigFile((dir / "a.toml").string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->admin_token_file, "/etc/fedwall/token");
  EXPECT_EQ(c->policy_dir, "/srv/rules");
  EXPECT_EQ(c->store, ":memory:");

  WriteFile(dir / "b.toml", "[store]\npath = \"postgresql://user@db/fedwall\"\n");
  c = LoadConfigFile((dir / "b.toml").string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->store, "postgresql://user@db/fedwall");
}

TEST(ConfigTest, LoadErrorsNameTheFile) {
  const fs::path dir = MakeTempDir("errors");
  const std::string missing = (dir / "missing.toml").string();
  absl::StatusOr<ServiceConfig> c = LoadConfigFile(missing);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(c.status()), HasSubstr(missing));

  c = LoadConfigFile(dir.string());  // a directory
  EXPECT_FALSE(c.ok());
  EXPECT_THAT(Message(c.status()), HasSubstr(dir.string()));

  const std::string big = (dir / "big.toml").string();
  WriteFile(big, "# " + std::string(kMaxConfigFileBytes, 'x') + "\n");
  c = LoadConfigFile(big);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(c.status()), HasSubstr(big + " is larger than 1MiB"));

  const std::string bad = (dir / "bad.toml").string();
  WriteFile(bad, "[limits]\nmax_batch_items = \"many\"\n");
  c = LoadConfigFile(bad);
  EXPECT_THAT(Message(c.status()), HasSubstr(bad + ":2:19: limits.max_batch_items"));
}

TEST(ConfigTest, ReadTokenFile) {
  const fs::path dir = MakeTempDir("token");
  struct Case {
    std::string content;
    std::string want;  // the token, or (when want_error) a piece of the error
    bool want_error;
  };
  const std::vector<Case> cases = {
      {"s3cret-token\n", "s3cret-token", false},
      {"s3cret-token", "s3cret-token", false},
      {"  \ts3cret-token \r\nsecond line\n", "s3cret-token", false},
      {"", "the first line is empty", true},
      {"\n", "the first line is empty", true},
      {"   \r\n", "the first line is empty", true},
      {"\ns3cret-token\n", "the first line is empty", true},
      {"s3cret token\n", "at position 7", true},
      {"s3cret\x01token\n", "cannot go in an authorization header", true},
      {"t\xc3\xb6ken\n", "cannot go in an authorization header", true},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const fs::path path = dir / absl::StrCat("token", i);
    WriteFile(path, cases[i].content);
    absl::StatusOr<std::string> token = ReadTokenFile(path.string());
    if (cases[i].want_error) {
      ASSERT_FALSE(token.ok()) << "case " << i;
      EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument) << "case " << i;
      EXPECT_THAT(Message(token.status()), HasSubstr(cases[i].want)) << "case " << i;
      EXPECT_THAT(Message(token.status()), HasSubstr(path.string())) << "case " << i;
      EXPECT_THAT(Message(token.status()), Not(HasSubstr("s3cret"))) << "case " << i;
    } else {
      ASSERT_TRUE(token.ok()) << "case " << i << ": " << token.status();
      EXPECT_EQ(*token, cases[i].want) << "case " << i;
    }
  }

  // Exactly at the bound is fine; one byte past is not.
  const fs::path at_limit = dir / "at_limit";
  WriteFile(at_limit, "tok\n" + std::string(kMaxTokenFileBytes - 4, '#'));
  absl::StatusOr<std::string> token = ReadTokenFile(at_limit.string());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "tok");
  const fs::path past_limit = dir / "past_limit";
  WriteFile(past_limit, "tok\n" + std::string(kMaxTokenFileBytes - 3, '#'));
  token = ReadTokenFile(past_limit.string());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(token.status()), HasSubstr("is larger than 64KiB"));

  token = ReadTokenFile((dir / "missing").string());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(token.status()), HasSubstr((dir / "missing").string()));
}

TEST(ConfigTest, TlsFilesGoTogether) {
  ServiceConfig c;
  c.tls_cert_file = "cert.pem";
  EXPECT_THAT(Message(c.Validate()),
              HasSubstr("server.tls_cert_file and server.tls_key_file go together"));
  EXPECT_THAT(Message(c.Validate()), HasSubstr("only server.tls_cert_file is set"));
  c.tls_cert_file = "";
  c.tls_key_file = "key.pem";
  EXPECT_THAT(Message(c.Validate()), HasSubstr("only server.tls_key_file is set"));
  c.tls_key_file = "";
  c.admin_client_ca_file = "ca.pem";
  EXPECT_THAT(Message(c.Validate()), HasSubstr("server.admin_client_ca_file needs TLS"));
  c.tls_cert_file = "cert.pem";
  c.tls_key_file = "key.pem";
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  c.admin_client_ca_file = "";
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ConfigTest, LoopbackListenAddresses) {
  for (const char* loopback :
       {"127.0.0.1:50051", "127.0.0.1:0", "127.1.2.3:1", "127.255.255.255:1", "[::1]:50051",
        "[0:0:0:0:0:0:0:1]:1", "[::ffff:127.0.0.1]:1", "localhost:1", "LocalHost:0"}) {
    EXPECT_TRUE(IsLoopbackListenAddress(loopback)) << loopback;
  }
  for (const char* network : {"0.0.0.0:50051", "[::]:50051", "10.0.0.1:1", "192.168.1.2:1",
                              "128.0.0.1:1", "126.255.255.255:1", "[::2]:1", "[fe80::1%eth0]:1",
                              "[::ffff:10.0.0.1]:1", "fedwall.internal:1", "localhost.example:1",
                              "127.0.0.1.example:1", "127.1:1", "myhost:1"}) {
    EXPECT_FALSE(IsLoopbackListenAddress(network)) << network;
  }
}

TEST(ConfigTest, AdminOnTheNetworkNeedsAToken) {
  ServiceConfig c;
  c.listen = "0.0.0.0:50051";  // AdminService shares the port
  absl::Status s = CheckAdminExposure(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(s), HasSubstr("refusing to start: the AdminService on 0.0.0.0:50051 "
                                    "(server.listen) is reachable from the network and no "
                                    "admin token is configured"));
  EXPECT_THAT(Message(s), HasSubstr("server.admin_token_file (--admin-token-file)"));
  EXPECT_THAT(Message(s), Not(HasSubstr("\n")));

  // The data plane on the network, the AdminService on loopback: fine without a token.
  c.admin_listen = "127.0.0.1:50052";
  EXPECT_TRUE(CheckAdminExposure(c).ok()) << CheckAdminExposure(c);
  c.admin_listen = "[::]:50052";
  EXPECT_THAT(Message(CheckAdminExposure(c)),
              HasSubstr("the AdminService on [::]:50052 (server.admin_listen) is reachable"));

  // The admin HTTP port counts too, alone or with the AdminService.
  ServiceConfig h;
  h.admin_http_listen = "0.0.0.0:9090";
  EXPECT_THAT(Message(CheckAdminExposure(h)),
              HasSubstr("the admin HTTP port on 0.0.0.0:9090 (server.admin_http_listen) is"));
  h.admin_http_listen = "127.0.0.1:9090";
  EXPECT_TRUE(CheckAdminExposure(h).ok());
  h.listen = "[::]:1";
  h.admin_http_listen = "192.0.2.1:9090";
  s = CheckAdminExposure(h);
  EXPECT_THAT(Message(s), HasSubstr("the AdminService on [::]:1 (server.listen) and the admin "
                                    "HTTP port on 192.0.2.1:9090 (server.admin_http_listen) are "
                                    "reachable"));
  EXPECT_THAT(Message(s), Not(HasSubstr("\n")));

  // With a token every address is allowed.
  h.admin_token_file = "/etc/fedwall/admin.token";
  EXPECT_TRUE(CheckAdminExposure(h).ok());
}

constexpr char kCertPem[] = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
constexpr char kKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\nMIIEsecretkey\n-----END PRIVATE KEY-----\n";

TEST(ConfigTest, ReadTlsFiles) {
  const fs::path dir = MakeTempDir("tls");
  WriteFile(dir / "cert.pem", kCertPem);
  WriteFile(dir / "key.pem", kKeyPem);
  WriteFile(dir / "rsa.pem",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIsecret\n-----END RSA PRIVATE KEY-----\n");
  WriteFile(
      dir / "encrypted.pem",
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIsecret\n-----END ENCRYPTED PRIVATE KEY-----\n");
  WriteFile(dir / "garbage.pem", "not pem at all: MIIsecret\n");
  WriteFile(dir / "big.pem", std::string(kCertPem) + std::string(kMaxPemFileBytes, '#'));

  ServiceConfig none;
  absl::StatusOr<TlsFiles> files = ReadTlsFiles(none);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->cert_chain, "");
  EXPECT_EQ(files->private_key, "");
  EXPECT_EQ(files->admin_client_ca, "");

  ServiceConfig c;
  c.tls_cert_file = (dir / "cert.pem").string();
  c.tls_key_file = (dir / "key.pem").string();
  c.admin_client_ca_file = (dir / "cert.pem").string();
  files = ReadTlsFiles(c);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->cert_chain, kCertPem);
  EXPECT_EQ(files->private_key, kKeyPem);
  EXPECT_EQ(files->admin_client_ca, kCertPem);
  c.tls_key_file = (dir / "rsa.pem").string();
  EXPECT_TRUE(ReadTlsFiles(c).ok()) << ReadTlsFiles(c).status();

  struct Case {
    std::string ServiceConfig::*field;
    std::string file;
    std::string want;
  };
  const std::vector<Case> cases = {
      {&ServiceConfig::tls_cert_file, "missing.pem", "server.tls_cert_file: cannot open PEM file"},
      {&ServiceConfig::tls_cert_file, "key.pem",
       "server.tls_cert_file: PEM file " + (dir / "key.pem").string() +
           " holds no \"-----BEGIN CERTIFICATE-----\" block"},
      {&ServiceConfig::tls_key_file, "cert.pem",
       "server.tls_key_file: PEM file " + (dir / "cert.pem").string() +
           " holds no \"-----BEGIN PRIVATE KEY-----\" block"},
      {&ServiceConfig::tls_key_file, "encrypted.pem", "holds an encrypted private key"},
      {&ServiceConfig::tls_key_file, "garbage.pem", "server.tls_key_file: PEM file"},
      {&ServiceConfig::admin_client_ca_file, "garbage.pem",
       "server.admin_client_ca_file: PEM file"},
      {&ServiceConfig::admin_client_ca_file, "big.pem", "is larger than 1MiB"},
      {&ServiceConfig::tls_cert_file, ".", "server.tls_cert_file"},  // a directory
  };
  for (const Case& k : cases) {
    ServiceConfig bad = c;
    bad.*k.field = (dir / k.file).string();
    absl::StatusOr<TlsFiles> got = ReadTlsFiles(bad);
    ASSERT_FALSE(got.ok()) << k.file;
    EXPECT_THAT(Message(got.status()), HasSubstr(k.want)) << k.file;
    EXPECT_THAT(Message(got.status()), HasSubstr(dir.string())) << k.file;
    EXPECT_THAT(Message(got.status()), Not(HasSubstr("secret"))) << k.file;
  }
}

// The documented example cannot fall behind the code: it loads, validates, sets every key
// (uncommented, in its table) to its default, and configuration.md names every key.
TEST(ConfigTest, DocumentedExampleIsCompleteAndCurrent) {
  const fs::path example = fs::path(FEDWALL_SOURCE_DIR) / "docs" / "examples" / "fedwall.toml";
  absl::StatusOr<ServiceConfig> loaded = LoadConfigFile(example.string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->Validate().ok()) << loaded->Validate();

  const std::string text = ReadFile(example);
  absl::StatusOr<ServiceConfig> parsed = ParseConfig(text, example.string());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ExpectSameSettings(*parsed, ServiceConfig{});

  // Collect "table.key" of every uncommented assignment.
  std::set<std::string> set_keys;
  std::string table;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l.front() == '#') continue;
    if (l.front() == '[') {
      table = std::string(absl::StripSuffix(absl::StripPrefix(l, "["), "]"));
      continue;
    }
    const size_t eq = l.find('=');
    if (eq == absl::string_view::npos) continue;
    set_keys.insert(absl::StrCat(table, ".", absl::StripAsciiWhitespace(l.substr(0, eq))));
  }
  const std::vector<std::string> names = ConfigKeyNames();
  EXPECT_EQ(set_keys, std::set<std::string>(names.begin(), names.end()));

  const std::string reference =
      ReadFile(fs::path(FEDWALL_SOURCE_DIR) / "docs" / "configuration.md");
  ASSERT_FALSE(reference.empty());
  for (const std::string& name : names) {
    EXPECT_THAT(reference, HasSubstr(absl::StrCat("`", name, "`"))) << name;
  }
}

}  // namespace
}  // namespace fedwall::service
