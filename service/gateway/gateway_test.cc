// The inbox gateway in-process, between a raw-socket sender and a recording upstream, with a
// Decider that decides by the body's words (so each test controls the verdict).
#include "service/gateway/gateway.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "service/gateway/testing/upstream_stub.h"

namespace fedwall::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::fedwall::gateway_testing::RawExchange;
using ::fedwall::gateway_testing::StatusOf;
using ::fedwall::gateway_testing::UpstreamStub;

// "reject" / "flag" / "sensitive" / "bad" / "unavailable" / "slow" in the body choose the outcome.
class WordDecider : public Decider {
 public:
  void Decide(fedwall::v1::EvaluateRequest request,
              const std::vector<fedwall::v1::Effect>& flag_effects,
              std::unique_ptr<HeldRequest> held, std::function<void(Evaluation)> done) override {
    const std::string body = request.activity_json();
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      if (held) held_.push_back(*held);
    }
    if (absl::StrContains(body, "slow")) {
      std::thread([done, this] {
        release_.WaitForNotification();
        Evaluation e;
        e.outcome = Evaluation::Outcome::kDecided;
        e.response.set_verdict(fedwall::v1::VERDICT_ACCEPT);
        done(e);
      }).detach();
      return;
    }
    Evaluation e;
    e.outcome = Evaluation::Outcome::kDecided;
    e.response.set_verdict(fedwall::v1::VERDICT_ACCEPT);
    if (absl::StrContains(body, "reject")) {
      e.response.set_verdict(fedwall::v1::VERDICT_REJECT);
      e.response.add_matches()->set_rule_id("no_rejects");
    } else if (absl::StrContains(body, "flag")) {
      e.response.set_verdict(fedwall::v1::VERDICT_FLAG);
      e.response.set_flag_id("7");
    } else if (absl::StrContains(body, "sensitive") && !flag_effects.empty()) {
      e.response.set_verdict(fedwall::v1::VERDICT_FLAG);
    } else if (absl::StrContains(body, "bad")) {
      e.outcome = Evaluation::Outcome::kBadActivity;
      e.error = "not JSON";
    } else if (absl::StrContains(body, "unavailable")) {
      e.outcome = Evaluation::Outcome::kUnavailable;
      e.error = "no policy";
    }
    done(e);
  }
  std::vector<fedwall::v1::EvaluateRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<HeldRequest> held() {
    absl::MutexLock lock(&mu_);
    return held_;
  }
  absl::Notification release_;

 private:
  absl::Mutex mu_;
  std::vector<fedwall::v1::EvaluateRequest> requests_;
  std::vector<HeldRequest> held_;
};

// A signed delivery as Mastodon sends one: header order and spelling, a repeated header and an
// encoded target must all reach the upstream as they were.
std::string Delivery(const std::string& body, const std::string& path = "/users/alice/inbox?x=%2F",
                     const std::string& extra = "") {
  return absl::StrCat(
      "POST ", path, " HTTP/1.1\r\n",
      "Host: social.example\r\n",
      "User-Agent: http.rb/5.1.1 (Mastodon/4.2.0; +https://remote.example/)\r\n",
      "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
      "Digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\r\n",
      "content-type: application/activity+json\r\n",
      "Signature: keyId=\"https://remote.example/users/bob#main-key\",algorithm=\"rsa-sha256\","
      "headers=\"(request-target) host date digest content-type\",signature=\"c2lnbmF0dXJl\"\r\n",
      "X-Repeated: one\r\n",
      "X-Repeated: two\r\n",
      "Connection: close\r\n", extra,
      "Content-Length: ", body.size(), "\r\n\r\n", body);
}

