// Hardware capabilities: the timer, I/O ports (the CMOS RTC at 0x70/0x71),
// IRQ line 8 (the RTC's periodic interrupt) and hw_derive.
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {
constexpr uint64_t kNB = cos::abi::kRcvNonBlocking;
constexpr uint64_t kCmosIndex = 0x70, kCmosData = 0x71;
constexpr uint64_t kNmiOff = 0x80;  // bit 7 of the index port: NMI disabled while we talk
constexpr uint64_t kRegSeconds = 0x00, kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c, kRegD = 0x0d;
constexpr uint64_t kPie = 0x40;  // register B: periodic interrupt enable

int64_t cmos_read(uint64_t reg) {
  int64_t r = sys::ioport_out(env().io, kCmosIndex, 1, kNmiOff | reg);
  if (r < 0) return r;
  return sys::ioport_in(env().io, kCmosData, 1);
}
int64_t cmos_write(uint64_t reg, uint64_t v) {
  int64_t r = sys::ioport_out(env().io, kCmosIndex, 1, kNmiOff | reg);
  if (r < 0) return r;
  return sys::ioport_out(env().io, kCmosData, 1, v & 0xff);
}
bool either(int64_t r, Error a, Error b) { return r == E(a) || r == E(b); }

/// Stops the timer when the case ends, however it ends.
struct TimerOff {
  uint64_t rcv;
  ~TimerOff() { sys::timer_bind(env().timer, rcv, 0); }
};

/// Turns the RTC's periodic interrupt off and unbinds line 8 when the case ends.
struct RtcOff {
  int64_t reg_a = -1;
  ~RtcOff() {
    int64_t b = cmos_read(kRegB);
    if (b >= 0) cmos_write(kRegB, static_cast<uint64_t>(b) & ~kPie);
    cmos_read(kRegC);
    if (reg_a >= 0) cmos_write(kRegA, static_cast<uint64_t>(reg_a));
    sys::ioport_out(env().io, kCmosIndex, 1, kRegD);  // NMI back on
    sys::irq_bind(env().irq, env().irq_line, 0);
  }
};
}  // namespace

// ---------------------------------------------------------------------------
// Timer

KT_CASE(timer_notifies_at_about_the_period) {
  uint64_t r = make(ObjType::rcv);
  KT_ASSERT(r && env().timer);
  TimerOff off{r};
  const uint64_t period = 10000;
  int64_t t0 = sys::time_now();
  KT_OK(sys::timer_bind(env().timer, r, period));
  int64_t total = 0;
  for (int i = 0; i < 20 && total < 5; ++i) {
    int64_t n = sys::rcv(r, 1000000, 0);
    KT_CMP(n, >=, 1);
    total += n;
  }
  int64_t dt = sys::time_now() - t0;
  KT_CMP(total, >=, 5);
  KT_CMP(dt, >=, static_cast<int64_t>(total * period - 2 * cos::abi::kTickUs));
  KT_CMP(dt, <, static_cast<int64_t>(total * period + 1000000));
  // Stopped, nothing more arrives.
  KT_OK(sys::timer_bind(env().timer, r, 0));
  sys::rcv(r, 0, kNB);
  KT_ERR(sys::rcv(r, 3 * period, 0), timeout);
}

KT_CASE(timer_bind_checks) {
  const Env& e = env();
  uint64_t r = make(ObjType::rcv), f = make(ObjType::frame);
  uint64_t t_ro = copy(e.timer, Rights::read | Rights::grant | Rights::exec);
  KT_ASSERT(r && f && t_ro);
  TimerOff off{r};
  KT_ERR(sys::timer_bind(e.timer, r, cos::abi::kTickUs - 1), bad_argument);
  KT_ERR(sys::timer_bind(e.timer, r, 1), bad_argument);
  KT_ERR(sys::timer_bind(r, r, 10000), wrong_type);
  KT_ERR(sys::timer_bind(e.io, r, 10000), wrong_type);
  KT_ERR(sys::timer_bind(e.timer, f, 10000), wrong_type);
  KT_ERR(sys::timer_bind(t_ro, r, 10000), no_rights);
  KT_ERR(sys::rcv(r, 30000, 0), timeout);  // none of them started it
}

// ---------------------------------------------------------------------------
// I/O ports

KT_CASE(ioport_reads_the_rtc) {
  KT_ASSERT(env().io);
  int64_t a = cmos_read(kRegA);
  KT_CMP(a, >=, 0);
  KT_EQ(a & 0x70, 0x20);  // 32.768 kHz time base, as every PC RTC is set up
  int64_t b = cmos_read(kRegB);
  KT_CMP(b, >=, 0);
  int64_t s = cmos_read(kRegSeconds);
  KT_ASSERT(s >= 0 && s <= 0xff);
  if ((b & 0x04) == 0) {  // BCD
    KT_CMP((s & 0x0f), <=, 9);
    KT_CMP((s >> 4), <=, 5);
  } else {
    KT_CMP(s, <, 60);
  }
  cos::printf("kernel_tests: RTC seconds register %#lx (register B %#lx)\n", static_cast<unsigned long>(s),
              static_cast<unsigned long>(b));
  KT_OK(sys::ioport_out(env().io, kCmosIndex, 1, kRegD));
  KT_CMP(sys::ioport_in(env().io, kCmosIndex, 2), >=, 0);  // 0x70-0x71 as one 16-bit access
}

