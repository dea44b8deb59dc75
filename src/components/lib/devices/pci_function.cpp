#include "devices/pci_function.hpp"

#include "devices/util.hpp"

namespace cos::dev {

namespace {
constexpr uint16_t kCommandWritable = PciFunction::kCmdMemory | PciFunction::kCmdBusMaster |
                                      PciFunction::kCmdParity | PciFunction::kCmdSerr |
                                      PciFunction::kCmdIntxDisable;
constexpr unsigned kBarEnd = PciFunction::kBar0 + 4 * PciFunction::kBars;
}  // namespace

PciFunction::PciFunction(const Identity& id) {
  store16(kVendorId, id.vendor_id);
  store16(kDeviceId, id.device_id);
  config_[kRevision] = id.revision;
  config_[kClassCode] = static_cast<uint8_t>(id.class_code);
  config_[kClassCode + 1] = static_cast<uint8_t>(id.class_code >> 8);
  config_[kClassCode + 2] = static_cast<uint8_t>(id.class_code >> 16);
  store16(kSubsystemVendorId, id.subsystem_vendor_id);
  store16(kSubsystemId, id.subsystem_id);
  config_[kInterruptPin] = 1;  // INTA#
  set_writable(kCommand, 2);
  wmask_[kCommand] = static_cast<uint8_t>(kCommandWritable);
  wmask_[kCommand + 1] = static_cast<uint8_t>(kCommandWritable >> 8);
  set_writable(kCacheLineSize, 1);
  set_writable(kInterruptLine, 1);
}

void PciFunction::store16(unsigned off, uint16_t v) {
  if (off + 2 <= kConfigBytes) store_le16(config_ + off, v);
}
void PciFunction::store32(unsigned off, uint32_t v) {
  if (off + 4 <= kConfigBytes) store_le32(config_ + off, v);
}
uint16_t PciFunction::load16(unsigned off) const { return off + 2 <= kConfigBytes ? load_le16(config_ + off) : 0; }
uint32_t PciFunction::load32(unsigned off) const { return off + 4 <= kConfigBytes ? load_le32(config_ + off) : 0; }

void PciFunction::set_writable(unsigned offset, unsigned len, uint8_t mask) {
  for (unsigned i = 0; i < len && offset + i < kConfigBytes; ++i) wmask_[offset + i] = mask;
}

bool PciFunction::define_bar(unsigned i, uint32_t size) {
  if (i >= kBars || size < 16 || !is_pow2(size)) return false;
  bar_size_[i] = size;
  set_bar_base(i, 0);
  return true;
}

void PciFunction::set_bar_base(unsigned i, uint32_t base) {
  if (i >= kBars || !bar_size_[i]) return;
  bar_base_[i] = base & ~(bar_size_[i] - 1);
  // Memory BAR, 32-bit (type 00), non-prefetchable: bits 3:0 are 0.
  store32(kBar0 + 4 * i, bar_base_[i]);
}

void PciFunction::write_bar_byte(unsigned bar, unsigned byte, uint8_t value) {
  if (!bar_size_[bar]) return;  // not implemented: hardwired 0
  uint8_t* reg = config_ + kBar0 + 4 * bar;
  reg[byte] = value;
  // Address bits below the size are read-only 0 (that is what size probing
  // reads back), and so are the type bits 3:0.
  uint32_t raw = load_le32(reg) & ~(bar_size_[bar] - 1) & ~0xfu;
  bar_base_[bar] = raw;
  store_le32(reg, raw);
}

uint8_t PciFunction::add_capability(uint8_t id, unsigned length) {
  if (length < 2) return 0;
  unsigned at = (cap_end_ + 3u) & ~3u;
  if (at + length > kConfigBytes) return 0;
  config_[at] = id;
  config_[at + 1] = 0;
  if (cap_last_) config_[cap_last_ + 1] = static_cast<uint8_t>(at);
  else config_[kCapabilitiesPtr] = static_cast<uint8_t>(at);
  cap_last_ = static_cast<uint8_t>(at);
  cap_end_ = static_cast<uint8_t>(at + length > 0xff ? 0xff : at + length);
  store16(kStatus, load16(kStatus) | kStatusCapList);
  return static_cast<uint8_t>(at);
}

uint8_t PciFunction::add_msix(unsigned vectors, unsigned table_bar, uint32_t table_offset, unsigned pba_bar,
                              uint32_t pba_offset) {
  if (msix_cap_ || vectors == 0 || vectors > MsixTable::kMaxVectors) return 0;
  if (table_bar >= kBars || pba_bar >= kBars || !bar_size_[table_bar] || !bar_size_[pba_bar]) return 0;
  if ((table_offset | pba_offset) & 7) return 0;
  uint64_t table_end = uint64_t(table_offset) + vectors * MsixTable::kEntryBytes;
  uint64_t pba_end = uint64_t(pba_offset) + ((vectors + 63) / 64) * 8;
  if (table_end > bar_size_[table_bar] || pba_end > bar_size_[pba_bar]) return 0;
  if (table_bar == pba_bar && table_offset < pba_end && pba_offset < table_end) return 0;
  uint8_t cap = add_capability(kCapMsix, 12);
  if (!cap) return 0;
  msix_.configure(vectors);
  msix_cap_ = cap;
  msix_table_bar_ = table_bar;
  msix_pba_bar_ = pba_bar;
  msix_table_off_ = table_offset;
  msix_pba_off_ = pba_offset;
  store16(cap + 2, static_cast<uint16_t>(vectors - 1));  // table size N-1, disabled, unmasked
  store32(cap + 4, table_offset | table_bar);
  store32(cap + 8, pba_offset | pba_bar);
  wmask_[cap + 3] = static_cast<uint8_t>((kMsixEnable | kMsixFunctionMask) >> 8);
  return cap;
}

bool PciFunction::intercept_config_read(unsigned, unsigned, uint32_t&) { return false; }
bool PciFunction::intercept_config_write(unsigned, unsigned, uint32_t) { return false; }
void PciFunction::config_written(unsigned, unsigned, uint16_t) {}

uint32_t PciFunction::config_read(unsigned offset, unsigned size) {
  if (size != 1 && size != 2 && size != 4) size = 4;
  uint32_t v = 0;
  if (intercept_config_read(offset, size, v)) return v;
  for (unsigned i = 0; i < size; ++i)
    if (offset + i < kConfigBytes) v |= uint32_t(config_[offset + i]) << (8 * i);
  return v;
}

void PciFunction::config_write(unsigned offset, unsigned size, uint32_t value) {
  if (size != 1 && size != 2 && size != 4) return;
  if (intercept_config_write(offset, size, value)) return;
  uint16_t old_command = command();
  bool old_msix = msix_enabled();
  uint16_t old_msix_ctl = msix_cap_ ? load16(msix_cap_ + 2) : 0;
  for (unsigned i = 0; i < size; ++i) {
    unsigned at = offset + i;
    if (at >= kConfigBytes) break;
    uint8_t b = static_cast<uint8_t>(value >> (8 * i));
    if (at >= kBar0 && at < kBarEnd) {
      write_bar_byte((at - kBar0) / 4, (at - kBar0) % 4, b);
      continue;
    }
    config_[at] = static_cast<uint8_t>((config_[at] & ~wmask_[at]) | (b & wmask_[at]));
  }
  if (command() != old_command) {
    update_intx_line();
    msix_service();  // bus mastering may just have been enabled
  }
  if (msix_cap_ && load16(msix_cap_ + 2) != old_msix_ctl) {
    // Enabling MSI-X takes the function off INTx (§6.8.2.3); unmasking sends
    // what became pending.
    if (msix_enabled() != old_msix) update_intx_line();
    msix_service();
  }
  config_written(offset, size, old_command);
}

bool PciFunction::msix_enabled() const { return msix_cap_ && (load16(msix_cap_ + 2) & kMsixEnable); }

void PciFunction::connect_interrupts(MsiSink* msi, IrqLine* intx, unsigned gsi) {
  if (intx_ && intx_line_) intx_->set_irq(gsi_, false);
  intx_line_ = false;
  msi_ = msi;
  intx_ = intx;
  gsi_ = gsi;
  config_[kInterruptLine] = static_cast<uint8_t>(gsi);
  update_intx_line();
}

void PciFunction::set_intx(bool level) {
  intx_level_ = level;
  store16(kStatus, level ? load16(kStatus) | kStatusIntx : load16(kStatus) & ~kStatusIntx);
  update_intx_line();
}

void PciFunction::update_intx_line() {
  bool line = intx_level_ && !(command() & kCmdIntxDisable) && !msix_enabled();
  if (line == intx_line_) return;
  intx_line_ = line;
  if (intx_) intx_->set_irq(gsi_, line);
}

void PciFunction::msix_signal(unsigned v) {
  if (!msix_enabled() || v >= msix_.vectors() || !bus_master()) {
    ++msi_dropped_;
    return;
  }
  if ((load16(msix_cap_ + 2) & kMsixFunctionMask) || msix_.masked(v)) {
    msix_.set_pending(v, true);
    return;
  }
  if (msi_ && msi_->send_msi(msix_.address(v), msix_.data(v))) ++msi_sent_;
  else ++msi_dropped_;
}

void PciFunction::msix_service() {
  if (!msix_enabled() || !bus_master() || (load16(msix_cap_ + 2) & kMsixFunctionMask)) return;
  for (unsigned v = 0; v < msix_.vectors(); ++v) {
    if (!msix_.pending(v) || msix_.masked(v)) continue;
    msix_.set_pending(v, false);
    msix_signal(v);
  }
}

bool PciFunction::decode(uint64_t gpa, unsigned size, unsigned& bar, uint64_t& offset) const {
  if (!memory_enabled()) return false;
  for (unsigned i = 0; i < kBars; ++i) {
    if (!bar_size_[i] || gpa < bar_base_[i]) continue;
    uint64_t off = gpa - bar_base_[i];
    if (off >= bar_size_[i]) continue;
    if (off + size > bar_size_[i]) return false;  // straddles the BAR's end
    bar = i;
    offset = off;
    return true;
  }
  return false;
}

bool PciFunction::access_bar(unsigned bar, uint64_t offset, unsigned size, bool write, uint64_t& value) {
  if (bar >= kBars || !bar_size_[bar] || size == 0 || size > 8 || offset >= bar_size_[bar] ||
      offset + size > bar_size_[bar])
    return false;
  if (msix_cap_) {
    if (bar == msix_table_bar_ && offset >= msix_table_off_ && offset - msix_table_off_ < msix_.table_bytes()) {
      if (!write) {
        value = msix_.table_read(offset - msix_table_off_, size);
        return true;
      }
      msix_.table_write(offset - msix_table_off_, size, value);
      msix_service();
      return true;
    }
    if (bar == msix_pba_bar_ && offset >= msix_pba_off_ && offset - msix_pba_off_ < msix_.pba_bytes()) {
      if (!write) value = msix_.pba_read(offset - msix_pba_off_, size);
      return true;  // the PBA is read-only
    }
  }
  if (write) bar_write(bar, offset, size, value);
  else value = bar_read(bar, offset, size);
  return true;
}

bool PciFunction::mmio_read(uint64_t gpa, unsigned size, uint64_t& value) {
  unsigned bar;
  uint64_t off;
  if (size == 0 || size > 8 || !decode(gpa, size, bar, off)) return false;
  access_bar(bar, off, size, false, value);
  value &= all_ones(size);
  return true;
}

bool PciFunction::mmio_write(uint64_t gpa, unsigned size, uint64_t value) {
  unsigned bar;
  uint64_t off;
  if (size == 0 || size > 8 || !decode(gpa, size, bar, off)) return false;
  value &= all_ones(size);
  access_bar(bar, off, size, true, value);
  return true;
}

}  // namespace cos::dev
