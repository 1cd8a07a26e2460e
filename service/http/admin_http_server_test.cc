#include "service/http/admin_http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "fedwall/v1/policy_service.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/admin_ops.h"
#include "service/policy_manager.h"
#include "service/stats.h"
#include "service/store/review_store.h"

namespace fedwall::service::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "s3cret-token";

class AdminHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PolicyManagerOptions options;
    options.policy_dir = std::string(FEDWALL_SOURCE_DIR) + "/tests/fixtures/service/policy";
    options.watch = false;
    policies_ = std::make_unique<PolicyManager>(options, &stats_);
    ASSERT_TRUE(policies_->LoadInitial({}).ok);
    absl::StatusOr<std::unique_ptr<store::ReviewStore>> opened = store::OpenSqliteStore(":memory:");
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
    ops_ = std::make_unique<AdminOps>(policies_.get(), store_.get());
    flag_id_ = AddFlag("1", "<p>free crypto<script>alert(1)</script></p>", "mastodon.example");
    AdminHttpOptions http;
    http.listen = "127.0.0.1:0";
    http.token = kToken;
    http.login_failure_delay = absl::Milliseconds(1);
    absl::StatusOr<std::unique_ptr<AdminHttpServer>> server =
        AdminHttpServer::Start(http, ops_.get(), &stats_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  std::string AddFlag(const std::string& n, const std::string& html, const std::string& domain) {
    store::NewFlag f;
    f.actor = absl::StrCat("https://", domain, "/users/alice");
    f.activity_id = absl::StrCat(f.actor, "/statuses/", n, "/activity");
    std::string content;
    for (char c : html) {
      if (c == '"') content += '\\';
      content += c;
    }
    f.activity_json =
        absl::StrCat(R"({"id":")", f.activity_id, R"(","type":"Create","actor":")", f.actor,
                     R"(","object":{"type":"Note","content":")", content, R"("}})");
    f.actor_domain = domain;
    f.rule_ids = {"free_crypto"};
    fedwall::v1::EvaluateResponse matches;
    fedwall::v1::RuleMatch* m = matches.add_matches();
    m->set_rule_id("free_crypto");
    m->set_reason("Free crypto offer");
    fedwall::v1::Evidence* e = m->add_evidence();
    e->set_field("content");
    e->set_text("free crypto");
    e->set_end(11);
    f.matches = matches.SerializeAsString();
    f.score_milli = 1000;
    f.created_at = absl::Now();
    absl::StatusOr<std::vector<store::AddedFlag>> added = store_->AddFlags({&f, 1});
    EXPECT_TRUE(added.ok()) << added.status();
    return added.ok() ? added->at(0).id : "";
  }

  // Logs in; returns the Cookie header value.
  std::string Login() {
    httplib::Result r =
        client_->Post("/login", {{"X-Fedwall-Request", "1"}},
                      absl::StrCat(R"({"token":")", kToken, R"("})"), "application/json");
    EXPECT_TRUE(r);
    if (!r) return "";
    EXPECT_EQ(r->status, 200) << r->body;
    std::string set_cookie = r->get_header_value("Set-Cookie");
    EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
    EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));
    EXPECT_THAT(set_cookie, HasSubstr("Path=/"));
    EXPECT_THAT(set_cookie, HasSubstr("Max-Age=43200"));
    return set_cookie.substr(0, set_cookie.find(';'));
  }

  Stats stats_;
  std::unique_ptr<PolicyManager> policies_;
  std::unique_ptr<store::ReviewStore> store_;
  std::unique_ptr<AdminOps> ops_;
  std::unique_ptr<AdminHttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::string flag_id_;
};

TEST_F(AdminHttpServerTest, PageIsServedWithStrictHeaders) {
  httplib::Result r = client_->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("<script src=\"/app.js\""));
  EXPECT_EQ(r->get_header_value("Content-Security-Policy"), kContentSecurityPolicy);
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r->get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(r->get_header_value("X-Frame-Options"), "DENY");
  httplib::Result js = client_->Get("/app.js");
  ASSERT_TRUE(js);
  EXPECT_THAT(js->get_header_value("Content-Type"), HasSubstr("text/javascript"));
  EXPECT_THAT(js->body, Not(HasSubstr("innerHTML =")));
  httplib::Result missing = client_->Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, R"({"error":"not found"})");
  EXPECT_EQ(missing->get_header_value("Content-Security-Policy"), kContentSecurityPolicy);
}

