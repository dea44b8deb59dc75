// The contract between simple_vmm and the real-mode guest bootloader
// (guest/guest_realmode.S -> guest.img): where the VMM puts things in guest
// RAM and the boot-info block that tells the bootloader about them.
// All addresses are guest-physical.
#pragma once
#include <stdint.h>

#include "cos/limits.hpp"

namespace cos::guest {

/// The bootloader image is loaded here and started in 16-bit real mode at
/// CS:IP = 0000:8000 with interrupts disabled.
inline constexpr uint32_t kBootloaderGpa = 0x8000;
inline constexpr uint32_t kBootloaderMaxBytes = cos_limits::kGuestBootloaderMaxBytes;  // up to 0xefff
/// The boot-info block (GuestBootInfo).
inline constexpr uint32_t kBootInfoGpa = 0x7000;
/// Where the bootloader builds boot_params (the "zero page", 4 KiB).
inline constexpr uint32_t kBootParamsGpa = 0x10000;
/// The kernel command line (NUL-terminated, at most kCmdlineMaxBytes).
inline constexpr uint32_t kCmdlineGpa = 0x20000;
inline constexpr uint32_t kCmdlineMaxBytes = 4096;
static_assert(cos_limits::kMaxGuestCmdlineBytes < kCmdlineMaxBytes);
/// The VMM puts the initramfs as high as it can below this, page aligned
/// (the boot protocol's default initrd_addr_max + 1).
inline constexpr uint32_t kInitrdTop = cos_limits::kGuestInitrdTop;
/// The whole bzImage file as read from disk; the bootloader copies its
/// protected-mode part to kKernel32Gpa.
inline constexpr uint32_t kKernelFileGpa = cos_limits::kGuestKernelFileGpa;  // 64 MiB
/// The 32-bit kernel's load address (Linux boot protocol: 0x100000).
inline constexpr uint32_t kKernel32Gpa = cos_limits::kGuestKernel32Gpa;

inline constexpr uint32_t kBootInfoMagic = 0x42534f43;  // "COSB"
inline constexpr uint32_t kBootInfoVersion = 1;
inline constexpr unsigned kMaxE820 = cos_limits::kMaxE820;

/// e820 entry types (ACPI spec, "Address Range Types").
inline constexpr uint32_t kE820Ram = 1, kE820Reserved = 2;

struct E820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};

/// Written by the VMM at kBootInfoGpa before the vCPU starts.
struct GuestBootInfo {
  uint32_t magic;          ///< kBootInfoMagic
  uint32_t version;        ///< kBootInfoVersion
  uint32_t kernel_gpa;     ///< the bzImage file (kKernelFileGpa)
  uint32_t kernel_size;    ///< bytes
  uint32_t initrd_gpa;     ///< page aligned, 0 if none
  uint32_t initrd_size;    ///< bytes
  uint32_t cmdline_gpa;    ///< kCmdlineGpa
  uint32_t cmdline_size;   ///< bytes without the NUL
  uint32_t e820_count;
  uint32_t reserved;
  E820Entry e820[kMaxE820];
};
static_assert(sizeof(GuestBootInfo::e820) / sizeof(E820Entry) == cos_limits::kMaxE820);

/// Hypercall numbers (rax at VMCALL/VMMCALL) the bootloader uses.
inline constexpr uint32_t kHypercallBootError = 0xc05b0001;  ///< ebx = error code below; the VM stops
inline constexpr uint32_t kBootErrorBadMagic = 1;     ///< no "HdrS" in the setup header
inline constexpr uint32_t kBootErrorOldProtocol = 2;  ///< boot protocol < 2.06
inline constexpr uint32_t kBootErrorNotBzImage = 3;   ///< LOADED_HIGH not set
inline constexpr uint32_t kBootErrorTooBig = 4;       ///< kernel or initrd does not fit
inline constexpr uint32_t kBootErrorBadInfo = 5;      ///< boot-info block missing or wrong version

}  // namespace cos::guest
