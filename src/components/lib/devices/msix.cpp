#include "devices/msix.hpp"

#include "devices/util.hpp"

namespace cos::dev {

void MsixTable::configure(unsigned vectors) {
  vectors_ = vectors > kMaxVectors ? kMaxVectors : vectors;
  reset();
}

void MsixTable::reset() {
  for (uint8_t& b : table_) b = 0;
  for (uint64_t& p : pending_) p = 0;
  for (unsigned v = 0; v < vectors_; ++v) store_le32(table_ + v * kEntryBytes + 12, kVectorMasked);
}

uint64_t MsixTable::table_read(uint64_t offset, unsigned size) const {
  uint64_t v = 0;
  for (unsigned i = 0; i < size && i < 8; ++i)
    if (offset + i < table_bytes()) v |= uint64_t(table_[offset + i]) << (8 * i);
  return v;
}

void MsixTable::table_write(uint64_t offset, unsigned size, uint64_t value) {
  for (unsigned i = 0; i < size && i < 8; ++i) {
    uint64_t at = offset + i;
    if (at >= table_bytes()) break;
    uint8_t b = static_cast<uint8_t>(value >> (8 * i));
    switch (at % kEntryBytes) {
      case 0: b &= 0xfc; break;                 // message address bits 1:0 are reserved
      case 12: b &= kVectorMasked; break;       // vector control: only the mask bit
      case 13: case 14: case 15: b = 0; break;  // vector control bits 31:8 reserved
      default: break;
    }
    table_[at] = b;
  }
}

uint64_t MsixTable::pba_read(uint64_t offset, unsigned size) const {
  uint64_t v = 0;
  for (unsigned i = 0; i < size && i < 8; ++i) {
    uint64_t at = offset + i;
    if (at < pba_bytes()) v |= ((pending_[at / 8] >> (8 * (at % 8))) & 0xff) << (8 * i);
  }
  return v;
}

uint64_t MsixTable::address(unsigned v) const {
  return v < vectors_ ? load_le64(table_ + v * kEntryBytes) : 0;
}
uint32_t MsixTable::data(unsigned v) const { return v < vectors_ ? load_le32(table_ + v * kEntryBytes + 8) : 0; }
bool MsixTable::masked(unsigned v) const {
  return v >= vectors_ || (load_le32(table_ + v * kEntryBytes + 12) & kVectorMasked);
}

void MsixTable::set_pending(unsigned v, bool on) {
  if (v >= vectors_) return;
  uint64_t bit = uint64_t(1) << (v % 64);
  pending_[v / 64] = on ? pending_[v / 64] | bit : pending_[v / 64] & ~bit;
}

}  // namespace cos::dev
