// Every limit of the boot path that a composition script can run into, in
// one table: the composer refuses a script that exceeds one (file:line:col,
// exit status 2; docs/composition.md, "Limits"), and the kernel, the booter,
// the info pages (cos/bootinfo.hpp, cos/compinfo.hpp) and the guest layout
// (cos/guest_boot.hpp) define their constants and array sizes from it, with
// static_asserts where a struct holds the limit. Change a limit here and both
// sides follow.
//
// Plain C++ in namespace cos_limits (not cos::), because the composer's
// TOML++ translation units cannot see a namespace named `cos` (see
// tools/composer/diagnostic.hpp); freestanding (<stdint.h> only).
#pragma once
#include <stdint.h>

namespace cos_limits {

inline constexpr uint64_t kPageBytes = 4096;
inline constexpr uint64_t kMiB = 1ull << 20;
inline constexpr uint64_t kGiB = 1ull << 30;

// ------------------------------------------------------------- the system

/// Components in one system, the booter included: the booter refuses a
/// manifest with more (booter.hpp, its table of built components).
inline constexpr uint32_t kMaxComponents = 64;
/// Emulated CPUs (`[system] cpus`): the kernel keeps per-CPU descriptor
/// tables and stacks for this many (x86_64/gdt.hpp) and parks the rest.
inline constexpr uint32_t kMaxCpus = 8;
/// Multiboot2 modules the kernel hands the booter (BootInfo::modules);
/// GRUB may load more, the kernel drops them. A system uses one for the
/// manifest, one per distinct component image and three per guest.
inline constexpr uint32_t kMaxBootModules = 32;
/// Longest module command line the kernel keeps (BootInfo's Module::name
/// holds it with its NUL; longer ones are truncated, and the booter then
/// cannot find the module by name).
inline constexpr uint32_t kMaxModuleNameBytes = 47;
/// Multiboot2 module addresses are 32-bit (mod_start, mod_end: Multiboot2
/// specification 1.0, 3.6.6 "Modules"), so every boot module lies below
/// 4 GiB: the modules of a system together are smaller than this.
inline constexpr uint64_t kBootModulesTop = 4 * kGiB;

// ------------------------------------------------------------------ names

/// System, component and interface names, in bytes (CompInfo::name,
/// CompInfo::Dep::interface and comp_create's name hold 31 plus a NUL).
inline constexpr uint32_t kMaxNameBytes = 31;
/// Image file names "<stem>.elf" are module command lines.
inline constexpr uint32_t kMaxImageStemBytes = kMaxModuleNameBytes - 4;
/// A guest's longest module name is "<component>.guest.bootloader".
inline constexpr uint32_t kGuestModuleSuffixBytes = 17;  // ".guest.bootloader"
inline constexpr uint32_t kMaxGuestComponentNameBytes = kMaxModuleNameBytes - kGuestModuleSuffixBytes;
/// Most vCPUs a VMM's guest may have (simple_vmm's `vcpus` parameter; its
/// APIC bus, MADT and MP table hold this many; the composer checks it).
inline constexpr uint32_t kMaxGuestVcpus = 8;

// ------------------------------------------------------ a component's info page

/// Dependencies (sinv gates) per component (CompInfo::deps).
inline constexpr uint32_t kMaxDeps = 24;
/// Parameters per component (CompInfo::params); the booter copies no more.
inline constexpr uint32_t kMaxParams = 16;
/// Parameter key and value lengths in bytes (CompInfo::Param holds each
/// with its NUL; the booter cuts longer ones).
inline constexpr uint32_t kMaxParamKeyBytes = 31;
inline constexpr uint32_t kMaxParamValueBytes = 95;
/// I/O-port ranges per component (CompInfo::ioports).
inline constexpr uint32_t kMaxIoportRanges = 8;
/// IRQ lines per component (CompInfo::irqs): every ISA line fits.
inline constexpr uint32_t kMaxIrqs = 16;
/// Blobs (boot modules copied into a component) per component
/// (CompInfo::blobs); a guest uses 3: kernel, initramfs, bootloader; the
/// rest are `files` of the script.
inline constexpr uint32_t kMaxBlobs = 8;
inline constexpr uint32_t kGuestBlobs = 3;
/// Blob names in bytes (CompInfo::Blob::name, plus its NUL).
inline constexpr uint32_t kMaxBlobNameBytes = 31;
/// The guest kernel's command line in bytes (CompInfo::guest_cmdline holds
/// it with its NUL).
inline constexpr uint32_t kMaxGuestCmdlineBytes = 255;
/// Channels ([[channel]] in the script) one component may be an end of
/// (CompInfo::channels).
inline constexpr uint32_t kMaxChannels = 8;
/// A channel's shared memory: a multiple of 4 KiB in [kMinChannelBytes,
/// kMaxChannelBytes].
inline constexpr uint64_t kMinChannelBytes = 2 * kPageBytes;
inline constexpr uint64_t kMaxChannelBytes = 64 * kMiB;
/// Channels of the whole system (the booter's table of them).
inline constexpr uint32_t kMaxSystemChannels = 64;
/// Slots of a component's capability table as the booter makes it (4 pages
/// of 64; slot 0 unused): every grant of a script must fit.
inline constexpr uint32_t kComponentSlots = 256;

// ----------------------------------------- a component's address space (booter)

/// The info page (CompInfo, kInfoBytes), read-only.
inline constexpr uint64_t kInfoVaddr = 0x10000000;
inline constexpr uint64_t kInfoBytes = 2 * kPageBytes;
/// Top of the main thread's stack; the stack grows down towards the info page.
inline constexpr uint64_t kStackTop = 0x20000000;
/// Largest main-thread stack (`stack`): it must end above the info page and
/// an unmapped guard page.
inline constexpr uint64_t kMaxStackBytes = kStackTop - kInfoVaddr - kInfoBytes - kPageBytes;
/// Component i's heap is at (i + 1) * kHeapStride; a heap (`memory`) is at
/// most one stride, so heaps never meet.
inline constexpr uint64_t kHeapStride = 4 * kGiB;
inline constexpr uint64_t kMaxHeapBytes = kHeapStride;
/// Blob j is mapped read-only at kBlobWindow + j * kBlobStride; a blob is
/// smaller than one stride (the booter refuses larger ones).
inline constexpr uint64_t kBlobWindow = 0x0000200000000000ull;
inline constexpr uint64_t kBlobStride = 4 * kGiB;
inline constexpr uint64_t kMaxBlobBytes = kBlobStride - 1;
/// Channel j of a component (its j-th in CompInfo::channels) is mapped
/// read-write at kChannelWindow + j * kChannelStride, in both ends.
inline constexpr uint64_t kChannelWindow = 0x0000300000000000ull;
inline constexpr uint64_t kChannelStride = 1 * kGiB;
static_assert(kBlobWindow + kMaxBlobs * kBlobStride <= kChannelWindow);
static_assert(kMaxChannelBytes <= kChannelStride);

// ------------------------------------------------------------------ grants

/// Largest `untyped` grant (composer policy): room for the largest guest
/// (kMaxGuestRamBytes) and its tables. The kernel uses host RAM up to its
/// direct map's end (64 GiB); one grant is carved from one contiguous range
/// of host RAM (QEMU's pc machine with more than 3.5 GiB: 3 GiB below 4 GiB,
/// the rest from 4 GiB).
inline constexpr uint64_t kMaxUntypedBytes = 20 * kGiB;

/// The largest piece of host RAM one `untyped` grant can come from, for a
/// machine of `memory_bytes` ([system] memory) laid out as QEMU's pc
/// machine does: below 3.5 GiB all RAM is one range from 0; from 3.5 GiB on,
/// 3 GiB are below 4 GiB and the rest starts at 4 GiB. The kernel keeps
/// 1/128 of each range for page metadata (32 bytes per 4 KiB page). An upper
/// bound: the kernel image, boot modules and the booter's objects take more
/// of the range below 4 GiB.
inline constexpr uint64_t largest_host_ram_run(uint64_t memory_bytes) {
  const uint64_t run = memory_bytes < 3 * kGiB + kGiB / 2     ? memory_bytes
                       : memory_bytes - 3 * kGiB > 3 * kGiB ? memory_bytes - 3 * kGiB
                                                            : 3 * kGiB;
  return run - run / 128;
}

// ------------------------------------------- guests (cos/guest_boot.hpp layout)

/// Guest RAM (`ram`): a multiple of kGuestRamAlign in [kMinGuestRamBytes,
/// kMaxGuestRamBytes]. Its first kGuestLowRamTop bytes are at
/// guest-physical 0; the rest starts at kGuestHighRamBase, above the PC's
/// 32-bit MMIO hole (simple_vmm's PCI MMIO window 0xc0000000-0xcfffffff, the
/// I/O APIC at 0xfec00000, the LAPIC at 0xfee00000), as on QEMU's pc machine.
/// Guest files (kernel, initramfs, Multiboot modules) go below the hole.
inline constexpr uint64_t kGuestRamAlign = 2 * kMiB;
inline constexpr uint64_t kMinGuestRamBytes = 16 * kMiB;
inline constexpr uint64_t kMaxGuestRamBytes = 16 * kGiB;
inline constexpr uint64_t kGuestLowRamTop = 3 * kGiB;
inline constexpr uint64_t kGuestHighRamBase = 4 * kGiB;
/// The part of `ram_bytes` of guest RAM below the hole, at guest-physical 0.
inline constexpr uint64_t guest_low_ram(uint64_t ram_bytes) {
  return ram_bytes < kGuestLowRamTop ? ram_bytes : kGuestLowRamTop;
}
/// The part from kGuestHighRamBase (0 for a guest of at most 3 GiB).
inline constexpr uint64_t guest_high_ram(uint64_t ram_bytes) { return ram_bytes - guest_low_ram(ram_bytes); }
/// The guest bootloader (guest.img) is loaded at 0x8000 and may be this long.
inline constexpr uint32_t kGuestBootloaderMaxBytes = 0x7000;
/// Where the VMM puts the bzImage file, and where the protected-mode kernel
/// is loaded (the Linux boot protocol's 0x100000).
inline constexpr uint64_t kGuestKernelFileGpa = 0x4000000;  // 64 MiB
inline constexpr uint64_t kGuestKernel32Gpa = 0x100000;
/// The VMM puts the initramfs as high as it can below this (the boot
/// protocol's default initrd_addr_max, Linux Documentation/arch/x86/boot.rst),
/// page aligned, above the bzImage file.
inline constexpr uint64_t kGuestInitrdTop = 0x38000000;
/// e820 entries the VMM may pass the bootloader (GuestBootInfo::e820).
inline constexpr uint32_t kMaxE820 = 16;
/// A Multiboot guest ([component.guest] kind = "multiboot"): at most this
/// many modules (cos/guest_modules.hpp), each command line at most this
/// long, and a kernel that loads at or above 1 MiB (simple_vmm's rule, as
/// GRUB's).
inline constexpr uint32_t kMaxGuestModules = 16;
inline constexpr uint32_t kMaxGuestModuleCmdlineBytes = kMaxGuestCmdlineBytes;
inline constexpr uint64_t kMultibootMinLoad = 0x100000;

/// Untyped memory a VMM built on vmrt (src/components/lib/vmrt, such as
/// simple_vmm) needs for a guest of `ram_bytes` with one vCPU, in bytes:
/// the RAM itself; the VM object (2 pages, cos/abi.hpp vm_create); the
/// 4-level tables that map it 4 KiB at a time into the guest-physical
/// address space and into the VMM's window (per address space one page
/// table per 2 MiB and one directory per 1 GiB, plus one each for an
/// unaligned start and the vCPU state page, one more of each for RAM above
/// 4 GiB, and a PDPT); the vCPU (at most
/// 3 pages, vcpu_create), its state page and its receive endpoint.
/// `ram_bytes` is at most kMaxGuestRamBytes (no overflow).
inline constexpr uint64_t guest_untyped_needed(uint64_t ram_bytes) {
  const uint64_t high = guest_high_ram(ram_bytes) ? 1 : 0;
  const uint64_t tables_per_space = (ram_bytes + 2 * kMiB - 1) / (2 * kMiB) + 1 + high +  // page tables
                                    (ram_bytes + kGiB - 1) / kGiB + 1 + high +            // page directories
                                    1;                                                    // PDPT
  const uint64_t pages = 2 + 2 * tables_per_space + 3 + 1 + 1;
  return ram_bytes + pages * kPageBytes;
}

}  // namespace cos_limits
