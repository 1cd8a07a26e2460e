// Reliability of fedwalld under load: what it promises must hold when it is killed or when its
// policy changes under it (issue 6, points 3 and 4).
//
//   CrashSafety        clients send hundreds of distinct flagging activities through Evaluate,
//                      EvaluateBatch and EvaluateStream from several threads; fedwalld is
//                      killed with SIGKILL at a random moment while they are still sending,
//                      restarted on the same store (twice); every flag that was acknowledged
//                      (a response with a flag_id) must be listed and readable, with the very
//                      activity that raised it. Calls in flight at the kill may fail.
//   ReloadUnderLoad    a stream and unary callers evaluate without pause for several seconds
//                      while the policy is rewritten and reloaded again and again, alternating
//                      versions that change a rule with versions that do not compile; every
//                      request is answered without an error, and every answer carries one of
//                      the versions that were live and the decision of that very version.
//                      Once with --no-watch (ReloadPolicy only), once with the file watcher
//                      reloading too.
//
// A failing test prints the servers' standard error; the random kill moment is printed with
// its seed (FEDWALL_RELIABILITY_SEED=<n> replays it).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fedwall/v1/admin_service.grpc.pb.h"
#include "fedwall/v1/policy_service.grpc.pb.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/fedwalld_process.h"

namespace fedwall::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = fedwall::v1;
using ::testing::IsEmpty;

const std::string kFixtures = std::string(FEDWALL_SOURCE_DIR) + "/tests/fixtures/service/";
constexpr char kToken[] = "reliability-admin-token-51c2e8";
const std::string kBearer = std::string("Bearer ") + kToken;

// ---- Files and activities --------------------------------------------------------------------

// Writes `text` to `path` at once: into `scratch` first, then renamed over `path`, so a file
// watcher never sees half a file.
void WriteFileAtomically(const std::string& path, const std::string& text,
                         const std::string& scratch) {
  WriteFile(scratch, text);
  fs::rename(scratch, path);
}

// A flagging activity (free_crypto or giveaway), distinct for each number.
std::string FlaggingActivity(int64_t number) {
  static const std::string kCrypto = ReadFile(kFixtures + "activities/free-crypto-note.json");
  static const std::string kGiveaway = ReadFile(kFixtures + "activities/giveaway-note.json");
  return ReplaceAll(number % 2 == 0 ? kCrypto : kGiveaway, "1001", std::to_string(number));
}

// ---- gRPC ------------------------------------------------------------------------------------

void Prepare(grpc::ClientContext* context, std::chrono::seconds deadline,
             const char* authorization = nullptr) {
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  if (authorization != nullptr) context->AddMetadata("authorization", authorization);
}

constexpr auto kCallDeadline = std::chrono::seconds(20);

template <typename Request, typename Response>
using AdminMethod = grpc::Status (v1::AdminService::Stub::*)(grpc::ClientContext*, const Request&,
                                                             Response*);

class Client {
 public:
  explicit Client(const FedwalldProcess& server)
      : policy_(v1::PolicyService::NewStub(
            grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()))),
        admin_(v1::AdminService::NewStub(
            grpc::CreateChannel(server.admin_address(), grpc::InsecureChannelCredentials()))) {}

  v1::PolicyService::Stub* policy() { return policy_.get(); }

  grpc::Status Evaluate(const v1::EvaluateRequest& request, v1::EvaluateResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, kCallDeadline);
    return policy_->Evaluate(&context, request, response);
  }

  grpc::Status Batch(const v1::EvaluateBatchRequest& request, v1::EvaluateBatchResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, kCallDeadline);
    return policy_->EvaluateBatch(&context, request, response);
  }

  template <typename Request, typename Response>
  grpc::Status Admin(AdminMethod<Request, Response> method, const Request& request,
                     Response* response) {
    grpc::ClientContext context;
    Prepare(&context, kCallDeadline, kBearer.c_str());
    return (admin_.get()->*method)(&context, request, response);
  }

  template <typename Request, typename Response>
  Response MustAdmin(AdminMethod<Request, Response> method, const Request& request) {
    Response response;
    EXPECT_TRUE(IsOk(Admin(method, request, &response)));
    return response;
  }

  std::string PolicyVersion() {
    return MustAdmin(&v1::AdminService::Stub::GetPolicy, v1::GetPolicyRequest()).version();
  }

 private:
  std::unique_ptr<v1::PolicyService::Stub> policy_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