KT_CASE(ioport_outside_the_range_is_out_of_range) {
  const uint64_t io = env().io;
  const uint64_t ports[] = {0x6f, 0x72, 0x80, 0x60, 0x3f8, 0xf4, 0xcf8, 0x8900, 0xffff};
  for (uint64_t p : ports) KT_ERR(sys::ioport_in(io, p, 1), out_of_range);
  KT_ERR(sys::ioport_in(io, 0x71, 2), out_of_range);  // 0x71-0x72
  KT_ERR(sys::ioport_in(io, 0x70, 4), out_of_range);  // 0x70-0x73
  KT_ERR(sys::ioport_in(io, 0x6f, 2), out_of_range);  // 0x6f-0x70
  KT_ERR(sys::ioport_out(io, 0x80, 1, 0), out_of_range);  // POST port: harmless if it went through
  KT_ERR(sys::ioport_out(io, 0x72, 1, 0), out_of_range);
  KT_ERR(sys::ioport_out(io, 0x71, 2, 0), out_of_range);
}

KT_CASE(ioport_bad_width_is_bad_argument) {
  const uint64_t io = env().io;
  const uint64_t widths[] = {0, 3, 5, 8, 16, ~0ull};
  for (uint64_t w : widths) {
    KT_ERR(sys::ioport_in(io, kCmosIndex, w), bad_argument);
    KT_ERR(sys::ioport_out(io, kCmosIndex, w, kRegD), bad_argument);
  }
}

KT_CASE(ioport_rights_and_types) {
  const Env& e = env();
  uint64_t ro = copy(e.io, Rights::read | Rights::grant);
  uint64_t wo = copy(e.io, Rights::write | Rights::grant);
  uint64_t f = make(ObjType::frame);
  KT_ASSERT(ro && wo && f);
  KT_EQ(sys::cap_info(ro), info_of(ObjType::ioport, Rights::read | Rights::grant));
  KT_ERR(sys::ioport_out(ro, kCmosIndex, 1, kRegD), no_rights);
  KT_ERR(sys::ioport_in(wo, kCmosData, 1), no_rights);
  KT_OK(sys::ioport_out(wo, kCmosIndex, 1, kRegD));
  KT_CMP(sys::ioport_in(ro, kCmosData, 1), >=, 0);
  KT_ERR(sys::ioport_in(e.irq, kCmosData, 1), wrong_type);
  KT_ERR(sys::ioport_in(f, kCmosData, 1), wrong_type);
  KT_ERR(sys::ioport_out(e.timer, kCmosIndex, 1, kRegD), wrong_type);
}

KT_CASE(hw_derive_ioport_subrange) {
  const Env& e = env();
  uint64_t d = slot();
  KT_ASSERT(d);
  KT_OK(sys::hw_derive(e.io, d, 0x71, 1));
  KT_EQ(info_type(sys::cap_info(d)), ObjType::ioport);
  KT_OK(sys::ioport_out(e.io, kCmosIndex, 1, kNmiOff | kRegSeconds));
  KT_CMP(sys::ioport_in(d, 0x71, 1), >=, 0);
  KT_ERR(sys::ioport_in(d, 0x70, 1), out_of_range);
  KT_ERR(sys::ioport_out(d, 0x70, 1, kRegD), out_of_range);
  KT_OK(sys::ioport_out(e.io, kCmosIndex, 1, kRegD));
  uint64_t d2 = slot();
  KT_ASSERT(d2);
  KT_ERR(sys::hw_derive(e.io, d2, 0x70, 3), bad_argument);   // beyond the parent's range
  KT_ERR(sys::hw_derive(e.io, d2, 0x60, 1), bad_argument);
  KT_ERR(sys::hw_derive(e.io, d2, 0x70, 0), bad_argument);   // empty range
  KT_ERR(sys::hw_derive(e.io, d2, ~0ull, 2), bad_argument);  // wraps
  KT_ERR(sys::hw_derive(d, d2, 0x70, 2), bad_argument);      // wider than the derived one
  KT_ERR(sys::cap_info(d2), empty_slot);
  // Derived from e.io: revoking that removes it.
  uint64_t mid = copy(e.io, Rights::all);
  KT_ASSERT(mid);
  KT_OK(sys::hw_derive(mid, d2, 0x70, 1));
  KT_OK(sys::cap_revoke(mid));
  KT_ERR(sys::cap_info(d2), empty_slot);
}

