// The inbox gateway of a real fedwalld (docs/integrations/gateway.md): deliveries decided by the
// fixture policy (tests/fixtures/service/policy: casino rejects, free crypto and giveaway
// flag), forwarded byte for byte to a recording upstream, held ones delivered on approval; and
// the same behind Debian's nginx with the routing the documentation gives for Mastodon.
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fedwall/v1/admin_service.grpc.pb.h"
#include "fedwall/v1/policy_service.grpc.pb.h"
#include "service/gateway/testing/upstream_stub.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/fedwalld_process.h"

namespace fedwall::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = fedwall::v1;
using ::fedwall::gateway_testing::RawExchange;
using ::fedwall::gateway_testing::StatusOf;
using ::fedwall::gateway_testing::UpstreamStub;
using ::testing::HasSubstr;

constexpr char kToken[] = "gateway-e2e-admin-token-7f3a";

// A signed delivery as Mastodon sends it (the signature is not checked by the gateway; the
// upstream must get it unchanged).
std::string Delivery(const std::string& body, const std::string& path = "/users/alice/inbox",
                     const std::string& signer = "mastodon.example") {
  return absl::StrCat(
      "POST ", path, " HTTP/1.1\r\n", "Host: social.example\r\n",
      "User-Agent: http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.example/)\r\n",
      "Date: ", absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", absl::Now(), absl::UTCTimeZone()),
      "\r\n", "Digest: SHA-256=aGVsbG8gd29ybGQgZGlnZXN0IG9mIHRoZSBib2R5\r\n",
      "Content-Type: application/activity+json\r\n",
      "Signature: keyId=\"https://", signer, "/users/alice#main-key\",algorithm=\"rsa-sha256\","
      "headers=\"(request-target) host date digest content-type\",signature=\"c2lnbmVk\"\r\n",
      "Connection: close\r\n", "Content-Length: ", body.size(), "\r\n\r\n", body);
}

// The lines of a request head that a signature covers or the sender chose, as sent.
std::vector<std::string> SenderLines(const std::string& raw) {
  std::vector<std::string> lines;
  const std::string head = raw.substr(0, raw.find("\r\n\r\n") + 2);
  size_t pos = 0;
  while (pos < head.size()) {
    const size_t end = head.find("\r\n", pos);
    std::string line = head.substr(pos, end - pos);
    pos = end + 2;
    if (absl::StartsWithIgnoreCase(line, "connection:")) continue;  // hop-by-hop
    lines.push_back(std::move(line));
  }
  return lines;
}

void ExpectForwardedUnchanged(const std::string& sent, const UpstreamStub::Received& got) {
  for (const std::string& line : SenderLines(sent)) {
    EXPECT_THAT(got.head, HasSubstr(line + "\r\n")) << "missing or changed: " << line;
  }
  EXPECT_EQ(got.body, sent.substr(sent.find("\r\n\r\n") + 4));
}

class GatewayE2eTest : public ServerTest {
 protected:
  GatewayE2eTest() : ServerTest(kToken) {}

  // fedwalld with the gateway in front of `upstream_`; fills gateway_port_.
  FedwalldProcess* StartWithGateway(const std::string& flag_mode) {
    std::vector<std::string> args = BaseArgs();
    for (const char* a : {"--gateway-listen", "127.0.0.1:0", "--gateway-upstream"}) {
      args.push_back(a);
    }
    args.push_back(upstream_.url());
    args.push_back("--gateway-flag");
    args.push_back(flag_mode);
    FedwalldProcess* server = Launch(args);
    if (server == nullptr) return nullptr;
    std::string address;
    EXPECT_TRUE(PollUntil(
        [&] {
          const std::string out = server->Stdout();
          const size_t at = out.find("gateway listening on ");
          if (at == std::string::npos) return false;
          const size_t end = out.find('\n', at);
          if (end == std::string::npos) return false;
          address = out.substr(at + 21, end - at - 21);
          return true;
        },
        absl::Seconds(10)))
        << server->Stdout();
    if (!absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &gateway_port_)) return nullptr;
    admin_ = v1::AdminService::NewStub(
        grpc::CreateChannel(server->admin_address(), grpc::InsecureChannelCredentials()));
    return server;
  }

  std::string Post(const std::string& raw) { return RawExchange("127.0.0.1", gateway_port_, raw); }

  std::vector<v1::Flag> Flags() {
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListFlagsRequest request;
    v1::ListFlagsResponse response;
    EXPECT_TRUE(IsOk(admin_->ListFlags(&context, request, &response)));
    return {response.flags().begin(), response.flags().end()};
  }

  v1::Flag Resolve(const std::string& id, v1::FlagStatus resolution) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(40));
    v1::ResolveFlagRequest request;
    request.set_id(id);
    request.set_resolution(resolution);
    request.set_moderator("mo");
    v1::Flag flag;
    EXPECT_TRUE(IsOk(admin_->ResolveFlag(&context, request, &flag)));
    return flag;
  }

  UpstreamStub upstream_{202};
  int gateway_port_ = 0;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

