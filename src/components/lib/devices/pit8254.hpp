// cos::dev::Pit8254 — the Intel 82C54 programmable interval timer of a PC
// (Intel 82C54 datasheet, order no. 231244) at ports 0x40-0x43, clocked at
// 1.193182 MHz, plus the timer-2 bits of System Control Port B (port 0x61).
//
// Channel 0 drives ISA IRQ 0 (a pulse on each rising edge of OUT0: terminal
// count in modes 0/4, every period in modes 2/3). Channel 1 (DRAM refresh on
// old PCs) counts but is wired to nothing. Channel 2's GATE is port 0x61 bit
// 0 and its OUT reads back as port 0x61 bit 5 (the speaker data bit 1 is
// stored and otherwise ignored). Gates of channels 0 and 1 are tied high.
//
// Port 0x61: bit 0 timer 2 gate (rw), bit 1 speaker data enable (rw), bits
// 2-3 stored (parity/IOCHK check disables), bit 4 refresh request (toggles on
// every read, like QEMU), bit 5 timer 2 output, bits 6-7 read 0.
//
// Counting is computed from the Clock (no periodic callbacks): the counter
// value and OUT at any instant follow from the time the count was loaded,
// so Linux's TSC calibration (channel 2, mode 0, polling port 0x61 bit 5 or
// the counter's MSB) measures the Clock's time base.
//
// Modes 0-5 (6 and 7 alias 2 and 3), binary or BCD, LSB/MSB/LSB-then-MSB
// access, counter latch and read-back commands. Deviations: a count written
// while a mode 2/3 counter runs takes effect immediately (not at the end of
// the current period), mode 3 counts by two only approximately for odd
// counts, and the load happens without the datasheet's one-CLK delay.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class Pit8254 final : public PortDevice, public TimerDevice {
 public:
  static constexpr uint32_t kFrequencyHz = 1193182;
  static constexpr uint16_t kBase = 0x40, kControl = 0x43, kPortB = 0x61;
  static constexpr unsigned kIrq = 0;

  /// `irq` receives the pulses of ISA IRQ 0 (may be null).
  Pit8254(const Clock& clock, IrqLine* irq);

  // PortDevice: 0x40-0x43 and 0x61, byte accesses.
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  // TimerDevice: channel 0's next rising OUT edge (= the next IRQ 0).
  uint64_t next_deadline_ns() const override;
  void advance(uint64_t now_ns) override;

  /// Inspection: OUT of channel `ch` now; the counting element's value now;
  /// the channel's mode.
  bool out(unsigned ch) const { return out_at(ch_[ch % 3], clock_.now_ns()); }
  uint16_t counter(unsigned ch) const { return counter_at(ch_[ch % 3], clock_.now_ns()); }
  uint8_t mode(unsigned ch) const { return ch_[ch % 3].mode; }
  /// Nanoseconds for `ticks` input clocks (rounded up).
  static uint64_t ticks_to_ns(uint64_t ticks);

 private:
  struct Channel {
    uint8_t mode = 0;
    uint8_t rw = 3;  // 1 LSB, 2 MSB, 3 LSB then MSB
    bool bcd = false;
    bool gate = true;
    uint32_t count = 0x10000;  // reload value, 1..0x10000
    bool loaded = false;       // a count was written since the control word
    bool counting = false;     // the counting element decrements
    bool null_count = true;
    uint64_t start_ns = 0;     // when counting (re)started
    uint64_t base_ticks = 0;   // ticks counted before start_ns (pauses)
    bool write_msb_next = false;
    uint8_t write_lsb = 0;
    bool read_msb_next = false;
    bool count_latched = false;
    uint16_t latched = 0;
    uint8_t latch_bytes = 0;   // latched bytes still to read (2 = LSB next for rw 3)
    bool status_latched = false;
    uint8_t status = 0;
    uint64_t next_irq_tick = ~uint64_t(0);  // channel 0: the next rising OUT edge
  };

  uint64_t ticks_at(const Channel& c, uint64_t now_ns) const;
  uint16_t counter_at(const Channel& c, uint64_t now_ns) const;
  bool out_at(const Channel& c, uint64_t now_ns) const;
  uint64_t first_edge(const Channel& c) const;
  uint64_t edge_after(const Channel& c, uint64_t tick) const;
  void control(uint8_t v);
  void latch_count(Channel& c, uint64_t now_ns);
  void latch_status(Channel& c, uint64_t now_ns);
  void load(Channel& c, uint32_t raw);
  void start(Channel& c, uint64_t now_ns);
  void set_gate(Channel& c, bool level);
  uint8_t read_channel(Channel& c);
  void write_channel(Channel& c, uint8_t v);
  void rearm_irq();

  const Clock& clock_;
  IrqLine* irq_;
  Channel ch_[3];
  uint8_t port_b_ = 0;
  bool refresh_ = false;
};

}  // namespace cos::dev
