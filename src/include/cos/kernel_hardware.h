/* The hardware the kernel drives itself, which no capability may reach: the
   composer refuses to grant it (file:line:col), the booter refuses to derive
   it and the kernel refuses port I/O and IRQ bindings on it (kernel_owned).
   One table for all three. Plain C++ in the global namespace, so the
   composer (whose TOML++ translation units cannot see namespace cos) can
   include it too. */
#ifndef COS_KERNEL_HARDWARE_H
#define COS_KERNEL_HARDWARE_H

#include <stdint.h>

/// An I/O-port range [first, first + count) and what the kernel uses it for.
struct CosKernelPorts {
  uint32_t first, count;
  const char* what;
};

/// Ports the kernel drives (PC/AT facts: 8259A PIC pair, 8254 PIT and its
/// gate at port 0x61, the COM1 8250 UART that is the kernel console, the
/// emulators' exit ports; the ACPI PM1a control block QEMU's PIIX4 puts at
/// 0x604).
inline constexpr CosKernelPorts kCosKernelPorts[] = {
    {0x20, 2, "the master 8259 PIC"},
    {0x40, 4, "the 8254 PIT"},
    {0x61, 1, "the PIT's gate (system control port B)"},
    {0xa0, 2, "the slave 8259 PIC"},
    {0xf4, 4, "QEMU's isa-debug-exit port (the kernel's power-off)"},
    {0x3f8, 8, "COM1, the kernel console (use hardware.console for input)"},
    {0x604, 2, "the ACPI PM1a control block (the kernel's power-off)"},
    {0x8900, 1, "Bochs' shutdown port (the kernel's power-off)"},
};

/// ISA IRQ lines the kernel keeps: the PIT (0), the PIC cascade (2) and
/// COM1 (4, console input).
inline constexpr uint32_t kCosKernelIrqs[] = {0, 2, 4};

/// The kernel-owned range overlapping [first, first + count), or nullptr.
inline constexpr const CosKernelPorts* cos_kernel_ports_overlap(uint32_t first, uint32_t count) {
  for (const CosKernelPorts& r : kCosKernelPorts)
    if (first < r.first + r.count && r.first < first + count) return &r;
  return nullptr;
}

/// True if ISA line `line` is the kernel's.
inline constexpr bool cos_kernel_irq(uint32_t line) {
  for (uint32_t l : kCosKernelIrqs)
    if (l == line) return true;
  return false;
}

#endif
