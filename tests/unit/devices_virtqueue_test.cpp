// cos::dev::Virtqueue, DescWalker and ChainCursor: the split virtqueue
// engine (virtio 1.2 §2.7) against a driver that lays out rings the way
// Linux's virtio_ring.c does — chains, indirect tables, event index,
// notification suppression, 16-bit index wrap-around — and against
// malformed rings, which must stop the queue with the right error and never
// touch memory outside guest RAM (this executable runs under ASan/UBSan).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "unit/test_rng.hpp"
#include "unit/virtio_test_util.hpp"

using namespace vtest;

namespace {

struct QueueError {
  uint16_t queue;
  VirtioErrc code;
  uint64_t value;
};

struct VirtqueueTest : ::testing::Test {
  GuestRam ram;
  std::vector<QueueError> errors;
  Virtqueue q;

  static void on_error(void* ctx, uint16_t queue, VirtioErrc code, uint64_t value) {
    static_cast<VirtqueueTest*>(ctx)->errors.push_back({queue, code, value});
  }
  // A queue of `size` entries at the driver's rings, enabled with `features`.
  DriverQueue& setup(uint16_t size, uint64_t features = 0, uint16_t max = vs::kMaxQueueSize) {
    dq.emplace_back(new DriverQueue(ram, size));
    DriverQueue& d = *dq.back();
    q.init(3, max, on_error, this);
    q.set_size(size);
    q.set_desc_gpa(d.desc);
    q.set_driver_gpa(d.avail);
    q.set_device_gpa(d.used);
    EXPECT_TRUE(q.enable(ram.mem, features));
    return d;
  }
  std::vector<std::unique_ptr<DriverQueue>> dq;

  // The one error reported, by code.
  void expect_error(VirtioErrc code) {
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, code) << virtio_errc_name(errors[0].code);
    EXPECT_EQ(errors[0].queue, 3);
    EXPECT_TRUE(q.broken());
    DescChain c;
    EXPECT_FALSE(q.pop(c));
  }
};

TEST_F(VirtqueueTest, PopsChainWithReadableThenWritableParts) {
  DriverQueue& d = setup(8);
  uint64_t r1 = ram.alloc(10), r2 = ram.alloc(6), w1 = ram.alloc(20);
  ram.fill(r1, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l'});
  ram.fill(r2, {'d', '!', 1, 2, 3, 4});
  uint16_t head = d.add({{r1, 10, false}, {r2, 6, false}, {w1, 20, true}});
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  EXPECT_EQ(c.head, head);
  EXPECT_EQ(c.descriptors, 3u);
  EXPECT_EQ(c.readable, 16u);
  EXPECT_EQ(c.writable, 20u);
  EXPECT_FALSE(q.pop(c));  // only one was made available

  ChainCursor in(q, c, ChainCursor::Part::readable);
  char text[13] = {};
  ASSERT_TRUE(in.read(text, 12));
  EXPECT_EQ(std::string(text), "hello world!");
  uint8_t rest[4];
  ASSERT_TRUE(in.read(rest, 4));
  EXPECT_EQ(rest[3], 4);
  EXPECT_FALSE(in.read(rest, 1));  // the readable part ends at the first writable buffer
  EXPECT_FALSE(in.failed());

  ChainCursor out(q, c, ChainCursor::Part::writable);
  ASSERT_TRUE(out.write("0123456789", 10));
  EXPECT_EQ(out.offset(), 10u);
  q.push(c, out.offset());
  uint32_t id, len;
  ASSERT_TRUE(d.take_used(id, len));
  EXPECT_EQ(id, head);
  EXPECT_EQ(len, 10u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ram.host(w1)), 10), "0123456789");
  EXPECT_TRUE(errors.empty());
}

TEST_F(VirtqueueTest, PushClampsUsedLengthToWritableBytes) {
  DriverQueue& d = setup(4);
  uint64_t w = ram.alloc(8);
  d.add({{w, 8, true}});
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  q.push(c, 1000);
  uint32_t id, len;
  ASSERT_TRUE(d.take_used(id, len));
  EXPECT_EQ(len, 8u);
}

