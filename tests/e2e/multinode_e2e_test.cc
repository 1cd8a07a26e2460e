// Several nodes (issue 8; docs/deployment.md): two real fedwalld processes sharing a real Redis
// (the counters) and a real PostgreSQL (the review store), each started by the test on a free
// port with a throwaway data directory.
//
//   - One spam text posted by six new accounts, alternating between the nodes, is rejected
//     from the fifth on by `text.seen(1h) >= 5`: the nodes count together.
//   - A flag made on one node is listed, shown and resolved through the other; a domain block
//     made through one node reaches the other's policy.
//   - With Redis gone, counters are unknown: the wave rule stays silent, the stats say so,
//     and decisions go on.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fedwall/v1/admin_service.grpc.pb.h"
#include "fedwall/v1/policy_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/fedwalld_process.h"
#include "tests/servers/postgres_server.h"
#include "tests/servers/redis_server.h"

namespace fedwall::testing {
namespace {

namespace v1 = ::fedwall::v1;
using ::testing::Contains;
using ::testing::ElementsAre;

constexpr char kToken[] = "multinode-admin-token-0123456789abcdef";
const std::string kBearer = std::string("Bearer ") + kToken;
constexpr auto kCallDeadline = std::chrono::seconds(20);

// The policy both nodes load.
constexpr char kPolicy[] = R"(
rule spam_wave "The same text from five accounts within an hour" {
  when text.seen(1h) >= 5
  then reject
}
rule needs_review "Asks for a moderator" {
  when content has "please review"
  then flag
}
)";

// A Create{Note} by `user` on `host`, addressed to `victim`, with the wave's text (and another
// link each time: mentions and links do not make texts differ).
std::string WaveNote(const std::string& host, const std::string& user, const std::string& victim,
                     int n) {
  const std::string actor = absl::StrCat("https://", host, "/users/", user);
  return absl::StrCat(
      R"({"id":")", actor, "/statuses/", n, R"(/activity","type":"Create","actor":")", actor,
      R"(","object":{"id":")", actor, "/statuses/", n, R"(","type":"Note","attributedTo":")",
      actor, R"(","content":"<p><a href=\"https://victims.example/@)", victim,
      R"(\" class=\"u-url mention\">@)", victim,
      R"(</a> Everyone is moving to our server, join before the invite expires: )",
      R"(<a href=\"https://chat.example/invite/)", n, R"(\">https://chat.example/invite/)", n,
      R"(</a></p>","tag":[{"type":"Mention","href":"https://victims.example/users/)", victim,
      R"("}]}})");
}

v1::EvaluateRequest Delivery(const std::string& json, absl::Time received_at,
                             const std::string& request_id) {
  v1::EvaluateRequest r = Request(request_id, json);
  r.mutable_delivery()->mutable_received_at()->set_seconds(absl::ToUnixSeconds(received_at));
  return r;
}

class Node {
 public:
  explicit Node(const FedwalldProcess& server)
      : policy_(v1::PolicyService::NewStub(
            grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()))),
        admin_(v1::AdminService::NewStub(
            grpc::CreateChannel(server.admin_address(), grpc::InsecureChannelCredentials()))) {}

  v1::EvaluateResponse Decide(const v1::EvaluateRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    v1::EvaluateResponse response;
    EXPECT_TRUE(IsOk(policy_->Evaluate(&context, request, &response))) << request.request_id();
    return response;
  }

  template <typename Request, typename Response>
  Response Admin(grpc::Status (v1::AdminService::Stub::*method)(grpc::ClientContext*,
                                                                 const Request&, Response*),
                 const Request& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    context.AddMetadata("authorization", kBearer);
    Response response;
    EXPECT_TRUE(IsOk((admin_.get()->*method)(&context, request, &response)));
    return response;
  }

  v1::GetStatsResponse Stats() {
    return Admin(&v1::AdminService::Stub::GetStats, v1::GetStatsRequest());
  }

 private:
  std::unique_ptr<v1::PolicyService::Stub> policy_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

class MultiNodeTest : public ServerTest {
 protected:
  MultiNodeTest() : ServerTest(kToken) {}

