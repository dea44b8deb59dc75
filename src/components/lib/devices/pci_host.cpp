#include "devices/pci_host.hpp"

namespace cos::dev {

namespace {
// Writable bits per configuration-space byte of the host bridge.
uint8_t writable(unsigned offset) {
  switch (offset) {
    case 0x04: return 0x5f;  // command: I/O, memory, bus master, special, MWI, palette snoop, parity
    case 0x05: return 0x01;  // command: SERR#
    case 0x0d: return 0xf8;  // latency timer
    default: return offset >= 0x40 ? 0xff : 0x00;
  }
}
}  // namespace

PciHost::PciHost() {
  auto put16 = [this](unsigned off, uint16_t v) {
    config_[off] = static_cast<uint8_t>(v);
    config_[off + 1] = static_cast<uint8_t>(v >> 8);
  };
  put16(0x00, kVendorIntel);
  put16(0x02, kDevice440fx);
  put16(0x04, 0x0006);  // memory space, bus master
  put16(0x06, 0x0280);  // status: fast back-to-back capable, DEVSEL medium
  config_[0x08] = 0x02; // revision
  config_[0x09] = 0x00; // programming interface
  config_[0x0a] = 0x00; // subclass: host bridge
  config_[0x0b] = 0x06; // class: bridge
  config_[0x0e] = 0x00; // header type 0, single function
}

uint32_t PciHost::config_read(unsigned bus, unsigned dev, unsigned fn, unsigned offset, unsigned size) const {
  if (bus != 0 || dev != 0 || fn != 0) return static_cast<uint32_t>(all_ones(size));
  uint32_t v = 0;
  for (unsigned i = 0; i < size && offset + i < 256; ++i) v |= uint32_t(config_[offset + i]) << (8 * i);
  return v;
}

void PciHost::config_write(unsigned bus, unsigned dev, unsigned fn, unsigned offset, unsigned size, uint32_t value) {
  if (bus != 0 || dev != 0 || fn != 0) return;
  for (unsigned i = 0; i < size && offset + i < 256; ++i) {
    uint8_t mask = writable(offset + i);
    uint8_t b = static_cast<uint8_t>(value >> (8 * i));
    config_[offset + i] = static_cast<uint8_t>((config_[offset + i] & ~mask) | (b & mask));
  }
}

uint32_t PciHost::io_read(uint16_t port, unsigned size) {
  if (port >= kAddressPort && port < kDataPort) {
    if (port == kAddressPort && size == 4) return address_;
    if (port == kResetControlPort && size == 1) return reset_control_;
    return static_cast<uint32_t>(all_ones(size));
  }
  if (!(address_ & 0x80000000)) return static_cast<uint32_t>(all_ones(size));
  unsigned offset = (address_ & 0xfc) + (port - kDataPort);
  if ((port - kDataPort) + size > 4) size = 4 - (port - kDataPort);
  return config_read((address_ >> 16) & 0xff, (address_ >> 11) & 0x1f, (address_ >> 8) & 7, offset, size);
}

void PciHost::io_write(uint16_t port, unsigned size, uint32_t value) {
  if (port >= kAddressPort && port < kDataPort) {
    if (port == kAddressPort && size == 4) {
      address_ = value & 0x80fffffc;
    } else if (port == kResetControlPort && size == 1) {
      bool reset = (value & 0x04) && !(reset_control_ & 0x04);  // RST_CPU 0 -> 1
      reset_control_ = static_cast<uint8_t>(value & 0x06);
      if (reset) {
        reset_control_ &= static_cast<uint8_t>(~0x04);  // self-clearing after the reset
        if (reset_) reset_(reset_ctx_);
      }
    }
    return;
  }
  if (!(address_ & 0x80000000)) return;
  unsigned offset = (address_ & 0xfc) + (port - kDataPort);
  if ((port - kDataPort) + size > 4) size = 4 - (port - kDataPort);
  config_write((address_ >> 16) & 0xff, (address_ >> 11) & 0x1f, (address_ >> 8) & 7, offset, size, value);
}

}  // namespace cos::dev