uint64_t Seed() {
  if (const char* s = getenv("FEDWALL_RELIABILITY_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device()();
}

// ---- The fixture -----------------------------------------------------------------------------

class ReliabilityTest : public ServerTest {
 protected:
  ReliabilityTest() : ServerTest(kToken) {}

  FedwalldProcess* Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = BaseArgs();
    args.insert(args.end(), extra.begin(), extra.end());
    return Launch(std::move(args));
  }
};

// ---- 3. Crash safety -------------------------------------------------------------------------

// Flags acknowledged by the server: flag id -> the activity that raised it.
class Acknowledged {
 public:
  void Add(const std::string& flag_id, std::string activity_json) {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = flags_.emplace(flag_id, activity_json);
    if (!inserted && it->second != activity_json) {
      ADD_FAILURE() << "flag " << flag_id << " acknowledged for two different activities";
    }
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return flags_.size();
  }
  std::map<std::string, std::string> flags() const {
    absl::MutexLock lock(&mu_);
    return flags_;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> flags_ ABSL_GUARDED_BY(mu_);
};

// Counts responses that were OK but not an acknowledged flag (there must be none: every
// activity sent flags, so an OK answer without a flag id would be a lost flag).
struct LoadCounters {
  std::atomic<int> unary{0};
  std::atomic<int> batch_items{0};
  std::atomic<int> streamed{0};
  std::atomic<int> threads_running{0};
  std::atomic<int> unexpected{0};
  std::atomic<int> item_errors{0};  // only expected from the kill on
};

// Runs the load against `server` until `stop` or the first failed call. Activity numbers come
// from `next_number` (distinct across rounds).
class FlagLoad {
 public:
  FlagLoad(const FedwalldProcess& server, std::atomic<int64_t>* next_number, Acknowledged* acked,
           LoadCounters* counters)
      : client_(server), next_(next_number), acked_(acked), counters_(counters) {}
  ~FlagLoad() { Join(); }
  FlagLoad(const FlagLoad&) = delete;
  FlagLoad& operator=(const FlagLoad&) = delete;

  void Start() {
    for (int t = 0; t < 2; ++t) threads_.emplace_back([this] { Unary(); });
    threads_.emplace_back([this] { Batch(); });
    threads_.emplace_back([this] { Stream(); });
  }

  // Waits for every thread (each ends at the first failed call after the kill).
  void Join() {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  // One response: an acknowledged flag, or (after the kill) an item error.
  void Record(const v1::EvaluateResponse& r, const std::string& json) {
    if (r.has_error()) {
      ++counters_->item_errors;
      return;
    }
    if (r.verdict() != v1::VERDICT_FLAG || r.flag_id().empty()) {
      ++counters_->unexpected;
      ADD_FAILURE() << "not an acknowledged flag: " << r.ShortDebugString();
      return;
    }
    acked_->Add(r.flag_id(), json);
  }

  void Unary() {
    ++counters_->threads_running;
    for (int i = 0; i < 1'000'000; ++i) {
      const std::string json = FlaggingActivity((*next_)++);
      v1::EvaluateResponse r;
      if (!client_.Evaluate(Request("u", json), &r).ok()) break;
      Record(r, json);
      ++counters_->unary;
    }
    --counters_->threads_running;
  }

  void Batch() {
    ++counters_->threads_running;
    constexpr int kItems = 8;
    for (int i = 0; i < 1'000'000; ++i) {
      v1::EvaluateBatchRequest batch;
      std::vector<std::string> jsons;
      for (int k = 0; k < kItems; ++k) {
        jsons.push_back(FlaggingActivity((*next_)++));
        *batch.add_requests() = Request("b" + std::to_string(k), jsons.back());
      }
      v1::EvaluateBatchResponse r;
      if (!client_.Batch(batch, &r).ok()) break;
      if (r.responses_size() != kItems) {
        ADD_FAILURE() << "batch of " << kItems << " answered with " << r.responses_size();
        break;
      }
      for (int k = 0; k < kItems; ++k) Record(r.responses(k), jsons[k]);
      counters_->batch_items += kItems;
    }
    --counters_->threads_running;
  }

  void Stream() {
    ++counters_->threads_running;
    grpc::ClientContext context;
    Prepare(&context, std::chrono::seconds(120));
    auto stream = client_.policy()->EvaluateStream(&context);
    absl::Mutex mu;
    std::map<std::string, std::string> sent;  // request id -> activity
    std::thread writer([&] {
      for (int i = 0; i < 1'000'000; ++i) {
        const std::string id = "s" + std::to_string(i);
        const std::string json = FlaggingActivity((*next_)++);
        {
          absl::MutexLock lock(&mu);
          sent.emplace(id, json);
        }
        if (!stream->Write(Request(id, json))) break;
      }
      stream->WritesDone();
    });
    v1::EvaluateResponse r;
    while (stream->Read(&r)) {
      std::string json;
      {
        absl::MutexLock lock(&mu);
        auto it = sent.find(r.request_id());
        if (it == sent.end()) {
          ADD_FAILURE() << "a response to an unknown request " << r.request_id();
          continue;
        }
        json = std::move(it->second);
        sent.erase(it);
      }
      Record(r, json);
      ++counters_->streamed;
    }
    writer.join();
    stream->Finish().IgnoreError();  // the server was killed: an error is expected
    --counters_->threads_running;
  }

  Client client_;
  std::atomic<int64_t>* next_;
  Acknowledged* acked_;
  LoadCounters* counters_;
  std::vector<std::thread> threads_;
};

TEST_F(ReliabilityTest, EveryAcknowledgedFlagSurvivesSigkillUnderLoad) {
  const uint64_t seed = Seed();
  std::mt19937_64 rng(seed);
  std::cerr << "FEDWALL_RELIABILITY_SEED=" << seed << "\n";
  SCOPED_TRACE("FEDWALL_RELIABILITY_SEED=" + std::to_string(seed));

  Acknowledged acked;
  std::atomic<int64_t> next_number{1'000'000};
  constexpr int kRounds = 2;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    FedwalldProcess* server = Start();
    ASSERT_NE(server, nullptr);
    LoadCounters counters;
    FlagLoad load(*server, &next_number, &acked, &counters);
    load.Start();
    // Several hundred acknowledged in this round, some through each call, then a random
    // moment later: SIGKILL.
    const size_t target = acked.size() + 300;
    const bool reached = PollUntil(
        [&] {
          return acked.size() >= target && counters.unary > 0 && counters.batch_items > 0 &&
                 counters.streamed > 0;
        },
        absl::Seconds(60));
    const auto delay = absl::Milliseconds(static_cast<int64_t>(rng() % 400));
    absl::SleepFor(delay);
    const int running = counters.threads_running;
    EXPECT_TRUE(server->Signal(SIGKILL));
    EXPECT_EQ(server->WaitExit(absl::Seconds(10)), 128 + SIGKILL);
    load.Join();
    EXPECT_TRUE(reached) << "only " << acked.size() << " flags acknowledged in 60 s";
    EXPECT_EQ(running, 4) << "the load had already stopped when fedwalld was killed";
    EXPECT_EQ(counters.unexpected, 0);
    EXPECT_GT(counters.unary, 0);
    EXPECT_GT(counters.batch_items, 0);
    EXPECT_GT(counters.streamed, 0);
    std::cerr << "round " << round << ": killed " << absl::FormatDuration(delay)
              << " after the target; " << counters.unary << " unary, " << counters.batch_items
              << " batch items, " << counters.streamed << " streamed, " << counters.item_errors
              << " item errors; " << acked.size() << " flags acknowledged so far\n";
  }

  // Restart on the same store: every acknowledged flag is there, with its activity.
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  std::set<std::string> listed;
  std::vector<std::string> listed_twice;
  std::string token;
  int pages = 0;
  for (; pages < 10'000; ++pages) {
    v1::ListFlagsRequest request;
    request.set_page_size(97);  // many pages
    request.set_page_token(token);
    v1::ListFlagsResponse page = client.MustAdmin(&v1::AdminService::Stub::ListFlags, request);
    for (const v1::Flag& f : page.flags()) {
      if (!listed.insert(f.id()).second) listed_twice.push_back(f.id());
    }
    token = page.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_THAT(listed_twice, IsEmpty());
  const std::map<std::string, std::string> flags = acked.flags();
  ASSERT_GE(flags.size(), 300u * kRounds);
  std::vector<std::string> missing;
  std::vector<std::string> wrong_activity;
  for (const auto& [id, json] : flags) {
    if (!listed.count(id)) missing.push_back(id);
    v1::GetFlagRequest get;
    get.set_id(id);
    v1::Flag flag;
    grpc::Status status = client.Admin(&v1::AdminService::Stub::GetFlag, get, &flag);
    if (!status.ok()) {
      missing.push_back(id + " (GetFlag: " + status.error_message() + ")");
      continue;
    }
    if (flag.activity_json() != json || flag.status() != v1::FLAG_STATUS_PENDING ||
        flag.matches_size() == 0) {
      wrong_activity.push_back(id);
    }
  }
  EXPECT_THAT(missing, IsEmpty()) << "of " << flags.size() << " acknowledged flags";
  EXPECT_THAT(wrong_activity, IsEmpty());
  std::cerr << flags.size() << " acknowledged flags; " << listed.size() << " stored, listed in "
            << pages + 1 << " pages\n";

  // A redelivered activity finds its flag again (the store also kept the activity id).
  int checked = 0;
  for (const auto& [id, json] : flags) {
    if (checked++ == 20) break;
    v1::EvaluateResponse r;
    ASSERT_TRUE(IsOk(client.Evaluate(Request("again", json), &r)));
    EXPECT_EQ(r.flag_id(), id);
  }
}

// ---- 4. Reload under load --------------------------------------------------------------------

// The policy written by the test: the fixture's main.rules plus, in valid version k, a rule
// `live_k` that rejects the clean note (so each answer shows which version decided it); in a
// broken version, a rule with a syntax error.
std::string ValidVersion(const std::string& base, int k) {
  return base + "\nrule live_" + std::to_string(k) +
         " \"Version marker\" {\n"
         "  when  content has \"garden club\"\n"
         "  then  reject\n"
         "}\n";
}

std::string BrokenVersion(const std::string& base, int k) {
  return base + "\nrule broken_" + std::to_string(k) +
         " \"Broken\" {\n"
         "  when  content has and\n"
         "  then  reject\n"
         "}\n";
}

// What was answered: (policy_version, the live_* rule that fired or "", crypto note?) -> count.
class Answers {
 public:
  using Key = std::tuple<std::string, std::string, bool>;
  void Add(const v1::EvaluateResponse& r, bool crypto) {
    std::string marker;
    for (const std::string& id : RuleIds(r)) {
      if (id.rfind("live_", 0) == 0) marker = id;
    }
    absl::MutexLock lock(&mu_);
    ++seen_[{r.policy_version(), marker, crypto}];
  }
  std::map<Key, int> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<Key, int> seen_ ABSL_GUARDED_BY(mu_);
};

void RunReloadUnderLoad(FedwalldProcess* server, const std::string& policy_dir,
                        const std::string& scratch, absl::Duration duration) {
  Client client(*server);
  const std::string base = ReadFile(policy_dir + "/main.rules");
  const std::string main_rules = policy_dir + "/main.rules";

  absl::Mutex mu;
  // Live versions: version -> the live_* rule it has ("" for the initial policy).
  std::map<std::string, std::string> versions;
  versions[client.PolicyVersion()] = "";
  ASSERT_EQ(versions.size(), 1u);

  std::atomic<bool> stop{false};
  std::atomic<int> unary_answered{0};
  std::atomic<int> failures{0};
  Answers answers;
  // The clean note is decided by the version marker only; the crypto note also flags (dry run
  // so the store does not grow; a few real flags go through the flag path too).
  const std::string clean = Activity("clean-note.json", 1001);
  auto check = [&](const v1::EvaluateResponse& r, bool flagging) {
    if (r.has_error()) {
      ++failures;
      ADD_FAILURE() << "item error: " << r.ShortDebugString();
      return;
    }
    if (flagging && r.verdict() != v1::VERDICT_FLAG && r.verdict() != v1::VERDICT_REJECT) {
      ADD_FAILURE() << "the crypto note was not flagged: " << r.ShortDebugString();
    }
    answers.Add(r, flagging);
  };

  std::vector<std::thread> threads;
  std::atomic<int64_t> number{5'000'000};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const bool flagging = i % 3 == 0;
        const bool store = flagging && i % 30 == 0;
        v1::EvaluateResponse r;
        grpc::Status status = client.Evaluate(
            Request("u" + std::to_string(t) + "-" + std::to_string(i),
                    flagging ? Activity("free-crypto-note.json", number++) : clean, !store),
            &r);
        if (!status.ok()) {
          ++failures;
          ADD_FAILURE() << "Evaluate failed: " << IsOk(status).message();
          continue;
        }
        check(r, flagging);
        ++unary_answered;
      }
    });
  }

  // The stream: a writer that never pauses (but for flow control) and a reader.
  grpc::ClientContext stream_context;
  Prepare(&stream_context, std::chrono::seconds(120));
  auto stream = client.policy()->EvaluateStream(&stream_context);
  std::atomic<int> written{0};
  std::set<std::string> unanswered;  // guarded by mu
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      const std::string id = "s" + std::to_string(i);
      const bool flagging = i % 4 == 0;
      {
        absl::MutexLock lock(&mu);
        unanswered.insert(id);
      }
      if (!stream->Write(Request(id, flagging ? Activity("free-crypto-note.json", number++) : clean,
                                 /*dry_run=*/true))) {
        ADD_FAILURE() << "stream write " << id << " failed";
        break;
      }
      ++written;
    }
    stream->WritesDone();
  });
  std::atomic<int> streamed{0};
  std::thread reader([&] {
    v1::EvaluateResponse r;
    while (stream->Read(&r)) {
      const bool flagging = std::stoi(r.request_id().substr(1)) % 4 == 0;
      {
        absl::MutexLock lock(&mu);
        if (unanswered.erase(r.request_id()) == 0) {
          ADD_FAILURE() << "unexpected or repeated response " << r.request_id();
        }
      }
      check(r, flagging);
      ++streamed;
    }
  });

  // The reloader: valid and broken versions in turn, a ReloadPolicy after each write.
  const absl::Time end = absl::Now() + duration;
  int reloads_ok = 0, reloads_refused = 0;
  for (int k = 1; absl::Now() < end; ++k) {
    const bool valid = k % 2 == 1;
    WriteFileAtomically(main_rules, valid ? ValidVersion(base, k) : BrokenVersion(base, k),
                        scratch);
    v1::ReloadPolicyResponse r;
    grpc::Status status =
        client.Admin(&v1::AdminService::Stub::ReloadPolicy, v1::ReloadPolicyRequest(), &r);
    ASSERT_TRUE(IsOk(status)) << "ReloadPolicy " << k;
    if (valid) {
      EXPECT_TRUE(r.ok()) << "version " << k << ": " << r.ShortDebugString();
      absl::MutexLock lock(&mu);
      auto [it, inserted] = versions.emplace(r.version(), "live_" + std::to_string(k));
      EXPECT_TRUE(inserted || it->second == "live_" + std::to_string(k))
          << "version " << r.version() << " for two policies";
      ++reloads_ok;
    } else {
      EXPECT_FALSE(r.ok()) << "a broken version " << k << " was accepted";
      absl::MutexLock lock(&mu);
      EXPECT_TRUE(versions.count(r.version())) << "refused reload reports a version never live";
      ++reloads_refused;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  stop = true;
  writer.join();
  reader.join();
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(IsOk(stream->Finish())) << "the stream";

  EXPECT_EQ(failures, 0);
  EXPECT_GE(reloads_ok, 10);
  EXPECT_GE(reloads_refused, 10);
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(unanswered, IsEmpty()) << "stream requests without an answer";
  }
  EXPECT_EQ(streamed, written);
  EXPECT_GT(streamed, 100);
  EXPECT_GT(unary_answered, 100);

  // Every answer came from a live version, and was that version's decision.
  int total = 0, from_reloaded = 0;
  std::set<std::string> versions_answering;
  for (const auto& [key, count] : answers.seen()) {
    const auto& [version, marker, crypto] = key;
    total += count;
    auto it = versions.find(version);
    if (it == versions.end()) {
      ADD_FAILURE() << count << " answers carry version \"" << version
                    << "\", which was never live";
      continue;
    }
    versions_answering.insert(version);
    if (!it->second.empty()) from_reloaded += count;
    // The clean note fires exactly the marker of the version that answered; the crypto note
    // has no "garden club", so no marker.
    const std::string expected = crypto ? "" : it->second;
    EXPECT_EQ(marker, expected) << count << " answers of version " << version
                                << (crypto ? " to the crypto note" : " to the clean note");
  }
  EXPECT_EQ(total, unary_answered + streamed);
  EXPECT_GT(from_reloaded, 0);
  std::cerr << total << " answers (" << unary_answered << " unary, " << streamed
            << " streamed) from " << versions_answering.size() << " versions; " << reloads_ok
            << " reloads, " << reloads_refused << " refused\n";
}

TEST_F(ReliabilityTest, ReloadUnderLoadAnswersEveryRequestFromALiveVersion) {
  FedwalldProcess* server = Start({"--no-watch"});
  ASSERT_NE(server, nullptr);
  RunReloadUnderLoad(server, policy_dir_, dir_ + "/main.rules.next", absl::Seconds(6));
}

TEST_F(ReliabilityTest, ReloadUnderLoadWithTheWatcherToo) {
  FedwalldProcess* server = Start();
  ASSERT_NE(server, nullptr);
  RunReloadUnderLoad(server, policy_dir_, dir_ + "/main.rules.next", absl::Seconds(5));
}

}  // namespace
}  // namespace fedwall::testing