TEST_F(VirtqueueTest, ZeroLengthDescriptorsAreSkipped) {
  DriverQueue& d = setup(8);
  uint64_t a = ram.alloc(4), b = ram.alloc(4);
  ram.fill(a, {1, 2, 3, 4});
  ram.fill(b, {5, 6, 7, 8});
  d.add({{a, 4, false}, {0, 0, false}, {b, 4, false}});
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  EXPECT_EQ(c.readable, 8u);
  ChainCursor in(q, c, ChainCursor::Part::readable);
  uint8_t got[8];
  ASSERT_TRUE(in.read(got, 8));
  EXPECT_EQ(got[4], 5);
}

TEST_F(VirtqueueTest, IndirectDescriptors) {
  DriverQueue& d = setup(4, vs::feature(vs::kFIndirectDesc));
  uint64_t r = ram.alloc(16), w1 = ram.alloc(3), w2 = ram.alloc(5);
  for (int i = 0; i < 16; ++i) ram.host(r)[i] = static_cast<uint8_t>(i);
  // Six buffers in a four-entry queue: only possible through the table.
  uint16_t head = d.add_indirect({{r, 4, false}, {r + 4, 4, false}, {r + 8, 4, false}, {r + 12, 4, false},
                                  {w1, 3, true}, {w2, 5, true}});
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  EXPECT_EQ(c.head, head);
  EXPECT_EQ(c.descriptors, 6u);
  EXPECT_EQ(c.readable, 16u);
  EXPECT_EQ(c.writable, 8u);
  ChainCursor in(q, c, ChainCursor::Part::readable);
  uint8_t got[16];
  ASSERT_TRUE(in.read(got, 16));
  for (int i = 0; i < 16; ++i) EXPECT_EQ(got[i], i);
  ChainCursor out(q, c, ChainCursor::Part::writable);
  ASSERT_TRUE(out.write("abcdefgh", 8));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ram.host(w1)), 3), "abc");
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ram.host(w2)), 5), "defgh");
  q.push(c, 8);
  uint32_t id, len;
  ASSERT_TRUE(d.take_used(id, len));
  EXPECT_EQ(id, head);
  EXPECT_TRUE(errors.empty());
}

TEST_F(VirtqueueTest, DirectDescriptorsFollowedByIndirectTable) {
  // §2.7.5.3.1: zero or more normal descriptors, then one indirect one.
  DriverQueue& d = setup(8, vs::feature(vs::kFIndirectDesc));
  uint64_t hdr = ram.alloc(16), data = ram.alloc(64), st = ram.alloc(1);
  uint64_t table = ram.alloc(32);
  ram.put64(table, data);
  ram.put32(table + 8, 64);
  ram.put16(table + 12, vs::kDescNext);
  ram.put16(table + 14, 1);
  ram.put64(table + 16, st);
  ram.put32(table + 24, 1);
  ram.put16(table + 28, vs::kDescWrite);
  d.set_desc(0, hdr, 16, vs::kDescNext, 1);
  d.set_desc(1, table, 32, vs::kDescIndirect, 0);
  d.publish(0);
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  EXPECT_EQ(c.readable, 80u);
  EXPECT_EQ(c.writable, 1u);
  EXPECT_EQ(c.descriptors, 3u);
}

TEST_F(VirtqueueTest, NotificationSuppressionWithoutEventIndex) {
  DriverQueue& d = setup(8);
  uint64_t w = ram.alloc(4);
  q.disable_notifications();
  EXPECT_EQ(d.used_flags() & vs::kUsedNoNotify, vs::kUsedNoNotify);
  EXPECT_FALSE(q.enable_notifications());  // nothing arrived meanwhile
  EXPECT_EQ(d.used_flags() & vs::kUsedNoNotify, 0);
  d.add({{w, 4, true}});
  q.disable_notifications();
  EXPECT_TRUE(q.enable_notifications());  // a buffer arrived while suppressed
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  q.push(c, 0);
  EXPECT_TRUE(q.should_interrupt());
  d.add({{w, 4, true}});
  ASSERT_TRUE(q.pop(c));
  q.push(c, 0);
  d.set_avail_flags(vs::kAvailNoInterrupt);
  EXPECT_FALSE(q.should_interrupt());
}

