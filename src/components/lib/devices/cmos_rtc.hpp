// cos::dev::CmosRtc — the PC's Motorola MC146818 real-time clock and CMOS
// RAM (MC146818A datasheet) behind index port 0x70 and data port 0x71,
// interrupting on ISA IRQ 8.
//
// Port 0x70: bits 6-0 select a register, bit 7 disables NMI (kept for the
// VMM: nmi_disabled()); reads of 0x70 return 0xff (write-only on PCs).
// Registers: 0x00 seconds, 0x01 seconds alarm, 0x02 minutes, 0x03 minutes
// alarm, 0x04 hours (bit 7 = PM in 12-hour mode), 0x05 hours alarm, 0x06 day
// of week (1 = Sunday), 0x07 day of month, 0x08 month, 0x09 year (two
// digits); 0x0a register A (bit 7 UIP read-only, DV2-0, RS3-0), 0x0b
// register B (SET, PIE, AIE, UIE, SQWE, DM = binary, 24/12, DSE), 0x0c
// register C (IRQF, PF, AF, UF; read-only, cleared by reading), 0x0d
// register D (VRT = 1: the battery is fine), 0x0e-0x7f battery-backed RAM
// (0x32 holds the century, IBM convention).
//
// Time: the date the VMM passes in (the host's real date) at construction,
// advancing with the Clock while the divider runs (DV <= 010) and SET is
// clear. Values are presented in BCD or binary and in 24- or 12-hour form
// per register B at every read, so changing DM or 24/12 reformats (the
// chip would not convert). Writing time registers while running sets the
// clock at once (keeping the sub-second phase); with SET, writes are held
// until SET is cleared. Releasing the divider from reset starts the first
// update half a second later, as the datasheet says.
//
// Update-in-progress: UIP reads 1 during the 244 us before each update
// (registers change at the update instant), so Linux's mc146818_get_time
// loop — read seconds, check UIP, read the rest, check UIP and seconds
// again — always completes.
//
// Interrupts: PF at the periodic rate RS (256 Hz, 128 Hz, or 32768 >>
// (RS - 1) Hz), UF at each update, AF when the time matches the alarm
// (values 0xc0-0xff are "don't care"). The flags are set whether or not
// enabled; IRQF = PF&PIE | AF&AIE | UF&UIE drives IRQ 8 until register C is
// read. Flags are computed lazily from the Clock; deadlines are reported
// only for enabled, not yet pending events.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

/// A calendar date and time of day (UTC, as the PC RTC usually holds).
struct RtcDate {
  uint16_t year = 2000;  ///< e.g. 2026
  uint8_t month = 1;     ///< 1-12
  uint8_t day = 1;       ///< 1-31
  uint8_t hour = 0;      ///< 0-23
  uint8_t minute = 0;
  uint8_t second = 0;
};

class CmosRtc final : public PortDevice, public TimerDevice {
 public:
  static constexpr uint16_t kIndexPort = 0x70, kDataPort = 0x71;
  static constexpr unsigned kIrq = 8;
  static constexpr uint8_t kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c, kRegD = 0x0d, kCentury = 0x32;
  static constexpr uint8_t kAUip = 0x80;
  static constexpr uint8_t kBSet = 0x80, kBPie = 0x40, kBAie = 0x20, kBUie = 0x10, kBBinary = 0x04,
                           kB24h = 0x02;
  static constexpr uint8_t kCIrqf = 0x80, kCPf = 0x40, kCAf = 0x20, kCUf = 0x10;

  /// `date` is the time at clock.now_ns() now. `irq` gets ISA IRQ 8 (may be null).
  CmosRtc(const Clock& clock, IrqLine* irq, const RtcDate& date);

  // PortDevice: 0x70-0x71, byte accesses.
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  // TimerDevice: the next periodic/update/alarm interrupt (enabled ones).
  uint64_t next_deadline_ns() const override;
  void advance(uint64_t now_ns) override;

  /// Port 0x70 bit 7 as last written.
  bool nmi_disabled() const { return nmi_disabled_; }
  /// Battery-backed RAM (0x0e-0x7f); writes to 0x00-0x0d are ignored.
  uint8_t nvram(uint8_t index) const { return cmos_[index & 0x7f]; }
  void set_nvram(uint8_t index, uint8_t value);
  /// The clock's date and time now (what the guest would read).
  RtcDate date() const;
  /// Sets the clock (keeps the register formats).
  void set_date(const RtcDate& date);

  /// Decodes RTC registers 0x00-0x09 as read from a real MC146818 (e.g. the
  /// host's, through granted ports), given register B and the century byte
  /// (0 or invalid: years 70-99 are 19xx, 00-69 20xx).
  static RtcDate decode(const uint8_t regs[10], uint8_t reg_b, uint8_t century);
  /// Seconds since 1970-01-01 00:00:00 of `d` (dates from 1970 on).
  static uint64_t to_epoch(const RtcDate& d);
  static RtcDate from_epoch(uint64_t seconds);

 private:
  bool divider_running() const { return ((cmos_[kRegA] >> 4) & 7) <= 2; }
  bool time_running() const { return divider_running() && !(cmos_[kRegB] & kBSet); }
  uint64_t seconds_at(uint64_t now_ns) const;
  bool uip(uint64_t now_ns) const;
  void format_time(uint64_t epoch);
  uint64_t parse_time() const;
  uint64_t periodic_ticks() const;  // period in 32768 Hz ticks, 0 = off
  void sync(uint64_t now_ns);
  void update_irq();
  bool alarm_matches(uint64_t epoch) const;

  const Clock& clock_;
  IrqLine* irq_;
  uint8_t cmos_[128] = {};
  uint8_t index_ = 0;
  bool nmi_disabled_ = false;
  bool irq_level_ = false;
  // While time_running(): the time is base_epoch_ + floor((now - base_ns_) / 1 s).
  // Otherwise it is held_epoch_ (and the registers hold what the guest wrote).
  uint64_t base_epoch_ = 0;
  int64_t base_ns_ = 0;
  uint64_t held_epoch_ = 0;
  uint64_t periodic_base_ns_ = 0;  // phase of the periodic interrupt
  uint64_t last_sync_ns_ = 0;
};

}  // namespace cos::dev
