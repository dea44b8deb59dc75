#include "devices/debug_exit.hpp"

namespace cos::dev {

uint32_t DebugExit::io_read(uint16_t, unsigned) { return 0; }

void DebugExit::io_write(uint16_t, unsigned size, uint32_t value) {
  if (exited_) return;  // the machine is already ending
  exited_ = true;
  value_ = value & static_cast<uint32_t>(all_ones(size));
  if (fn_) fn_(ctx_, value_);
}

}  // namespace cos::dev