TEST_F(VirtqueueTest, EventIndexDecidesInterruptsAndPublishesAvailEvent) {
  DriverQueue& d = setup(8, vs::feature(vs::kFEventIdx));
  uint64_t w = ram.alloc(4);
  DescChain c;
  // used_event = 0: interrupt when used idx moves past 0 (first completion).
  d.set_used_event(0);
  d.add({{w, 4, true}});
  ASSERT_TRUE(q.pop(c));
  q.push(c, 0);  // used idx 1
  EXPECT_TRUE(q.should_interrupt());
  // The driver wants to hear only after entry 3 is used (used_event = 3).
  d.set_used_event(3);
  for (int i = 0; i < 2; ++i) {
    d.add({{w, 4, true}});
    ASSERT_TRUE(q.pop(c));
    q.push(c, 0);  // used idx 2, 3
    EXPECT_FALSE(q.should_interrupt()) << i;
  }
  d.add({{w, 4, true}});
  ASSERT_TRUE(q.pop(c));
  q.push(c, 0);  // used idx 4: passed 3
  EXPECT_TRUE(q.should_interrupt());
  // avail_event: the device asks to be notified at its next available index;
  // the NO_NOTIFY flag is not used with the event index.
  q.disable_notifications();
  EXPECT_EQ(d.used_flags(), 0);
  EXPECT_FALSE(q.enable_notifications());
  EXPECT_EQ(d.avail_event(), 4);
  // The avail_event tells a driver (vring_need_event) to kick for entry 4.
  EXPECT_TRUE(vs::need_event(d.avail_event(), 5, 4));
  EXPECT_FALSE(vs::need_event(d.avail_event(), 4, 3));
  // The avail flag is ignored with the event index.
  d.set_avail_flags(vs::kAvailNoInterrupt);
  d.set_used_event(4);
  d.add({{w, 4, true}});
  ASSERT_TRUE(q.pop(c));
  q.push(c, 0);
  EXPECT_TRUE(q.should_interrupt());
}

TEST_F(VirtqueueTest, IndicesWrapAround16Bits) {
  // 70000 round trips through a 4-entry queue: avail and used indices wrap
  // past 65535, slots stay index % size, and the event index keeps working
  // across the wrap.
  DriverQueue& d = setup(4, vs::feature(vs::kFEventIdx));
  uint64_t w = ram.alloc(4);
  unsigned interrupts = 0;
  for (uint32_t i = 0; i < 70000; ++i) {
    d.set_used_event(static_cast<uint16_t>(i));  // interrupt on every completion
    uint16_t head = d.add({{w, 4, true}});
    DescChain c;
    ASSERT_TRUE(q.pop(c)) << i;
    ASSERT_EQ(c.head, head);
    q.push(c, static_cast<uint32_t>(i & 3));
    interrupts += q.should_interrupt();
    uint32_t id, len;
    ASSERT_TRUE(d.take_used(id, len));
    ASSERT_EQ(id, head);
    ASSERT_EQ(len, i & 3);
    ASSERT_TRUE(!q.enable_notifications());
    ASSERT_EQ(d.avail_event(), static_cast<uint16_t>(i + 1));
  }
  EXPECT_EQ(interrupts, 70000u);
  EXPECT_EQ(q.last_avail_idx(), static_cast<uint16_t>(70000));
  EXPECT_EQ(d.used_idx(), static_cast<uint16_t>(70000));
  EXPECT_TRUE(errors.empty());
}

