// The scheduler's in-memory index of runnable jobs: order, due times, destinations.
#include "core/run_queue.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace vfax::core {
namespace {

// The heads in dispatch order, as dispatch walks them.
std::vector<std::int64_t> heads(const RunQueue& q) {
  std::vector<std::int64_t> ids;
  for (auto h = q.nextHead(std::nullopt); h; h = q.nextHead(h)) ids.push_back(h->id);
  return ids;
}

TEST(RunQueueTest, QueuedJobsByPriorityThenAge) {
  RunQueue q;
  q.putQueued(5, 0);
  q.putQueued(3, 0);
  q.putQueued(9, 7);
  q.putQueued(7, -2);
  std::vector<std::int64_t> order;
  while (auto k = q.firstQueued()) {
    order.push_back(k->id);
    q.remove(k->id);
  }
  EXPECT_EQ(order, (std::vector<std::int64_t>{9, 3, 5, 7}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(RunQueueTest, WaitingJobsBecomeReadyWhenDue) {
  RunQueue q;
  q.putWaiting(1, 0, "a", 100);
  q.putWaiting(2, 0, "b", 50);
  q.putWaiting(3, 0, "c", 300);
  EXPECT_EQ(q.promoteDue(10), 50);
  EXPECT_TRUE(heads(q).empty());
  EXPECT_EQ(q.promoteDue(100), 300);  // the next one still to come
  EXPECT_EQ(heads(q), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(q.timedCount(), 1u);
  EXPECT_EQ(q.promoteDue(1000), 0);  // none left to come
  EXPECT_EQ(q.readyCount(), 3u);
}

// One head per destination: the others of a destination wait behind its best job.
TEST(RunQueueTest, OneHeadPerDestinationInDispatchOrder) {
  RunQueue q;
  q.putWaiting(1, 0, "a", 0);
  q.putWaiting(2, 0, "a", 0);
  q.putWaiting(3, 5, "a", 0);
  q.putWaiting(4, 0, "b", 0);
  q.putWaiting(5, 1, "c", 0);
  q.promoteDue(0);
  EXPECT_EQ(heads(q), (std::vector<std::int64_t>{3, 5, 4}));
  EXPECT_EQ(q.destinationOf(3), "a");

  // Placing a head (it leaves the index) makes the next of its destination the head, after it.
  auto first = q.nextHead(std::nullopt);
  ASSERT_TRUE(first);
  q.remove(first->id);
  EXPECT_EQ(heads(q), (std::vector<std::int64_t>{5, 1, 4}));
  auto after = q.nextHead(first);  // walking on from the removed key still works
  ASSERT_TRUE(after);
  EXPECT_EQ(after->id, 5);

  // A job that is not a head leaves without disturbing the heads.
  q.remove(2);
  EXPECT_EQ(heads(q), (std::vector<std::int64_t>{5, 1, 4}));
  q.remove(1);
  EXPECT_EQ(heads(q), (std::vector<std::int64_t>{5, 4}));
  EXPECT_EQ(q.readyCount(), 2u);
}

// A state change replaces what the index held: a job is never in two places, never twice.
TEST(RunQueueTest, PutReplacesAndRemoveForgets) {
  RunQueue q;
  q.putQueued(1, 0);
  q.putWaiting(1, 0, "a", 0);  // converted
  EXPECT_FALSE(q.firstQueued());
  q.promoteDue(0);
  q.putWaiting(1, 0, "a", 500);  // called, busy, waits again
  EXPECT_TRUE(heads(q).empty());
  EXPECT_EQ(q.size(), 1u);
  q.remove(1);
  q.remove(1);
  q.remove(42);
  EXPECT_FALSE(q.contains(1));
  EXPECT_EQ(q.promoteDue(1000), 0);
  EXPECT_EQ(q.size(), 0u);
}

// A better job arriving for a destination takes over as its head.
TEST(RunQueueTest, BetterJobBecomesTheHeadOfItsDestination) {
  RunQueue q;
  q.putWaiting(10, 0, "a", 0);
  q.putWaiting(11, 0, "b", 0);
  q.promoteDue(0);
  q.putWaiting(12, 3, "a", 0);
  q.promoteDue(0);
  EXPECT_EQ(heads(q), (std::vector<std::int64_t>{12, 11}));
  q.remove(12);
  EXPECT_EQ(heads(q), (std::vector<std::int64_t>{10, 11}));
}

}  // namespace
}  // namespace vfax::core
