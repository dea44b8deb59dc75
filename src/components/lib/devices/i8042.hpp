// cos::dev::I8042 — the PC keyboard controller (Intel 8042 / IBM PC AT
// "keyboard controller" interface; ports 0x60 data and 0x64 status/command)
// with nothing attached: no keyboard, no AUX (mouse) port. It exists for
// the reset line — command 0xfe (pulse output port bit 0) or an output-port
// write with bit 0 clear calls the reset callback, which is how Linux's
// `reboot=k` resets the machine — and to make Linux's i8042 and atkbd
// probes finish at once instead of timing out:
//   * the controller answers its commands immediately (IBF is always 0):
//     0x20-0x3f read RAM (0x20: command byte), 0x60-0x7f write RAM,
//     0xa7/0xa8 AUX disable/enable, 0xa9 AUX interface test (answers 0x01:
//     no AUX port), 0xaa self-test (0x55), 0xab keyboard interface test
//     (0x00), 0xad/0xae keyboard disable/enable, 0xc0 input port, 0xd0/0xd1
//     output port, 0xd2 write keyboard output buffer, 0xd3 write AUX output
//     buffer (echoed as keyboard data: there is no AUX port, so Linux's
//     loop test fails without waiting), 0xd4 write to the AUX device,
//     0xdd/0xdf A20, 0xe0 test inputs, 0xf0-0xff pulse output port bits;
//   * a byte for a device (keyboard, or AUX through 0xd4) is answered with
//     0xfe and the status register's time-out bit, as a controller does when
//     no device responds; Linux's libps2 takes it as a NAK and atkbd gives
//     up on the first command.
// Status register: OBF (0), IBF (1, always 0), SYS (2, from the command
// byte), A2 (3, last write was a command), not inhibited (4, always 1),
// AUXB (5), time-out (6). The output buffer holds one byte; a new response
// replaces an unread one. IRQ 1 (keyboard data, command byte bit 0) and
// IRQ 12 (AUX data, bit 1) follow OBF as levels.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class I8042 final : public PortDevice {
 public:
  static constexpr uint16_t kDataPort = 0x60, kStatusPort = 0x64;
  static constexpr unsigned kKbdIrq = 1, kAuxIrq = 12;
  static constexpr uint8_t kStatusObf = 0x01, kStatusIbf = 0x02, kStatusSys = 0x04, kStatusCmd = 0x08,
                           kStatusUnlocked = 0x10, kStatusAux = 0x20, kStatusTimeout = 0x40;
  static constexpr uint8_t kCtrKbdInt = 0x01, kCtrAuxInt = 0x02, kCtrSys = 0x04, kCtrKbdDis = 0x10,
                           kCtrAuxDis = 0x20, kCtrXlate = 0x40;

  /// `irq` gets ISA IRQ 1 and 12 (may be null).
  explicit I8042(IrqLine* irq);

  /// Called when the guest pulses or drives the CPU reset line.
  void set_reset_callback(Notify fn, void* ctx) {
    reset_ = fn;
    reset_ctx_ = ctx;
  }

  // PortDevice: 0x60 and 0x64 (byte accesses).
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  uint8_t command_byte() const { return ram_[0]; }
  uint8_t status() const;
  uint8_t output_port() const { return output_port_; }
  unsigned resets() const { return resets_; }

 private:
  void respond(uint8_t byte, bool aux = false, bool timeout = false);
  void command(uint8_t cmd);
  void data(uint8_t v);
  void reset_cpu();
  void update_irq();

  IrqLine* irq_;
  Notify reset_ = nullptr;
  void* reset_ctx_ = nullptr;
  uint8_t ram_[32] = {};
  uint8_t out_ = 0;
  bool out_full_ = false, out_aux_ = false, out_timeout_ = false;
  bool last_was_command_ = false;
  uint8_t pending_ = 0;  // command waiting for its data byte
  uint8_t output_port_ = 0x03;  // reset line inactive (bit 0 = 1), A20 on (bit 1)
  bool irq1_ = false, irq12_ = false;
  unsigned resets_ = 0;
};

}  // namespace cos::dev
