// The behaviour every ReviewStore shares, run against both implementations: SQLite (a file in
// a temporary directory) and PostgreSQL (a fresh database on the test process's own server,
// review_store_testing.h). Tests of one implementation only are in sqlite_review_store_test.cc
// and postgres_review_store_test.cc.
#include "service/store/review_store.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/store/review_store_testing.h"

namespace fedwall::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Limits = ReviewStoreLimits;
using testing::Block;
using testing::ExpectSameData;
using testing::Ids;
using testing::MakeFlag;
using testing::T;

enum class Backend { kSqlite, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

class ReviewStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "review_store_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    if (GetParam() == Backend::kSqlite) {
      target_ = dir_ + "/fedwall.db";
    } else {
      // Fails (never skips) when the server cannot be started: the set-up installs it.
      absl::StatusOr<std::string> url = testing::NewPostgresDatabase();
      ASSERT_TRUE(url.ok()) << url.status();
      target_ = *url;
    }
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = Open();
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Another store on the same data: a restart, or a second node.
  absl::StatusOr<std::unique_ptr<ReviewStore>> Open() {
    if (GetParam() == Backend::kSqlite) return OpenSqliteStore(target_, {.full_sync = false});
    return OpenPostgresStore(target_);
  }

  // Adds flags and returns their ids.
  std::vector<std::string> Add(const std::vector<NewFlag>& flags) {
    absl::StatusOr<std::vector<AddedFlag>> added = store_->AddFlags(flags);
    EXPECT_TRUE(added.ok()) << added.status();
    std::vector<std::string> ids;
    if (added.ok()) {
      for (const AddedFlag& a : *added) ids.push_back(a.id);
    }
    return ids;
  }
  FlagPage List(const FlagQuery& q) {
    absl::StatusOr<FlagPage> page = store_->ListFlags(q);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *std::move(page) : FlagPage{};
  }

  std::string dir_;
  std::string target_;  // the SQLite path or the PostgreSQL URL
  std::unique_ptr<ReviewStore> store_;
};

TEST(ReviewStoreNamesTest, FlagStatusNames) {
  EXPECT_STREQ(FlagStatusName(FlagStatus::kPending), "pending");
  EXPECT_STREQ(FlagStatusName(FlagStatus::kApproved), "approved");
  EXPECT_STREQ(FlagStatusName(FlagStatus::kRemoved), "removed");
  EXPECT_STREQ(FlagStatusName(static_cast<FlagStatus>(9)), "unknown");
}

