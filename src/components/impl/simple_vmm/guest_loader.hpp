// Puts the guest bootloader, the bzImage, the initramfs, the command line
// and the boot-info block into guest RAM (layout: cos/guest_boot.hpp).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cos/guest_boot.hpp"
#include "cos/limits.hpp"
#include "vmrt/vmrt.hpp"

namespace cos::simple_vmm {

struct GuestImages {
  const uint8_t* bootloader;
  size_t bootloader_size;
  const uint8_t* kernel;  ///< a bzImage file
  size_t kernel_size;
  const uint8_t* initrd;  ///< may be null
  size_t initrd_size;
  const char* cmdline;
};

/// Where things ended up (guest-physical).
struct GuestLayout {
  uint64_t ram_bytes;
  uint32_t initrd_gpa;
  /// Reserved region for firmware tables (MP tables) below 1 MiB.
  uint32_t tables_gpa;
  uint32_t tables_size;
};

/// The Linux boot protocol's initrd_addr_max default for protocol >= 2.03
/// (Documentation/arch/x86/boot.rst): the initrd must end below this
/// (cos::guest::kInitrdTop; the composer checks the same layout).
inline constexpr uint64_t kInitrdAddrMax = cos::guest::kInitrdTop - 1;

/// Firmware tables (ACPI, with the RSDP in its scan range, and MP tables)
/// in the BIOS area, for every kind of guest.
inline constexpr uint32_t kTablesGpa = 0xe0000;
inline constexpr uint32_t kTablesSize = 0x20000;

/// Top of conventional memory as PCs report it (the EBDA starts here).
inline constexpr uint32_t kConventionalTop = 0x9fc00;

/// The PC memory map of a guest with `ram_bytes` of RAM: RAM below
/// kConventionalTop, reserved up to 1 MiB (EBDA, VGA hole, BIOS area with
/// the ACPI and MP tables), RAM from 1 MiB up to the end or to 3 GiB
/// (cos_limits::kGuestLowRamTop), and the rest from 4 GiB
/// (kGuestHighRamBase): the PCI MMIO window, I/O APIC and LAPIC lie in the
/// hole between. Writes the entries to `out` (room for
/// cos::guest::kMaxE820) and returns how many (3 or 4).
unsigned pc_memory_map(uint64_t ram_bytes, cos::guest::E820Entry* out);

/// Checks the bzImage setup header (boot_flag 0xAA55 at 0x1fe, "HdrS" at
/// 0x202, protocol >= 2.06 at 0x206, LOADED_HIGH in loadflags at 0x211).
/// Returns nullptr if it is one, else what is wrong.
const char* check_bzimage(const uint8_t* image, size_t size);

/// Copies everything into the VM's RAM (which must be mapped at gpa 0,
/// `ram_bytes` long) and writes the boot-info block with the e820 map.
vmrt::Status load_guest(vmrt::Vm& vm, uint64_t ram_bytes, const GuestImages& img, GuestLayout& out);

}  // namespace cos::simple_vmm
