#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/store/review_store.h"

// GCC 12 warns about designated initializers that leave out members with default member
// initializers (GCC bug 96868); the tests build queries that way on purpose.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif

namespace fedwall::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Limits = ReviewStoreLimits;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const absl::Status assert_ok_status = (expr);           \
    ASSERT_TRUE(assert_ok_status.ok()) << assert_ok_status; \
  } while (0)

// A unix-microsecond time with a non-zero microsecond part.
absl::Time T(int64_t i) { return absl::FromUnixMicros(1'700'000'000'123'456 + i); }

NewFlag MakeFlag(int i, std::string domain = "a.example",
                 std::vector<std::string> rules = {"spam"}) {
  NewFlag f;
  f.activity_id = absl::StrCat("https://", domain, "/notes/", i);
  f.activity_json = absl::StrCat(R"({"id":"https://)", domain, "/notes/", i, R"("})");
  f.actor = absl::StrCat("https://", domain, "/users/u", i);
  f.actor_domain = std::move(domain);
  f.rule_ids = std::move(rules);
  f.matches = absl::StrCat("m", i);
  f.score_milli = 1000 + i;
  f.policy_version = "v1";
  f.created_at = T(i);
  return f;
}

void ExpectSameData(const NewFlag& want, const NewFlag& got, bool with_activity = true) {
  EXPECT_EQ(got.activity_id, want.activity_id);
  EXPECT_EQ(got.activity_json, with_activity ? want.activity_json : "");
  EXPECT_EQ(got.actor, want.actor);
  EXPECT_EQ(got.actor_domain, want.actor_domain);
  EXPECT_EQ(got.rule_ids, want.rule_ids);
  EXPECT_EQ(got.matches, want.matches);
  EXPECT_EQ(got.score_milli, want.score_milli);
  EXPECT_EQ(got.policy_version, want.policy_version);
  EXPECT_EQ(got.created_at, want.created_at);
}

std::vector<std::string> Ids(const FlagPage& page) {
  std::vector<std::string> ids;
  for (const Flag& f : page.flags) ids.push_back(f.id);
  return ids;
}

class ReviewStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "review_store_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(":memory:");
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string DbPath() const { return dir_ + "/fedwall.db"; }

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
  std::unique_ptr<ReviewStore> store_;
};

TEST_F(ReviewStoreTest, FlagStatusNames) {
  EXPECT_STREQ(FlagStatusName(FlagStatus::kPending), "pending");
  EXPECT_STREQ(FlagStatusName(FlagStatus::kApproved), "approved");
  EXPECT_STREQ(FlagStatusName(FlagStatus::kRemoved), "removed");
  EXPECT_STREQ(FlagStatusName(static_cast<FlagStatus>(9)), "unknown");
}

TEST_F(ReviewStoreTest, AddListGetResolveRoundTrip) {
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

TEST_F(ReviewStoreTest, EmptyAddIsANoop) {
  absl::StatusOr<std::vector<AddedFlag>> added = store_->AddFlags({});
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_TRUE(added->empty());
  EXPECT_TRUE(List({}).flags.empty());
}

TEST_F(ReviewStoreTest, DedupAcrossCallsAndWithinOneCall) {
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

TEST_F(ReviewStoreTest, Filters) {
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

TEST_F(ReviewStoreTest, PagesThroughEverythingOnce) {
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

TEST_F(ReviewStoreTest, PageSizeDefaultAndCap) {
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

TEST_F(ReviewStoreTest, LargePagesStopEarly) {
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

TEST_F(ReviewStoreTest, BadPageTokens) {
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

TEST_F(ReviewStoreTest, UnknownIdsAreNotFound) {
  const std::vector<std::string> ids = Add({MakeFlag(1)});
  ASSERT_EQ(ids, std::vector<std::string>{"1"});
  for (const char* id : {"2", "0", "01", "+1", "-1", "", "abc", "1 ", "99999999999999999999",
                         "9223372036854775807"}) {
    EXPECT_EQ(store_->GetFlag(id).status().code(), absl::StatusCode::kNotFound) << id;
    EXPECT_EQ(store_->ResolveFlag({.id = id}).status().code(), absl::StatusCode::kNotFound) << id;
  }
  EXPECT_THAT(store_->GetFlag("2").status().message(), HasSubstr("\"2\""));
}

TEST_F(ReviewStoreTest, ResolveTwiceLastDecisionWins) {
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

DomainBlock Block(std::string domain, BlockSeverity severity, int64_t t) {
  return DomainBlock{.domain = std::move(domain), .severity = severity, .updated_at = T(t)};
}

TEST_F(ReviewStoreTest, DomainBlocks) {
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

TEST_F(ReviewStoreTest, NewFilesAreOwnerOnly) {
  // A permissive umask, as a service manager or a shell may leave it: the files stay 0600.
  const mode_t old_umask = umask(022);
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
  umask(old_umask);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE((*s)->AddFlags(std::vector{MakeFlag(1)}).ok());  // the WAL has content
  const auto mode = [](const std::string& path) -> int {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return -1;
    return static_cast<int>(st.st_mode & 07777);
  };
  for (const std::string& path : {DbPath(), DbPath() + "-wal", DbPath() + "-shm"}) {
    EXPECT_EQ(mode(path), 0600) << path;
  }
  s->reset();
  EXPECT_EQ(mode(DbPath()), 0600);

  // An existing database keeps the mode its owner gave it (and the new -wal/-shm follow it).
  const std::string shared = dir_ + "/shared.db";
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> first = OpenSqliteStore(shared);
    ASSERT_TRUE(first.ok()) << first.status();
  }
  ASSERT_EQ(chmod(shared.c_str(), 0640), 0);
  absl::StatusOr<std::unique_ptr<ReviewStore>> again = OpenSqliteStore(shared);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(mode(shared), 0640);
  EXPECT_EQ(mode(shared + "-wal"), 0640);

  // A symbolic link in place of the file is followed by SQLite as before, never replaced.
  const std::string link = dir_ + "/link.db";
  ASSERT_EQ(symlink(DbPath().c_str(), link.c_str()), 0);
  absl::StatusOr<std::unique_ptr<ReviewStore>> linked = OpenSqliteStore(link);
  ASSERT_TRUE(linked.ok()) << linked.status();
  EXPECT_EQ(mode(DbPath()), 0600);
}

TEST_F(ReviewStoreTest, SurvivesReopening) {
  store_.reset();
  NewFlag f = MakeFlag(1, "a.example", {"x", "y"});
  f.matches = std::string("\0\0\x7f", 3);
  DomainBlock block = Block("evil.example", BlockSeverity::kSuspend, 3);
  block.reject_media = true;
  block.private_comment = "private";
  std::string id;
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
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
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
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

// Runs `sql` on the file with a raw connection; returns the first column of the first row.
std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string out;
  const int rc = sqlite3_step(stmt);
  EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
  return out;
}

TEST_F(ReviewStoreTest, HeldRequestsAreKeptWithTheirFlagAndTheirFate) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
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

  ASSERT_TRUE((*s)->SetHeldState(held_id, HeldState::kFailed, "the server answered 401", T(5)).ok());
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

TEST_F(ReviewStoreTest, AHeldRequestIsClaimedOnceAndACopyJoinsAFlagWithoutOne) {
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
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

TEST_F(ReviewStoreTest, AVersionOneDatabaseIsMigratedAndKeepsItsFlags) {
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
    ASSERT_TRUE(s.ok()) << s.status();
    NewFlag f = MakeFlag(1);
    ASSERT_TRUE((*s)->AddFlags({&f, 1}).ok());
  }
  // What a version 1 file looked like: no held_deliveries.
  RawQuery(DbPath(), "DROP TABLE held_deliveries");
  RawQuery(DbPath(), "PRAGMA user_version = 1");
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA user_version"), "2");
  absl::StatusOr<FlagPage> page = (*s)->ListFlags({});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->flags.size(), 1u);
  EXPECT_FALSE(page->flags[0].held.has_value());
}

TEST_F(ReviewStoreTest, FileIsInWalModeWithTheCurrentSchema) {
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(RawQuery(DbPath(), "PRAGMA journal_mode"), "wal");
  }
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA user_version"), "2");
  EXPECT_EQ(RawQuery(DbPath(), "PRAGMA application_id"), "1717860145");  // "fdw1"
  // Opening again migrates nothing and works.
  absl::StatusOr<std::unique_ptr<ReviewStore>> s =
      OpenSqliteStore(DbPath(), {.full_sync = false, .busy_timeout = absl::Milliseconds(10)});
  ASSERT_TRUE(s.ok()) << s.status();
}

TEST_F(ReviewStoreTest, NewerSchemaIsRefused) {
  {
    absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
    ASSERT_TRUE(s.ok()) << s.status();
  }
  RawQuery(DbPath(), "PRAGMA user_version = 999");
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("999"));
  EXPECT_THAT(s.status().message(), HasSubstr("version 2 "));

  const std::string fresh = dir_ + "/fresh.db";
  RawQuery(fresh, "PRAGMA user_version = 999");
  s = OpenSqliteStore(fresh);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("999"));
}

TEST_F(ReviewStoreTest, ForeignDatabasesAreRefused) {
  const std::string other = dir_ + "/other.db";
  RawQuery(other, "CREATE TABLE t (x)");
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(other);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("not a fedwall database"));

  const std::string app = dir_ + "/app.db";
  RawQuery(app, "PRAGMA application_id = 42");
  s = OpenSqliteStore(app);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);

  const std::string garbage = dir_ + "/garbage.db";
  {
    FILE* f = fopen(garbage.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string junk(4096, 'j');
    fwrite(junk.data(), 1, junk.size(), f);
    fclose(f);
  }
  s = OpenSqliteStore(garbage);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
}

TEST_F(ReviewStoreTest, OpenErrorsNameTheOperationAndPath) {
  const std::string path = dir_ + "/no/such/dir/fedwall.db";
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("open " + path));
  EXPECT_THAT(s.status().message(), HasSubstr("unable to open"));
  EXPECT_EQ(OpenSqliteStore("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenSqliteStore(std::string("a\0b", 3)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ReviewStoreTest, ConcurrentWritersAndReaders) {
  store_.reset();
  absl::StatusOr<std::unique_ptr<ReviewStore>> s = OpenSqliteStore(DbPath(), {.full_sync = false});
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

TEST_F(ReviewStoreTest, FlagLimits) {
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

TEST_F(ReviewStoreTest, BlockLimits) {
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

}  // namespace
}  // namespace fedwall::store
