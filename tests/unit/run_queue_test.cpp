// Fixed-priority run queues with round robin inside a priority.
#include <gtest/gtest.h>

#include "kernel/run_queue.hpp"

namespace {

using cos::RunQueue;
using cos::SchedEntity;

SchedEntity make(uint8_t prio) {
  SchedEntity e;
  e.priority = prio;
  return e;
}

TEST(RunQueue, EmptyQueue) {
  RunQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.top_priority(), -1);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(RunQueue, HighestPriorityFirstThenFifo) {
  RunQueue q;
  SchedEntity a = make(10), b = make(10), c = make(3), d = make(255), e = make(0);
  q.push_back(a);
  q.push_back(b);
  q.push_back(c);
  q.push_back(d);
  q.push_back(e);
  EXPECT_EQ(q.top_priority(), 0);
  EXPECT_EQ(q.pop(), &e);
  EXPECT_EQ(q.pop(), &c);
  EXPECT_EQ(q.pop(), &a);
  EXPECT_EQ(q.pop(), &b);
  EXPECT_EQ(q.pop(), &d);
  EXPECT_TRUE(q.empty());
}

TEST(RunQueue, RoundRobinByRequeueing) {
  RunQueue q;
  SchedEntity a = make(7), b = make(7);
  q.push_back(a);
  q.push_back(b);
  SchedEntity* first = q.pop();
  q.push_back(*first);  // preempted: to the tail
  EXPECT_EQ(q.pop(), &b);
  EXPECT_EQ(q.pop(), &a);
}

TEST(RunQueue, RemoveFromMiddleKeepsBitmapConsistent) {
  RunQueue q;
  SchedEntity a = make(64), b = make(64), c = make(200);
  q.push_back(a);
  q.push_back(b);
  q.push_back(c);
  q.remove(a);
  EXPECT_FALSE(a.queued());
  q.remove(a);  // removing twice is harmless
  q.remove(b);
  EXPECT_EQ(q.top_priority(), 200) << "priority 64 must be cleared from the bitmap";
  EXPECT_EQ(q.pop(), &c);
  EXPECT_TRUE(q.empty());
}

}  // namespace

// A thread preempted by a higher priority goes back to the head of its own
// priority (push_front), ahead of equals that were already waiting.
TEST(RunQueue, PushFrontPutsAPreemptedEntityFirstAmongEquals) {
  cos::RunQueue q;
  cos::SchedEntity a, b, hi;
  a.priority = b.priority = 20;
  hi.priority = 10;
  q.push_back(b);
  q.push_front(a);
  q.push_back(hi);
  EXPECT_EQ(q.pop(), &hi);
  EXPECT_EQ(q.pop(), &a);
  EXPECT_EQ(q.pop(), &b);
  EXPECT_TRUE(q.empty());
}
