// cos::dev::Uart8250 — a 16550A-compatible UART (National Semiconductor
// PC16550D datasheet; the 8250/16450 register set plus 16-byte FIFOs), as
// COM1 on a PC: ports 0x3f8-0x3ff, ISA IRQ 4.
//
// Registers (offset from base; DLAB = LCR bit 7):
//   0  RBR (read) / THR (write) / DLL (DLAB=1)
//   1  IER (bits 0-3: ERBFI, ETBEI, ELSI, EDSSI; 4-7 read 0) / DLM (DLAB=1)
//   2  IIR (read) / FCR (write)
//   3  LCR   4 MCR (bits 0-4: DTR, RTS, OUT1, OUT2, LOOP)   5 LSR   6 MSR   7 SCR
//
// Transmission is instantaneous: a byte written to THR goes to the output
// callback (or, in loopback, to the receiver) at once, so LSR.THRE and
// LSR.TEMT always read 1 and the THRE interrupt re-arms right after the
// write (the line drops and rises again, an edge for the PIC).
//
// Interrupts, highest priority first (PC16550D Table IV):
//   0x06 receiver line status (overrun/parity/framing/break; cleared by
//        reading LSR), 0x04 received data available (FIFO at its trigger
//        level, or any byte without FIFOs; cleared when it drops below),
//   0x0c character timeout (FIFO mode: data below the trigger level and no
//        FIFO activity for 4 character times; cleared by reading RBR),
//   0x02 THR empty (cleared by reading IIR when it is the source, or by
//        writing THR; set again whenever ETBEI goes 0 -> 1 with THR empty),
//   0x00 modem status (cleared by reading MSR); 0x01 = none. IIR bits 6-7
//   are 11 with FIFOs enabled (what Linux's FIFO detection looks for).
// The INTR output reaches the ISA IRQ line only while MCR.OUT2 is set and
// loopback is off, as on PC serial ports (Config::gate_irq_with_out2).
//
// Loopback (MCR bit 4): THR goes to the receiver, the modem outputs feed the
// modem inputs (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD), external input is
// disconnected. Outside loopback the modem inputs are CTS, DSR and DCD
// asserted (a connected terminal).
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class Uart8250 final : public PortDevice, public TimerDevice {
 public:
  static constexpr uint16_t kCom1Base = 0x3f8;
  static constexpr unsigned kCom1Irq = 4;
  static constexpr unsigned kFifoSize = 16;
  /// Input clock / 16: the baud rate of divisor 1.
  static constexpr uint32_t kBaudBase = 115200;

  struct Config {
    uint16_t base = kCom1Base;
    unsigned irq = kCom1Irq;
    bool gate_irq_with_out2 = true;
  };

  // Register bits.
  static constexpr uint8_t kIerRda = 0x01, kIerThre = 0x02, kIerRls = 0x04, kIerMsi = 0x08;
  static constexpr uint8_t kIirNoInt = 0x01, kIirMsi = 0x00, kIirThre = 0x02, kIirRda = 0x04,
                           kIirRls = 0x06, kIirTimeout = 0x0c, kIirFifo = 0xc0;
  static constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02, kFcrClearTx = 0x04;
  static constexpr uint8_t kLcrDlab = 0x80;
  static constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08,
                           kMcrLoop = 0x10;
  static constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrPe = 0x04, kLsrFe = 0x08, kLsrBi = 0x10,
                           kLsrThre = 0x20, kLsrTemt = 0x40;
  static constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08,
                           kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;

  /// `irq` receives the UART's interrupt line (ISA IRQ config.irq); may be
  /// null. `clock` times the FIFO character timeout.
  Uart8250(const Clock& clock, IrqLine* irq, const Config& config);
  Uart8250(const Clock& clock, IrqLine* irq) : Uart8250(clock, irq, Config{}) {}

  /// Every byte the guest transmits (not in loopback).
  void set_output(ByteOut fn, void* ctx) {
    out_ = fn;
    out_ctx_ = ctx;
  }
  /// A byte from the host (keyboard) arrives at the receiver. Returns false
  /// if it was lost: receiver full (LSR.OE is set, as on hardware) or
  /// loopback mode (input disconnected). Check rx_room() to avoid losses.
  bool push_input(uint8_t byte);
  /// Bytes the receiver can take without overrun.
  unsigned rx_room() const;
  /// True once the guest's driver enabled the received-data interrupt (IER
  /// bit 0): Linux does that when a program opens the serial tty, so a VMM
  /// can hold host input back until someone reads it instead of feeding the
  /// boot-time driver, which discards it.
  bool rx_interrupt_enabled() const { return (ier_ & kIerRda) != 0; }

  uint16_t base() const { return cfg_.base; }
  unsigned irq() const { return cfg_.irq; }
  /// The ISA IRQ line's current level.
  bool irq_level() const { return irq_level_; }

  // PortDevice: ports base..base+7, byte accesses.
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  // TimerDevice: the FIFO character timeout.
  uint64_t next_deadline_ns() const override;
  void advance(uint64_t now_ns) override;

  /// IIR as a read would return it, without the read's side effects.
  uint8_t peek_iir() const { return iir(); }
  uint8_t lcr() const { return lcr_; }
  uint8_t mcr() const { return mcr_; }
  uint16_t divisor() const { return static_cast<uint16_t>(dlm_ << 8 | dll_); }

 private:
  bool fifo_enabled() const { return fcr_ & kFcrEnable; }
  unsigned rx_capacity() const { return fifo_enabled() ? kFifoSize : 1; }
  unsigned rx_trigger() const;
  uint8_t iir() const;
  uint8_t modem_inputs() const;
  void update_modem_status(uint8_t old_inputs);
  void receive(uint8_t byte);
  void clear_rx();
  void update_irq();
  uint64_t timeout_ns() const;
  void check_timeout();

  const Clock& clock_;
  IrqLine* irq_line_;
  Config cfg_;
  ByteOut out_ = nullptr;
  void* out_ctx_ = nullptr;

  uint8_t rx_[kFifoSize] = {};
  unsigned rx_head_ = 0, rx_count_ = 0;
  uint8_t last_rx_ = 0;
  uint8_t ier_ = 0, fcr_ = 0, lcr_ = 0, mcr_ = 0, lsr_errors_ = 0, msr_deltas_ = 0, scr_ = 0;
  uint8_t dll_ = 0x0c, dlm_ = 0;  // 9600 baud
  bool thr_ipending_ = false;
  bool timeout_pending_ = false;
  uint64_t rx_activity_ns_ = 0;
  bool irq_level_ = false;
};

}  // namespace cos::dev