TEST_P(ReviewStoreTest, AddListGetResolveRoundTrip) {
  NewFlag f = MakeFlag(1, "b.example", {"spam", "slur", "spam"});
  f.matches = std::string("\0a\0\xff\x01", 5);
  f.activity_json = std::string("{\"x\":\"\0\"}", 9);
  f.score_milli = -7;
  f.created_at = absl::FromUnixMicros(1'712'345'678'901'234);
  NewFlag no_id = MakeFlag(2);
  no_id.activity_id.clear();
  no_id.actor.clear();
  no_id.rule_ids.clear();
  no_id.matches.clear();

  absl::StatusOr<std::vector<AddedFlag>> added = store_->AddFlags(std::vector{f, no_id});
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_EQ(added->size(), 2u);
  EXPECT_FALSE((*added)[0].existed);
  EXPECT_FALSE((*added)[1].existed);
  EXPECT_NE((*added)[0].id, (*added)[1].id);

  absl::StatusOr<Flag> got = store_->GetFlag((*added)[0].id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, (*added)[0].id);
  EXPECT_EQ(got->status, FlagStatus::kPending);
  EXPECT_FALSE(got->resolved_at.has_value());
  EXPECT_EQ(got->moderator, "");
  EXPECT_EQ(got->note, "");
  ExpectSameData(f, got->data);
  EXPECT_EQ(got->data.matches.size(), 5u);

  absl::StatusOr<Flag> got2 = store_->GetFlag((*added)[1].id);
  ASSERT_TRUE(got2.ok()) << got2.status();
  ExpectSameData(no_id, got2->data);

  FlagPage page = List({});
  ASSERT_EQ(page.flags.size(), 2u);
  EXPECT_EQ(page.next_page_token, "");
  EXPECT_EQ(page.flags[0].id, (*added)[0].id);  // oldest first
  ExpectSameData(f, page.flags[0].data);
  ExpectSameData(no_id, page.flags[1].data);

  FlagPage lean = List({.include_activity = false});
  ASSERT_EQ(lean.flags.size(), 2u);
  ExpectSameData(f, lean.flags[0].data, /*with_activity=*/false);

  const absl::Time at = absl::FromUnixMicros(1'712'345'999'000'001);
  absl::StatusOr<Flag> resolved = store_->ResolveFlag({.id = (*added)[0].id,
                                                       .status = FlagStatus::kRemoved,
                                                       .moderator = "mod@example",
                                                       .note = "gone\nfor good",
                                                       .at = at});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->status, FlagStatus::kRemoved);
  EXPECT_EQ(resolved->resolved_at, at);
  EXPECT_EQ(resolved->moderator, "mod@example");
  EXPECT_EQ(resolved->note, "gone\nfor good");
  ExpectSameData(f, resolved->data);

  got = store_->GetFlag((*added)[0].id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, FlagStatus::kRemoved);
  EXPECT_EQ(got->resolved_at, at);
  EXPECT_EQ(got->moderator, "mod@example");
  EXPECT_EQ(got->note, "gone\nfor good");
}

TEST_P(ReviewStoreTest, EmptyAddIsANoop) {
  absl::StatusOr<std::vector<AddedFlag>> added = store_->AddFlags({});
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_TRUE(added->empty());
  EXPECT_TRUE(List({}).flags.empty());
}

TEST_P(ReviewStoreTest, DedupAcrossCallsAndWithinOneCall) {
  const std::vector<std::string> first = Add({MakeFlag(1), MakeFlag(2)});
  ASSERT_EQ(first.size(), 2u);

  NewFlag again = MakeFlag(1);
  again.matches = "different";
  NewFlag no_id_a = MakeFlag(10);
  no_id_a.activity_id.clear();
  NewFlag no_id_b = MakeFlag(11);
  no_id_b.activity_id.clear();
  absl::StatusOr<std::vector<AddedFlag>> added =
      store_->AddFlags(std::vector{again, MakeFlag(3), MakeFlag(3), no_id_a, no_id_b, MakeFlag(2)});
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_EQ(added->size(), 6u);
  EXPECT_TRUE((*added)[0].existed);
  EXPECT_EQ((*added)[0].id, first[0]);
  EXPECT_FALSE((*added)[1].existed);
  EXPECT_TRUE((*added)[2].existed);  // same id earlier in this call
  EXPECT_EQ((*added)[2].id, (*added)[1].id);
  EXPECT_FALSE((*added)[3].existed);  // no activity id: never deduplicated
  EXPECT_FALSE((*added)[4].existed);
  EXPECT_NE((*added)[3].id, (*added)[4].id);
  EXPECT_TRUE((*added)[5].existed);
  EXPECT_EQ((*added)[5].id, first[1]);

  EXPECT_EQ(List({}).flags.size(), 5u);
  absl::StatusOr<Flag> kept = store_->GetFlag(first[0]);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->data.matches, "m1");  // the first one stays
}

TEST_P(ReviewStoreTest, Filters) {
  // 0: a/spam  1: a/slur  2: b/spam+slur  3: b/other  4: a/spam
  const std::vector<std::string> ids = Add({
      MakeFlag(0, "a.example", {"spam"}),
      MakeFlag(1, "a.example", {"slur"}),
      MakeFlag(2, "b.example", {"spam", "slur"}),
      MakeFlag(3, "b.example", {"other"}),
      MakeFlag(4, "a.example", {"spam"}),
  });
  ASSERT_EQ(ids.size(), 5u);
  ASSERT_TRUE(store_->ResolveFlag({.id = ids[2], .status = FlagStatus::kApproved}).ok());
  ASSERT_TRUE(store_->ResolveFlag({.id = ids[4], .status = FlagStatus::kRemoved}).ok());

  EXPECT_THAT(Ids(List({.status = FlagStatus::kPending})), ElementsAre(ids[0], ids[1], ids[3]));
  EXPECT_THAT(Ids(List({.status = FlagStatus::kApproved})), ElementsAre(ids[2]));
  EXPECT_THAT(Ids(List({.status = FlagStatus::kRemoved})), ElementsAre(ids[4]));
  EXPECT_THAT(Ids(List({.rule_id = "spam"})), ElementsAre(ids[0], ids[2], ids[4]));
  EXPECT_THAT(Ids(List({.rule_id = "slur"})), ElementsAre(ids[1], ids[2]));
  EXPECT_THAT(Ids(List({.rule_id = "nope"})), ElementsAre());
  EXPECT_THAT(Ids(List({.domain = "b.example"})), ElementsAre(ids[2], ids[3]));
  EXPECT_THAT(Ids(List({.domain = "B.example"})), ElementsAre());  // exact
  EXPECT_THAT(Ids(List({.status = FlagStatus::kPending, .rule_id = "spam"})), ElementsAre(ids[0]));
  EXPECT_THAT(Ids(List({.rule_id = "spam", .domain = "a.example"})), ElementsAre(ids[0], ids[4]));
  EXPECT_THAT(Ids(List({.status = FlagStatus::kPending, .domain = "b.example"})),
              ElementsAre(ids[3]));
  EXPECT_THAT(
      Ids(List({.status = FlagStatus::kApproved, .rule_id = "slur", .domain = "b.example"})),
      ElementsAre(ids[2]));
  EXPECT_THAT(Ids(List({.status = FlagStatus::kPending, .rule_id = "slur", .domain = "b.example"})),
              ElementsAre());

  absl::StatusOr<FlagPage> bad = store_->ListFlags({.status = static_cast<FlagStatus>(7)});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(ReviewStoreTest, PagesThroughEverythingOnce) {
  std::vector<NewFlag> flags;
  for (int i = 0; i < 250; ++i) {
    flags.push_back(MakeFlag(i, "a.example", {i % 2 == 0 ? "even" : "odd"}));
  }
  const std::vector<std::string> ids = Add(flags);
  ASSERT_EQ(ids.size(), 250u);

  std::vector<std::string> seen;
  std::vector<size_t> sizes;
  FlagQuery q{.page_size = 100};
  do {
    absl::StatusOr<FlagPage> page = store_->ListFlags(q);
    ASSERT_TRUE(page.ok()) << page.status();
    sizes.push_back(page->flags.size());
    for (const Flag& f : page->flags) seen.push_back(f.id);
    q.page_token = page->next_page_token;
    ASSERT_LT(sizes.size(), 10u);
  } while (!q.page_token.empty());
  EXPECT_THAT(sizes, ElementsAre(100, 100, 50));
  EXPECT_EQ(seen, ids);  // no gaps, no duplicates, in order
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 250u);

  // With a filter, and a page size that divides the count exactly: the last page is full
  // and still has an empty token only when nothing follows.
  std::vector<std::string> odd;
  q = {.rule_id = "odd", .page_size = 25, .include_activity = false};
  int pages = 0;
  do {
    FlagPage page = List(q);
    for (const Flag& f : page.flags) {
      EXPECT_TRUE(f.data.activity_json.empty());
      odd.push_back(f.id);
    }
    q.page_token = page.next_page_token;
    ASSERT_LT(++pages, 20);
  } while (!q.page_token.empty());
  EXPECT_EQ(pages, 5);
  ASSERT_EQ(odd.size(), 125u);
  for (size_t i = 0; i < odd.size(); ++i) EXPECT_EQ(odd[i], ids[2 * i + 1]);
}

