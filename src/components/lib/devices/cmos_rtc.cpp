#include "devices/cmos_rtc.hpp"

#include "devices/util.hpp"

namespace cos::dev {

namespace {
constexpr int64_t kSec = 1'000'000'000;
constexpr uint64_t kUipWindowNs = 244'000;  // UIP rises 244 us before an update (datasheet)

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool is_time_reg(uint8_t i) {
  return i == 0x00 || i == 0x02 || i == 0x04 || i == 0x06 || i == 0x07 || i == 0x08 || i == 0x09 ||
         i == CmosRtc::kCentury;
}

unsigned decode_value(uint8_t v, bool binary) { return binary ? v : from_bcd(v); }
uint8_t encode_value(unsigned v, bool binary) { return binary ? static_cast<uint8_t>(v) : to_bcd(v); }

unsigned decode_hour(uint8_t v, bool binary, bool h24) {
  if (h24) return decode_value(v, binary);
  unsigned h = decode_value(v & 0x7f, binary) % 12;
  return (v & 0x80) ? h + 12 : h;
}
uint8_t encode_hour(unsigned h, bool binary, bool h24) {
  if (h24) return encode_value(h, binary);
  unsigned h12 = h % 12 == 0 ? 12 : h % 12;
  return static_cast<uint8_t>(encode_value(h12, binary) | (h >= 12 ? 0x80 : 0));
}
}  // namespace

uint64_t CmosRtc::to_epoch(const RtcDate& d) {
  int64_t days = days_from_civil(d.year, d.month ? d.month : 1, d.day ? d.day : 1);
  int64_t s = days * 86400 + int64_t(d.hour) * 3600 + int64_t(d.minute) * 60 + d.second;
  return s < 0 ? 0 : static_cast<uint64_t>(s);
}

RtcDate CmosRtc::from_epoch(uint64_t seconds) {
  int64_t z = static_cast<int64_t>(seconds / 86400) + 719468;
  uint64_t rem = seconds % 86400;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  RtcDate d;
  d.day = static_cast<uint8_t>(doy - (153 * mp + 2) / 5 + 1);
  d.month = static_cast<uint8_t>(mp < 10 ? mp + 3 : mp - 9);
  d.year = static_cast<uint16_t>(y + (d.month <= 2));
  d.hour = static_cast<uint8_t>(rem / 3600);
  d.minute = static_cast<uint8_t>(rem / 60 % 60);
  d.second = static_cast<uint8_t>(rem % 60);
  return d;
}

RtcDate CmosRtc::decode(const uint8_t regs[10], uint8_t reg_b, uint8_t century) {
  bool binary = reg_b & kBBinary, h24 = reg_b & kB24h;
  RtcDate d;
  d.second = static_cast<uint8_t>(decode_value(regs[0], binary));
  d.minute = static_cast<uint8_t>(decode_value(regs[2], binary));
  d.hour = static_cast<uint8_t>(decode_hour(regs[4], binary, h24));
  d.day = static_cast<uint8_t>(decode_value(regs[7], binary));
  d.month = static_cast<uint8_t>(decode_value(regs[8], binary));
  unsigned yy = decode_value(regs[9], binary) % 100;
  unsigned c = decode_value(century, binary);
  if (c < 19 || c > 99) c = yy < 70 ? 20 : 19;
  d.year = static_cast<uint16_t>(c * 100 + yy);
  return d;
}

CmosRtc::CmosRtc(const Clock& clock, IrqLine* irq, const RtcDate& date) : clock_(clock), irq_(irq) {
  cmos_[kRegA] = 0x26;  // 32.768 kHz time base, 1024 Hz periodic rate
  cmos_[kRegB] = kB24h; // BCD, 24-hour
  cmos_[kRegD] = 0x80;  // VRT
  uint64_t now = clock_.now_ns();
  base_epoch_ = held_epoch_ = to_epoch(date);
  base_ns_ = static_cast<int64_t>(now);
  periodic_base_ns_ = last_sync_ns_ = now;
  format_time(base_epoch_);
}

uint64_t CmosRtc::seconds_at(uint64_t now_ns) const {
  if (!time_running()) return held_epoch_;
  int64_t elapsed = static_cast<int64_t>(now_ns) - base_ns_;
  return base_epoch_ + static_cast<uint64_t>(elapsed > 0 ? elapsed / kSec : 0);
}

bool CmosRtc::uip(uint64_t now_ns) const {
  if (!time_running()) return false;
  int64_t elapsed = static_cast<int64_t>(now_ns) - base_ns_;
  if (elapsed < 0) return false;
  return static_cast<uint64_t>(elapsed % kSec) >= uint64_t(kSec) - kUipWindowNs;
}

void CmosRtc::format_time(uint64_t epoch) {
  bool binary = cmos_[kRegB] & kBBinary, h24 = cmos_[kRegB] & kB24h;
  RtcDate d = from_epoch(epoch);
  cmos_[0x00] = encode_value(d.second, binary);
  cmos_[0x02] = encode_value(d.minute, binary);
  cmos_[0x04] = encode_hour(d.hour, binary, h24);
  cmos_[0x06] = static_cast<uint8_t>((epoch / 86400 + 4) % 7 + 1);  // 1970-01-01 was a Thursday
  cmos_[0x07] = encode_value(d.day, binary);
  cmos_[0x08] = encode_value(d.month, binary);
  cmos_[0x09] = encode_value(d.year % 100, binary);
  cmos_[kCentury] = encode_value(d.year / 100, binary);
}

uint64_t CmosRtc::parse_time() const { return to_epoch(decode(cmos_, cmos_[kRegB], cmos_[kCentury])); }

RtcDate CmosRtc::date() const { return from_epoch(seconds_at(clock_.now_ns())); }

void CmosRtc::set_date(const RtcDate& date) {
  uint64_t now = clock_.now_ns();
  sync(now);
  uint64_t e = to_epoch(date);
  if (time_running()) {
    base_epoch_ = e;
    base_ns_ = static_cast<int64_t>(now);
  } else {
    held_epoch_ = e;
  }
  format_time(e);
}

void CmosRtc::set_nvram(uint8_t index, uint8_t value) {
  index &= 0x7f;
  if (index >= 0x0e) cmos_[index] = value;
}

uint64_t CmosRtc::periodic_ticks() const {
  unsigned rs = cmos_[kRegA] & 0x0f;
  if (rs == 0) return 0;
  if (rs == 1) return 128;  // 256 Hz
  if (rs == 2) return 256;  // 128 Hz
  return uint64_t(1) << (rs - 1);
}

bool CmosRtc::alarm_matches(uint64_t epoch) const {
  bool binary = cmos_[kRegB] & kBBinary, h24 = cmos_[kRegB] & kB24h;
  RtcDate d = from_epoch(epoch);
  auto dont_care = [](uint8_t v) { return v >= 0xc0; };
  if (!dont_care(cmos_[0x01]) && decode_value(cmos_[0x01], binary) != d.second) return false;
  if (!dont_care(cmos_[0x03]) && decode_value(cmos_[0x03], binary) != d.minute) return false;
  if (!dont_care(cmos_[0x05]) && decode_hour(cmos_[0x05], binary, h24) != d.hour) return false;
  return true;
}

void CmosRtc::sync(uint64_t now_ns) {
  if (now_ns < last_sync_ns_) now_ns = last_sync_ns_;
  uint8_t flags = cmos_[kRegC] & (kCPf | kCAf | kCUf);
  if (time_running() && static_cast<int64_t>(last_sync_ns_) >= base_ns_) {
    uint64_t s_prev = static_cast<uint64_t>((static_cast<int64_t>(last_sync_ns_) - base_ns_) / kSec);
    uint64_t s_now = static_cast<uint64_t>((static_cast<int64_t>(now_ns) - base_ns_) / kSec);
    if (s_now > s_prev) {
      flags |= kCUf;
      if (!(flags & kCAf)) {
        if (s_now - s_prev > 86400) {
          flags |= kCAf;  // every alarm setting matches within a day
        } else {
          for (uint64_t s = s_prev + 1; s <= s_now; ++s)
            if (alarm_matches(base_epoch_ + s)) {
              flags |= kCAf;
              break;
            }
        }
      }
    }
  }
  uint64_t per = periodic_ticks();
  if (per && divider_running()) {
    uint64_t t_prev = muldiv(last_sync_ns_ - periodic_base_ns_, 32768, kNsPerSec) / per;
    uint64_t t_now = muldiv(now_ns - periodic_base_ns_, 32768, kNsPerSec) / per;
    if (t_now > t_prev) flags |= kCPf;
  }
  cmos_[kRegC] = flags;
  last_sync_ns_ = now_ns;
  update_irq();
}

void CmosRtc::update_irq() {
  uint8_t b = cmos_[kRegB], c = cmos_[kRegC];
  bool irqf = ((c & kCPf) && (b & kBPie)) || ((c & kCAf) && (b & kBAie)) || ((c & kCUf) && (b & kBUie));
  cmos_[kRegC] = static_cast<uint8_t>((c & ~kCIrqf) | (irqf ? kCIrqf : 0));
  if (irqf == irq_level_) return;
  irq_level_ = irqf;
  if (irq_) irq_->set_irq(kIrq, irqf);
}

uint64_t CmosRtc::next_deadline_ns() const {
  uint64_t d = kNoDeadline;
  uint8_t b = cmos_[kRegB], c = cmos_[kRegC];
  uint64_t per = periodic_ticks();
  if ((b & kBPie) && !(c & kCPf) && per && divider_running()) {
    uint64_t t = muldiv(last_sync_ns_ - periodic_base_ns_, 32768, kNsPerSec) / per + 1;
    uint64_t at = sat_add(periodic_base_ns_, muldiv_ceil(t * per, kNsPerSec, 32768));
    if (at < d) d = at;
  }
  bool want_second = ((b & kBUie) && !(c & kCUf)) || ((b & kBAie) && !(c & kCAf));
  if (want_second && time_running() && static_cast<int64_t>(last_sync_ns_) >= base_ns_) {
    uint64_t s = static_cast<uint64_t>((static_cast<int64_t>(last_sync_ns_) - base_ns_) / kSec) + 1;
    uint64_t at = static_cast<uint64_t>(base_ns_ + static_cast<int64_t>(s) * kSec);
    if (at < d) d = at;
  }
  return d;
}

void CmosRtc::advance(uint64_t now_ns) { sync(now_ns); }

uint32_t CmosRtc::io_read(uint16_t port, unsigned) {
  if (port == kIndexPort) return 0xff;
  uint8_t i = index_;
  uint64_t now = clock_.now_ns();
  if (is_time_reg(i)) {
    if (time_running()) format_time(seconds_at(now));
    return cmos_[i];
  }
  switch (i) {
    case kRegA:
      return cmos_[kRegA] | (uip(now) ? kAUip : 0);
    case kRegC: {
      sync(now);
      uint8_t v = cmos_[kRegC];
      cmos_[kRegC] = 0;
      update_irq();
      return v;
    }
    case kRegD:
      return 0x80;
    default:
      return cmos_[i];
  }
}

void CmosRtc::io_write(uint16_t port, unsigned, uint32_t value) {
  uint8_t v = static_cast<uint8_t>(value);
  if (port == kIndexPort) {
    index_ = v & 0x7f;
    nmi_disabled_ = v & 0x80;
    return;
  }
  uint8_t i = index_;
  uint64_t now = clock_.now_ns();
  if (is_time_reg(i)) {
    if (!time_running()) {
      cmos_[i] = v;  // held until SET is cleared / the divider runs
      return;
    }
    sync(now);
    format_time(seconds_at(now));
    cmos_[i] = v;
    // Set the clock now, keeping the phase of the divider chain.
    int64_t elapsed = static_cast<int64_t>(now) - base_ns_;
    base_ns_ = static_cast<int64_t>(now) - (elapsed > 0 ? elapsed % kSec : 0);
    base_epoch_ = parse_time();
    last_sync_ns_ = now;
    return;
  }
  if (i == kRegA || i == kRegB) {
    sync(now);
    bool was_running = time_running(), was_div = divider_running();
    uint8_t old_rs = cmos_[kRegA] & 0x0f;
    uint64_t t = was_running ? seconds_at(now) : parse_time();  // in the old format
    if (i == kRegA) {
      cmos_[kRegA] = v & 0x7f;  // UIP is read-only
    } else {
      if (v & kBSet) v &= static_cast<uint8_t>(~kBUie);  // SET clears UIE (datasheet)
      cmos_[kRegB] = v;
    }
    bool running = time_running();
    if (running && !was_running) {
      base_epoch_ = t;
      if (!was_div) {
        // Divider released from reset: the first update comes 500 ms later.
        base_ns_ = static_cast<int64_t>(now) - kSec / 2;
      } else {
        // SET cleared: the divider chain kept its phase.
        int64_t elapsed = static_cast<int64_t>(now) - base_ns_;
        base_ns_ = static_cast<int64_t>(now) - (elapsed > 0 ? elapsed % kSec : 0);
      }
    } else if (!running) {
      held_epoch_ = t;
    }
    format_time(running ? seconds_at(now) : held_epoch_);
    if ((cmos_[kRegA] & 0x0f) != old_rs || (!was_div && divider_running())) periodic_base_ns_ = now;
    last_sync_ns_ = now;
    update_irq();
    return;
  }
  if (i == kRegC || i == kRegD) return;  // read-only
  cmos_[i] = v;                          // alarms and RAM
}

}  // namespace cos::dev