class GatewayTest : public ::testing::Test {
 protected:
  void Start(GatewayOptions o = {}) {
    o.listen = "127.0.0.1:0";
    if (o.upstream.empty()) o.upstream = upstream_.url();
    o.read_timeout = absl::Seconds(2);
    o.upstream_timeout = absl::Seconds(2);
    auto gw = InboxGateway::Start(std::move(o), &decider_);
    ASSERT_TRUE(gw.ok()) << gw.status();
    gateway_ = *std::move(gw);
    port_ = std::stoi(gateway_->address().substr(gateway_->address().rfind(':') + 1));
  }
  void TearDown() override {
    if (!decider_.release_.HasBeenNotified()) decider_.release_.Notify();
    if (gateway_) gateway_->Stop(absl::Seconds(1));
  }
  std::string Send(const std::string& raw, double timeout = 5) {
    return RawExchange("127.0.0.1", port_, raw, timeout);
  }

  UpstreamStub upstream_{202};
  WordDecider decider_;
  std::unique_ptr<InboxGateway> gateway_;
  int port_ = 0;
};

TEST_F(GatewayTest, AcceptedDeliveryReachesTheUpstreamByteForByte) {
  Start();
  const std::string body = R"({"type":"Create","object":{"content":"hello"}})";
  const std::string answer = Send(Delivery(body));
  EXPECT_EQ(StatusOf(answer), 202) << answer;
  EXPECT_THAT(answer, HasSubstr("X-Upstream: yes"));
  EXPECT_THAT(answer, HasSubstr("upstream says hi"));
  ASSERT_TRUE(upstream_.WaitFor(1, 5));
  const auto got = upstream_.received();
  ASSERT_EQ(got.size(), 1u);
  // Everything end to end as sent, in order; Connection (hop-by-hop) is the gateway's own, and
  // X-Forwarded-For names the sender.
  EXPECT_EQ(got[0].head,
            "POST /users/alice/inbox?x=%2F HTTP/1.1\r\n"
            "Host: social.example\r\n"
            "User-Agent: http.rb/5.1.1 (Mastodon/4.2.0; +https://remote.example/)\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\r\n"
            "content-type: application/activity+json\r\n"
            "Signature: keyId=\"https://remote.example/users/bob#main-key\",algorithm=\"rsa-sha256\","
            "headers=\"(request-target) host date digest content-type\",signature=\"c2lnbmF0dXJl\"\r\n"
            "X-Repeated: one\r\n"
            "X-Repeated: two\r\n"
            "Content-Length: 46\r\n"
            "X-Forwarded-For: 127.0.0.1\r\n");
  EXPECT_EQ(got[0].body, body);
  // The facts: the signing domain, and the peer (no X-Forwarded-For came).
  const auto requests = decider_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].activity_json(), body);
  EXPECT_EQ(requests[0].delivery().sender_domain(), "remote.example");
  EXPECT_EQ(requests[0].delivery().remote_ip(), "127.0.0.1");
  EXPECT_GT(requests[0].delivery().received_at().seconds(), 0);
  EXPECT_EQ(gateway_->counters().forwarded.load(), 1u);
}

TEST_F(GatewayTest, ForwardedForIsBelievedOnlyFromATrustedProxy) {
  Start();
  Send(Delivery("{}", "/inbox", "X-Forwarded-For: 198.51.100.7\r\n"));
  GatewayOptions untrusting;
  untrusting.trusted_proxies = {};
  gateway_->Stop(absl::Seconds(1));
  Start(untrusting);
  Send(Delivery("{}", "/inbox", "X-Forwarded-For: 198.51.100.7\r\n"));
  const auto requests = decider_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].delivery().remote_ip(), "198.51.100.7");
  EXPECT_EQ(requests[1].delivery().remote_ip(), "127.0.0.1");
  ASSERT_TRUE(upstream_.WaitFor(2, 5));
  EXPECT_THAT(upstream_.received()[0].head, HasSubstr("X-Forwarded-For: 198.51.100.7, 127.0.0.1\r\n"));
}

