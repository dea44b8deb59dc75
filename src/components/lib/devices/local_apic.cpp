#include "devices/local_apic.hpp"

#include "devices/apic_bus.hpp"
#include "devices/util.hpp"

namespace cos::dev {

namespace {
// Writable bits of the LVT entries (SDM Figure 11-8): vector, delivery mode,
// polarity, trigger mode, mask, timer mode; delivery status and remote IRR
// are read-only.
constexpr uint32_t kLvtTimerBits = 0x000100ff | 0x00020000;  // + bit 18 with TSC deadline
constexpr uint32_t kLvtThermalPerfBits = 0x000107ff;
constexpr uint32_t kLvtLintBits = 0x0001a7ff;
constexpr uint32_t kLvtErrorBits = 0x000100ff;
constexpr uint32_t kIcrLoBits = 0x000ccfff;
// ESR bits (SDM Figure 11-9).
constexpr uint32_t kEsrSendIllegalVector = 1u << 5, kEsrReceiveIllegalVector = 1u << 6;
}  // namespace

LocalApic::LocalApic(const Clock& clock, const Config& config, const TscSource* tsc)
    : clock_(clock), cfg_(config), tsc_(tsc) {
  reset(true);
}

void LocalApic::reset(bool bios_virtual_wire) {
  apic_base_ = kDefaultBase | kApicBaseEnable | (cfg_.bsp ? kApicBaseBsp : 0);
  id_ = cfg_.apic_id;
  tpr_ = 0;
  ldr_ = 0;
  dfr_ = 0xffffffff;
  svr_ = 0xff;
  for (unsigned i = 0; i < 8; ++i) isr_[i] = tmr_[i] = irr_[i] = 0;
  esr_ = esr_pending_ = 0;
  icr_lo_ = icr_hi_ = 0;
  for (uint32_t& l : lvt_) l = kLvtMasked;
  timer_initial_ = timer_divide_ = 0;
  timer_armed_ = false;
  tsc_deadline_ = 0;
  nmi_pending_ = extint_pending_ = false;
  init_pending_ = sipi_pending_ = false;
  if (bios_virtual_wire) {
    // What SeaBIOS leaves: APIC software-enabled, LINT0 ExtINT (level),
    // LINT1 NMI (level) — MP spec virtual wire mode.
    svr_ = 0x1ff;
    lvt_[kLint0] = 0x8700;
    lvt_[kLint1] = 0x8400;
  }
}

int LocalApic::highest(const uint32_t* bits) {
  for (int i = 7; i >= 0; --i)
    if (bits[i]) return i * 32 + 31 - __builtin_clz(bits[i]);
  return -1;
}

uint8_t LocalApic::ppr() const {
  int isrv = highest(isr_);
  uint8_t isr_class = isrv < 0 ? 0 : static_cast<uint8_t>(isrv & 0xf0);
  return (tpr_ & 0xf0) >= isr_class ? tpr_ : isr_class;
}

uint32_t LocalApic::ldr() const {
  if (x2apic_mode()) return ((id_ >> 4) << 16) | (1u << (id_ & 0xf));  // SDM §11.12.10.2
  return ldr_;
}

LocalApic::TimerMode LocalApic::timer_mode() const {
  unsigned m = (lvt_[kTimer] >> 17) & 3;
  return m == 2 ? TimerMode::tsc_deadline : m == 1 ? TimerMode::periodic : TimerMode::one_shot;
}

// ---------------------------------------------------------------- interrupts

void LocalApic::error(uint32_t bits) {
  esr_pending_ |= bits;
  uint32_t lvt = lvt_[kError];
  if (!(lvt & kLvtMasked) && (lvt & 0xff) >= 16) accept(static_cast<uint8_t>(lvt & 0xff), false);
}

bool LocalApic::accept(uint8_t vector, bool level) {
  if (!hw_enabled() || !sw_enabled()) return false;
  if (vector < 16) {
    error(kEsrReceiveIllegalVector);
    return false;
  }
  set(irr_, vector);
  if (level)
    set(tmr_, vector);
  else
    clear(tmr_, vector);
  return true;
}

bool LocalApic::accepts_destination(uint32_t dest, bool logical) const {
  if (x2apic_mode()) {
    if (dest == 0xffffffff) return true;
    if (!logical) return dest == id_;
    uint32_t l = ldr();
    return (dest >> 16) == (l >> 16) && (dest & l & 0xffff) != 0;
  }
  uint32_t d = dest & 0xff;
  if (d == 0xff) return true;
  if (!logical) return d == (id_ & 0xff);
  uint32_t l = ldr_ >> 24;
  if ((dfr_ >> 28) == 0xf) return (l & d) != 0;             // flat model
  return (d >> 4) == (l >> 4) && (d & l & 0xf) != 0;        // cluster model
}

bool LocalApic::deliver(const ApicMessage& msg) {
  if (!hw_enabled()) return false;
  uint32_t dest = msg.destination;
  // The I/O APIC has 8 destination bits: 0xff is its broadcast in x2APIC mode too.
  if (x2apic_mode() && dest == 0xff) dest = 0xffffffff;
  if (!accepts_destination(dest, msg.logical)) return false;
  return receive(msg);
}

void LocalApic::init_reset() {
  uint64_t base = apic_base_;
  uint32_t id = id_;
  reset(false);
  apic_base_ = base;
  id_ = id;
}

bool LocalApic::receive(const ApicMessage& msg) {
  if (!hw_enabled()) return false;
  switch (msg.mode) {
    case DeliveryMode::fixed:
    case DeliveryMode::lowest_priority:
      return accept(msg.vector, msg.level);  // false if dropped (APIC disabled, illegal vector)
    case DeliveryMode::nmi:
      nmi_pending_ = true;
      break;
    case DeliveryMode::extint:
      extint_pending_ = true;
      break;
    case DeliveryMode::init:
      init_reset();
      init_pending_ = true;
      break;
    case DeliveryMode::startup:
      sipi_pending_ = true;
      sipi_vector_ = msg.vector;
      break;
    default:  // SMI: no SMM
      break;
  }
  return true;
}

void LocalApic::send_ipi(uint32_t lo, uint32_t dest) {
  unsigned mode = (lo >> 8) & 7;
  if ((mode == 0 || mode == 1) && (lo & 0xff) < 16) {
    error(kEsrSendIllegalVector);
    return;
  }
  if (bus_) {
    bus_->send_ipi(*this, lo, dest);
    return;
  }
  // No bus: this APIC is the only possible destination.
  Ipi ipi;
  if (!decode_icr(lo, dest, ipi)) return;
  bool self = ipi.shorthand == IcrShorthand::self || ipi.shorthand == IcrShorthand::all_including_self ||
              (ipi.shorthand == IcrShorthand::none && accepts_destination(dest, ipi.msg.logical));
  if (self) receive(ipi.msg);
}

bool LocalApic::ext_int_enabled() const {
  uint32_t l = lvt_[kLint0];
  return !(l & kLvtMasked) && ((l >> 8) & 7) == 7;
}

int LocalApic::pending_fixed() const {
  int v = highest(irr_);
  if (v < 0) return -1;
  if ((v & 0xf0) <= (ppr() & 0xf0)) return -1;
  return v;
}

int LocalApic::highest_pending() const {
  if (!hw_enabled()) return ext_ ? ext_->pending_vector() : -1;
  int v = pending_fixed();
  if (v >= 0) return v;
  if (ext_ && (ext_int_enabled() || extint_pending_)) return ext_->pending_vector();
  return -1;
}

int LocalApic::ack() {
  if (!hw_enabled()) return ext_ && ext_->pending_vector() >= 0 ? ext_->acknowledge() : -1;
  int v = pending_fixed();
  if (v >= 0) {
    clear(irr_, static_cast<uint8_t>(v));
    set(isr_, static_cast<uint8_t>(v));
    return v;
  }
  if (ext_ && (ext_int_enabled() || extint_pending_) && ext_->pending_vector() >= 0) {
    extint_pending_ = false;
    return ext_->acknowledge();
  }
  return -1;
}

void LocalApic::eoi() {
  int v = highest(isr_);
  if (v < 0) return;
  clear(isr_, static_cast<uint8_t>(v));
  if (test(tmr_, static_cast<uint8_t>(v)) && eoi_listener_) eoi_listener_->eoi(static_cast<uint8_t>(v));
}

// ---------------------------------------------------------------- timer

unsigned LocalApic::divisor() const {
  // Divide configuration bits 3, 1, 0 (SDM Figure 11-10): 000 = 2 ... 110 = 128, 111 = 1.
  unsigned code = (timer_divide_ & 3) | ((timer_divide_ >> 1) & 4);
  return code == 7 ? 1 : 2u << code;
}

uint64_t LocalApic::ticks_to_ns(uint64_t ticks) const {
  return muldiv_ceil(ticks * divisor(), kNsPerSec, cfg_.bus_hz);
}

uint64_t LocalApic::ns_to_ticks(uint64_t ns) const {
  return muldiv(ns, cfg_.bus_hz, kNsPerSec * divisor());
}

uint64_t LocalApic::guest_tsc(uint64_t now_ns) const {
  return tsc_ ? tsc_->guest_tsc() : muldiv(now_ns, cfg_.tsc_hz, kNsPerSec);
}

// Start counting at now_ns as if `already` ticks had elapsed.
void LocalApic::start_timer(uint64_t now_ns, uint64_t already) {
  timer_start_ns_ = now_ns;
  timer_base_ticks_ = already;
  timer_armed_ = timer_initial_ != 0;
  if (!timer_armed_) return;
  if (timer_mode() == TimerMode::one_shot)
    timer_next_tick_ = timer_initial_;
  else
    timer_next_tick_ = (already / timer_initial_ + 1) * timer_initial_;
}

uint64_t LocalApic::elapsed_ticks(uint64_t now_ns) const {
  return timer_base_ticks_ + ns_to_ticks(now_ns > timer_start_ns_ ? now_ns - timer_start_ns_ : 0);
}

uint32_t LocalApic::current_count(uint64_t now_ns) const {
  if (timer_mode() == TimerMode::tsc_deadline || !timer_armed_ || timer_initial_ == 0) return 0;
  uint64_t e = elapsed_ticks(now_ns);
  if (timer_mode() == TimerMode::one_shot) return e >= timer_initial_ ? 0 : static_cast<uint32_t>(timer_initial_ - e);
  return static_cast<uint32_t>(timer_initial_ - e % timer_initial_);
}

void LocalApic::fire_timer() {
  uint32_t lvt = lvt_[kTimer];
  if (!(lvt & kLvtMasked)) accept(static_cast<uint8_t>(lvt & 0xff), false);
}

uint64_t LocalApic::next_deadline_ns() const {
  if (lvt_[kTimer] & kLvtMasked) return kNoDeadline;
  if (timer_mode() == TimerMode::tsc_deadline) {
    if (tsc_deadline_ == 0 || cfg_.tsc_hz == 0) return kNoDeadline;
    uint64_t now = clock_.now_ns();
    uint64_t tsc = guest_tsc(now);
    if (tsc >= tsc_deadline_) return now;
    return sat_add(now, muldiv_ceil(tsc_deadline_ - tsc, kNsPerSec, cfg_.tsc_hz));
  }
  if (!timer_armed_) return kNoDeadline;
  uint64_t left = timer_next_tick_ > timer_base_ticks_ ? timer_next_tick_ - timer_base_ticks_ : 0;
  return sat_add(timer_start_ns_, ticks_to_ns(left));
}

void LocalApic::advance(uint64_t now_ns) {
  if (timer_mode() == TimerMode::tsc_deadline) {
    if (tsc_deadline_ != 0 && guest_tsc(now_ns) >= tsc_deadline_) {
      tsc_deadline_ = 0;
      fire_timer();
    }
    return;
  }
  if (!timer_armed_) return;
  uint64_t e = elapsed_ticks(now_ns);
  if (e < timer_next_tick_) return;
  if (timer_mode() == TimerMode::one_shot)
    timer_armed_ = false;
  else
    timer_next_tick_ = (e / timer_initial_ + 1) * timer_initial_;  // overslept periods coalesce
  fire_timer();
}

void LocalApic::write_lvt(unsigned i, uint32_t value) {
  static constexpr uint32_t kBits[kLvtCount] = {kLvtTimerBits, kLvtThermalPerfBits, kLvtThermalPerfBits,
                                                kLvtLintBits,  kLvtLintBits,        kLvtErrorBits};
  uint32_t bits = kBits[i];
  if (i == kTimer && cfg_.tsc_hz) bits |= 1u << 18;
  uint32_t v = value & bits;
  if (!sw_enabled()) v |= kLvtMasked;  // SDM §11.4.7.2: masks cannot be cleared while disabled
  if (i != kTimer) {
    lvt_[i] = (lvt_[i] & ~bits) | v;
    return;
  }
  uint64_t now = clock_.now_ns();
  advance(now);  // an expiry while masked must not fire after unmasking
  TimerMode old_mode = timer_mode();
  uint32_t old_current = current_count(now);
  bool was_armed = timer_armed_;
  lvt_[kTimer] = v;
  TimerMode mode = timer_mode();
  if ((old_mode == TimerMode::tsc_deadline) != (mode == TimerMode::tsc_deadline)) {
    // SDM §11.5.4.1: switching to or from TSC-deadline mode disarms the timer.
    timer_armed_ = false;
    timer_initial_ = 0;
    tsc_deadline_ = 0;
  } else if (mode != old_mode && was_armed) {
    start_timer(now, timer_initial_ - old_current);  // one-shot <-> periodic: keep counting
  }
}

// ---------------------------------------------------------------- registers

uint32_t LocalApic::reg(uint16_t offset) const {
  uint64_t v = 0;
  read_reg(offset, false, v);
  return static_cast<uint32_t>(v);
}

bool LocalApic::read_reg(uint16_t off, bool x2, uint64_t& value) const {
  value = 0;
  if (off >= kIsr && off < kIsr + 0x80) {
    value = isr_[(off - kIsr) >> 4];
    return (off & 0xf) == 0;
  }
  if (off >= kTmr && off < kTmr + 0x80) {
    value = tmr_[(off - kTmr) >> 4];
    return (off & 0xf) == 0;
  }
  if (off >= kIrr && off < kIrr + 0x80) {
    value = irr_[(off - kIrr) >> 4];
    return (off & 0xf) == 0;
  }
  switch (off) {
    case kId: value = x2 ? id_ : id_ << 24; return true;
    case kVer: value = kVersion; return true;
    case kTpr: value = tpr_; return true;
    case kApr: return !x2;
    case kPpr: value = ppr(); return true;
    case kEoi: return !x2;  // write-only
    case kRrd: return !x2;
    case kLdr: value = ldr(); return true;
    case kDfr: value = dfr_; return !x2;
    case kSvr: value = svr_; return true;
    case kEsr: value = esr_; return true;
    case kIcrLo: value = x2 ? (uint64_t(icr_hi_) << 32 | icr_lo_) : icr_lo_; return true;
    case kIcrHi: value = icr_hi_; return !x2;
    case kLvtTimer: value = lvt_[kTimer]; return true;
    case kLvtThermal: value = lvt_[kThermal]; return true;
    case kLvtPerf: value = lvt_[kPerf]; return true;
    case kLvtLint0: value = lvt_[kLint0]; return true;
    case kLvtLint1: value = lvt_[kLint1]; return true;
    case kLvtError: value = lvt_[kError]; return true;
    case kTimerInitial: value = timer_initial_; return true;
    case kTimerCurrent: value = current_count(clock_.now_ns()); return true;
    case kTimerDivide: value = timer_divide_; return true;
    // SELF IPI is write-only; the CMCI LVT (0x2f0) does not exist in this
    // APIC: its version register reports six LVT entries (max LVT = 5).
    default: return false;
  }
}

bool LocalApic::write_reg(uint16_t off, bool x2, uint64_t value) {
  uint32_t v = static_cast<uint32_t>(value);
  switch (off) {
    case kId:
      if (x2) return false;
      id_ = v >> 24;
      return true;
    case kVer:
    case kPpr:
    case kTimerCurrent:
      return !x2;  // read-only: xAPIC ignores the write, x2APIC faults
    case kApr:
    case kRrd:
      return !x2;
    case kTpr:
      tpr_ = static_cast<uint8_t>(v);
      return true;
    case kEoi:
      if (x2 && value != 0) return false;
      eoi();
      return true;
    case kLdr:
      if (x2) return false;
      ldr_ = v & 0xff000000;
      return true;
    case kDfr:
      if (x2) return false;
      dfr_ = v | 0x0fffffff;
      return true;
    case kSvr:
      svr_ = v & 0x3ff;
      if (!sw_enabled())
        for (uint32_t& l : lvt_) l |= kLvtMasked;
      return true;
    case kEsr:
      if (x2 && value != 0) return false;
      esr_ = esr_pending_;
      esr_pending_ = 0;
      return true;
    case kIcrLo:
      if (x2) {
        icr_lo_ = v & kIcrLoBits;
        icr_hi_ = static_cast<uint32_t>(value >> 32);
        send_ipi(icr_lo_, icr_hi_);
      } else {
        icr_lo_ = v & kIcrLoBits;
        send_ipi(icr_lo_, icr_hi_ >> 24);
      }
      return true;
    case kIcrHi:
      if (x2) return false;
      icr_hi_ = v & 0xff000000;
      return true;
    case kLvtTimer: write_lvt(kTimer, v); return true;
    case kLvtThermal: write_lvt(kThermal, v); return true;
    case kLvtPerf: write_lvt(kPerf, v); return true;
    case kLvtLint0: write_lvt(kLint0, v); return true;
    case kLvtLint1: write_lvt(kLint1, v); return true;
    case kLvtError: write_lvt(kError, v); return true;
    case kTimerInitial: {
      if (timer_mode() == TimerMode::tsc_deadline) return true;  // ignored in TSC-deadline mode
      timer_initial_ = v;
      if (v == 0) {
        timer_armed_ = false;
        return true;
      }
      start_timer(clock_.now_ns(), 0);
      return true;
    }
    case kTimerDivide: {
      uint64_t now = clock_.now_ns();
      bool armed = timer_armed_ && timer_mode() != TimerMode::tsc_deadline;
      uint32_t current = armed ? current_count(now) : 0;
      timer_divide_ = v & 0xb;
      if (armed) start_timer(now, timer_initial_ - current);  // keep the remaining count
      return true;
    }
    case kSelfIpi:
      if (!x2 || value > 0xff) return false;
      if (v < 16) {
        error(kEsrSendIllegalVector);
        return true;
      }
      accept(static_cast<uint8_t>(v), false);
      return true;
    default:
      if (off >= kIsr && off < kIrr + 0x80) return !x2;  // ISR/TMR/IRR are read-only
      return false;
  }
}

// ---------------------------------------------------------------- MMIO

uint64_t LocalApic::read(uint64_t offset, unsigned size) {
  if (!mmio_enabled() || offset >= 0x1000) return all_ones(size);
  unsigned in_reg = offset & 0xf;
  if (in_reg >= 4) return 0;
  uint64_t v = 0;
  read_reg(static_cast<uint16_t>(offset & 0xff0), false, v);
  return (static_cast<uint32_t>(v) >> (in_reg * 8)) & all_ones(size);
}

void LocalApic::write(uint64_t offset, unsigned size, uint64_t value) {
  if (!mmio_enabled() || offset >= 0x1000) return;
  if (size != 4 || (offset & 0xf) != 0) return;  // only aligned 32-bit writes reach a register
  write_reg(static_cast<uint16_t>(offset), false, static_cast<uint32_t>(value));
}

// ---------------------------------------------------------------- MSRs

bool LocalApic::write_apic_base(uint64_t value) {
  uint64_t reserved = 0xff | (1u << 9) | (cfg_.x2apic ? 0 : kApicBaseExtd);
  if (cfg_.phys_addr_bits < 64) reserved |= ~uint64_t(0) << cfg_.phys_addr_bits;
  if (value & reserved) return false;
  bool en = value & kApicBaseEnable, extd = value & kApicBaseExtd;
  if (!en && extd) return false;  // invalid state
  bool was_enabled = hw_enabled(), was_x2 = x2apic_mode();
  if (was_x2 && en && !extd) return false;    // x2APIC -> xAPIC must go through disabled
  if (!was_enabled && en && extd) return false;  // disabled -> x2APIC must go through xAPIC
  if (was_enabled && !en) reset(false);       // disabling resets the APIC (power-up state)
  apic_base_ = (value & ~uint64_t(0xfff)) | (cfg_.bsp ? kApicBaseBsp : 0) | (en ? kApicBaseEnable : 0) |
               (extd ? kApicBaseExtd : 0);
  return true;
}

bool LocalApic::read_msr(uint32_t msr, uint64_t& value) {
  value = 0;
  if (msr == kMsrApicBase) {
    value = apic_base_;
    return true;
  }
  if (msr == kMsrTscDeadline) {
    if (cfg_.tsc_hz == 0) return false;
    value = timer_mode() == TimerMode::tsc_deadline ? tsc_deadline_ : 0;
    return true;
  }
  if (msr < kMsrX2apicFirst || msr > kMsrX2apicLast || !x2apic_mode()) return false;
  return read_reg(static_cast<uint16_t>((msr - kMsrX2apicFirst) << 4), true, value);
}

bool LocalApic::write_msr(uint32_t msr, uint64_t value) {
  if (msr == kMsrApicBase) return write_apic_base(value);
  if (msr == kMsrTscDeadline) {
    if (cfg_.tsc_hz == 0) return false;
    if (timer_mode() != TimerMode::tsc_deadline) return true;  // ignored in the other modes
    tsc_deadline_ = value;
    advance(clock_.now_ns());  // a deadline in the past fires at once
    return true;
  }
  if (msr < kMsrX2apicFirst || msr > kMsrX2apicLast || !x2apic_mode()) return false;
  uint16_t off = static_cast<uint16_t>((msr - kMsrX2apicFirst) << 4);
  if (off != kIcrLo && (value >> 32) != 0) return false;
  return write_reg(off, true, value);
}

}  // namespace cos::dev