TEST_F(VirtqueueTest, SeveralOutstandingChainsAcrossTheWrap) {
  DriverQueue& d = setup(8);
  uint64_t w = ram.alloc(8);
  // Start near the wrap point by cycling 65530 entries.
  for (int i = 0; i < 65530; ++i) {
    d.add({{w, 1, true}});
    DescChain c;
    ASSERT_TRUE(q.pop(c));
    q.push(c, 0);
    uint32_t id, len;
    ASSERT_TRUE(d.take_used(id, len));
  }
  // Eight chains in flight across index 65535 -> 0.
  std::vector<uint16_t> heads;
  for (int i = 0; i < 8; ++i) heads.push_back(d.add({{w + static_cast<uint64_t>(i), 1, true}}));
  std::vector<DescChain> got(8);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(q.pop(got[i]));
  DescChain extra;
  EXPECT_FALSE(q.pop(extra));
  for (int i = 7; i >= 0; --i) q.push(got[i], 1);  // out of order completion
  for (int i = 7; i >= 0; --i) {
    uint32_t id, len;
    ASSERT_TRUE(d.take_used(id, len));
    EXPECT_EQ(id, heads[i]);
  }
  EXPECT_TRUE(errors.empty());
}

TEST_F(VirtqueueTest, UnpopGivesTheChainBack) {
  DriverQueue& d = setup(4);
  uint64_t w = ram.alloc(4);
  uint16_t head = d.add({{w, 4, true}});
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  q.unpop();
  EXPECT_TRUE(q.has_available());
  ASSERT_TRUE(q.pop(c));
  EXPECT_EQ(c.head, head);
}

TEST_F(VirtqueueTest, MaximumQueueSizeAndSizeChecks) {
  // 32768 entries: the largest split queue (§2.7).
  GuestRam big(2 << 20);
  DriverQueue d(big, 32768);
  Virtqueue v;
  v.init(0, 32768, on_error, this);
  EXPECT_EQ(v.max_size(), 32768);
  v.set_desc_gpa(d.desc);
  v.set_driver_gpa(d.avail);
  v.set_device_gpa(d.used);
  ASSERT_TRUE(v.enable(big.mem, 0));
  uint64_t w = big.alloc(4);
  d.add({{w, 4, true}});
  DescChain c;
  EXPECT_TRUE(v.pop(c));
  // Maximum sizes that are not powers of two are rounded down.
  Virtqueue r;
  r.init(0, 1000, on_error, this);
  EXPECT_EQ(r.max_size(), 512);
  r.init(0, 65535, on_error, this);
  EXPECT_EQ(r.max_size(), 32768);
  EXPECT_TRUE(errors.empty());
}

TEST_F(VirtqueueTest, SizeNotAPowerOfTwoIsRejectedAtEnable) {
  DriverQueue d(ram, 8);
  q.init(3, 256, on_error, this);
  q.set_size(6);
  q.set_desc_gpa(d.desc);
  q.set_driver_gpa(d.avail);
  q.set_device_gpa(d.used);
  EXPECT_FALSE(q.enable(ram.mem, 0));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::queue_size_invalid));
  EXPECT_EQ(errors[0].value, 6u);
}

TEST_F(VirtqueueTest, SizeAboveMaximumAndZeroAreRejected) {
  DriverQueue d(ram, 8);
  for (uint16_t bad : {uint16_t(512), uint16_t(0)}) {
    errors.clear();
    q.init(3, 256, on_error, this);
    q.set_size(bad);
    q.set_desc_gpa(d.desc);
    q.set_driver_gpa(d.avail);
    q.set_device_gpa(d.used);
    EXPECT_FALSE(q.enable(ram.mem, 0));
    ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::queue_size_invalid));
  }
}