TEST_F(GatewayTest, RejectedDeliveryIsAnsweredAndNeverForwarded) {
  Start();
  EXPECT_EQ(StatusOf(Send(Delivery(R"({"spam":"reject me"})"))), 202);
  gateway_->Stop(absl::Seconds(1));
  GatewayOptions o;
  o.reject_status = 403;
  Start(o);
  EXPECT_EQ(StatusOf(Send(Delivery(R"({"spam":"reject me"})"))), 403);
  EXPECT_EQ(StatusOf(Send(Delivery("{}"))), 202);  // the next one goes through
  ASSERT_TRUE(upstream_.WaitFor(1, 5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(upstream_.received().size(), 1u);
  EXPECT_THAT(upstream_.received()[0].body, Not(HasSubstr("reject")));
}

TEST_F(GatewayTest, FlaggedDeliveryIsForwardedInForwardMode) {
  Start();
  EXPECT_EQ(StatusOf(Send(Delivery(R"({"x":"flag me"})"))), 202);
  EXPECT_TRUE(upstream_.WaitFor(1, 5));
  EXPECT_TRUE(decider_.held().empty());
  EXPECT_EQ(gateway_->counters().flagged.load(), 1u);
}

TEST_F(GatewayTest, HeldDeliveryWaitsAndIsDeliveredIdenticalLater) {
  GatewayOptions o;
  o.flag = FlagMode::kHold;
  Start(o);
  const std::string body = R"({"x":"flag me"})";
  EXPECT_EQ(StatusOf(Send(Delivery(body))), 202);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(upstream_.received().empty());
  const auto held = decider_.held();
  ASSERT_EQ(held.size(), 1u);
  // The signed Date plus 12 hours.
  EXPECT_EQ(absl::ToUnixSeconds(held[0].deliver_before), 784111777 + 12 * 3600);
  absl::Notification delivered;
  absl::Status result;
  gateway_->Deliver(held[0].raw, [&](absl::Status s) {
    result = s;
    delivered.Notify();
  });
  ASSERT_TRUE(delivered.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(result.ok()) << result;
  ASSERT_EQ(upstream_.received().size(), 1u);
  EXPECT_THAT(upstream_.received()[0].head, HasSubstr("Signature: keyId="));
  EXPECT_THAT(upstream_.received()[0].head, HasSubstr("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
  EXPECT_EQ(upstream_.received()[0].body, body);
  EXPECT_EQ(gateway_->counters().held.load(), 1u);
}

TEST_F(GatewayTest, EffectsBecomeFlagsOnlyWhenConfigured) {
  GatewayOptions o;
  o.flag = FlagMode::kHold;
  o.flag_effects = {fedwall::v1::EFFECT_MARK_SENSITIVE};
  Start(o);
  EXPECT_EQ(StatusOf(Send(Delivery(R"({"x":"sensitive"})"))), 202);
  EXPECT_EQ(decider_.held().size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(upstream_.received().empty());
}

TEST_F(GatewayTest, NoDecisionFailsOpenOrClosedAsConfigured) {
  Start();
  EXPECT_EQ(StatusOf(Send(Delivery(R"({"x":"unavailable"})"))), 202);
  EXPECT_TRUE(upstream_.WaitFor(1, 5));
  EXPECT_EQ(gateway_->counters().failed_open.load(), 1u);
  gateway_->Stop(absl::Seconds(1));
  GatewayOptions o;
  o.fail_open = false;
  Start(o);
  const std::string answer = Send(Delivery(R"({"x":"unavailable"})"));
  EXPECT_EQ(StatusOf(answer), 503);
  EXPECT_THAT(answer, HasSubstr("Retry-After: 30"));
  EXPECT_EQ(gateway_->counters().failed_closed.load(), 1u);
  EXPECT_EQ(upstream_.received().size(), 1u);
}

TEST_F(GatewayTest, BadInputIsRefusedAndNothingIsForwarded) {
  Start();
  EXPECT_EQ(StatusOf(Send(Delivery(R"(bad)"))), 400);                            // not an activity
  EXPECT_EQ(StatusOf(Send(Delivery("{}", "/users/alice/outbox"))), 404);         // not an inbox
  EXPECT_EQ(StatusOf(Send("GET /inbox HTTP/1.1\r\nHost: a\r\n\r\n")), 405);       // not a POST
  EXPECT_EQ(StatusOf(Send("POST /inbox HTTP/1.1\r\nContent-Length: x\r\n\r\n")), 400);
  EXPECT_EQ(StatusOf(Send("HELLO\r\n\r\n")), 400);
  EXPECT_EQ(StatusOf(Send(absl::StrCat("POST /inbox HTTP/1.1\r\nX: ", std::string(70000, 'a'),
                                       "\r\n\r\n"))), 431);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(upstream_.received().empty());
  EXPECT_EQ(StatusOf(Send(Delivery("{}"))), 202);  // and it keeps serving
}

TEST_F(GatewayTest, BodiesPastTheLimitAre413) {
  GatewayOptions o;
  o.max_body_bytes = 1000;
  Start(o);
  EXPECT_EQ(StatusOf(Send(Delivery(std::string(1000, ' ')))), 202);
  EXPECT_EQ(StatusOf(Send(Delivery(std::string(1001, ' ')))), 413);
  // Chunked, without a length up front: counted as it comes.
  const std::string chunk(600, ' ');
  EXPECT_EQ(StatusOf(Send(absl::StrCat("POST /inbox HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                                       "258\r\n", chunk, "\r\n258\r\n", chunk, "\r\n0\r\n\r\n"))),
            413);
  EXPECT_EQ(gateway_->counters().too_large.load(), 2u);
  EXPECT_EQ(upstream_.received().size(), 1u);
}

TEST_F(GatewayTest, TooManyRequestsInProgressAre503WithRetryAfter) {
  GatewayOptions o;
  o.max_in_flight = 1;
  Start(o);
  std::string first;
  std::thread slow([&] { first = Send(Delivery(R"({"x":"slow"})"), 10); });
  while (decider_.requests().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string second = Send(Delivery("{}"));
  EXPECT_EQ(StatusOf(second), 503);
  EXPECT_THAT(second, HasSubstr("Retry-After: 1"));
  decider_.release_.Notify();
  slow.join();
  EXPECT_EQ(StatusOf(first), 202);
  EXPECT_EQ(StatusOf(Send(Delivery("{}"))), 202);
}

TEST_F(GatewayTest, SlowSendersAreCutOffAtTheReadDeadline) {
  Start();  // read_timeout 2 s
  const auto t0 = std::chrono::steady_clock::now();
  // Half a request, then silence (the connection stays open: no half close).
  const std::string answer = RawExchange("127.0.0.1", port_, "POST /inbox HTTP/1.1\r\nHost: a\r\n",
                                         10, /*half_close=*/false);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(answer, "");  // closed without an answer
  EXPECT_GT(seconds, 1.5);
  EXPECT_LT(seconds, 5);
  EXPECT_EQ(gateway_->counters().timeouts.load(), 1u);
}

TEST_F(GatewayTest, ADeadUpstreamIs502AndTheGatewayKeepsServing) {
  GatewayOptions o;
  {
    UpstreamStub gone;
    o.upstream = gone.url();
  }
  Start(o);
  EXPECT_EQ(StatusOf(Send(Delivery("{}"))), 502);
  EXPECT_EQ(StatusOf(Send(Delivery(R"({"x":"reject"})"))), 202);  // rejects need no upstream
  EXPECT_EQ(gateway_->counters().upstream_errors.load(), 1u);
}

TEST_F(GatewayTest, KeptAliveConnectionsServeManyRequests) {
  Start();
  std::string raw;
  for (int i = 0; i < 20; ++i) {
    const std::string body = absl::StrCat("{\"n\":", i, "}");
    raw += absl::StrCat("POST /inbox HTTP/1.1\r\nHost: a\r\nContent-Length: ", body.size(),
                        "\r\n\r\n", body);
  }
  const std::string answers = Send(raw);
  size_t count = 0;
  for (size_t pos = 0; (pos = answers.find("HTTP/1.1 202", pos)) != std::string::npos; ++pos) ++count;
  EXPECT_EQ(count, 20u);
  ASSERT_TRUE(upstream_.WaitFor(20, 5));
  EXPECT_EQ(upstream_.received()[19].body, "{\"n\":19}");
}

TEST_F(GatewayTest, ExpectContinueIsAnsweredHereAndNotPassedOn) {
  Start();
  const std::string body = "{}";
  const std::string answer = Send(absl::StrCat(
      "POST /inbox HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", body));
  EXPECT_EQ(answer.substr(0, 25), "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_THAT(answer, HasSubstr("HTTP/1.1 202"));
  ASSERT_TRUE(upstream_.WaitFor(1, 5));
  EXPECT_THAT(upstream_.received()[0].head, Not(HasSubstr("Expect")));
}

TEST_F(GatewayTest, InterimAnswersOfTheUpstreamAreSkipped) {
  UpstreamStub interim(202, /*interim=*/true);
  GatewayOptions o;
  o.upstream = interim.url();
  Start(o);
  // Three requests on one connection each get their own final answer, never a 100.
  std::string raw;
  for (int i = 0; i < 3; ++i) raw += "POST /inbox HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
  const std::string answers = Send(raw);
  EXPECT_THAT(answers, Not(HasSubstr("100 Continue")));
  size_t count = 0;
  for (size_t pos = 0; (pos = answers.find("HTTP/1.1 202", pos)) != std::string::npos; ++pos) ++count;
  EXPECT_EQ(count, 3u);
}

TEST_F(GatewayTest, AmbiguousSignaturesAreRefused) {
  Start();
  const std::string answer = Send(Delivery(
      "{}", "/inbox", "Signature: keyId=\"https://blocked.example/users/x#main-key\"\r\n"));
  EXPECT_EQ(StatusOf(answer), 400);
  EXPECT_THAT(answer, HasSubstr("ambiguous HTTP signature"));
  EXPECT_TRUE(decider_.requests().empty());
}

TEST_F(GatewayTest, EndlessChunkHeadersHitTheReadBufferLimit) {
  Start();
  // A chunk extension that never ends: Beast keeps no limit on it; our read buffer does.
  std::string raw = "POST /inbox HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;";
  raw += std::string(4 << 20, 'a');
  EXPECT_EQ(StatusOf(Send(raw)), 431);
  EXPECT_TRUE(decider_.requests().empty());
}

TEST(GatewayOptionsTest, BadOptionsAreRefusedWithReasons) {
  WordDecider d;
  GatewayOptions o;
  o.listen = "127.0.0.1:0";
  o.upstream = "https://127.0.0.1:1";
  EXPECT_THAT(std::string(InboxGateway::Start(o, &d).status().message()), HasSubstr("http://"));
  o.upstream = "http://127.0.0.1:1/path";
  EXPECT_FALSE(InboxGateway::Start(o, &d).ok());
  o.upstream = "http://127.0.0.1:1";
  o.reject_status = 200;
  EXPECT_FALSE(InboxGateway::Start(o, &d).ok());
  o.reject_status = 403;
  o.inbox_paths = {"inbox"};
  EXPECT_FALSE(InboxGateway::Start(o, &d).ok());
  o.inbox_paths = {"/inbox"};
  o.trusted_proxies = {"nonsense"};
  EXPECT_FALSE(InboxGateway::Start(o, &d).ok());
  o.trusted_proxies = {};
  o.listen = "nowhere";
  EXPECT_FALSE(InboxGateway::Start(o, &d).ok());
}

}  // namespace
}  // namespace fedwall::gateway