KT_CASE(hw_derive_checks_type_and_grant) {
  const Env& e = env();
  uint64_t f = make(ObjType::frame), d = slot();
  uint64_t nogrant = copy(e.io, Rights::read | Rights::write);
  KT_ASSERT(f && d && nogrant);
  KT_ERR(sys::hw_derive(f, d, 0, 1), wrong_type);
  KT_ERR(sys::hw_derive(e.timer, d, 0, 1), wrong_type);
  KT_ERR(sys::hw_derive(e.gate, d, 0, 1), wrong_type);
  KT_ERR(sys::hw_derive(nogrant, d, 0x70, 1), no_rights);
  KT_ERR(sys::cap_info(d), empty_slot);
}

// ---------------------------------------------------------------------------
// IRQ line 8: the RTC periodic interrupt

KT_CASE(irq_rtc_periodic_interrupts_arrive) {
  const Env& e = env();
  KT_ASSERT(e.irq && e.io);
  uint64_t r = make(ObjType::rcv);
  KT_ASSERT(r);
  KT_OK(sys::irq_bind(e.irq, 8, r));
  RtcOff off;
  off.reg_a = cmos_read(kRegA);
  KT_CMP(off.reg_a, >=, 0);
  // Rate 9: 32768 >> (9 - 1) = 128 Hz, one interrupt every ~7.8 ms.
  KT_OK(cmos_write(kRegA, (static_cast<uint64_t>(off.reg_a) & 0xf0) | 0x09));
  int64_t b = cmos_read(kRegB);
  KT_CMP(b, >=, 0);
  KT_CMP(cmos_read(kRegC), >=, 0);  // clear anything pending
  KT_OK(cmos_write(kRegB, static_cast<uint64_t>(b) | kPie));
  int64_t total = 0;
  for (int i = 0; i < 40 && total < 5; ++i) {
    int64_t n = sys::rcv(r, 500000, 0);
    KT_CMP(n, >=, 1);
    total += n;
    int64_t c = cmos_read(kRegC);  // acknowledge: the RTC raises the line again only after this
    KT_CMP(c, >=, 0);
  }
  KT_CMP(total, >=, 5);
  // Disable it: nothing more may arrive.
  KT_OK(cmos_write(kRegB, static_cast<uint64_t>(b) & ~kPie));
  KT_CMP(cmos_read(kRegC), >=, 0);
  sleep_us(2000);
  sys::rcv(r, 0, kNB);
  KT_ERR(sys::rcv(r, 50000, 0), timeout);
  KT_OK(sys::irq_bind(e.irq, 8, 0));
}

KT_CASE(irq_bind_twice_is_irq_bound) {
  const Env& e = env();
  uint64_t r1 = make(ObjType::rcv), r2 = make(ObjType::rcv);
  KT_ASSERT(r1 && r2);
  RtcOff off;
  KT_OK(sys::irq_bind(e.irq, 8, r1));
  KT_ERR(sys::irq_bind(e.irq, 8, r2), irq_bound);
  KT_OK(sys::irq_bind(e.irq, 8, 0));
  KT_OK(sys::irq_bind(e.irq, 8, r2));  // free again after unbinding
  KT_OK(sys::irq_bind(e.irq, 8, 0));
}

KT_CASE(irq_line_outside_the_capability_is_out_of_range) {
  const Env& e = env();
  uint64_t r = make(ObjType::rcv);
  KT_ASSERT(r);
  RtcOff off;
  const uint64_t lines[] = {0, 1, 4, 7, 9, 14, 15};
  for (uint64_t l : lines) KT_ERR(sys::irq_bind(e.irq, l, r), out_of_range);
  // Beyond the ISA lines: outside the capability too (bad_argument is also a fair answer).
  KT_ASSERT(either(sys::irq_bind(e.irq, 16, r), Error::out_of_range, Error::bad_argument));
  KT_ASSERT(either(sys::irq_bind(e.irq, ~0ull, r), Error::out_of_range, Error::bad_argument));
}

KT_CASE(irq_bind_checks_types_and_rights) {
  const Env& e = env();
  uint64_t r = make(ObjType::rcv), f = make(ObjType::frame);
  uint64_t ro = copy(e.irq, Rights::read | Rights::grant);
  KT_ASSERT(r && f && ro);
  RtcOff off;
  KT_ERR(sys::irq_bind(e.io, 8, r), wrong_type);
  KT_ERR(sys::irq_bind(f, 8, r), wrong_type);
  KT_ERR(sys::irq_bind(e.irq, 8, f), wrong_type);
  KT_ERR(sys::irq_bind(ro, 8, r), no_rights);
}

KT_CASE(hw_derive_irq_line) {
  const Env& e = env();
  uint64_t r = make(ObjType::rcv), d = slot(), d2 = slot();
  KT_ASSERT(r && d && d2);
  RtcOff off;
  KT_OK(sys::hw_derive(e.irq, d, 8, 1));
  KT_EQ(info_type(sys::cap_info(d)), ObjType::irq);
  KT_OK(sys::irq_bind(d, 8, r));
  KT_ERR(sys::irq_bind(e.irq, 8, r), irq_bound);  // the same line through the parent
  KT_OK(sys::irq_bind(d, 8, 0));
  KT_ERR(sys::hw_derive(e.irq, d2, 9, 1), bad_argument);
  KT_ERR(sys::hw_derive(e.irq, d2, 8, 2), bad_argument);
}
