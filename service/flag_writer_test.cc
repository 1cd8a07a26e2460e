#include "service/flag_writer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace fedwall::service {
namespace {

store::NewFlag Flag(std::string id) {
  store::NewFlag f;
  f.activity_id = std::move(id);
  f.activity_json = "{}";
  return f;
}

TEST(FlagWriterTest, CommitsBeforeCallingBackAndDeduplicates) {
  auto store = store::OpenSqliteStore(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  FlagWriter writer(store->get(), {});
  absl::Notification done;
  std::vector<absl::StatusOr<store::AddedFlag>> results;
  writer.Submit({Flag("https://a.example/1"), Flag("https://a.example/1"), Flag("")},
                [&](std::vector<absl::StatusOr<store::AddedFlag>> r) {
                  results = std::move(r);
                  done.Notify();
                });
  done.WaitForNotification();
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(results[0]->id, results[1]->id);
  EXPECT_TRUE(results[1]->existed);
  EXPECT_NE(results[0]->id, results[2]->id);
  // Visible in the store when the callback ran.
  EXPECT_TRUE((*store)->GetFlag(results[2]->id).ok());
}

TEST(FlagWriterTest, ManySubmittersAllStored) {
  auto store = store::OpenSqliteStore(":memory:");
  ASSERT_TRUE(store.ok());
  std::atomic<int> stored{0};
  {
    FlagWriter writer(store->get(), {});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 250; ++i) {
          writer.Submit({Flag("https://a.example/" + std::to_string(t * 1000 + i))},
                        [&](std::vector<absl::StatusOr<store::AddedFlag>> r) {
                          if (r.at(0).ok()) ++stored;
                        });
        }
      });
    }
    for (auto& th : threads) th.join();
    writer.Stop();  // commits what is queued
  }
  EXPECT_EQ(stored.load(), 1000);
  store::FlagQuery q;
  q.page_size = 1000;
  auto page = (*store)->ListFlags(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->flags.size(), 1000u);
}

TEST(FlagWriterTest, RefusesPastTheBacklogAndAfterStop) {
  auto store = store::OpenSqliteStore(":memory:");
  ASSERT_TRUE(store.ok());
  FlagWriter::Options options;
  options.max_pending = 2;
  FlagWriter writer(store->get(), options);
  std::vector<absl::StatusOr<store::AddedFlag>> results;
  writer.Submit({Flag("a"), Flag("b"), Flag("c")},
                [&](std::vector<absl::StatusOr<store::AddedFlag>> r) { results = std::move(r); });
  ASSERT_EQ(results.size(), 3u);  // refused at once, on this thread
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kResourceExhausted);
  writer.Stop();
  results.clear();
  writer.Submit({Flag("d")},
                [&](std::vector<absl::StatusOr<store::AddedFlag>> r) { results = std::move(r); });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kUnavailable);
}

TEST(FlagWriterTest, AFlagPastTheStoreLimitsFailsAloneNotItsGroup) {
  auto store = store::OpenSqliteStore(":memory:");
  ASSERT_TRUE(store.ok());
  FlagWriter writer(store->get(), {});
  store::NewFlag huge = Flag("https://a.example/huge");
  huge.actor = std::string(store::ReviewStoreLimits::kMaxStringBytes + 1, 'a');
  absl::Notification done;
  std::vector<absl::StatusOr<store::AddedFlag>> results;
  writer.Submit({Flag("https://a.example/ok1"), huge, Flag("https://a.example/ok2")},
                [&](std::vector<absl::StatusOr<store::AddedFlag>> r) {
                  results = std::move(r);
                  done.Notify();
                });
  done.WaitForNotification();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(results[2].ok()) << results[2].status();
}

}  // namespace
}  // namespace fedwall::service
