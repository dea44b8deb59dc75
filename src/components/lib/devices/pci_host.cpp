#include "devices/pci_host.hpp"

#include "devices/util.hpp"

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

PciHost::PciHost(const Config& config) : config_(config), next_free_(config.mmio_base) {
  store_le16(bridge_ + 0x00, kVendorIntel);
  store_le16(bridge_ + 0x02, kDevice440fx);
  store_le16(bridge_ + 0x04, 0x0006);  // memory space, bus master
  store_le16(bridge_ + 0x06, 0x0280);  // status: fast back-to-back capable, DEVSEL medium
  bridge_[0x08] = 0x02;                // revision
  bridge_[0x09] = 0x00;                // programming interface
  bridge_[0x0a] = 0x00;                // subclass: host bridge
  bridge_[0x0b] = 0x06;                // class: bridge
  bridge_[0x0e] = 0x00;                // header type 0, single function
}

void PciHost::set_interrupt_targets(MsiSink* msi, IrqLine* intx) {
  msi_ = msi;
  intx_ = intx;
  for (unsigned s = 1; s < kSlots; ++s)
    if (slots_[s]) slots_[s]->connect_interrupts(msi_, intx_, intx_gsi(s));
}

bool PciHost::attach(unsigned slot, PciFunction& fn) {
  if (slot == 0 || slot >= kSlots || slots_[slot]) return false;
  for (unsigned s = 1; s < kSlots; ++s)
    if (slots_[s] == &fn) return false;
  // Largest BARs first keeps the natural alignment padding small.
  uint64_t cursor = next_free_;
  uint64_t end = uint64_t(config_.mmio_base) + config_.mmio_size;
  uint32_t base[PciFunction::kBars] = {};
  bool done[PciFunction::kBars] = {};
  for (unsigned n = 0; n < PciFunction::kBars; ++n) {
    unsigned pick = PciFunction::kBars;
    for (unsigned i = 0; i < PciFunction::kBars; ++i)
      if (!done[i] && fn.bar_size(i) && (pick == PciFunction::kBars || fn.bar_size(i) > fn.bar_size(pick))) pick = i;
    if (pick == PciFunction::kBars) break;
    uint64_t size = fn.bar_size(pick);
    cursor = (cursor + size - 1) & ~(size - 1);
    if (cursor + size > end) return false;
    base[pick] = static_cast<uint32_t>(cursor);
    done[pick] = true;
    cursor += size;
  }
  for (unsigned i = 0; i < PciFunction::kBars; ++i)
    if (done[i]) fn.set_bar_base(i, base[i]);
  next_free_ = cursor;
  slots_[slot] = &fn;
  fn.connect_interrupts(msi_, intx_, intx_gsi(slot));
  return true;
}

uint32_t PciHost::config_read(unsigned bus, unsigned dev, unsigned fn, unsigned offset, unsigned size) {
  if (bus != 0 || fn != 0 || dev >= kSlots) return static_cast<uint32_t>(all_ones(size));
  if (dev != 0) return slots_[dev] ? slots_[dev]->config_read(offset, size) : static_cast<uint32_t>(all_ones(size));
  uint32_t v = 0;
  for (unsigned i = 0; i < size && offset + i < 256; ++i) v |= uint32_t(bridge_[offset + i]) << (8 * i);
  return v;
}

void PciHost::config_write(unsigned bus, unsigned dev, unsigned fn, unsigned offset, unsigned size, uint32_t value) {
  if (bus != 0 || fn != 0 || dev >= kSlots) return;
  if (dev != 0) {
    if (slots_[dev]) slots_[dev]->config_write(offset, size, value);
    return;
  }
  for (unsigned i = 0; i < size && offset + i < 256; ++i) {
    uint8_t mask = writable(offset + i);
    uint8_t b = static_cast<uint8_t>(value >> (8 * i));
    bridge_[offset + i] = static_cast<uint8_t>((bridge_[offset + i] & ~mask) | (b & mask));
  }
}

uint64_t PciHost::read(uint64_t offset, unsigned size) {
  uint64_t gpa = uint64_t(config_.mmio_base) + offset;
  uint64_t v;
  for (unsigned s = 1; s < kSlots; ++s)
    if (slots_[s] && slots_[s]->mmio_read(gpa, size, v)) return v;
  return all_ones(size);
}

void PciHost::write(uint64_t offset, unsigned size, uint64_t value) {
  uint64_t gpa = uint64_t(config_.mmio_base) + offset;
  for (unsigned s = 1; s < kSlots; ++s)
    if (slots_[s] && slots_[s]->mmio_write(gpa, size, value)) return;
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
