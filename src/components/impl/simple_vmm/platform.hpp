// The emulated PC around the guest: the device models (src/components/lib/
// devices) wired together the way a PC wires them — ISA IRQs to both the
// 8259 PIC pair and the I/O APIC, the I/O APIC and the PIC (through LINT0 in
// ExtINT mode) to the local APIC — plus the port and MMIO maps the VMM's exit
// handlers dispatch to.
#pragma once
#include <stdint.h>

#include "simple_vmm/msrs.hpp"

namespace cos::dev {
class LocalApic;
class GuestMemory;
class BlockBackend;
class NetBackend;
}  // namespace cos::dev

namespace cos::simple_vmm {

class Platform {
 public:
  struct Config {
    uint64_t tsc_hz;                       ///< guest TSC frequency (for TSC-deadline and the PIT)
    void (*console_out)(uint8_t byte);     ///< bytes the guest writes to COM1
    /// Date and time for the CMOS RTC (binary: year e.g. 2026, month 1-12, ...).
    uint32_t year, month, day, hour, minute, second;
    // fw_cfg (QEMU's firmware configuration device, ports 0x510/0x511).
    uint64_t ram_bytes;       ///< guest RAM (FW_CFG_RAM_SIZE)
    const char* cmdline;      ///< the guest's command line (FW_CFG_CMDLINE_*); must stay valid
    const void* e820;         ///< the memory map as fw_cfg file "etc/e820" (20-byte entries); must stay valid
    uint32_t e820_bytes;
    // virtio devices on PCI (docs/simple_vmm.md "virtio devices"); with any
    // of them the DSDT describes the PCI root bridge and its MMIO window.
    dev::GuestMemory* dma = nullptr;      ///< guest RAM as the devices see it (required with a device)
    dev::BlockBackend* disk = nullptr;    ///< virtio-blk in PCI slot 1 (null: none)
    const char* disk_serial = nullptr;    ///< its GET_ID string
    dev::NetBackend* net = nullptr;       ///< virtio-net in PCI slot 2 (null: none)
    uint8_t mac[6] = {};                  ///< its MAC address
    /// vCPUs (1..kMaxVcpus): one local APIC each (APIC ID = index) on one
    /// APIC bus, in the MADT, the MP table and fw_cfg's CPU count.
    unsigned vcpus = 1;
    /// Called (from inside a device call, under the VMM's lock) for every
    /// vCPU whose local APIC took an interrupt message or IPI, so the VMM
    /// can wake that vCPU's thread (dev::ApicBus::set_wakeup).
    void (*wakeup)(void* ctx, unsigned vcpu) = nullptr;
    void* wakeup_ctx = nullptr;
  };
  static constexpr unsigned kMaxVcpus = 8;
  /// The guest-physical MMIO window of the PCI root bridge (BARs), outside
  /// RAM (guest RAM ends at or below 3 GiB) and the e820 map.
  static constexpr uint64_t kPciMmioBase = 0xc0000000, kPciMmioBytes = 0x10000000;

  /// Builds the devices; `tables` receives the MP tables (written at
  /// `tables_gpa`, at most `tables_size` bytes).
  bool init(const Config& cfg, uint8_t* tables, uint32_t tables_gpa, uint32_t tables_size);

  /// Port I/O from the guest. Unknown ports read all-ones and ignore writes
  /// (each logged once).
  uint32_t io_in(uint16_t port, unsigned size);
  void io_out(uint16_t port, unsigned size, uint32_t value);
  /// True if `gpa` lies in an emulated MMIO page (local APIC, I/O APIC).
  bool is_mmio(uint64_t gpa) const;
  /// MMIO from vCPU `cpu` to its local APIC's page, the I/O APIC or the PCI
  /// window; false if `gpa` is none of them.
  bool mmio_read(unsigned cpu, uint64_t gpa, unsigned size, uint64_t& value);
  bool mmio_write(unsigned cpu, uint64_t gpa, unsigned size, uint64_t value);
  /// vCPU `cpu`'s local APIC MSRs (IA32_APIC_BASE, x2APIC, TSC deadline).
  MsrResult apic_msr_read(unsigned cpu, uint32_t index, uint64_t& value);
  MsrResult apic_msr_write(unsigned cpu, uint32_t index, uint64_t value);
  /// vCPU `cpu`'s local APIC (INIT/SIPI/NMI state).
  dev::LocalApic& lapic(unsigned cpu);

  /// Brings the shared timers (PIT, UART, RTC) and vCPU `cpu`'s APIC timer
  /// up to `now_ns`, raising the interrupts that are due.
  void advance(unsigned cpu, uint64_t now_ns);
  /// The earliest time (ns) vCPU `cpu`'s thread must call advance() again,
  /// or ~0 if none: its APIC timer, and for vCPU 0 the shared devices too.
  uint64_t next_deadline_ns(unsigned cpu) const;
  /// The vector vCPU `cpu` would take now, if any (does not acknowledge it).
  bool pending_vector(unsigned cpu, uint8_t& vector);
  /// vCPU `cpu` takes `vector` (IRR -> ISR, or the PIC's INTA).
  void acknowledge(unsigned cpu, uint8_t vector);

  /// A byte typed on the host console: queued in the VMM until the guest's
  /// UART has room (its FIFO holds 16 bytes).
  void host_input(uint8_t byte);
  /// True while the input queue can take more bytes.
  bool host_input_room() const;
  /// Moves queued input into the guest's UART as far as its FIFO allows.
  void pump_input();
  /// The guest asked for a reset through the i8042 (reboot=k) or port 0xcf9.
  bool reset_requested() const;
  /// The guest powered off through ACPI (SLP_TYP of \_S5 with SLP_EN).
  bool poweroff_requested() const;
  /// The network backend may have frames for the guest: hand them to the
  /// virtio-net device's receive buffers (no-op without one).
  void poll_net();
  /// Prints one line per virtio device with its counters (end of the run).
  void print_device_stats() const;
  /// The guest wrote `value` to QEMU's isa-debug-exit (ports 0xf4-0xf7).
  bool debug_exit_requested(uint32_t& value) const;
};

}  // namespace cos::simple_vmm
