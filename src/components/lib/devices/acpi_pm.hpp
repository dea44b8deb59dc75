// cos::dev::AcpiPm — the ACPI fixed-hardware registers the FADT of
// AcpiTables points at (ACPI 6.4, 4.8.3): PM1a event block (status/enable),
// PM1a control block (SCI_EN always set: the machine is in ACPI mode;
// writing SLP_EN with SLP_TYP = the \_S5 value powers off) and the PM timer,
// a free-running 32-bit counter at 3.579545 MHz that Linux uses to calibrate
// the TSC and as a clocksource.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class AcpiPm final : public PortDevice {
 public:
  static constexpr uint64_t kTimerHz = 3579545;
  static constexpr uint16_t kSciEn = 1u << 0, kSlpEn = 1u << 13;

  /// Ports: [base, base + 4) PM1a_EVT, [base + 4, base + 6) PM1a_CNT,
  /// [base + 8, base + 12) PM_TMR (AcpiTables::Config defaults: base 0x600).
  AcpiPm(const Clock& clock, uint16_t base = 0x600, uint8_t s5_slp_typ = 5)
      : clock_(clock), base_(base), s5_(s5_slp_typ) {}

  void set_poweroff_callback(Notify fn, void* ctx) {
    off_ = fn;
    off_ctx_ = ctx;
  }
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;
  /// The PM timer value at `now_ns`.
  static uint32_t timer_at(uint64_t now_ns);

 private:
  const Clock& clock_;
  uint16_t base_;
  uint8_t s5_;
  uint16_t status_ = 0, enable_ = 0, control_ = kSciEn;
  Notify off_ = nullptr;
  void* off_ctx_ = nullptr;
};

}  // namespace cos::dev