TEST_P(ReviewStoreTest, PageSizeDefaultAndCap) {
  std::vector<NewFlag> flags;
  for (int i = 0; i < 1100; ++i) {
    NewFlag f;
    f.created_at = T(i);
    flags.push_back(std::move(f));
  }
  ASSERT_EQ(Add(flags).size(), 1100u);
  EXPECT_EQ(List({}).flags.size(), 50u);
  EXPECT_EQ(List({.page_size = 0}).flags.size(), 50u);
  EXPECT_EQ(List({.page_size = -3}).flags.size(), 50u);
  EXPECT_EQ(List({.page_size = 1000000}).flags.size(), 1000u);
  FlagPage page = List({.page_size = 1100});
  EXPECT_EQ(page.flags.size(), 1000u);
  EXPECT_FALSE(page.next_page_token.empty());
}

TEST_P(ReviewStoreTest, LargePagesStopEarly) {
  // Three flags of 5/8 of the page budget: the page stops once it holds the budget.
  std::vector<NewFlag> flags;
  for (int i = 0; i < 3; ++i) {
    flags.push_back(MakeFlag(i));
    flags.back().activity_json.assign(Limits::kMaxPageBytes / 8 * 5, 'x');
  }
  const std::vector<std::string> ids = Add(flags);
  ASSERT_EQ(ids.size(), 3u);
  FlagPage page = List({.page_size = 10});
  EXPECT_THAT(Ids(page), ElementsAre(ids[0], ids[1]));
  ASSERT_FALSE(page.next_page_token.empty());
  page = List({.page_size = 10, .page_token = page.next_page_token});
  EXPECT_THAT(Ids(page), ElementsAre(ids[2]));
  EXPECT_EQ(page.next_page_token, "");
  // Without the activities they all fit.
  EXPECT_EQ(List({.page_size = 10, .include_activity = false}).flags.size(), 3u);
}

TEST_P(ReviewStoreTest, BadPageTokens) {
  std::vector<NewFlag> flags;
  for (int i = 0; i < 5; ++i) flags.push_back(MakeFlag(i, "a.example", {"r"}));
  Add(flags);
  FlagPage page = List({.page_size = 2});
  ASSERT_FALSE(page.next_page_token.empty());

  for (const std::string& token :
       {std::string("garbage"), std::string("p2"), std::string("2"), page.next_page_token + "A",
        page.next_page_token.substr(1), std::string(1000, 'A'), std::string("\0\xff", 2)}) {
    absl::StatusOr<FlagPage> bad = store_->ListFlags({.page_token = token});
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << token;
  }
  // A token continues only the listing it was made for.
  absl::StatusOr<FlagPage> other =
      store_->ListFlags({.rule_id = "r", .page_token = page.next_page_token});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("filters"));
  // page_size and include_activity may change.
  absl::StatusOr<FlagPage> next = store_->ListFlags(
      {.page_size = 10, .page_token = page.next_page_token, .include_activity = false});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->flags.size(), 3u);
}