TEST_F(AdminHttpServerTest, ApiNeedsALogin) {
  httplib::Result r = client_->Get("/api/flags");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_THAT(r->body, HasSubstr("not logged in"));
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
  r = client_->Get("/api/flags", {{"Cookie", "fedwall_session=" + std::string(64, 'a')}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = client_->Get(absl::StrCat("/api/flags/", flag_id_));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
}

TEST_F(AdminHttpServerTest, WrongTokenAndMissingCsrfHeader) {
  httplib::Result r = client_->Post("/login", {{"X-Fedwall-Request", "1"}}, R"({"token":"wrong"})",
                                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("Set-Cookie"), "");
  r = client_->Post("/login", absl::StrCat(R"({"token":")", kToken, R"("})"), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);  // no X-Fedwall-Request
  r = client_->Post("/login", {{"X-Fedwall-Request", "1"}}, "token=x",
                    "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(AdminHttpServerTest, ListShowResolveAndBlock) {
  std::string cookie = Login();
  httplib::Headers auth = {{"Cookie", cookie}};
  httplib::Result list = client_->Get("/api/flags?status=pending", auth);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200) << list->body;
  EXPECT_THAT(list->body, HasSubstr(absl::StrCat(R"("id":")", flag_id_, "\"")));

  httplib::Result detail = client_->Get(absl::StrCat("/api/flags/", flag_id_), auth);
  ASSERT_TRUE(detail);
  ASSERT_EQ(detail->status, 200) << detail->body;
  EXPECT_THAT(detail->body, HasSubstr(R"("rule_id":"free_crypto")"));
  EXPECT_THAT(detail->body, HasSubstr(R"("paragraphs":[[{"text":"free crypto"}]])"));
  EXPECT_THAT(detail->body, Not(HasSubstr("alert")));
  EXPECT_THAT(detail->body, HasSubstr(R"("domain":{"domain":"mastodon.example","blocked":false)"));

  httplib::Result missing = client_->Get("/api/flags/999999", auth);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  std::string path = absl::StrCat("/api/flags/", flag_id_, "/resolve");
  httplib::Result no_csrf =
      client_->Post(path, auth, R"({"resolution":"remove"})", "application/json");
  ASSERT_TRUE(no_csrf);
  EXPECT_EQ(no_csrf->status, 403);
  httplib::Headers post = {{"Cookie", cookie}, {"X-Fedwall-Request", "1"}};
  httplib::Result bad = client_->Post(path, post, R"({"resolution":"maybe"})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  httplib::Result done = client_->Post(
      path, post, R"({"resolution":"remove","block_domain":true,"note":"spam","moderator":"mo"})",
      "application/json");
  ASSERT_TRUE(done);
  ASSERT_EQ(done->status, 200) << done->body;
  EXPECT_THAT(done->body, HasSubstr(R"("status":"removed")"));
  EXPECT_THAT(done->body, HasSubstr(R"("blocked":true,"severity":"suspend")"));

  // The same store and policy as the gRPC API: the flag is resolved, the domain blocked.
  absl::StatusOr<store::Flag> stored = store_->GetFlag(flag_id_);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->status, store::FlagStatus::kRemoved);
  EXPECT_EQ(stored->moderator, "mo");
  EXPECT_EQ(stored->note, "spam");
  EXPECT_TRUE(ops_->LookupDomain("mastodon.example").blocked);
  EXPECT_TRUE(ops_->LookupDomain("mastodon.example").api_block);

  httplib::Result removed = client_->Get("/api/flags?status=removed", auth);
  ASSERT_TRUE(removed);
  EXPECT_THAT(removed->body, HasSubstr(absl::StrCat(R"("id":")", flag_id_, "\"")));

  httplib::Result logout = client_->Post("/logout", post, "{}", "application/json");
  ASSERT_TRUE(logout);
  EXPECT_EQ(logout->status, 200);
  httplib::Result after = client_->Get("/api/flags", auth);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
}

TEST_F(AdminHttpServerTest, BadQueryParameters) {
  httplib::Headers auth = {{"Cookie", Login()}};
  for (const char* query :
       {"/api/flags?status=bogus", "/api/flags?page_size=0", "/api/flags?page_size=x",
        "/api/flags?domain=not%20a%20domain", "/api/flags?page_token=forged"}) {
    httplib::Result r = client_->Get(query, auth);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << query << " " << r->body;
    EXPECT_THAT(r->body, HasSubstr("\"error\""));
  }
}

TEST_F(AdminHttpServerTest, BodyLimit) {
  httplib::Headers post = {{"Cookie", Login()}, {"X-Fedwall-Request", "1"}};
  std::string big =
      absl::StrCat(R"({"resolution":"approve","note":")", std::string(100 << 10, 'x'), "\"}");
  httplib::Result r = client_->Post(absl::StrCat("/api/flags/", flag_id_, "/resolve"), post, big,
                                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(AdminHttpServerTest, MetricsFromLoopbackWithoutToken) {
  std::string_view fired[] = {"free_crypto"};
  stats_.RecordDecision(StatVerdict::kFlag, fired, absl::Microseconds(5));
  httplib::Result r = client_->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(r->body, HasSubstr("fedwall_decisions_total{verdict=\"FLAG\"} 1"));
}

// A non-loopback IPv4 address of this machine, or "" when it has none.
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<const sockaddr_in*>(static_cast<const void*>(i->ifa_addr));
    if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) == nullptr) continue;
    if (std::string(buf).rfind("127.", 0) != 0) found = buf;
  }
  freeifaddrs(list);
  return found;
}

TEST_F(AdminHttpServerTest, MetricsFromElsewhereNeedTheToken) {
  std::string address = NonLoopbackAddress();
  if (address.empty()) GTEST_SKIP() << "no non-loopback IPv4 address on this machine";
  AdminHttpOptions options;
  options.listen = absl::StrCat(address, ":0");
  options.token = kToken;
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> outside =
      AdminHttpServer::Start(options, ops_.get(), &stats_);
  ASSERT_TRUE(outside.ok()) << outside.status();
  httplib::Client client(address, (*outside)->port());
  httplib::Result r = client.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
  r = client.Get("/metrics", {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = client.Get("/metrics", {{"Authorization", absl::StrCat("Bearer ", kToken)}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("fedwall_decisions_total"));
  (*outside)->Stop();
}

TEST(IsLoopbackAddressTest, Ranges) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackAddress("127.8.9.10"));
  EXPECT_TRUE(IsLoopbackAddress("::1"));
  EXPECT_TRUE(IsLoopbackAddress("::ffff:127.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("::2"));
  EXPECT_FALSE(IsLoopbackAddress("1127.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress(""));
}

TEST(AdminHttpServerStartTest, BadAddress) {
  AdminHttpOptions options;
  options.listen = "nonsense";
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> s =
      AdminHttpServer::Start(options, nullptr, nullptr);
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace fedwall::service::http
