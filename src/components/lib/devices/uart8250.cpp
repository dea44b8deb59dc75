#include "devices/uart8250.hpp"

#include "devices/util.hpp"

namespace cos::dev {

Uart8250::Uart8250(const Clock& clock, IrqLine* irq, const Config& config)
    : clock_(clock), irq_line_(irq), cfg_(config) {}

unsigned Uart8250::rx_trigger() const {
  static constexpr unsigned kLevels[4] = {1, 4, 8, 14};
  return kLevels[fcr_ >> 6];
}

uint8_t Uart8250::modem_inputs() const {
  if (mcr_ & kMcrLoop) {
    uint8_t v = 0;
    if (mcr_ & kMcrRts) v |= kMsrCts;
    if (mcr_ & kMcrDtr) v |= kMsrDsr;
    if (mcr_ & kMcrOut1) v |= kMsrRi;
    if (mcr_ & kMcrOut2) v |= kMsrDcd;
    return v;
  }
  return kMsrDcd | kMsrDsr | kMsrCts;
}

void Uart8250::update_modem_status(uint8_t old_inputs) {
  uint8_t now = modem_inputs();
  uint8_t changed = old_inputs ^ now;
  if (changed & kMsrCts) msr_deltas_ |= kMsrDcts;
  if (changed & kMsrDsr) msr_deltas_ |= kMsrDdsr;
  if (changed & kMsrDcd) msr_deltas_ |= kMsrDdcd;
  if ((old_inputs & kMsrRi) && !(now & kMsrRi)) msr_deltas_ |= kMsrTeri;  // trailing edge
}

uint8_t Uart8250::iir() const {
  uint8_t id = kIirNoInt;
  if ((ier_ & kIerRls) && (lsr_errors_ & (kLsrOe | kLsrPe | kLsrFe | kLsrBi)))
    id = kIirRls;
  else if ((ier_ & kIerRda) && rx_count_ > 0 && (!fifo_enabled() || rx_count_ >= rx_trigger()))
    id = kIirRda;
  else if ((ier_ & kIerRda) && fifo_enabled() && timeout_pending_ && rx_count_ > 0)
    id = kIirTimeout;
  else if ((ier_ & kIerThre) && thr_ipending_)
    id = kIirThre;
  else if ((ier_ & kIerMsi) && (msr_deltas_ & 0x0f))
    id = kIirMsi;
  return static_cast<uint8_t>(id | (fifo_enabled() ? kIirFifo : 0));
}

void Uart8250::update_irq() {
  bool intr = !(iir() & kIirNoInt);
  bool level = intr;
  if (cfg_.gate_irq_with_out2) level = intr && (mcr_ & kMcrOut2) && !(mcr_ & kMcrLoop);
  if (level == irq_level_) return;
  irq_level_ = level;
  if (irq_line_) irq_line_->set_irq(cfg_.irq, level);
}

uint64_t Uart8250::timeout_ns() const {
  // One character: start bit, 5-8 data bits, optional parity, 1 or 2 stop bits
  // (1.5 for 5-bit words, counted as 2); 4 characters of silence (PC16550D).
  unsigned bits = 1 + 5 + (lcr_ & 3) + ((lcr_ >> 3) & 1) + ((lcr_ & 4) ? 2 : 1);
  uint32_t div = divisor() ? divisor() : 0x10000;
  return muldiv(uint64_t(4) * bits * div, kNsPerSec, kBaudBase);
}

void Uart8250::check_timeout() {
  if (timeout_pending_ || rx_count_ == 0 || !fifo_enabled()) return;
  if (clock_.now_ns() >= sat_add(rx_activity_ns_, timeout_ns())) timeout_pending_ = true;
}

uint64_t Uart8250::next_deadline_ns() const {
  if (timeout_pending_ || rx_count_ == 0 || !fifo_enabled() || !(ier_ & kIerRda)) return kNoDeadline;
  if (rx_count_ >= rx_trigger()) return kNoDeadline;  // the data interrupt is already up
  return sat_add(rx_activity_ns_, timeout_ns());
}

void Uart8250::advance(uint64_t now_ns) {
  if (!timeout_pending_ && rx_count_ > 0 && fifo_enabled() && now_ns >= sat_add(rx_activity_ns_, timeout_ns())) {
    timeout_pending_ = true;
    update_irq();
  }
}

void Uart8250::receive(uint8_t byte) {
  if (rx_count_ == rx_capacity()) {
    lsr_errors_ |= kLsrOe;
    if (!fifo_enabled()) rx_[rx_head_] = byte;  // 16450 mode: the holding register is overwritten
  } else {
    rx_[(rx_head_ + rx_count_) % kFifoSize] = byte;
    ++rx_count_;
  }
  rx_activity_ns_ = clock_.now_ns();
}

void Uart8250::clear_rx() {
  rx_head_ = rx_count_ = 0;
  timeout_pending_ = false;
}

bool Uart8250::push_input(uint8_t byte) {
  if (mcr_ & kMcrLoop) return false;
  bool room = rx_count_ < rx_capacity();
  receive(byte);
  update_irq();
  return room;
}

unsigned Uart8250::rx_room() const {
  if (mcr_ & kMcrLoop) return 0;
  return rx_capacity() - rx_count_;
}

uint32_t Uart8250::io_read(uint16_t port, unsigned) {
  unsigned off = static_cast<uint16_t>(port - cfg_.base);
  uint8_t v = 0xff;
  switch (off) {
    case 0:
      if (lcr_ & kLcrDlab) return dll_;
      if (rx_count_ > 0) {
        last_rx_ = rx_[rx_head_];
        rx_head_ = (rx_head_ + 1) % kFifoSize;
        --rx_count_;
      }
      v = last_rx_;
      timeout_pending_ = false;
      rx_activity_ns_ = clock_.now_ns();
      update_irq();
      break;
    case 1:
      v = (lcr_ & kLcrDlab) ? dlm_ : ier_;
      break;
    case 2:
      check_timeout();
      v = iir();
      if ((v & 0x0f) == kIirThre) {
        thr_ipending_ = false;
        update_irq();
      }
      break;
    case 3:
      v = lcr_;
      break;
    case 4:
      v = mcr_;
      break;
    case 5:
      v = static_cast<uint8_t>(lsr_errors_ | kLsrThre | kLsrTemt | (rx_count_ ? kLsrDr : 0));
      if (lsr_errors_) {
        lsr_errors_ = 0;
        update_irq();
      }
      break;
    case 6:
      v = static_cast<uint8_t>(modem_inputs() | msr_deltas_);
      if (msr_deltas_) {
        msr_deltas_ = 0;
        update_irq();
      }
      break;
    case 7:
      v = scr_;
      break;
  }
  return v;
}

void Uart8250::io_write(uint16_t port, unsigned, uint32_t value) {
  unsigned off = static_cast<uint16_t>(port - cfg_.base);
  uint8_t v = static_cast<uint8_t>(value);
  switch (off) {
    case 0:
      if (lcr_ & kLcrDlab) {
        dll_ = v;
        break;
      }
      thr_ipending_ = false;
      update_irq();
      if (mcr_ & kMcrLoop)
        receive(v);
      else if (out_)
        out_(out_ctx_, v);
      // Transmitted at once: THR is empty again.
      thr_ipending_ = true;
      update_irq();
      break;
    case 1:
      if (lcr_ & kLcrDlab) {
        dlm_ = v;
      } else {
        uint8_t changed = (ier_ ^ v) & 0x0f;
        ier_ = v & 0x0f;
        if (changed & kIerThre) thr_ipending_ = (ier_ & kIerThre) != 0;  // THR is always empty
        update_irq();
      }
      break;
    case 2: {
      bool was_enabled = fifo_enabled();
      if ((v & kFcrEnable) != was_enabled) clear_rx();  // toggling FCR0 clears both FIFOs
      fcr_ = v & (kFcrEnable | 0xc0);
      if (v & kFcrClearRx) clear_rx();
      update_irq();
      break;
    }
    case 3:
      lcr_ = v;
      break;
    case 4: {
      uint8_t old = modem_inputs();
      mcr_ = v & 0x1f;
      update_modem_status(old);
      update_irq();
      break;
    }
    case 5:
    case 6:
      break;  // LSR and MSR are read-only here (factory test registers on the chip)
    case 7:
      scr_ = v;
      break;
  }
}

}  // namespace cos::dev