TEST_P(ReviewStoreTest, UnknownIdsAreNotFound) {
  const std::vector<std::string> ids = Add({MakeFlag(1)});
  ASSERT_EQ(ids, std::vector<std::string>{"1"});
  for (const char* id : {"2", "0", "01", "+1", "-1", "", "abc", "1 ", "99999999999999999999",
                         "9223372036854775807"}) {
    EXPECT_EQ(store_->GetFlag(id).status().code(), absl::StatusCode::kNotFound) << id;
    EXPECT_EQ(store_->ResolveFlag({.id = id}).status().code(), absl::StatusCode::kNotFound) << id;
  }
  EXPECT_THAT(store_->GetFlag("2").status().message(), HasSubstr("\"2\""));
}

TEST_P(ReviewStoreTest, ResolveTwiceLastDecisionWins) {
  const std::vector<std::string> ids = Add({MakeFlag(1)});
  ASSERT_EQ(ids.size(), 1u);
  absl::StatusOr<Flag> r = store_->ResolveFlag(
      {.id = ids[0], .status = FlagStatus::kRemoved, .moderator = "a", .note = "x", .at = T(5)});
  ASSERT_TRUE(r.ok()) << r.status();
  r = store_->ResolveFlag(
      {.id = ids[0], .status = FlagStatus::kApproved, .moderator = "b", .note = "", .at = T(9)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, FlagStatus::kApproved);
  EXPECT_EQ(r->moderator, "b");
  EXPECT_EQ(r->note, "");
  EXPECT_EQ(r->resolved_at, T(9));

  EXPECT_EQ(store_->ResolveFlag({.id = ids[0], .status = FlagStatus::kPending}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store_->ResolveFlag({.id = ids[0], .status = static_cast<FlagStatus>(0)}).status().code(),
      absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Flag> got = store_->GetFlag(ids[0]);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, FlagStatus::kApproved);
}

TEST_P(ReviewStoreTest, DomainBlocks) {
  absl::StatusOr<std::vector<DomainBlock>> listed = store_->ListDomainBlocks();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());

  DomainBlock c = Block("c.example", BlockSeverity::kSilence, 1);
  c.reject_media = true;
  c.public_comment = "spam";
  c.private_comment = "see ticket 7";
  const DomainBlock a = Block("a.example", BlockSeverity::kSuspend, 1);
  absl::StatusOr<PutBlocksResult> put = store_->PutDomainBlocks(std::vector{c, a}, false);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->added, 2u);
  EXPECT_EQ(put->changed, 0u);
  EXPECT_EQ(put->unchanged, 0u);
  EXPECT_THAT(put->stored, ElementsAre(c, a));

  listed = store_->ListDomainBlocks();
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre(a, c));  // sorted by domain

  // Without replace: never weakened. A weaker block with empty comments changes nothing and
  // keeps the stored updated_at.
  put = store_->PutDomainBlocks(std::vector{Block("c.example", BlockSeverity::kNoop, 2)}, false);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->unchanged, 1u);
  EXPECT_EQ(put->added + put->changed, 0u);
  EXPECT_THAT(put->stored, ElementsAre(c));

  // Stronger severity, one more flag, a new public comment: changed, merged.
  DomainBlock stronger = Block("c.example", BlockSeverity::kSuspend, 3);
  stronger.reject_reports = true;
  stronger.public_comment = "worse";
  put = store_->PutDomainBlocks(std::vector{stronger}, false);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->changed, 1u);
  DomainBlock merged = c;
  merged.severity = BlockSeverity::kSuspend;
  merged.reject_reports = true;
  merged.public_comment = "worse";
  merged.updated_at = T(3);
  EXPECT_THAT(put->stored, ElementsAre(merged));

  // With replace: the new block wins, weaker or not.
  const DomainBlock weaker = Block("c.example", BlockSeverity::kNoop, 4);
  put = store_->PutDomainBlocks(std::vector{weaker, a, Block("b.example", BlockSeverity::kNoop, 4)},
                                true);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->changed, 1u);
  EXPECT_EQ(put->unchanged, 1u);  // `a` is equal to what is stored
  EXPECT_EQ(put->added, 1u);
  EXPECT_EQ(put->stored[0], weaker);

  // The same domain twice in one call: the second sees the first.
  put = store_->PutDomainBlocks(std::vector{Block("d.example", BlockSeverity::kSilence, 5),
                                            Block("d.example", BlockSeverity::kNoop, 6)},
                                false);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->added, 1u);
  EXPECT_EQ(put->unchanged, 1u);
  EXPECT_EQ(put->stored[1].severity, BlockSeverity::kSilence);

  listed = store_->ListDomainBlocks();
  ASSERT_TRUE(listed.ok());
  std::vector<std::string> domains;
  for (const DomainBlock& b : *listed) domains.push_back(b.domain);
  EXPECT_THAT(domains, ElementsAre("a.example", "b.example", "c.example", "d.example"));
  EXPECT_EQ((*listed)[2], weaker);

  absl::StatusOr<bool> deleted = store_->DeleteDomainBlock("b.example");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  deleted = store_->DeleteDomainBlock("b.example");
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
  deleted = store_->DeleteDomainBlock("never.example");
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
  listed = store_->ListDomainBlocks();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 3u);
}

