// cos::dev::MmioBus — guest-physical ranges (outside RAM) mapped to
// MmioDevices, e.g. the local APIC page at 0xfee00000 and the I/O APIC at
// 0xfec00000. The VMM calls read/write on a gpa_fault exit after decoding
// the faulting instruction.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class MmioBus {
 public:
  static constexpr unsigned kMaxRanges = 16;

  /// Maps [base, base + size) to `dev` (offsets passed to the device are
  /// relative to base). Returns false on size 0, wrap-around, overlap or a
  /// full table.
  bool add(uint64_t base, uint64_t size, MmioDevice& dev);
  /// Moves the range of `dev` to `new_base` (e.g. after the guest relocates
  /// the local APIC through IA32_APIC_BASE). False if dev is not mapped or
  /// the new range would overlap another.
  bool move(MmioDevice& dev, uint64_t new_base);

  /// True if gpa is in a mapped range.
  bool contains(uint64_t gpa) const { return lookup(gpa) != nullptr; }
  /// Reads `size` bytes (1, 2, 4, 8) at gpa into `value`. Unmapped
  /// addresses read as all ones and return false.
  bool read(uint64_t gpa, unsigned size, uint64_t& value);
  /// Writes `size` bytes at gpa; false (and ignored) if unmapped.
  bool write(uint64_t gpa, unsigned size, uint64_t value);

 private:
  struct Range {
    uint64_t base;
    uint64_t size;
    MmioDevice* dev;
  };
  const Range* lookup(uint64_t gpa) const;
  bool overlaps(uint64_t base, uint64_t size, const MmioDevice* except) const;

  Range ranges_[kMaxRanges] = {};
  unsigned count_ = 0;
};

}  // namespace cos::dev
