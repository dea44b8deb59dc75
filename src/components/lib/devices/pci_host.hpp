// cos::dev::PciHost — PCI configuration mechanism #1 (PCI Local Bus
// Specification 3.0 §3.2.2.3.2) at ports 0xcf8 (CONFIG_ADDRESS, 32-bit)
// and 0xcfc-0xcff (CONFIG_DATA, 8/16/32-bit), bus 0 only: an Intel 440FX
// host bridge (82441FX PMC; vendor 0x8086, device 0x1237, class 0x060000)
// at device 0, function 0, and up to 31 endpoint functions (PciFunction)
// attached at devices 1-31, function 0. Every other bus/device/function
// reads all ones (no device) and ignores writes.
//
// CONFIG_ADDRESS: bit 31 enable, bits 23-16 bus, 15-11 device, 10-8
// function, 7-2 register; bits 30-24 and 1-0 read 0. Only 32-bit accesses
// to 0xcf8 reach it (so Linux's `outb(0x01, 0xcfb)` mechanism probe leaves it
// alone). With the enable bit clear, CONFIG_DATA reads all ones.
//
// The bridge's configuration space: command (I/O, memory, bus master and the
// other writable bits), latency timer and the device-specific registers
// 0x40-0xff (PAM, SMRAM, ... — stored, no effect) are writable; the rest is
// read-only. There are no BARs.
//
// The 32-bit MMIO window (Config::mmio_base/mmio_size) is where endpoint
// BARs live: attach() assigns each BAR a naturally aligned address in it,
// as firmware would, and the VMM maps the whole window on its MmioBus to
// this object (an MmioDevice; offsets relative to mmio_base), which routes
// each access to the function whose enabled BAR decodes it (accesses no
// BAR decodes read all ones, writes are dropped: a master abort). The same
// window goes into the ACPI DSDT (AcpiTables::Config::pci) so Linux keeps
// the assignment. A BAR the guest moves outside the window stops being
// reachable.
//
// Interrupts: MSI-X messages of every function go to one MsiSink; INTA#
// of the function in slot s goes to GSI intx_gsi_base + (s % 4) on the
// IrqLine (the I/O APIC) — the _PRT that AcpiTables writes says the same
// (swizzle of PCI-to-PCI Bridge Architecture 1.2, §9.1, applied at the root).
//
// Port 0xcf9 (the PIIX reset control register, byte access): bits 1-2 are
// stored; setting RST_CPU (bit 2) calls the reset callback, which Linux
// uses as its last reboot resort ("reboot=pci").
#pragma once
#include <stdint.h>

#include "devices/device.hpp"
#include "devices/msi.hpp"
#include "devices/pci_function.hpp"

namespace cos::dev {

class PciHost final : public PortDevice, public MmioDevice {
 public:
  static constexpr uint16_t kAddressPort = 0xcf8, kDataPort = 0xcfc, kResetControlPort = 0xcf9;
  static constexpr uint16_t kVendorIntel = 0x8086, kDevice440fx = 0x1237;
  static constexpr unsigned kSlots = 32;

  struct Config {
    /// The 32-bit MMIO window for BARs (bytes). Keep it clear of guest RAM,
    /// the I/O APIC (0xfec00000) and the local APIC (0xfee00000), and out
    /// of the e820 map (Linux clips host-bridge windows against e820
    /// entries).
    uint32_t mmio_base = 0xc0000000;
    uint32_t mmio_size = 0x10000000;
    /// First of the four GSIs (I/O APIC inputs) INTA#-INTD# of slots map
    /// to; intx_gsi_base + 3 must be an input of the I/O APIC (24 pins).
    uint8_t intx_gsi_base = 16;
  };

  PciHost() : PciHost(Config{}) {}
  explicit PciHost(const Config& config);

  /// Called when the guest resets the system through 0xcf9.
  void set_reset_callback(Notify fn, void* ctx) {
    reset_ = fn;
    reset_ctx_ = ctx;
  }
  /// Where interrupts of attached functions go (applies to functions
  /// attached before and after the call).
  void set_interrupt_targets(MsiSink* msi, IrqLine* intx);

  /// Puts `fn` at bus 0, device `slot` (1..31), function 0, and assigns its
  /// BARs in the MMIO window. False if the slot is taken or out of range, or
  /// the window has no room for the BARs (nothing is changed then).
  bool attach(unsigned slot, PciFunction& fn);
  PciFunction* function(unsigned slot) const { return slot < kSlots ? slots_[slot] : nullptr; }
  /// The GSI INTA# of `slot` is wired to.
  unsigned intx_gsi(unsigned slot) const { return config_.intx_gsi_base + slot % 4; }
  const Config& config() const { return config_; }

  // PortDevice: register 0xcf8-0xcff with max width 4.
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;
  // MmioDevice: the MMIO window; `offset` is relative to mmio_base.
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  /// A configuration read as CONFIG_DATA would return it (bus/dev/fn/offset
  /// addressing, `size` bytes at `offset`).
  uint32_t config_read(unsigned bus, unsigned dev, unsigned fn, unsigned offset, unsigned size);
  void config_write(unsigned bus, unsigned dev, unsigned fn, unsigned offset, unsigned size, uint32_t value);
  uint32_t address() const { return address_; }

 private:
  Config config_;
  uint8_t bridge_[256] = {};
  PciFunction* slots_[kSlots] = {};
  uint64_t next_free_;  // next unassigned byte of the MMIO window
  MsiSink* msi_ = nullptr;
  IrqLine* intx_ = nullptr;
  uint32_t address_ = 0;
  uint8_t reset_control_ = 0;
  Notify reset_ = nullptr;
  void* reset_ctx_ = nullptr;
};

}  // namespace cos::dev
