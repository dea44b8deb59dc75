#include "devices/i8042.hpp"

namespace cos::dev {

I8042::I8042(IrqLine* irq) : irq_(irq) {
  // What a BIOS leaves without a mouse: keyboard interrupt on, POST passed,
  // AUX disabled, scancode translation on.
  ram_[0] = kCtrKbdInt | kCtrSys | kCtrAuxDis | kCtrXlate;
}

uint8_t I8042::status() const {
  uint8_t s = kStatusUnlocked;
  if (out_full_) s |= kStatusObf;
  if (ram_[0] & kCtrSys) s |= kStatusSys;
  if (last_was_command_) s |= kStatusCmd;
  if (out_full_ && out_aux_) s |= kStatusAux;
  if (out_full_ && out_timeout_) s |= kStatusTimeout;
  return s;
}

void I8042::update_irq() {
  bool kbd = out_full_ && !out_aux_ && (ram_[0] & kCtrKbdInt);
  bool aux = out_full_ && out_aux_ && (ram_[0] & kCtrAuxInt);
  if (kbd != irq1_) {
    irq1_ = kbd;
    if (irq_) irq_->set_irq(kKbdIrq, kbd);
  }
  if (aux != irq12_) {
    irq12_ = aux;
    if (irq_) irq_->set_irq(kAuxIrq, aux);
  }
}

void I8042::respond(uint8_t byte, bool aux, bool timeout) {
  // Replace: deassert first so a new byte is a new edge.
  out_full_ = false;
  update_irq();
  out_ = byte;
  out_full_ = true;
  out_aux_ = aux;
  out_timeout_ = timeout;
  update_irq();
}

void I8042::reset_cpu() {
  ++resets_;
  if (reset_) reset_(reset_ctx_);
}

void I8042::command(uint8_t cmd) {
  if (cmd >= 0x20 && cmd <= 0x3f) {
    respond(ram_[cmd & 0x1f]);
    return;
  }
  if ((cmd >= 0x60 && cmd <= 0x7f) || cmd == 0xd1 || cmd == 0xd2 || cmd == 0xd3 || cmd == 0xd4) {
    pending_ = cmd;
    return;
  }
  if (cmd >= 0xf0) {  // pulse output port bits 0-3 where the command has 0s
    if (!(cmd & 0x01)) reset_cpu();
    return;
  }
  switch (cmd) {
    case 0xa7: ram_[0] |= kCtrAuxDis; break;
    case 0xa8: ram_[0] &= static_cast<uint8_t>(~kCtrAuxDis); break;
    case 0xa9: respond(0x01); break;  // AUX interface test: no AUX port
    case 0xaa: respond(0x55); break;  // controller self-test passed
    case 0xab: respond(0x00); break;  // keyboard interface test passed
    case 0xad: ram_[0] |= kCtrKbdDis; break;
    case 0xae: ram_[0] &= static_cast<uint8_t>(~kCtrKbdDis); break;
    case 0xc0: respond(0x00); break;  // input port
    case 0xd0: respond(output_port_); break;
    case 0xdd: output_port_ &= static_cast<uint8_t>(~0x02); break;  // A20 off
    case 0xdf: output_port_ |= 0x02; break;                         // A20 on
    case 0xe0: respond(0x00); break;  // test inputs
    default: break;
  }
  update_irq();
}

void I8042::data(uint8_t v) {
  uint8_t cmd = pending_;
  pending_ = 0;
  if (cmd >= 0x60 && cmd <= 0x7f) {
    ram_[cmd & 0x1f] = v;
    update_irq();
    return;
  }
  switch (cmd) {
    case 0xd1:
      output_port_ = v;
      if (!(v & 0x01)) reset_cpu();  // the reset line is driven low
      return;
    case 0xd2:
    case 0xd3:  // no AUX port: the byte comes back as keyboard data
      respond(v);
      return;
    case 0xd4:
      respond(0xfe, true, true);  // no AUX device: time-out
      return;
    default:
      respond(0xfe, false, true);  // no keyboard: time-out
      return;
  }
}

uint32_t I8042::io_read(uint16_t port, unsigned) {
  if (port == kStatusPort) return status();
  uint8_t v = out_;
  if (out_full_) {
    out_full_ = false;
    out_timeout_ = false;
    update_irq();
  }
  return v;
}

void I8042::io_write(uint16_t port, unsigned, uint32_t value) {
  uint8_t v = static_cast<uint8_t>(value);
  if (port == kStatusPort) {
    last_was_command_ = true;
    pending_ = 0;
    command(v);
  } else {
    last_was_command_ = false;
    data(v);
  }
}

}  // namespace cos::dev
