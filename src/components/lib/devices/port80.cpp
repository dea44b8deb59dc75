#include "devices/port80.hpp"

namespace cos::dev {

uint32_t Port80::io_read(uint16_t, unsigned) { return last_; }

void Port80::io_write(uint16_t, unsigned, uint32_t value) {
  last_ = static_cast<uint8_t>(value);
  ++writes_;
  if (fn_) fn_(ctx_, last_);
}

}  // namespace cos::dev