TEST_F(VirtqueueTest, MisalignedOrMissingRingsAreRejected) {
  struct Case {
    uint64_t desc_off, avail_off, used_off;
    VirtioErrc code;
  };
  DriverQueue d(ram, 8);
  const Case cases[] = {
      {8, 0, 0, VirtioErrc::ring_misaligned},   // descriptor table needs 16
      {0, 1, 0, VirtioErrc::ring_misaligned},   // available ring needs 2
      {0, 0, 2, VirtioErrc::ring_misaligned},   // used ring needs 4
  };
  for (const Case& k : cases) {
    errors.clear();
    q.init(3, 8, on_error, this);
    q.set_desc_gpa(d.desc + k.desc_off);
    q.set_driver_gpa(d.avail + k.avail_off);
    q.set_device_gpa(d.used + k.used_off);
    EXPECT_FALSE(q.enable(ram.mem, 0));
    ASSERT_NO_FATAL_FAILURE(expect_error(k.code));
  }
  // Rings outside guest RAM, or straddling its end.
  const uint64_t outside[][3] = {{0x1000, d.avail, d.used},
                                 {d.desc, ram.end() - 4, d.used},
                                 {d.desc, d.avail, ram.end() - 8},
                                 {~0ull & ~15ull, d.avail, d.used}};
  for (const auto& o : outside) {
    errors.clear();
    q.init(3, 8, on_error, this);
    q.set_desc_gpa(o[0]);
    q.set_driver_gpa(o[1]);
    q.set_device_gpa(o[2]);
    EXPECT_FALSE(q.enable(ram.mem, 0));
    ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::ring_not_in_ram));
  }
}

TEST_F(VirtqueueTest, ConfigurationIsFrozenWhileEnabled) {
  DriverQueue& d = setup(8);
  q.set_size(4);
  q.set_desc_gpa(0x1234);
  q.set_driver_gpa(0x1234);
  q.set_device_gpa(0x1234);
  EXPECT_EQ(q.size(), 8);
  EXPECT_EQ(q.desc_gpa(), d.desc);
  EXPECT_EQ(q.driver_gpa(), d.avail);
  EXPECT_EQ(q.device_gpa(), d.used);
  q.reset();
  EXPECT_FALSE(q.enabled());
  EXPECT_EQ(q.size(), q.max_size());
  EXPECT_EQ(q.desc_gpa(), 0u);
}

// --- Malformed rings from the guest ---

TEST_F(VirtqueueTest, HeadOutOfRange) {
  DriverQueue& d = setup(8);
  d.publish(8);
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::head_out_of_range));
  EXPECT_EQ(errors[0].value, 8u);
  EXPECT_EQ(d.used_idx(), 0);  // nothing was returned
}

TEST_F(VirtqueueTest, NextOutOfRange) {
  DriverQueue& d = setup(8);
  uint64_t b = ram.alloc(4);
  d.set_desc(0, b, 4, vs::kDescNext, 9);
  d.publish(0);
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::next_out_of_range));
  EXPECT_EQ(errors[0].value, 9u);
}

TEST_F(VirtqueueTest, SelfLoopAndCycleAreCaught) {
  DriverQueue& d = setup(8);
  uint64_t b = ram.alloc(4);
  d.set_desc(0, b, 4, vs::kDescNext, 0);
  d.publish(0);
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::chain_too_long));
  EXPECT_EQ(errors[0].value, 9u);  // the ninth visit in an eight-entry table

  errors.clear();
  DriverQueue& e = setup(8);
  e.set_desc(2, b, 4, vs::kDescNext, 5);
  e.set_desc(5, b, 4, vs::kDescNext, 3);
  e.set_desc(3, b, 4, vs::kDescNext, 2);
  e.publish(2);
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::chain_too_long));
}

TEST_F(VirtqueueTest, ChainUsingEveryDescriptorIsFine) {
  DriverQueue& d = setup(8);
  uint64_t b = ram.alloc(8);
  std::vector<Buf> bufs;
  for (int i = 0; i < 8; ++i) bufs.push_back({b + static_cast<uint64_t>(i), 1, false});
  d.add(bufs);
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  EXPECT_EQ(c.descriptors, 8u);
  EXPECT_TRUE(errors.empty());
}

TEST_F(VirtqueueTest, BuffersOutsideGuestRam) {
  const uint64_t bad[][2] = {
      {0x1000, 16},                       // below RAM
      {0, 0},                             // placeholder: end of RAM straddle (set below)
      {~0ull - 7, 16},                    // wraps past 2^64
      {0xfee00000, 4},                    // the local APIC page is not RAM
  };
  for (int k = 0; k < 4; ++k) {
    errors.clear();
    DriverQueue& d = setup(4);
    uint64_t addr = bad[k][0], len = bad[k][1];
    if (k == 1) addr = ram.end() - 8, len = 16;
    d.add({{addr, static_cast<uint32_t>(len), false}});
    DescChain c;
    EXPECT_FALSE(q.pop(c)) << k;
    ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::buffer_not_in_ram));
    EXPECT_EQ(errors[0].value, addr);
  }
}

