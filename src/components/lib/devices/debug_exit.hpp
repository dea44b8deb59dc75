// cos::dev::DebugExit — QEMU's `isa-debug-exit` device: a write of value v to
// any of its ports ends the machine, and QEMU exits with status
// (v << 1) | 1. Hypervisor test kernels use it to report a result (QEMU
// hw/misc/debugexit.c; QEMU is run with `-device
// isa-debug-exit,iobase=0xf4,iosize=4`). Reads return 0, as in QEMU.
//
// The model latches the first write (value of the access size, zero
// extended) and calls the exit callback; the VMM stops the VM and, when its
// script says so, ends the run with cos::exit_status::debug_exit(v).
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class DebugExit final : public PortDevice {
 public:
  /// QEMU's usual placement for test kernels (iobase=0xf4, iosize=4).
  static constexpr uint16_t kBase = 0xf4;
  static constexpr uint32_t kPorts = 4;

  /// Called once, at the first write, with the value written.
  using ExitFn = void (*)(void* ctx, uint32_t value);
  void set_exit_callback(ExitFn fn, void* ctx) {
    fn_ = fn;
    ctx_ = ctx;
  }

  // PortDevice: any port of its range, 1, 2 or 4 bytes.
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  /// True once the guest wrote; `value` is what it wrote first.
  bool exited(uint32_t& value) const {
    value = value_;
    return exited_;
  }

 private:
  ExitFn fn_ = nullptr;
  void* ctx_ = nullptr;
  bool exited_ = false;
  uint32_t value_ = 0;
};

}  // namespace cos::dev
