// The kernel's private copy of a vCPU state page (src/kernel/state_page_copy.hpp):
// exactly the fields of the requested vm::Load groups are copied.
#include <gtest/gtest.h>

#include <cstring>

#include "kernel/state_page_copy.hpp"

namespace {

using cos::vm::StatePage;
namespace L = cos::vm::Load;

// A source page with every byte set and a destination with every byte 0xee:
// after the copy, a byte equals the source's exactly when it was copied.
struct Pages {
  StatePage src, dst;
  Pages() {
    auto* p = reinterpret_cast<uint8_t*>(&src);
    for (size_t i = 0; i < sizeof(src); ++i) p[i] = static_cast<uint8_t>(i % 251);
    std::memset(&dst, 0xee, sizeof(dst));
  }
  bool copied(size_t offset, size_t size) const {
    return std::memcmp(reinterpret_cast<const uint8_t*>(&src) + offset, reinterpret_cast<const uint8_t*>(&dst) + offset,
                       size) == 0;
  }
  size_t copied_bytes() const {
    size_t n = 0;
    for (size_t i = 0; i < sizeof(src); ++i)
      n += reinterpret_cast<const uint8_t*>(&src)[i] == reinterpret_cast<const uint8_t*>(&dst)[i];
    return n;
  }
};

#define FIELD(f) offsetof(StatePage, f), sizeof(StatePage::f)

TEST(StatePageCopy, RegistersOnlyCopiesRegsAndRequest) {
  Pages p;
  cos::copy_load_groups(p.dst, p.src, L::regs);
  EXPECT_TRUE(p.copied(FIELD(regs)));
  EXPECT_TRUE(p.copied(FIELD(request)));
  EXPECT_FALSE(p.copied(FIELD(cr0)));
  EXPECT_FALSE(p.copied(FIELD(exit)));
  EXPECT_FALSE(p.copied(FIELD(save_mask)));
  // A byte can match by chance (0xee in the pattern): allow a handful.
  EXPECT_LE(p.copied_bytes(), sizeof(cos::vm::Regs) + sizeof(uint32_t) + 4);
}

TEST(StatePageCopy, EachGroupCopiesItsFields) {
  struct Case {
    uint64_t mask;
    size_t first, last_end;
  } cases[] = {
      {L::cr, offsetof(StatePage, cr0), offsetof(StatePage, dr7) + 8},
      {L::segments, offsetof(StatePage, es), offsetof(StatePage, ldtr) + sizeof(cos::vm::Segment)},
      {L::dtables, offsetof(StatePage, gdtr), offsetof(StatePage, idtr) + sizeof(StatePage::idtr)},
      {L::syscall_msrs, offsetof(StatePage, star), offsetof(StatePage, sysenter_eip) + 8},
      {L::inject, offsetof(StatePage, inject), offsetof(StatePage, inject) + sizeof(StatePage::inject)},
      {L::intercepts, offsetof(StatePage, exception_bitmap), offsetof(StatePage, intercept_flags) + 4},
      {L::interruptibility, offsetof(StatePage, interrupt_shadow), offsetof(StatePage, interrupt_shadow) + 4},
  };
  for (const Case& c : cases) {
    Pages p;
    cos::copy_load_groups(p.dst, p.src, c.mask);
    EXPECT_TRUE(p.copied(c.first, c.last_end - c.first)) << "mask " << c.mask;
    EXPECT_FALSE(p.copied(FIELD(regs))) << "mask " << c.mask;
  }
}

TEST(StatePageCopy, AllGroupsCopyEverythingTheKernelLoads) {
  Pages p;
  cos::copy_load_groups(p.dst, p.src, L::all);
  EXPECT_TRUE(p.copied(offsetof(StatePage, regs), offsetof(StatePage, reserved0) - offsetof(StatePage, regs)));
  EXPECT_TRUE(p.copied(FIELD(request)));
  // What the kernel writes and the VMM reads is not taken from the VMM.
  EXPECT_FALSE(p.copied(FIELD(magic)));
  EXPECT_FALSE(p.copied(FIELD(exits)));
  EXPECT_FALSE(p.copied(FIELD(exit_pending)));
}

}  // namespace