TEST_F(VirtqueueTest, IndirectWithoutNegotiation) {
  DriverQueue& d = setup(4);
  uint64_t b = ram.alloc(4);
  d.add_indirect({{b, 4, false}});
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::indirect_not_negotiated));
}

TEST_F(VirtqueueTest, IndirectTogetherWithNext) {
  DriverQueue& d = setup(4, vs::feature(vs::kFIndirectDesc));
  uint64_t table = ram.alloc(16), b = ram.alloc(4);
  ram.put64(table, b);
  ram.put32(table + 8, 4);
  d.set_desc(0, table, 16, vs::kDescIndirect | vs::kDescNext, 1);
  d.set_desc(1, b, 4, 0, 0);
  d.publish(0);
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::indirect_with_next));
}

TEST_F(VirtqueueTest, NestedIndirect) {
  DriverQueue& d = setup(4, vs::feature(vs::kFIndirectDesc));
  uint64_t inner = ram.alloc(16), outer = ram.alloc(16), b = ram.alloc(4);
  ram.put64(inner, b);
  ram.put32(inner + 8, 4);
  ram.put64(outer, inner);
  ram.put32(outer + 8, 16);
  ram.put16(outer + 12, vs::kDescIndirect);
  d.set_desc(0, outer, 16, vs::kDescIndirect, 0);
  d.publish(0);
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::nested_indirect));
}

TEST_F(VirtqueueTest, IndirectTableLengths) {
  for (uint32_t len : {0u, 24u, 16u * 32769u}) {
    errors.clear();
    DriverQueue& d = setup(4, vs::feature(vs::kFIndirectDesc));
    uint64_t table = ram.alloc(32);
    d.set_desc(0, table, len, vs::kDescIndirect, 0);
    d.publish(0);
    DescChain c;
    EXPECT_FALSE(q.pop(c)) << len;
    ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::indirect_table_invalid));
    EXPECT_EQ(errors[0].value, len);
  }
  // A table outside RAM.
  errors.clear();
  DriverQueue& d = setup(4, vs::feature(vs::kFIndirectDesc));
  d.set_desc(0, ram.end() - 16, 32, vs::kDescIndirect, 0);
  d.publish(0);
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::buffer_not_in_ram));
}

TEST_F(VirtqueueTest, LoopAndBadNextInsideIndirectTable) {
  DriverQueue& d = setup(4, vs::feature(vs::kFIndirectDesc));
  uint64_t table = ram.alloc(32), b = ram.alloc(4);
  ram.put64(table, b);
  ram.put32(table + 8, 4);
  ram.put16(table + 12, vs::kDescNext);
  ram.put16(table + 14, 1);
  ram.put64(table + 16, b);
  ram.put32(table + 24, 4);
  ram.put16(table + 28, vs::kDescNext);
  ram.put16(table + 30, 0);  // back to entry 0
  d.set_desc(0, table, 32, vs::kDescIndirect, 0);
  d.publish(0);
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::chain_too_long));
  EXPECT_EQ(errors[0].value, 3u);

  errors.clear();
  DriverQueue& e = setup(4, vs::feature(vs::kFIndirectDesc));
  ram.put16(table + 30, 2);  // beyond the two-entry table (but inside the ring size)
  e.set_desc(0, table, 32, vs::kDescIndirect, 0);
  e.publish(0);
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::next_out_of_range));
}

TEST_F(VirtqueueTest, ReadableAfterWritable) {
  DriverQueue& d = setup(4);
  uint64_t b = ram.alloc(8);
  d.add({{b, 4, true}, {b + 4, 4, false}});
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::readable_after_writable));
}

