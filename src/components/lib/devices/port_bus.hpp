// cos::dev::PortBus — the guest's I/O port space: port ranges mapped to
// PortDevices. Unknown ports behave like an empty ISA bus: reads return all
// ones, writes are ignored (never a VMM panic), and the first access to each
// unknown port is reported once through a callback the VMM supplies.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class PortBus {
 public:
  static constexpr unsigned kMaxRanges = 32;

  /// Called once per unknown port (the first access), with that access.
  using UnknownPortLog = void (*)(void* ctx, uint16_t port, bool write, unsigned size, uint32_t value);

  /// Maps ports [first, first + count) to `dev`. `max_width` (1, 2 or 4) is
  /// the widest access the device handles; wider guest accesses are split
  /// into consecutive little-endian pieces of that width, each dispatched on
  /// its own port (so `inw 0x70` on a byte device reads 0x70 and 0x71).
  /// Returns false if the range is empty, wraps past 0xffff, overlaps an
  /// existing range or the table is full.
  bool add(uint16_t first, uint32_t count, PortDevice& dev, unsigned max_width = 1);
  void set_unknown_port_log(UnknownPortLog fn, void* ctx) {
    log_ = fn;
    log_ctx_ = ctx;
  }

  /// An IN of `size` bytes (1, 2 or 4) at `port`; unknown ports read as
  /// all ones (of the access size).
  uint32_t read(uint16_t port, unsigned size);
  /// An OUT of `size` bytes; unknown ports ignore it.
  void write(uint16_t port, unsigned size, uint32_t value);

  /// The device mapped at `port`, or nullptr.
  PortDevice* find(uint16_t port) const;
  /// True if an access to `port` has been reported as unknown.
  bool reported(uint16_t port) const { return (seen_[port >> 3] >> (port & 7)) & 1; }

 private:
  struct Range {
    uint16_t first;
    uint32_t end;  // exclusive
    PortDevice* dev;
    uint8_t width;
  };
  const Range* lookup(uint16_t port) const;
  bool any_known(uint16_t port, unsigned size) const;
  void unknown(uint16_t port, bool write, unsigned size, uint32_t value);

  Range ranges_[kMaxRanges] = {};
  unsigned count_ = 0;
  UnknownPortLog log_ = nullptr;
  void* log_ctx_ = nullptr;
  uint8_t seen_[65536 / 8] = {};
};

}  // namespace cos::dev
