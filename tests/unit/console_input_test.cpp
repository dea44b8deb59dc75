// Console input (src/kernel/console_input.cpp): readers, focus, the Ctrl-A
// escape and the per-reader queues.
#include <gtest/gtest.h>

#include <string>

#include "kernel/console_input.hpp"

namespace {

using cos::ConsoleInput;
using Fed = ConsoleInput::Fed;

int a_key, b_key, c_key;  // stand-ins for endpoints
const void* const A = &a_key;
const void* const B = &b_key;
const void* const C = &c_key;

std::string feed(ConsoleInput& in, const std::string& bytes) {
  std::string what;
  for (unsigned char ch : bytes) {
    int reader;
    switch (in.feed(ch, reader)) {
      case Fed::queued: what += 'q'; break;
      case Fed::escape: what += 'e'; break;
      case Fed::focus: what += 'f'; break;
      case Fed::dropped: what += 'd'; break;
    }
  }
  return what;
}

std::string drain(ConsoleInput& in, const void* key) {
  std::string out;
  uint8_t buf[7];
  for (size_t n; (n = in.read(key, buf, sizeof(buf))) > 0;) out.append(reinterpret_cast<char*>(buf), n);
  return out;
}

TEST(ConsoleInput, NoReaderMeansInputWaits) {
  ConsoleInput in;
  EXPECT_EQ(in.focus(), -1);
  EXPECT_FALSE(in.can_feed()) << "bytes stay in the UART until somebody reads";
  EXPECT_EQ(feed(in, "x"), "d");
  EXPECT_EQ(in.dropped(), 1u);
}

TEST(ConsoleInput, FirstReaderHasTheFocusAndGetsTheBytes) {
  ConsoleInput in;
  EXPECT_EQ(in.bind(A), 0);
  EXPECT_EQ(in.bind(B), 1);
  EXPECT_EQ(in.bind(A), -1) << "bound twice";
  EXPECT_EQ(in.bind(nullptr), -1);
  EXPECT_EQ(in.focus(), 0);
  EXPECT_EQ(feed(in, "ls\n"), "qqq");
  EXPECT_EQ(in.queued(A), 3u);
  EXPECT_EQ(in.queued(B), 0u);
  EXPECT_EQ(drain(in, A), "ls\n");
  EXPECT_EQ(drain(in, C), "") << "not a reader";
}

TEST(ConsoleInput, EscapeMovesTheFocusAndDoubledEscapeIsLiteral) {
  ConsoleInput in;
  in.bind(A);
  in.bind(B);
  EXPECT_EQ(feed(in, "a\x01" "2b"), "qefq");
  EXPECT_EQ(in.focus(), 1);
  EXPECT_EQ(drain(in, A), "a");
  EXPECT_EQ(drain(in, B), "b");
  EXPECT_EQ(feed(in, "\x01\x01"), "eq");
  EXPECT_EQ(drain(in, B), "\x01");
  EXPECT_EQ(feed(in, "\x01" "9\x01" "x\x01" "1"), "ededef") << "no reader 9, unknown escape, back to reader 1";
  EXPECT_EQ(in.focus(), 0);
  EXPECT_EQ(in.dropped(), 2u);
}

TEST(ConsoleInput, FullQueueStopsTakingInput) {
  ConsoleInput in;
  in.bind(A);
  for (unsigned i = 0; i < ConsoleInput::kQueueBytes; ++i) ASSERT_TRUE(in.can_feed());
  std::string lots(ConsoleInput::kQueueBytes, 'z');
  feed(in, lots);
  EXPECT_FALSE(in.can_feed()) << "the rest waits in the UART instead of being lost";
  uint8_t one;
  EXPECT_EQ(in.read(A, &one, 1), 1u);
  EXPECT_TRUE(in.can_feed());
  EXPECT_EQ(drain(in, A), std::string(ConsoleInput::kQueueBytes - 1, 'z'));
}

TEST(ConsoleInput, UnbindMovesTheFocusAndDropsTheQueue) {
  ConsoleInput in;
  in.bind(A);
  in.bind(B);
  in.bind(C);
  feed(in, "\x01" "3xyz");
  EXPECT_EQ(in.focus(), 2);
  EXPECT_TRUE(in.unbind(C));
  EXPECT_FALSE(in.unbind(C));
  EXPECT_EQ(in.focus(), 0) << "the oldest reader left";
  EXPECT_EQ(in.queued(C), 0u);
  // Bind order numbers readers: B is now "2".
  EXPECT_EQ(feed(in, "\x01" "2q"), "efq");
  EXPECT_EQ(drain(in, B), "q");
  EXPECT_TRUE(in.unbind(A));
  EXPECT_TRUE(in.unbind(B));
  EXPECT_EQ(in.focus(), -1);
  EXPECT_FALSE(in.can_feed());
}

TEST(ConsoleInput, AtMostEightReaders) {
  ConsoleInput in;
  int keys[ConsoleInput::kReaders + 1];
  for (unsigned i = 0; i < ConsoleInput::kReaders; ++i) EXPECT_EQ(in.bind(&keys[i]), static_cast<int>(i));
  EXPECT_EQ(in.bind(&keys[ConsoleInput::kReaders]), -1);
  EXPECT_TRUE(in.unbind(&keys[3]));
  EXPECT_EQ(in.bind(&keys[ConsoleInput::kReaders]), 3) << "a freed reader is reused";
}

}  // namespace