TEST_P(ReviewStoreTest, SurvivesReopening) {
  store_.reset();
  NewFlag f = MakeFlag(1, "a.example", {"x", "y"});
  f.matches = std::string("\0\0\x7f", 3);
  DomainBlock block = Block("evil.example", BlockSeverity::kSuspend, 3);
  block.reject_media = true;
  block.private_comment = "private";
  std::string id;
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = Open();
    ASSERT_TRUE(s.ok()) << s.status();
    absl::StatusOr<std::vector<AddedFlag>> added = (*s)->AddFlags(std::vector{f, MakeFlag(2)});
    ASSERT_TRUE(added.ok()) << added.status();
    id = (*added)[0].id;
    ASSERT_TRUE((*s)->ResolveFlag({.id = id,
                                   .status = FlagStatus::kRemoved,
                                   .moderator = "m",
                                   .note = "n",
                                   .at = T(7)})
                    .ok());
    ASSERT_TRUE((*s)->PutDomainBlocks(std::vector{block}, false).ok());
  }
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = Open();
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<Flag> got = (*s)->GetFlag(id);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameData(f, got->data);
  EXPECT_EQ(got->status, FlagStatus::kRemoved);
  EXPECT_EQ(got->resolved_at, T(7));
  EXPECT_EQ(got->moderator, "m");
  EXPECT_EQ(got->note, "n");
  absl::StatusOr<FlagPage> page = (*s)->ListFlags({.rule_id = "y"});
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(Ids(*page), ElementsAre(id));
  absl::StatusOr<std::vector<DomainBlock>> blocks = (*s)->ListDomainBlocks();
  ASSERT_TRUE(blocks.ok());
  EXPECT_THAT(*blocks, ElementsAre(block));
  // Dedup holds across restarts; new ids keep growing.
  absl::StatusOr<std::vector<AddedFlag>> again = (*s)->AddFlags(std::vector{f, MakeFlag(3)});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].existed);
  EXPECT_EQ((*again)[0].id, id);
  EXPECT_EQ((*again)[1].id, "3");
}