  void SetUp() override {
    ServerTest::SetUp();
    WriteFile(policy_dir_ + "/main.rules", kPolicy);
    absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    absl::StatusOr<std::unique_ptr<PostgresServer>> pg = PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = *std::move(pg);
    ASSERT_TRUE(pg_->CreateDatabase("fedwall").ok());
  }

  // A node: its own gRPC port, the shared state and store.
  FedwalldProcess* StartNode() {
    std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--policy",  policy_dir_,
                                     "--store",  pg_->url("fedwall"), "--state", redis_->url(),
                                     "--workers", "2", "--admin-token-file", token_file_};
    return Launch(std::move(args));
  }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<PostgresServer> pg_;
};

TEST_F(MultiNodeTest, ASpamWaveAcrossTwoNodesIsRejectedFromTheFifthAccountOn) {
  FedwalldProcess* a = StartNode();
  FedwalldProcess* b = StartNode();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Node nodes[2] = {Node(*a), Node(*b)};

  const absl::Time t0 = absl::FromUnixSeconds(1'708'053'165);  // 2024-02-16T03:12:45Z
  const char* hosts[] = {"freesocial.example", "openreg.example", "mk-open.example"};
  std::vector<std::string> verdicts;
  for (int i = 0; i < 6; ++i) {
    const std::string json =
        WaveNote(hosts[i % 3], absl::StrCat("fresh", i), absl::StrCat("victim", i), 100 + i);
    v1::EvaluateResponse r =
        nodes[i % 2].Decide(Delivery(json, t0 + absl::Minutes(i), absl::StrCat("wave-", i)));
    verdicts.push_back(v1::Verdict_Name(r.verdict()));
    if (i >= 4) {
      EXPECT_THAT(RuleIds(r), Contains("spam_wave")) << "activity " << i + 1;
      ASSERT_GE(r.matches_size(), 1);
      EXPECT_EQ(r.matches(0).evidence(0).text(), absl::StrCat("text.seen(1h) = ", i + 1));
    }
  }
  EXPECT_THAT(verdicts, ElementsAre("VERDICT_ACCEPT", "VERDICT_ACCEPT", "VERDICT_ACCEPT",
                                    "VERDICT_ACCEPT", "VERDICT_REJECT", "VERDICT_REJECT"));

  // The same actor again is not a new account; a dry run counts but writes nothing.
  v1::EvaluateRequest again =
      Delivery(WaveNote(hosts[0], "fresh0", "victim9", 200), t0 + absl::Minutes(7), "again");
  again.set_dry_run(true);
  EXPECT_THAT(RuleIds(nodes[1].Decide(again)), Contains("spam_wave"));

  // Past the hour the wave is forgotten.
  v1::EvaluateResponse later = nodes[0].Decide(Delivery(
      WaveNote(hosts[1], "fresh9", "victim9", 300), t0 + absl::Hours(3), "later"));
  EXPECT_EQ(later.verdict(), v1::VERDICT_ACCEPT);

  for (Node& node : nodes) {
    v1::GetStatsResponse stats = node.Stats();
    EXPECT_EQ(stats.state(), redis_->url());
    EXPECT_GT(stats.counters().at("queries"), 0u);
    EXPECT_EQ(stats.counters().at("unknown"), 0u);
  }
}

TEST_F(MultiNodeTest, AFlagMadeOnOneNodeIsReviewedThroughTheOther) {
  FedwalldProcess* a = StartNode();
  FedwalldProcess* b = StartNode();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Node node_a(*a);
  Node node_b(*b);

  const std::string json = ReplaceAll(
      WaveNote("social.example", "carol", "dave", 7), "Everyone is moving", "please review this");
  v1::EvaluateResponse flagged = node_a.Decide(Delivery(json, absl::Now(), "f1"));
  ASSERT_EQ(flagged.verdict(), v1::VERDICT_FLAG);
  ASSERT_FALSE(flagged.flag_id().empty());

  // The same activity flagged again on the other node joins the stored flag.
  v1::EvaluateResponse again = node_b.Decide(Delivery(json, absl::Now(), "f2"));
  EXPECT_EQ(again.flag_id(), flagged.flag_id());

  v1::ListFlagsRequest list;
  list.set_status(v1::FLAG_STATUS_PENDING);
  v1::ListFlagsResponse pending = node_b.Admin(&v1::AdminService::Stub::ListFlags, list);
  ASSERT_EQ(pending.flags_size(), 1);
  EXPECT_EQ(pending.flags(0).id(), flagged.flag_id());
  EXPECT_EQ(pending.flags(0).actor(), "https://social.example/users/carol");

  v1::ResolveFlagRequest resolve;
  resolve.set_id(flagged.flag_id());
  resolve.set_resolution(v1::FLAG_STATUS_REMOVED);
  resolve.set_note("spam, seen on node b");
  node_b.Admin(&v1::AdminService::Stub::ResolveFlag, resolve);

  v1::GetFlagRequest get;
  get.set_id(flagged.flag_id());
  v1::Flag seen_on_a = node_a.Admin(&v1::AdminService::Stub::GetFlag, get);
  EXPECT_EQ(seen_on_a.status(), v1::FLAG_STATUS_REMOVED);
  EXPECT_EQ(seen_on_a.note(), "spam, seen on node b");

  // A block made through one node reaches the other's policy.
  v1::CreateDomainBlockRequest block;
  block.mutable_block()->set_domain("openreg.example");
  block.mutable_block()->set_severity(v1::SEVERITY_SUSPEND);
  node_a.Admin(&v1::AdminService::Stub::CreateDomainBlock, block);
  v1::ListDomainBlocksResponse blocks =
      node_b.Admin(&v1::AdminService::Stub::ListDomainBlocks, v1::ListDomainBlocksRequest());
  ASSERT_EQ(blocks.blocks_size(), 1);
  EXPECT_EQ(blocks.blocks(0).domain(), "openreg.example");
  // ... and node b's policy applies it within store.sync_interval (5 s by default).
  const std::string blocked = WaveNote("openreg.example", "someone", "dave", 8);
  EXPECT_TRUE(PollUntil(
      [&] {
        v1::EvaluateResponse r = node_b.Decide(Delivery(blocked, absl::Now(), "blocked"));
        return r.verdict() == v1::VERDICT_REJECT && r.matches_size() > 0 &&
               r.matches(0).rule_id() == "blocklist:suspend";
      },
      absl::Seconds(20)));
}

TEST_F(MultiNodeTest, WithRedisGoneCountersAreUnknownAndDecisionsGoOn) {
  FedwalldProcess* a = StartNode();
  ASSERT_NE(a, nullptr);
  Node node(*a);
  const absl::Time t0 = absl::FromUnixSeconds(1'708'053'165);
  for (int i = 0; i < 4; ++i) {
    node.Decide(Delivery(WaveNote("freesocial.example", absl::StrCat("u", i), "v", 10 + i),
                         t0, absl::StrCat("w", i)));
  }
  redis_->Stop();
  // The fifth account would make a wave, but the count cannot be known: no rule fires on it,
  // and the answer comes without waiting on Redis for long.
  const absl::Time start = absl::Now();
  v1::EvaluateResponse r =
      node.Decide(Delivery(WaveNote("freesocial.example", "u4", "v", 14), t0, "w4"));
  EXPECT_EQ(r.verdict(), v1::VERDICT_ACCEPT);
  EXPECT_TRUE(r.matches().empty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  v1::GetStatsResponse stats = node.Stats();
  EXPECT_GE(stats.counters().at("unknown"), 1u);
  EXPECT_GE(stats.counters().at("failures"), 1u);

  // A fresh, empty Redis: counting starts again.
  ASSERT_TRUE(redis_->Restart().ok());
  int n = 15;
  EXPECT_TRUE(PollUntil(
      [&] {
        const uint64_t before = node.Stats().counters().at("unknown");
        node.Decide(Delivery(WaveNote("freesocial.example", "u5", "v", n++), t0, "w5"));
        return node.Stats().counters().at("unknown") == before;
      },
      absl::Seconds(10)));
}

}  // namespace
}  // namespace fedwall::testing
