#include "devices/pit8254.hpp"

#include "devices/util.hpp"

namespace cos::dev {

namespace {
constexpr uint64_t kNone = ~uint64_t(0);

uint16_t to_bcd4(uint32_t v) {
  return static_cast<uint16_t>(to_bcd(v / 100 % 100) << 8 | to_bcd(v % 100));
}
uint32_t from_bcd4(uint32_t v) {
  return from_bcd(static_cast<uint8_t>(v >> 8)) * 100 + from_bcd(static_cast<uint8_t>(v));
}
}  // namespace

Pit8254::Pit8254(const Clock& clock, IrqLine* irq) : clock_(clock), irq_(irq) {
  ch_[2].gate = false;  // port 0x61 bit 0 starts clear
}

uint64_t Pit8254::ticks_to_ns(uint64_t ticks) { return muldiv_ceil(ticks, kNsPerSec, kFrequencyHz); }

uint64_t Pit8254::ticks_at(const Channel& c, uint64_t now_ns) const {
  if (!c.loaded) return 0;
  if (!c.counting) return c.base_ticks;
  uint64_t dt = now_ns > c.start_ns ? now_ns - c.start_ns : 0;
  return c.base_ticks + muldiv(dt, kFrequencyHz, kNsPerSec);
}

uint16_t Pit8254::counter_at(const Channel& c, uint64_t now_ns) const {
  uint32_t v;
  if (!c.loaded) {
    v = c.count;
  } else {
    uint64_t d = ticks_at(c, now_ns);
    uint32_t modulus = c.bcd ? 10000 : 0x10000;
    switch (c.mode) {
      case 2:
        v = c.count - static_cast<uint32_t>(d % c.count);
        break;
      case 3:
        v = c.count - static_cast<uint32_t>((2 * d) % c.count);
        break;
      default:  // 0, 1, 4, 5: count down, wrapping after terminal count
        if (!c.counting && (c.mode == 1 || c.mode == 5)) {
          v = c.count;  // waiting for the gate trigger
        } else {
          v = static_cast<uint32_t>((c.count % modulus + modulus - d % modulus) % modulus);
        }
        break;
    }
  }
  if (c.bcd) return to_bcd4(v % 10000);
  return static_cast<uint16_t>(v);
}

bool Pit8254::out_at(const Channel& c, uint64_t now_ns) const {
  if (!c.loaded) return c.mode != 0;
  uint64_t d = ticks_at(c, now_ns);
  switch (c.mode) {
    case 0:
      return d >= c.count;
    case 1:
      return c.counting ? d >= c.count : true;
    case 2:
      return c.counting ? (d % c.count) != c.count - 1 : true;
    case 3:
      return c.counting ? (d % c.count) < (c.count + 1) / 2 : true;
    case 4:
      return d != c.count;
    default:  // 5
      return c.counting ? d != c.count : true;
  }
}

// Tick of the first rising OUT edge after the counter starts.
uint64_t Pit8254::first_edge(const Channel& c) const {
  switch (c.mode) {
    case 0:
    case 1:
    case 2:
    case 3:
      return c.count;
    default:  // 4, 5: OUT is low for the one clock at terminal count
      return uint64_t(c.count) + 1;
  }
}

// The next rising OUT edge strictly after `tick`, kNone for one-shot modes.
uint64_t Pit8254::edge_after(const Channel& c, uint64_t tick) const {
  if (c.mode != 2 && c.mode != 3) return kNone;
  return (tick / c.count + 1) * c.count;
}

void Pit8254::rearm_irq() {
  Channel& c = ch_[0];
  if (!c.loaded || !c.counting) {
    c.next_irq_tick = kNone;
    return;
  }
  uint64_t d = ticks_at(c, clock_.now_ns());
  uint64_t e = first_edge(c);
  c.next_irq_tick = e > d ? e : edge_after(c, d);
}

uint64_t Pit8254::next_deadline_ns() const {
  const Channel& c = ch_[0];
  if (c.next_irq_tick == kNone || !c.loaded || !c.counting) return kNoDeadline;
  uint64_t t = c.next_irq_tick > c.base_ticks ? c.next_irq_tick - c.base_ticks : 0;
  return sat_add(c.start_ns, ticks_to_ns(t));
}

void Pit8254::advance(uint64_t now_ns) {
  Channel& c = ch_[0];
  if (c.next_irq_tick == kNone || !c.loaded || !c.counting) return;
  uint64_t d = ticks_at(c, now_ns);
  if (d < c.next_irq_tick) return;
  // Periods the VMM overslept coalesce into one edge, as an interrupt
  // controller would latch them anyway.
  c.next_irq_tick = edge_after(c, d);
  if (irq_) irq_->pulse_irq(kIrq);
}

void Pit8254::start(Channel& c, uint64_t now_ns) {
  c.start_ns = now_ns;
  c.base_ticks = 0;
  c.counting = true;
}

void Pit8254::load(Channel& c, uint32_t raw) {
  uint32_t v = c.bcd ? from_bcd4(raw) : raw;
  if (v == 0) v = c.bcd ? 10000 : 0x10000;
  c.count = v;
  c.null_count = false;
  uint64_t now = clock_.now_ns();
  bool was_counting = c.loaded && c.counting;
  c.loaded = true;
  switch (c.mode) {
    case 1:
    case 5:
      // Waits for a rising GATE edge; a count written during a triggered
      // cycle is used from the next trigger (datasheet) — approximated by
      // keeping the cycle running.
      if (!was_counting) {
        c.counting = false;
        c.base_ticks = 0;
      }
      break;
    default:  // 0, 2, 3, 4: count from now while GATE is high
      c.base_ticks = 0;
      c.start_ns = now;
      c.counting = c.gate;
      break;
  }
  if (&c == &ch_[0]) rearm_irq();
}

void Pit8254::set_gate(Channel& c, bool level) {
  if (level == c.gate) return;
  uint64_t now = clock_.now_ns();
  switch (c.mode) {
    case 0:
    case 4:  // GATE low suspends counting
      if (!level && c.loaded && c.counting) {
        c.base_ticks = ticks_at(c, now);
        c.counting = false;
      } else if (level && c.loaded && !c.counting) {
        c.start_ns = now;
        c.counting = true;
      }
      break;
    case 1:
    case 5:  // a rising edge (re)triggers
      if (level && c.loaded) start(c, now);
      break;
    default:  // 2, 3: low stops (OUT high), a rising edge reloads
      if (!level)
        c.counting = false;
      else if (c.loaded)
        start(c, now);
      break;
  }
  c.gate = level;
  if (&c == &ch_[0]) rearm_irq();
}

void Pit8254::latch_count(Channel& c, uint64_t now_ns) {
  if (c.count_latched) return;  // further latch commands are ignored until read
  c.latched = counter_at(c, now_ns);
  c.count_latched = true;
  c.latch_bytes = c.rw == 3 ? 2 : 1;
}

void Pit8254::latch_status(Channel& c, uint64_t now_ns) {
  if (c.status_latched) return;
  c.status = static_cast<uint8_t>((out_at(c, now_ns) ? 0x80 : 0) | (c.null_count ? 0x40 : 0) | c.rw << 4 |
                                  c.mode << 1 | (c.bcd ? 1 : 0));
  c.status_latched = true;
}

void Pit8254::control(uint8_t v) {
  unsigned sc = v >> 6;
  uint64_t now = clock_.now_ns();
  if (sc == 3) {  // read-back: bit 5 = !COUNT, bit 4 = !STATUS, bits 3-1 = counters 2-0
    for (unsigned i = 0; i < 3; ++i) {
      if (!(v & (2u << i))) continue;
      if (!(v & 0x10)) latch_status(ch_[i], now);
      if (!(v & 0x20)) latch_count(ch_[i], now);
    }
    return;
  }
  Channel& c = ch_[sc];
  unsigned rw = (v >> 4) & 3;
  if (rw == 0) {  // counter latch command
    latch_count(c, now);
    return;
  }
  unsigned mode = (v >> 1) & 7;
  if (mode > 5) mode -= 4;
  c.mode = static_cast<uint8_t>(mode);
  c.rw = static_cast<uint8_t>(rw);
  c.bcd = v & 1;
  c.loaded = false;
  c.counting = false;
  c.null_count = true;
  c.base_ticks = 0;
  c.write_msb_next = false;
  c.read_msb_next = false;
  c.count_latched = false;
  c.status_latched = false;
  if (sc == 0) c.next_irq_tick = kNone;
}

uint8_t Pit8254::read_channel(Channel& c) {
  if (c.status_latched) {
    c.status_latched = false;
    return c.status;
  }
  if (c.count_latched) {
    if (c.rw == 1) {
      c.count_latched = false;
      return static_cast<uint8_t>(c.latched);
    }
    if (c.rw == 2) {
      c.count_latched = false;
      return static_cast<uint8_t>(c.latched >> 8);
    }
    if (c.latch_bytes == 2) {
      c.latch_bytes = 1;
      return static_cast<uint8_t>(c.latched);
    }
    c.count_latched = false;
    return static_cast<uint8_t>(c.latched >> 8);
  }
  uint16_t v = counter_at(c, clock_.now_ns());
  switch (c.rw) {
    case 1:
      return static_cast<uint8_t>(v);
    case 2:
      return static_cast<uint8_t>(v >> 8);
    default:
      c.read_msb_next = !c.read_msb_next;
      return static_cast<uint8_t>(c.read_msb_next ? v : v >> 8);
  }
}

void Pit8254::write_channel(Channel& c, uint8_t v) {
  switch (c.rw) {
    case 1:
      load(c, v);
      break;
    case 2:
      load(c, uint32_t(v) << 8);
      break;
    default:
      if (!c.write_msb_next) {
        c.write_lsb = v;
        c.write_msb_next = true;
        if (c.mode == 0) {  // mode 0: the first byte stops counting and drives OUT low
          c.loaded = false;
          c.counting = false;
          if (&c == &ch_[0]) c.next_irq_tick = kNone;
        }
      } else {
        c.write_msb_next = false;
        load(c, c.write_lsb | uint32_t(v) << 8);
      }
      break;
  }
}

uint32_t Pit8254::io_read(uint16_t port, unsigned) {
  if (port == kPortB) {
    uint8_t v = static_cast<uint8_t>((port_b_ & 0x0f) | (refresh_ ? 0x10 : 0) | (out(2) ? 0x20 : 0));
    refresh_ = !refresh_;
    return v;
  }
  if (port >= kBase && port < kControl) return read_channel(ch_[port - kBase]);
  return 0xff;  // the control word register is write-only
}

void Pit8254::io_write(uint16_t port, unsigned, uint32_t value) {
  uint8_t v = static_cast<uint8_t>(value);
  if (port == kPortB) {
    port_b_ = v & 0x0f;
    set_gate(ch_[2], v & 1);
    return;
  }
  if (port == kControl)
    control(v);
  else if (port >= kBase && port < kControl)
    write_channel(ch_[port - kBase], v);
}

}  // namespace cos::dev
