// cos::dev::Port80 — the POST diagnostic port 0x80. Firmware writes
// progress codes here and Linux uses writes to it as an I/O delay
// (outb_p); the last code is kept and reported through an optional
// callback. Reads return the last code written.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class Port80 final : public PortDevice {
 public:
  static constexpr uint16_t kPort = 0x80;

  /// Called with every code written (e.g. to trace firmware progress).
  void set_callback(ByteOut fn, void* ctx) {
    fn_ = fn;
    ctx_ = ctx;
  }

  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  uint8_t last_code() const { return last_; }
  uint64_t writes() const { return writes_; }

 private:
  ByteOut fn_ = nullptr;
  void* ctx_ = nullptr;
  uint8_t last_ = 0;
  uint64_t writes_ = 0;
};

}  // namespace cos::dev