TEST_P(ReviewStoreTest, HeldRequestsAreKeptWithTheirFlagAndTheirFate) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = Open();
  ASSERT_TRUE(s.ok()) << s.status();
  NewFlag held = MakeFlag(1);
  held.held_request = std::string("POST /inbox HTTP/1.1\r\nHost: a\r\n\r\n{\0}", 37);
  held.deliver_before = T(43'200'000'000);
  NewFlag plain = MakeFlag(2);
  absl::StatusOr<std::vector<AddedFlag>> added = (*s)->AddFlags(std::vector<NewFlag>{held, plain});
  ASSERT_TRUE(added.ok()) << added.status();
  const std::string held_id = (*added)[0].id, plain_id = (*added)[1].id;

  absl::StatusOr<Flag> got = (*s)->GetFlag(held_id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->held.has_value());
  EXPECT_EQ(got->held->deliver_before, held.deliver_before);
  EXPECT_EQ(got->held->state, HeldState::kHeld);
  EXPECT_FALSE((*s)->GetFlag(plain_id)->held.has_value());
  EXPECT_EQ(*(*s)->GetHeldRequest(held_id), held.held_request);  // bytes exactly, NUL included
  EXPECT_EQ((*s)->GetHeldRequest(plain_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*s)->GetHeldRequest("nope").status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(
      (*s)->SetHeldState(held_id, HeldState::kFailed, "the server answered 401", T(5)).ok());
  FlagQuery q;
  q.include_activity = false;
  absl::StatusOr<FlagPage> page = (*s)->ListFlags(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->flags.size(), 2u);
  ASSERT_TRUE(page->flags[0].held.has_value());
  EXPECT_EQ(page->flags[0].held->state, HeldState::kFailed);
  EXPECT_EQ(page->flags[0].held->detail, "the server answered 401");
  EXPECT_EQ((*s)->SetHeldState(plain_id, HeldState::kDropped, "", T(6)).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(HeldStateName(HeldState::kExpired)), "expired");

  NewFlag huge = MakeFlag(3);
  huge.held_request.assign(ReviewStoreLimits::kMaxHeldRequestBytes + 1, 'x');
  EXPECT_EQ((*s)->AddFlags({&huge, 1}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(ReviewStoreTest, AHeldRequestIsClaimedOnceAndACopyJoinsAFlagWithoutOne) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = Open();
  ASSERT_TRUE(s.ok()) << s.status();
  NewFlag plain = MakeFlag(1);  // flagged through the API: nothing held
  const std::string id = (*(*s)->AddFlags({&plain, 1}))[0].id;
  NewFlag copy = MakeFlag(1);  // the same activity, then held by the gateway
  copy.held_request = "POST /inbox HTTP/1.1\r\n\r\n";
  copy.deliver_before = T(1000);
  absl::StatusOr<std::vector<AddedFlag>> added = (*s)->AddFlags({&copy, 1});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ((*added)[0].id, id);
  EXPECT_TRUE((*added)[0].existed);
  EXPECT_TRUE((*added)[0].held);
  NewFlag again = copy;  // a second copy: the flag already holds one
  again.held_request = "POST /users/b/inbox HTTP/1.1\r\n\r\n";
  EXPECT_FALSE((*(*s)->AddFlags({&again, 1}))[0].held);
  EXPECT_EQ(*(*s)->GetHeldRequest(id), copy.held_request);

  EXPECT_TRUE(*(*s)->ClaimHeld(id, T(10), T(0)));
  EXPECT_FALSE(*(*s)->ClaimHeld(id, T(11), T(0)));  // someone delivers already
  EXPECT_EQ((*s)->GetFlag(id)->held->state, HeldState::kDelivering);
  EXPECT_TRUE(*(*s)->ClaimHeld(id, T(100), T(50)));  // ... but never reported back
  ASSERT_TRUE((*s)->SetHeldState(id, HeldState::kDelivered, "", T(101)).ok());
  EXPECT_FALSE(*(*s)->ClaimHeld(id, T(200), T(1000)));  // settled for good
  EXPECT_EQ(*(*s)->GetHeldRequest(id), "");             // and its bytes are freed
  EXPECT_EQ((*s)->ClaimHeld("nope", T(1), T(0)).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ReviewStoreTest, ConcurrentWritersAndReaders) {
  store_.reset();
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = Open();
  ASSERT_TRUE(s.ok()) << s.status();
  ReviewStore* store = s->get();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([store, t, &ids] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<std::vector<AddedFlag>> added =
            store->AddFlags(std::vector{MakeFlag(t * kPerThread + i, absl::StrCat("d", t))});
        if (!added.ok() || added->size() != 1 || (*added)[0].existed) {
          ADD_FAILURE() << "thread " << t << ": " << added.status();
          return;
        }
        ids[t].push_back((*added)[0].id);
      }
    });
  }
  std::thread reader([store] {
    for (int i = 0; i < 50; ++i) {
      absl::StatusOr<FlagPage> page = store->ListFlags({.page_size = 20});
      if (!page.ok()) ADD_FAILURE() << page.status();
      absl::StatusOr<std::vector<DomainBlock>> blocks = store->ListDomainBlocks();
      if (!blocks.ok()) ADD_FAILURE() << blocks.status();
    }
  });
  for (std::thread& t : threads) t.join();
  reader.join();

  std::set<std::string> all;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(ids[t].size(), static_cast<size_t>(kPerThread));
    all.insert(ids[t].begin(), ids[t].end());
    // A thread's flags got growing ids.
    for (int i = 1; i < kPerThread; ++i) {
      EXPECT_LT(std::stoll(ids[t][i - 1]), std::stoll(ids[t][i]));
    }
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  absl::StatusOr<FlagPage> page = store->ListFlags({.page_size = 1000});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->flags.size(), static_cast<size_t>(kThreads * kPerThread));
  absl::StatusOr<FlagPage> one = store->ListFlags({.domain = "d2", .page_size = 1000});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(Ids(*one), ids[2]);
}

