// cos::dev::PciHost — PCI configuration mechanism #1 (PCI Local Bus
// Specification 3.0 §3.2.2.3.2) at ports 0xcf8 (CONFIG_ADDRESS, 32-bit)
// and 0xcfc-0xcff (CONFIG_DATA, 8/16/32-bit), with a single device: an
// Intel 440FX host bridge (82441FX PMC; vendor 0x8086, device 0x1237,
// class 0x060000) at bus 0, device 0, function 0. Every other
// bus/device/function reads all ones (no device) and ignores writes.
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
// Port 0xcf9 (the PIIX reset control register, byte access): bits 1-2 are
// stored; setting RST_CPU (bit 2) calls the reset callback, which Linux
// uses as its last reboot resort ("reboot=pci").
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class PciHost final : public PortDevice {
 public:
  static constexpr uint16_t kAddressPort = 0xcf8, kDataPort = 0xcfc, kResetControlPort = 0xcf9;
  static constexpr uint16_t kVendorIntel = 0x8086, kDevice440fx = 0x1237;

  PciHost();

  /// Called when the guest resets the system through 0xcf9.
  void set_reset_callback(Notify fn, void* ctx) {
    reset_ = fn;
    reset_ctx_ = ctx;
  }

  // PortDevice: register 0xcf8-0xcff with max width 4.
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  /// A configuration read as CONFIG_DATA would return it (bus/dev/fn/offset
  /// addressing, `size` bytes at `offset`).
  uint32_t config_read(unsigned bus, unsigned dev, unsigned fn, unsigned offset, unsigned size) const;
  void config_write(unsigned bus, unsigned dev, unsigned fn, unsigned offset, unsigned size, uint32_t value);
  uint32_t address() const { return address_; }

 private:
  uint8_t config_[256] = {};
  uint32_t address_ = 0;
  uint8_t reset_control_ = 0;
  Notify reset_ = nullptr;
  void* reset_ctx_ = nullptr;
};

}  // namespace cos::dev