TEST_F(GatewayE2eTest, DeliveriesAreDecidedByThePolicyAndAcceptedOnesArriveUnchanged) {
  ASSERT_NE(StartWithGateway("forward"), nullptr);
  const std::string clean = Delivery(Activity("clean-note.json", 1));
  EXPECT_EQ(StatusOf(Post(clean)), 202);
  EXPECT_EQ(StatusOf(Post(Delivery(Activity("casino-note.json", 2)))), 202);       // rejected
  const std::string flagged = Delivery(Activity("free-crypto-note.json", 3));
  EXPECT_EQ(StatusOf(Post(flagged)), 202);                                          // forwarded
  EXPECT_EQ(StatusOf(Post(Delivery("{not json", "/inbox"))), 400);
  ASSERT_TRUE(upstream_.WaitFor(2, 10));
  absl::SleepFor(absl::Milliseconds(200));
  const auto got = upstream_.received();
  ASSERT_EQ(got.size(), 2u);  // the casino note and the broken body never arrive
  ExpectForwardedUnchanged(clean, got[0]);
  ExpectForwardedUnchanged(flagged, got[1]);
  const std::vector<v1::Flag> flags = Flags();
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].matches(0).rule_id(), "free_crypto");
  EXPECT_FALSE(flags[0].has_held());
}

TEST_F(GatewayE2eTest, HeldDeliveriesArriveOnApprovalAndNeverOnRemoval) {
  FedwalldProcess* server = StartWithGateway("hold");
  ASSERT_NE(server, nullptr);
  const std::string crypto = Delivery(Activity("free-crypto-note.json", 10));
  const std::string giveaway = Delivery(Activity("giveaway-note.json", 11));
  EXPECT_EQ(StatusOf(Post(crypto)), 202);
  EXPECT_EQ(StatusOf(Post(giveaway)), 202);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_TRUE(upstream_.received().empty());

  std::vector<v1::Flag> flags = Flags();
  ASSERT_EQ(flags.size(), 2u);
  for (const v1::Flag& f : flags) {
    ASSERT_TRUE(f.has_held());
    EXPECT_EQ(f.held().state(), "held");
    // The signed Date was now: about 12 hours left.
    const int64_t left = f.held().deliver_before().seconds() - absl::ToUnixSeconds(absl::Now());
    EXPECT_GT(left, 11 * 3600);
    EXPECT_LE(left, 12 * 3600 + 5);
  }
  const v1::Flag approved = Resolve(flags[0].id(), v1::FLAG_STATUS_APPROVED);
  EXPECT_EQ(approved.held().state(), "delivered") << approved.held().detail();
  const v1::Flag removed = Resolve(flags[1].id(), v1::FLAG_STATUS_REMOVED);
  EXPECT_EQ(removed.held().state(), "dropped");
  ASSERT_TRUE(upstream_.WaitFor(1, 10));
  absl::SleepFor(absl::Milliseconds(200));
  const auto got = upstream_.received();
  ASSERT_EQ(got.size(), 1u);
  ExpectForwardedUnchanged(crypto, got[0]);
  // Approving again does not deliver twice.
  EXPECT_EQ(Resolve(flags[0].id(), v1::FLAG_STATUS_APPROVED).held().state(), "delivered");
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(upstream_.received().size(), 1u);
  EXPECT_THAT(server->Stderr(), HasSubstr("held delivery of flag"));
}

TEST_F(GatewayE2eTest, TheSigningDomainReachesTheRulesAsOriginDomain) {
  ASSERT_NE(StartWithGateway("forward"), nullptr);
  // A clean note, but relayed by a server the policy's blocklist suspends (origin.domain).
  EXPECT_EQ(StatusOf(Post(Delivery(Activity("clean-note.json", 50), "/inbox", "suspended.example"))),
            202);
  EXPECT_EQ(StatusOf(Post(Delivery(Activity("clean-note.json", 51), "/inbox", "mastodon.example"))),
            202);
  ASSERT_TRUE(upstream_.WaitFor(1, 10));
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_EQ(upstream_.received().size(), 1u);
  EXPECT_THAT(upstream_.received()[0].body, HasSubstr("/statuses/51"));
}

