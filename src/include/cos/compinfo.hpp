// The component info page: what the booter tells each component it builds,
// mapped read-only at cos::boot::kInfoVaddr and passed to its entry in rdi.
// The array sizes come from cos/limits.hpp, which the composer checks
// scripts against.
#pragma once
#include <stdint.h>

#include "cos/limits.hpp"

namespace cos::boot {

inline constexpr uint64_t kCompInfoMagic = 0x4f464e49504d4f43ull;  // "COMPINFO"
inline constexpr unsigned kMaxDeps = cos_limits::kMaxDeps;
inline constexpr unsigned kMaxParams = cos_limits::kMaxParams;
inline constexpr unsigned kMaxIoports = cos_limits::kMaxIoportRanges;
inline constexpr unsigned kMaxIrqs = cos_limits::kMaxIrqs;
/// Boot modules ("blobs") a component can receive: a VMM's guest kernel,
/// initramfs and bootloader ([component.guest] in its composition script).
inline constexpr unsigned kMaxBlobs = cos_limits::kMaxBlobs;
/// Where the booter maps blob j, read-only: kBlobWindow + j * kBlobStride.
inline constexpr uint64_t kBlobWindow = cos_limits::kBlobWindow;
inline constexpr uint64_t kBlobStride = cos_limits::kBlobStride;  // 4 GiB per blob
/// Channels ([[channel]]): shared memory between two components, mapped
/// read-write at kChannelWindow + j * kChannelStride in each end.
inline constexpr unsigned kMaxChannels = cos_limits::kMaxChannels;
inline constexpr uint64_t kChannelWindow = cos_limits::kChannelWindow;
inline constexpr uint64_t kChannelStride = cos_limits::kChannelStride;
/// The info page's size in bytes (two pages at kInfoVaddr).
inline constexpr uint64_t kInfoBytes = cos_limits::kInfoBytes;
/// Size of CompInfo::guest_cmdline (the command line plus its NUL).
inline constexpr unsigned kGuestCmdlineBytes = cos_limits::kMaxGuestCmdlineBytes + 1;
/// CompInfo::guest_kind ([component.guest] kind; = manifest guest_kind_*).
inline constexpr uint32_t kGuestLinux = 0;      ///< blobs guest.kernel (bzImage), guest.initramfs, guest.bootloader
inline constexpr uint32_t kGuestMultiboot = 1;  ///< blobs guest.kernel (Multiboot), guest.modules (if any)
/// CompInfo::guest_flags bit: the guest's isa-debug-exit write of v ends the
/// run with status (v << 1) | 1 ([component.guest] exit_status = "debug-exit").
inline constexpr uint32_t kGuestFlagDebugExit = 1u << 0;
/// CompInfo::Blob::flags bit: mapped read-write (`files` entry with
/// `writable = true`); otherwise read-only.
inline constexpr uint32_t kBlobWritable = 1u << 0;

struct CompInfo {
  uint64_t magic;
  char name[cos_limits::kMaxNameBytes + 1];
  uint32_t id;         ///< index in the boot manifest
  uint32_t dep_count;
  uint32_t param_count;
  uint32_t reserved;
  uint64_t heap_base;  ///< user address of the heap
  uint64_t heap_size;  ///< bytes
  uint64_t stack_top;
  // Capabilities the composition script granted (slot 0 = not granted).
  uint64_t untyped_slot;   ///< untyped memory (`untyped = "<size>"`)
  uint64_t untyped_bytes;  ///< its size
  uint64_t captbl_slot;    ///< its own capability table (`caps = ["captbl"]`)
  uint64_t pgtbl_slot;     ///< its own page table (`caps = ["pgtbl"]`)
  uint64_t comp_slot;      ///< itself (`caps = ["comp"]`)
  uint64_t timer_slot;     ///< the timer (`hardware.timer = true`)
  uint64_t console_slot;   ///< console input (`hardware.console = true`)
  uint32_t ioport_count;
  uint32_t irq_count;
  struct IoPorts {
    uint64_t slot;
    uint32_t first, count;  ///< port range [first, first + count)
  } ioports[kMaxIoports];
  struct Irq {
    uint64_t slot;
    uint32_t line, reserved;
  } irqs[kMaxIrqs];  ///< one single-line IRQ capability per `hardware.irqs` entry
  /// First slot of the component's table the booter left empty.
  uint64_t first_free_slot;
  struct Dep {
    char interface[cos_limits::kMaxNameBytes + 1];
    uint64_t slot;  ///< sinv capability slot in the component's table
  } deps[kMaxDeps];
  struct Param {
    char key[cos_limits::kMaxParamKeyBytes + 1];
    char value[cos_limits::kMaxParamValueBytes + 1];
  } params[kMaxParams];
  /// Boot modules copied into the component (blobs[j] at kBlobWindow + j *
  /// kBlobStride), read-only unless flags has kBlobWritable. A VMM with
  /// [component.guest] gets "guest.kernel" (the bzImage), "guest.initramfs"
  /// and "guest.bootloader" (guest.img), in this order; a Multiboot guest
  /// "guest.kernel" and, if it has modules, "guest.modules"
  /// (cos/guest_modules.hpp); then come its `files`, "file.<name>", in
  /// script order (docs/composition.md, "Files").
  struct Blob {
    char name[cos_limits::kMaxBlobNameBytes + 1];  ///< NUL-terminated
    uint64_t vaddr;  ///< first byte
    uint64_t size;   ///< bytes (the mapping is rounded up to whole pages, zero-filled)
    uint32_t flags;  ///< kBlob* bits
    uint32_t reserved;
  } blobs[kMaxBlobs];
  uint32_t blob_count;
  uint32_t guest_cmdline_size;  ///< bytes of guest_cmdline without the NUL
  /// Guest RAM in bytes ([component.guest] ram); 0 = no guest.
  uint64_t guest_ram_bytes;
  uint32_t guest_kind;   ///< kGuestLinux or kGuestMultiboot
  uint32_t guest_flags;  ///< kGuestFlag* bits
  /// The guest kernel's command line, NUL-terminated.
  char guest_cmdline[kGuestCmdlineBytes];
  /// The channels this component is an end of, in script order
  /// ([[channel]], docs/composition.md "Channels"). Each is `bytes` of
  /// memory shared with the other end (zeroed at boot), mapped read-write
  /// at `vaddr`, plus a send endpoint that notifies the peer's
  /// notify_rcv_slot.
  struct Channel {
    char name[cos_limits::kMaxNameBytes + 1];  ///< the channel's name, NUL-terminated
    uint64_t vaddr;      ///< first byte of the shared memory (kChannelWindow + j * kChannelStride)
    uint64_t bytes;      ///< its size, a multiple of 4096
    uint64_t asnd_slot;  ///< send endpoint: asnd notifies the peer's notification endpoint
    uint32_t end;        ///< 0 or 1: this component's place in the script's `ends`
    uint32_t peer;       ///< the other end's component id (CompInfo::id)
  } channels[kMaxChannels];
  uint32_t channel_count;
  uint32_t reserved2;
  /// The component's notification endpoint (rcv; read and write): every
  /// channel's peer notifies it. 0 if the component has no channel.
  uint64_t notify_rcv_slot;
};
static_assert(sizeof(CompInfo) <= kInfoBytes);
// What the composer allows must fit the page (cos/limits.hpp).
static_assert(sizeof(CompInfo::name) == cos_limits::kMaxNameBytes + 1);
static_assert(sizeof(CompInfo::Dep::interface) == cos_limits::kMaxNameBytes + 1);
static_assert(sizeof(CompInfo::Param::key) == cos_limits::kMaxParamKeyBytes + 1);
static_assert(sizeof(CompInfo::Param::value) == cos_limits::kMaxParamValueBytes + 1);
static_assert(sizeof(CompInfo::Blob::name) == cos_limits::kMaxBlobNameBytes + 1);
static_assert(sizeof(CompInfo::deps) / sizeof(CompInfo::deps[0]) == cos_limits::kMaxDeps);
static_assert(sizeof(CompInfo::params) / sizeof(CompInfo::params[0]) == cos_limits::kMaxParams);
static_assert(sizeof(CompInfo::ioports) / sizeof(CompInfo::ioports[0]) == cos_limits::kMaxIoportRanges);
static_assert(sizeof(CompInfo::irqs) / sizeof(CompInfo::irqs[0]) == cos_limits::kMaxIrqs);
static_assert(sizeof(CompInfo::blobs) / sizeof(CompInfo::blobs[0]) == cos_limits::kMaxBlobs);
static_assert(sizeof(CompInfo::channels) / sizeof(CompInfo::channels[0]) == cos_limits::kMaxChannels);
static_assert(sizeof(CompInfo::Channel::name) == cos_limits::kMaxNameBytes + 1);
static_assert(cos_limits::kGuestBlobs <= cos_limits::kMaxBlobs);
static_assert(sizeof(CompInfo::guest_cmdline) == cos_limits::kMaxGuestCmdlineBytes + 1);

}  // namespace cos::boot