TEST_F(VirtqueueTest, AvailIndexJumpingMoreThanQueueSize) {
  DriverQueue& d = setup(4);
  ram.put16(d.avail + 2, 5);
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::avail_index_jump));
  EXPECT_EQ(errors[0].value, 5u);
}

TEST_F(VirtqueueTest, DriverRewritingAChainAfterPopIsCaughtByTheCursor) {
  DriverQueue& d = setup(4);
  uint64_t b = ram.alloc(8);
  d.add({{b, 4, false}, {b + 4, 4, false}});
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  // The guest now points the second descriptor outside RAM.
  uint16_t second = d.desc_next(c.head);
  d.set_desc(second, 0x10, 4, 0, 0);
  ChainCursor in(q, c, ChainCursor::Part::readable);
  uint8_t buf[8];
  EXPECT_FALSE(in.read(buf, 8));
  EXPECT_TRUE(in.failed());
  ASSERT_NO_FATAL_FAILURE(expect_error(VirtioErrc::buffer_not_in_ram));
  // Nothing is pushed once broken.
  q.push(c, 0);
  EXPECT_EQ(d.used_idx(), 0);
}

TEST_F(VirtqueueTest, OnlyTheFirstErrorIsReported) {
  DriverQueue& d = setup(4);
  d.publish(7);
  d.publish(9);
  DescChain c;
  EXPECT_FALSE(q.pop(c));
  EXPECT_FALSE(q.pop(c));
  q.fail(VirtioErrc::request_malformed, 1);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, VirtioErrc::head_out_of_range);
  EXPECT_FALSE(q.should_interrupt());
  EXPECT_FALSE(q.enable_notifications());
}

// Guest RAM in two regions with a hole: buffers spanning the boundary of
// adjacent regions work, spans stop at region ends.
struct TwoRegions final : GuestMemory {
  std::vector<uint8_t> a = std::vector<uint8_t>(0x10000), b = std::vector<uint8_t>(0x10000);
  // [0x100000, 0x110000) -> a, [0x110000, 0x120000) -> b (adjacent in gpa, not in host).
  uint8_t* span(uint64_t gpa, uint64_t len, uint64_t& n) override {
    n = 0;
    if (len == 0) return nullptr;
    std::vector<uint8_t>* r = nullptr;
    uint64_t base = 0;
    if (gpa >= 0x100000 && gpa < 0x110000) r = &a, base = 0x100000;
    else if (gpa >= 0x110000 && gpa < 0x120000) r = &b, base = 0x110000;
    if (!r) return nullptr;
    uint64_t room = base + 0x10000 - gpa;
    n = len < room ? len : room;
    return r->data() + (gpa - base);
  }
};

TEST(VirtqueueRegions, BufferAcrossAdjacentRegionsIsSplitIntoSpans) {
  TwoRegions mem;
  std::vector<QueueError> errors;
  Virtqueue q;
  q.init(0, 4, [](void* c, uint16_t qi, VirtioErrc e, uint64_t v) {
    static_cast<std::vector<QueueError>*>(c)->push_back({qi, e, v});
  }, &errors);
  // Rings at the start of region a (host buffers of std::vector are aligned).
  auto put = [&](uint64_t gpa, const void* p, size_t n) { ASSERT_TRUE(mem.write(gpa, p, n)); };
  uint64_t desc = 0x100000, avail = 0x100100, used = 0x100200;
  q.set_desc_gpa(desc);
  q.set_driver_gpa(avail);
  q.set_device_gpa(used);
  ASSERT_TRUE(q.enable(mem, 0));
  uint64_t buf = 0x10fff0;  // 32 bytes: 16 in a, 16 in b
  uint8_t d[16] = {};
  std::memcpy(d, &buf, 8);
  uint32_t len = 32;
  std::memcpy(d + 8, &len, 4);
  uint16_t flags = vs::kDescWrite;
  std::memcpy(d + 12, &flags, 2);
  put(desc, d, 16);
  uint16_t idx = 1, head = 0;
  put(avail + 4, &head, 2);
  put(avail + 2, &idx, 2);
  DescChain c;
  ASSERT_TRUE(q.pop(c));
  ChainCursor out(q, c, ChainCursor::Part::writable);
  uint8_t* p;
  uint64_t n;
  ASSERT_TRUE(out.next_span(100, p, n));
  EXPECT_EQ(n, 16u);
  EXPECT_EQ(p, mem.a.data() + 0xfff0);
  ASSERT_TRUE(out.next_span(100, p, n));
  EXPECT_EQ(n, 16u);
  EXPECT_EQ(p, mem.b.data());
  EXPECT_FALSE(out.next_span(100, p, n));
  EXPECT_TRUE(errors.empty());
  // A buffer running past region b into the hole is refused at pop().
  buf = 0x11fff0;
  std::memcpy(d, &buf, 8);
  put(desc, d, 16);
  idx = 2;
  put(avail + 6, &head, 2);
  put(avail + 2, &idx, 2);
  EXPECT_FALSE(q.pop(c));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, VirtioErrc::buffer_not_in_ram);
}

