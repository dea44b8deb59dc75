// cos::dev::MsixTable — the MSI-X table and pending bit array (PBA) of one
// PCI function (PCI Local Bus Specification 3.0, §6.8.2): one 16-byte entry
// per vector — message address (bits 1:0 reserved, read 0), message upper
// address, message data, vector control (bit 0 = mask; reset value masked)
// — and one pending bit per vector, set when the function wanted to send
// a masked vector. The PCI function (PciFunction) decides when to send;
// this class only stores the state and decodes table/PBA accesses of any
// width from 1 to 8 bytes (the spec allows aligned DWORD and QWORD; other
// widths are handled byte by byte instead of being rejected).
#pragma once
#include <stdint.h>

namespace cos::dev {

class MsixTable {
 public:
  static constexpr unsigned kMaxVectors = 64;
  static constexpr unsigned kEntryBytes = 16;
  static constexpr uint32_t kVectorMasked = 1u << 0;

  /// Sets the number of vectors (1..kMaxVectors; larger values are clamped)
  /// and resets every entry.
  void configure(unsigned vectors);
  /// Every entry masked with address/data 0, no bit pending (PCI 3.0 §6.8.2.9).
  void reset();

  unsigned vectors() const { return vectors_; }
  /// Table and PBA sizes in bytes (the PBA rounded up to whole QWORDs).
  uint32_t table_bytes() const { return vectors_ * kEntryBytes; }
  uint32_t pba_bytes() const { return ((vectors_ + 63) / 64) * 8; }

  /// Accesses at `offset` bytes into the table / PBA; bytes beyond the end
  /// read 0 and ignore writes. The PBA is read-only.
  uint64_t table_read(uint64_t offset, unsigned size) const;
  void table_write(uint64_t offset, unsigned size, uint64_t value);
  uint64_t pba_read(uint64_t offset, unsigned size) const;

  uint64_t address(unsigned v) const;
  uint32_t data(unsigned v) const;
  bool masked(unsigned v) const;
  bool pending(unsigned v) const { return v < vectors_ && (pending_[v / 64] >> (v % 64)) & 1; }
  void set_pending(unsigned v, bool on);

 private:
  uint8_t table_[kMaxVectors * kEntryBytes] = {};
  uint64_t pending_[kMaxVectors / 64] = {};
  unsigned vectors_ = 0;
};

}  // namespace cos::dev
