// cos::dev — device models for VMMs: the interfaces every model is wired
// through. Pure logic: no system calls, no allocation, host- and
// freestanding-compilable (only <stdint.h>/<stddef.h>).
//
// How a VMM drives the models (see README.md for the full wiring):
//   * port I/O exits    -> PortBus::read / PortBus::write (PortDevice)
//   * MMIO exits        -> MmioBus::read / MmioBus::write (MmioDevice)
//   * ISA interrupt lines (devices -> controllers) -> IrqLine::set_irq
//   * time              -> Clock::now_ns (the VMM implements it)
//   * timers            -> TimerDevice::next_deadline_ns / advance, so the
//                          VMM can sleep until the earliest deadline.
// None of the models is thread-safe: call them from one thread (the VMM's
// exit-handler thread).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::dev {

/// "No deadline": a timer that will not fire without further guest action.
inline constexpr uint64_t kNoDeadline = ~uint64_t(0);

/// All-ones value of an access of `size` bytes (1, 2, 4 or 8).
constexpr uint64_t all_ones(unsigned size) {
  return size >= 8 ? ~uint64_t(0) : (uint64_t(1) << (size * 8)) - 1;
}

/// A device on the I/O port bus. `port` is the absolute port number;
/// `size` is 1, 2 or 4 (PortBus splits wider accesses for devices registered
/// with a narrower maximum width, so a byte-wide device only sees size 1).
class PortDevice {
 public:
  virtual uint32_t io_read(uint16_t port, unsigned size) = 0;
  virtual void io_write(uint16_t port, unsigned size, uint32_t value) = 0;

 protected:
  ~PortDevice() = default;
};

/// A memory-mapped device. `offset` is relative to the base the device is
/// mapped at; `size` is 1, 2, 4 or 8.
class MmioDevice {
 public:
  virtual uint64_t read(uint64_t offset, unsigned size) = 0;
  virtual void write(uint64_t offset, unsigned size, uint64_t value) = 0;

 protected:
  ~MmioDevice() = default;
};

/// An interrupt controller's input lines as a device sees them. `level` is
/// the logical state (true = asserted); polarity inversions on the board are
/// the controller's business. Level-triggered devices hold the line; edge
/// devices pulse it (assert then deassert), which an edge-triggered input
/// latches on the rising edge.
class IrqLine {
 public:
  virtual void set_irq(unsigned irq, bool level) = 0;
  /// An edge: assert, then deassert.
  void pulse_irq(unsigned irq) {
    set_irq(irq, true);
    set_irq(irq, false);
  }

 protected:
  ~IrqLine() = default;
};

/// Monotonic time in nanoseconds. The VMM implements it (e.g. the kernel's
/// time_now in microseconds * 1000, or guest TSC / TSC frequency). It must
/// never go backwards.
class Clock {
 public:
  virtual uint64_t now_ns() const = 0;

 protected:
  ~Clock() = default;
};

/// The guest's time-stamp counter as the guest reads it with RDTSC (for the
/// local APIC's TSC-deadline mode).
class TscSource {
 public:
  virtual uint64_t guest_tsc() const = 0;

 protected:
  ~TscSource() = default;
};

/// A device with timed events. The VMM sleeps until the earliest
/// next_deadline_ns() of all timer devices (kNoDeadline: none) and then calls
/// advance(now) on each; advance() raises whatever interrupts became due up
/// to `now` (coalescing periods the VMM overslept into one interrupt).
/// Deadlines change with guest register writes, so recompute them after
/// every exit.
class TimerDevice {
 public:
  virtual uint64_t next_deadline_ns() const = 0;
  virtual void advance(uint64_t now_ns) = 0;

 protected:
  ~TimerDevice() = default;
};

/// A source of ExtINT interrupts (the 8259A pair's INTR output and its INTA
/// cycle), as seen by the local APIC's LINT0 pin in ExtINT mode.
class ExtIntSource {
 public:
  /// The vector an INTA cycle would return now, or -1 while the INTR output
  /// is deasserted.
  virtual int pending_vector() const = 0;
  /// The INTA cycle: the vector the controller puts on the bus (its spurious
  /// vector when nothing is pending any more).
  virtual uint8_t acknowledge() = 0;

 protected:
  ~ExtIntSource() = default;
};

/// Local APIC delivery modes (Intel SDM Vol. 3A §11.6.1, ICR bits 10:8; the
/// I/O APIC redirection entries use the same encoding).
enum class DeliveryMode : uint8_t {
  fixed = 0,
  lowest_priority = 1,
  smi = 2,
  nmi = 4,
  init = 5,
  startup = 6,
  extint = 7,
};

/// An interrupt message on the APIC bus / system bus (I/O APIC -> local APIC).
struct ApicMessage {
  uint8_t vector = 0;
  DeliveryMode mode = DeliveryMode::fixed;
  bool logical = false;     ///< destination mode: logical (true) or physical
  bool level = false;       ///< trigger mode: level (true) or edge
  uint32_t destination = 0; ///< APIC ID (physical) or logical destination
};

/// Where interrupt messages go (a local APIC, which checks the destination).
class ApicSink {
 public:
  /// Returns true if the message was accepted by some destination.
  virtual bool deliver(const ApicMessage& msg) = 0;

 protected:
  ~ApicSink() = default;
};

/// Receives the local APIC's EOI broadcast for level-triggered vectors
/// (the I/O APIC clears the remote IRR of the matching entries).
class EoiListener {
 public:
  virtual void eoi(uint8_t vector) = 0;

 protected:
  ~EoiListener() = default;
};

/// Callback types (a function plus the context pointer given with it).
using ByteOut = void (*)(void* ctx, uint8_t byte);
using Notify = void (*)(void* ctx);

}  // namespace cos::dev