// Random descriptor tables, available rings and indirect tables: every pop
// either yields a chain whose buffers lie in RAM (and the cursors walk it
// without error) or stops the queue with an error — never an out-of-bounds
// access (ASan) or undefined behaviour (UBSan).
TEST_F(VirtqueueTest, RandomRingsNeverEscapeGuestRam) {
  cos::test::Rng rng(0x5eed);
  unsigned valid = 0, broken = 0;
  for (int round = 0; round < 3000; ++round) {
    errors.clear();
    uint16_t size = static_cast<uint16_t>(1u << (rng() % 5));
    DriverQueue& d = setup(size, (rng() & 1 ? vs::feature(vs::kFIndirectDesc) : 0));
    uint64_t area = ram.alloc(256, 16);
    auto rand_addr = [&]() -> uint64_t {
      switch (rng() % 4) {
        case 0: return area + rng() % 256;
        case 1: return ram.end() - rng() % 64;
        case 2: return (uint64_t(rng()) << 32) | rng();
        default: return area;
      }
    };
    for (uint16_t i = 0; i < size; ++i) {
      uint16_t flags = static_cast<uint16_t>(rng() & 7);
      uint32_t len = rng() % 3 == 0 ? rng() : rng() % 64;
      if (flags & vs::kDescIndirect && rng() % 2) {
        // A plausible indirect table in the area.
        len = 16 * (1 + rng() % 8);
        d.set_desc(i, area, len, flags, static_cast<uint16_t>(rng() % (size + 2)));
        for (uint32_t k = 0; k < len / 16 && k < 16; ++k) {
          uint64_t e = area + 16 * k;
          if (e + 16 > area + 256) break;
          ram.put64(e, rand_addr());
          ram.put32(e + 8, rng() % 32);
          ram.put16(e + 12, static_cast<uint16_t>(rng() & 7));
          ram.put16(e + 14, static_cast<uint16_t>(rng() % 10));
        }
      } else {
        d.set_desc(i, rand_addr(), len, flags, static_cast<uint16_t>(rng() % (size + 2)));
      }
    }
    unsigned n = 1 + rng() % 3;
    for (unsigned k = 0; k < n; ++k) d.publish(static_cast<uint16_t>(rng() % (size + 1)));
    DescChain c;
    while (q.pop(c)) {
      ++valid;
      ChainCursor in(q, c, ChainCursor::Part::readable);
      std::vector<uint8_t> tmp(static_cast<size_t>(c.readable));
      EXPECT_TRUE(in.read(tmp.data(), c.readable));
      ChainCursor out(q, c, ChainCursor::Part::writable);
      EXPECT_TRUE(out.skip(c.writable));
      q.push(c, c.writable);
    }
    if (q.broken()) {
      ++broken;
      EXPECT_EQ(errors.size(), 1u);
    }
  }
  // Both outcomes occur (the test exercises both paths).
  EXPECT_GT(valid, 100u);
  EXPECT_GT(broken, 100u);
}

}  // namespace
