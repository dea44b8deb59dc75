// Loads a Multiboot (v1) kernel and its modules into guest RAM and writes
// the multiboot_info structure, as the Multiboot Specification 0.6.96 says
// (§3.2 machine state, §3.3 boot information): the kernel's segments at
// their load addresses (multiboot/multiboot.hpp), each module page-aligned
// above the kernel, in script order, and below 1 MiB the boot information:
//
//   gpa 0x1000  GDT and TSS (vmrt::write_gdt) for the flat segments at entry
//   gpa 0x2000  multiboot_info (flags: memory, cmdline, mods, mmap, boot loader name)
//   gpa 0x2100  memory map (the PC map of guest_loader.hpp: RAM below 0x9fc00,
//               reserved up to 1 MiB, RAM from 1 MiB to the end)
//   gpa 0x2200  module entries (16 bytes each)
//   gpa 0x2400  boot loader name "cos simple_vmm"
//   gpa 0x3000  command lines: the kernel's, then each module's
//   gpa 0x9000  initial ESP (the specification leaves it undefined)
//
// The vCPU then starts in 32-bit protected mode, paging off, interrupts
// off, flat CS/DS/ES/FS/GS/SS, EAX = 0x2BADB002, EBX = 0x2000, at the
// kernel's entry point.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cos/limits.hpp"
#include "vmrt/vmrt.hpp"

namespace cos::simple_vmm {

inline constexpr uint32_t kMultibootGdtGpa = 0x1000;
inline constexpr uint32_t kMultibootInfoGpa = 0x2000;
inline constexpr uint32_t kMultibootMmapGpa = 0x2100;
inline constexpr uint32_t kMultibootModsGpa = 0x2200;
inline constexpr uint32_t kMultibootNameGpa = 0x2400;
inline constexpr uint32_t kMultibootStringsGpa = 0x3000, kMultibootStringsEnd = 0x8000;
inline constexpr uint32_t kMultibootStackTop = 0x9000;
/// Lowest address a Multiboot kernel may load at (the composer checks it too).
inline constexpr uint64_t kMultibootMinLoad = cos_limits::kMultibootMinLoad;

struct MultibootImages {
  const uint8_t* kernel;
  size_t kernel_size;
  const uint8_t* modules;  ///< the module pack (cos/guest_modules.hpp), or null
  size_t modules_size;
  const char* cmdline;     ///< the kernel's command line
};

/// Where the guest starts.
struct MultibootEntry {
  uint32_t entry;      ///< EIP
  uint32_t info_gpa;   ///< EBX
  uint32_t module_count;
  uint64_t kernel_start, kernel_end;  ///< what the kernel occupies
  uint64_t modules_end;               ///< end of the last module (page aligned)
};

/// Copies kernel and modules into the VM's RAM (mapped at gpa 0, `ram_bytes`
/// long) and writes the boot information. Errors (bad_argument, with the
/// reason in Error::what): not a loadable Multiboot image, a kernel below
/// 1 MiB or beyond RAM, modules that do not fit, a malformed module pack.
vmrt::Status load_multiboot(vmrt::Vm& vm, uint64_t ram_bytes, const MultibootImages& img, MultibootEntry& out);

}  // namespace cos::simple_vmm