TEST_P(ReviewStoreTest, FlagLimits) {
  auto add_one = [this](const NewFlag& f) { return store_->AddFlags({&f, 1}).status(); };
  NewFlag f = MakeFlag(1);
  f.activity_json.assign(Limits::kMaxActivityJsonBytes, 'j');
  ASSERT_OK(add_one(f));
  f = MakeFlag(2);
  f.activity_json.assign(Limits::kMaxActivityJsonBytes + 1, 'j');
  absl::Status s = add_one(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("flags[0].activity_json"));

  f = MakeFlag(3);
  f.matches.assign(Limits::kMaxMatchesBytes + 1, 'm');
  EXPECT_EQ(add_one(f).code(), absl::StatusCode::kInvalidArgument);

  f = MakeFlag(4);
  f.rule_ids.assign(Limits::kMaxRuleIds, "r");
  ASSERT_OK(add_one(f));
  f = MakeFlag(5);
  f.rule_ids.assign(Limits::kMaxRuleIds + 1, "r");
  s = add_one(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("rule_ids"));

  const std::string at_limit(Limits::kMaxStringBytes, 's');
  const std::string too_long(Limits::kMaxStringBytes + 1, 's');
  f = MakeFlag(6);
  f.actor = at_limit;
  f.actor_domain = at_limit;
  f.policy_version = at_limit;
  f.rule_ids = {at_limit};
  ASSERT_OK(add_one(f));
  for (std::string NewFlag::*field :
       {&NewFlag::activity_id, &NewFlag::actor, &NewFlag::actor_domain, &NewFlag::policy_version}) {
    f = MakeFlag(7);
    f.*field = too_long;
    EXPECT_EQ(add_one(f).code(), absl::StatusCode::kInvalidArgument);
  }
  f = MakeFlag(8);
  f.rule_ids = {"ok", too_long};
  s = add_one(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("rule_ids[1]"));

  // One bad flag refuses the whole call: nothing of it is stored.
  const size_t before = List({.page_size = 1000}).flags.size();
  NewFlag bad = MakeFlag(9);
  bad.actor = too_long;
  s = store_->AddFlags(std::vector{MakeFlag(10), bad}).status();
  EXPECT_THAT(s.message(), HasSubstr("flags[1].actor"));
  EXPECT_EQ(List({.page_size = 1000}).flags.size(), before);

  std::vector<NewFlag> many(Limits::kMaxFlagsPerCall + 1);
  EXPECT_EQ(store_->AddFlags(many).status().code(), absl::StatusCode::kInvalidArgument);

  // Query and resolution strings.
  EXPECT_EQ(store_->ListFlags({.rule_id = too_long}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ListFlags({.domain = too_long}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ResolveFlag({.id = "1", .moderator = too_long}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ResolveFlag({.id = "1", .note = too_long}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->ResolveFlag({.id = "1", .moderator = at_limit, .note = at_limit}).ok());
}

TEST_P(ReviewStoreTest, BlockLimits) {
  const std::string too_long(Limits::kMaxStringBytes + 1, 's');
  auto put = [this](const DomainBlock& b) {
    return store_->PutDomainBlocks({&b, 1}, false).status().code();
  };
  DomainBlock b = Block("a.example", BlockSeverity::kSuspend, 1);
  b.public_comment = too_long;
  EXPECT_EQ(put(b), absl::StatusCode::kInvalidArgument);
  b = Block("a.example", BlockSeverity::kSuspend, 1);
  b.private_comment = too_long;
  EXPECT_EQ(put(b), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(put(Block(too_long, BlockSeverity::kSuspend, 1)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(put(Block("", BlockSeverity::kSuspend, 1)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(put(Block("a.example", static_cast<BlockSeverity>(0), 1)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(put(Block("a.example", static_cast<BlockSeverity>(4), 1)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->DeleteDomainBlock(too_long).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<DomainBlock> many(Limits::kMaxBlocksPerCall + 1);
  EXPECT_EQ(store_->PutDomainBlocks(many, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<DomainBlock>> listed = store_->ListDomainBlocks();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TEST_P(ReviewStoreTest, AnyBytesAreKeptExactly) {
  // Strings are bytes: NUL, invalid UTF-8 and upper case survive unchanged, in every field.
  const std::string odd("a\0b\xff\xfe\xc3(", 7);
  const std::string odd_domain("b\xff\xfe\xc3(", 5);  // domains never hold a NUL
  NewFlag f = MakeFlag(1);
  f.activity_id = "id:" + odd;
  f.actor = "actor:" + odd;
  f.actor_domain = "D." + odd_domain;
  f.rule_ids = {odd, "", "R"};
  f.policy_version = odd;
  f.held_request = odd;
  const std::vector<std::string> ids = Add({f});
  ASSERT_EQ(ids.size(), 1u);
  absl::StatusOr<Flag> got = store_->GetFlag(ids[0]);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameData(f, got->data);
  EXPECT_THAT(Ids(List({.rule_id = odd})), ElementsAre(ids[0]));
  EXPECT_THAT(Ids(List({.domain = odd_domain})), ElementsAre(ids[0]));  // a subdomain of it
  EXPECT_EQ(*store_->GetHeldRequest(ids[0]), odd);
  absl::StatusOr<Flag> resolved = store_->ResolveFlag(
      {.id = ids[0], .status = FlagStatus::kApproved, .moderator = odd, .note = odd, .at = T(2)});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->moderator, odd);
  EXPECT_EQ(resolved->note, odd);
  absl::StatusOr<std::vector<AddedFlag>> again = store_->AddFlags({&f, 1});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].existed);

  DomainBlock b = Block(odd_domain, BlockSeverity::kSilence, 1);
  b.public_comment = odd;
  b.private_comment = odd;
  ASSERT_TRUE(store_->PutDomainBlocks({&b, 1}, false).ok());
  absl::StatusOr<std::vector<DomainBlock>> listed = store_->ListDomainBlocks();
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre(b));
  EXPECT_TRUE(*store_->DeleteDomainBlock(odd_domain));
}

TEST_P(ReviewStoreTest, BlocksSortByBytes) {
  std::vector<DomainBlock> blocks;
  for (const char* d :
       {"b.example", "B.example", "a.example", "\xc3\xa9.example", "_.example", "a-b.example"}) {
    blocks.push_back(Block(d, BlockSeverity::kSuspend, 1));
  }
  ASSERT_TRUE(store_->PutDomainBlocks(blocks, false).ok());
  absl::StatusOr<std::vector<DomainBlock>> listed = store_->ListDomainBlocks();
  ASSERT_TRUE(listed.ok());
  std::vector<std::string> domains;
  for (const DomainBlock& b : *listed) domains.push_back(b.domain);
  // memcmp order, whatever the database's collation.
  EXPECT_THAT(domains, ElementsAre("B.example", "_.example", "a-b.example", "a.example",
                                   "b.example", "\xc3\xa9.example"));
}

TEST_P(ReviewStoreTest, TwoInstancesSeeEachOthersWrites) {
  // Two nodes on one database (for SQLite: two connections to one file).
  absl::StatusOr<std::unique_ptr<ReviewStore>> other = Open();
  ASSERT_TRUE(other.ok()) << other.status();
  const std::vector<std::string> mine = Add({MakeFlag(1), MakeFlag(2)});
  ASSERT_EQ(mine.size(), 2u);
  absl::StatusOr<FlagPage> seen = (*other)->ListFlags({});
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(Ids(*seen), mine);

  // The other node's flag for the same activity is the same flag; a new one comes after.
  absl::StatusOr<std::vector<AddedFlag>> theirs =
      (*other)->AddFlags(std::vector{MakeFlag(2), MakeFlag(3)});
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  EXPECT_TRUE((*theirs)[0].existed);
  EXPECT_EQ((*theirs)[0].id, mine[1]);
  EXPECT_FALSE((*theirs)[1].existed);
  EXPECT_GT(std::stoll((*theirs)[1].id), std::stoll(mine[1]));
  EXPECT_THAT(Ids(List({})), ElementsAre(mine[0], mine[1], (*theirs)[1].id));

  ASSERT_TRUE((*other)->ResolveFlag({.id = mine[0], .status = FlagStatus::kRemoved}).ok());
  EXPECT_EQ(store_->GetFlag(mine[0])->status, FlagStatus::kRemoved);

  ASSERT_TRUE(
      (*other)
          ->PutDomainBlocks(std::vector{Block("x.example", BlockSeverity::kSilence, 1)}, false)
          .ok());
  // Merged with what the other node stored: never weakened.
  absl::StatusOr<PutBlocksResult> put =
      store_->PutDomainBlocks(std::vector{Block("x.example", BlockSeverity::kNoop, 2)}, false);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->unchanged, 1u);
  EXPECT_EQ(put->stored[0].severity, BlockSeverity::kSilence);
}

TEST_P(ReviewStoreTest, AHeldRequestIsClaimedByExactlyOneOfTwoRacingNodes) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> other = Open();
  ASSERT_TRUE(other.ok()) << other.status();
  constexpr int kFlags = 10;
  std::vector<NewFlag> flags;
  for (int i = 0; i < kFlags; ++i) {
    flags.push_back(MakeFlag(i));
    flags.back().held_request = absl::StrCat("POST /inbox ", i);
    flags.back().deliver_before = T(1'000'000);
  }
  const std::vector<std::string> ids = Add(flags);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kFlags));

  // Two threads per node claim every flag at the same moment.
  constexpr int kThreads = 4;
  ReviewStore* nodes[2] = {store_.get(), other->get()};
  std::vector<std::atomic<int>> wins(kFlags);
  std::atomic<int> errors{0};
  for (int i = 0; i < kFlags; ++i) {
    absl::Barrier* start = new absl::Barrier(kThreads);  // deleted by the last thread through
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t, i, start] {
        if (start->Block()) delete start;
        absl::StatusOr<bool> won = nodes[t % 2]->ClaimHeld(ids[i], T(100 + t), T(0));
        if (!won.ok()) {
          ADD_FAILURE() << won.status();
          ++errors;
        } else if (*won) {
          ++wins[i];
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
  EXPECT_EQ(errors.load(), 0);
  for (int i = 0; i < kFlags; ++i) {
    EXPECT_EQ(wins[i].load(), 1) << "flag " << ids[i];
    EXPECT_EQ((*other)->GetFlag(ids[i])->held->state, HeldState::kDelivering);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, ReviewStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace fedwall::store
