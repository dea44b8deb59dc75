// The guest bootloader's constants (guest/bootloader_layout.h, used by
// guest_realmode.S) against the contract in cos/guest_boot.hpp, and the
// built guest.img: its header, its one VMCALL, its size.
#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <iterator>
#include <vector>

#include "bootloader_layout.h"
#include "cos/guest_boot.hpp"

namespace {

namespace g = cos::guest;

static_assert(GB_BOOTLOADER_GPA == g::kBootloaderGpa);
static_assert(GB_BOOTLOADER_MAX == g::kBootloaderMaxBytes);
static_assert(GB_BOOTINFO_GPA == g::kBootInfoGpa);
static_assert(GB_BOOT_PARAMS_GPA == g::kBootParamsGpa);
static_assert(GB_KERNEL32_GPA == g::kKernel32Gpa);
static_assert(GB_BOOTINFO_MAGIC == g::kBootInfoMagic);
static_assert(GB_BOOTINFO_VERSION == g::kBootInfoVersion);
static_assert(GB_MAX_E820 == g::kMaxE820);
static_assert(GB_E820_RAM == g::kE820Ram);
static_assert(GB_HYPERCALL_BOOT_ERROR == g::kHypercallBootError);
static_assert(GB_ERR_BAD_MAGIC == g::kBootErrorBadMagic);
static_assert(GB_ERR_OLD_PROTOCOL == g::kBootErrorOldProtocol);
static_assert(GB_ERR_NOT_BZIMAGE == g::kBootErrorNotBzImage);
static_assert(GB_ERR_TOO_BIG == g::kBootErrorTooBig);
static_assert(GB_ERR_BAD_INFO == g::kBootErrorBadInfo);

static_assert(BI_MAGIC == offsetof(g::GuestBootInfo, magic));
static_assert(BI_VERSION == offsetof(g::GuestBootInfo, version));
static_assert(BI_KERNEL_GPA == offsetof(g::GuestBootInfo, kernel_gpa));
static_assert(BI_KERNEL_SIZE == offsetof(g::GuestBootInfo, kernel_size));
static_assert(BI_INITRD_GPA == offsetof(g::GuestBootInfo, initrd_gpa));
static_assert(BI_INITRD_SIZE == offsetof(g::GuestBootInfo, initrd_size));
static_assert(BI_CMDLINE_GPA == offsetof(g::GuestBootInfo, cmdline_gpa));
static_assert(BI_CMDLINE_SIZE == offsetof(g::GuestBootInfo, cmdline_size));
static_assert(BI_E820_COUNT == offsetof(g::GuestBootInfo, e820_count));
static_assert(BI_E820 == offsetof(g::GuestBootInfo, e820));
static_assert(BI_E820_ENTRY_SIZE == sizeof(g::E820Entry));
static_assert(BI_SIZE == sizeof(g::GuestBootInfo));
static_assert(offsetof(g::E820Entry, addr) == 0 && offsetof(g::E820Entry, size) == 8 &&
              offsetof(g::E820Entry, type) == 16);
// The boot-info block, the stack below it and the A20 probe stay clear of the image.
static_assert(GB_BOOTINFO_GPA + BI_SIZE <= GB_A20_PROBE && GB_A20_PROBE + 4 <= GB_BOOTLOADER_GPA);
static_assert(GB_STACK_TOP <= GB_BOOTINFO_GPA);

uint32_t le32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 3]) << 24;
}

TEST(GuestImg, HeaderAndTheOneVmcall) {
  std::ifstream in(COS_GUEST_IMG, std::ios::binary);
  ASSERT_TRUE(in) << COS_GUEST_IMG;
  const std::vector<uint8_t> img((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(img.size(), 20u);
  EXPECT_LE(img.size(), size_t(g::kBootloaderMaxBytes));
  EXPECT_EQ(img[0], 0xeb);  // short jump over the header: the real-mode entry at 0000:8000
  EXPECT_EQ(le32(img, 4), uint32_t(GUEST_IMG_MAGIC));
  EXPECT_EQ(le32(img, 8), uint32_t(GUEST_IMG_HDR_VERSION));
  EXPECT_EQ(le32(img, 16), g::kHypercallBootError);
  const uint32_t at = le32(img, GUEST_IMG_HDR_VMCALL_OFFSET);
  ASSERT_LE(at + 3, img.size());
  EXPECT_EQ(img[at], 0x0f);
  EXPECT_EQ(img[at + 1], 0x01);
  EXPECT_EQ(img[at + 2], 0xc1);
  int vmcalls = 0;
  for (size_t i = 0; i + 3 <= img.size(); ++i) vmcalls += img[i] == 0x0f && img[i + 1] == 0x01 && img[i + 2] == 0xc1;
  EXPECT_EQ(vmcalls, 1) << "a VMM patching the header's VMCALL must find no other";
}

}  // namespace