TEST_F(GatewayE2eTest, ConcurrentApprovalsDeliverOnce) {
  ASSERT_NE(StartWithGateway("hold"), nullptr);
  EXPECT_EQ(StatusOf(Post(Delivery(Activity("giveaway-note.json", 30)))), 202);
  const std::vector<v1::Flag> flags = Flags();
  ASSERT_EQ(flags.size(), 1u);
  std::vector<std::thread> moderators;
  for (int i = 0; i < 4; ++i) {
    moderators.emplace_back([&] { Resolve(flags[0].id(), v1::FLAG_STATUS_APPROVED); });
  }
  for (std::thread& t : moderators) t.join();
  ASSERT_TRUE(upstream_.WaitFor(1, 10));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(upstream_.received().size(), 1u);
  EXPECT_EQ(Flags()[0].held().state(), "delivered");
}

TEST_F(GatewayE2eTest, TheSameActivityHeldTwiceIsOneFlagAndACopyAfterApprovalGoesAtOnce) {
  ASSERT_NE(StartWithGateway("hold"), nullptr);
  const std::string note = Activity("free-crypto-note.json", 40);
  EXPECT_EQ(StatusOf(Post(Delivery(note, "/users/alice/inbox"))), 202);
  EXPECT_EQ(StatusOf(Post(Delivery(note, "/users/bob/inbox"))), 202);
  std::vector<v1::Flag> flags = Flags();
  ASSERT_EQ(flags.size(), 1u);  // one activity, one flag: the server gets it once
  EXPECT_EQ(Resolve(flags[0].id(), v1::FLAG_STATUS_APPROVED).held().state(), "delivered");
  ASSERT_TRUE(upstream_.WaitFor(1, 10));
  EXPECT_THAT(upstream_.received()[0].head, HasSubstr("POST /users/alice/inbox "));

  // Another activity: flagged and approved through the API first, then held by the gateway.
  const std::string later = Activity("giveaway-note.json", 41);
  {
    auto policy = v1::PolicyService::NewStub(grpc::CreateChannel(
        servers_.back()->address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    v1::EvaluateResponse response;
    ASSERT_TRUE(IsOk(policy->Evaluate(&context, Request("r", later), &response)));
    ASSERT_FALSE(response.flag_id().empty());
    Resolve(response.flag_id(), v1::FLAG_STATUS_APPROVED);
  }
  EXPECT_EQ(StatusOf(Post(Delivery(later))), 202);
  ASSERT_TRUE(upstream_.WaitFor(2, 10)) << "a copy of an approved activity is delivered at once";
}

TEST_F(GatewayE2eTest, GetStatsCountsWhatTheGatewayDid) {
  ASSERT_NE(StartWithGateway("forward"), nullptr);
  Post(Delivery(Activity("clean-note.json", 1)));
  Post(Delivery(Activity("casino-note.json", 2)));
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", kToken));
  v1::GetStatsResponse stats;
  ASSERT_TRUE(IsOk(admin_->GetStats(&context, v1::GetStatsRequest(), &stats)));
  EXPECT_EQ(stats.gateway().at("requests"), 2u);
  EXPECT_EQ(stats.gateway().at("rejected"), 1u);
  EXPECT_EQ(stats.gateway().at("forwarded"), 1u);
}

// ---- nginx in front, as docs/integrations/gateway.md configures it --------------------------

int FreePort() {
  UpstreamStub probe;  // binds port 0; the port is free again once it is gone
  return probe.port();
}

class NginxGatewayTest : public GatewayE2eTest {
 protected:
  void TearDown() override {
    if (nginx_pid_ > 0) {
      kill(nginx_pid_, SIGQUIT);
      int status = 0;
      for (int i = 0; i < 100 && waitpid(nginx_pid_, &status, WNOHANG) == 0; ++i) {
        absl::SleepFor(absl::Milliseconds(50));
      }
      kill(nginx_pid_, SIGKILL);
      waitpid(nginx_pid_, &status, 0);
    }
    GatewayE2eTest::TearDown();
  }

  // nginx on a free port: inbox POSTs to the gateway, everything else to the upstream, the way
  // the documented snippet routes a Mastodon site.
  bool StartNginx() {
    const std::string prefix = dir_ + "/nginx";
    fs::create_directories(prefix + "/logs");
    nginx_port_ = FreePort();
    const std::string conf = absl::StrCat(
        geteuid() == 0 ? "user root;\n" : "", "worker_processes 1;\n", "pid ", prefix,
        "/nginx.pid;\n", "error_log ", prefix, "/logs/error.log warn;\n",
        "events { worker_connections 256; }\n", "http {\n", "  access_log off;\n",
        "  client_body_temp_path ", prefix, "/body;\n", "  proxy_temp_path ", prefix, "/proxy;\n",
        "  fastcgi_temp_path ", prefix, "/fcgi;\n  uwsgi_temp_path ", prefix,
        "/uwsgi;\n  scgi_temp_path ", prefix, "/scgi;\n",
        "  upstream backend { server ", upstream_.url().substr(7), "; }\n",
        "  upstream fedwall_gateway { server 127.0.0.1:", gateway_port_, "; keepalive 16; }\n",
        "  map $request_method $inbox_upstream { POST fedwall_gateway; default backend; }\n",
        "  server {\n", "    listen 127.0.0.1:", nginx_port_, ";\n",
        "    client_max_body_size 99m;\n",
        "    location ~ ^/(inbox|users/[^/]+/inbox)$ {\n",
        "      proxy_set_header Host $host;\n",
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n",
        "      proxy_set_header X-Forwarded-Proto $scheme;\n",
        "      proxy_set_header Connection \"\";\n", "      proxy_http_version 1.1;\n",
        "      proxy_pass http://$inbox_upstream;\n", "    }\n",
        "    location / {\n", "      proxy_set_header Host $host;\n",
        "      proxy_pass http://backend;\n", "    }\n", "  }\n", "}\n");
    WriteFile(prefix + "/nginx.conf", conf);
    // Everything the child needs is made before fork: after it, only async-signal-safe calls
    // (another thread may hold the allocator's lock).
    const std::string conf_path = prefix + "/nginx.conf";
    nginx_pid_ = fork();
    if (nginx_pid_ == 0) {
      execl(kNginx, kNginx, "-p", prefix.c_str(), "-c", conf_path.c_str(), "-g", "daemon off;",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    const bool up = PollUntil(
        [&] {
          return StatusOf(RawExchange("127.0.0.1", nginx_port_,
                                      "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                      1, /*half_close=*/false)) != 0;
        },
        absl::Seconds(10));
    if (!up) {
      int status = 0;
      const pid_t ended = waitpid(nginx_pid_, &status, WNOHANG);
      ADD_FAILURE() << "nginx did not answer on port " << nginx_port_
                    << (ended == nginx_pid_ ? absl::StrCat("; it exited with status ", status)
                                            : std::string("; it is running"))
                    << "\nerror.log:\n" << ReadFile(prefix + "/logs/error.log");
      if (ended == nginx_pid_) nginx_pid_ = -1;
    }
    return up;
  }

  // Without a half close: nginx takes a client's EOF for an abandoned request (499).
  std::string ViaNginx(const std::string& raw) {
    return RawExchange("127.0.0.1", nginx_port_, raw, 5, /*half_close=*/false);
  }

  static constexpr const char* kNginx = "/usr/sbin/nginx";
  pid_t nginx_pid_ = -1;
  int nginx_port_ = 0;
};

TEST_F(NginxGatewayTest, SignedDeliveriesPassNginxAndTheGatewayUnchanged) {
  if (access(kNginx, X_OK) != 0) GTEST_SKIP() << "nginx is not installed (make deps installs it)";
  ASSERT_NE(StartWithGateway("hold"), nullptr);
  ASSERT_TRUE(StartNginx()) << ReadFile(dir_ + "/nginx/logs/error.log");
  const size_t before = upstream_.received().size();  // StartNginx's probe went to the upstream

  const std::string clean = Delivery(Activity("clean-note.json", 21));
  const std::string casino = Delivery(Activity("casino-note.json", 22));
  const std::string held = Delivery(Activity("giveaway-note.json", 23), "/inbox");
  EXPECT_EQ(StatusOf(ViaNginx(clean)), 202);
  EXPECT_EQ(StatusOf(ViaNginx(casino)), 202);
  EXPECT_EQ(StatusOf(ViaNginx(held)), 202);
  ASSERT_TRUE(upstream_.WaitFor(before + 1, 10));
  absl::SleepFor(absl::Milliseconds(300));
  auto got = upstream_.received();
  ASSERT_EQ(got.size(), before + 1) << "only the clean note arrives at once";
  ExpectForwardedUnchanged(clean, got[before]);
  EXPECT_THAT(got[before].head, HasSubstr("X-Forwarded-For: 127.0.0.1, 127.0.0.1\r\n"));

  // The held one arrives when approved, identical; the rejected one never.
  const std::vector<v1::Flag> flags = Flags();
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(Resolve(flags[0].id(), v1::FLAG_STATUS_APPROVED).held().state(), "delivered");
  ASSERT_TRUE(upstream_.WaitFor(before + 2, 10));
  got = upstream_.received();
  ExpectForwardedUnchanged(held, got[before + 1]);
  for (const auto& r : got) EXPECT_THAT(r.body, ::testing::Not(HasSubstr("casino")));

  // Everything else still goes straight to the server.
  EXPECT_EQ(StatusOf(ViaNginx("GET /users/alice HTTP/1.1\r\nHost: social.example\r\n"
                              "Connection: close\r\n\r\n")),
            202);
  EXPECT_EQ(upstream_.received().size(), before + 3);
}

}  // namespace
}  // namespace fedwall::testing
